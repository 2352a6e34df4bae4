"""The shared experiment harness (regbook.experiments.harness) and statistics (stats).

Expected values come from independent sources: the t table, hand arithmetic,
and a seed trained alone versus the same seed trained among others.
"""

from __future__ import annotations

import math

import pytest
import torch

from regbook.experiments import harness as H
from regbook.experiments.stats import BOOK_SEEDS, claim_status, estimate, t_quantile
from tests.conftest import TEST_SEEDS


@pytest.mark.parametrize(("df", "table"), [(1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (29, 2.045)])
def test_t_quantile_matches_the_printed_table(df: int, table: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(table, abs=5e-4)


def test_estimate_by_hand() -> None:
    # values 2, 4, 6, 8, 10: mean 6, s^2 = (16+4+0+4+16)/4 = 10, half-width 2.776 * sqrt(10/5)
    e = estimate([2, 4, 6, 8, 10])
    half = 2.7764451 * math.sqrt(2.0)
    assert (e.mean, e.n) == (6.0, 5)
    assert e.lo == pytest.approx(6 - half, abs=1e-5) and e.hi == pytest.approx(6 + half, abs=1e-5)


@pytest.mark.parametrize(("values", "direction", "status"), [
    ([1.0, 1.1, 0.9], "+", "reproduced"),
    ([1.0, 1.1, 0.9], "-", "not-reproduced"),
    ([-1.0, -1.1, -0.9], "-", "reproduced"),
    ([-1.0, 1.0, 0.1], "+", "inconclusive"),
    ([-1.0, 1.0, 0.1], "-", "inconclusive"),
])
def test_status_rule(values: list[float], direction: str, status: str) -> None:
    assert claim_status(estimate(values), direction) == status  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [[1.0], [], [1.0, float("nan")], "12"])
def test_estimate_rejects(bad: object) -> None:
    with pytest.raises((ValueError, TypeError), match="values"):
        estimate(bad)  # type: ignore[arg-type]


def test_test_seeds_are_not_the_book_seeds() -> None:
    assert not set(TEST_SEEDS) & set(BOOK_SEEDS)


@pytest.mark.parametrize("norm", H.NORMS)
def test_a_seed_trains_the_same_alone_or_among_others(norm: str) -> None:
    """Seed independence: no stream is shared, so batching k seeds changes nothing but rounding."""
    def run(seeds: list[int]) -> torch.Tensor:
        streams = [H.seed_streams(s) for s in seeds]
        tr, va, _ = H.digit_splits(60, 30, seeds)
        net = H.build_mlp(64, [16], 10, streams=streams, norm=norm, dropout=0.2)
        H.fit(net, tr, streams=streams, num_classes=10, steps=20, batch_size=16, val=va, patience=2)
        return H.evaluate(net, va)["nll"]

    together = run(list(TEST_SEEDS[:3]))
    alone = run([TEST_SEEDS[2]])
    assert together[2].item() == pytest.approx(alone[0].item(), rel=1e-5)
    assert len(set(together.tolist())) == 3  # the seeds really differ


def test_batched_layers_match_torch_per_seed() -> None:
    """SeedLinear and SeedNorm on seed i equal nn.Linear / nn.BatchNorm1d / nn.LayerNorm / nn.GroupNorm / nn.RMSNorm."""
    streams = [H.seed_streams(s) for s in TEST_SEEDS[:2]]
    x = torch.randn(2, 8, 6, generator=torch.Generator().manual_seed(7))
    lin = H.SeedLinear(2, 6, 4)
    H.init_(lin, streams)
    ref = torch.nn.Linear(6, 4)
    with torch.no_grad():
        ref.weight.copy_(lin.weight[1].T)
        ref.bias.copy_(lin.bias[1, 0])
    torch.testing.assert_close(lin(x)[1], ref(x[1]))
    torch_norms = {"batch": torch.nn.BatchNorm1d(6), "layer": torch.nn.LayerNorm(6),
                   "rms": torch.nn.RMSNorm(6, eps=1e-5), "group": torch.nn.GroupNorm(2, 6)}
    for kind, ref_norm in torch_norms.items():
        norm = H.SeedNorm(kind, 2, 6, num_groups=2)
        with torch.no_grad():
            norm.weight.uniform_(0.5, 1.5, generator=torch.Generator().manual_seed(1))
            ref_norm.weight.copy_(norm.weight[1, 0])
            if norm.bias is not None:
                norm.bias.uniform_(-1, 1, generator=torch.Generator().manual_seed(2))
                ref_norm.bias.copy_(norm.bias[1, 0])
        torch.testing.assert_close(norm(x)[1], ref_norm(x[1]), msg=kind)
        if kind == "batch":
            torch.testing.assert_close(norm.running_mean[1], ref_norm.running_mean)
            torch.testing.assert_close(norm.running_var[1], ref_norm.running_var)


def test_adam_on_stacked_seeds_equals_adam_per_seed() -> None:
    """Summing the seeds' losses gives each seed exactly its own gradient and Adam step."""
    streams = [H.seed_streams(s) for s in TEST_SEEDS[:2]]
    tr, _, _ = H.digit_splits(40, 0, TEST_SEEDS[:2])
    net = H.build_mlp(64, [8], 10, streams=streams)
    w0 = [p.detach().clone() for p in net.parameters()]
    H.fit(net, tr, streams=streams, num_classes=10, steps=3, lr=1e-2)
    ref = torch.nn.Sequential(torch.nn.Linear(64, 8), torch.nn.ReLU(), torch.nn.Linear(8, 10))
    with torch.no_grad():
        ref[0].weight.copy_(w0[0][1].T)
        ref[0].bias.copy_(w0[1][1, 0])
        ref[2].weight.copy_(w0[2][1].T)
        ref[2].bias.copy_(w0[3][1, 0])
    opt = torch.optim.Adam(ref.parameters(), lr=1e-2)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(ref(tr.x[1]), tr.y[1]).backward()
        opt.step()
    torch.testing.assert_close(net.layers[0].weight[1], ref[0].weight.T, atol=1e-6, rtol=1e-5)


def test_early_stopping_keeps_each_seeds_best_epoch() -> None:
    streams = [H.seed_streams(s) for s in TEST_SEEDS[:3]]
    tr, va, _ = H.digit_splits(50, 40, TEST_SEEDS[:3])
    net = H.build_mlp(64, [64], 10, streams=streams)
    r = H.fit(net, tr, streams=streams, num_classes=10, epochs=40, batch_size=10, lr=3e-2, val=va, patience=3)
    assert r.best_epoch is not None
    vals = torch.stack(r.val_loss)  # (epochs, k)
    torch.testing.assert_close(r.best_epoch - 1, vals.argmin(0))
    final = H.evaluate(net, va)["nll"]
    torch.testing.assert_close(final, vals.min(0).values)


def test_fit_validates_before_touching_the_model() -> None:
    streams = [H.seed_streams(s) for s in TEST_SEEDS[:2]]
    tr, _, _ = H.digit_splits(20, 0, TEST_SEEDS[:2])
    net = H.build_mlp(64, [4], 10, streams=streams)
    before = [p.detach().clone() for p in net.parameters()]
    for kwargs, match in [({"steps": 0}, "steps"), ({"steps": 2, "lr": -1.0}, "lr"),
                          ({"steps": 2, "optimizer": "rmsprop"}, "optimizer"),
                          ({"epochs": 1, "steps": 1}, "exactly one"),
                          ({"steps": 2, "patience": 2}, "val")]:
        with pytest.raises((ValueError, TypeError), match=match):
            H.fit(net, tr, streams=streams, num_classes=10, **kwargs)  # type: ignore[arg-type]
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


def test_the_harness_dropout_is_regbooks_dropout_per_seed() -> None:
    from regbook.dropout import dropout

    x = torch.randn(3, 5, 7, generator=torch.Generator().manual_seed(3))
    gens = [torch.Generator().manual_seed(s) for s in TEST_SEEDS[:3]]
    refs = [torch.Generator().manual_seed(s) for s in TEST_SEEDS[:3]]
    layer = H._SeedDropout(0.3, gens)
    out = layer(x)
    for i in range(3):
        torch.testing.assert_close(out[i], dropout(x[i], drop_prob=0.3, training=True, generator=refs[i]))
    layer.eval()
    assert layer(x) is x
