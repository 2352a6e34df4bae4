r"""Parameter-norm penalties: L2 (ridge), L1 (lasso) and weight decay.

The L2 penalty in this book uses the *half* convention

.. math::

    L_{\text{total}}(w) = L_{\text{data}}(w) + \frac{\lambda}{2}\,\lVert w \rVert_2^2,
    \qquad
    \nabla L_{\text{total}} = \nabla L_{\text{data}} + \lambda w ,

so that the gradient of the penalty is exactly :math:`\lambda w` and ``lambda``
here means the same number as ``weight_decay`` in :class:`torch.optim.SGD`.
(Some texts write :math:`\lambda \lVert w \rVert^2`; their :math:`\lambda` is half of ours.)

Under plain SGD the penalised step regroups into a *decay* step,

.. math::

    w \leftarrow w - \eta(\nabla L_{\text{data}} + \lambda w)
      = (1 - \eta\lambda)\,w - \eta \nabla L_{\text{data}},

which is why "L2 regularization" and "weight decay" are used as synonyms.
Under Adam they are *not* the same (:func:`adam_step`). The chapter's experiments
(L2 against decay over seeds, sparsity, early stopping) are in :mod:`regbook.experiments.penalties`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

import torch

from regbook._checks import (
    check_bool,
    check_choice,
    check_count,
    check_float_tensor,
    check_in_range,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
    check_same_shape,
)

__all__ = [
    "AdamState",
    "adam_step",
    "constrained_minimum",
    "l1_penalty",
    "l2_penalty",
    "project_l1_ball",
    "project_l2_ball",
    "proximal_gradient",
    "sgd_step",
    "soft_threshold",
    "weight_decay_step",
]

Scalar = TypeVar("Scalar", float, torch.Tensor)


def _check_device(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    if a.device != b.device:
        raise ValueError(f"{name_a} and {name_b} must be on the same device (got {a.device} and {b.device})")


def _no_meta(name: str, t: torch.Tensor) -> None:
    if t.is_meta:
        raise ValueError(f"{name} must hold values (got a meta tensor): this function branches on them")


def _check_pair(w: Scalar, grad: Scalar) -> None:
    if isinstance(w, torch.Tensor) or isinstance(grad, torch.Tensor):
        check_float_tensor("w", w)
        check_float_tensor("grad", grad)
        assert isinstance(w, torch.Tensor) and isinstance(grad, torch.Tensor)
        check_same_shape("w", w, "grad", grad)
        _check_device("w", w, "grad", grad)
    else:
        check_real("w", w)
        check_real("grad", grad)


# ---------------------------------------------------------------------------
# The penalties themselves
# ---------------------------------------------------------------------------


def l2_penalty(w: torch.Tensor, lam: float) -> torch.Tensor:
    r"""The L2 penalty :math:`\frac{\lambda}{2}\sum_i w_i^2` (half convention).

    MAP view: it is the negative log-density of a Gaussian prior
    :math:`w_i \sim \mathcal N(0, \sigma^2)` with :math:`\lambda = 1/\sigma^2`, up
    to the constant :math:`\sum_i \log(\sigma\sqrt{2\pi})` that does not depend on
    :math:`w` (checked against :class:`torch.distributions.Normal` in the tests).

    Args:
        w: Weights, any shape, floating point.
        lam: Penalty strength :math:`\lambda \ge 0`.

    Returns:
        A 0-d tensor.

    >>> l2_penalty(torch.tensor([3.0, 4.0]), 0.1).item()
    1.25
    """
    check_float_tensor("w", w)
    lam = check_nonnegative("lam", lam)
    return 0.5 * lam * (w * w).sum()


def l1_penalty(w: torch.Tensor, lam: float) -> torch.Tensor:
    r"""The L1 penalty :math:`\lambda \sum_i |w_i|`.

    MAP view: the negative log-density of a Laplace prior with scale
    :math:`b = 1/\lambda`, :math:`p(w_i) = e^{-|w_i|/b}/(2b)`, up to the constant
    :math:`\sum_i \log(2b)` (checked against :class:`torch.distributions.Laplace`).

    Args:
        w: Weights, any shape, floating point.
        lam: Penalty strength :math:`\lambda \ge 0`.

    Returns:
        A 0-d tensor.

    >>> round(l1_penalty(torch.tensor([3.0, -4.0]), 0.1).item(), 6)
    0.7
    """
    check_float_tensor("w", w)
    lam = check_nonnegative("lam", lam)
    return lam * w.abs().sum()


# ---------------------------------------------------------------------------
# One optimizer step, three ways
# ---------------------------------------------------------------------------


def sgd_step(w: Scalar, grad: Scalar, *, lr: float, l2: float = 0.0) -> Scalar:
    r"""One SGD step on the L2-penalised loss: :math:`w - \eta\,(g + \lambda w)`.

    Args:
        w: Current weight (a float or a floating tensor).
        grad: :math:`dL_{\text{data}}/dw`, same type and shape as ``w``.
        lr: Learning rate :math:`\eta > 0`.
        l2: Penalty strength :math:`\lambda \ge 0` of :math:`\frac{\lambda}{2}w^2`.

    Returns:
        The updated weight, same type as ``w``.

    The lecture's worked example (w = 2.0, dL/dw = 1.5, η = 0.1, λ = 0.01):

    >>> sgd_step(2.0, 1.5, lr=0.1)
    1.85
    >>> w_new = sgd_step(2.0, 1.5, lr=0.1, l2=0.01)
    >>> w_new            # 2.0 - 0.1 * 1.52, in binary floating point
    1.8479999999999999
    >>> round(w_new, 12)
    1.848
    """
    _check_pair(w, grad)
    lr = check_positive("lr", lr)
    l2 = check_nonnegative("l2", l2)
    # idea-start
    w_new = w - lr * (grad + l2 * w)          # the leash: l2 * w, the gradient of (l2 / 2) w²
    # idea-end
    return w_new


def weight_decay_step(w: Scalar, grad: Scalar, *, lr: float, weight_decay: float) -> Scalar:
    r"""One *decoupled* decay step: :math:`(1 - \eta\lambda)\,w - \eta\, g`.

    Shrink first, then follow the data gradient. Under SGD this is the same
    number as :func:`sgd_step` with ``l2=weight_decay`` (up to float rounding):

    >>> round(weight_decay_step(2.0, 1.5, lr=0.1, weight_decay=0.01), 12)
    1.848
    """
    _check_pair(w, grad)
    lr = check_positive("lr", lr)
    weight_decay = check_nonnegative("weight_decay", weight_decay)
    if lr * weight_decay >= 1.0:
        raise ValueError(
            f"lr * weight_decay must be < 1 so the decay factor stays positive "
            f"(got lr={lr}, weight_decay={weight_decay})"
        )
    # idea-start
    w_new = (1.0 - lr * weight_decay) * w - lr * grad   # shrink, then follow the data
    # idea-end
    return w_new


@dataclass(frozen=True)
class AdamState:
    """Adam's running moments for one parameter tensor.

    Attributes:
        step: Number of steps taken so far.
        exp_avg: First moment :math:`m` (same shape as the parameter).
        exp_avg_sq: Second moment :math:`v` (same shape as the parameter).
    """

    step: int
    exp_avg: torch.Tensor
    exp_avg_sq: torch.Tensor

    @classmethod
    def zeros_like(cls, w: torch.Tensor) -> AdamState:
        """A fresh state (step 0, zero moments) for a parameter like ``w``."""
        check_float_tensor("w", w)
        return cls(0, torch.zeros_like(w), torch.zeros_like(w))


def adam_step(
    w: torch.Tensor,
    grad: torch.Tensor,
    state: AdamState,
    *,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    decoupled: bool = False,
) -> tuple[torch.Tensor, AdamState]:
    r"""One Adam step with L2 (``decoupled=False``) or AdamW decay (``decoupled=True``).

    .. math::

        g &\leftarrow g + \lambda w \quad\text{(Adam + L2 only)}\\
        w &\leftarrow (1-\eta\lambda)\,w \quad\text{(AdamW only)}\\
        m &\leftarrow \beta_1 m + (1-\beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2\\
        w &\leftarrow w - \eta\,\frac{m/(1-\beta_1^t)}{\sqrt{v/(1-\beta_2^t)} + \epsilon}

    With L2, the decay term :math:`\lambda w` passes through the division by
    :math:`\sqrt{v}`, so a weight with large gradients is barely decayed; AdamW
    applies the same factor :math:`1-\eta\lambda` to every weight
    (Loshchilov & Hutter, 2019). Matches :class:`torch.optim.Adam` /
    :class:`torch.optim.AdamW` (tested).

    Returns:
        ``(w_new, new_state)``; the inputs are not modified.
    """
    check_float_tensor("w", w)
    check_float_tensor("grad", grad)
    check_same_shape("w", w, "grad", grad)
    _check_device("w", w, "grad", grad)
    if not isinstance(state, AdamState):
        raise TypeError(f"state must be an AdamState (got {type(state).__name__})")
    check_same_shape("w", w, "state.exp_avg", state.exp_avg)
    check_same_shape("w", w, "state.exp_avg_sq", state.exp_avg_sq)
    _check_device("w", w, "state.exp_avg", state.exp_avg)
    check_int("state.step", state.step, minimum=0)
    lr = check_positive("lr", lr)
    if isinstance(betas, str | bytes) or not isinstance(betas, tuple | list) or len(betas) != 2:
        raise TypeError(f"betas must be a pair of floats (got {betas!r})")
    beta1 = check_in_range("betas[0]", betas[0], 0.0, 1.0, high_inclusive=False)
    beta2 = check_in_range("betas[1]", betas[1], 0.0, 1.0, high_inclusive=False)
    eps = check_nonnegative("eps", eps)
    weight_decay = check_nonnegative("weight_decay", weight_decay)
    decoupled = check_bool("decoupled", decoupled)

    # idea-start
    if decoupled:
        w = w * (1.0 - lr * weight_decay)    # AdamW: the same shrink for every weight
    else:
        grad = grad + weight_decay * w       # Adam + L2: the leash joins the gradient ...
    # idea-end
    t = state.step + 1
    m = beta1 * state.exp_avg + (1.0 - beta1) * grad
    v = beta2 * state.exp_avg_sq + (1.0 - beta2) * grad * grad
    m_hat = m / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    w_new = w - lr * m_hat / (v_hat.sqrt() + eps)   # ... and is divided by sqrt(v) with it
    return w_new, AdamState(t, m, v)


# ---------------------------------------------------------------------------
# Geometry: constrained minima on the L1 diamond and the L2 circle
# ---------------------------------------------------------------------------


def project_l2_ball(v: torch.Tensor, radius: float) -> torch.Tensor:
    r"""Euclidean projection onto :math:`\{w : \lVert w\rVert_2 \le r\}`.

    >>> [round(v, 6) for v in project_l2_ball(torch.tensor([3.0, 4.0]), 1.0).tolist()]
    [0.6, 0.8]
    """
    check_float_tensor("v", v, ndim=1)
    radius = check_positive("radius", radius)
    # idea-start
    scale = (radius / v.norm()).clamp(max=1.0)   # 1 inside the ball; r/‖v‖ outside
    # idea-end
    out: torch.Tensor = v * scale
    return out


def project_l1_ball(v: torch.Tensor, radius: float) -> torch.Tensor:
    r"""Euclidean projection onto :math:`\{w : \lVert w\rVert_1 \le r\}` (Duchi et al., 2008).

    The projection soft-thresholds every coordinate by the same
    :math:`\theta \ge 0`, so coordinates smaller than :math:`\theta` become
    *exactly* zero: the corners of the diamond.

    >>> project_l1_ball(torch.tensor([3.0, 1.0]), 1.0).tolist()
    [1.0, 0.0]
    >>> [round(v, 6) for v in project_l1_ball(torch.tensor([0.8, 0.6]), 1.0).tolist()]
    [0.6, 0.4]
    """
    check_float_tensor("v", v, ndim=1)
    _no_meta("v", v)
    radius = check_positive("radius", radius)
    if v.abs().sum() <= radius:
        return v.clone()
    u = v.detach().abs().sort(descending=True).values  # the threshold is a constant of the projection
    cssv = u.cumsum(0) - radius
    k = torch.arange(1, u.numel() + 1, dtype=v.dtype)
    # ρ: the last k with u_k > (Σ_{j<=k} u_j - r)/k. k = 1 always qualifies in exact arithmetic;
    # rounding can hide it when the entries dwarf r, so it is the fallback.
    above = (u - cssv / k > 0).nonzero()
    rho = int(above.max()) if above.numel() else 0
    theta = cssv[rho] / (rho + 1)
    return soft_threshold(v, float(theta))


def soft_threshold(z: torch.Tensor, threshold: float) -> torch.Tensor:
    r"""The proximal map of :math:`\tau\lVert\cdot\rVert_1`: :math:`\operatorname{sign}(z)\max(|z|-\tau, 0)`.

    >>> soft_threshold(torch.tensor([3.0, -0.5, 0.2, -2.0]), 1.0).tolist()
    [2.0, -0.0, 0.0, -1.0]
    """
    check_float_tensor("z", z)
    threshold = check_nonnegative("threshold", threshold)
    # idea-start
    shrunk = z.sign() * (z.abs() - threshold).clamp_min(0.0)
    # idea-end
    return shrunk


def constrained_minimum(
    a: torch.Tensor,
    center: torch.Tensor,
    *,
    norm: Literal["l1", "l2"],
    radius: float,
    steps: int = 2000,
) -> torch.Tensor:
    r"""Minimise :math:`\tfrac12 (w-c)^\top A (w-c)` subject to :math:`\lVert w\rVert \le r`.

    Projected gradient descent with step :math:`1/\lambda_{\max}(A)`; it is
    where the loss ellipse centred at :math:`c` first touches the diamond
    (``norm="l1"``) or the circle (``norm="l2"``).

    Args:
        a: Symmetric positive-definite ``(d, d)`` matrix.
        center: Unconstrained minimum :math:`c`, shape ``(d,)``.
        norm: ``"l1"`` or ``"l2"``.
        radius: Constraint radius :math:`r > 0`.
        steps: Number of projected-gradient iterations.
    """
    check_float_tensor("a", a, ndim=2)
    check_float_tensor("center", center, ndim=1)
    _no_meta("a", a)
    _no_meta("center", center)
    _check_device("a", a, "center", center)
    if a.shape != (center.numel(), center.numel()):
        raise ValueError(f"a must have shape ({center.numel()}, {center.numel()}) (got {tuple(a.shape)})")
    check_choice("norm", norm, ("l1", "l2"))
    radius = check_positive("radius", radius)
    steps = check_count("steps", steps)
    eig = torch.linalg.eigvalsh(a.detach())
    if eig.min() <= 0:
        raise ValueError(f"a must be positive definite (got smallest eigenvalue {eig.min().item():.3g})")
    project = project_l1_ball if norm == "l1" else project_l2_ball
    step = 1.0 / eig.max()
    w = torch.zeros_like(center)
    for _ in range(steps):
        w = project(w - step * (a @ (w - center)), radius)
    return w


# ---------------------------------------------------------------------------
# Sparsity on a real fit
# ---------------------------------------------------------------------------


def proximal_gradient(
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    w0: torch.Tensor,
    *,
    penalty: Literal["l1", "l2"],
    lam: float,
    lr: float,
    steps: int,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Minimise ``loss_fn(w)`` + penalty by proximal gradient descent (ISTA).

    Each step follows the data gradient, then applies the penalty's proximal
    map: soft-thresholding by :math:`\eta\lambda` for :math:`\lambda\lVert w\rVert_1`
    (which sets small weights to *exactly* zero) or the shrink
    :math:`w/(1+\eta\lambda)` for :math:`\frac{\lambda}{2}\lVert w\rVert_2^2`
    (which never does).

    Args:
        loss_fn: Smooth data loss, differentiable by autograd.
        w0: Starting point (not modified).
        penalty: ``"l1"`` or ``"l2"``.
        lam: Penalty strength :math:`\lambda \ge 0`.
        lr: Step size :math:`\eta > 0` (at most 1 / Lipschitz constant of the gradient).
        steps: Number of iterations.
        mask: Optional boolean tensor like ``w0``; only ``True`` entries are
            penalised (e.g. leave biases out).
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable (got {type(loss_fn).__name__})")
    check_float_tensor("w0", w0)
    check_choice("penalty", penalty, ("l1", "l2"))
    lam = check_nonnegative("lam", lam)
    lr = check_positive("lr", lr)
    steps = check_count("steps", steps)
    if mask is not None:
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            raise TypeError(f"mask must be a bool tensor or None (got {getattr(mask, 'dtype', type(mask).__name__)})")
        if mask.shape != w0.shape:
            raise ValueError(f"mask must have the shape of w0, {tuple(w0.shape)} (got {tuple(mask.shape)})")
        _check_device("mask", mask, "w0", w0)

    w = w0.detach().clone()
    for _ in range(steps):
        w.requires_grad_(True)
        (g,) = torch.autograd.grad(loss_fn(w), w)
        with torch.no_grad():
            if not w.is_meta and not bool(torch.isfinite(w - lr * g).all()):
                raise ValueError(f"lr = {lr} made the iterate non-finite: lr must be at most 1 / (the Lipschitz "
                                 f"constant of loss_fn's gradient)")
            # idea-start
            z = w - lr * g                                              # a gradient step on the data loss
            shrunk = soft_threshold(z, lr * lam) if penalty == "l1" else z / (1.0 + lr * lam)
            # idea-end
            w = shrunk if mask is None else torch.where(mask, shrunk, z)
    return w.detach()
