"""The BatchNorm chapter's experiments (regbook.experiments.batchnorm), rerun small on the test seeds.

Each test asserts on an interval over ``TEST_SEEDS`` (seeds the book never
trains with), or on a closed form. Expected values never come from the code
under test.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from regbook.experiments import batchnorm as X
from regbook.experiments.harness import SeedLinear, build_mlp, seed_streams
from regbook.experiments.stats import estimate, paired
from tests.conftest import TEST_SEEDS

F64 = torch.float64
SEEDS = list(TEST_SEEDS)


# --- Canyon vs bowl (closed form, no seeds) ---------------------------------


def test_canyon_vs_bowl_condition_numbers_and_paths() -> None:
    r = X.canyon_vs_bowl(steps=1000)
    raw, std = r.raw, r.standardized
    # Standardized columns: the Hessian is the correlation matrix, κ = (1+|ρ|)/(1-|ρ|) in closed form.
    rho = abs(std.hessian[0, 1].item())
    assert std.hessian[0, 0].item() == pytest.approx(1.0) and std.hessian[1, 1].item() == pytest.approx(1.0)
    assert std.condition_number == pytest.approx((1 + rho) / (1 - rho), rel=1e-10)
    ev = np.linalg.eigvalsh(raw.hessian.numpy())                      # numpy's eigenvalues, independently
    assert raw.condition_number == pytest.approx(ev[-1] / ev[0], rel=1e-8)
    assert raw.condition_number > 30 * std.condition_number
    assert r.uncentred_condition_number > 100 * raw.condition_number
    # Standardizing only rescales the coordinates: the same minimum loss, w*_std = w*_raw · sd.
    assert raw.loss_star == pytest.approx(std.loss_star, rel=1e-10)
    torch.testing.assert_close(std.w_star, raw.w_star * raw.x.std(dim=0, correction=0))
    # The closed-form path is gradient descent: iterate w <- w - lr·Xᵀ(Xw - y)/n by hand.
    for surf in (raw, std):
        w = torch.zeros(2, dtype=F64)
        for t in range(1, 31):
            w = w - surf.lr * surf.x.T @ (surf.x @ w - surf.y) / len(surf.y)
            torch.testing.assert_close(surf.path[t], w)
        gap = surf.loss(surf.path[30, :1], surf.path[30, 1:]).item() - surf.loss_star
        assert surf.loss_gap[30].item() == pytest.approx(gap, rel=1e-6, abs=1e-14)
    assert 0 < std.steps_to(1e-6) < 50
    assert raw.steps_to(1e-6) > 5 * std.steps_to(1e-6)


# --- Scale drift at initialisation --------------------------------------------


def test_activation_scale_matches_the_closed_form() -> None:
    # A ReLU keeps half of a symmetric input's second moment, so with weights of variance σ² the
    # RMS changes by sqrt(n σ² / 2) per layer: U(±1/√n) has σ² = 1/(3n) -> 1/√6 = 0.4082;
    # He's U(±√(6/n)) has σ² = 2/n -> 1. After BatchNorm (γ = 1, β = 0) each unit has mean 0 and
    # variance 1 over the batch, so its ReLU output has mean square close to 1/2 at every depth.
    r = X.activation_scale(depth=12, width=256, n_examples=128, seeds=SEEDS)
    default, he = estimate(r.factor("default").tolist()), estimate(r.factor("he").tolist())
    for e, closed_form in ((default, 1 / math.sqrt(6)), (he, 1.0)):
        # finite width: each layer's gain scatters by about 1/sqrt(width) around the closed form
        assert abs(e.mean - closed_form) < 0.03 * closed_form and e.half_width < 0.05 * closed_form
    assert r.rms["default"][-1].max() < 1e-3 * r.rms["default"][0].min()      # 12 layers: 0.408^11 ≈ 5e-5
    torch.testing.assert_close(r.rms["batch"], torch.full_like(r.rms["batch"], math.sqrt(0.5)), atol=0.03, rtol=0)


def test_he_init_rescales_the_default_draws() -> None:
    a = build_mlp(64, [32], 10, streams=[seed_streams(7)])
    b = X.he_init_(build_mlp(64, [32], 10, streams=[seed_streams(7)]))
    for la, lb in zip((m for m in a.modules() if isinstance(m, SeedLinear)),
                      (m for m in b.modules() if isinstance(m, SeedLinear)), strict=True):
        torch.testing.assert_close(lb.weight, la.weight * math.sqrt(6.0))
        assert lb.bias is not None and bool((lb.bias == 0).all())
        bound = math.sqrt(6.0 / la.in_features)                                # kaiming_uniform_'s bound
        assert float(lb.weight.detach().abs().max()) <= bound


# --- Forgetting model.eval() ----------------------------------------------------


def test_forgetting_eval_costs_accuracy() -> None:
    r = X.single_example_eval((2,), n_train=400, epochs=2, n_test=200, seeds=SEEDS)
    # Eval mode: every batching of the test set gives the same predictions, on every seed.
    for row in r.eval_accuracy:
        torch.testing.assert_close(row, r.eval_single, rtol=0, atol=0)
    loss_pairs = estimate(paired(r.eval_single.tolist(), r.train_shuffled[0].tolist()))
    assert loss_pairs.lo > 0.1                     # train mode on batches of 2: far worse
    sorted_gap = estimate(paired(r.eval_single.tolist(), r.train_sorted[0].tolist()))
    assert sorted_gap.lo > 0.3                     # one-class batches: normalized away
    # One big shuffled batch in train mode is close to eval mode (the bug hides in a quick test).
    assert estimate(paired(r.eval_single.tolist(), r.train_shuffled[-1].tolist())).hi < 0.05


# --- Internal covariate shift: the noise test --------------------------------------


def test_drift_adds_shift_yet_batchnorm_still_beats_plain() -> None:
    r = X.covariate_shift(epochs=2, n_train=512, strengths=(0.1,), n_test=300, seeds=SEEDS)
    drift = r.variants[2]
    more_shift = estimate([math.log(a / b) for a, b in zip(r.median_shift(drift).tolist(),
                                                           r.median_shift("plain").tolist(), strict=True)])
    assert more_shift.lo > 0                       # the drift moves layer inputs more than no BN does
    better = estimate(paired(r.test_accuracy[drift].tolist(), r.test_accuracy["plain"].tolist()))
    assert better.lo > 0                           # ... and still trains better than no BN
    assert estimate([math.log(a / b) for a, b in zip(r.median_shift("plain").tolist(),
                                                     r.median_shift("bn").tolist(), strict=True)]).lo > 0


def test_drift_noise_per_seed_and_identity_in_eval() -> None:
    gens = [torch.Generator().manual_seed(s) for s in (3, 3, 4)]
    noise = X.DriftNoise(4, strength=0.5, generators=gens)
    noise.resample()
    x = torch.randn(3, 5, 4, generator=torch.Generator().manual_seed(0))
    y = noise(x)
    assert not torch.equal(y, x)
    torch.testing.assert_close(y[0] - y[0].mean(0), (x[0] - x[0].mean(0)) * noise.scale[0])  # one draw per unit
    torch.testing.assert_close(noise.scale[0], noise.scale[1])          # same generator seed, same draw
    assert not torch.equal(noise.scale[0], noise.scale[2])
    # log-scale and shift have standard deviation `strength`: check over many units.
    big = X.DriftNoise(20_000, strength=0.5, generators=[torch.Generator().manual_seed(9)])
    big.resample()
    assert float(big.scale.log().std()) == pytest.approx(0.5, rel=0.03)
    assert float(big.shift.std()) == pytest.approx(0.5, rel=0.03)
    noise.eval()
    assert torch.equal(noise(x), x)


# --- Smoothness and the largest stable learning rate ------------------------------


def test_batchnorm_smooths_the_landscape_over_training() -> None:
    r = X.smoothness(epochs=2, n_train=512, probe_every=4, seeds=SEEDS)
    for key in ("beta", "grad_change"):
        ratio = estimate([math.log(p / b) for p, b in zip(r.median(key, "plain").tolist(),
                                                          r.median(key, "bn").tolist(), strict=True)])
        assert ratio.lo > 0, key


def test_probe_restores_the_network() -> None:
    streams = [seed_streams(s) for s in SEEDS[:2]]
    net = X.he_init_(build_mlp(64, [16, 16], 10, streams=streams, norm="batch"))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(2, 8, 64, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 10, (2, 8), generator=torch.Generator().manual_seed(2))
    out = X._probe(net, x, y, [0.1, 0.2])
    assert set(out) == {"loss", "loss_range", "grad_change", "beta"} and out["beta"].shape == (2,)
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    # β by hand for seed 0 at η = 0.1: ‖∇L(θ - ηg) - g‖ / ‖ηg‖, with torch's cross-entropy on seed 0 alone.
    params = list(net.parameters())
    loss0 = torch.nn.functional.cross_entropy(net(x)[0], y[0])
    g = torch.autograd.grad(loss0, params)
    with torch.no_grad():
        for p, gp in zip(params, g, strict=True):
            p[0] -= 0.1 * gp[0]
    g1 = torch.autograd.grad(torch.nn.functional.cross_entropy(net(x)[0], y[0]), params)
    change = math.sqrt(sum(float((a[0] - b[0]).square().sum()) for a, b in zip(g1, g, strict=True)))
    g_norm = math.sqrt(sum(float(b[0].square().sum()) for b in g))
    assert float(out["beta"][0]) >= change / (0.1 * g_norm) * (1 - 1e-4)   # the max over η includes η = 0.1


def test_batchnorm_allows_a_larger_learning_rate() -> None:
    r = X.max_stable_lr((0.03, 0.1, 0.3, 1.0), depth=6, width=32, n_train=512, epochs=2, seeds=SEEDS)
    assert estimate(r.log10_gain().tolist()).lo > 0


def test_lr_sweep_bookkeeping_by_hand() -> None:
    inf = math.inf
    r = X.LRSweep([0.1, 1.0, 10.0], {"bn": torch.tensor([[0.5, 0.5], [0.9, 2.0], [inf, 0.3]], dtype=F64),
                                     "plain": torch.tensor([[0.5, 2.0], [2.0, 2.0], [inf, inf]], dtype=F64)},
                 math.log(10))
    # stable: loss < ln(10)/2 = 1.151
    assert r.max_stable("bn").tolist() == [1.0, 10.0]
    assert r.max_stable("plain").tolist() == [0.1, 0.0]
    # seed 1: plain has none, so it counts as 0.1²/1 = 0.01: log10(10 / 0.01) = 3
    assert r.log10_gain().tolist() == pytest.approx([1.0, 3.0])


# --- Small batches ---------------------------------------------------------------------


def test_small_batches_hurt_batchnorm_more_than_groupnorm() -> None:
    r = X.batch_size_sweep((2, 32), n_train=256, epochs=2, n_test=300, seeds=SEEDS)
    assert estimate(r.gap(2).tolist()).hi < 0                                  # BN below GN at batch 2
    assert estimate(paired(r.accuracy["batch"][1].tolist(), r.accuracy["batch"][0].tolist())).lo > 0


def test_crossover_by_hand() -> None:
    bn = torch.tensor([[0.1, 0.1], [0.5, 0.9], [0.6, 0.4], [0.9, 0.9]], dtype=F64)
    gn = torch.full((4, 2), 0.5, dtype=F64)
    r = X.BatchSizeSweep([2, 4, 8, 16], {"batch": bn, "group": gn})
    # seed 0: ahead from 4 on; seed 1: ahead at 4, behind at 8, ahead at 16 -> 16
    assert r.crossover().tolist() == [4, 16]
    assert r.gap(8).tolist() == pytest.approx([0.1, -0.1])


# --- Arguments ---------------------------------------------------------------------------


def test_experiment_argument_errors() -> None:
    with pytest.raises(ValueError, match="features must be two different names"):
        X.canyon_vs_bowl(("bmi", "bmi"))
    with pytest.raises(ValueError, match=r"features\[1\] must be one of"):
        X.canyon_vs_bowl(("bmi", "height"))
    with pytest.raises(ValueError, match=r"lr_fraction must be in \(0.0, 1.0\) \(got 1.0\)"):
        X.canyon_vs_bowl(lr_fraction=1.0)
    with pytest.raises(ValueError, match=r"batch_sizes\[1\] must be >= 2 \(got 1\)"):
        X.batch_size_sweep((4, 1))
    with pytest.raises(ValueError, match=r"num_groups must divide width 64 \(got 5\)"):
        X.batch_size_sweep(num_groups=5)
    with pytest.raises(ValueError, match="step_sizes must not be empty"):
        X.smoothness(step_sizes=())
    with pytest.raises(ValueError, match="lrs must not be empty"):
        X.max_stable_lr(())
    with pytest.raises(ValueError, match=r"strengths\[0\] must be in \[0.0, 10.0\] \(got -1.0\)"):
        X.covariate_shift(strengths=(-1.0,))
    with pytest.raises(ValueError, match="test_batch_sizes must not be empty"):
        X.single_example_eval(())
    with pytest.raises(ValueError, match=r"depth must be >= 2 \(got 1\)"):
        X.activation_scale(depth=1)
    with pytest.raises(TypeError, match="seeds must be a sequence of ints"):
        X.single_example_eval(seeds=3)  # type: ignore[arg-type]


# --- Hostile input: every argument, every seed, checked before training (issue 17) --


TINY = dict(n_train=16, epochs=1, width=4, n_test=8)


@pytest.mark.parametrize(("call", "name"), [
    (lambda: X.batch_size_sweep(4), "batch_sizes"),                     # type: ignore[arg-type]
    (lambda: X.max_stable_lr(0.1), "lrs"),                              # type: ignore[arg-type]
    (lambda: X.single_example_eval(2), "test_batch_sizes"),             # type: ignore[arg-type]
    (lambda: X.smoothness(step_sizes=0.1), "step_sizes"),               # type: ignore[arg-type]
    (lambda: X.covariate_shift(strengths="0.1"), "strengths"),          # type: ignore[arg-type]
    (lambda: X.canyon_vs_bowl("bmi"), "features"),
    (lambda: X.DriftNoise(4, strength=0.1, generators=torch.Generator()), "generators"),  # type: ignore[arg-type]
])
def test_a_scalar_where_a_sequence_is_expected_is_rejected_by_name(call: Any, name: str) -> None:
    with pytest.raises(TypeError, match=rf"^{name} must be a list or tuple"):
        call()


@pytest.mark.parametrize("bad_seeds", [[1001, 2**63], [1001, -1], [1001, "1002"], [1001, 1001], [1001, [2]]])
def test_every_seed_is_checked_before_anything_trains(monkeypatch: pytest.MonkeyPatch, bad_seeds: list[Any]) -> None:
    def no_training(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("trained before every seed was checked")

    monkeypatch.setattr(X, "fit", no_training)
    monkeypatch.setattr(X, "build_mlp", no_training)
    calls = [lambda s: X.activation_scale(depth=2, width=4, n_examples=8, seeds=s),
             lambda s: X.single_example_eval((2,), batch_size=8, seeds=s, **TINY),
             lambda s: X.covariate_shift(depth=2, batch_size=8, n_probe=4, seeds=s, **TINY),
             lambda s: X.smoothness(depth=2, width=4, n_train=16, batch_size=8, epochs=1, n_probe=4, seeds=s),
             lambda s: X.max_stable_lr((0.1,), depth=2, width=4, n_train=16, batch_size=8, epochs=1, seeds=s),
             lambda s: X.batch_size_sweep((4,), num_groups=2, seeds=s, **TINY)]
    for call in calls:
        with pytest.raises((TypeError, ValueError), match=r"seeds"):
            call(bad_seeds)


def test_sizes_that_would_be_silently_clamped_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"batch_size must be <= n_train \(16\) \(got 32\)"):
        X.max_stable_lr((0.1,), n_train=16, batch_size=32, seeds=SEEDS[:2])
    with pytest.raises(ValueError, match=r"n_probe must be <= n_train \(16\) \(got 64\)"):
        X.smoothness(n_train=16, batch_size=8, n_probe=64, seeds=SEEDS[:2])
    with pytest.raises(ValueError, match=r"n_test must be <= 797 \(got 800\)"):
        X.covariate_shift(n_train=1000, n_test=800, seeds=SEEDS[:2])
    with pytest.raises(ValueError, match=r"batch_sizes\[1\] must be <= n_train \(16\) \(got 32\)"):
        X.batch_size_sweep((4, 32), n_train=16, seeds=SEEDS[:2])
    with pytest.raises(ValueError, match=r"base_lr must be in \(0.0, 50.0\]"):
        X.batch_size_sweep((2, 64), base_lr=60.0, seeds=SEEDS[:2])
    with pytest.raises(ValueError, match=r"width must be <= 2147483647"):
        X.activation_scale(width=2**64, seeds=SEEDS[:2])


def test_drift_noise_checks_its_input() -> None:
    noise = X.DriftNoise(4, strength=0.5, generators=[torch.Generator().manual_seed(s) for s in (1, 2)])
    noise.resample()
    with pytest.raises(ValueError, match=r"x must have shape \(2, B, 4\)"):
        noise(torch.ones(3, 5, 4))
    with pytest.raises(ValueError, match="x must be on the device"):
        noise(torch.ones(2, 5, 4, device="meta"))
    with pytest.raises(TypeError, match=r"generators\[1\] must be a torch.Generator"):
        X.DriftNoise(4, strength=0.5, generators=[torch.Generator(), 1])  # type: ignore[list-item]
    assert noise(torch.ones(2, 5, 4, dtype=torch.float64)).dtype == torch.float64


def test_result_methods_check_their_keys() -> None:
    r = X.LRSweep([0.1, 1.0], {"bn": torch.zeros(2, 1), "plain": torch.zeros(2, 1)}, math.log(10))
    with pytest.raises(ValueError, match="variant must be one of"):
        r.stable("batch")
    s = X.BatchSizeSweep([2, 8], {"batch": torch.zeros(2, 1), "group": torch.zeros(2, 1)})
    with pytest.raises(ValueError, match=r"batch_size must be one of the sweep's batch sizes \[2, 8\] \(got 4\)"):
        s.gap(4)
    with pytest.raises(TypeError, match="model must be a Module"):
        X.he_init_(None)  # type: ignore[type-var]
