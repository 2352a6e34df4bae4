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
Under Adam they are *not* the same (:func:`adam_step`, :func:`decay_coefficients`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import torch

from regbook._checks import (
    check_choice,
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
    "SparsityResult",
    "adam_step",
    "constrained_minimum",
    "decay_coefficients",
    "l1_l2_sparsity",
    "l1_penalty",
    "l2_penalty",
    "l2_vs_decay_gap",
    "project_l1_ball",
    "project_l2_ball",
    "proximal_gradient",
    "sgd_step",
    "soft_threshold",
    "weight_decay_step",
]

Scalar = TypeVar("Scalar", float, torch.Tensor)


def _check_pair(w: Scalar, grad: Scalar) -> None:
    if isinstance(w, torch.Tensor) or isinstance(grad, torch.Tensor):
        check_float_tensor("w", w)
        check_float_tensor("grad", grad)
        assert isinstance(w, torch.Tensor) and isinstance(grad, torch.Tensor)
        check_same_shape("w", w, "grad", grad)
    else:
        check_real("w", w)
        check_real("grad", grad)


# ---------------------------------------------------------------------------
# The penalties themselves
# ---------------------------------------------------------------------------


def l2_penalty(w: torch.Tensor, lam: float) -> torch.Tensor:
    r"""The L2 penalty :math:`\frac{\lambda}{2}\sum_i w_i^2` (half convention).

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
    return w - lr * (grad + l2 * w)


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
    return (1.0 - lr * weight_decay) * w - lr * grad


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
    check_same_shape("w", w, "state.exp_avg", state.exp_avg)
    lr = check_positive("lr", lr)
    beta1 = check_in_range("betas[0]", betas[0], 0.0, 1.0, high_inclusive=False)
    beta2 = check_in_range("betas[1]", betas[1], 0.0, 1.0, high_inclusive=False)
    eps = check_nonnegative("eps", eps)
    weight_decay = check_nonnegative("weight_decay", weight_decay)

    if decoupled:
        w = w * (1.0 - lr * weight_decay)
    else:
        grad = grad + weight_decay * w
    t = state.step + 1
    m = beta1 * state.exp_avg + (1.0 - beta1) * grad
    v = beta2 * state.exp_avg_sq + (1.0 - beta2) * grad * grad
    m_hat = m / (1.0 - beta1**t)
    v_hat = v / (1.0 - beta2**t)
    w_new = w - lr * m_hat / (v_hat.sqrt() + eps)
    return w_new, AdamState(t, m, v)


def decay_coefficients(
    grad_scales: Sequence[float],
    *,
    lam: float = 0.01,
    lr: float = 1e-3,
    history: int = 200,
    seed: int = 0,
) -> dict[str, list[float]]:
    r"""How strongly each optimizer decays weights whose gradients differ in scale.

    Adam's moments are first filled with ``history`` noisy gradients
    :math:`g_i = s_i\,\xi`, :math:`\xi \sim \mathcal N(0, 1)`, one scale
    :math:`s_i` per weight. Then, from that same state, the same weights
    :math:`w = 1` and the same next gradient, one step is taken with and
    without :math:`\lambda`. The *effective decay coefficient* of weight
    :math:`i` is the extra distance the regulariser moved it, in units of
    :math:`\eta w_i`:

    .. math:: \lambda_{\text{eff}, i} = \frac{w_i^{(\lambda=0)} - w_i^{(\lambda)}}{\eta\, w_i}.

    It equals :math:`\lambda` for SGD with L2, for decoupled SGD decay and for
    AdamW, whatever the gradient scale; for Adam + L2 it shrinks as the
    gradient scale grows.

    Returns:
        ``{"sgd_l2": [...], "sgd_decay": [...], "adam_l2": [...], "adamw": [...]}``,
        one coefficient per entry of ``grad_scales``.
    """
    if len(grad_scales) == 0:
        raise ValueError("grad_scales must not be empty (got 0 scales)")
    scales = torch.tensor([check_positive("grad_scales[i]", s) for s in grad_scales], dtype=torch.float64)
    lam = check_positive("lam", lam)
    lr = check_positive("lr", lr)
    history = check_int("history", history, minimum=1)
    check_int("seed", seed)

    gen = torch.Generator().manual_seed(seed)
    w = torch.ones_like(scales)
    state = AdamState.zeros_like(w)
    for _ in range(history):
        g = scales * torch.randn(scales.shape, generator=gen, dtype=torch.float64)
        _, state = adam_step(w, g, state, lr=lr)
    g = scales * torch.randn(scales.shape, generator=gen, dtype=torch.float64)

    def coef(plain: torch.Tensor, reg: torch.Tensor) -> list[float]:
        return ((plain - reg) / (lr * w)).tolist()

    adam_plain, _ = adam_step(w, g, state, lr=lr)
    adam_l2, _ = adam_step(w, g, state, lr=lr, weight_decay=lam)
    adamw, _ = adam_step(w, g, state, lr=lr, weight_decay=lam, decoupled=True)
    sgd_plain = sgd_step(w, g, lr=lr)
    return {
        "sgd_l2": coef(sgd_plain, sgd_step(w, g, lr=lr, l2=lam)),
        "sgd_decay": coef(sgd_plain, weight_decay_step(w, g, lr=lr, weight_decay=lam)),
        "adam_l2": coef(adam_plain, adam_l2),
        "adamw": coef(adam_plain, adamw),
    }


def _regression_problem(seed: int, n: int = 64, d: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    w_true = torch.randn(d, generator=gen, dtype=torch.float64)
    y = x @ w_true + 0.5 * torch.randn(n, generator=gen, dtype=torch.float64)
    return x, y


def l2_vs_decay_gap(
    optimizer: Literal["sgd", "adam"],
    *,
    lam: float = 0.1,
    lr: float = 0.01,
    steps: int = 200,
    seed: int = 0,
) -> float:
    r"""Largest gap between "L2 in the loss" and "decoupled weight decay" over a run.

    Fits a seeded linear regression (64 samples, 8 weights, float64) twice
    from the same start:

    * **L2 in the loss**: autograd on :math:`\text{MSE}/2 + \frac{\lambda}{2}\lVert w\rVert^2`,
      stepped by :class:`torch.optim.SGD` or :class:`torch.optim.Adam` with no weight decay;
    * **decoupled decay**: autograd on the data loss only, stepped by
      :func:`weight_decay_step` (SGD) or :class:`torch.optim.AdamW`.

    Returns:
        :math:`\max_t \lVert w^{\text{L2}}_t - w^{\text{decay}}_t \rVert_\infty`:
        rounding-level for SGD, large for Adam.
    """
    check_choice("optimizer", optimizer, ("sgd", "adam"))
    lam = check_positive("lam", lam)
    lr = check_positive("lr", lr)
    steps = check_int("steps", steps, minimum=1)
    check_int("seed", seed)
    x, y = _regression_problem(seed)

    def data_loss(w: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((x @ w - y) ** 2).mean()

    w_l2 = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    w_dec = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    opt_l2: torch.optim.Optimizer
    opt_dec: torch.optim.Optimizer | None
    if optimizer == "sgd":
        opt_l2, opt_dec = torch.optim.SGD([w_l2], lr=lr), None
    else:
        opt_l2 = torch.optim.Adam([w_l2], lr=lr)
        opt_dec = torch.optim.AdamW([w_dec], lr=lr, weight_decay=lam)

    gap = 0.0
    for _ in range(steps):
        opt_l2.zero_grad()
        (data_loss(w_l2) + l2_penalty(w_l2, lam)).backward()
        opt_l2.step()
        if opt_dec is None:
            (g,) = torch.autograd.grad(data_loss(w_dec), w_dec)
            with torch.no_grad():
                w_dec.copy_(weight_decay_step(w_dec.detach(), g, lr=lr, weight_decay=lam))
        else:
            opt_dec.zero_grad()
            data_loss(w_dec).backward()
            opt_dec.step()
        gap = max(gap, (w_l2 - w_dec).abs().max().item())
    return gap


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
    norm = v.norm()
    return v if norm <= radius else v * (radius / norm)


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
    radius = check_positive("radius", radius)
    if v.abs().sum() <= radius:
        return v.clone()
    u = v.abs().sort(descending=True).values
    cssv = u.cumsum(0) - radius
    k = torch.arange(1, u.numel() + 1, dtype=v.dtype)
    rho = int((u - cssv / k > 0).nonzero().max())
    theta = cssv[rho] / (rho + 1)
    return soft_threshold(v, float(theta))


def soft_threshold(z: torch.Tensor, threshold: float) -> torch.Tensor:
    r"""The proximal map of :math:`\tau\lVert\cdot\rVert_1`: :math:`\operatorname{sign}(z)\max(|z|-\tau, 0)`.

    >>> soft_threshold(torch.tensor([3.0, -0.5, 0.2, -2.0]), 1.0).tolist()
    [2.0, -0.0, 0.0, -1.0]
    """
    check_float_tensor("z", z)
    threshold = check_nonnegative("threshold", threshold)
    return z.sign() * (z.abs() - threshold).clamp_min(0.0)


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
    if a.shape != (center.numel(), center.numel()):
        raise ValueError(f"a must have shape ({center.numel()}, {center.numel()}) (got {tuple(a.shape)})")
    check_choice("norm", norm, ("l1", "l2"))
    radius = check_positive("radius", radius)
    steps = check_int("steps", steps, minimum=1)
    eig = torch.linalg.eigvalsh(a)
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
    check_float_tensor("w0", w0)
    check_choice("penalty", penalty, ("l1", "l2"))
    lam = check_nonnegative("lam", lam)
    lr = check_positive("lr", lr)
    steps = check_int("steps", steps, minimum=1)
    if mask is not None and (mask.shape != w0.shape or mask.dtype != torch.bool):
        raise ValueError(
            f"mask must be a bool tensor of shape {tuple(w0.shape)} (got {mask.dtype} {tuple(mask.shape)})"
        )

    w = w0.detach().clone()
    for _ in range(steps):
        w.requires_grad_(True)
        (g,) = torch.autograd.grad(loss_fn(w), w)
        with torch.no_grad():
            z = w - lr * g
            shrunk = soft_threshold(z, lr * lam) if penalty == "l1" else z / (1.0 + lr * lam)
            w = shrunk if mask is None else torch.where(mask, shrunk, z)
    return w.detach()


@dataclass(frozen=True)
class SparsityResult:
    """Outcome of :func:`l1_l2_sparsity` for one penalty."""

    penalty: str
    lam: float
    zeros: int
    n_weights: int
    train_accuracy: float
    test_accuracy: float
    weights: torch.Tensor  # (n_pixels, n_classes), zeros for constant pixels


_Split = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def _digits_split(seed: int, n_train: int) -> _Split:
    from sklearn.datasets import load_digits  # ships with scikit-learn: no download

    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float64)
    y = torch.tensor(digits.target, dtype=torch.long)
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(y), generator=gen)
    tr, te = perm[:n_train], perm[n_train:]
    varying = x[tr].std(0) > 0
    mean, std = x[tr][:, varying].mean(0), x[tr][:, varying].std(0)
    xs = (x[:, varying] - mean) / std
    return xs[tr], y[tr], xs[te], y[te], varying


def l1_l2_sparsity(
    *,
    lam_l1: float = 0.005,
    lam_l2: float = 0.02,
    n_train: int = 1000,
    steps: int = 500,
    seed: int = 0,
) -> dict[str, SparsityResult]:
    r"""Fit softmax regression on scikit-learn's 8×8 digits with an L1 and an L2 penalty.

    Pixels that are constant on the training split are dropped first (their
    weights would stay at zero under any penalty and flatter L2). Both fits
    use :func:`proximal_gradient` from zero, with step 0.5, for ``steps``
    iterations; the bias is not penalised. Zeros are counted exactly
    (``w == 0``), not with a tolerance.

    Returns:
        ``{"l1": SparsityResult, "l2": SparsityResult}``.
    """
    lam_l1 = check_nonnegative("lam_l1", lam_l1)
    lam_l2 = check_nonnegative("lam_l2", lam_l2)
    n_train = check_int("n_train", n_train, minimum=20)
    if n_train > 1700:
        raise ValueError(f"n_train must be <= 1700 to leave a test split (got {n_train})")
    steps = check_int("steps", steps, minimum=1)
    check_int("seed", seed)
    x_tr, y_tr, x_te, y_te, varying = _digits_split(seed, n_train)
    d, k = x_tr.shape[1], 10
    x_tr1 = torch.cat([x_tr, torch.ones(len(x_tr), 1, dtype=x_tr.dtype)], 1)
    x_te1 = torch.cat([x_te, torch.ones(len(x_te), 1, dtype=x_te.dtype)], 1)
    mask = torch.ones(d + 1, k, dtype=torch.bool)
    mask[-1] = False  # bias row

    def loss_fn(w: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(x_tr1 @ w, y_tr)

    out: dict[str, SparsityResult] = {}
    for penalty, lam in (("l1", lam_l1), ("l2", lam_l2)):
        w = proximal_gradient(
            loss_fn, torch.zeros(d + 1, k, dtype=torch.float64),
            penalty=penalty, lam=lam, lr=0.5, steps=steps, mask=mask,  # type: ignore[arg-type]
        )
        full = torch.zeros(64, k, dtype=torch.float64)
        full[varying] = w[:-1]
        out[penalty] = SparsityResult(
            penalty=penalty,
            lam=lam,
            zeros=int((w[:-1] == 0).sum()),
            n_weights=d * k,
            train_accuracy=float(((x_tr1 @ w).argmax(1) == y_tr).double().mean()),
            test_accuracy=float(((x_te1 @ w).argmax(1) == y_te).double().mean()),
            weights=full,
        )
    return out

