"""Tests for regbook.mixup.

Expected values come from hand arithmetic, torch's own cross-entropy with
probability targets, and scipy's Beta distribution -- never from regbook itself.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from regbook import mixup as M


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- Worked examples by hand ----------------------------------------------

def test_cat_dog_label_by_hand() -> None:
    # 0.7 * [1, 0] + 0.3 * [0, 1] = [0.7, 0.3]
    soft = M.mix_labels(torch.tensor([0]), torch.tensor([1]), 0.7, num_classes=2)
    torch.testing.assert_close(soft, torch.tensor([[0.7, 0.3]]))


def test_mixed_loss_by_hand() -> None:
    # logits [2, 0]: CE(cat) = log(1 + e^-2) = 0.126928; CE(dog) = 2 + 0.126928 = 2.126928
    # 0.7 * 0.126928 + 0.3 * 2.126928 = 0.088850 + 0.638078 = 0.726928
    loss = M.mixed_loss(torch.tensor([[2.0, 0.0]], dtype=torch.float64), torch.tensor([0]), torch.tensor([1]), 0.7)
    ce_cat = math.log1p(math.exp(-2))
    assert loss.item() == pytest.approx(0.7 * ce_cat + 0.3 * (2 + ce_cat), abs=1e-12)
    assert loss.item() == pytest.approx(0.726928, abs=1e-6)


def test_cutmix_box_by_hand() -> None:
    # λ0 = 0.75 on 8x8: cut = int(8 * 0.5) = 4, half = 2; centre (cy, cx) -> rows cy-2..cy+2 clipped
    g = gen(5)
    cy, cx = int(torch.randint(0, 8, (), generator=g)), int(torch.randint(0, 8, (), generator=g))
    y1, y2, x1, x2 = M.cutmix_box(8, 8, 0.75, generator=gen(5))
    assert (y1, y2, x1, x2) == (max(cy - 2, 0), min(cy + 2, 8), max(cx - 2, 0), min(cx + 2, 8))


# --- Identities and parity with torch ---------------------------------------------

@given(st.floats(0, 1), st.integers(0, 2**31 - 1), st.floats(0, 0.5))
def test_mixed_loss_is_ce_against_soft_label(lam: float, seed: int, eps: float) -> None:
    g = gen(seed)
    logits = torch.randn(6, 4, generator=g, dtype=torch.float64) * 3
    y_a, y_b = torch.randint(0, 4, (6,), generator=g), torch.randint(0, 4, (6,), generator=g)
    soft = M.mix_labels(y_a, y_b, lam, num_classes=4, dtype=torch.float64)
    expected = F.cross_entropy(logits, soft, label_smoothing=eps)   # torch, probability targets
    got = M.mixed_loss(logits, y_a, y_b, lam, label_smoothing=eps)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_mixed_loss_gradient_matches_soft_label() -> None:
    logits = torch.randn(5, 3, generator=gen(1), dtype=torch.float64, requires_grad=True)
    y_a, y_b = torch.tensor([0, 1, 2, 0, 1]), torch.tensor([2, 2, 0, 1, 0])
    (ga,) = torch.autograd.grad(M.mixed_loss(logits, y_a, y_b, 0.3), logits)
    soft = 0.3 * F.one_hot(y_a, 3).double() + 0.7 * F.one_hot(y_b, 3).double()
    (gb,) = torch.autograd.grad(F.cross_entropy(logits, soft), logits)
    torch.testing.assert_close(ga, gb)


@pytest.mark.parametrize("alpha", [0.2, 1.0, 2.0])
def test_sample_beta_matches_scipy(alpha: float) -> None:
    g = gen(7)
    draws = [M.sample_beta(alpha, generator=g) for _ in range(4000)]
    # Kolmogorov-Smirnov against scipy's Beta(α, α): no evidence of a difference
    assert stats.kstest(draws, stats.beta(alpha, alpha).cdf).pvalue > 0.001
    # Var = 1 / (4 (2α + 1)) for Beta(α, α)
    mean = sum(draws) / len(draws)
    var = sum((d - mean) ** 2 for d in draws) / len(draws)
    assert var == pytest.approx(1 / (4 * (2 * alpha + 1)), rel=0.08)


def test_sample_beta_asymmetric_mean() -> None:
    g = gen(8)
    draws = [M.sample_beta(2.0, 5.0, generator=g) for _ in range(4000)]
    assert sum(draws) / len(draws) == pytest.approx(2 / 7, abs=0.01)    # α / (α + β)


def test_global_rng_untouched() -> None:
    state = torch.get_rng_state()
    x, y = torch.rand(4, 1, 6, 6, generator=gen()), torch.arange(4)
    M.mixup_batch(x, y, generator=gen(1))
    M.cutmix_batch(x, y, generator=gen(2))
    assert torch.equal(torch.get_rng_state(), state)


# --- Properties ------------------------------------------------------------

@settings(max_examples=40)
@given(st.integers(0, 2**31 - 1), st.integers(1, 8), st.floats(0.05, 4.0))
def test_mixup_is_a_convex_combination(seed: int, n: int, alpha: float) -> None:
    x = torch.rand(n, 3, 4, generator=gen(seed), dtype=torch.float64)
    y = torch.arange(n)
    x_mix, y_a, y_b, lam = M.mixup_batch(x, y, alpha=alpha, generator=gen(seed + 1))
    assert 0.0 <= lam <= 1.0 and torch.equal(y_a, y)
    partner = x[y_b]                       # y = arange(n): y_b is the permutation
    lo, hi = torch.minimum(x, partner), torch.maximum(x, partner)
    assert bool((x_mix >= lo - 1e-12).all()) and bool((x_mix <= hi + 1e-12).all())
    torch.testing.assert_close(x_mix, lam * x + (1 - lam) * partner)
    assert sorted(y_b.tolist()) == list(range(n))


@settings(max_examples=60)
@given(st.integers(0, 2**31 - 1), st.integers(2, 6), st.integers(1, 20), st.integers(1, 20), st.floats(0.1, 4.0))
def test_cutmix_lambda_is_the_pasted_area(seed: int, n: int, h: int, w: int, alpha: float) -> None:
    # image i is the constant i + 1, so a pasted pixel is one that changed
    x = (torch.arange(n, dtype=torch.float32) + 1).reshape(n, 1, 1, 1).expand(n, 2, h, w).contiguous()
    y = torch.arange(n)
    x_mix, _, y_b, lam = M.cutmix_batch(x, y, alpha=alpha, generator=gen(seed))
    for i in range(n):
        if int(y_b[i]) != i:
            changed = (x_mix[i, 0] != x[i, 0]).double().mean().item()
            assert lam == pytest.approx(1 - changed, abs=1e-12)
            assert bool(((x_mix[i] == x[i]) | (x_mix[i] == x[int(y_b[i])])).all())


@settings(max_examples=60)
@given(st.integers(1, 40), st.integers(1, 40), st.floats(0, 1), st.integers(0, 2**31 - 1))
def test_cutmix_box_inside_and_not_larger_than_nominal(h: int, w: int, lam: float, seed: int) -> None:
    y1, y2, x1, x2 = M.cutmix_box(h, w, lam, generator=gen(seed))
    assert 0 <= y1 <= y2 <= h and 0 <= x1 <= x2 <= w
    assert (y2 - y1) * (x2 - x1) <= (1 - lam) * h * w + 1e-9     # int() and clipping only shrink it


def test_module_wrappers_pass_alpha() -> None:
    # non-default alphas: a wrapper that fell back to its default would draw another λ
    x, y = torch.rand(4, 1, 5, 5, generator=gen()), torch.arange(4)
    a = M.Mixup(0.4, generator=gen(3))(x, y)
    b = M.mixup_batch(x, y, alpha=0.4, generator=gen(3))
    torch.testing.assert_close(a[0], b[0])
    assert a[3] == b[3] != M.mixup_batch(x, y, alpha=0.2, generator=gen(3))[3]
    c = M.CutMix(0.3, generator=gen(3))(x, y)
    d = M.cutmix_batch(x, y, alpha=0.3, generator=gen(3))
    torch.testing.assert_close(c[0], d[0])
    assert c[3] == d[3]
    lams_default = [M.CutMix(1.0, generator=gen(s))(x, y)[3] for s in range(20)]
    lams_small = [M.CutMix(0.3, generator=gen(s))(x, y)[3] for s in range(20)]
    assert lams_default != lams_small


# --- One test per error message ----------------------------------------------

def test_error_alpha() -> None:
    with pytest.raises(ValueError, match=r"alpha must be > 0 \(got 0.0\)"):
        M.mixup_batch(torch.rand(2, 3), torch.tensor([0, 1]), alpha=0.0, generator=gen())


def test_error_alpha_negative_cutmix() -> None:
    with pytest.raises(ValueError, match=r"alpha must be > 0 \(got -1.0\)"):
        M.cutmix_batch(torch.rand(2, 1, 3, 3), torch.tensor([0, 1]), alpha=-1.0, generator=gen())


def test_error_batch_mismatch() -> None:
    with pytest.raises(ValueError, match=r"x and y must have the same batch size \(got 3 and 2\)"):
        M.mixup_batch(torch.rand(3, 4), torch.tensor([0, 1]), generator=gen())


def test_error_mixup_rank() -> None:
    with pytest.raises(ValueError, match=r"x must be at least 2-D \(N, ...\) \(got 1-D"):
        M.mixup_batch(torch.rand(3), torch.tensor([0, 1, 2]), generator=gen())


def test_error_cutmix_rank() -> None:
    with pytest.raises(ValueError, match=r"x must be 4-D \(got 3-D"):
        M.cutmix_batch(torch.rand(2, 4, 4), torch.tensor([0, 1]), generator=gen())


def test_error_not_float() -> None:
    with pytest.raises(TypeError, match="x must have a floating-point dtype"):
        M.mixup_batch(torch.ones(2, 3, dtype=torch.long), torch.tensor([0, 1]), generator=gen())


def test_error_labels_dtype() -> None:
    with pytest.raises(TypeError, match="y must be an int64 tensor of class indices"):
        M.mixup_batch(torch.rand(2, 3), torch.tensor([0.0, 1.0]), generator=gen())


def test_error_labels_rank() -> None:
    with pytest.raises(ValueError, match=r"y must be 1-D \(N,\)"):
        M.mixup_batch(torch.rand(2, 3), torch.zeros(2, 3, dtype=torch.long), generator=gen())


def test_error_generator() -> None:
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
        M.mixup_batch(torch.rand(2, 3), torch.tensor([0, 1]), generator=None)  # type: ignore[arg-type]


def test_error_lam() -> None:
    with pytest.raises(ValueError, match=r"lam must be in \[0.0, 1.0\] \(got 1.5\)"):
        M.mixed_loss(torch.zeros(1, 2), torch.tensor([0]), torch.tensor([1]), 1.5)


def test_error_loss_batch() -> None:
    with pytest.raises(ValueError, match="logits, y_a and y_b must have the same batch size"):
        M.mixed_loss(torch.zeros(2, 2), torch.tensor([0]), torch.tensor([1]), 0.5)


def test_error_label_shapes() -> None:
    with pytest.raises(ValueError, match="y_a and y_b must have the same shape"):
        M.mix_labels(torch.tensor([0, 1]), torch.tensor([1]), 0.5, num_classes=2)


# --- Every parameter moves the output ------------------------------------------
# Each test fails if its op silently does nothing or ignores the parameter it names.

@pytest.mark.parametrize("alpha", [0.2, 2.0])
def test_mixup_batch_lambda_follows_beta_alpha(alpha: float) -> None:
    # the λ that mixup_batch returns (and mixes with) is Beta(α, α): KS test against scipy
    g = gen(40)
    x, y = torch.rand(3, 2, generator=gen(41)), torch.arange(3)
    lams = []
    for _ in range(1500):
        x_mix, _, y_b, lam = M.mixup_batch(x, y, alpha=alpha, generator=g)
        lams.append(lam)
    torch.testing.assert_close(x_mix, lam * x + (1 - lam) * x[y_b])
    assert stats.kstest(lams, stats.beta(alpha, alpha).cdf).pvalue > 0.001


def _paper_cutmix_lambdas(alpha: float, size: int, n: int, seed: int) -> list[float]:
    """The CutMix paper's recipe, written out with NumPy: the λ of the box actually pasted."""
    import numpy as np

    rng = np.random.default_rng(seed)
    cut = (size * np.sqrt(1 - rng.beta(alpha, alpha, size=n))).astype(int)   # int() of the paper's code
    cy, cx = rng.integers(0, size, size=n), rng.integers(0, size, size=n)
    h = np.clip(cy + cut // 2, 0, size) - np.clip(cy - cut // 2, 0, size)
    w = np.clip(cx + cut // 2, 0, size) - np.clip(cx - cut // 2, 0, size)
    lams: list[float] = (1 - h * w / size**2).tolist()
    return lams


@pytest.mark.parametrize("alpha", [0.3, 3.0])
def test_cutmix_batch_lambda_follows_the_paper_recipe(alpha: float) -> None:
    g = gen(42)
    x, y = torch.rand(2, 1, 16, 16, generator=gen(43)), torch.arange(2)
    lams = [M.cutmix_batch(x, y, alpha=alpha, generator=g)[3] for _ in range(1500)]
    expected = _paper_cutmix_lambdas(alpha, 16, 20000, seed=44)
    assert stats.ks_2samp(lams, expected).pvalue > 0.001


def test_cutmix_batch_pastes_the_partner() -> None:
    # two constant images 0 and 1: with the partners swapped, image 0 shows a box of ones
    x = torch.cat([torch.zeros(1, 1, 8, 8), torch.ones(1, 1, 8, 8)])
    g = gen(45)
    pasted = 0
    for _ in range(50):
        x_mix, _, y_b, lam = M.cutmix_batch(x, torch.tensor([0, 1]), alpha=1.0, generator=g)
        if y_b.tolist() == [1, 0]:
            assert float(x_mix[0].mean()) == pytest.approx(1 - lam, abs=1e-12)
            pasted += lam < 1
    assert pasted > 5


def test_cutmix_box_by_hand_rectangle() -> None:
    # H = 10, W = 20, λ0 = 0.75: cut_h = int(10 * 0.5) = 5, cut_w = int(20 * 0.5) = 10; halves 2 and 5
    g = gen(6)
    cy, cx = int(torch.randint(0, 10, (), generator=g)), int(torch.randint(0, 20, (), generator=g))
    box = M.cutmix_box(10, 20, 0.75, generator=gen(6))
    assert box == (max(cy - 2, 0), min(cy + 2, 10), max(cx - 5, 0), min(cx + 5, 20))


@pytest.mark.parametrize(("lam", "side"), [(0.0, 8), (0.5, 5), (0.9, 2), (1.0, 0)])
def test_cutmix_box_side_follows_lam(lam: float, side: int) -> None:
    # 16 x 16: cut = int(16 sqrt(1 - λ)) = 16, 11, 5, 0; the box spans cut // 2 = 8, 5, 2, 0 either side
    g = gen(7)
    sides = set()
    for _ in range(200):
        y1, y2, x1, x2 = M.cutmix_box(16, 16, lam, generator=g)
        if y1 > 0 and y2 < 16 and x1 > 0 and x2 < 16:
            sides.add((y2 - y1, x2 - x1))
    assert sides <= {(2 * side, 2 * side)} and (sides or lam == 0.0)


def test_mix_labels_lam_and_classes_by_hand() -> None:
    # λ = 0.3, K = 4: 0.3 onehot(2) + 0.7 onehot(0) = [0.7, 0, 0.3, 0]
    soft = M.mix_labels(torch.tensor([2]), torch.tensor([0]), 0.3, num_classes=4, dtype=torch.float64)
    torch.testing.assert_close(soft, torch.tensor([[0.7, 0.0, 0.3, 0.0]], dtype=torch.float64))


def test_mix_labels_dtype() -> None:
    assert M.mix_labels(torch.tensor([0]), torch.tensor([1]), 0.5, num_classes=2, dtype=torch.float64).dtype \
        == torch.float64
    assert M.mix_labels(torch.tensor([0]), torch.tensor([1]), 0.5, num_classes=2).dtype == torch.float32


def test_mixed_loss_label_smoothing_matches_torch() -> None:
    logits = torch.randn(8, 5, generator=gen(46), dtype=torch.float64) * 2
    y_a, y_b = torch.randint(0, 5, (8,), generator=gen(47)), torch.randint(0, 5, (8,), generator=gen(48))
    got = M.mixed_loss(logits, y_a, y_b, 0.6, label_smoothing=0.3)
    expected = 0.6 * F.cross_entropy(logits, y_a, label_smoothing=0.3) + 0.4 * F.cross_entropy(
        logits, y_b, label_smoothing=0.3)
    torch.testing.assert_close(got, expected)
    assert not torch.allclose(got, M.mixed_loss(logits, y_a, y_b, 0.6))
