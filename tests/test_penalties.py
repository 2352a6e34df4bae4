"""Tests for regbook.penalties.

Expected values come from hand arithmetic, closed forms, or torch's own
optimizers -- never from regbook itself.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from regbook import penalties as P

F64 = torch.float64
finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


def vec(xs: list[float]) -> torch.Tensor:
    return torch.tensor(xs, dtype=F64)


# --- The lecture's worked example, by hand --------------------------------

def test_worked_example_without_l2() -> None:
    # 2.0 - 0.1 * 1.5 = 1.85
    assert P.sgd_step(2.0, 1.5, lr=0.1) == pytest.approx(1.85, abs=1e-15)


def test_worked_example_with_l2() -> None:
    # λw = 0.01 * 2.0 = 0.02; grad 1.52; 2.0 - 0.1 * 1.52 = 1.848
    assert P.sgd_step(2.0, 1.5, lr=0.1, l2=0.01) == pytest.approx(1.848, abs=1e-15)


def test_worked_example_decoupled_form() -> None:
    # (1 - 0.1*0.01) * 2.0 - 0.1 * 1.5 = 0.999*2 - 0.15 = 1.848
    assert P.weight_decay_step(2.0, 1.5, lr=0.1, weight_decay=0.01) == pytest.approx(1.848, abs=1e-15)


def test_penalties_by_hand() -> None:
    # 0.1/2 * (9 + 16) = 1.25 ; 0.1 * (3 + 4) = 0.7
    assert P.l2_penalty(vec([3.0, -4.0]), 0.1).item() == pytest.approx(1.25)
    assert P.l1_penalty(vec([3.0, -4.0]), 0.1).item() == pytest.approx(0.7)


# --- L2 == weight decay under SGD ----------------------------------------

@given(st.lists(finite, min_size=1, max_size=8), st.floats(1e-4, 1.0), st.floats(0.0, 0.9))
def test_l2_equals_weight_decay_under_sgd(ws: list[float], lr: float, lam: float) -> None:
    w = vec(ws)
    g = torch.linspace(-1, 1, len(ws), dtype=F64)
    torch.testing.assert_close(
        P.sgd_step(w, g, lr=lr, l2=lam), P.weight_decay_step(w, g, lr=lr, weight_decay=lam)
    )


def test_l2_penalty_gradient_is_lambda_w_autograd() -> None:
    w = vec([2.0, -1.0, 0.5]).requires_grad_(True)
    P.l2_penalty(w, 0.3).backward()
    torch.testing.assert_close(w.grad, 0.3 * w.detach())


def test_sgd_step_matches_torch_sgd_weight_decay() -> None:
    w0, g = vec([2.0, -1.0, 0.5]), vec([1.5, 0.2, -0.7])
    p = torch.nn.Parameter(w0.clone())
    opt = torch.optim.SGD([p], lr=0.1, weight_decay=0.01)
    p.grad = g.clone()
    opt.step()
    torch.testing.assert_close(P.sgd_step(w0, g, lr=0.1, l2=0.01), p.detach())


# --- Adam / AdamW parity with torch --------------------------------------

@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_step_matches_torch(decoupled: bool, weight_decay: float) -> None:
    gen = torch.Generator().manual_seed(1)
    w = torch.randn(5, generator=gen, dtype=F64)
    p = torch.nn.Parameter(w.clone())
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    opt = cls([p], lr=0.05, betas=(0.8, 0.95), eps=1e-8, weight_decay=weight_decay)
    state = P.AdamState.zeros_like(w)
    for _ in range(25):
        g = torch.randn(5, generator=gen, dtype=F64) * torch.tensor([1e-3, 0.1, 1, 10, 100], dtype=F64)
        p.grad = g.clone()
        opt.step()
        w, state = P.adam_step(w, g, state, lr=0.05, betas=(0.8, 0.95), eps=1e-8,
                               weight_decay=weight_decay, decoupled=decoupled)
    torch.testing.assert_close(w, p.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state.exp_avg_sq, opt.state[p]["exp_avg_sq"], rtol=1e-12, atol=1e-15)
    assert state.step == 25


# --- Projections and the constrained minima -------------------------------

def test_projections_by_hand() -> None:
    # (3, 4) has norm 5 -> (0.6, 0.8)
    torch.testing.assert_close(P.project_l2_ball(vec([3.0, 4.0]), 1.0), vec([0.6, 0.8]))
    # L1: (3, 1), r=1: threshold θ=2 -> (1, 0)
    torch.testing.assert_close(P.project_l1_ball(vec([3.0, 1.0]), 1.0), vec([1.0, 0.0]))
    # L1: (0.8, 0.6), r=1: 1.4 - 2θ = 1 -> θ=0.2 -> (0.6, 0.4)
    torch.testing.assert_close(P.project_l1_ball(vec([0.8, 0.6]), 1.0), vec([0.6, 0.4]))
    # L1 with signs: (-3, 1) -> (-1, 0); inside the ball: unchanged
    torch.testing.assert_close(P.project_l1_ball(vec([-3.0, 1.0]), 1.0), vec([-1.0, 0.0]))
    torch.testing.assert_close(P.project_l1_ball(vec([0.2, -0.3]), 1.0), vec([0.2, -0.3]))


@given(st.lists(finite, min_size=1, max_size=6), st.floats(0.1, 5.0))
def test_l1_projection_is_closest_point_in_ball(vs: list[float], r: float) -> None:
    v = vec(vs)
    p = P.project_l1_ball(v, r)
    assert p.abs().sum() <= r + 1e-9
    # optimality: no point of a random sample of the ball is closer to v
    gen = torch.Generator().manual_seed(0)
    cand = torch.randn(200, len(vs), generator=gen, dtype=F64)
    cand = cand / cand.abs().sum(1, keepdim=True) * r * torch.rand(200, 1, generator=gen, dtype=F64)
    assert (cand - v).norm(dim=1).min() >= (p - v).norm() - 1e-9
    torch.testing.assert_close(P.project_l1_ball(p, r), p)  # idempotent


def test_soft_threshold_by_hand() -> None:
    out = P.soft_threshold(vec([3.0, -0.5, 0.2, -2.0]), 1.0)
    torch.testing.assert_close(out, vec([2.0, 0.0, 0.0, -1.0]))


def test_constrained_minimum_l1_corner_by_kkt() -> None:
    a, c = vec([[2.0, 0.6], [0.6, 1.0]]).reshape(2, 2), vec([2.0, 1.0])
    w = P.constrained_minimum(a, c, norm="l1", radius=1.0)
    # KKT by hand at (1, 0): -grad f = -A(w - c) = (2.6, 1.6) = μ (1, s), μ = 2.6, |s| = 0.615 <= 1
    assert w.tolist() == [1.0, 0.0]


def test_constrained_minimum_l2_matches_lagrange_closed_form() -> None:
    a, c = vec([[2.0, 0.6], [0.6, 1.0]]).reshape(2, 2), vec([2.0, 1.0])
    w = P.constrained_minimum(a, c, norm="l2", radius=1.0, steps=5000)
    # (A + μI) w = A c with ||w|| = 1: bisection on μ, independent of regbook
    lo, hi = 0.0, 100.0
    for _ in range(200):
        mu = (lo + hi) / 2
        w_mu = torch.linalg.solve(a + mu * torch.eye(2, dtype=F64), a @ c)
        lo, hi = (mu, hi) if w_mu.norm() > 1 else (lo, mu)
    torch.testing.assert_close(w, w_mu, rtol=1e-6, atol=1e-6)


# --- Proximal gradient against closed forms ------------------------------

def test_lasso_with_orthonormal_design_is_soft_thresholding() -> None:
    gen = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(30, 6, generator=gen, dtype=F64))  # qᵀq = I
    y = torch.randn(30, generator=gen, dtype=F64) * 2
    lam = 0.7
    w = P.proximal_gradient(lambda w: 0.5 * ((y - q @ w) ** 2).sum(), torch.zeros(6, dtype=F64),
                            penalty="l1", lam=lam, lr=1.0, steps=5)
    z = q.T @ y
    expected = torch.sign(z) * torch.clamp(z.abs() - lam, min=0)  # closed form, by hand
    torch.testing.assert_close(w, expected)


def test_ridge_matches_normal_equations() -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(40, 5, generator=gen, dtype=F64)
    y = torch.randn(40, generator=gen, dtype=F64)
    lam = 3.0
    lip = torch.linalg.eigvalsh(x.T @ x).max().item()
    w = P.proximal_gradient(lambda w: 0.5 * ((y - x @ w) ** 2).sum(), torch.zeros(5, dtype=F64),
                            penalty="l2", lam=lam, lr=1.0 / lip, steps=3000)
    expected = torch.linalg.solve(x.T @ x + lam * torch.eye(5, dtype=F64), x.T @ y)
    torch.testing.assert_close(w, expected, rtol=1e-8, atol=1e-8)


def test_mask_leaves_unpenalised_entries_alone() -> None:
    w = P.proximal_gradient(lambda w: (w * 0).sum(), vec([0.5, 0.5]), penalty="l1", lam=1.0, lr=1.0,
                            steps=1, mask=torch.tensor([True, False]))
    assert w.tolist() == [0.0, 0.5]


# --- Bad input ---------------------------------------------------------------

@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: P.sgd_step(2.0, 1.5, lr=-0.1), ValueError, r"lr must be > 0 \(got -0.1\)"),
        (lambda: P.sgd_step(2.0, 1.5, lr=0.1, l2=-1.0), ValueError, r"l2 must be >= 0 \(got -1.0\)"),
        (lambda: P.sgd_step(2.0, float("nan"), lr=0.1), ValueError, r"grad must be finite"),
        (lambda: P.sgd_step("2", 1.5, lr=0.1), TypeError, r"w must be a real number \(got str"),
        (lambda: P.sgd_step(vec([1.0]), vec([1.0, 2.0]), lr=0.1), ValueError, r"w and grad must have the same shape"),
        (lambda: P.sgd_step(torch.tensor([1]), torch.tensor([1]), lr=0.1), TypeError, r"floating-point dtype"),
        (lambda: P.weight_decay_step(1.0, 1.0, lr=1.0, weight_decay=2.0), ValueError,
         r"lr \* weight_decay must be < 1"),
        (lambda: P.l2_penalty(vec([1.0]), -0.1), ValueError, r"lam must be >= 0"),
        (lambda: P.adam_step(vec([1.0]), vec([1.0]), P.AdamState.zeros_like(vec([1.0])), betas=(1.0, 0.9)),
         ValueError, r"betas\[0\] must be in \[0.0, 1.0\) \(got 1.0\)"),
        (lambda: P.project_l1_ball(vec([1.0]), 0.0), ValueError, r"radius must be > 0 \(got 0.0\)"),
        (lambda: P.project_l2_ball(torch.ones(2, 2, dtype=F64), 1.0), ValueError, r"v must be 1-D \(got 2-D"),
        (lambda: P.soft_threshold(vec([1.0]), -1.0), ValueError, r"threshold must be >= 0"),
        (lambda: P.constrained_minimum(-torch.eye(2, dtype=F64), vec([1.0, 1.0]), norm="l1", radius=1.0),
         ValueError, r"a must be positive definite"),
        (lambda: P.constrained_minimum(torch.eye(3, dtype=F64), vec([1.0, 1.0]), norm="l1", radius=1.0),
         ValueError, r"a must have shape \(2, 2\) \(got \(3, 3\)\)"),
        (lambda: P.constrained_minimum(torch.eye(2, dtype=F64), vec([1.0, 1.0]), norm="l3", radius=1.0),
         ValueError, r"norm must be one of"),
        (lambda: P.proximal_gradient(lambda w: w.sum(), vec([1.0]), penalty="l1", lam=0.1, lr=0.1, steps=0),
         ValueError, r"steps must be >= 1 \(got 0\)"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(call, exc, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc, match=match):
        call()


def test_bad_input_is_rejected_before_any_work() -> None:
    w = vec([1.0, 2.0])
    before = w.clone()
    with pytest.raises(ValueError):
        P.adam_step(w, vec([1.0, 1.0]), P.AdamState.zeros_like(w), lr=0.0)
    assert torch.equal(w, before)


def test_decay_pulls_towards_zero_closed_form() -> None:
    w = 2.0
    for _ in range(100):
        w = P.sgd_step(w, 0.0, lr=0.1, l2=0.01)
    assert w == pytest.approx(2.0 * 0.999**100, rel=1e-12)
    assert math.isfinite(w)


# --- Every parameter matters: each test fails if the op ignores it --------------

def test_penalties_scale_with_lam_and_read_w() -> None:
    w = vec([3.0, -4.0])
    # by hand: 0.5 * lam * 25 and lam * 7
    assert [P.l2_penalty(w, lam).item() for lam in (0.0, 0.1, 1.0)] == pytest.approx([0.0, 1.25, 12.5])
    assert [P.l1_penalty(w, lam).item() for lam in (0.0, 0.1, 1.0)] == pytest.approx([0.0, 0.7, 7.0])
    assert P.l2_penalty(vec([1.0, 0.0]), 1.0).item() == pytest.approx(0.5)
    assert P.l1_penalty(vec([-2.0, 0.0]), 1.0).item() == pytest.approx(2.0)


@pytest.mark.parametrize(("lr", "l2", "expected"), [
    (0.1, 0.0, 1.85),       # 2 - 0.1 * 1.5
    (0.2, 0.0, 1.7),        # 2 - 0.2 * 1.5
    (0.1, 0.5, 1.75),       # 2 - 0.1 * (1.5 + 1.0)
    (0.2, 0.5, 1.5),        # 2 - 0.2 * 2.5
])
def test_sgd_step_uses_lr_and_l2(lr: float, l2: float, expected: float) -> None:
    assert P.sgd_step(2.0, 1.5, lr=lr, l2=l2) == pytest.approx(expected, abs=1e-12)
    assert P.sgd_step(2.0, -1.5, lr=lr, l2=l2) == pytest.approx(expected + 2 * lr * 1.5, abs=1e-12)  # grad's sign


@pytest.mark.parametrize(("lr", "wd", "expected"), [
    (0.1, 0.0, 1.85),       # 2 - 0.15
    (0.1, 0.5, 1.75),       # 0.95 * 2 - 0.15
    (0.2, 0.5, 1.5),        # 0.9 * 2 - 0.3
])
def test_weight_decay_step_uses_lr_and_weight_decay(lr: float, wd: float, expected: float) -> None:
    assert P.weight_decay_step(2.0, 1.5, lr=lr, weight_decay=wd) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_step_matches_torch_with_large_eps_and_other_betas(decoupled: bool) -> None:
    # eps = 0.5 and betas (0.5, 0.6) change every step visibly: a step that ignored them would not match torch
    gen = torch.Generator().manual_seed(2)
    w = torch.randn(4, generator=gen, dtype=F64)
    p = torch.nn.Parameter(w.clone())
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    opt = cls([p], lr=0.3, betas=(0.5, 0.6), eps=0.5, weight_decay=0.2)
    state = P.AdamState.zeros_like(w)
    for _ in range(5):
        g = torch.randn(4, generator=gen, dtype=F64)
        p.grad = g.clone()
        opt.step()
        w, state = P.adam_step(w, g, state, lr=0.3, betas=(0.5, 0.6), eps=0.5, weight_decay=0.2, decoupled=decoupled)
    torch.testing.assert_close(w, p.detach(), rtol=1e-12, atol=1e-12)


def test_adam_step_by_hand_first_step() -> None:
    # t = 1: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps); w = 1, g = 2, lr = 0.1, eps = 1:
    # Adam + L2 (wd 0.5): g' = 2.5, step 0.1 * 2.5 / 3.5; AdamW: w = 0.95 first, step 0.1 * 2 / 3
    s0 = P.AdamState.zeros_like(vec([1.0]))
    l2, _ = P.adam_step(vec([1.0]), vec([2.0]), s0, lr=0.1, eps=1.0, weight_decay=0.5)
    dec, _ = P.adam_step(vec([1.0]), vec([2.0]), s0, lr=0.1, eps=1.0, weight_decay=0.5, decoupled=True)
    assert l2.item() == pytest.approx(1 - 0.1 * 2.5 / 3.5)
    assert dec.item() == pytest.approx(0.95 - 0.1 * 2 / 3)


def test_projections_use_the_radius() -> None:
    # L2: (3, 4) onto radius 2 -> (1.2, 1.6); radius 10: inside, unchanged
    torch.testing.assert_close(P.project_l2_ball(vec([3.0, 4.0]), 2.0), vec([1.2, 1.6]))
    torch.testing.assert_close(P.project_l2_ball(vec([3.0, 4.0]), 10.0), vec([3.0, 4.0]))
    # L1: (3, 1) onto radius 2: θ = 1 -> (2, 0); (0.8, 0.6) onto 0.5: 1.4 - 2θ = 0.5, θ = 0.45 -> (0.35, 0.15)
    torch.testing.assert_close(P.project_l1_ball(vec([3.0, 1.0]), 2.0), vec([2.0, 0.0]))
    torch.testing.assert_close(P.project_l1_ball(vec([0.8, 0.6]), 0.5), vec([0.35, 0.15]))


def test_soft_threshold_uses_the_threshold() -> None:
    z = vec([3.0, -0.5, 0.2, -2.0])
    torch.testing.assert_close(P.soft_threshold(z, 0.0), z)
    torch.testing.assert_close(P.soft_threshold(z, 0.4), vec([2.6, -0.1, 0.0, -1.6]))
    torch.testing.assert_close(P.soft_threshold(z, 2.5), vec([0.5, 0.0, 0.0, 0.0]))


def test_constrained_minimum_uses_radius_norm_and_steps() -> None:
    a, c = vec([[2.0, 0.6], [0.6, 1.0]]).reshape(2, 2), vec([2.0, 1.0])
    # KKT at (0.5, 0): A(c - w) = (3.6, 1.9), |1.9 / 3.6| <= 1, so the corner is optimal for radius 0.5
    torch.testing.assert_close(P.constrained_minimum(a, c, norm="l1", radius=0.5), vec([0.5, 0.0]))
    # a radius larger than the unconstrained minimum's norm: the minimum itself
    torch.testing.assert_close(P.constrained_minimum(a, c, norm="l2", radius=5.0, steps=5000), c)
    # one step from 0: project(step * A c) with step = 1 / λmax(A)
    step = 1.0 / torch.linalg.eigvalsh(a).max()
    first = step * (a @ c)                                    # norm < 5: no projection needed
    torch.testing.assert_close(P.constrained_minimum(a, c, norm="l2", radius=5.0, steps=1), first)


def test_proximal_gradient_one_step_by_hand() -> None:
    # loss (w - 3)^2 / 2 from w0 = 1: g = -2; lr = 0.25: z = 1.5
    # L1, lam = 2: soft(1.5, 0.5) = 1.0; L2, lam = 2: 1.5 / 1.5 = 1.0; lam = 0: z
    def loss(w: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((w - 3.0) ** 2).sum()

    w0 = vec([1.0])
    assert P.proximal_gradient(loss, w0, penalty="l1", lam=2.0, lr=0.25, steps=1).item() == pytest.approx(1.0)
    assert P.proximal_gradient(loss, w0, penalty="l2", lam=2.0, lr=0.25, steps=1).item() == pytest.approx(1.0)
    assert P.proximal_gradient(loss, w0, penalty="l1", lam=0.0, lr=0.25, steps=1).item() == pytest.approx(1.5)
    assert P.proximal_gradient(loss, w0, penalty="l1", lam=2.0, lr=0.5, steps=1).item() == pytest.approx(1.0)
    # lr 0.5: z = 2, soft(2, 1) = 1; a second step: g = -2, z = 2, soft -> 1 again (fixed point: 3 - lam = 1)
    assert P.proximal_gradient(loss, w0, penalty="l1", lam=2.0, lr=0.5, steps=2).item() == pytest.approx(1.0)
    # steps matter where the iterate moves: L2 fixed point 3 / (1 + lam) = 1 is reached only in the limit
    one = P.proximal_gradient(loss, vec([0.0]), penalty="l2", lam=2.0, lr=0.25, steps=1).item()
    many = P.proximal_gradient(loss, vec([0.0]), penalty="l2", lam=2.0, lr=0.25, steps=200).item()
    assert one == pytest.approx(0.75 / 1.5) and many == pytest.approx(1.0)
    assert w0.tolist() == [1.0]   # the start is not modified


# --- The MAP view: priors and penalties (the table's "Prior" row) -------------------

@given(st.lists(finite, min_size=1, max_size=6), st.floats(0.1, 5.0))
def test_gaussian_prior_is_l2_up_to_a_constant(ws: list[float], sigma: float) -> None:
    # -log N(w; 0, σ²) = w²/(2σ²) + log(σ√(2π)): the L2 penalty with λ = 1/σ², plus a constant
    w = vec(ws)
    neg_log_prior = -torch.distributions.Normal(vec([0.0]), vec([sigma])).log_prob(w).sum()
    gap = neg_log_prior - P.l2_penalty(w, 1.0 / sigma**2)
    assert gap.item() == pytest.approx(len(ws) * math.log(sigma * math.sqrt(2 * math.pi)), rel=1e-9, abs=1e-9)


@given(st.lists(finite, min_size=1, max_size=6), st.floats(0.1, 5.0))
def test_laplace_prior_is_l1_up_to_a_constant(ws: list[float], b: float) -> None:
    # -log Laplace(w; 0, b) = |w|/b + log(2b): the L1 penalty with λ = 1/b, plus a constant
    w = vec(ws)
    neg_log_prior = -torch.distributions.Laplace(vec([0.0]), vec([b])).log_prob(w).sum()
    gap = neg_log_prior - P.l1_penalty(w, 1.0 / b)
    assert gap.item() == pytest.approx(len(ws) * math.log(2 * b), rel=1e-9, abs=1e-9)
