r"""Label smoothing: train on soft targets instead of one-hot labels (Szegedy et al., 2016).

With :math:`K` classes and smoothing :math:`\alpha \in [0, 1]`, the one-hot
target :math:`y_{\text{hard}} = e_c` of class :math:`c` is mixed with the uniform
distribution :math:`u = (1/K, \dots, 1/K)`:

.. math::

    y_{\text{smooth}} = (1-\alpha)\, y_{\text{hard}} + \alpha\, u
                      = (1-\alpha)\, e_c + \frac{\alpha}{K}\mathbf 1 ,

so the true class gets :math:`1 - \alpha + \alpha/K`, every other class
:math:`\alpha/K`, and the row still sums to 1. Training minimises the
cross-entropy against that target,

.. math::

    \ell(z, c) = -\sum_{k=1}^{K} y_{\text{smooth},k}\,\log\operatorname{softmax}(z)_k ,

which is what :func:`torch.nn.functional.cross_entropy` computes with
``label_smoothing=alpha``. Its minimum over the logits :math:`z` is reached
where :math:`\operatorname{softmax}(z) = y_{\text{smooth}}`, i.e. at the finite
logit gap :math:`\log\big((1-\alpha+\alpha/K)/(\alpha/K)\big)`
(:func:`optimal_logit_gap`); with hard labels (:math:`\alpha = 0`) there is no
minimum and the logits grow for ever (:func:`logit_descent` shows both).
:func:`expected_calibration_error` and :func:`calibration_bins` measure how
well a classifier's confidence matches its accuracy. The chapter's training
experiment is :func:`regbook.experiments.label_smoothing.calibration_experiment`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from regbook._checks import (
    check_choice,
    check_class_indices,
    check_count,
    check_in_range,
    check_int,
    check_not_meta,
    check_positive,
    check_same_device,
)

__all__ = [
    "LabelSmoothingCrossEntropy",
    "LogitDescent",
    "calibration_bins",
    "expected_calibration_error",
    "logit_descent",
    "optimal_logit_gap",
    "smooth_targets",
    "smoothed_cross_entropy",
]

REDUCTIONS = ("mean", "sum", "none")


def _targets(y: torch.Tensor, num_classes: int, alpha: float, dtype: torch.dtype) -> torch.Tensor:
    # targets-start
    # (1 - α) e_c + α/K: start from α/K everywhere, then add 1 - α on the true class.
    out = torch.full((len(y), num_classes), alpha / num_classes, dtype=dtype, device=y.device)
    out[torch.arange(len(y), device=y.device), y] += 1.0 - alpha
    # targets-end
    return out


def smooth_targets(y: torch.Tensor, *, num_classes: int, alpha: float) -> torch.Tensor:
    r"""Smoothed one-hot targets :math:`(1-\alpha)\,e_y + \alpha/K`.

    Args:
        y: Class indices, a 1-D int64 :class:`torch.Tensor`, each in :math:`[0, K-1]`,
            on any device (a meta tensor gives a meta result).
        num_classes: Number of classes :math:`K`, an int in :math:`[2, 2^{31}-1]`.
        alpha: Smoothing :math:`\alpha \in [0, 1]`; 0 gives one-hot rows, 1 uniform rows.

    Returns:
        A new float32 tensor on ``y``'s device: one probability row per label, with
        :math:`1-\alpha+\alpha/K` on the label's class and :math:`\alpha/K` on
        every other class. Nothing is mutated; the values equal
        ``(1 - alpha) * torch.nn.functional.one_hot(y, K) + alpha / K``.

    Raises:
        TypeError: If ``y`` is not an int64 tensor, or ``num_classes`` / ``alpha``
            are not an int / a real number.
        ValueError: If ``y`` is not 1-D, a label is out of range, ``num_classes``
            is outside :math:`[2, 2^{31}-1]` or ``alpha`` is outside :math:`[0, 1]`.

    Shape:
        ``y``: :math:`(N,)`; output: :math:`(N, K)`, float32.

    The lecture's two examples. :math:`K = 4`, :math:`\alpha = 0.1`, label at
    index 1: :math:`0.1/4 = 0.025` and :math:`0.9 + 0.025 = 0.925`.
    :math:`K = 10`, label at index 2: :math:`0.01` and :math:`0.91`:

    >>> [round(v, 6) for v in smooth_targets(torch.tensor([1]), num_classes=4, alpha=0.1)[0].tolist()]
    [0.025, 0.925, 0.025, 0.025]
    >>> [round(v, 6) for v in smooth_targets(torch.tensor([2]), num_classes=10, alpha=0.1)[0].tolist()]
    [0.01, 0.01, 0.91, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01]
    """
    num_classes = check_count("num_classes", num_classes, minimum=2)
    alpha = check_in_range("alpha", alpha, 0.0, 1.0)
    check_class_indices("y", y, num_classes=num_classes)
    return _targets(y, num_classes, alpha, torch.float32)


def smoothed_cross_entropy(
    logits: torch.Tensor, y: torch.Tensor, *, alpha: float, reduction: str = "mean"
) -> torch.Tensor:
    r"""Cross-entropy against smoothed targets, :math:`-\sum_k y_{\text{smooth},k}\log\operatorname{softmax}(z)_k`.

    Computed from :func:`torch.log_softmax` (stable for large logits) and
    equal to ``torch.nn.functional.cross_entropy(logits, y, label_smoothing=alpha,
    reduction=reduction)`` (tested). Because :math:`\sum_k y_{\text{smooth},k} = 1`,
    it splits into :math:`(1-\alpha)` times the usual loss plus :math:`\alpha`
    times the cross-entropy against the uniform distribution.

    Args:
        logits: Unnormalised scores :math:`z`, a 2-D floating-point :class:`torch.Tensor`
            with :math:`K \ge 2` columns; any float dtype and device. NaN and
            :math:`\pm\infty` are allowed, as in torch (they give NaN losses).
        y: Class indices, a 1-D int64 :class:`torch.Tensor` on ``logits``' device,
            each in :math:`[0, K-1]`.
        alpha: Smoothing :math:`\alpha \in [0, 1]`.
        reduction: ``"mean"`` (over the batch), ``"sum"`` or ``"none"``.

    Returns:
        The loss in ``logits``' dtype and device, a 0-d tensor (one value per
        example for ``"none"``); meta inputs give a meta result. Nothing is mutated.

    Raises:
        TypeError: If ``logits`` is not a floating tensor, ``y`` not an int64
            tensor, or ``alpha`` / ``reduction`` are not a real number / a string.
        ValueError: If the ranks, the batch sizes, a label, ``alpha`` or
            ``reduction`` are out of range, or ``logits`` and ``y`` are on different devices.

    Shape:
        ``logits``: :math:`(N, K)`; ``y``: :math:`(N,)`; output: :math:`()` or :math:`(N,)`.

    All-zero logits predict the uniform distribution, so the loss is
    :math:`\log K` whatever the target: :math:`\log 4 = 1.386294\ldots`

    >>> round(smoothed_cross_entropy(torch.zeros(1, 4), torch.tensor([1]), alpha=0.1).item(), 6)
    1.386294
    """
    _check_loss_inputs(logits, y, "logits", "y")
    alpha = check_in_range("alpha", alpha, 0.0, 1.0)
    check_choice("reduction", reduction, REDUCTIONS)
    return _smoothed_cross_entropy(logits, y, alpha, reduction)


def _check_loss_inputs(logits: object, y: object, logits_name: str, y_name: str) -> None:
    """``logits`` a 2-D float ``(N, K)`` tensor with ``K >= 2``; ``y`` ``N`` class indices below ``K``, same device."""
    logits = _check_logits(logits, logits_name)
    num_classes = logits.shape[1]
    if num_classes < 2:
        raise ValueError(f"{logits_name} must have at least 2 columns (classes) (got {num_classes})")
    y = check_class_indices(y_name, y, num_classes=num_classes)
    check_same_device(y_name, y, logits_name, logits)
    if y.shape[0] != logits.shape[0]:
        raise ValueError(
            f"{logits_name} and {y_name} must have the same batch size (got {logits.shape[0]} and {y.shape[0]})"
        )


def _smoothed_cross_entropy(logits: torch.Tensor, y: torch.Tensor, alpha: float, reduction: str) -> torch.Tensor:
    num_classes = logits.shape[1]
    # loss-start
    log_p = torch.log_softmax(logits, dim=1)                  # stable for large logits
    target = _targets(y, num_classes, alpha, logits.dtype)    # (1 - α) e_c + α/K
    per_example = -(target * log_p).sum(dim=1)                # -Σ_k y_smooth,k log softmax(z)_k
    # loss-end
    if reduction == "mean":
        return per_example.mean()
    if reduction == "sum":
        return per_example.sum()
    return per_example


def _check_logits(logits: object, name: str = "logits") -> torch.Tensor:
    """``logits`` must be a 2-D floating tensor (finite values are not required: torch allows -inf)."""
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (got {type(logits).__name__})")
    if not logits.is_floating_point():
        raise TypeError(f"{name} must have a floating-point dtype (got {logits.dtype})")
    if logits.ndim != 2:
        raise ValueError(f"{name} must be 2-D (got {logits.ndim}-D, shape {tuple(logits.shape)})")
    return logits


class LabelSmoothingCrossEntropy(nn.Module):
    """Thin module around :func:`smoothed_cross_entropy`, named like :class:`torch.nn.CrossEntropyLoss`.

    Args:
        label_smoothing: :math:`\\alpha \\in [0, 1]`, a real number (kept as a float).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Raises:
        TypeError: If ``label_smoothing`` is not a real number.
        ValueError: If ``label_smoothing`` is outside :math:`[0, 1]` or ``reduction``
            is not one of the three names.

    Shape:
        ``input``: :math:`(N, K)` floating point; ``target``: :math:`(N,)` int64 on
        ``input``'s device; output: :math:`()` or :math:`(N,)` (``"none"``).

    >>> loss = LabelSmoothingCrossEntropy(label_smoothing=0.1)
    >>> round(loss(torch.zeros(1, 4), torch.tensor([1])).item(), 6)
    1.386294
    """

    def __init__(self, label_smoothing: float = 0.0, reduction: str = "mean") -> None:
        super().__init__()
        self.label_smoothing = check_in_range("label_smoothing", label_smoothing, 0.0, 1.0)
        self.reduction = check_choice("reduction", reduction, REDUCTIONS)

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss of :func:`smoothed_cross_entropy` with this module's settings; the module is not mutated.

        Args:
            input: Logits, a 2-D floating :class:`torch.Tensor` with :math:`K \\ge 2` columns.
            target: Class indices, a 1-D int64 :class:`torch.Tensor` on ``input``'s device.

        Returns:
            The loss, in ``input``'s dtype and device.

        Raises:
            TypeError: If ``input`` is not a floating tensor or ``target`` not an int64 tensor.
            ValueError: If the shapes, the devices or a label do not fit.
        """
        _check_loss_inputs(input, target, "input", "target")
        return _smoothed_cross_entropy(input, target, self.label_smoothing, self.reduction)


def optimal_logit_gap(*, num_classes: int, alpha: float) -> float:
    r"""The logit gap at which the smoothed loss is smallest: :math:`\log\frac{1-\alpha+\alpha/K}{\alpha/K}`.

    The loss is a cross-entropy, smallest when the prediction equals the target.
    The softmax's ratio of two probabilities is the exponential of the logit
    difference, so the true class's logit must exceed every other logit by
    :math:`\Delta^* = \log(q_{\text{true}}/q_{\text{other}})`. With
    :math:`\alpha = 0` the ratio is infinite: no finite logits minimise the
    loss, hence ``alpha`` must be positive here.

    Args:
        num_classes: :math:`K`, an int ``>= 2``.
        alpha: :math:`\alpha \in (0, 1]`, a real number.

    Returns:
        :math:`\Delta^*` as a float (0 for :math:`\alpha = 1`).

    Raises:
        TypeError: If ``num_classes`` is not an int or ``alpha`` not a real number.
        ValueError: If ``num_classes < 2`` or ``alpha`` is outside :math:`(0, 1]`.

    :math:`K = 10, \alpha = 0.1`: :math:`\log(0.91/0.01) = \log 91 = 4.51086\ldots`

    >>> round(optimal_logit_gap(num_classes=10, alpha=0.1), 5)
    4.51086
    """
    num_classes = check_int("num_classes", num_classes, minimum=2)
    alpha = check_in_range("alpha", alpha, 0.0, 1.0, low_inclusive=False)
    # gap-start
    q_other = alpha / num_classes                  # every wrong class's target
    q_true = 1.0 - alpha + q_other                 # the true class's target
    return math.log(q_true / q_other)              # softmax ratio = exp(logit gap)
    # gap-end


@dataclass(frozen=True)
class LogitDescent:
    """Gradient descent on one free logit vector.

    Attributes:
        num_classes: :math:`K`.
        alpha: Smoothing used in the loss.
        gaps: After each step, the true-class logit minus the mean of the others.
        losses: After each step, the smoothed cross-entropy.
        logit_norms: After each step, :math:`\\lVert z\\rVert_2`.
    """

    num_classes: int
    alpha: float
    gaps: list[float]
    losses: list[float]
    logit_norms: list[float]


def logit_descent(*, num_classes: int, alpha: float, steps: int = 2000, lr: float = 1.0) -> LogitDescent:
    r"""Minimise :func:`smoothed_cross_entropy` over a single logit vector by gradient descent.

    The logits :math:`z \in \mathbb R^K` start at zero and the label is class 0;
    each step is :math:`z \leftarrow z - \eta\,\nabla_z \ell(z, 0)` with the
    gradient from autograd (float64). It equals :math:`\operatorname{softmax}(z) - y_{\text{smooth}}`,
    so with :math:`\alpha > 0` the gap converges to :func:`optimal_logit_gap`;
    with :math:`\alpha = 0` it keeps growing, roughly like :math:`\log t`.

    Args:
        num_classes: :math:`K`, an int in :math:`[2, 2^{31}-1]`.
        alpha: :math:`\alpha \in [0, 1]`.
        steps: Number of steps, an int in :math:`[1, 2^{31}-1]`.
        lr: Step size :math:`\eta > 0`, finite.

    Returns:
        A :class:`LogitDescent` with one entry per step. Nothing else is
        touched (no global random state is used).

    Raises:
        TypeError: If an argument has the wrong type (an int is required for
            ``num_classes`` and ``steps``, a real number for ``alpha`` and ``lr``).
        ValueError: If an argument is out of range.

    >>> run = logit_descent(num_classes=10, alpha=0.1, steps=500)
    >>> round(run.gaps[-1], 4)
    4.5109
    """
    num_classes = check_count("num_classes", num_classes, minimum=2)
    alpha = check_in_range("alpha", alpha, 0.0, 1.0)
    steps = check_count("steps", steps)
    lr = check_positive("lr", lr)
    z = torch.zeros(1, num_classes, dtype=torch.float64, requires_grad=True)
    target = _targets(torch.zeros(1, dtype=torch.long), num_classes, alpha, torch.float64)

    def loss_at(z: torch.Tensor) -> torch.Tensor:  # smoothed_cross_entropy's lines, without re-checking
        return -(target * torch.log_softmax(z, dim=1)).sum()

    gaps, losses, norms = [], [], []
    loss = loss_at(z)
    for _ in range(steps):
        (grad,) = torch.autograd.grad(loss, z)
        with torch.no_grad():
            z -= lr * grad
            gaps.append(float(z[0, 0] - z[0, 1:].mean()))
            norms.append(float(z.norm()))
        loss = loss_at(z)                      # the loss after this step, and the next step's graph
        losses.append(float(loss.detach()))
    return LogitDescent(num_classes=num_classes, alpha=alpha, gaps=gaps, losses=losses, logit_norms=norms)


def _check_probs(probs: object, y: object) -> tuple[torch.Tensor, torch.Tensor]:
    """``probs`` a non-empty ``(N, K)`` float tensor in [0, 1]; ``y`` ``N`` class indices below ``K``, same device."""
    probs = _check_logits(probs, "probs")
    if probs.numel() == 0:
        raise ValueError(f"probs must not be empty (got shape {tuple(probs.shape)})")
    if not probs.is_meta and not bool(((probs >= 0) & (probs <= 1)).all()):
        raise ValueError("probs must hold probabilities in [0, 1] (got values outside)")
    y = check_class_indices("y", y, num_classes=probs.shape[1])
    check_same_device("y", y, "probs", probs)
    if y.shape[0] != probs.shape[0]:
        raise ValueError(f"probs and y must have the same batch size (got {probs.shape[0]} and {y.shape[0]})")
    return probs, y


def _bin_sums(probs: torch.Tensor, y: torch.Tensor, num_bins: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # bins-start
    conf, pred = probs.max(dim=1)                       # confidence: the largest probability
    correct = (pred == y).to(probs.dtype)
    # bin b holds confidences in (b/B, (b+1)/B]; the first bin also takes 0.
    bins = ((conf * num_bins).ceil().long() - 1).clamp(0, num_bins - 1)
    count = torch.bincount(bins, minlength=num_bins).to(probs.dtype)
    conf_sum = probs.new_zeros(num_bins).index_add_(0, bins, conf)
    acc_sum = probs.new_zeros(num_bins).index_add_(0, bins, correct)
    # bins-end
    return count, conf_sum, acc_sum


def calibration_bins(
    probs: torch.Tensor, y: torch.Tensor, *, num_bins: int = 15
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The reliability diagram: per confidence bin, the count, the mean confidence and the accuracy.

    Each example's *confidence* is its largest predicted probability; bin
    :math:`b` (of ``num_bins`` equal bins) holds the confidences in
    :math:`(b/B, (b+1)/B]` (the first bin also takes 0). A calibrated model's
    points lie on the diagonal: accuracy equals confidence in every bin.

    Args:
        probs: Predicted probabilities, a non-empty 2-D floating :class:`torch.Tensor`
            :math:`(N, K)` with entries in :math:`[0, 1]` (rows summing to 1); any
            float dtype and device.
        y: True class indices, a 1-D int64 :class:`torch.Tensor` of length :math:`N`
            on ``probs``' device, each in :math:`[0, K-1]`.
        num_bins: Number of equal-width bins, an int in :math:`[1, 2^{31}-1]`.

    Returns:
        ``(count, confidence, accuracy)``, three new tensors of length ``num_bins``
        in ``probs``' dtype and device; an empty bin has count, confidence and
        accuracy 0. Meta inputs give meta tensors of that shape. Nothing is mutated.

    Raises:
        TypeError: If ``probs`` is not a floating tensor, ``y`` not an int64 tensor
            or ``num_bins`` not an int.
        ValueError: If the shapes or devices do not fit, a label is out of range,
            ``probs`` has entries outside :math:`[0, 1]` (NaN included) or
            ``num_bins`` is out of range.

    Two bins: the confidences 0.9, 0.8, 0.6 and 0.7 all exceed 0.5, so the
    upper bin holds all four, with mean confidence 0.75 and two of four right:

    >>> p = torch.tensor([[0.1, 0.9], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    >>> count, conf, acc = calibration_bins(p, torch.tensor([1, 0, 0, 1]), num_bins=2)
    >>> count.tolist(), [round(c, 6) for c in conf.tolist()], acc.tolist()
    ([0.0, 4.0], [0.0, 0.75], [0.0, 0.5])
    """
    probs, y = _check_probs(probs, y)
    num_bins = check_count("num_bins", num_bins)
    if probs.is_meta:  # shapes only, as torch treats meta tensors
        return probs.new_empty(num_bins), probs.new_empty(num_bins), probs.new_empty(num_bins)
    count, conf_sum, acc_sum = _bin_sums(probs, y, num_bins)
    safe = count.clamp_min(1)
    return count, conf_sum / safe, acc_sum / safe


def expected_calibration_error(probs: torch.Tensor, y: torch.Tensor, *, num_bins: int = 15) -> float:
    r"""Expected calibration error :math:`\sum_b \frac{n_b}{N}\,\lvert \text{acc}_b - \text{conf}_b\rvert`.

    Each example's *confidence* is its largest predicted probability. The
    interval :math:`(0, 1]` is cut into ``num_bins`` equal bins; in each bin
    :math:`\text{conf}_b` is the mean confidence and :math:`\text{acc}_b` the
    fraction of correct arg-max predictions (Guo et al., 2017). A calibrated
    model, one whose 80 %-confident answers are right 80 % of the time, has
    ECE 0.

    Args:
        probs: Predicted probabilities, a non-empty 2-D floating :class:`torch.Tensor`
            :math:`(N, K)` with entries in :math:`[0, 1]` (rows summing to 1); any
            float dtype and device, not meta (the result is a number).
        y: True class indices, a 1-D int64 :class:`torch.Tensor` of length :math:`N`
            on ``probs``' device, each in :math:`[0, K-1]`.
        num_bins: Number of equal-width bins, an int in :math:`[1, 2^{31}-1]`.

    Returns:
        The ECE, a float in :math:`[0, 1]` (no gradient flows). Nothing is mutated.

    Raises:
        TypeError: If ``probs`` is not a floating tensor, ``y`` not an int64 tensor
            or ``num_bins`` not an int.
        ValueError: If the shapes or devices do not fit, ``probs`` is a meta tensor,
            a label is out of range, ``probs`` has entries outside :math:`[0, 1]`
            (NaN included) or ``num_bins`` is out of range.

    Shape:
        ``probs``: :math:`(N, K)`; ``y``: :math:`(N,)`.

    Four predictions, two right and two wrong, all in the top bin: the mean
    confidence is :math:`(0.9 + 0.8 + 0.6 + 0.7)/4 = 0.75`, the accuracy 0.5:

    >>> p = torch.tensor([[0.1, 0.9], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    >>> round(expected_calibration_error(p, torch.tensor([1, 0, 0, 1]), num_bins=2), 6)
    0.25
    """
    probs, y = _check_probs(probs, y)
    check_not_meta("probs", probs)
    num_bins = check_count("num_bins", num_bins)
    _, conf_sum, acc_sum = _bin_sums(probs.detach(), y, num_bins)
    # n_b/N · |acc_b - conf_b| = |Σ_b correct - Σ_b conf| / N, summed over the bins
    return float((conf_sum - acc_sum).abs().sum() / len(y))
