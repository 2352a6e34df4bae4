"""Tests for regbook.double_descent.

Expected values come from hand arithmetic, closed forms, or torch's own
solvers (``torch.linalg.lstsq``, the normal equations) -- never from regbook itself.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from regbook import double_descent as D

F64 = torch.float64


def t(xs: list) -> torch.Tensor:  # type: ignore[type-arg]
    return torch.tensor(xs, dtype=F64)


# --- Worked examples, by hand ------------------------------------------------

def test_random_features_by_hand() -> None:
    # x W = (1*1 + -1*1, 1*2 + 0, 0 + -1*2, 1*1 + -1*-1) = (0, 2, -2, 2); ReLU (0, 2, 0, 2); / sqrt(4)
    w = t([[1.0, 2.0, 0.0, 1.0], [1.0, 0.0, 2.0, -1.0]])
    assert D.random_features(t([[1.0, -1.0]]), w).tolist() == [[0.0, 1.0, 0.0, 1.0]]


def test_min_norm_fit_by_hand() -> None:
    # β1 + β2 = 2: the point of that line nearest the origin is (1, 1)
    beta = D.min_norm_fit(t([[1.0, 1.0]]), t([2.0]))
    torch.testing.assert_close(beta, t([1.0, 1.0]))


def test_ridge_fit_by_hand() -> None:
    # Φ Φᵀ = 2, λ = 1: β = Φᵀ (2 + 1)⁻¹ 2 = (2/3, 2/3)
    torch.testing.assert_close(D.ridge_fit(t([[1.0, 1.0]]), t([2.0]), lam=1.0), t([2 / 3, 2 / 3]))
    # p < n branch: Φ = (1, 1)ᵀ (two examples, one feature), y = (1, 3), λ = 2: β = 4 / (2 + 2) = 1
    torch.testing.assert_close(D.ridge_fit(t([[1.0], [1.0]]), t([1.0, 3.0]), lam=2.0), t([1.0]))


def test_feature_weights_scale() -> None:
    w = D.random_feature_weights(64, 4000, generator=torch.Generator().manual_seed(0))
    assert w.shape == (64, 4000) and w.dtype == F64
    assert abs(w.var().item() - 1 / 64) < 0.02 / 64  # N(0, 1/d)
    w2 = D.random_feature_weights(64, 4000, generator=torch.Generator().manual_seed(0))
    assert torch.equal(w, w2)  # the generator, not the global RNG, decides


# --- Parity with torch's solvers -------------------------------------------

@pytest.mark.parametrize(("n", "p"), [(30, 10), (30, 30), (30, 80)])
def test_min_norm_fit_matches_lstsq_gelsd(n: int, p: int) -> None:
    gen = torch.Generator().manual_seed(n + p)
    phi = torch.randn(n, p, generator=gen, dtype=F64)
    y = torch.randn(n, 3, generator=gen, dtype=F64)
    expected = torch.linalg.lstsq(phi, y, driver="gelsd").solution  # SVD-based minimum-norm solver
    torch.testing.assert_close(D.min_norm_fit(phi, y), expected, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(("n", "p"), [(30, 10), (30, 80)])
def test_ridge_fit_matches_normal_equations(n: int, p: int) -> None:
    gen = torch.Generator().manual_seed(p)
    phi = torch.randn(n, p, generator=gen, dtype=F64)
    y = torch.randn(n, generator=gen, dtype=F64)
    lam = 0.7
    expected = torch.linalg.solve(phi.T @ phi + lam * torch.eye(p, dtype=F64), phi.T @ y)
    torch.testing.assert_close(D.ridge_fit(phi, y, lam=lam), expected)
    # it minimises the objective: the gradient 2Φᵀ(Φβ - y) + 2λβ vanishes
    beta = D.ridge_fit(phi, y, lam=lam)
    assert (phi.T @ (phi @ beta - y) + lam * beta).abs().max() < 1e-10


def test_ridge_path_matches_single_fits() -> None:
    gen = torch.Generator().manual_seed(3)
    phi = torch.randn(20, 50, generator=gen, dtype=F64)
    y = torch.randn(20, 4, generator=gen, dtype=F64)
    lams = [0.0, 1e-3, 0.5, 10.0]
    for lam, beta in zip(lams, D.ridge_path(phi, y, lams=lams), strict=True):
        torch.testing.assert_close(beta, D.ridge_fit(phi, y, lam=lam), rtol=1e-8, atol=1e-10)


def test_gradient_descent_from_zero_finds_the_min_norm_solution() -> None:
    gen = torch.Generator().manual_seed(5)
    phi = torch.randn(10, 40, generator=gen, dtype=F64)
    y = torch.randn(10, 2, generator=gen, dtype=F64)
    expected = torch.linalg.lstsq(phi, y, driver="gelsd").solution
    torch.testing.assert_close(D.gradient_descent_fit(phi, y, steps=3000), expected, rtol=1e-6, atol=1e-8)
    # started elsewhere, it interpolates too but keeps the start's null-space part: a longer solution
    start = torch.randn(40, 2, generator=gen, dtype=F64)
    moved = D.gradient_descent_fit(phi, y - phi @ start, steps=3000) + start
    assert (phi @ moved - y).abs().max() < 1e-6 and moved.norm() > expected.norm() + 0.1


# --- Properties ----------------------------------------------------------------

@given(st.integers(2, 12), st.integers(1, 12), st.integers(0, 10_000))
def test_min_norm_interpolates_when_wide(n: int, extra: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    phi = torch.randn(n, n + extra, generator=gen, dtype=F64)  # full row rank almost surely
    y = torch.randn(n, generator=gen, dtype=F64)
    beta = D.min_norm_fit(phi, y)
    assert (phi @ beta - y).abs().max() < 1e-8  # zero training error: interpolation
    # and no other interpolating β is shorter: add a null-space direction
    null = torch.linalg.svd(phi).Vh[n:]
    other = beta + null.T @ torch.randn(null.shape[0], generator=gen, dtype=F64)
    assert other.norm() >= beta.norm() - 1e-10


@given(st.floats(1e-3, 100.0), st.floats(1.5, 10.0), st.integers(0, 10_000))
def test_ridge_shrinks_monotonically(lam: float, factor: float, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    phi = torch.randn(8, 15, generator=gen, dtype=F64)
    y = torch.randn(8, generator=gen, dtype=F64)
    small, large = D.ridge_path(phi, y, lams=[lam, lam * factor])
    assert large.norm() < small.norm() <= D.min_norm_fit(phi, y).norm() + 1e-10


# --- Every parameter matters: each test fails if the op ignores it -------------------

def test_random_features_batched_equals_one_by_one() -> None:
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(3, 5, 4, generator=gen, dtype=F64)          # 3 seeds, 5 examples, d = 4
    w = torch.randn(3, 4, 6, generator=gen, dtype=F64)          # p = 6
    out = D.random_features(x, w)
    for i in range(3):   # by the formula, per seed
        torch.testing.assert_close(out[i], torch.relu(x[i] @ w[i]) / 6**0.5)


def test_ridge_fit_uses_lam() -> None:
    # one feature, two examples: β = Σxy / (Σx² + λ) = (1 + 3) / (2 + λ)
    phi, y = t([[1.0], [1.0]]), t([1.0, 3.0])
    assert [D.ridge_fit(phi, y, lam=lam).item() for lam in (0.0, 2.0, 6.0)] == pytest.approx([2.0, 1.0, 0.5])
    # the wide branch: Φ = (1, 1), y = 2: β = (1, 1) · 2 / (2 + λ)
    assert D.ridge_fit(t([[1.0, 1.0]]), t([2.0]), lam=2.0).tolist() == pytest.approx([0.5, 0.5])


def test_ridge_filter_by_hand_and_its_cutoff() -> None:
    s = t([4.0, 1.0, 0.25, 1e-20])
    torch.testing.assert_close(D.ridge_filter(s, 1.0), t([4 / 17, 0.5, 0.25 / 1.0625, 1e-20]))
    torch.testing.assert_close(D.ridge_filter(s, 0.25), t([4 / 16.25, 1 / 1.25, 0.25 / 0.3125, 1e-20 / 0.25]))
    torch.testing.assert_close(D.ridge_filter(s, 0.0, cutoff=1e-10), t([0.25, 1.0, 4.0, 0.0]))   # tiny s dropped
    torch.testing.assert_close(D.ridge_filter(s, 0.0, cutoff=0.5), t([0.25, 1.0, 0.0, 0.0]))
    # one cut-off per matrix, broadcast
    two = torch.stack([s, s])
    out = D.ridge_filter(two, 0.0, cutoff=t([[0.5], [2.0]]))
    torch.testing.assert_close(out, t([[0.25, 1.0, 0.0, 0.0], [0.25, 0.0, 0.0, 0.0]]))


def test_pinv_cutoff_is_torchs() -> None:
    # torch.linalg.pinv's default rtol is max(n, p) * eps: the same singular values survive
    gen = torch.Generator().manual_seed(6)
    phi = torch.randn(7, 3, generator=gen, dtype=F64) @ torch.randn(3, 9, generator=gen, dtype=F64)  # rank 3
    s = torch.linalg.svdvals(phi)
    cut = D.pinv_cutoff(phi, s)
    assert cut.item() == pytest.approx(9 * torch.finfo(F64).eps * s.max().item())
    assert int((s > cut).sum()) == 3 == int(torch.linalg.matrix_rank(phi))


def test_gradient_descent_uses_steps_and_lr() -> None:
    # Φ = (1, 1), y = 2, from 0: β_{t+1} = β_t - η Φᵀ(Φβ_t - y); η = 0.25 gives β1 = (0.5, 0.5), β2 = (0.75, 0.75)
    phi, y = t([[1.0, 1.0]]), t([2.0])
    assert D.gradient_descent_fit(phi, y, steps=1, lr=0.25).tolist() == pytest.approx([0.5, 0.5])
    assert D.gradient_descent_fit(phi, y, steps=2, lr=0.25).tolist() == pytest.approx([0.75, 0.75])
    assert D.gradient_descent_fit(phi, y, steps=1, lr=0.1).tolist() == pytest.approx([0.2, 0.2])


# --- Bad input ---------------------------------------------------------------------

GEN = torch.Generator()


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: D.random_feature_weights(0, 5, generator=GEN), ValueError, r"in_features must be >= 1 \(got 0\)"),
        (lambda: D.random_feature_weights(3, 2.5, generator=GEN), TypeError, r"num_features must be an int"),
        (lambda: D.random_feature_weights(3, 5, generator=0), TypeError, r"generator must be a torch.Generator"),
        (lambda: D.random_feature_weights(3, 5, generator=GEN, dtype=torch.int64), TypeError,
         r"dtype must be a floating-point dtype"),
        (lambda: D.random_features(t([1.0, 2.0]), t([[1.0]])), ValueError, r"x must be at least 2-D \(got 1-D"),
        (lambda: D.random_features(t([[1.0, 2.0]]), t([[1.0]])), ValueError,
         r"x has 2 columns but weight has 1 rows"),
        (lambda: D.random_features(torch.ones(2, 2, dtype=torch.long), t([[1.0], [1.0]])), TypeError,
         r"x must have a floating-point dtype"),
        (lambda: D.min_norm_fit(t([[1.0, 1.0]]), t([1.0, 2.0])), ValueError,
         r"features and targets must have the same number of rows \(got 1 and 2\)"),
        (lambda: D.min_norm_fit(t([[1.0]]), torch.ones(1, 1, 1, dtype=F64)), ValueError, r"targets must be 1-D or 2-D"),
        (lambda: D.min_norm_fit(t([[1.0]]), torch.ones(1)), TypeError,
         r"features and targets must have the same dtype"),
        (lambda: D.ridge_fit(t([[1.0]]), t([1.0]), lam=-1.0), ValueError, r"lam must be >= 0 \(got -1.0\)"),
        (lambda: D.gradient_descent_fit(t([[1.0]]), t([1.0]), steps=0), ValueError, r"steps must be >= 1 \(got 0\)"),
        (lambda: D.gradient_descent_fit(t([[1.0]]), t([1.0]), steps=5, lr=-1.0), ValueError, r"lr must be > 0"),
        (lambda: D.ridge_path(t([[1.0]]), t([1.0]), lams=[]), ValueError, r"lams must not be empty"),
        (lambda: D.ridge_path(t([[1.0]]), t([1.0]), lams=[1.0, -2.0]), ValueError, r"lams\[1\] must be >= 0"),
        (lambda: D.ridge_filter(t([1.0]), -1.0), ValueError, r"lam must be >= 0 \(got -1.0\)"),
        (lambda: D.random_features(t([[1.0]]), t([1.0])), ValueError, r"weight must be at least 2-D"),
        (lambda: D.random_features(torch.ones(2, 3, 1, dtype=F64), torch.ones(3, 1, 2, dtype=F64)), ValueError,
         r"x and weight must have the same batch dimensions"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(call, exc, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc, match=match):
        call()
