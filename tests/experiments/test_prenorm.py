"""Experiments of the pre-norm chapter (regbook.experiments.prenorm), on the test seeds.

The batched model (SeedTransformer) is checked against the chapter's own
unbatched regbook.prenorm.Stack and plain autograd; the effects are rerun
small on TEST_SEEDS (the book uses BOOK_SEEDS) and asserted on their intervals.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from regbook import prenorm as P
from regbook.experiments import harness as H
from regbook.experiments import prenorm as E
from regbook.experiments.stats import estimate, paired
from tests.conftest import TEST_SEEDS

F64 = torch.float64


def _stacks(placement: str, seeds: tuple[int, ...] = (0, 1, 2)) -> list[P.Stack]:
    stacks = [P.make_stack(3, 8, placement=placement, n_heads=2, d_in=5, d_out=4, seed=s).double() for s in seeds]
    with torch.no_grad():  # non-trivial LayerNorm parameters, so they must be stacked per seed too
        for i, st in enumerate(stacks):
            for name, p in st.named_parameters():
                if "ln" in name:
                    p.add_(0.2 * torch.randn(p.shape, generator=torch.Generator().manual_seed(100 + i), dtype=F64))
    return stacks


# --- the batched model is the chapter's model ---------------------------------

@pytest.mark.parametrize("placement", ["pre", "post"])
def test_seed_transformer_computes_each_stack(placement: str) -> None:
    stacks = _stacks(placement)
    net = E.SeedTransformer(stacks)
    x = torch.randn(3, 2, 4, 5, generator=torch.Generator().manual_seed(7), dtype=F64)
    target = torch.randn(3, 2, 4, 4, generator=torch.Generator().manual_seed(8), dtype=F64)
    out = net(x)
    (out * target).sum().backward()
    for i, st in enumerate(stacks):
        ref = st(x[i])
        torch.testing.assert_close(out[i], ref)
        (ref * target[i]).sum().backward()
        for name, p in st.named_parameters():
            torch.testing.assert_close(net.params[name.replace(".", "__")].grad[i], p.grad)


def test_seed_transformer_block_grad_norms_by_autograd() -> None:
    stacks = _stacks("post", (3, 4))
    net = E.SeedTransformer(stacks)
    x = torch.randn(2, 2, 3, 5, generator=torch.Generator().manual_seed(9), dtype=F64)
    net(x).square().sum().backward()
    got = net.block_grad_norms()
    for i, st in enumerate(stacks):
        st(x[i]).square().sum().backward()
        for b, block in enumerate(st.blocks):
            expected = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in block.parameters()))
            assert got[b, i].item() == pytest.approx(expected, rel=1e-10)


def test_seed_transformer_rejects_mixed_architectures() -> None:
    with pytest.raises(ValueError, match="one architecture"):
        E.SeedTransformer([P.make_stack(2, 8, placement="pre", seed=0), P.make_stack(2, 8, placement="post", seed=0)])
    with pytest.raises(ValueError, match="one architecture"):
        E.SeedTransformer([P.make_stack(2, 8, placement="pre", seed=0), P.make_stack(3, 8, placement="pre", seed=0)])
    with pytest.raises(TypeError, match="stacks must be"):
        E.SeedTransformer([])
    with pytest.raises(ValueError, match=r"x must have shape \(k=1"):
        E.SeedTransformer([P.make_stack(1, 8, placement="pre", seed=0)])(torch.zeros(2, 1, 3, 8))


def test_loglog_slope_by_hand() -> None:
    # y = 3 x^0.5 and y = x^-1 over x = 1, 4, 16: slopes 0.5 and -1
    ys = torch.tensor([[3.0, 1.0], [6.0, 0.25], [12.0, 1 / 16]])
    assert E.loglog_slope([1, 4, 16], ys).tolist() == pytest.approx([0.5, -1.0])
    with pytest.raises(ValueError, match="positive"):
        E.loglog_slope([1, 2], torch.tensor([[1.0], [0.0]]))
    with pytest.raises(ValueError, match="ys must be"):
        E.loglog_slope([1, 2, 3], torch.ones(2, 1))


# --- gradients at initialization ------------------------------------------------

def test_gradient_profile_matches_one_unbatched_stack() -> None:
    """Seed 1002's row of the batched profile is what its own make_stack and its own data give."""
    prof = E.gradient_profile((2,), d_model=8, n_heads=2, seq_len=3, batch_size=2, seeds=(1001, 1002))
    data = H.seed_streams(1002).data                      # the same input and labels for both placements
    x = torch.randn(2, 3, 8, generator=data)
    y = torch.randint(0, 8, (2, 3), generator=data)
    for placement in ("pre", "post"):
        net = P.make_stack(2, 8, placement=placement, n_heads=2, generator=H.seed_streams(1002).init)
        F.cross_entropy(net(x).reshape(-1, 8), y.reshape(-1)).backward()
        for b, block in enumerate(net.blocks):
            expected = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in block.parameters()))
            assert prof.norms[placement][2][b, 1].item() == pytest.approx(expected, rel=1e-4)


def test_depth_scaling_on_test_seeds() -> None:
    """Post-norm's last-block gradient grows relative to pre-norm's with depth; pre-norm's falls."""
    prof = E.gradient_profile((2, 8), d_model=16, n_heads=2, seq_len=8, batch_size=8, seeds=TEST_SEEDS)
    pre = E.loglog_slope(prof.depths, prof.last("pre"))
    post = E.loglog_slope(prof.depths, prof.last("post"))
    assert estimate((post - pre).tolist()).lo > 0
    assert estimate(pre.tolist()).hi < 0


# --- warmup ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def warm() -> dict[tuple[str, int], list[float]]:
    # the chapter's model, learning rate and schedule, fewer images, on the test seeds
    kw = dict(depth=6, d_model=32, lr=5e-3, steps=60, batch_size=32, n_train=300, n_test=300, seeds=TEST_SEEDS)
    return {(p, w): list(E.warmup_run(placement=p, warmup_steps=w, **kw).test_accuracy)  # type: ignore[arg-type]
            for p in ("post", "pre") for w in (0, 24)}


def test_postnorm_needs_warmup(warm: dict[tuple[str, int], list[float]]) -> None:
    assert estimate(paired(warm[("post", 24)], warm[("post", 0)])).lo > 0


def test_prenorm_needs_less_warmup(warm: dict[tuple[str, int], list[float]]) -> None:
    post_gain = paired(warm[("post", 24)], warm[("post", 0)])
    pre_gain = paired(warm[("pre", 24)], warm[("pre", 0)])
    assert estimate(paired(post_gain, pre_gain)).lo > 0
    assert estimate(paired(warm[("pre", 0)], warm[("post", 0)])).lo > 0


def test_warmup_run_records_and_settings() -> None:
    r = E.warmup_run(placement="post", warmup_steps=3, depth=1, d_model=8, n_heads=2, steps=6, batch_size=4,
                     n_train=20, n_test=10, record_every=3, seeds=(1001, 1002))
    assert r.marks == (3, 6) and tuple(r.train_loss.shape) == (2, 2) and len(r.test_accuracy) == 2
    assert (r.depth, r.d_model, r.n_heads, r.steps, r.batch_size, r.n_train, r.n_test) == (1, 8, 2, 6, 4, 20, 10)
    # the warmup is not ignored: with it, the first steps move the weights less, so the losses differ
    r0 = E.warmup_run(placement="post", warmup_steps=0, depth=1, d_model=8, n_heads=2, steps=6, batch_size=4,
                      n_train=20, n_test=10, record_every=3, seeds=(1001, 1002))
    assert not torch.equal(r.train_loss, r0.train_loss)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"placement": "middle", "warmup_steps": 0}, "placement must be one of"),
    ({"placement": "pre", "warmup_steps": -1}, r"warmup_steps must be >= 0"),
    ({"placement": "pre", "warmup_steps": 0, "lr": 0.0}, r"lr must be > 0"),
    ({"placement": "pre", "warmup_steps": 0, "d_model": 10, "n_heads": 4}, "n_heads must divide d_model 10"),
    ({"placement": "pre", "warmup_steps": 0, "seeds": (1001,)}, "at least 2 distinct seeds"),
])
def test_warmup_run_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises((TypeError, ValueError), match=match):
        E.warmup_run(**kwargs)  # type: ignore[arg-type]


def test_gradient_profile_errors() -> None:
    with pytest.raises(ValueError, match="depths must be distinct"):
        E.gradient_profile((2, 2))
    with pytest.raises(ValueError, match="n_heads must divide d_model 10"):
        E.gradient_profile((2,), d_model=10, n_heads=4)
    with pytest.raises(TypeError, match="seeds must be a sequence"):
        E.gradient_profile((2,), seeds=3)  # type: ignore[arg-type]
