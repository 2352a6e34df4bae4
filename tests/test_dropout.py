"""Tests for regbook.dropout.

Expected values come from hand arithmetic, closed forms (binomial and
Bernoulli variances), or torch's own dropout -- never from regbook itself.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from regbook import dropout as D

F64 = torch.float64
H = [2.0, 1.5, 0.5, 3.0]  # the lecture's activations


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- The lecture's worked example, by hand ---------------------------------

def test_worked_example_train_pass() -> None:
    # (h ⊙ m) / p = [2.0, 0, 0.5, 0] / 0.5 = [4.0, 0, 1.0, 0]
    out = D.apply_mask(torch.tensor(H), torch.tensor([1.0, 0.0, 1.0, 0.0]), keep_prob=0.5)
    assert out.tolist() == [4.0, 0.0, 1.0, 0.0]


def test_worked_example_in_drop_prob_convention() -> None:
    # nn.Dropout(p=0.5): keep 1 - 0.5 = 0.5, the same layer; a bool mask works too
    out = D.apply_mask(torch.tensor(H), torch.tensor([True, False, True, False]), drop_prob=0.5)
    assert out.tolist() == [4.0, 0.0, 1.0, 0.0]


def test_worked_example_eval_pass_is_unchanged() -> None:
    h = torch.tensor(H)
    assert D.dropout(h, keep_prob=0.5, training=False).tolist() == H
    assert D.Dropout(0.5).eval()(h).tolist() == H


def test_keep_and_drop_conventions() -> None:
    # keep 0.8 is nn.Dropout(p=0.2); survivors × 1/0.8 = 1.25
    assert D.keep_probability(keep_prob=0.8) == 0.8
    assert D.keep_probability(drop_prob=0.2) == pytest.approx(0.8, abs=1e-15)
    out = D.apply_mask(torch.tensor([4.0]), torch.tensor([1.0]), keep_prob=0.8)
    assert out.item() == pytest.approx(5.0, rel=1e-6)  # 4 × 1.25


def test_expectation_monte_carlo() -> None:
    # E[h_drop] = p·h/p + (1-p)·0 = h; Var = p(h/p)² - h² = h²(1-p)/p.
    # Mean of n draws has standard error |h|·sqrt((1-p)/(p n)); allow 4 of them.
    p, n = 0.5, 200_000
    h = torch.tensor(H, dtype=F64)
    draws = D.dropout(h.expand(n, 4), keep_prob=p, training=True, generator=gen(1))
    se = h.abs() * math.sqrt((1 - p) / (p * n))
    assert bool(((draws.mean(0) - h).abs() < 4 * se).all())
    var = h**2 * (1 - p) / p  # [4, 2.25, 0.25, 9] for p = 0.5
    torch.testing.assert_close(draws.var(0), var, rtol=0.02, atol=0)


# --- Properties -------------------------------------------------------------

values = st.lists(st.floats(-100, 100, allow_nan=False, width=64), min_size=1, max_size=20)
keeps = st.floats(0.05, 1.0)


@given(values, keeps, st.integers(0, 2**31))
def test_entries_are_zero_or_h_over_keep(hs: list[float], q: float, seed: int) -> None:
    h = torch.tensor(hs, dtype=F64)
    out = D.dropout(h, keep_prob=q, training=True, generator=gen(seed))
    kept = out != 0
    torch.testing.assert_close(out[kept], h[kept] / q, rtol=1e-12, atol=0)
    assert bool((out[~kept] == 0).all())


@given(values, keeps)
def test_eval_is_identity(hs: list[float], q: float) -> None:
    h = torch.tensor(hs, dtype=F64)
    out = D.dropout(h, keep_prob=q, training=False)
    assert out is h
    layer = D.Dropout(1 - q).eval()
    assert torch.equal(layer(h), h)


@given(values, st.integers(0, 2**31))
def test_keep_prob_one_is_identity(hs: list[float], seed: int) -> None:
    h = torch.tensor(hs, dtype=F64)
    assert torch.equal(D.dropout(h, drop_prob=0.0, training=True, generator=gen(seed)), h)


def test_each_example_gets_its_own_mask() -> None:
    # one mask per element, not one per batch: rows of a batch of identical inputs differ
    out = D.Dropout(0.5, generator=gen(0)).train()(torch.ones(8, 16))
    assert len({tuple(row.tolist()) for row in out}) == 8


def test_same_generator_seed_same_mask() -> None:
    h = torch.ones(50)
    a = D.dropout(h, keep_prob=0.6, training=True, generator=gen(7))
    b = D.dropout(h, keep_prob=0.6, training=True, generator=gen(7))
    assert torch.equal(a, b)


def test_gradient_is_mask_over_keep() -> None:
    # d(h·m/q)/dh = m/q
    h = torch.tensor(H, dtype=F64, requires_grad=True)
    mask = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=F64)
    D.apply_mask(h, mask, keep_prob=0.5).sum().backward()
    assert h.grad is not None and h.grad.tolist() == [2.0, 0.0, 2.0, 0.0]


# --- Parity with torch.nn.Dropout (statistical) -----------------------------

@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_drop_rate_within_binomial_tolerance(p: float) -> None:
    n = 100_000
    sd = math.sqrt(n * p * (1 - p))  # binomial standard deviation of the number dropped
    x = torch.ones(n)
    ours = D.Dropout(p, generator=gen(0)).train()(x)
    torch.manual_seed(0)
    theirs = torch.nn.Dropout(p).train()(x)
    for out in (ours, theirs):
        assert abs(int((out == 0).sum()) - n * p) < 5 * sd


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.8])
def test_survivors_scaled_by_exactly_one_over_one_minus_p(p: float) -> None:
    x = torch.linspace(0.5, 3.0, 1000)
    ours = D.Dropout(p, generator=gen(1)).train()(x)
    torch.manual_seed(1)
    theirs = torch.nn.Dropout(p).train()(x)
    scale = torch.tensor(1.0) / (1 - p)  # float32 1/(1-p), as torch's kernel computes it
    for out in (ours, theirs):
        kept = out != 0
        assert torch.equal(out[kept], x[kept] * scale)


def test_same_global_seed_gives_torchs_exact_mask() -> None:
    # With generator=None both draw from torch's default generator with the same
    # Bernoulli kernel, so on this torch build the masks coincide bit for bit.
    x = torch.linspace(-2.0, 2.0, 500)
    torch.manual_seed(123)
    theirs = torch.nn.functional.dropout(x, p=0.3, training=True)
    torch.manual_seed(123)
    ours = D.dropout(x, drop_prob=0.3, training=True)
    assert torch.equal(ours, theirs)


def test_eval_p0_and_p1_match_torch() -> None:
    x = torch.linspace(-2.0, 2.0, 100)
    for p in (0.0, 0.3, 1.0):
        assert torch.equal(D.Dropout(p).eval()(x), torch.nn.Dropout(p).eval()(x))
        assert torch.equal(D.Dropout(p).eval()(x), x)
    assert torch.equal(D.Dropout(0.0).train()(x), torch.nn.Dropout(0.0).train()(x))
    assert torch.equal(D.Dropout(0.0).train()(x), x)
    assert torch.equal(D.Dropout(1.0).train()(x), torch.nn.Dropout(1.0).train()(x))
    assert torch.equal(D.Dropout(1.0).train()(x), torch.zeros(100))


def test_mode_comes_from_train_eval_not_grad_mode() -> None:
    x = torch.ones(1000)
    layer = D.Dropout(0.5, generator=gen(0))
    with torch.no_grad():
        assert bool((layer.train()(x) == 0).any())   # still drops without grad
    with torch.enable_grad():
        assert torch.equal(layer.eval()(x), x)        # never drops in eval
    assert repr(layer) == "Dropout(p=0.5)"


def test_forgetting_eval_gives_random_predictions() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), D.Dropout(0.5, generator=gen(0)),
                              torch.nn.Linear(32, 3))
    x = torch.randn(20, 8, generator=gen(1))
    a, b = net(x), net(x)                  # a fresh Module is in training mode
    assert not torch.equal(a, b)
    net.eval()
    assert torch.equal(net(x), net(x))


# --- Every parameter matters ---------------------------------------------------

@pytest.mark.parametrize("q", [0.2, 0.5, 0.9])
def test_drop_rate_follows_keep_and_drop_prob(q: float) -> None:
    # the number of zeros is Binomial(n, 1 - q): within 5 standard deviations, for every entry point
    n = 50_000
    sd = math.sqrt(n * q * (1 - q))
    x = torch.ones(n, dtype=F64)
    outs = {
        "dropout keep": D.dropout(x, keep_prob=q, training=True, generator=gen(3)),
        "dropout drop": D.dropout(x, drop_prob=1 - q, training=True, generator=gen(4)),
        "mask keep": D.dropout_mask(x, keep_prob=q, generator=gen(5)),
        "mask drop": D.dropout_mask(x, drop_prob=1 - q, generator=gen(6)),
        "layer": D.Dropout(1 - q, generator=gen(7)).train()(x),
    }
    for name, out in outs.items():
        assert abs(int((out == 0).sum()) - n * (1 - q)) < 5 * sd, name
    # survivors are scaled by 1/q (the mask itself is 0/1)
    for name in ("dropout keep", "dropout drop", "layer"):
        kept = outs[name] != 0
        torch.testing.assert_close(outs[name][kept], torch.full_like(outs[name][kept], 1 / q), rtol=1e-12, atol=0)
    assert set(outs["mask keep"].unique().tolist()) == {0.0, 1.0}


def test_training_flag_switches_dropping_on() -> None:
    x = torch.ones(1000)
    assert bool((D.dropout(x, keep_prob=0.5, training=True, generator=gen(0)) == 0).any())
    assert D.dropout(x, keep_prob=0.5, training=False, generator=gen(0)) is x


def test_generator_is_the_only_source_of_randomness() -> None:
    # same generator seed, different global seeds: same output; different generator seeds: different output
    x = torch.ones(200)
    outs = []
    for global_seed, gen_seed in ((0, 7), (1, 7), (0, 8)):
        torch.manual_seed(global_seed)
        outs.append((D.dropout(x, keep_prob=0.5, training=True, generator=gen(gen_seed)),
                     D.dropout_mask(x, keep_prob=0.5, generator=gen(gen_seed)),
                     D.Dropout(0.5, generator=gen(gen_seed)).train()(x)))
    for a, b, c in zip(*outs, strict=True):
        assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("p", [0.0, 0.25, 0.75])
def test_layer_p_sets_the_scale(p: float) -> None:
    out = D.Dropout(p, generator=gen(2)).train()(torch.ones(2000))
    kept = out[out != 0]
    assert kept.numel() > 0
    torch.testing.assert_close(kept, torch.full_like(kept, 1 / (1 - p)))


# --- Bad input -----------------------------------------------------------------

h4 = torch.tensor(H)


def drop(**kw: object) -> torch.Tensor:
    return D.dropout(h4, training=True, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: D.dropout(h4, keep_prob=0.8, drop_prob=0.2, training=True), ValueError,
         r"give exactly one of keep_prob .* \(got keep_prob=0.8, drop_prob=0.2\)"),
        (lambda: D.dropout(h4, training=True), ValueError, r"give exactly one of keep_prob"),
        (lambda: drop(keep_prob=0.0), ValueError, r"keep_prob must be in \(0.0, 1.0\] \(got 0.0\)"),
        (lambda: drop(keep_prob=1.5), ValueError, r"keep_prob must be in \(0.0, 1.0\] \(got 1.5\)"),
        (lambda: drop(drop_prob=1.0), ValueError, r"drop_prob must be in \[0.0, 1.0\) \(got 1.0\)"),
        (lambda: drop(drop_prob=-0.1), ValueError, r"drop_prob must be in \[0.0, 1.0\) \(got -0.1\)"),
        (lambda: drop(keep_prob="0.5"), TypeError, r"keep_prob must be a real number \(got str"),
        (lambda: D.dropout(torch.tensor([1, 2]), keep_prob=0.5, training=True), TypeError,
         r"h must have a floating-point dtype \(got torch.int64\)"),
        (lambda: D.dropout([2.0], keep_prob=0.5, training=True), TypeError, r"h must be a torch.Tensor \(got list\)"),
        (lambda: D.dropout(h4, keep_prob=0.5, training=1), TypeError, r"training must be a bool \(got int 1\)"),
        (lambda: D.apply_mask(h4, torch.tensor([1.0, 0.0]), keep_prob=0.5), ValueError,
         r"h and mask must have the same shape \(got \(4,\) and \(2,\)\)"),
        (lambda: D.apply_mask(h4, torch.tensor([1.0, 0.0, 0.5, 1.0]), keep_prob=0.5), ValueError,
         r"mask must contain only 0 and 1 \(got 0.5\)"),
        (lambda: D.apply_mask(h4, [1, 0, 1, 0], keep_prob=0.5), TypeError, r"mask must be a torch.Tensor \(got list\)"),
        (lambda: D.dropout_mask(h4, drop_prob=0.5, keep_prob=0.5), ValueError, r"give exactly one of"),
        (lambda: D.Dropout(1.5), ValueError, r"p must be in \[0.0, 1.0\] \(got 1.5\)"),
        (lambda: D.Dropout(-0.5), ValueError, r"p must be in \[0.0, 1.0\] \(got -0.5\)"),
        (lambda: D.Dropout(0.5)(torch.tensor([1, 2])), TypeError, r"input must have a floating-point dtype"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(call, exc, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc, match=match):
        call()
