r"""Mixup and CutMix: augment the label as well as the input (chapter *mixup*).

Mixup (Zhang et al. 2018) blends two examples and their one-hot labels with
one ratio :math:`\lambda \sim \mathrm{Beta}(\alpha, \alpha)`:

.. math::

    \tilde x = \lambda x_A + (1-\lambda) x_B, \qquad
    \tilde y = \lambda y_A + (1-\lambda) y_B .

CutMix (Yun et al. 2019) pastes a box of :math:`x_B` into :math:`x_A` instead;
the label weight is the area that is still :math:`x_A`. Because the loss is
linear in the target, training on :math:`\tilde y` is the same as mixing two
ordinary cross-entropies:

.. math::

    \mathrm{CE}(z, \tilde y) = \lambda\,\mathrm{CE}(z, y_A) + (1-\lambda)\,\mathrm{CE}(z, y_B).

All randomness (λ, the partner permutation, the box) comes from an explicit
:class:`torch.Generator`; the global RNG is never touched.

The contract every function here keeps: inputs are non-empty floating-point
:class:`torch.Tensor` objects with finite entries and class indices are 1-D
int64 tensors (values in ``[0, K - 1]`` where ``K`` is known; on the device of
the scores or of each other where they are combined, else ``ValueError``). A
meta input gives a meta result of the right shape. Numbers are real
numbers (a bool is not), finite and in the documented range; sizes and class
counts are ints up to ``2**31 - 1``. Nothing passed in is mutated except that
the generator advances; every check runs before anything is drawn, and its
``TypeError`` or ``ValueError`` names the argument and the allowed range.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from regbook._checks import (
    check_class_indices,
    check_count,
    check_float_dtype,
    check_float_tensor,
    check_generator,
    check_in_range,
    check_positive,
    check_same_device,
)

__all__ = [
    "CutMix",
    "Mixup",
    "cutmix_batch",
    "cutmix_box",
    "mix_labels",
    "mixed_loss",
    "mixup_batch",
    "sample_beta",
]


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


def _check_batch(x: object, y: object, *, image: bool) -> tuple[torch.Tensor, torch.Tensor]:
    if image:
        x = check_float_tensor("x", x, ndim=4)
    else:
        x = check_float_tensor("x", x)
        if x.ndim < 2:
            raise ValueError(f"x must be at least 2-D (N, ...) (got {x.ndim}-D, shape {tuple(x.shape)})")
    y = check_class_indices("y", y)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same batch size (got {x.shape[0]} and {y.shape[0]})")
    return x, y


# ---------------------------------------------------------------------------
# λ ~ Beta(α, α) from a Generator
# ---------------------------------------------------------------------------


def _log_gamma(a: float, generator: torch.Generator) -> float:
    """log of one Gamma(a, 1) draw (Marsaglia & Tsang 2000; boosted for a < 1, in logs)."""
    if a < 1:
        u = 1.0 - float(torch.rand((), generator=generator, dtype=torch.float64))  # in (0, 1]
        return _log_gamma(a + 1, generator) + math.log(u) / a
    d = a - 1 / 3
    c = 1 / math.sqrt(9 * d)
    while True:
        z = float(torch.randn((), generator=generator, dtype=torch.float64))
        v = (1 + c * z) ** 3
        if v <= 0:
            continue
        u = 1.0 - float(torch.rand((), generator=generator, dtype=torch.float64))
        if math.log(u) < 0.5 * z * z + d - d * v + d * math.log(v):
            return math.log(d * v)


def sample_beta(alpha: float, beta: float | None = None, *, generator: torch.Generator) -> float:
    r"""One draw of :math:`\lambda \sim \mathrm{Beta}(\alpha, \beta)` (``beta`` defaults to ``alpha``).

    Uses :math:`\lambda = G_1 / (G_1 + G_2)` with :math:`G_1 \sim \Gamma(\alpha)`,
    :math:`G_2 \sim \Gamma(\beta)`, each drawn by Marsaglia and Tsang's method
    from the generator's normals and uniforms. Computed in logs, so small
    :math:`\alpha` (where both gammas can underflow) is safe.

    Args:
        alpha: :math:`\alpha > 0`.
        beta: :math:`\beta > 0`, default ``alpha``.
        generator: Source of randomness.

    Returns:
        A Python float in [0, 1].

    >>> g = torch.Generator().manual_seed(0)
    >>> lams = [sample_beta(0.2, generator=g) for _ in range(2000)]
    >>> round(sum(lams) / len(lams), 1)     # Beta(α, α) has mean 1/2
    0.5
    """
    a = check_positive("alpha", alpha)
    b = a if beta is None else check_positive("beta", beta)
    check_generator("generator", generator)
    l1, l2 = _log_gamma(a, generator), _log_gamma(b, generator)
    diff = l2 - l1
    if diff > 700:
        return 0.0
    return 1.0 / (1.0 + math.exp(diff))


# ---------------------------------------------------------------------------
# Mixing a batch
# ---------------------------------------------------------------------------


def mixup_batch(
    x: torch.Tensor, y: torch.Tensor, *, alpha: float = 0.2, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    r"""Mixup: blend every example with a random partner from the same batch.

    .. math::

        \lambda \sim \mathrm{Beta}(\alpha, \alpha), \qquad
        \tilde x_i = \lambda x_i + (1-\lambda)\, x_{\pi(i)},

    with :math:`\pi` a random permutation; the labels come back as the pair
    :math:`(y_i, y_{\pi(i)})` for :func:`mixed_loss`.

    Args:
        x: Inputs ``(N, ...)``, floating point.
        y: Class indices ``(N,)``, int64.
        alpha: Beta parameter :math:`\alpha > 0` (small α: λ near 0 or 1, mild mixing).
        generator: Source of randomness for λ and :math:`\pi`.

    Returns:
        ``(x_mix, y_a, y_b, lam)``: mixed inputs (same shape as ``x``), ``y``,
        ``y[perm]`` and λ as a Python float.

    Raises:
        TypeError: If ``x`` is not floating point or ``y`` not int64.
        ValueError: If ``alpha <= 0``, ``x`` is not at least 2-D, ``y`` is not 1-D,
            or the batch sizes differ.

    Shape:
        ``x``: ``(N, *)``; ``y``: ``(N,)``.

    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> x_mix, y_a, y_b, lam = mixup_batch(x, torch.tensor([0, 1]), alpha=0.2, generator=g)
    >>> perm = y_b              # y is arange(N), so y_b is the permutation itself
    >>> bool(torch.allclose(x_mix, lam * x + (1 - lam) * x[perm]))
    True
    >>> bool(torch.allclose(x_mix.sum(1), torch.ones(2)))   # rows still sum to 1: a convex mix
    True
    """
    x, y = _check_batch(x, y, image=False)
    a = check_positive("alpha", alpha)
    check_generator("generator", generator)
    # mixup-start
    lam = sample_beta(a, generator=generator)
    perm = torch.randperm(x.shape[0], generator=generator)
    x_mix = lam * x + (1 - lam) * x[perm]
    # mixup-end
    return x_mix, y, y[perm], lam


def cutmix_box(height: int, width: int, lam: float, *, generator: torch.Generator) -> tuple[int, int, int, int]:
    r"""CutMix's box for a nominal λ: side ratio :math:`\sqrt{1-\lambda}`, uniform centre, clipped.

    As in the paper's code: ``cut_h = int(H * sqrt(1 - lam))`` (same for
    ``W``), centre :math:`(c_y, c_x)` uniform over the pixels, and corners
    :math:`c \pm \lfloor \text{cut}/2 \rfloor` clipped to the image. Rounding
    down and clipping both make the pasted area differ from :math:`1-\lambda`.

    Args:
        height, width: Image size, ints in [1, 2**31 - 1].
        lam: Nominal λ, a real number in [0, 1].
        generator: Source of randomness for the centre (:class:`torch.Generator`); advanced by two draws.

    Returns:
        ``(y1, y2, x1, x2)``: rows ``y1:y2`` and columns ``x1:x2`` are pasted.

    Raises:
        TypeError: If a size is not an int, ``lam`` not a real number or ``generator`` not a Generator.
        ValueError: If a size or ``lam`` is out of range (before anything is drawn).

    >>> g = torch.Generator().manual_seed(0)
    >>> y1, y2, x1, x2 = cutmix_box(32, 32, 0.75, generator=g)   # nominal box 16 x 16
    >>> 0 <= y1 <= y2 <= 32 and 0 <= x1 <= x2 <= 32 and (y2 - y1) <= 16
    True
    """
    H = check_count("height", height)
    W = check_count("width", width)
    lam = check_in_range("lam", lam, 0.0, 1.0)
    check_generator("generator", generator)
    # box-start
    cut = math.sqrt(1.0 - lam)
    cut_h, cut_w = int(H * cut), int(W * cut)
    cy = int(torch.randint(0, H, (), generator=generator))
    cx = int(torch.randint(0, W, (), generator=generator))
    y1, y2 = min(max(cy - cut_h // 2, 0), H), min(max(cy + cut_h // 2, 0), H)
    x1, x2 = min(max(cx - cut_w // 2, 0), W), min(max(cx + cut_w // 2, 0), W)
    # box-end
    return y1, y2, x1, x2


def cutmix_batch(
    x: torch.Tensor, y: torch.Tensor, *, alpha: float = 1.0, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    r"""CutMix: paste a box of a random partner into every image; λ is the area left.

    A nominal :math:`\lambda_0 \sim \mathrm{Beta}(\alpha, \alpha)` sets the
    box (:func:`cutmix_box`); the returned λ is **recomputed from the box
    actually pasted**:

    .. math::

        \lambda = 1 - \frac{(y_2 - y_1)(x_2 - x_1)}{H W},

    so it is exactly the fraction of pixels that still come from :math:`x_i`.

    Args:
        x: Images ``(N, C, H, W)``, floating point.
        y: Class indices ``(N,)``, int64.
        alpha: Beta parameter :math:`\alpha > 0` (the paper uses 1: λ uniform).
        generator: Source of randomness for λ, the permutation and the box.

    Returns:
        ``(x_mix, y_a, y_b, lam)`` as :func:`mixup_batch`.

    Raises:
        TypeError: If ``x`` is not floating point or ``y`` not int64.
        ValueError: If ``alpha <= 0``, ``x`` is not 4-D, ``y`` not 1-D, or the batch sizes differ.

    Shape:
        ``x``: ``(N, C, H, W)``; ``y``: ``(N,)``.

    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.cat([torch.zeros(1, 1, 8, 8), torch.ones(1, 1, 8, 8)])
    >>> x_mix, y_a, y_b, lam = cutmix_batch(x, torch.tensor([0, 1]), generator=g)
    >>> pasted = float((x_mix != x).float().mean())     # fraction of pixels that changed
    >>> abs((1 - lam) - pasted) < 1e-12 or y_b.tolist() == [0, 1]
    True
    """
    x, y = _check_batch(x, y, image=True)
    a = check_positive("alpha", alpha)
    check_generator("generator", generator)
    # cutmix-start
    lam0 = sample_beta(a, generator=generator)
    perm = torch.randperm(x.shape[0], generator=generator)
    H, W = x.shape[-2:]
    y1, y2, x1, x2 = cutmix_box(H, W, lam0, generator=generator)
    x_mix = x.clone()
    x_mix[:, :, y1:y2, x1:x2] = x[perm, :, y1:y2, x1:x2]
    lam = 1.0 - (y2 - y1) * (x2 - x1) / (H * W)
    # cutmix-end
    return x_mix, y, y[perm], lam


def mix_labels(
    y_a: torch.Tensor, y_b: torch.Tensor, lam: float, *, num_classes: int, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    r"""The soft label :math:`\lambda\,\mathrm{onehot}(y_a) + (1-\lambda)\,\mathrm{onehot}(y_b)`.

    Args:
        y_a, y_b: Class indices ``(N,)``, int64, values in [0, K - 1], on one device.
        lam: λ, a real number in [0, 1].
        num_classes: Number of classes K, an int in [2, 2**31 - 1].
        dtype: Floating ``torch.dtype`` of the result.

    Returns:
        ``(N, K)`` rows that sum to 1, of ``dtype``, on the device of ``y_a``. Nothing is mutated.

    Raises:
        TypeError: If ``y_a``/``y_b`` are not int64 tensors, ``lam`` is not a real number,
            ``num_classes`` not an int or ``dtype`` not a floating ``torch.dtype``.
        ValueError: If the shapes or devices differ, an index is outside [0, K - 1], or
            ``lam``/``num_classes`` is out of range.

    The lecture's cat (class 0) and dog (class 1) with λ = 0.7:

    >>> [round(v, 6) for v in mix_labels(torch.tensor([0]), torch.tensor([1]), 0.7, num_classes=2)[0].tolist()]
    [0.7, 0.3]
    """
    k = check_count("num_classes", num_classes, minimum=2)
    y_a = check_class_indices("y_a", y_a, num_classes=k)
    y_b = check_class_indices("y_b", y_b, num_classes=k)
    if y_a.shape != y_b.shape:
        raise ValueError(f"y_a and y_b must have the same shape (got {tuple(y_a.shape)} and {tuple(y_b.shape)})")
    check_same_device("y_b", y_b, "y_a", y_a)
    lam = check_in_range("lam", lam, 0.0, 1.0)
    check_float_dtype("dtype", dtype, allow_none=False)
    return lam * F.one_hot(y_a, k).to(dtype) + (1 - lam) * F.one_hot(y_b, k).to(dtype)


def mixed_loss(
    logits: torch.Tensor, y_a: torch.Tensor, y_b: torch.Tensor, lam: float, *, label_smoothing: float = 0.0
) -> torch.Tensor:
    r"""The Mixup/CutMix loss :math:`\lambda\,\mathrm{CE}(z, y_a) + (1-\lambda)\,\mathrm{CE}(z, y_b)`.

    Equal to the cross-entropy against the soft label of :func:`mix_labels`,
    because cross-entropy is linear in its target.

    Args:
        logits: ``(N, K)`` scores, floating point, finite, non-empty.
        y_a, y_b: Class indices ``(N,)``, int64, values in [0, K - 1], on the device of ``logits``.
        lam: λ, a real number in [0, 1].
        label_smoothing: Passed to :func:`torch.nn.functional.cross_entropy`, a real number in [0, 1].

    Returns:
        A 0-d tensor, the batch mean, of the dtype and device of ``logits`` (differentiable
        with respect to ``logits``). Nothing is mutated.

    Raises:
        TypeError: If ``logits`` is not a floating tensor, ``y_a``/``y_b`` not int64 tensors, or
            ``lam``/``label_smoothing`` not real numbers.
        ValueError: If ``logits`` is not 2-D, empty or not finite, the batch sizes or devices
            differ, an index is outside [0, K - 1], or a number is out of range.

    >>> logits = torch.tensor([[2.0, 0.0]])
    >>> round(mixed_loss(logits, torch.tensor([0]), torch.tensor([1]), 0.7).item(), 4)
    0.7269
    """
    logits = check_float_tensor("logits", logits, ndim=2)
    y_a = check_class_indices("y_a", y_a, num_classes=logits.shape[1])
    y_b = check_class_indices("y_b", y_b, num_classes=logits.shape[1])
    check_same_device("y_a", y_a, "logits", logits)
    check_same_device("y_b", y_b, "logits", logits)
    if not (y_a.shape[0] == y_b.shape[0] == logits.shape[0]):
        raise ValueError(
            f"logits, y_a and y_b must have the same batch size (got {logits.shape[0]}, {y_a.shape[0]}, {y_b.shape[0]})"
        )
    lam = check_in_range("lam", lam, 0.0, 1.0)
    ls = check_in_range("label_smoothing", label_smoothing, 0.0, 1.0)
    # loss-start
    ce_a = F.cross_entropy(logits, y_a, label_smoothing=ls)
    ce_b = F.cross_entropy(logits, y_b, label_smoothing=ls)
    return lam * ce_a + (1 - lam) * ce_b
    # loss-end


class Mixup(torch.nn.Module):
    """Module wrapper of :func:`mixup_batch` for a training loop.

    >>> m = Mixup(alpha=0.2, generator=torch.Generator().manual_seed(0))
    >>> x_mix, y_a, y_b, lam = m(torch.rand(4, 3), torch.tensor([0, 1, 2, 3]))
    >>> tuple(x_mix.shape), 0.0 <= lam <= 1.0
    ((4, 3), True)
    """

    def __init__(self, alpha: float = 0.2, *, generator: torch.Generator) -> None:
        super().__init__()
        self.alpha = check_positive("alpha", alpha)
        self.generator = check_generator("generator", generator)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
        return mixup_batch(x, y, alpha=self.alpha, generator=self.generator)


class CutMix(torch.nn.Module):
    """Module wrapper of :func:`cutmix_batch`.

    >>> m = CutMix(alpha=1.0, generator=torch.Generator().manual_seed(0))
    >>> tuple(m(torch.rand(2, 1, 4, 4), torch.tensor([0, 1]))[0].shape)
    (2, 1, 4, 4)
    """

    def __init__(self, alpha: float = 1.0, *, generator: torch.Generator) -> None:
        super().__init__()
        self.alpha = check_positive("alpha", alpha)
        self.generator = check_generator("generator", generator)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
        return cutmix_batch(x, y, alpha=self.alpha, generator=self.generator)
