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
  by hand), :class:`BatchNormFunction`, :func:`batch_norm_by_hand`,
  :func:`update_running_stats`.

The chapter's experiments live in :mod:`regbook.experiments.batchnorm`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from regbook._checks import (
    check_bool,
    check_count,
    check_float_dtype,
    check_float_tensor,
    check_in_range,
    check_instance,
    check_positive,
    check_same_device,
)

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNormBase",
    "BatchNormCache",
    "BatchNormFunction",
    "batch_norm",
    "batch_norm_backward",
    "batch_norm_by_hand",
    "batch_norm_forward",
    "update_running_stats",
]


# ---------------------------------------------------------------------------
# Argument checks specific to batch normalization
# ---------------------------------------------------------------------------


def _check_vector(name: str, value: object, like_name: str, like: torch.Tensor, num_channels: int) -> None:
    """A finite floating tensor of shape ``(num_channels,)`` on the device of ``like``."""
    t = check_float_tensor(name, value)
    if tuple(t.shape) != (num_channels,):
        raise ValueError(
            f"{name} must have shape ({num_channels},), one entry per channel of {like_name} "
            f"(got shape {tuple(t.shape)})"
        )
    check_same_device(name, t, like_name, like)


def _check_channel_vector(name: str, value: object, x: torch.Tensor) -> None:
    """``None``, or one finite entry per channel of ``x`` (axis 1), on ``x``'s device."""
    if value is not None:
        _check_vector(name, value, "x", x, x.shape[1])


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
    :math:`m/(m-1)` (unbiased), :math:`m` = values per channel.

    Args:
        x: Input, channels on axis 1, floating point (float16 / bfloat16 / float32 / float64), finite,
            non-empty; any device, meta included (then every tensor argument is meta, and so is ``y``).
        weight: Scale :math:`\gamma`, shape ``(C,)``, or ``None`` for 1.
        bias: Shift :math:`\beta`, shape ``(C,)``, or ``None`` for 0.
        running_mean: Running mean, shape ``(C,)``, or ``None`` (then training only).
        running_var: Running variance, shape ``(C,)``, or ``None`` (with ``running_mean``).
        training: A bool. ``True``: batch statistics (and update the running ones);
            ``False``: running statistics.
        momentum: Weight :math:`\rho \in [0, 1]` of the new batch in the running update.
        eps: :math:`\epsilon > 0` (finite) added to the variance.

    Every tensor given must be a finite floating tensor on ``x``'s device.

    Returns:
        ``y``, same shape and dtype as ``x`` (a float16 / bfloat16 ``x`` gives float16 / bfloat16 as in
        torch; its statistics are computed in float32).

    Mutates:
        ``running_mean`` and ``running_var``, in place, in training mode only, and only after every
        argument has been checked: a call that raises changes nothing.

    Raises:
        TypeError: If ``x`` (or a parameter) is not a floating tensor, or ``training`` not a bool,
            or ``momentum`` / ``eps`` not a real number.
        ValueError: On a rank other than 2, 3, 4; an empty ``x``; a parameter of the wrong length
            or on another device than ``x``; NaN/inf; ``momentum`` outside [0, 1]; ``eps <= 0``;
            only one running buffer given; ``training=False`` without running statistics; or, in
            training, only one value per channel.

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
    training, momentum, eps = _check_batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps)
    return _batch_norm(x, weight, bias, running_mean, running_var, training=training, momentum=momentum, eps=eps)


def _check_batch_norm(
    x: object,
    weight: object,
    bias: object,
    running_mean: object,
    running_var: object,
    training: object,
    momentum: object,
    eps: object,
) -> tuple[bool, float, float]:
    """Every check of :func:`batch_norm`, before anything is computed or updated."""
    x = check_float_tensor("x", x)
    if x.ndim not in (2, 3, 4):
        raise ValueError(
            f"x must be 2-D (N, C), 3-D (N, C, L) or 4-D (N, C, H, W) "
            f"(got {x.ndim}-D input of shape {tuple(x.shape)})"
        )
    _check_channel_vector("weight", weight, x)
    _check_channel_vector("bias", bias, x)
    _check_channel_vector("running_mean", running_mean, x)
    _check_channel_vector("running_var", running_var, x)
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must be given together (got only one of them)")
    training = check_bool("training", training)
    momentum = check_in_range("momentum", momentum, 0.0, 1.0)
    eps = check_positive("eps", eps)
    if training:
        _check_enough_values(x)
    elif running_mean is None or running_var is None:
        raise ValueError("training=False needs running_mean and running_var (got None)")
    return training, momentum, eps


def _batch_norm(
    x: torch.Tensor,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
    *,
    training: bool,
    momentum: float,
    eps: float,
) -> torch.Tensor:
    """The body of :func:`batch_norm`, on arguments :func:`_check_batch_norm` has accepted."""
    num_channels = x.shape[1]
    # idea-start
    dims = [0, *range(2, x.ndim)]                        # every axis except the channels
    shape = [1, num_channels] + [1] * (x.ndim - 2)       # to broadcast (C,) against x
    # float16/bfloat16: statistics in float32, as torch keeps them (x² overflows float16 for |x| > 256)
    xs = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    if training:
        mean = xs.mean(dim=dims)                                     # μ_c
        var = (xs - mean.view(shape)).square().mean(dim=dims)        # σ²_c, biased: divide by m
        if running_mean is not None and running_var is not None:     # the running update, in place
            m = x.numel() // num_channels
            _update_running(running_mean, running_var, mean, var, m=m, momentum=momentum)
    else:
        mean, var = _stored(running_mean), _stored(running_var)      # evaluation: the running estimates
    x_hat = (xs - mean.view(shape)) / torch.sqrt(var.view(shape) + eps)
    y = x_hat
    if weight is not None:
        y = y * weight.view(shape)                                   # γ_c
    if bias is not None:
        y = y + bias.view(shape)                                     # β_c
    # idea-end
    return y.to(x.dtype)


def _stored(buffer: torch.Tensor | None) -> torch.Tensor:
    """A running buffer that :func:`batch_norm` has already checked is present."""
    if buffer is None:  # pragma: no cover - checked before any work
        raise ValueError("training=False needs running_mean and running_var (got None)")
    return buffer


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
        # running-start
        unbiased = var.detach() * (m / (m - 1))                           # m/(m-1) sigma^2
        running_mean.mul_(1.0 - momentum).add_(mean.detach(), alpha=momentum)
        running_var.mul_(1.0 - momentum).add_(unbiased, alpha=momentum)
        # running-end


class BatchNormBase(nn.Module):
    r"""Shared body of :class:`BatchNorm1d` and :class:`BatchNorm2d`, with torch's names and defaults.

    Args:
        num_features: Number of channels ``C``, an int in ``[1, 2**31 - 1]``.
        eps: :math:`\epsilon > 0` (finite) added to the variance.
        momentum: Weight of the new batch in the running averages, in [0, 1];
            ``None`` for the cumulative average of all batches seen.
        affine: A bool: learn ``weight`` (γ) and ``bias`` (β).
        track_running_stats: A bool: keep ``running_mean``, ``running_var`` and
            ``num_batches_tracked``; without them the layer always uses batch statistics.
        dtype: Floating ``torch.dtype`` of the parameters and buffers (``None``: torch's default).

    Raises:
        TypeError: On a non-int ``num_features``, a non-bool flag, a non-real ``eps`` /
            ``momentum``, or a non-floating ``dtype``.
        ValueError: On a value out of the ranges above.

    :meth:`forward` takes ``x`` of the subclass's rank, a finite floating tensor
    with ``C`` channels on axis 1 (any number when the module has neither
    parameters nor running statistics, as in torch), on the device of the module's parameters and
    buffers (a module moved to ``"meta"`` takes meta input and returns meta
    output). In training mode it needs more than one value per channel, and it
    **mutates** ``num_batches_tracked`` (+1), ``running_mean`` and
    ``running_var`` in place, after every check: a rejected batch changes
    nothing. In eval mode it mutates nothing. The output has ``x``'s shape and
    dtype (float16 / bfloat16 input with float32 parameters gives float16 /
    bfloat16, as in torch).
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
        num_features = check_count("num_features", num_features)
        eps = check_positive("eps", eps)
        momentum = None if momentum is None else check_in_range("momentum", momentum, 0.0, 1.0)
        affine = check_bool("affine", affine)
        track_running_stats = check_bool("track_running_stats", track_running_stats)
        dtype = check_float_dtype("dtype", dtype)
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
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
        """Normalize ``x`` (see the class docstring for the contract); every check comes before any update."""
        check_float_tensor("x", x)
        if x.ndim not in self._ranks:
            raise ValueError(f"expected {self._rank_text} input (got {x.ndim}D input)")
        holds_channels = self.weight is not None or self.running_mean is not None  # else any C, as in torch
        if holds_channels and x.shape[1] != self.num_features:
            raise ValueError(f"x must have num_features={self.num_features} channels on axis 1 "
                             f"(got shape {tuple(x.shape)})")
        for held in (self.weight, self.running_mean):
            if held is not None and held.device != x.device:
                raise ValueError(f"x must be on the module's device {held.device} (got {x.device})")
        # Without running statistics the layer always uses batch statistics (as torch does).
        use_batch = self.training or self.running_mean is None
        keep = not self.training or self.track_running_stats
        count = self.num_batches_tracked if self.training else None
        factor = 0.0 if self.momentum is None else self.momentum
        if count is not None and self.momentum is None:
            # momentum=None: cumulative average, the k-th batch gets weight 1/k (unknowable on meta)
            factor = 1.0 if count.is_meta else 1.0 / (int(count) + 1)
        running_mean = self.running_mean if keep else None
        running_var = self.running_var if keep else None
        training, momentum, eps = _check_batch_norm(
            x, self.weight, self.bias, running_mean, running_var, use_batch, factor, self.eps
        )
        if count is not None:
            count.add_(1)
        return _batch_norm(x, self.weight, self.bias, running_mean, running_var,
                           training=training, momentum=momentum, eps=eps)


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

    All finite floating tensors on one device (meta included), checked on construction.

    Raises:
        TypeError: If a field is not a floating tensor.
        ValueError: If ``x_hat`` is not ``(N, D)`` with ``N >= 2``, another field is not ``(D,)``
            or not on ``x_hat``'s device, or a field holds NaN/inf.
    """

    x_hat: torch.Tensor
    gamma: torch.Tensor
    inv_std: torch.Tensor
    mean: torch.Tensor
    var: torch.Tensor

    def __post_init__(self) -> None:
        """Checks: ``x_hat`` a finite floating ``(N, D)`` tensor, ``N >= 2``; the rest ``(D,)`` on its device."""
        check_float_tensor("x_hat", self.x_hat, ndim=2)
        if self.x_hat.shape[0] < 2:
            raise ValueError(f"x_hat must have at least 2 rows (N >= 2) (got shape {tuple(self.x_hat.shape)})")
        for name in ("gamma", "inv_std", "mean", "var"):
            _check_vector(name, getattr(self, name), "x_hat", self.x_hat, self.x_hat.shape[1])


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
        x: Input ``(N, D)``, ``N >= 2``, a finite floating tensor on any device (meta included).
        gamma: Scale ``(D,)``, a finite floating tensor on ``x``'s device (required: no ``None``).
        beta: Shift ``(D,)``, likewise.
        eps: :math:`\epsilon > 0`, finite.

    Returns:
        ``(y, cache)``; ``y`` has ``x``'s shape, the dtype of ``x`` and the parameters combined
        (computed in their promoted dtype). Mutates nothing.

    Raises:
        TypeError: If an input is not a floating tensor, or ``eps`` not a real number.
        ValueError: On a wrong rank or length, a tensor on another device than ``x``, NaN/inf,
            ``N < 2``, ``eps <= 0``, or an ``x`` so large that its variance overflows its dtype
            (where torch silently returns ``beta``).

    Shape:
        ``x``, ``y``: ``(N, D)``; ``gamma``, ``beta``: ``(D,)``.

    >>> y, cache = batch_norm_forward(torch.tensor([[1.0], [3.0], [5.0], [7.0]]),
    ...                               torch.tensor([2.0]), torch.tensor([0.5]))
    >>> cache.mean.item(), cache.var.item(), [round(v, 4) for v in cache.x_hat.flatten().tolist()]
    (4.0, 5.0, [-1.3416, -0.4472, 0.4472, 1.3416])
    """
    check_float_tensor("x", x, ndim=2)
    _check_vector("gamma", gamma, "x", x, x.shape[1])
    _check_vector("beta", beta, "x", x, x.shape[1])
    eps = check_positive("eps", eps)
    _check_enough_values(x)

    # forward-start
    mean = x.mean(dim=0)                        # μ, (D,)
    xc = x - mean                               # x - μ, (N, D)
    var = xc.square().mean(dim=0)               # σ², biased, (D,)
    inv_std = torch.rsqrt(var + eps)            # 1/σ, (D,)
    x_hat = xc * inv_std                        # (N, D)
    y = gamma * x_hat + beta                    # (N, D)
    # forward-end
    if not var.is_meta and not bool(torch.isfinite(var).all()):
        raise ValueError(f"x is too large: its batch variance overflows {var.dtype} (got inf); rescale x")
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
        dy: Upstream gradient ``(N, D)``, a finite floating tensor on the cache's device.
        cache: The :class:`BatchNormCache` returned by :func:`batch_norm_forward`.

    Returns:
        ``(dx, dgamma, dbeta)`` with shapes ``(N, D)``, ``(D,)``, ``(D,)``. Written in differentiable
        torch ops: with a cache built from tensors that require grad, the result can be
        differentiated again. Mutates nothing.

    Raises:
        TypeError: If ``dy`` is not a floating tensor or ``cache`` not a :class:`BatchNormCache`.
        ValueError: If ``dy`` does not have the shape of the forward input, is on another device
            than the cache, or holds NaN/inf.

    >>> x = torch.tensor([[1.0], [3.0], [5.0], [7.0]])
    >>> _, cache = batch_norm_forward(x, torch.tensor([2.0]), torch.tensor([0.5]))
    >>> dx, dgamma, dbeta = batch_norm_backward(torch.ones(4, 1), cache)
    >>> dbeta.item(), round(dgamma.item(), 6), [round(v, 6) for v in dx.flatten().tolist()]
    (4.0, 0.0, [0.0, 0.0, 0.0, 0.0])
    """
    check_instance("cache", cache, BatchNormCache)
    check_float_tensor("dy", dy, ndim=2)
    if dy.shape != cache.x_hat.shape:
        raise ValueError(
            f"dy must have the shape of the forward input {tuple(cache.x_hat.shape)} (got {tuple(dy.shape)})"
        )
    check_same_device("dy", dy, "cache.x_hat", cache.x_hat)
    # backward-start
    n = dy.shape[0]
    x_hat, gamma, inv_std = cache.x_hat, cache.gamma, cache.inv_std
    dbeta = dy.sum(dim=0)                                  # Σ g
    dgamma = (dy * x_hat).sum(dim=0)                       # Σ g·x̂
    dx = (gamma * inv_std / n) * (n * dy - dbeta - x_hat * dgamma)
    # backward-end
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

    Args:
        running_mean: Running mean ``(D,)``, a finite floating tensor on the cache's device.
        running_var: Running variance ``(D,)``, likewise.
        cache: The :class:`BatchNormCache` of the batch, from :func:`batch_norm_forward`.
        momentum: :math:`\rho \in [0, 1]`, the weight of the new batch.

    Mutates:
        ``running_mean`` and ``running_var``, in place, after every check: a call that raises changes nothing.

    Raises:
        TypeError: If a buffer is not a floating tensor, ``cache`` not a :class:`BatchNormCache`,
            or ``momentum`` not a real number.
        ValueError: If a buffer's length differs from the cache's, a buffer is on another device
            or holds NaN/inf, or ``momentum`` is outside [0, 1].

    >>> _, cache = batch_norm_forward(torch.tensor([[1.0], [3.0], [5.0], [7.0]]),
    ...                               torch.ones(1), torch.zeros(1))
    >>> rm, rv = torch.zeros(1), torch.ones(1)
    >>> update_running_stats(rm, rv, cache, momentum=0.1)
    >>> round(rm.item(), 6), round(rv.item(), 6)    # 0.1*4 ; 0.9 + 0.1*20/3
    (0.4, 1.566667)
    """
    check_instance("cache", cache, BatchNormCache)
    d = cache.mean.shape[0]
    _check_vector("running_mean", running_mean, "cache.mean", cache.mean, d)
    _check_vector("running_var", running_var, "cache.mean", cache.mean, d)
    momentum = check_in_range("momentum", momentum, 0.0, 1.0)
    _update_running(running_mean, running_var, cache.mean, cache.var, m=cache.x_hat.shape[0], momentum=momentum)


class BatchNormFunction(torch.autograd.Function):
    """:func:`batch_norm_forward` / :func:`batch_norm_backward` as an autograd op (training mode, ``(N, D)``).

    ``BatchNormFunction.apply(x, gamma, beta, eps)`` takes what :func:`batch_norm_forward`
    takes (positionally) and raises what it raises. Twice differentiable: when the
    backward runs with ``create_graph=True`` it rebuilds the cache from the saved
    inputs inside the graph, so :func:`batch_norm_backward` (plain torch ops) is itself
    differentiated by autograd (``torch.autograd.gradgradcheck`` passes in float64).
    """

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float
    ) -> torch.Tensor:
        y, cache = batch_norm_forward(x, gamma, beta, eps=eps)
        ctx.cache = cache
        ctx.eps = eps
        ctx.save_for_backward(x, gamma, beta)
        return y

    @staticmethod
    def backward(
        ctx: Any, dy: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, None]:
        cache = ctx.cache
        if torch.is_grad_enabled():
            # create_graph=True: the forward's cache is outside the graph; rebuild it inside,
            # so that the gradient below is differentiable with respect to x, gamma and beta
            x, gamma, beta = ctx.saved_tensors
            _, cache = batch_norm_forward(x, gamma, beta, eps=ctx.eps)
        dx, dgamma, dbeta = batch_norm_backward(dy, cache)
        return dx, dgamma, dbeta, None


def batch_norm_by_hand(
    x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, *, eps: float = 1e-5
) -> torch.Tensor:
    """Training-mode batch norm of ``(N, D)`` whose gradient is :func:`batch_norm_backward`.

    Arguments, result and errors as :func:`batch_norm_forward` (``y`` only); mutates nothing.
    Second derivatives work too (see :class:`BatchNormFunction`).

    >>> x = torch.tensor([[1.0], [3.0], [5.0], [7.0]], requires_grad=True)
    >>> batch_norm_by_hand(x, torch.ones(1), torch.zeros(1)).pow(3).sum().backward()
    >>> x.grad.shape
    torch.Size([4, 1])
    """
    out: torch.Tensor = BatchNormFunction.apply(x, gamma, beta, eps)  # type: ignore[no-untyped-call]
    return out
