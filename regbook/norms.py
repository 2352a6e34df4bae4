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

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from regbook._checks import check_choice, check_float_tensor, check_int, check_positive
from regbook.data import digits

__all__ = [
    "GroupNorm",
    "LayerNorm",
    "NormConvergence",
    "NormTiming",
    "RMSNorm",
    "group_norm",
    "layer_norm",
    "norm_convergence",
    "normalize",
    "rms_norm",
    "stat_groups",
    "time_norms",
]

KINDS = ("batch", "layer", "rms", "group", "instance")


# --- argument checks ------------------------------------------------------

def _check_eps(eps: object) -> float:
    return check_positive("eps", eps)


def _check_shape(normalized_shape: object) -> tuple[int, ...]:
    if isinstance(normalized_shape, bool):
        raise TypeError(f"normalized_shape must be an int or a sequence of ints (got bool {normalized_shape!r})")
    if isinstance(normalized_shape, int):
        return (check_int("normalized_shape", normalized_shape, minimum=1),)
    if not isinstance(normalized_shape, (tuple, list, torch.Size)) or len(normalized_shape) == 0:
        raise TypeError(
            f"normalized_shape must be an int or a non-empty sequence of ints (got {normalized_shape!r})"
        )
    return tuple(check_int("normalized_shape", d, minimum=1) for d in normalized_shape)


def _check_trailing(x: torch.Tensor, shape: tuple[int, ...]) -> None:
    if x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise ValueError(
            f"normalized_shape must equal the trailing dims of x: expected x of shape (*, "
            f"{', '.join(map(str, shape))}) (got {tuple(x.shape)})"
        )


def _check_param(name: str, p: torch.Tensor | None, shape: tuple[int, ...]) -> None:
    if p is None:
        return
    check_float_tensor(name, p)
    if tuple(p.shape) != shape:
        raise ValueError(f"{name} must have shape {shape} (got {tuple(p.shape)})")


# --- the one formula ------------------------------------------------------

def _normalize(x: torch.Tensor, dims: tuple[int, ...], center: bool, eps: float) -> torch.Tensor:
    if x.dtype in (torch.float16, torch.bfloat16):
        # Statistics in float32, as torch's kernels keep them: in float16 the square
        # of any |x| > 256 overflows (max 65504), and bfloat16 has 8 bits of mantissa.
        return _normalize(x.float(), dims, center, eps).to(x.dtype)
    if center:
        mean = x.mean(dim=dims, keepdim=True)          # μ_S
        x = x - mean                                    # x - μ_S
    var = (x * x).mean(dim=dims, keepdim=True)          # σ²_S (two-pass), or mean(x²) if not centred
    return x * torch.rsqrt(var + eps)                   # x̂ = (x - μ_S) / sqrt(σ²_S + ε)


def normalize(x: torch.Tensor, dims: Sequence[int], *, center: bool, eps: float) -> torch.Tensor:
    r"""Standardize ``x`` over the axes ``dims``: the formula shared by every norm layer.

    .. math::

        \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}},\quad
        \mu = \operatorname{mean}_{\text{dims}}(x),\quad
        \sigma^2 = \operatorname{mean}_{\text{dims}}\big((x-\mu)^2\big)

    With ``center=False`` the mean is not subtracted (:math:`\mu := 0`), so the
    denominator is the root mean square, :math:`\sqrt{\operatorname{mean}(x^2)+\epsilon}`.
    The variance is biased (divides by the set size), as in every torch norm layer.

    Args:
        x: Input tensor, floating point.
        dims: The axes reduced over (negative indices allowed); every other axis
            indexes a separate set of statistics.
        center: Subtract the mean (LayerNorm, BatchNorm, GroupNorm) or not (RMSNorm).
        eps: Added to the variance, ``> 0``.

    Returns:
        A tensor of the shape of ``x``.

    Raises:
        TypeError: If ``x`` is not a floating-point tensor or ``dims`` are not ints.
        ValueError: If a dim is out of range or repeated, or ``eps <= 0``.

    Shape:
        Any shape; the output has the input's shape.

    Example:
        The lecture's mini-batch ``[1, 3, 5, 7]``: mean 4, variance (9+1+1+9)/4 = 5.

        >>> x = torch.tensor([1.0, 3.0, 5.0, 7.0], dtype=torch.float64)
        >>> [round(v, 4) for v in normalize(x, (0,), center=True, eps=1e-5).tolist()]
        [-1.3416, -0.4472, 0.4472, 1.3416]
    """
    check_float_tensor("x", x)
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
    return _normalize(x, tuple(axes), bool(center), eps)


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

    Args:
        x: Input, floating point.
        normalized_shape: The trailing shape to normalize over (an int means one axis).
        weight: :math:`\gamma`, of shape ``normalized_shape`` (``None``: 1).
        bias: :math:`\beta`, of shape ``normalized_shape`` (``None``: 0).
        eps: Added to the variance, ``> 0`` (torch's default ``1e-5``).

    Returns:
        The normalized tensor, shape of ``x``.

    Raises:
        TypeError: If ``x`` is not a floating-point tensor or ``normalized_shape`` is not int(s).
        ValueError: If ``normalized_shape`` does not match the trailing dims of ``x``,
            a parameter has the wrong shape, or ``eps <= 0``.

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
    check_float_tensor("x", x)
    shape = _check_shape(normalized_shape)
    eps = _check_eps(eps)
    _check_trailing(x, shape)
    _check_param("weight", weight, shape)
    _check_param("bias", bias, shape)
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

    Args:
        x: Input, floating point.
        normalized_shape: The trailing shape to normalize over.
        weight: :math:`\gamma`, of shape ``normalized_shape`` (``None``: 1).
        eps: Added to the mean square, ``> 0``. It has no default on purpose:
            ``None`` means ``torch.finfo(x.dtype).eps``, which is what
            ``torch.nn.RMSNorm(eps=None)`` does (about ``1.2e-7`` in float32,
            ``2.2e-16`` in float64); models usually pass ``1e-6`` or ``1e-5``.

    Returns:
        The normalized tensor, shape of ``x``.

    Raises:
        TypeError: If ``x`` is not a floating-point tensor.
        ValueError: If ``normalized_shape`` does not match, ``weight`` has the wrong
            shape, or ``eps <= 0``.

    Shape:
        - x: ``(*, *normalized_shape)``.
        - output: same as ``x``.

    Example:
        ``[1, 3, 5, 7]``: mean square (1+9+25+49)/4 = 21, so ``x / sqrt(21)``.

        >>> x = torch.tensor([1.0, 3.0, 5.0, 7.0], dtype=torch.float64)
        >>> [round(v, 4) for v in rms_norm(x, 4, eps=1e-6).tolist()]
        [0.2182, 0.6547, 1.0911, 1.5275]
    """
    check_float_tensor("x", x)
    shape = _check_shape(normalized_shape)
    eps_ = torch.finfo(x.dtype).eps if eps is None else _check_eps(eps)
    _check_trailing(x, shape)
    _check_param("weight", weight, shape)
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

    Args:
        x: Input ``(N, C, *)``, floating point.
        num_groups: :math:`G`, which must divide ``C``.
        weight: Per-channel :math:`\gamma`, shape ``(C,)`` (``None``: 1).
        bias: Per-channel :math:`\beta`, shape ``(C,)`` (``None``: 0).
        eps: Added to the variance, ``> 0``.

    Returns:
        The normalized tensor, shape of ``x``.

    Raises:
        TypeError: If ``x`` is not a floating-point tensor or ``num_groups`` not an int.
        ValueError: If ``x`` has fewer than 2 dims, ``num_groups`` does not divide ``C``,
            a parameter has the wrong shape, or ``eps <= 0``.

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
    check_float_tensor("x", x)
    if x.ndim < 2:
        raise ValueError(f"x must be at least 2-D (N, C, *) (got {x.ndim}-D, shape {tuple(x.shape)})")
    num_groups = check_int("num_groups", num_groups, minimum=1)
    eps = _check_eps(eps)
    n, c = x.shape[0], x.shape[1]
    if c % num_groups != 0:
        raise ValueError(f"num_groups must divide the number of channels {c} (got {num_groups})")
    _check_param("weight", weight, (c,))
    _check_param("bias", bias, (c,))
    xg = x.reshape(n, num_groups, -1)                    # (N, G, C/G · spatial)
    y = _normalize(xg, (2,), True, eps).reshape(x.shape)
    affine_shape = (1, c) + (1,) * (x.ndim - 2)          # broadcast γ_c, β_c over spatial axes
    if weight is not None:
        y = y * weight.reshape(affine_shape)
    if bias is not None:
        y = y + bias.reshape(affine_shape)
    return y


# --- which entries share statistics ---------------------------------------

def stat_groups(shape: Sequence[int], kind: str, *, num_groups: int = 1) -> torch.Tensor:
    """Label every entry of a tensor of ``shape`` with the statistics set it belongs to.

    Two entries get the same label exactly when a norm layer of type ``kind``
    computes their mean and variance together. ``shape`` is ``(N, C, *)``; for
    ``"layer"`` and ``"rms"`` the set is everything but the batch axis, i.e.
    ``normalized_shape = shape[1:]``.

    Args:
        shape: The tensor shape, at least 2-D.
        kind: ``"batch"``, ``"layer"``, ``"rms"``, ``"group"`` or ``"instance"``.
        num_groups: Groups for ``"group"`` (must divide ``shape[1]``).

    Returns:
        An int64 tensor of ``shape`` with labels ``0, 1, ...`` in order of first appearance.

    Raises:
        ValueError: If ``kind`` is unknown, ``shape`` has fewer than 2 dims or
            ``num_groups`` does not divide the channels.

    Example:
        >>> stat_groups((2, 4), "batch").tolist()
        [[0, 1, 2, 3], [0, 1, 2, 3]]
        >>> stat_groups((2, 4), "group", num_groups=2).tolist()
        [[0, 0, 1, 1], [2, 2, 3, 3]]
    """
    kind = check_choice("kind", kind, KINDS)
    if not isinstance(shape, (tuple, list, torch.Size)) or len(shape) < 2:
        raise ValueError(f"shape must have at least 2 dims (N, C, *) (got {shape!r})")
    dims = tuple(check_int("shape", d, minimum=1) for d in shape)
    num_groups = check_int("num_groups", num_groups, minimum=1)
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
    """Module form of :func:`layer_norm`, with ``torch.nn.LayerNorm``'s names and defaults.

    Shape:
        - Input: ``(*, *normalized_shape)``. Output: same shape.
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
        self.weight = nn.Parameter(torch.ones(self.normalized_shape)) if elementwise_affine else None
        self.bias = nn.Parameter(torch.zeros(self.normalized_shape)) if elementwise_affine and bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return layer_norm(x, self.normalized_shape, weight=self.weight, bias=self.bias, eps=self.eps)


class RMSNorm(nn.Module):
    """Module form of :func:`rms_norm`, with ``torch.nn.RMSNorm``'s names and defaults.

    ``eps=None`` means ``torch.finfo(x.dtype).eps``, as in torch.

    Shape:
        - Input: ``(*, *normalized_shape)``. Output: same shape.
    """

    def __init__(
        self, normalized_shape: int | Sequence[int], eps: float | None = None, elementwise_affine: bool = True
    ) -> None:
        super().__init__()
        self.normalized_shape = _check_shape(normalized_shape)
        self.eps = None if eps is None else _check_eps(eps)
        self.weight = nn.Parameter(torch.ones(self.normalized_shape)) if elementwise_affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rms_norm(x, self.normalized_shape, weight=self.weight, eps=self.eps)


class GroupNorm(nn.Module):
    """Module form of :func:`group_norm`, with ``torch.nn.GroupNorm``'s names and defaults.

    Shape:
        - Input: ``(N, C, *)`` with ``C = num_channels``. Output: same shape.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.num_groups = check_int("num_groups", num_groups, minimum=1)
        self.num_channels = check_int("num_channels", num_channels, minimum=1)
        if num_channels % num_groups != 0:
            raise ValueError(f"num_groups must divide num_channels {num_channels} (got {num_groups})")
        self.eps = _check_eps(eps)
        self.weight = nn.Parameter(torch.ones(num_channels)) if affine else None
        self.bias = nn.Parameter(torch.zeros(num_channels)) if affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return group_norm(x, self.num_groups, weight=self.weight, bias=self.bias, eps=self.eps)


# --- experiment: is RMSNorm cheaper? --------------------------------------

@dataclass
class NormTiming:
    """Median wall-clock seconds of LayerNorm and RMSNorm at one shape (from :func:`time_norms`).

    Keys of the dicts are ``"library"`` (``F.layer_norm`` / ``F.rms_norm``) and
    ``"scratch"`` (this module's :func:`layer_norm` / :func:`rms_norm` formula,
    without argument checks), each for ``"fwd"`` and ``"fwd+bwd"``.
    """

    shape: tuple[int, ...]
    layer: dict[str, float] = field(default_factory=dict)
    rms: dict[str, float] = field(default_factory=dict)

    def ratio(self, key: str) -> float:
        """RMSNorm time / LayerNorm time for ``key`` such as ``"library fwd"``; below 1 means cheaper."""
        return self.rms[key] / self.layer[key]


def _median_times(fns: Sequence[Callable[[], object]], repeats: int) -> list[float]:
    """Median time of each function, calling them in turn so that they share the machine's load."""
    for fn in fns:
        fn()  # warm-up: allocations, first-call dispatch
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, record in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            record.append(time.perf_counter() - t0)
    return [float(statistics.median(t)) for t in times]


def _time_shape(dims: tuple[int, ...], gen: torch.Generator, repeats: int, eps: float) -> NormTiming:
    d = dims[-1]
    x = torch.randn(dims, generator=gen).requires_grad_(True)
    w = (1 + 0.1 * torch.randn(d, generator=gen)).requires_grad_(True)
    b = (0.1 * torch.randn(d, generator=gen)).requires_grad_(True)
    g = torch.randn(dims, generator=gen)
    variants: dict[str, dict[str, Callable[[], torch.Tensor]]] = {
        "library": {
            "layer": lambda: F.layer_norm(x, (d,), w, b, eps),
            "rms": lambda: F.rms_norm(x, (d,), w, eps),
        },
        "scratch": {  # the same formula as layer_norm / rms_norm, without the argument checks
            "layer": lambda: _normalize(x, (-1,), True, eps) * w + b,
            "rms": lambda: _normalize(x, (-1,), False, eps) * w,
        },
    }

    def fwd(fn: Callable[[], torch.Tensor]) -> Callable[[], None]:
        def run() -> None:
            with torch.no_grad():
                fn()
        return run

    def fwd_bwd(fn: Callable[[], torch.Tensor]) -> Callable[[], None]:
        def run() -> None:
            x.grad = w.grad = b.grad = None
            fn().backward(g)
        return run

    timing = NormTiming(shape=dims)
    for impl, fns in variants.items():
        for mode, wrap in (("fwd", fwd), ("fwd+bwd", fwd_bwd)):
            t_layer, t_rms = _median_times([wrap(fns["layer"]), wrap(fns["rms"])], repeats)
            timing.layer[f"{impl} {mode}"] = t_layer
            timing.rms[f"{impl} {mode}"] = t_rms
    return timing


def time_norms(
    shapes: Sequence[Sequence[int]], *, repeats: int = 7, eps: float = 1e-5, seed: int = 0
) -> list[NormTiming]:
    """Time LayerNorm against RMSNorm (float32, affine, over the last axis) at each shape.

    For every shape, four variants (library / from scratch, forward / forward +
    backward) are each run ``repeats`` times after one warm-up call, and the
    median of ``time.perf_counter`` differences is kept. Absolute times depend on
    the machine and its load; only the ratios are meant to be read. Set the
    thread count (``torch.set_num_threads``) before calling.

    Args:
        shapes: Input shapes ``(*, D)``.
        repeats: Timed repetitions per variant, ``>= 1``.
        eps: Epsilon for both norms.
        seed: Seed of the random input.

    Returns:
        One :class:`NormTiming` per shape.

    Raises:
        ValueError: If ``repeats < 1``, a shape is empty, or ``eps <= 0``.
    """
    repeats = check_int("repeats", repeats, minimum=1)
    eps = _check_eps(eps)
    check_int("seed", seed)
    out = []
    gen = torch.Generator().manual_seed(seed)
    for shape in shapes:
        if not isinstance(shape, (tuple, list)) or len(shape) == 0:
            raise ValueError(f"each shape must be a non-empty tuple of ints (got {shape!r})")
        dims = tuple(check_int("shape", d, minimum=1) for d in shape)
        timing = _time_shape(dims, gen, repeats, eps)
        out.append(timing)
    return out


# --- experiment: does RMSNorm train as well? ------------------------------

@dataclass
class NormConvergence:
    """Training curves of the same MLP with LayerNorm and with RMSNorm (from :func:`norm_convergence`)."""

    train_loss: dict[str, list[list[float]]]
    test_accuracy: dict[str, list[float]]
    seeds: list[int]


def _mlp(norm: str, hidden: int, gen: torch.Generator) -> nn.Sequential:
    def lin(i: int, o: int) -> nn.Linear:
        layer = nn.Linear(i, o)
        nn.init.kaiming_uniform_(layer.weight, a=5**0.5, generator=gen)   # torch's default, seeded
        nn.init.uniform_(layer.bias, -1 / i**0.5, 1 / i**0.5, generator=gen)
        return layer

    def nrm() -> nn.Module:
        return LayerNorm(hidden) if norm == "layer" else RMSNorm(hidden, eps=1e-5)

    return nn.Sequential(
        lin(64, hidden), nrm(), nn.ReLU(),
        lin(hidden, hidden), nrm(), nn.ReLU(),
        lin(hidden, hidden), nrm(), nn.ReLU(),
        lin(hidden, 10),
    )


def norm_convergence(
    *, n_train: int = 1000, hidden: int = 64, steps: int = 300, batch_size: int = 64,
    lr: float = 3e-3, seeds: Sequence[int] = (0, 1, 2),
) -> NormConvergence:
    """Train a 3-hidden-layer MLP on the 8×8 digits with LayerNorm, then with RMSNorm.

    Both runs of a seed share the initial linear weights and the mini-batch order,
    so the only difference is the norm layer. Adam, cross-entropy.

    Args:
        n_train: Training images (the test set is the rest of the 1,797 digits).
        hidden: Width of the hidden layers.
        steps: Adam steps.
        batch_size: Mini-batch size.
        lr: Adam learning rate.
        seeds: One run per seed and norm.

    Returns:
        Per-step training losses and final test accuracies, keyed ``"layer"`` / ``"rms"``.

    Raises:
        ValueError: If a size is out of range or ``lr <= 0``.
    """
    n_train = check_int("n_train", n_train, minimum=10)
    hidden = check_int("hidden", hidden, minimum=1)
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_positive("lr", lr)
    seeds = [check_int("seeds", s) for s in seeds]
    tr, _, te = digits(n_train, 0, seed=0)
    losses: dict[str, list[list[float]]] = {"layer": [], "rms": []}
    accs: dict[str, list[float]] = {"layer": [], "rms": []}
    for seed in seeds:
        for norm in ("layer", "rms"):
            gen = torch.Generator().manual_seed(seed)
            model = _mlp(norm, hidden, gen)
            opt = torch.optim.Adam(model.parameters(), lr=lr)
            curve = []
            for _ in range(steps):
                idx = torch.randint(0, n_train, (batch_size,), generator=gen)
                loss = F.cross_entropy(model(tr.x[idx]), tr.y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                curve.append(loss.item())
            with torch.no_grad():
                acc = float((model(te.x).argmax(1) == te.y).float().mean())
            losses[norm].append(curve)
            accs[norm].append(acc)
    return NormConvergence(train_loss=losses, test_accuracy=accs, seeds=list(seeds))

