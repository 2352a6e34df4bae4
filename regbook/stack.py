r"""Putting it together: the lecture's regularization stack as one recipe.

The lecture closes with six lines that regularize a real vision run: a
normalized architecture, decoupled weight decay, RandAugment and random
erasing, conditional Mixup/CutMix, label smoothing, and a checkpoint on the
validation loss. This module holds what a student reads beside the chapter:

* :class:`StackConfig` -- the recipe: one field per knob, grouped as the
  lecture's six lines;
* :func:`augment_images` -- line 3, the training transform (RandAugment,
  then random erasing) applied to one batch;
* :func:`mix_batch` -- line 4, *conditional* Mixup or CutMix on a batch and
  its soft targets;
* :class:`Standardize` -- the ``Normalize(MEAN, STD)`` at the end of line 3,
  as a fixed first layer;
* :func:`resnet50` -- line 1's network, built from ``torch.nn`` layers, so
  its size can be counted (:func:`count_parameters`).

The pieces themselves live in their own chapters' modules and are only
*called* here (:func:`regbook.augmentation.randaugment`,
:func:`regbook.augmentation.random_erasing`, :func:`regbook.mixup.mixup_batch`,
:func:`regbook.mixup.cutmix_batch`). Training the recipe -- AdamW, label
smoothing, early stopping, several seeds at once -- is an experiment, in
:mod:`regbook.experiments.stack`, built on the book's one training loop
(:func:`regbook.experiments.harness.fit`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from regbook import augmentation, mixup
from regbook._checks import (
    check_choice,
    check_count,
    check_device,
    check_float_tensor,
    check_generator,
    check_in_range,
    check_nonnegative,
    check_positive,
)

__all__ = [
    "ARCHS",
    "NORMS",
    "Bottleneck",
    "StackConfig",
    "Standardize",
    "augment_images",
    "count_parameters",
    "mix_batch",
    "resnet50",
]

ARCHS = ("mlp", "cnn")
NORMS = ("batch", "group", "layer", "none")


@dataclass(frozen=True)
class StackConfig:
    """Every knob of the regularization stack, grouped as in the lecture's snippet.

    The defaults are the lecture's settings where it gives one
    (``weight_decay=0.05``, ``RandAugment(num_ops=2, magnitude=9)``,
    ``RandomErasing(p=0.25)``, ``label_smoothing=0.1``, ``dropout=0.0`` with
    BatchNorm); :meth:`nothing_on` switches every regularizer off.

    Attributes:
        arch: ``"mlp"`` (two hidden layers of ``width`` units, the book's
            :func:`~regbook.experiments.harness.build_mlp`) or ``"cnn"``
            (conv-norm-ReLU stages with max-pooling and global average pooling,
            :func:`regbook.experiments.stack.build_cnn`).
        width: Hidden units of the MLP, or channels of the CNN's first convolution.
        norm: ``"batch"``, ``"group"``, ``"layer"`` or ``"none"``: the
            normalization after every hidden layer (1. architecture).
        dropout: Dropout probability after each hidden layer (MLP) or before
            the classifier (CNN), in ``[0, 1)``.
        lr: AdamW learning rate, in ``(0, 100]`` (the training loop's range).
        weight_decay: AdamW's *decoupled* weight decay (``>= 0``) (2. optimizer).
        randaugment_ops: RandAugment's ``num_ops``; 0 switches it off (3. augmentation).
        randaugment_magnitude: RandAugment's ``magnitude`` (0..30).
        random_erasing: Probability of erasing one random rectangle per
            image, in ``[0, 1]``; 0 switches it off.
        mix_prob: Probability that a batch is mixed (4. Mixup/CutMix), in ``[0, 1]``.
        cutmix_prob: Given a mixed batch, the probability that it is CutMix
            rather than Mixup, in ``[0, 1]``.
        mixup_alpha: Beta(α, α) parameter of Mixup (``> 0``).
        cutmix_alpha: Beta(α, α) parameter of CutMix (``> 0``).
        label_smoothing: Smoothing α of the loss, in ``[0, 1)`` (5. label smoothing).
        patience: Early-stopping patience in epochs; 0 trains all ``epochs``
            and keeps the last weights (6. early stopping).
        epochs: Maximum number of epochs (``>= 1``).
        batch_size: Mini-batch size (``>= 1``).
        num_classes: Number of classes (``>= 2``).

    Every field is checked when the config is made (it is frozen afterwards):
    ``arch`` and ``norm`` are one of the listed strings; the counts (``width``,
    ``epochs``, ``batch_size``, ``num_classes``, ``randaugment_ops``,
    ``patience``, ``randaugment_magnitude``) are ``int`` (not ``bool``) up to
    ``2**31 - 1``; the rates and probabilities are finite real numbers (not
    ``bool``) in their ranges.

    Raises:
        ValueError: If a field is outside its range (the message names it and the range).
        TypeError: If a field has the wrong type (e.g. ``2.0`` for ``width``, ``True`` for ``lr``).

    Example:
        >>> StackConfig().weight_decay, StackConfig().label_smoothing
        (0.05, 0.1)
        >>> StackConfig.nothing_on().randaugment_ops
        0
    """

    # 1. Architecture regularization
    arch: str = "mlp"
    width: int = 128
    norm: str = "batch"
    dropout: float = 0.0
    # 2. Optimizer regularization
    lr: float = 1e-2
    weight_decay: float = 0.05
    # 3. Data augmentation
    randaugment_ops: int = 2
    randaugment_magnitude: int = 9
    random_erasing: float = 0.25
    # 4. Mixup / CutMix, applied to a batch with probability mix_prob
    mix_prob: float = 0.5
    cutmix_prob: float = 0.5
    mixup_alpha: float = 0.2
    cutmix_alpha: float = 1.0
    # 5. Label smoothing
    label_smoothing: float = 0.1
    # 6. Early stopping on the validation loss
    patience: int = 10
    # Schedule
    epochs: int = 60
    batch_size: int = 64
    num_classes: int = 10

    def __post_init__(self) -> None:
        check_choice("arch", self.arch, ARCHS)
        check_count("width", self.width)
        check_choice("norm", self.norm, NORMS)
        check_in_range("dropout", self.dropout, 0.0, 1.0, high_inclusive=False)
        check_in_range("lr", self.lr, 0.0, 100.0, low_inclusive=False)
        check_nonnegative("weight_decay", self.weight_decay)
        check_count("randaugment_ops", self.randaugment_ops, minimum=0)
        magnitude = check_count("randaugment_magnitude", self.randaugment_magnitude, minimum=0)
        if magnitude > 30:
            raise ValueError(f"randaugment_magnitude must be in [0, 30] (got {magnitude})")
        check_in_range("random_erasing", self.random_erasing, 0.0, 1.0)
        check_in_range("mix_prob", self.mix_prob, 0.0, 1.0)
        check_in_range("cutmix_prob", self.cutmix_prob, 0.0, 1.0)
        check_positive("mixup_alpha", self.mixup_alpha)
        check_positive("cutmix_alpha", self.cutmix_alpha)
        check_in_range("label_smoothing", self.label_smoothing, 0.0, 1.0, high_inclusive=False)
        check_count("patience", self.patience, minimum=0)
        check_count("epochs", self.epochs)
        check_count("batch_size", self.batch_size)
        check_count("num_classes", self.num_classes, minimum=2)

    @classmethod
    def nothing_on(cls, **overrides: object) -> StackConfig:
        """The same recipe with every regularizer off (no norm, no decay, no augmentation, ...).

        Keyword arguments override any field, e.g. ``epochs=20``; they are checked as
        :class:`StackConfig` checks its fields (an unknown name raises ``TypeError``).

        Example:
            >>> cfg = StackConfig.nothing_on(epochs=3)
            >>> cfg.norm, cfg.weight_decay, cfg.mix_prob, cfg.label_smoothing, cfg.patience, cfg.epochs
            ('none', 0.0, 0.0, 0.0, 0, 3)
        """
        plain: dict[str, object] = {
            "norm": "none", "dropout": 0.0, "weight_decay": 0.0, "randaugment_ops": 0,
            "random_erasing": 0.0, "mix_prob": 0.0, "label_smoothing": 0.0, "patience": 0,
        }
        plain.update(overrides)
        return cls(**plain)  # type: ignore[arg-type]


def _check_config(config: object) -> StackConfig:
    if not isinstance(config, StackConfig):
        raise TypeError(f"config must be a StackConfig (got {type(config).__name__})")
    return config


def _check_images(x: object) -> torch.Tensor:
    """A batch of images ``(N, C, H, W)``, ``C`` 1 or 3, finite, in ``[0, 1]`` (meta tensors: shape only)."""
    x = check_float_tensor("x", x, ndim=4)
    if x.shape[1] not in (1, 3):
        raise ValueError(f"x must have 1 or 3 channels in dim 1 (got shape {tuple(x.shape)})")
    if not x.is_meta and bool(((x < 0) | (x > 1)).any()):
        raise ValueError(f"x must hold images in [0, 1] (got values {float(x.min()):.3g}..{float(x.max()):.3g})")
    return x


def augment_images(x: torch.Tensor, config: StackConfig, *, generator: torch.Generator) -> torch.Tensor:
    """Line 3 of the recipe on one batch: RandAugment, then random erasing, each image its own draws.

    ``randaugment_ops = 0`` skips RandAugment and ``random_erasing = 0`` skips
    erasing; with both off the batch comes back unchanged (the same tensor).
    The images must be in ``[0, 1]`` (standardization comes after, as
    ``Normalize`` ends the lecture's transform).

    Args:
        x: Floating images ``(N, C, H, W)``, ``N >= 1``, ``C`` 1 or 3, finite, in ``[0, 1]``
            (a meta tensor only when both augmentations are off).
        config: Uses ``randaugment_ops``, ``randaugment_magnitude`` and ``random_erasing``.
        generator: A ``torch.Generator``, the source of every random draw.

    Returns:
        Augmented images, same shape and dtype, in ``[0, 1]``.

    Raises:
        TypeError: If ``x`` is not a floating tensor, ``config`` not a :class:`StackConfig`
            or ``generator`` not a generator.
        ValueError: If ``x`` is empty, not 4-D, has another number of channels, or values
            outside ``[0, 1]`` (checked even when both augmentations are off).

    Mutates:
        ``generator`` (advanced by the draws); never ``x``. Nothing when an argument is rejected.

    Example:
        >>> x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
        >>> off = StackConfig.nothing_on()
        >>> augment_images(x, off, generator=torch.Generator()) is x
        True
        >>> out = augment_images(x, StackConfig(), generator=torch.Generator().manual_seed(1))
        >>> tuple(out.shape), bool((out != x).any())
        ((4, 1, 8, 8), True)
    """
    x = _check_images(x)
    config = _check_config(config)
    check_generator("generator", generator)
    if x.is_meta and (config.randaugment_ops > 0 or config.random_erasing > 0):
        raise ValueError("x must hold data to be augmented (got a meta tensor; the ops read pixel values)")
    # augment-start
    if config.randaugment_ops > 0:                 # RandAugment(num_ops, magnitude)
        x = augmentation.randaugment(x, num_ops=config.randaugment_ops,
                                     magnitude=config.randaugment_magnitude, generator=generator)
    if config.random_erasing > 0:                  # RandomErasing(p)
        x = augmentation.random_erasing(x, p=config.random_erasing, generator=generator)
    # augment-end
    return x


def mix_batch(
    x: torch.Tensor, targets: torch.Tensor, config: StackConfig, *, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Line 4 of the recipe: with probability ``mix_prob`` mix the batch, by CutMix or Mixup.

    One uniform draw decides whether the batch is mixed at all ("conditional"
    mixing); a second chooses CutMix (probability ``cutmix_prob``) or Mixup.
    Either op pairs every example with a partner :math:`\pi(i)` from the
    same batch and returns the share :math:`\lambda` kept from the example
    itself; the soft targets are mixed with the same weight,

    .. math:: \tilde t_i = \lambda\, t_i + (1-\lambda)\, t_{\pi(i)},

    so label smoothing (already in ``targets``) and mixing compose.

    Args:
        x: Floating batch ``(N, C, H, W)``, finite, not empty.
        targets: Floating soft targets ``(N, K)`` (rows summing to 1), finite, on ``x``'s device.
        config: Uses ``mix_prob``, ``cutmix_prob``, ``mixup_alpha`` and ``cutmix_alpha``.
        generator: A ``torch.Generator``, the source of every random draw.

    Returns:
        ``(x_mixed, targets_mixed)`` in the inputs' dtypes; the inputs themselves when the
        batch is not mixed.

    Raises:
        TypeError: If ``config`` is not a :class:`StackConfig`, a tensor is not floating point,
            or ``generator`` is not a generator.
        ValueError: If ``x`` is not 4-D, ``targets`` is not ``(N, K)``, either is empty or
            non-finite, or they are on different devices.

    Mutates:
        ``generator`` (one or two uniform draws, then the op's draws); never ``x`` or ``targets``.

    Example:
        >>> x = torch.stack([torch.zeros(1, 4, 4), torch.ones(1, 4, 4)])
        >>> t = torch.eye(2)
        >>> cfg = StackConfig(mix_prob=1.0, cutmix_prob=0.0)          # always Mixup
        >>> xm, tm = mix_batch(x, t, cfg, generator=torch.Generator().manual_seed(0))
        >>> bool(torch.allclose(tm.sum(1), torch.ones(2))), bool(torch.allclose(xm[:, 0, 0, 0], tm[:, 1]))
        (True, True)
    """
    config = _check_config(config)
    x = check_float_tensor("x", x, ndim=4)
    targets = check_float_tensor("targets", targets, ndim=2)
    if targets.shape[0] != x.shape[0]:
        raise ValueError(f"x and targets must have the same batch size (got {x.shape[0]} and {targets.shape[0]})")
    if targets.device != x.device:
        raise ValueError(f"x and targets must be on one device (got {x.device} and {targets.device})")
    check_generator("generator", generator)
    if config.mix_prob == 0 or x.shape[0] < 2:
        return x, targets
    # mix-start
    if torch.rand((), generator=generator).item() >= config.mix_prob:
        return x, targets                                           # this batch is not mixed
    index = torch.arange(x.shape[0])                                # labels 0..N-1: y_b is then π itself
    if torch.rand((), generator=generator).item() < config.cutmix_prob:
        x_mix, _, perm, lam = mixup.cutmix_batch(x, index, alpha=config.cutmix_alpha, generator=generator)
    else:
        x_mix, _, perm, lam = mixup.mixup_batch(x, index, alpha=config.mixup_alpha, generator=generator)
    return x_mix, lam * targets + (1 - lam) * targets[perm]         # t̃ = λ t + (1 - λ) t[π]
    # mix-end


class Standardize(nn.Module):
    r"""Per-channel standardization :math:`(x - \mu) / \sigma` with fixed statistics (torchvision's ``Normalize``).

    ``mean`` and ``std`` are ``(C,)`` for one network, whose inputs are
    ``(N, C, H, W)``, or ``(k, C)`` for ``k`` networks trained side by side,
    whose inputs are ``(k, N, C, H, W)`` (seed ``i`` uses row ``i``). As
    ``Normalize`` does, the output has the input's dtype; float16 and bfloat16
    inputs are computed in float32 and rounded once (as ``F.batch_norm`` does).

    Args:
        mean: Per-channel means, floating, finite, ``(C,)`` or ``(k, C)``.
        std: Per-channel standard deviations, same shape and device, all finite and ``> 0``.

    Raises:
        TypeError: If ``mean`` or ``std`` is not a floating tensor.
        ValueError: If their shapes differ or are not 1-D/2-D, they are empty or non-finite,
            on different devices, or a ``std`` is not ``> 0`` (meta tensors: shapes only).

    Example:
        >>> Standardize(torch.tensor([0.5]), torch.tensor([0.25]))(torch.ones(1, 1, 1, 1)).tolist()
        [[[[2.0]]]]
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        check_float_tensor("mean", mean)
        check_float_tensor("std", std)
        if mean.shape != std.shape or mean.ndim not in (1, 2):
            raise ValueError(f"mean and std must have the same shape, (C,) or (k, C) "
                             f"(got {tuple(mean.shape)} and {tuple(std.shape)})")
        if mean.device != std.device:
            raise ValueError(f"mean and std must be on one device (got {mean.device} and {std.device})")
        if not std.is_meta and not bool((std > 0).all()):
            raise ValueError(f"std must be > 0 in every channel (got {std.tolist()})")
        super().__init__()
        shape = (-1, 1, 1) if mean.ndim == 1 else (mean.shape[0], 1, -1, 1, 1)
        self.register_buffer("mean", mean.detach().clone().reshape(shape))
        self.register_buffer("std", std.detach().clone().reshape(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Standardize ``x``: ``(N, C, H, W)`` (statistics ``(C,)``) or ``(k, N, C, H, W)`` (statistics ``(k, C)``).

        ``x`` must be a floating tensor on the statistics' device; the result has its shape and dtype.

        Raises:
            TypeError: If ``x`` is not a floating tensor.
            ValueError: If its shape does not fit the statistics or it is on another device.
        """
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"x must be a floating-point torch.Tensor (got {getattr(x, 'dtype', type(x).__name__)})")
        if self.mean.ndim == 3:
            c = self.mean.shape[0]
            if x.ndim != 4 or x.shape[1] != c:
                raise ValueError(f"x must have shape (N, {c}, H, W) (got {tuple(x.shape)})")
        else:
            k, c = self.mean.shape[0], self.mean.shape[2]
            if x.ndim != 5 or x.shape[0] != k or x.shape[2] != c:
                raise ValueError(f"x must have shape ({k}, N, {c}, H, W) (got {tuple(x.shape)})")
        if x.device != self.mean.device:
            raise ValueError(f"x must be on the statistics' device {self.mean.device} (got {x.device})")
        ct = torch.promote_types(x.dtype, torch.float32)  # low-precision inputs computed in float32, as torch does
        return ((x.to(ct) - self.mean.to(ct)) / self.std.to(ct)).to(x.dtype)


# ---------------------------------------------------------------------------
# Line 1: ResNet-50, from torch.nn layers (no torchvision)
# ---------------------------------------------------------------------------


class Bottleneck(nn.Module):
    """ResNet's bottleneck block: 1×1 conv, 3×3 conv (stride here), 1×1 conv to ``4·mid``; BN after each; skip.

    As in He et al. (2016) and torchvision's ``resnet50``: convolutions have no
    bias (the BatchNorm shift replaces it); the skip is a 1×1 conv + BN when
    the shape changes.

    Args:
        in_ch: Input channels, an int in ``[1, 2**31 - 1]``.
        mid: Width of the middle convolutions (output ``4 * mid``), an int in ``[1, 2**31 - 1]``.
        stride: Stride of the 3×3 convolution and of the skip, an int ``>= 1``.
        device: Where the parameters are created: a ``str`` or ``torch.device`` torch can
            use here (``"meta"`` included), or ``None`` for the CPU.

    Raises:
        TypeError, ValueError: On an argument of the wrong type or out of range (named in the message).
    """

    expansion = 4

    def __init__(self, in_ch: int, mid: int, *, stride: int = 1, device: torch.device | str | None = None) -> None:
        in_ch = check_count("in_ch", in_ch)
        mid = check_count("mid", mid, minimum=1)
        if mid * self.expansion > 2**31 - 1:
            raise ValueError(f"mid must be <= {(2**31 - 1) // self.expansion} (got {mid})")
        stride = check_count("stride", stride)
        dev = check_device("device", device)
        super().__init__()
        out = mid * self.expansion
        self.conv1 = nn.Conv2d(in_ch, mid, 1, bias=False, device=dev)
        self.bn1 = nn.BatchNorm2d(mid, device=dev)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride=stride, padding=1, bias=False, device=dev)
        self.bn2 = nn.BatchNorm2d(mid, device=dev)
        self.conv3 = nn.Conv2d(mid, out, 1, bias=False, device=dev)
        self.bn3 = nn.BatchNorm2d(out, device=dev)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_ch != out:
            self.downsample = nn.Sequential(nn.Conv2d(in_ch, out, 1, stride=stride, bias=False, device=dev),
                                            nn.BatchNorm2d(out, device=dev))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block on ``x``: ``(N, in_ch, H, W)`` in the weights' dtype and on their device.

        In training mode the BatchNorm layers use the batch's statistics and update
        their running statistics (as ``nn.BatchNorm2d`` does), which needs more than one
        value per channel; in eval mode they use the running statistics.

        Raises:
            TypeError: If ``x`` is not a tensor of the weights' floating dtype.
            ValueError: If ``x`` is not ``(N, in_ch, H, W)``, is on another device, or in
                training mode has a single value per channel.

        Mutates:
            The running statistics of the BatchNorm layers, in training mode only.
        """
        w = self.conv1.weight
        if not isinstance(x, torch.Tensor) or x.dtype != w.dtype:
            raise TypeError(f"x must be a torch.Tensor of the weights' dtype {w.dtype} "
                            f"(got {getattr(x, 'dtype', type(x).__name__)})")
        if x.ndim != 4 or x.shape[1] != w.shape[1]:
            raise ValueError(f"x must have shape (N, {w.shape[1]}, H, W) (got {tuple(x.shape)})")
        if x.device != w.device:
            raise ValueError(f"x must be on the weights' device {w.device} (got {x.device})")
        stride = self.conv2.stride[0]
        if self.training and x.shape[0] * ((x.shape[2] - 1) // stride + 1) * ((x.shape[3] - 1) // stride + 1) < 2:
            raise ValueError(f"x must give more than one value per channel after the stride-{stride} convolution "
                             f"in training mode (got {tuple(x.shape)})")
        identity: torch.Tensor = x if self.downsample is None else self.downsample(x)
        h = self.relu(self.bn1(self.conv1(x)))
        h = self.relu(self.bn2(self.conv2(h)))
        out: torch.Tensor = self.relu(self.bn3(self.conv3(h)) + identity)
        return out


def resnet50(num_classes: int = 1000, *, device: torch.device | str | None = None) -> nn.Sequential:
    """The lecture's ``ResNet50(dropout=0.0)``: He et al.'s 50-layer network, from ``torch.nn`` layers.

    A 7×7 stride-2 stem (64 channels, BN, ReLU, 3×3 max-pool), four stages of
    3, 4, 6 and 3 :class:`Bottleneck` blocks (widths 64, 128, 256, 512,
    outputs four times that), global average pooling and one linear layer.
    BatchNorm follows every convolution and there is no dropout layer: the
    normalization is the architecture's regularizer.

    Args:
        num_classes: Outputs of the last layer, an int in ``[1, 2**31 - 1]`` (ImageNet's 1000 by default).
        device: Where the parameters are created (a ``str`` or ``torch.device`` torch can use
            here, or ``None`` for the CPU); ``"meta"`` builds the shapes without allocating
            memory (enough to count parameters instantly).

    Returns:
        An ``nn.Sequential`` mapping ``(N, 3, H, W)`` images to ``(N, num_classes)`` logits.

    Raises:
        TypeError: If ``num_classes`` is not an int or ``device`` not a str/device/None.
        ValueError: If ``num_classes`` is out of range or ``device`` unknown or unavailable.

    Example:
        >>> count_parameters(resnet50(device="meta"))
        25557032
    """
    num_classes = check_count("num_classes", num_classes)
    dev = check_device("device", device)
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False, device=dev),
                               nn.BatchNorm2d(64, device=dev), nn.ReLU(inplace=True),
                               nn.MaxPool2d(3, stride=2, padding=1)]
    in_ch = 64
    for mid, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for b in range(blocks):
            layers.append(Bottleneck(in_ch, mid, stride=stride if b == 0 else 1, device=dev))
            in_ch = mid * Bottleneck.expansion
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_ch, num_classes, device=dev)]
    return nn.Sequential(*layers)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars of ``model`` (buffers such as BatchNorm's running statistics excluded).

    ``model`` must be an ``nn.Module`` (meta parameters count too); nothing is mutated.

    Example:
        >>> count_parameters(nn.Linear(3, 2))   # 3*2 weights + 2 biases
        8
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module (got {type(model).__name__})")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
