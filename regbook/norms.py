r"""LayerNorm, RMSNorm and GroupNorm as one formula over different axes.

Every normalization layer of this chapter computes, for each set :math:`S` of
entries that share statistics,

.. math::

    \mu_S = \frac{1}{|S|}\sum_{i\in S} x_i, \qquad
    \sigma^2_S = \frac{1}{|S|}\sum_{i\in S} (x_i - \mu_S)^2, \qquad
    \hat x_i = \frac{x_i - \mu_S}{\sqrt{\sigma^2_S + \epsilon}},

followed by a learned per-feature scale :math:`\gamma` and shift :math:`\beta`.
The layers differ only in *which* entries form a set :math:`S` (for an
``(N, C, H, W)`` tensor):

* BatchNorm: one set per channel, over ``(N, H, W)``;
* LayerNorm: one set per sample, over the trailing ``normalized_shape`` dims, e.g. ``(C, H, W)``;
* InstanceNorm: one set per sample and channel, over ``(H, W)``;
* GroupNorm: one set per sample and group of ``C / G`` channels, over ``(C/G, H, W)``;
* RMSNorm: the LayerNorm sets, but *not centred*: :math:`\mu_S` is replaced by 0,
  so :math:`\hat x_i = x_i / \sqrt{\operatorname{mean}_S(x^2) + \epsilon}` and there is no :math:`\beta`.

:func:`normalize` is that formula; :func:`layer_norm`, :func:`rms_norm` and
:func:`group_norm` only choose the axes. The variance is computed in two passes
(mean of squared deviations), never as :math:`E[x^2]-E[x]^2`, which cancels
catastrophically when the mean is large compared with the spread.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import torch
from torch import nn

from regbook._checks import (
    check_bool,
    check_choice,
    check_count,
    check_float_tensor,
    check_int,
    check_positive,
    check_same_device,
    check_size,
)

__all__ = [
    "KINDS",
    "GroupNorm",
    "LayerNorm",
    "RMSNorm",
    "group_norm",
    "layer_norm",
    "normalize",
    "rms_norm",
    "stat_groups",
]

#: The kinds of normalization :func:`stat_groups` knows (the sets of entries that share statistics).
KINDS = ("batch", "layer", "rms", "group", "instance")


# --- argument checks ------------------------------------------------------

def _check_eps(eps: object) -> float:
    return check_positive("eps", eps)


def _check_shape(normalized_shape: object) -> tuple[int, ...]:
    if isinstance(normalized_shape, bool):
        raise TypeError(f"normalized_shape must be an int or a sequence of ints (got bool {normalized_shape!r})")
    if not isinstance(normalized_shape, Integral) and (
            not isinstance(normalized_shape, tuple | list | torch.Size) or len(normalized_shape) == 0):
        raise TypeError(
            f"normalized_shape must be an int or a non-empty sequence of ints (got {normalized_shape!r})"
        )
    return check_size("normalized_shape", normalized_shape)


def _check_input(x: object) -> torch.Tensor:
    """A floating-point tensor. Huge entries are fine: the statistics are computed on a rescaled copy,
    finite wherever torch's own kernels are (tests/test_edges.py)."""
    return check_float_tensor("x", x)


def _check_trailing(x: torch.Tensor, shape: tuple[int, ...]) -> None:
    if x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise ValueError(
            f"normalized_shape must equal the trailing dims of x: expected x of shape (*, "
            f"{', '.join(map(str, shape))}) (got {tuple(x.shape)})"
        )


def _check_param(name: str, p: object, shape: tuple[int, ...], what: str, x: torch.Tensor) -> None:
    """``p`` is None, or a finite float tensor of ``shape`` (named ``what`` in the message) on ``x``'s device."""
    if p is None:
        return
    p = check_float_tensor(name, p)
    if tuple(p.shape) != shape:
        raise ValueError(f"{name} must have shape {shape} (got {tuple(p.shape)}): {what}")
    check_same_device(name, p, "x", x)


# --- the one formula ------------------------------------------------------

def _normalize(x: torch.Tensor, dims: tuple[int, ...], center: bool, eps: float) -> torch.Tensor:
    if x.dtype in (torch.float16, torch.bfloat16):
        # Statistics in float32, as torch's kernels keep them: in float16 the square
        # of any |x| > 256 overflows (max 65504), and bfloat16 has 8 bits of mantissa.
        return _normalize(x.float(), dims, center, eps).to(x.dtype)
    # idea-start
    if center:
        mean = x.mean(dim=dims, keepdim=True)          # μ_S
        x = x - mean                                    # x - μ_S
    var = (x * x).mean(dim=dims, keepdim=True)          # σ²_S (two-pass), or mean(x²) if not centred
    return x * torch.rsqrt(var + eps)                   # x̂ = (x - μ_S) / sqrt(σ²_S + ε)
    # idea-end


def normalize(x: torch.Tensor, dims: Sequence[int], *, center: bool, eps: float) -> torch.Tensor:
    r"""Standardize ``x`` over the axes ``dims``: the formula shared by every norm layer.

    .. math::

        \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}},\quad
        \mu = \operatorname{mean}_{\text{dims}}(x),\quad
        \sigma^2 = \operatorname{mean}_{\text{dims}}\big((x-\mu)^2\big)

    With ``center=False`` the mean is not subtracted (:math:`\mu := 0`), so the
    denominator is the root mean square, :math:`\sqrt{\operatorname{mean}(x^2)+\epsilon}`.
    The variance is biased (divides by the set size), as in every torch norm layer.

    Nothing is mutated. The result has ``x``'s dtype and device (float16 and
    bfloat16 statistics are computed in float32); a meta ``x`` gives a meta result.

    Args:
        x: Input tensor: floating point, non-empty, finite, with entries of magnitude
            at most ``sqrt(finfo.max) / 2`` (about ``9.2e18`` in float32) so that squared
            deviations do not overflow.
        dims: A non-empty tuple or list of distinct axes reduced over (ints in
            ``[-x.ndim, x.ndim - 1]``); every other axis indexes a separate set of statistics.
        center: A bool: subtract the mean (LayerNorm, BatchNorm, GroupNorm) or not (RMSNorm).
        eps: Added to the variance, a finite real ``> 0``.

    Returns:
        A tensor of the shape, dtype and device of ``x``.

    Raises:
        TypeError: If ``x`` is not a floating-point tensor, ``dims`` are not ints or
            ``center`` is not a bool.
        ValueError: If ``x`` is empty, holds NaN or inf or is too large, a dim is out of
            range or repeated, or ``eps`` is not finite and ``> 0``.

    Shape:
        Any shape; the output has the input's shape.

    Example:
        The lecture's mini-batch ``[1, 3, 5, 7]``: mean 4, variance (9+1+1+9)/4 = 5.

        >>> x = torch.tensor([1.0, 3.0, 5.0, 7.0], dtype=torch.float64)
        >>> [round(v, 4) for v in normalize(x, (0,), center=True, eps=1e-5).tolist()]
        [-1.3416, -0.4472, 0.4472, 1.3416]
    """
    _check_input(x)
    center = check_bool("center", center)
    eps = _check_eps(eps)
    if not isinstance(dims, (tuple, list)) or len(dims) == 0:
        raise TypeError(f"dims must be a non-empty tuple or list of ints (got {dims!r})")
    axes = []
    for d in dims:
        d = check_int("dims", d)
        if not -x.ndim <= d < x.ndim:
            raise ValueError(f"dims must be in [{-x.ndim}, {x.ndim - 1}] for a {x.ndim}-D x (got {d})")
        axes.append(d % x.ndim)
    if len(set(axes)) != len(axes):
        raise ValueError(f"dims must not repeat an axis (got {tuple(dims)})")
    return _normalize(x, tuple(axes), center, eps)


# --- the three layers -----------------------------------------------------

def layer_norm(
    x: torch.Tensor,
    normalized_shape: int | Sequence[int],
    *,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    eps: float = 1e-5,
) -> torch.Tensor:
    r"""Layer normalization: statistics per sample, over the trailing ``normalized_shape`` dims.

    .. math::

        y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}\odot\gamma + \beta,

    with :math:`\mu, \sigma^2` the mean and biased variance over the last
    ``len(normalized_shape)`` axes (Ba et al., 2016). Nothing depends on the other
    samples of the batch, so training and evaluation compute the same thing.

    Nothing is mutated. The result has ``x``'s dtype and device (float16 and
    bfloat16 statistics are computed in float32); a meta ``x`` gives a meta result.

    Args:
        x: Input: floating point, non-empty, finite, entries of magnitude at most
            ``sqrt(finfo.max) / 2`` (about ``9.2e18`` in float32).
        normalized_shape: The trailing shape to normalize over: an int (one axis) or a
            non-empty list, tuple or ``torch.Size`` of ints ``>= 1``.
        weight: :math:`\gamma`, a finite float tensor of shape ``normalized_shape`` on
            ``x``'s device (``None``: 1).
        bias: :math:`\beta`, likewise (``None``: 0).
        eps: Added to the variance, a finite real ``> 0`` (torch's default ``1e-5``).

    Returns:
        The normalized tensor, shape and device of ``x`` (dtype of ``x``, promoted with
        those of ``weight`` and ``bias``).

    Raises:
        TypeError: If ``x``, ``weight`` or ``bias`` is not a floating-point tensor or
            ``normalized_shape`` is not int(s).
        ValueError: If ``normalized_shape`` does not match the trailing dims of ``x``,
            a parameter has the wrong shape or another device than ``x``, a tensor is
            empty or holds NaN or inf, ``x`` is too large, or ``eps`` is not finite and ``> 0``.

    Shape:
        - x: ``(*, *normalized_shape)``, e.g. ``(N, T, D)`` with ``normalized_shape=D``.
        - output: same as ``x``.

    Example:
        One sample ``[1, 3, 5, 7]`` gives the same numbers as the lecture's batch;
        with :math:`\gamma=2, \beta=0.5`: :math:`2\cdot(-3/\sqrt{5.00001}) + 0.5 = -2.1833`.

        >>> x = torch.tensor([[1.0, 3.0, 5.0, 7.0]], dtype=torch.float64)
        >>> g = torch.full((4,), 2.0, dtype=torch.float64); b = torch.full((4,), 0.5, dtype=torch.float64)
        >>> [round(v, 4) for v in layer_norm(x, 4, weight=g, bias=b)[0].tolist()]
        [-2.1833, -0.3944, 1.3944, 3.1833]
    """
    _check_input(x)
    shape = _check_shape(normalized_shape)
    eps = _check_eps(eps)
    _check_trailing(x, shape)
    _check_param("weight", weight, shape, "normalized_shape", x)
    _check_param("bias", bias, shape, "normalized_shape", x)
    dims = tuple(range(x.ndim - len(shape), x.ndim))
    y = _normalize(x, dims, True, eps)
    if weight is not None:
        y = y * weight                                   # γ ⊙ x̂
    if bias is not None:
        y = y + bias                                     # + β
    return y


def rms_norm(
    x: torch.Tensor,
    normalized_shape: int | Sequence[int],
    *,
    weight: torch.Tensor | None = None,
    eps: float | None,
) -> torch.Tensor:
    r"""Root-mean-square normalization: LayerNorm without the mean (Zhang & Sennrich, 2019).

    .. math::

        y = \frac{x}{\sqrt{\operatorname{mean}(x^2) + \epsilon}}\odot\gamma,

    the mean taken over the trailing ``normalized_shape`` axes. There is no
    centring and no shift :math:`\beta`.

    Nothing is mutated. The result has ``x``'s dtype and device (float16 and
    bfloat16 statistics are computed in float32); a meta ``x`` gives a meta result.

    Args:
        x: Input: floating point, non-empty, finite, entries of magnitude at most
            ``sqrt(finfo.max) / 2`` (about ``9.2e18`` in float32).
        normalized_shape: The trailing shape to normalize over: an int (one axis) or a
            non-empty list, tuple or ``torch.Size`` of ints ``>= 1``.
        weight: :math:`\gamma`, a finite float tensor of shape ``normalized_shape`` on
            ``x``'s device (``None``: 1).
        eps: Added to the mean square, a finite real ``> 0``, or ``None``. It has no default on purpose:
            ``None`` means ``torch.finfo(x.dtype).eps``, which is what
            ``torch.nn.RMSNorm(eps=None)`` does (about ``1.2e-7`` in float32,
            ``2.2e-16`` in float64); models usually pass ``1e-6`` or ``1e-5``.

    Returns:
        The normalized tensor, shape of ``x``.

    Raises:
        TypeError: If ``x`` or ``weight`` is not a floating-point tensor or
            ``normalized_shape`` is not int(s).
        ValueError: If ``normalized_shape`` does not match, ``weight`` has the wrong
            shape or another device than ``x``, a tensor is empty or holds NaN or inf,
            ``x`` is too large, or ``eps`` is not finite and ``> 0``.

    Shape:
        - x: ``(*, *normalized_shape)``.
        - output: same as ``x``.

    Example:
        ``[1, 3, 5, 7]``: mean square (1+9+25+49)/4 = 21, so ``x / sqrt(21)``.

        >>> x = torch.tensor([1.0, 3.0, 5.0, 7.0], dtype=torch.float64)
        >>> [round(v, 4) for v in rms_norm(x, 4, eps=1e-6).tolist()]
        [0.2182, 0.6547, 1.0911, 1.5275]
    """
    _check_input(x)
    shape = _check_shape(normalized_shape)
    eps_ = torch.finfo(x.dtype).eps if eps is None else _check_eps(eps)
    _check_trailing(x, shape)
    _check_param("weight", weight, shape, "normalized_shape", x)
    dims = tuple(range(x.ndim - len(shape), x.ndim))
    y = _normalize(x, dims, False, eps_)                 # x / sqrt(mean(x²) + ε)
    if weight is not None:
        y = y * weight                                   # γ ⊙ x̂
    return y


def group_norm(
    x: torch.Tensor,
    num_groups: int,
    *,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    eps: float = 1e-5,
) -> torch.Tensor:
    r"""Group normalization: per sample, over groups of ``C / G`` channels and all spatial axes.

    .. math::

        y_{n,c,\ldots} = \frac{x_{n,c,\ldots} - \mu_{n,g(c)}}{\sqrt{\sigma^2_{n,g(c)} + \epsilon}}\,
        \gamma_c + \beta_c,

    where :math:`g(c) = \lfloor c / (C/G) \rfloor` and the statistics run over the
    channels of group :math:`g` and every spatial position (Wu & He, 2018).
    ``num_groups=1`` is LayerNorm over ``(C, H, W)``; ``num_groups=C`` is InstanceNorm.

    Nothing is mutated. The result has ``x``'s dtype and device (float16 and
    bfloat16 statistics are computed in float32); a meta ``x`` gives a meta result.

    Args:
        x: Input ``(N, C, *)``: floating point, non-empty, finite, entries of magnitude
            at most ``sqrt(finfo.max) / 2`` (about ``9.2e18`` in float32).
        num_groups: :math:`G`, an int ``>= 1`` which must divide ``C``.
        weight: Per-channel :math:`\gamma`, a finite float tensor of shape ``(C,)`` on
            ``x``'s device (``None``: 1).
        bias: Per-channel :math:`\beta`, likewise (``None``: 0).
        eps: Added to the variance, a finite real ``> 0``.

    Returns:
        The normalized tensor, shape and device of ``x`` (dtype of ``x``, promoted with
        those of ``weight`` and ``bias``).

    Raises:
        TypeError: If ``x``, ``weight`` or ``bias`` is not a floating-point tensor or
            ``num_groups`` not an int.
        ValueError: If ``x`` has fewer than 2 dims, ``num_groups`` does not divide ``C``,
            a parameter has the wrong shape or another device than ``x``, a tensor is
            empty or holds NaN or inf, ``x`` is too large, or ``eps`` is not finite and ``> 0``.

    Shape:
        - x: ``(N, C, *)``, e.g. ``(N, C, H, W)``.
        - output: same as ``x``.

    Example:
        Two channels in one group of one sample, values ``[1, 3]`` and ``[5, 7]``:
        the four values share mean 4 and variance 5.

        >>> x = torch.tensor([[[1.0, 3.0], [5.0, 7.0]]], dtype=torch.float64)
        >>> [round(v, 4) for v in group_norm(x, 1).flatten().tolist()]
        [-1.3416, -0.4472, 0.4472, 1.3416]
    """
    _check_input(x)
    if x.ndim < 2:
        raise ValueError(f"x must be at least 2-D (N, C, *) (got {x.ndim}-D, shape {tuple(x.shape)})")
    num_groups = check_int("num_groups", num_groups, minimum=1)
    eps = _check_eps(eps)
    n, c = x.shape[0], x.shape[1]
    if c % num_groups != 0:
        raise ValueError(f"num_groups must divide the number of channels {c} (got {num_groups}) "
                         f"of x, shape {tuple(x.shape)}")
    _check_param("weight", weight, (c,), "(C,), the channels of x", x)
    _check_param("bias", bias, (c,), "(C,), the channels of x", x)
    # group-start
    xg = x.reshape(n, num_groups, -1)                    # (N, G, C/G · spatial): one row per group
    y = _normalize(xg, (2,), True, eps).reshape(x.shape)
    affine_shape = (1, c) + (1,) * (x.ndim - 2)          # broadcast γ_c, β_c over spatial axes
    if weight is not None:
        y = y * weight.reshape(affine_shape)
    if bias is not None:
        y = y + bias.reshape(affine_shape)
    # group-end
    return y


# --- which entries share statistics ---------------------------------------

def stat_groups(shape: Sequence[int], kind: str, *, num_groups: int = 1) -> torch.Tensor:
    """Label every entry of a tensor of ``shape`` with the statistics set it belongs to.

    Two entries get the same label exactly when a norm layer of type ``kind``
    computes their mean and variance together. ``shape`` is ``(N, C, *)``; for
    ``"layer"`` and ``"rms"`` the set is everything but the batch axis, i.e.
    ``normalized_shape = shape[1:]``.

    Args:
        shape: The tensor shape: a list, tuple or ``torch.Size`` of at least 2 ints
            ``>= 1``, describing at most ``2**31 - 1`` entries.
        kind: ``"batch"``, ``"layer"``, ``"rms"``, ``"group"`` or ``"instance"``.
        num_groups: Groups for ``"group"``, an int ``>= 1`` (must divide ``shape[1]``).

    Returns:
        A CPU int64 tensor of ``shape`` with labels ``0, 1, ...`` in order of first appearance.

    Raises:
        TypeError: If ``shape`` is not a sequence of ints or ``num_groups`` not an int.
        ValueError: If ``kind`` is unknown, ``shape`` has fewer than 2 dims, an axis
            below 1, or too many entries, or ``num_groups`` does not divide the channels.

    Example:
        >>> stat_groups((2, 4), "batch").tolist()
        [[0, 1, 2, 3], [0, 1, 2, 3]]
        >>> stat_groups((2, 4), "group", num_groups=2).tolist()
        [[0, 0, 1, 1], [2, 2, 3, 3]]
    """
    kind = check_choice("kind", kind, KINDS)
    dims = check_size("shape", shape, allow_int=False, min_dims=2)
    num_groups = check_count("num_groups", num_groups)
    n, c = dims[0], dims[1]
    if kind == "group" and c % num_groups != 0:
        raise ValueError(f"num_groups must divide the number of channels {c} (got {num_groups})")
    idx_n = torch.arange(n).reshape((n,) + (1,) * (len(dims) - 1)).expand(dims)
    idx_c = torch.arange(c).reshape((1, c) + (1,) * (len(dims) - 2)).expand(dims)
    if kind == "batch":
        label = idx_c
    elif kind in ("layer", "rms"):
        label = idx_n
    elif kind == "instance":
        label = idx_n * c + idx_c
    else:
        label = idx_n * num_groups + idx_c // (c // num_groups)
    return label.contiguous().to(torch.int64)


# --- modules --------------------------------------------------------------

class LayerNorm(nn.Module):
    r"""Module form of :func:`layer_norm`, with ``torch.nn.LayerNorm``'s names and defaults.

    Args:
        normalized_shape: An int or a non-empty list, tuple or ``torch.Size`` of ints
            ``>= 1``, at most ``2**31 - 1`` entries in all.
        eps: A finite real ``> 0``.
        elementwise_affine: A bool: learn :math:`\gamma` (ones) and, with ``bias``, :math:`\beta` (zeros).
        bias: A bool: learn :math:`\beta` too.

    Raises:
        TypeError, ValueError: If an argument has the wrong type or is out of range (named in the message).

    Shape:
        - Input: ``(*, *normalized_shape)``, as :func:`layer_norm` accepts it, on the
          parameters' device. Output: same shape.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.normalized_shape = _check_shape(normalized_shape)
        self.eps = _check_eps(eps)
        elementwise_affine = check_bool("elementwise_affine", elementwise_affine)
        bias = check_bool("bias", bias)
        self.weight = nn.Parameter(torch.ones(self.normalized_shape)) if elementwise_affine else None
        self.bias = nn.Parameter(torch.zeros(self.normalized_shape)) if elementwise_affine and bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return layer_norm(x, self.normalized_shape, weight=self.weight, bias=self.bias, eps=self.eps)


class RMSNorm(nn.Module):
    r"""Module form of :func:`rms_norm`, with ``torch.nn.RMSNorm``'s names and defaults.

    ``eps=None`` means ``torch.finfo(x.dtype).eps``, as in torch.

    Args:
        normalized_shape: An int or a non-empty list, tuple or ``torch.Size`` of ints
            ``>= 1``, at most ``2**31 - 1`` entries in all.
        eps: A finite real ``> 0``, or ``None``.
        elementwise_affine: A bool: learn :math:`\gamma` (ones).

    Raises:
        TypeError, ValueError: If an argument has the wrong type or is out of range (named in the message).

    Shape:
        - Input: ``(*, *normalized_shape)``, as :func:`rms_norm` accepts it, on the
          parameters' device. Output: same shape.
    """

    def __init__(
        self, normalized_shape: int | Sequence[int], eps: float | None = None, elementwise_affine: bool = True
    ) -> None:
        super().__init__()
        self.normalized_shape = _check_shape(normalized_shape)
        self.eps = None if eps is None else _check_eps(eps)
        elementwise_affine = check_bool("elementwise_affine", elementwise_affine)
        self.weight = nn.Parameter(torch.ones(self.normalized_shape)) if elementwise_affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rms_norm(x, self.normalized_shape, weight=self.weight, eps=self.eps)


class GroupNorm(nn.Module):
    r"""Module form of :func:`group_norm`, with ``torch.nn.GroupNorm``'s names and defaults.

    Args:
        num_groups: An int in ``[1, 2**31 - 1]`` dividing ``num_channels``.
        num_channels: An int in ``[1, 2**31 - 1]``.
        eps: A finite real ``> 0``.
        affine: A bool: learn per-channel :math:`\gamma` (ones) and :math:`\beta` (zeros).

    Raises:
        TypeError, ValueError: If an argument has the wrong type or is out of range (named in the message).

    Shape:
        - Input: ``(N, C, *)`` with ``C = num_channels``, as :func:`group_norm` accepts it,
          on the parameters' device. Output: same shape.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.num_groups = check_count("num_groups", num_groups)
        self.num_channels = check_count("num_channels", num_channels)
        if num_channels % num_groups != 0:
            raise ValueError(f"num_groups must divide num_channels {num_channels} (got {num_groups})")
        self.eps = _check_eps(eps)
        affine = check_bool("affine", affine)
        self.weight = nn.Parameter(torch.ones(num_channels)) if affine else None
        self.bias = nn.Parameter(torch.zeros(num_channels)) if affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return group_norm(x, self.num_groups, weight=self.weight, bias=self.bias, eps=self.eps)
