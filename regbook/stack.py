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
    check_float_tensor,
    check_generator,
    check_in_range,
    check_int,
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
        lr: AdamW learning rate (``> 0``).
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

    Raises:
        ValueError: If a field is outside its range (the message names it).
        TypeError: If a field has the wrong type.

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
        check_int("width", self.width, minimum=1)
        check_choice("norm", self.norm, NORMS)
        check_in_range("dropout", self.dropout, 0.0, 1.0, high_inclusive=False)
        check_positive("lr", self.lr)
        check_nonnegative("weight_decay", self.weight_decay)
        check_int("randaugment_ops", self.randaugment_ops, minimum=0)
        magnitude = check_int("randaugment_magnitude", self.randaugment_magnitude, minimum=0)
        if magnitude > 30:
            raise ValueError(f"randaugment_magnitude must be in [0, 30] (got {magnitude})")
        check_in_range("random_erasing", self.random_erasing, 0.0, 1.0)
        check_in_range("mix_prob", self.mix_prob, 0.0, 1.0)
        check_in_range("cutmix_prob", self.cutmix_prob, 0.0, 1.0)
        check_positive("mixup_alpha", self.mixup_alpha)
        check_positive("cutmix_alpha", self.cutmix_alpha)
        check_in_range("label_smoothing", self.label_smoothing, 0.0, 1.0, high_inclusive=False)
        check_int("patience", self.patience, minimum=0)
        check_int("epochs", self.epochs, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        check_int("num_classes", self.num_classes, minimum=2)

    @classmethod
    def nothing_on(cls, **overrides: object) -> StackConfig:
        """The same recipe with every regularizer off (no norm, no decay, no augmentation, ...).

        Keyword arguments override any field, e.g. ``epochs=20``.

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


def augment_images(x: torch.Tensor, config: StackConfig, *, generator: torch.Generator) -> torch.Tensor:
    """Line 3 of the recipe on one batch: RandAugment, then random erasing, each image its own draws.

    ``randaugment_ops = 0`` skips RandAugment and ``random_erasing = 0`` skips
    erasing; with both off the batch comes back unchanged (the same tensor).
    The images must be in ``[0, 1]`` (standardization comes after, as
    ``Normalize`` ends the lecture's transform).

    Args:
        x: Images ``(N, C, H, W)`` in ``[0, 1]``, ``C`` 1 or 3.
        config: Uses ``randaugment_ops``, ``randaugment_magnitude`` and ``random_erasing``.
        generator: Source of every random draw.

    Returns:
        Augmented images, same shape, in ``[0, 1]``.

    Raises:
        TypeError: If ``config`` is not a :class:`StackConfig` or ``generator`` not a generator.
        ValueError: As :func:`regbook.augmentation.randaugment`.

    Example:
        >>> x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
        >>> off = StackConfig.nothing_on()
        >>> augment_images(x, off, generator=torch.Generator()) is x
        True
        >>> out = augment_images(x, StackConfig(), generator=torch.Generator().manual_seed(1))
        >>> tuple(out.shape), bool((out != x).any())
        ((4, 1, 8, 8), True)
    """
    config = _check_config(config)
    check_generator("generator", generator)
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
        x: Batch ``(N, C, H, W)``.
        targets: Soft targets ``(N, K)`` (rows summing to 1).
        config: Uses ``mix_prob``, ``cutmix_prob``, ``mixup_alpha`` and ``cutmix_alpha``.
        generator: Source of every random draw.

    Returns:
        ``(x_mixed, targets_mixed)``; the inputs themselves when the batch is not mixed.

    Raises:
        TypeError: If ``config`` is not a :class:`StackConfig`, a tensor is not floating point,
            or ``generator`` is not a generator.
        ValueError: If ``x`` is not 4-D or ``targets`` is not ``(N, K)``.

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
    whose inputs are ``(k, N, C, H, W)`` (seed ``i`` uses row ``i``).

    Args:
        mean: Per-channel means, ``(C,)`` or ``(k, C)``.
        std: Per-channel standard deviations, same shape, all ``> 0``.

    Raises:
        TypeError: If ``mean`` or ``std`` is not a floating tensor.
        ValueError: If their shapes differ or are not 1-D/2-D, or a ``std`` is not ``> 0``.

    Example:
        >>> Standardize(torch.tensor([0.5]), torch.tensor([0.25]))(torch.ones(1, 1, 1, 1)).tolist()
        [[[[2.0]]]]
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        check_float_tensor("mean", mean)
        check_float_tensor("std", std)
        if mean.shape != std.shape or mean.ndim not in (1, 2):
            raise ValueError(f"mean and std must have the same shape, (C,) or (k, C) "
                             f"(got {tuple(mean.shape)} and {tuple(std.shape)})")
        if not bool((std > 0).all()):
            raise ValueError(f"std must be > 0 in every channel (got {std.tolist()})")
        shape = (-1, 1, 1) if mean.ndim == 1 else (mean.shape[0], 1, -1, 1, 1)
        self.register_buffer("mean", mean.detach().clone().reshape(shape))
        self.register_buffer("std", std.detach().clone().reshape(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


# ---------------------------------------------------------------------------
# Line 1: ResNet-50, from torch.nn layers (no torchvision)
# ---------------------------------------------------------------------------


class Bottleneck(nn.Module):
    """ResNet's bottleneck block: 1×1 conv, 3×3 conv (stride here), 1×1 conv to ``4·mid``; BN after each; skip.

    As in He et al. (2016) and torchvision's ``resnet50``: convolutions have no
    bias (the BatchNorm shift replaces it); the skip is a 1×1 conv + BN when
    the shape changes.
    """

    expansion = 4

    def __init__(self, in_ch: int, mid: int, *, stride: int = 1, device: torch.device | str | None = None) -> None:
        super().__init__()
        out = mid * self.expansion
        self.conv1 = nn.Conv2d(in_ch, mid, 1, bias=False, device=device)
        self.bn1 = nn.BatchNorm2d(mid, device=device)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride=stride, padding=1, bias=False, device=device)
        self.bn2 = nn.BatchNorm2d(mid, device=device)
        self.conv3 = nn.Conv2d(mid, out, 1, bias=False, device=device)
        self.bn3 = nn.BatchNorm2d(out, device=device)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_ch != out:
            self.downsample = nn.Sequential(nn.Conv2d(in_ch, out, 1, stride=stride, bias=False, device=device),
                                            nn.BatchNorm2d(out, device=device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
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
        num_classes: Outputs of the last layer (``>= 1``; ImageNet's 1000 by default).
        device: Where the parameters are created; ``"meta"`` builds the shapes
            without allocating memory (enough to count parameters instantly).

    Returns:
        An ``nn.Sequential`` mapping ``(N, 3, H, W)`` images to ``(N, num_classes)`` logits.

    Raises:
        ValueError: If ``num_classes < 1``.

    Example:
        >>> count_parameters(resnet50(device="meta"))
        25557032
    """
    num_classes = check_int("num_classes", num_classes, minimum=1)
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False, device=device),
                               nn.BatchNorm2d(64, device=device), nn.ReLU(inplace=True),
                               nn.MaxPool2d(3, stride=2, padding=1)]
    in_ch = 64
    for mid, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for b in range(blocks):
            layers.append(Bottleneck(in_ch, mid, stride=stride if b == 0 else 1, device=device))
            in_ch = mid * Bottleneck.expansion
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_ch, num_classes, device=device)]
    return nn.Sequential(*layers)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars of ``model`` (buffers such as BatchNorm's running statistics excluded).

    Example:
        >>> count_parameters(nn.Linear(3, 2))   # 3*2 weights + 2 biases
        8
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module (got {type(model).__name__})")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
