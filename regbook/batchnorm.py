r"""Batch normalization (chapter *batchnorm*, lab 6b).

For an input with channels on axis 1 -- ``(N, C)``, ``(N, C, L)`` or
``(N, C, H, W)`` -- batch normalization standardizes every channel :math:`c`
with statistics pooled over the batch and the spatial positions,
:math:`\mathcal{B}_c = \{(n, \ell): x_{n,c,\ell}\}` with :math:`m = |\mathcal{B}_c|` entries,
then rescales with a learnable scale :math:`\gamma_c` and shift :math:`\beta_c`
(Ioffe & Szegedy, 2015):

.. math::

    \mu_c = \frac{1}{m}\sum_{\mathcal{B}_c} x, \qquad
    \sigma_c^2 = \frac{1}{m}\sum_{\mathcal{B}_c} (x - \mu_c)^2, \qquad
    \hat{x} = \frac{x - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}}, \qquad
    y = \gamma_c\,\hat{x} + \beta_c .

In **training** the batch statistics are used, and running estimates are
updated with PyTorch's convention

.. math::

    \hat\mu \leftarrow (1-\rho)\,\hat\mu + \rho\,\mu_c, \qquad
    \hat\sigma^2 \leftarrow (1-\rho)\,\hat\sigma^2 + \rho\,\frac{m}{m-1}\,\sigma_c^2 ,

where :math:`\rho` is ``momentum`` (the weight of the *new* batch) and the
running variance uses the *unbiased* estimator while the normalization itself
uses the biased one. In **evaluation** the running estimates replace the batch
statistics, so each example's output no longer depends on the rest of its batch.

Contents:

* :func:`batch_norm` and the modules :class:`BatchNorm1d`, :class:`BatchNorm2d`
  (drop-in for :class:`torch.nn.BatchNorm1d` / :class:`torch.nn.BatchNorm2d`);
* lab 6b: :func:`batch_norm_forward`, :func:`batch_norm_backward` (the gradient
  by hand), :class:`BatchNormFunction`, :func:`update_running_stats`;
* the chapter's experiments: :func:`canyon_vs_bowl`, :func:`single_example_eval`,
  :func:`smoothness`, :func:`max_stable_lr`, :func:`batch_size_sweep`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from regbook._checks import (
    check_choice,
    check_float_tensor,
    check_in_range,
    check_int,
    check_positive,
)
from regbook.data import Split, digits

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNormBase",
    "BatchNormCache",
    "BatchNormFunction",
    "BatchSizeSweep",
    "CanyonResult",
    "DriftNoise",
    "LRSweep",
    "ShiftResult",
    "SingleExampleEval",
    "SmoothnessResult",
    "Surface",
    "batch_norm",
    "batch_norm_backward",
    "batch_norm_by_hand",
    "batch_norm_forward",
    "batch_size_sweep",
    "canyon_vs_bowl",
    "covariate_shift",
    "max_stable_lr",
    "single_example_eval",
    "smoothness",
    "update_running_stats",
]


# ---------------------------------------------------------------------------
# Argument checks specific to batch normalization
# ---------------------------------------------------------------------------


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool (got {type(value).__name__} {value!r})")
    return value


def _check_channel_vector(name: str, value: torch.Tensor | None, num_channels: int) -> None:
    if value is None:
        return
    check_float_tensor(name, value)
    if tuple(value.shape) != (num_channels,):
        raise ValueError(
            f"{name} must have shape ({num_channels},), one entry per channel of x "
            f"(got shape {tuple(value.shape)})"
        )


def _check_enough_values(x: torch.Tensor) -> None:
    per_channel = x.numel() // x.shape[1]
    if per_channel <= 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {tuple(x.shape)}"
        )


# ---------------------------------------------------------------------------
# The functional form and the modules
# ---------------------------------------------------------------------------


def batch_norm(
    x: torch.Tensor,
    *,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> torch.Tensor:
    r"""Batch normalization of ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)`` input.

    .. math::

        y = \gamma_c \frac{x - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}} + \beta_c ,

    with :math:`\mu_c, \sigma_c^2` the mean and *biased* variance of channel
    :math:`c` over the batch and spatial axes when ``training`` is true, and
    the running estimates when it is false. The mode is the explicit
    ``training`` flag, never the autograd mode.

    Like :func:`torch.nn.functional.batch_norm`, training mode updates
    ``running_mean`` and ``running_var`` **in place** (when given):
    :math:`r \leftarrow (1-\rho)\,r + \rho\,s` with :math:`\rho` = ``momentum``,
    where :math:`s` is the batch mean, or the batch variance times
    :math:`m/(m-1)` (unbiased), :math:`m` = values per channel. That update is
    the function's only side effect.

    Args:
        x: Input, channels on axis 1, floating point, finite.
        weight: Scale :math:`\gamma`, shape ``(C,)``, or ``None`` for 1.
        bias: Shift :math:`\beta`, shape ``(C,)``, or ``None`` for 0.
        running_mean: Running mean, shape ``(C,)``, or ``None`` (then training only).
        running_var: Running variance, shape ``(C,)``, or ``None`` (with ``running_mean``).
        training: ``True``: batch statistics (and update the running ones);
            ``False``: running statistics.
        momentum: Weight :math:`\rho \in [0, 1]` of the new batch in the running update.
        eps: :math:`\epsilon > 0` added to the variance.

    Returns:
        ``y``, same shape and dtype as ``x``.

    Raises:
        TypeError: If ``x`` (or a parameter) is not a floating tensor, or ``training`` not a bool.
        ValueError: On a rank other than 2, 3, 4; a parameter of the wrong length; NaN/inf;
            ``momentum`` outside [0, 1]; ``eps <= 0``; only one running buffer given;
            ``training=False`` without running statistics; or, in training, only one value per channel.

    Shape:
        ``x``, ``y``: ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)``; parameters and buffers ``(C,)``.

    The lecture's worked example, one channel, x = [1, 3, 5, 7], γ = 2, β = 0.5:

    >>> x = torch.tensor([[1.0], [3.0], [5.0], [7.0]])
    >>> rm, rv = torch.zeros(1), torch.ones(1)
    >>> y = batch_norm(x, weight=torch.tensor([2.0]), bias=torch.tensor([0.5]),
    ...                running_mean=rm, running_var=rv, training=True)
    >>> [round(v, 3) for v in y.flatten().tolist()]
    [-2.183, -0.394, 1.394, 3.183]
    >>> round(rm.item(), 6), round(rv.item(), 6)    # 0.1*4 ; 0.9*1 + 0.1*(20/3)
    (0.4, 1.566667)
    """
    check_float_tensor("x", x)
    if x.ndim not in (2, 3, 4):
        raise ValueError(
            f"x must be 2-D (N, C), 3-D (N, C, L) or 4-D (N, C, H, W) "
            f"(got {x.ndim}-D input of shape {tuple(x.shape)})"
        )
    num_channels = x.shape[1]
    _check_channel_vector("weight", weight, num_channels)
    _check_channel_vector("bias", bias, num_channels)
    _check_channel_vector("running_mean", running_mean, num_channels)
    _check_channel_vector("running_var", running_var, num_channels)
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must be given together (got only one of them)")
    training = _check_bool("training", training)
    momentum = check_in_range("momentum", momentum, 0.0, 1.0)
    eps = check_positive("eps", eps)

    dims = [0, *range(2, x.ndim)]                      # every axis except the channel axis
    shape = [1, num_channels] + [1] * (x.ndim - 2)     # broadcast (C,) against x
    # Statistics in float32 for float16/bfloat16 input, as torch's kernels keep them
    # (in float16 the square of any |x| > 256 overflows); the output keeps x's dtype.
    xs = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    if training:
        _check_enough_values(x)
        mean = xs.mean(dim=dims)
        var = (xs - mean.view(shape)).square().mean(dim=dims)   # biased: divide by m
        if running_mean is not None and running_var is not None:
            m = x.numel() // num_channels
            _update_running(running_mean, running_var, mean, var, m=m, momentum=momentum)
    elif running_mean is None or running_var is None:
        raise ValueError("training=False needs running_mean and running_var (got None)")
    else:
        mean, var = running_mean, running_var
    x_hat = (xs - mean.view(shape)) / torch.sqrt(var.view(shape) + eps)
    y = x_hat
    if weight is not None:
        y = y * weight.view(shape)
    if bias is not None:
        y = y + bias.view(shape)
    return y.to(x.dtype)


def _update_running(
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    mean: torch.Tensor,
    var: torch.Tensor,
    *,
    m: int,
    momentum: float,
) -> None:
    """In place: r <- (1 - momentum) r + momentum * stat, with the unbiased variance m/(m-1)·var."""
    with torch.no_grad():
        unbiased = var.detach() * (m / (m - 1))
        running_mean.mul_(1.0 - momentum).add_(mean.detach(), alpha=momentum)
        running_var.mul_(1.0 - momentum).add_(unbiased, alpha=momentum)


class BatchNormBase(nn.Module):
    r"""Shared body of :class:`BatchNorm1d` and :class:`BatchNorm2d`, with torch's names and defaults.

    Args:
        num_features: Number of channels ``C``.
        eps: :math:`\epsilon > 0` added to the variance.
        momentum: Weight of the new batch in the running averages, in [0, 1];
            ``None`` for the cumulative average of all batches seen.
        affine: Learn ``weight`` (γ) and ``bias`` (β).
        track_running_stats: Keep ``running_mean``, ``running_var`` and
            ``num_batches_tracked``; without them the layer always uses batch statistics.
        dtype: Floating dtype of the parameters and buffers.
    """

    _ranks: tuple[int, ...] = ()
    _rank_text: str = ""

    running_mean: torch.Tensor | None
    running_var: torch.Tensor | None
    num_batches_tracked: torch.Tensor | None

    def __init__(
        self,
        num_features: int,
        *,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.num_features = check_int("num_features", num_features, minimum=1)
        self.eps = check_positive("eps", eps)
        self.momentum = None if momentum is None else check_in_range("momentum", momentum, 0.0, 1.0)
        self.affine = _check_bool("affine", affine)
        self.track_running_stats = _check_bool("track_running_stats", track_running_stats)
        self.weight: nn.Parameter | None
        self.bias: nn.Parameter | None
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features, dtype=dtype))    # γ = 1: identity at init
            self.bias = nn.Parameter(torch.zeros(num_features, dtype=dtype))     # β = 0
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", torch.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor("x", x)
        if x.ndim not in self._ranks:
            raise ValueError(f"expected {self._rank_text} input (got {x.ndim}D input)")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            # momentum=None: cumulative average, the k-th batch gets weight 1/k
            factor = 1.0 / int(self.num_batches_tracked) if self.momentum is None else self.momentum
        # Without running statistics the layer always uses batch statistics (as torch does).
        use_batch = self.training or self.running_mean is None
        keep = not self.training or self.track_running_stats
        return batch_norm(
            x,
            weight=self.weight,
            bias=self.bias,
            running_mean=self.running_mean if keep else None,
            running_var=self.running_var if keep else None,
            training=use_batch,
            momentum=factor,
            eps=self.eps,
        )


class BatchNorm1d(BatchNormBase):
    """Batch normalization of ``(N, C)`` or ``(N, C, L)`` input; drop-in for :class:`torch.nn.BatchNorm1d`.

    Parameters ``weight`` (γ, init 1) and ``bias`` (β, init 0); buffers
    ``running_mean`` (init 0), ``running_var`` (init 1) and ``num_batches_tracked``.
    ``momentum=None`` gives the cumulative average of all batches seen. The
    mode comes from ``module.train()`` / ``module.eval()``.

    >>> bn = BatchNorm1d(3)
    >>> [n for n, _ in bn.named_parameters()], [n for n, _ in bn.named_buffers()]
    (['weight', 'bias'], ['running_mean', 'running_var', 'num_batches_tracked'])
    """

    _ranks = (2, 3)
    _rank_text = "2D or 3D"


class BatchNorm2d(BatchNormBase):
    """Batch normalization of ``(N, C, H, W)`` input; drop-in for :class:`torch.nn.BatchNorm2d`.

    Statistics of channel ``c`` pool all ``N·H·W`` values of that channel.

    >>> bn = BatchNorm2d(128)
    >>> sum(p.numel() for p in bn.parameters()), bn.running_var.shape[0]
    (256, 128)
    """

    _ranks = (4,)
    _rank_text = "4D"


# ---------------------------------------------------------------------------
# Lab 6b: forward and backward by hand, (N, D) input
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchNormCache:
    """What :func:`batch_norm_forward` keeps for the backward pass (all ``(D,)`` except ``x_hat``).

    Attributes:
        x_hat: The normalized input, ``(N, D)``.
        gamma: The scale γ.
        inv_std: :math:`1/\\sigma` with :math:`\\sigma = \\sqrt{\\mathrm{var} + \\epsilon}`.
        mean: Batch mean.
        var: Biased batch variance (divide by N).
    """

    x_hat: torch.Tensor
    gamma: torch.Tensor
    inv_std: torch.Tensor
    mean: torch.Tensor
    var: torch.Tensor


def batch_norm_forward(
    x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, *, eps: float = 1e-5
) -> tuple[torch.Tensor, BatchNormCache]:
    r"""Training-mode batch normalization of ``(N, D)`` input, keeping what the backward needs.

    .. math::

        \mu = \tfrac1N \textstyle\sum_i x_i,\quad
        \sigma^2 = \tfrac1N \textstyle\sum_i (x_i-\mu)^2,\quad
        \hat x_i = (x_i - \mu)/\sqrt{\sigma^2+\epsilon},\quad
        y_i = \gamma \hat x_i + \beta .

    Args:
        x: Input ``(N, D)``, ``N >= 2``.
        gamma: Scale ``(D,)``.
        beta: Shift ``(D,)``.
        eps: :math:`\epsilon > 0`.

    Returns:
        ``(y, cache)``.

    Raises:
        TypeError: If an input is not a floating tensor.
        ValueError: On a wrong rank or length, NaN/inf, ``N < 2`` or ``eps <= 0``.

    Shape:
        ``x``, ``y``: ``(N, D)``; ``gamma``, ``beta``: ``(D,)``.

    >>> y, cache = batch_norm_forward(torch.tensor([[1.0], [3.0], [5.0], [7.0]]),
    ...                               torch.tensor([2.0]), torch.tensor([0.5]))
    >>> cache.mean.item(), cache.var.item(), [round(v, 4) for v in cache.x_hat.flatten().tolist()]
    (4.0, 5.0, [-1.3416, -0.4472, 0.4472, 1.3416])
    """
    check_float_tensor("x", x, ndim=2)
    _check_channel_vector("gamma", gamma, x.shape[1])
    _check_channel_vector("beta", beta, x.shape[1])
    eps = check_positive("eps", eps)
    _check_enough_values(x)

    mean = x.mean(dim=0)                        # μ, (D,)
    xc = x - mean                               # x - μ, (N, D)
    var = xc.square().mean(dim=0)               # σ², biased, (D,)
    inv_std = torch.rsqrt(var + eps)            # 1/σ, (D,)
    x_hat = xc * inv_std                        # (N, D)
    y = gamma * x_hat + beta                    # (N, D)
    return y, BatchNormCache(x_hat=x_hat, gamma=gamma, inv_std=inv_std, mean=mean, var=var)


def batch_norm_backward(
    dy: torch.Tensor, cache: BatchNormCache
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Gradients of batch normalization, by hand, in one vectorized expression.

    With :math:`g_i = \partial L/\partial y_i` (``dy``) and :math:`\sigma = \sqrt{\sigma^2+\epsilon}`:

    .. math::

        \frac{\partial L}{\partial \beta} = \sum_i g_i, \qquad
        \frac{\partial L}{\partial \gamma} = \sum_i g_i \hat x_i, \qquad
        \frac{\partial L}{\partial x_i} = \frac{\gamma}{N\sigma}
            \Big(N g_i - \sum_j g_j - \hat x_i \sum_j g_j \hat x_j\Big).

    Args:
        dy: Upstream gradient ``(N, D)``.
        cache: The cache returned by :func:`batch_norm_forward`.

    Returns:
        ``(dx, dgamma, dbeta)`` with shapes ``(N, D)``, ``(D,)``, ``(D,)``.

    Raises:
        TypeError: If ``dy`` is not a floating tensor.
        ValueError: If ``dy`` does not have the shape of the forward input, or holds NaN/inf.

    >>> x = torch.tensor([[1.0], [3.0], [5.0], [7.0]])
    >>> _, cache = batch_norm_forward(x, torch.tensor([2.0]), torch.tensor([0.5]))
    >>> dx, dgamma, dbeta = batch_norm_backward(torch.ones(4, 1), cache)
    >>> dbeta.item(), round(dgamma.item(), 6), [round(v, 6) for v in dx.flatten().tolist()]
    (4.0, 0.0, [0.0, 0.0, 0.0, 0.0])
    """
    check_float_tensor("dy", dy, ndim=2)
    if dy.shape != cache.x_hat.shape:
        raise ValueError(
            f"dy must have the shape of the forward input {tuple(cache.x_hat.shape)} (got {tuple(dy.shape)})"
        )
    n = dy.shape[0]
    x_hat, gamma, inv_std = cache.x_hat, cache.gamma, cache.inv_std
    dbeta = dy.sum(dim=0)                                  # Σ g
    dgamma = (dy * x_hat).sum(dim=0)                       # Σ g·x̂
    dx = (gamma * inv_std / n) * (n * dy - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def update_running_stats(
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    cache: BatchNormCache,
    *,
    momentum: float = 0.1,
) -> None:
    r"""Fold one batch's statistics into the running buffers, in place, exactly as PyTorch does.

    :math:`r_\mu \leftarrow (1-\rho)\,r_\mu + \rho\,\mu` and
    :math:`r_{\sigma^2} \leftarrow (1-\rho)\,r_{\sigma^2} + \rho\,\frac{N}{N-1}\sigma^2`.

    Raises:
        ValueError: If a buffer's length differs from the cache's, or ``momentum`` is outside [0, 1].

    >>> _, cache = batch_norm_forward(torch.tensor([[1.0], [3.0], [5.0], [7.0]]),
    ...                               torch.ones(1), torch.zeros(1))
    >>> rm, rv = torch.zeros(1), torch.ones(1)
    >>> update_running_stats(rm, rv, cache, momentum=0.1)
    >>> round(rm.item(), 6), round(rv.item(), 6)    # 0.1*4 ; 0.9 + 0.1*20/3
    (0.4, 1.566667)
    """
    d = cache.mean.shape[0]
    _check_channel_vector("running_mean", running_mean, d)
    _check_channel_vector("running_var", running_var, d)
    momentum = check_in_range("momentum", momentum, 0.0, 1.0)
    _update_running(running_mean, running_var, cache.mean, cache.var, m=cache.x_hat.shape[0], momentum=momentum)


class BatchNormFunction(torch.autograd.Function):
    """:func:`batch_norm_forward` / :func:`batch_norm_backward` as an autograd op (training mode, ``(N, D)``)."""

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float
    ) -> torch.Tensor:
        y, cache = batch_norm_forward(x, gamma, beta, eps=eps)
        ctx.cache = cache
        return y

    @staticmethod
    def backward(
        ctx: Any, dy: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, None]:
        dx, dgamma, dbeta = batch_norm_backward(dy, ctx.cache)
        return dx, dgamma, dbeta, None


def batch_norm_by_hand(
    x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, *, eps: float = 1e-5
) -> torch.Tensor:
    """Training-mode batch norm of ``(N, D)`` whose gradient is :func:`batch_norm_backward`.

    >>> x = torch.tensor([[1.0], [3.0], [5.0], [7.0]], requires_grad=True)
    >>> batch_norm_by_hand(x, torch.ones(1), torch.zeros(1)).pow(3).sum().backward()
    >>> x.grad.shape
    torch.Size([4, 1])
    """
    out: torch.Tensor = BatchNormFunction.apply(x, gamma, beta, eps)  # type: ignore[no-untyped-call]
    return out


# ---------------------------------------------------------------------------
# Experiment 1: canyon vs bowl -- a real least-squares loss, raw vs standardized features
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Surface:
    r"""A least-squares loss :math:`L(w) = \frac{1}{2n}\lVert y - Xw \rVert^2` and gradient descent on it.

    Attributes:
        x: Design matrix ``(n, 2)`` (centred columns).
        y: Target ``(n,)``.
        hessian: :math:`X^\top X / n`, ``(2, 2)``.
        condition_number: :math:`\lambda_{\max}/\lambda_{\min}` of the Hessian.
        w_star: The minimizer ``(2,)``.
        loss_star: :math:`L(w^\star)`.
        lr: Step size used, a fraction of :math:`2/\lambda_{\max}` (the stability limit).
        path: Gradient-descent iterates :math:`w_0 = 0, w_1, \dots`, ``(steps + 1, 2)``.
        loss_gap: :math:`L(w_t) - L(w^\star)` along the path, ``(steps + 1,)``.
    """

    x: torch.Tensor
    y: torch.Tensor
    hessian: torch.Tensor
    condition_number: float
    w_star: torch.Tensor
    loss_star: float
    lr: float
    path: torch.Tensor
    loss_gap: torch.Tensor

    def loss(self, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
        """The loss on a grid of weights (``w1``, ``w2`` broadcast together)."""
        r = self.y - self.x[:, 0] * w1[..., None] - self.x[:, 1] * w2[..., None]
        return 0.5 * r.square().mean(dim=-1)

    def steps_to(self, fraction: float) -> int:
        """First step at which the loss gap is below ``fraction`` of the starting gap (-1 if never)."""
        hit = torch.nonzero(self.loss_gap <= fraction * self.loss_gap[0])
        return int(hit[0, 0]) if len(hit) else -1


@dataclass(frozen=True)
class CanyonResult:
    """The same regression in raw units and standardized (see :func:`canyon_vs_bowl`).

    Attributes:
        features: The two feature names.
        raw: Centred columns in their original units.
        standardized: Centred columns divided by their standard deviations.
        uncentred_condition_number: Condition number of the Hessian when the raw columns are
            not even centred and an intercept is fitted beside them (the ``(3, 3)`` matrix of
            ``[x1, x2, 1]``).
    """

    features: tuple[str, str]
    raw: Surface
    standardized: Surface
    uncentred_condition_number: float


DIABETES_FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")


def _surface(x: torch.Tensor, y: torch.Tensor, *, lr_fraction: float, steps: int) -> Surface:
    n = x.shape[0]
    h = x.T @ x / n                                   # Hessian of L, constant
    eig, vecs = torch.linalg.eigh(h)
    w_star = torch.linalg.solve(h, x.T @ y / n)
    loss_star = float(0.5 * (y - x @ w_star).square().mean())
    lr = lr_fraction * 2.0 / float(eig[-1])
    # Gradient descent w_{t+1} = w_t - lr·H(w_t - w*) from w_0 = 0, in the eigenbasis of H:
    # w_t = w* - V diag((1 - lr·λ)^t) Vᵀ w*  (exactly the iteration, without a Python loop).
    t = torch.arange(steps + 1, dtype=x.dtype)[:, None]
    decay = (1.0 - lr * eig)[None, :] ** t                          # (steps + 1, 2)
    path = w_star - (decay * (vecs.T @ w_star)[None, :]) @ vecs.T
    gap = 0.5 * (((path - w_star) @ h) * (path - w_star)).sum(dim=1)   # L(w) - L* = ½ (w-w*)ᵀH(w-w*)
    return Surface(x, y, h, float(eig[-1] / eig[0]), w_star, loss_star, lr, path, gap)


def canyon_vs_bowl(
    features: tuple[str, str] = ("bmi", "s5"),
    *,
    lr_fraction: float = 0.9,
    steps: int = 1000,
) -> CanyonResult:
    r"""The loss surface of a linear model on raw features, and on the same features standardized.

    Data: scikit-learn's diabetes set in its original units (ships with the
    library: no download), 442 patients; the target (disease progression after
    a year) is standardized. Model: :math:`\hat y = w_1 x_1 + w_2 x_2` on centred
    columns (which is the same as fitting an intercept), loss
    :math:`\frac{1}{2n}\lVert y - Xw\rVert^2`, whose Hessian :math:`X^\top X/n`
    is constant. In raw units (body-mass index in kg/m², ``s5``, a log
    triglyceride level, in log units) the columns have very different scales,
    so the Hessian is badly conditioned: a canyon. Dividing each column by its
    standard deviation -- what a normalization layer does to the next layer's
    inputs -- is only a change of coordinates :math:`w_j \to w_j s_j`: the same
    functions, the same minimum loss, but only the correlation is left,
    :math:`\kappa = (1+|\rho|)/(1-|\rho|)`: a bowl.

    Gradient descent runs from the origin on both, with step
    ``lr_fraction`` × :math:`2/\lambda_{\max}` (its stability limit), so
    each surface gets a near-largest safe step of its own.

    Args:
        features: Two names from ``age, sex, bmi, bp, s1, ..., s6``.
        lr_fraction: Fraction of the stability limit, in (0, 1).
        steps: Gradient-descent steps.

    Returns:
        A :class:`CanyonResult`.

    Raises:
        ValueError: On an unknown or repeated feature name, ``lr_fraction`` outside (0, 1), ``steps < 1``.

    >>> r = canyon_vs_bowl(steps=10)
    >>> r.raw.condition_number > 30 * r.standardized.condition_number
    True
    """
    if not isinstance(features, tuple) or len(features) != 2:
        raise ValueError(f"features must be a tuple of two names (got {features!r})")
    f1 = check_choice("features[0]", features[0], DIABETES_FEATURES)
    f2 = check_choice("features[1]", features[1], DIABETES_FEATURES)
    if f1 == f2:
        raise ValueError(f"features must be two different names (got {features!r})")
    lr_fraction = check_in_range("lr_fraction", lr_fraction, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    steps = check_int("steps", steps, minimum=1)

    from sklearn.datasets import load_diabetes  # bundled with scikit-learn: no download

    data = load_diabetes(scaled=False)
    cols = [DIABETES_FEATURES.index(f1), DIABETES_FEATURES.index(f2)]
    x = torch.tensor(data.data[:, cols], dtype=torch.float64)
    y = torch.tensor(data.target, dtype=torch.float64)
    y = (y - y.mean()) / y.std(correction=0)
    x_centred = x - x.mean(dim=0)
    x_std = x_centred / x.std(dim=0, correction=0)
    with_intercept = torch.cat([x, torch.ones(len(y), 1, dtype=x.dtype)], dim=1)
    eig3 = torch.linalg.eigvalsh(with_intercept.T @ with_intercept / len(y))
    return CanyonResult(
        (f1, f2),
        _surface(x_centred, y, lr_fraction=lr_fraction, steps=steps),
        _surface(x_std, y, lr_fraction=lr_fraction, steps=steps),
        float(eig3[-1] / eig3[0]),
    )


# ---------------------------------------------------------------------------
# Shared pieces of the training experiments
# ---------------------------------------------------------------------------

NormKind = Literal["batch", "group", "none"]


def _init(model: nn.Module, gen: torch.Generator) -> None:
    """Seeded He (Kaiming-normal) initialization of every conv and linear layer, zero biases."""
    for mod in model.modules():
        if isinstance(mod, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_normal_(mod.weight, nonlinearity="relu", generator=gen)
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)


def _mlp(depth: int, width: int, norm: NormKind) -> nn.Sequential:
    layers: list[nn.Module] = []
    d_in = 64
    for _ in range(depth):
        layers.append(nn.Linear(d_in, width, bias=norm == "none"))
        if norm == "batch":
            layers.append(BatchNorm1d(width))
        elif norm == "group":
            layers.append(nn.GroupNorm(8, width))
        layers.append(nn.ReLU())
        d_in = width
    layers.append(nn.Linear(d_in, 10))
    return nn.Sequential(*layers)


def _accuracy(model: nn.Module, split: Split) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(split.x).argmax(dim=1) == split.y).double().mean())


def _train(
    model: nn.Module, split: Split, *, batch_size: int, epochs: int, lr: float, gen: torch.Generator
) -> list[float]:
    """Plain SGD with momentum 0.9 on shuffled mini-batches; returns the loss of every step."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses = []
    n = len(split.y)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for start in range(0, n - batch_size + 1, batch_size):   # drop the last partial batch
            idx = perm[start : start + batch_size]
            loss = nn.functional.cross_entropy(model(split.x[idx]), split.y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses


# ---------------------------------------------------------------------------
# Experiment 2: train mode vs eval mode, one example at a time
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SingleExampleEval:
    """Test accuracies of one trained BatchNorm MLP, run in eval mode and (wrongly) in train mode.

    Attributes:
        batch_sizes: Test-time batch sizes tried (the last one is the whole test set).
        eval_accuracy: ``model.eval()``, per batch size, on shuffled test batches.
        eval_single: ``model.eval()``, one example at a time.
        train_shuffled: Left in train mode, per batch size, on shuffled test batches.
        train_sorted: Left in train mode, per batch size, on a test set sorted by label
            (an unshuffled loader: each batch holds one or two classes).
        single_error: The message raised in train mode on a batch of one example.
        n_test: Number of test images.
    """

    batch_sizes: list[int]
    eval_accuracy: list[float]
    eval_single: float
    train_shuffled: list[float]
    train_sorted: list[float]
    single_error: str
    n_test: int


def single_example_eval(
    test_batch_sizes: Sequence[int] = (2, 4, 32),
    *,
    n_train: int = 1000,
    epochs: int = 3,
    batch_size: int = 32,
    width: int = 64,
    lr: float = 0.05,
    n_test: int = 400,
    seed: int = 0,
) -> SingleExampleEval:
    """Train a two-layer BatchNorm MLP on 8×8 digits, then test it with and without ``model.eval()``.

    In eval mode every example is normalized with the running statistics, so
    the batching of the test set cannot matter. Left in train mode, each
    test batch is normalized with its *own* statistics: the prediction for an
    image depends on which other images share its batch, a batch of one
    raises, and a batch drawn from one class is normalized away.

    Args:
        test_batch_sizes: Test-time batch sizes to try (each >= 2); the whole test set is added.
        n_train: Training images.
        epochs: Training epochs (SGD, momentum 0.9).
        batch_size: Training batch size.
        width: Units per hidden layer.
        lr: Learning rate.
        n_test: Test images.
        seed: Seed of the split, initialization and batches.

    Returns:
        A :class:`SingleExampleEval`.

    Raises:
        ValueError: On an empty ``test_batch_sizes`` or a size, count or rate out of range.
    """
    if len(test_batch_sizes) == 0:
        raise ValueError("test_batch_sizes must not be empty (got 0 batch sizes)")
    sizes = [check_int("test_batch_sizes[i]", b, minimum=2) for b in test_batch_sizes]
    n_train = check_int("n_train", n_train, minimum=2)
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=2)
    width = check_int("width", width, minimum=8)
    lr = check_positive("lr", lr)
    n_test = check_int("n_test", n_test, minimum=2)
    check_int("seed", seed)

    train, _, test = digits(n_train, 0, seed=seed)
    test = Split(test.x[:n_test], test.y[:n_test])
    gen = torch.Generator().manual_seed(seed)
    model = _mlp(2, width, "batch")
    _init(model, gen)
    _train(model, train, batch_size=batch_size, epochs=epochs, lr=lr, gen=gen)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    order = torch.argsort(test.y, stable=True)
    sorted_test = Split(test.x[order], test.y[order])

    def run(split: Split, size: int, training: bool) -> float:
        model.load_state_dict(state)    # train-mode passes overwrite the running stats: start clean
        model.train(training)
        with torch.no_grad():
            preds = torch.cat([model(split.x[i : i + size]).argmax(dim=1) for i in range(0, len(split.y), size)])
        return float((preds == split.y).double().mean())

    sizes = [*sizes, len(test.y)]
    result = SingleExampleEval(
        batch_sizes=sizes,
        eval_accuracy=[run(test, b, False) for b in sizes],
        eval_single=run(test, 1, False),
        train_shuffled=[run(test, b, True) for b in sizes],
        train_sorted=[run(sorted_test, b, True) for b in sizes],
        single_error="",
        n_test=len(test.y),
    )
    model.load_state_dict(state)
    model.train()
    try:
        model(test.x[:1])
    except ValueError as err:
        result = dataclasses.replace(result, single_error=str(err))
    model.load_state_dict(state)
    return result


# ---------------------------------------------------------------------------
# Experiment 3: the ICS debate -- how smooth is the loss along the gradient?
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SmoothnessResult:
    r"""Loss-landscape measurements along training, with and without BatchNorm (Santurkar et al., 2018).

    At each probe step :math:`t` the gradient :math:`g` of the current mini-batch
    loss is computed; then for every step size :math:`\eta` in ``step_sizes`` the
    loss and gradient at :math:`\theta - \eta g` are evaluated on the same batch.

    Attributes:
        steps: Training steps at which the probes were taken.
        step_sizes: The probe step sizes :math:`\eta`.
        loss: ``{"bn": ..., "plain": ...}`` training loss at each probe.
        loss_range: ``max_η L(θ-ηg) - min_η L(θ-ηg)`` at each probe (variation of the loss).
        grad_change: ``max_η ‖∇L(θ-ηg) - g‖`` at each probe (gradient predictiveness; lower is better).
        beta: ``max_η ‖∇L(θ-ηg) - g‖ / ‖ηg‖`` at each probe (effective β-smoothness).
        final_loss: Mean training loss over the last epoch.
    """

    steps: list[int]
    step_sizes: list[float]
    loss: dict[str, list[float]]
    loss_range: dict[str, list[float]]
    grad_change: dict[str, list[float]]
    beta: dict[str, list[float]]
    final_loss: dict[str, float]


def _flat_grad(model: nn.Module, loss: torch.Tensor) -> torch.Tensor:
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params)
    return torch.cat([g.flatten() for g in grads])


def _probe(
    model: nn.Module, xb: torch.Tensor, yb: torch.Tensor, step_sizes: Sequence[float]
) -> tuple[float, float, float]:
    """Loss range, max gradient change and effective β along -g on one batch (buffers untouched)."""
    params = [p for p in model.parameters() if p.requires_grad]
    buffers = {name: v.clone() for name, v in model.named_buffers()}
    saved = [p.detach().clone() for p in params]
    g = _flat_grad(model, nn.functional.cross_entropy(model(xb), yb))
    losses, changes, betas = [], [], []
    for eta in step_sizes:
        with torch.no_grad():
            offset = 0
            for p, p0 in zip(params, saved, strict=True):
                k = p.numel()
                p.copy_(p0 - eta * g[offset : offset + k].view_as(p))
                offset += k
        loss = nn.functional.cross_entropy(model(xb), yb)
        g_new = _flat_grad(model, loss)
        change = float((g_new - g).norm())
        losses.append(loss.item())
        changes.append(change)
        betas.append(change / (eta * float(g.norm())))
    with torch.no_grad():
        for p, p0 in zip(params, saved, strict=True):
            p.copy_(p0)
        for name, v in model.named_buffers():
            v.copy_(buffers[name])
    return max(losses) - min(losses), max(changes), max(betas)


def smoothness(
    *,
    depth: int = 6,
    width: int = 64,
    n_train: int = 1000,
    batch_size: int = 64,
    epochs: int = 5,
    lr: float = 0.05,
    step_sizes: Sequence[float] = (0.05, 0.1, 0.2, 0.4),
    probe_every: int = 3,
    seed: int = 0,
) -> SmoothnessResult:
    r"""Train a deep MLP on digits with and without BatchNorm, probing the loss landscape along the way.

    Both networks start from the same seeded He initialization (the plain one
    with biases, the BN one without: β plays their role), see the same
    mini-batches, and use SGD with momentum 0.9 at the same ``lr``. Every
    ``probe_every`` steps the current batch is used to measure how much the
    loss and its gradient change when stepping along the negative gradient
    (see :class:`SmoothnessResult`). The BN network is probed in train mode,
    as it is trained; parameters and buffers are restored after each probe.

    Args:
        depth: Hidden layers.
        width: Units per hidden layer.
        n_train: Training images.
        batch_size: Mini-batch size.
        epochs: Passes over the training images.
        lr: Learning rate of both networks.
        step_sizes: The probe step sizes :math:`\eta`.
        probe_every: Probe every this many steps.
        seed: Seed of initialization and batches.

    Returns:
        A :class:`SmoothnessResult`.

    Raises:
        ValueError: On empty ``step_sizes`` or a size, count or rate out of range.
    """
    depth = check_int("depth", depth, minimum=1)
    width = check_int("width", width, minimum=8)
    n_train = check_int("n_train", n_train, minimum=2)
    batch_size = check_int("batch_size", batch_size, minimum=2)
    epochs = check_int("epochs", epochs, minimum=1)
    lr = check_positive("lr", lr)
    if len(step_sizes) == 0:
        raise ValueError("step_sizes must not be empty (got 0 step sizes)")
    sizes = [check_positive("step_sizes[i]", s) for s in step_sizes]
    probe_every = check_int("probe_every", probe_every, minimum=1)
    check_int("seed", seed)

    train, _, _ = digits(n_train, 0, seed=seed)
    out: dict[str, dict[str, list[float]]] = {
        k: {"loss": [], "range": [], "grad": [], "beta": []} for k in ("bn", "plain")
    }
    final: dict[str, float] = {}
    probe_steps: list[int] = []
    per_epoch = n_train // batch_size
    runs: tuple[tuple[str, NormKind], ...] = (("bn", "batch"), ("plain", "none"))
    for name, norm in runs:
        gen = torch.Generator().manual_seed(seed)
        model = _mlp(depth, width, norm)
        _init(model, gen)
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        data_gen = torch.Generator().manual_seed(seed + 1)
        step, epoch_losses = 0, list[float]()
        model.train()
        for _ in range(epochs):
            perm = torch.randperm(n_train, generator=data_gen)
            epoch_losses = []
            for b in range(per_epoch):
                idx = perm[b * batch_size : (b + 1) * batch_size]
                xb, yb = train.x[idx], train.y[idx]
                if step % probe_every == 0:
                    r, c, beta = _probe(model, xb, yb, sizes)
                    out[name]["range"].append(r)
                    out[name]["grad"].append(c)
                    out[name]["beta"].append(beta)
                    if name == "bn":
                        probe_steps.append(step)
                loss = nn.functional.cross_entropy(model(xb), yb)
                if step % probe_every == 0:
                    out[name]["loss"].append(loss.item())
                opt.zero_grad()
                loss.backward()
                opt.step()
                epoch_losses.append(loss.item())
                step += 1
        final[name] = sum(epoch_losses) / len(epoch_losses)
    return SmoothnessResult(
        steps=probe_steps,
        step_sizes=sizes,
        loss={k: v["loss"] for k, v in out.items()},
        loss_range={k: v["range"] for k, v in out.items()},
        grad_change={k: v["grad"] for k, v in out.items()},
        beta={k: v["beta"] for k, v in out.items()},
        final_loss=final,
    )


class DriftNoise(nn.Module):
    r"""Santurkar et al.'s "noisy BatchNorm": a random per-unit scale and shift, redrawn every step.

    In training, :math:`x \mapsto s \odot x + m` with :math:`\log s_j \sim \mathcal N(0, a^2)` and
    :math:`m_j \sim \mathcal N(0, a^2)` (``a`` = ``strength``), one draw per unit shared by the
    whole batch and redrawn by :meth:`resample` at every optimizer step. Placed after a BatchNorm
    layer it makes the distribution of the next layer's input *move* from step to step: it adds
    internal covariate shift on purpose. The identity in eval mode.

    Args:
        width: Number of units.
        strength: Standard deviation ``a >= 0`` of the log-scale and of the shift.
        generator: Source of the random draws.
    """

    def __init__(self, width: int, *, strength: float, generator: torch.Generator) -> None:
        super().__init__()
        self.width = check_int("width", width, minimum=1)
        self.strength = check_in_range("strength", strength, 0.0, 10.0)
        self.generator = generator
        self.scale = torch.ones(width)
        self.shift = torch.zeros(width)

    def resample(self) -> None:
        """Draw a new scale and shift (call once per optimizer step)."""
        self.scale = torch.exp(self.strength * torch.randn(self.width, generator=self.generator))
        self.shift = self.strength * torch.randn(self.width, generator=self.generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        return x * self.scale + self.shift


@dataclass(frozen=True)
class ShiftResult:
    """Training with BatchNorm, without it, and with BatchNorm plus injected drift (:func:`covariate_shift`).

    Attributes:
        variants: ``("plain", "bn", "bn+drift 0.1", ...)``, one drift variant per noise strength.
        loss: Training loss of every step, per variant.
        shift: Per step, the mean change since the previous step of the per-unit mean and standard
            deviation of every hidden layer's input, measured on a fixed probe batch in train mode.
        final_loss: Mean training loss over the last epoch, per variant.
        test_accuracy: Test accuracy (eval mode), per variant.
    """

    variants: tuple[str, ...]
    loss: dict[str, list[float]]
    shift: dict[str, list[float]]
    final_loss: dict[str, float]
    test_accuracy: dict[str, float]

    def median_shift(self, variant: str) -> float:
        """Median of :attr:`shift` over the steps of one variant."""
        values = sorted(self.shift[variant])
        return values[len(values) // 2]


def _layer_input_stats(model: nn.Sequential, probe: torch.Tensor) -> torch.Tensor:
    """Per-unit mean and std of the input of every linear layer fed by a hidden layer (train mode, buffers kept)."""
    seen: list[torch.Tensor] = []
    fed = [m for m in model if isinstance(m, nn.Linear)][1:]
    hooks = [m.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach())) for m in fed]
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    with torch.no_grad():
        model(probe)
        for k, v in model.named_buffers():
            v.copy_(buffers[k])
    for hook in hooks:
        hook.remove()
    return torch.stack([torch.cat([a.mean(dim=0), a.std(dim=0)]) for a in seen])


def _train_tracking_shift(
    model: nn.Sequential,
    noises: list[DriftNoise],
    train: Split,
    probe: torch.Tensor,
    *,
    batch_size: int,
    epochs: int,
    lr: float,
    seed: int,
) -> tuple[list[float], list[float]]:
    """SGD (momentum 0.9); after every step, how far the layer-input statistics on ``probe`` moved."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    data_gen = torch.Generator().manual_seed(seed + 1)
    model.train()
    for noise in noises:
        noise.resample()
    previous = _layer_input_stats(model, probe)
    losses, shifts = [], []
    n = len(train.y)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=data_gen)
        for b in range(n // batch_size):
            idx = perm[b * batch_size : (b + 1) * batch_size]
            loss = nn.functional.cross_entropy(model(train.x[idx]), train.y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            for noise in noises:
                noise.resample()
            current = _layer_input_stats(model, probe)
            losses.append(loss.item())
            shifts.append(float((current - previous).abs().mean()))
            previous = current
    return losses, shifts


def covariate_shift(
    *,
    depth: int = 6,
    width: int = 64,
    n_train: int = 1000,
    batch_size: int = 64,
    epochs: int = 5,
    lr: float = 0.05,
    strengths: Sequence[float] = (0.1, 0.5),
    n_test: int = 500,
    seed: int = 0,
) -> ShiftResult:
    """Does BatchNorm help by removing internal covariate shift? Santurkar et al.'s test, small.

    Copies of a deep MLP train on the digits from the same seeded
    initialization, with the same batches and optimizer (SGD, momentum 0.9):
    without normalization, with BatchNorm, and with BatchNorm followed by
    :class:`DriftNoise` after every hidden layer (one copy per noise strength). The noise makes each layer's
    input distribution jump at every step, i.e. it *adds* covariate shift.
    If BatchNorm's benefit came from removing that shift, the noisy variant
    should lose it. The shift is measured on a fixed probe batch of training
    images after every step: for each hidden linear layer after the first,
    the per-unit mean and standard deviation of its input, and the mean
    absolute change of both since the previous step.

    Args:
        depth: Hidden layers.
        width: Units per hidden layer.
        n_train: Training images.
        batch_size: Mini-batch size.
        epochs: Passes over the training images.
        lr: Learning rate, the same for all variants.
        strengths: Noise strengths of :class:`DriftNoise`, one BN + drift variant each.
        n_test: Test images.
        seed: Seed of initialization, batches and noise.

    Returns:
        A :class:`ShiftResult`.

    Raises:
        ValueError: On a non-positive size or learning rate, or a strength outside [0, 10].
    """
    depth = check_int("depth", depth, minimum=2)
    width = check_int("width", width, minimum=8)
    n_train = check_int("n_train", n_train, minimum=2)
    batch_size = check_int("batch_size", batch_size, minimum=2)
    epochs = check_int("epochs", epochs, minimum=1)
    lr = check_positive("lr", lr)
    if len(strengths) == 0:
        raise ValueError("strengths must not be empty (got 0 strengths)")
    levels = [check_in_range("strengths[i]", a, 0.0, 10.0) for a in strengths]
    n_test = check_int("n_test", n_test, minimum=1)
    check_int("seed", seed)

    train, _, test = digits(n_train, 0, seed=seed)
    test = Split(test.x[:n_test], test.y[:n_test])
    probe = train.x[: min(256, n_train)]
    per_epoch = n_train // batch_size
    variants = ("plain", "bn", *(f"bn+drift {a:g}" for a in levels))
    strength_of = {f"bn+drift {a:g}": a for a in levels}
    losses: dict[str, list[float]] = {}
    shifts: dict[str, list[float]] = {}
    final: dict[str, float] = {}
    accuracy: dict[str, float] = {}
    for name in variants:
        gen = torch.Generator().manual_seed(seed)
        model = _mlp(depth, width, "none" if name == "plain" else "batch")
        _init(model, gen)
        noises: list[DriftNoise] = []
        if name in strength_of:
            noise_gen = torch.Generator().manual_seed(seed + 2)
            layers: list[nn.Module] = []
            for mod in model:
                layers.append(mod)
                if isinstance(mod, BatchNorm1d):
                    noises.append(DriftNoise(width, strength=strength_of[name], generator=noise_gen))
                    layers.append(noises[-1])
            model = nn.Sequential(*layers)
        step_losses, step_shifts = _train_tracking_shift(
            model, noises, train, probe, batch_size=batch_size, epochs=epochs, lr=lr, seed=seed
        )
        losses[name], shifts[name] = step_losses, step_shifts
        last = step_losses[-per_epoch:]
        final[name] = sum(last) / len(last)
        accuracy[name] = _accuracy(model, test)
    return ShiftResult(variants, losses, shifts, final, accuracy)


@dataclass(frozen=True)
class LRSweep:
    """Final training loss per learning rate, with and without BatchNorm (:func:`max_stable_lr`).

    Attributes:
        lrs: The learning rates tried.
        final_loss: ``{"bn": [...], "plain": [...]}``, mean loss of the last epoch (``inf`` if it diverged).
        initial_loss: :math:`\\ln 10`, the loss of a uniform guess over 10 classes.
        max_stable: ``{"bn": lr, "plain": lr}``: the largest lr whose final loss is below half the initial loss.
    """

    lrs: list[float]
    final_loss: dict[str, list[float]]
    initial_loss: float
    max_stable: dict[str, float]


def max_stable_lr(
    lrs: Sequence[float] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0),
    *,
    depth: int = 6,
    width: int = 64,
    n_train: int = 1000,
    batch_size: int = 64,
    epochs: int = 2,
    seed: int = 0,
) -> LRSweep:
    """The largest SGD learning rate that still trains a deep MLP, with and without BatchNorm.

    For each lr, a fresh seeded network trains for ``epochs`` (plain SGD,
    momentum 0.9). A run counts as *stable* if the mean loss of its last
    epoch is finite and below half of :math:`\\ln 10`.

    Args:
        lrs: Learning rates to try.
        depth: Hidden layers.
        width: Units per hidden layer.
        n_train: Training images.
        batch_size: Mini-batch size.
        epochs: Passes over the training images.
        seed: Seed of initialization and batches (the same for every run).

    Returns:
        An :class:`LRSweep`.

    Raises:
        ValueError: On empty ``lrs`` or a size, count or rate out of range.
    """
    if len(lrs) == 0:
        raise ValueError("lrs must not be empty (got 0 learning rates)")
    rates = [check_positive("lrs[i]", v) for v in lrs]
    depth = check_int("depth", depth, minimum=1)
    width = check_int("width", width, minimum=8)
    n_train = check_int("n_train", n_train, minimum=2)
    batch_size = check_int("batch_size", batch_size, minimum=2)
    epochs = check_int("epochs", epochs, minimum=1)
    check_int("seed", seed)

    train, _, _ = digits(n_train, 0, seed=seed)
    per_epoch = n_train // batch_size
    init = math.log(10.0)
    final: dict[str, list[float]] = {"bn": [], "plain": []}
    runs: tuple[tuple[str, NormKind], ...] = (("bn", "batch"), ("plain", "none"))
    for name, norm in runs:
        for lr in rates:
            gen = torch.Generator().manual_seed(seed)
            model = _mlp(depth, width, norm)
            _init(model, gen)
            losses = _train(model, train, batch_size=batch_size, epochs=epochs, lr=lr, gen=gen)
            last = losses[-per_epoch:]
            value = sum(last) / len(last)
            final[name].append(value if math.isfinite(value) else math.inf)
    stable = {
        k: max((lr for lr, v in zip(rates, final[k], strict=True) if v < 0.5 * init), default=0.0) for k in final
    }
    return LRSweep(rates, final, init, stable)


# ---------------------------------------------------------------------------
# Experiment 4: small batches -- BatchNorm vs GroupNorm (Wu & He, 2018)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchSizeSweep:
    """Test accuracy of the same CNN with BatchNorm or GroupNorm, per batch size and seed.

    Attributes:
        batch_sizes: The batch sizes.
        seeds: The seeds.
        accuracy: ``{"batch": [[acc per seed] per batch size], "group": ...}`` (eval mode).
    """

    batch_sizes: list[int]
    seeds: list[int]
    accuracy: dict[str, list[list[float]]]

    def mean(self, norm: str) -> list[float]:
        """Mean accuracy over seeds, per batch size."""
        return [sum(a) / len(a) for a in self.accuracy[norm]]


def batch_size_sweep(
    batch_sizes: Sequence[int] = (2, 4, 8, 16, 32, 64),
    *,
    n_train: int = 512,
    epochs: int = 2,
    base_lr: float = 0.05,
    width: int = 64,
    n_test: int = 500,
    seeds: Sequence[int] = (0, 1),
) -> BatchSizeSweep:
    r"""BatchNorm vs GroupNorm as the batch shrinks, on 8×8 digits.

    The same two-hidden-layer MLP is trained with BatchNorm or with
    :class:`torch.nn.GroupNorm` (8 groups) after every hidden linear layer,
    for the same number of epochs at every batch size. As in Wu & He (2018),
    the learning rate is scaled linearly with the batch size,
    :math:`\eta = \eta_0 \cdot B / 32`. Accuracy is measured in eval mode, where
    BatchNorm uses its running statistics.

    Args:
        batch_sizes: Batch sizes to compare (each >= 2).
        n_train: Training images.
        epochs: Passes over the training images, the same at every batch size.
        base_lr: Learning rate at batch size 32.
        width: Units per hidden layer (a multiple of 8, the number of groups).
        n_test: Test images.
        seeds: Seeds; each gives its own split, initialization and batches.

    Returns:
        A :class:`BatchSizeSweep`.

    Raises:
        ValueError: On empty ``batch_sizes`` or ``seeds``, a width not divisible by 8,
            or a size, count or rate out of range.
    """
    if len(batch_sizes) == 0:
        raise ValueError("batch_sizes must not be empty (got 0 batch sizes)")
    sizes = [check_int("batch_sizes[i]", b, minimum=2) for b in batch_sizes]
    n_train = check_int("n_train", n_train, minimum=max(sizes))
    epochs = check_int("epochs", epochs, minimum=1)
    base_lr = check_positive("base_lr", base_lr)
    width = check_int("width", width, minimum=8)
    if width % 8:
        raise ValueError(f"width must be a multiple of 8, the number of groups (got {width})")
    n_test = check_int("n_test", n_test, minimum=1)
    seed_list = [check_int("seeds[i]", s) for s in seeds]
    if not seed_list:
        raise ValueError("seeds must not be empty (got 0 seeds)")

    acc: dict[str, list[list[float]]] = {"batch": [], "group": []}
    norms: tuple[NormKind, ...] = ("batch", "group")
    for norm in norms:
        for b in sizes:
            row = []
            for seed in seed_list:
                train, _, test = digits(n_train, 0, seed=seed)
                test = Split(test.x[:n_test], test.y[:n_test])
                gen = torch.Generator().manual_seed(seed)
                net = _mlp(2, width, norm)
                _init(net, gen)
                _train(net, train, batch_size=b, epochs=epochs, lr=base_lr * b / 32, gen=gen)
                row.append(_accuracy(net, test))
            acc[norm].append(row)
    return BatchSizeSweep(sizes, seed_list, acc)
