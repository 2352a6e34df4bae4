r"""Putting it together: the full regularization stack as one training recipe (and lab 6a's sweep).

The lecture closes with six lines that regularize a real vision run: a
normalized architecture, decoupled weight decay, RandAugment and random
erasing, conditional Mixup/CutMix, label smoothing, and a checkpoint on the
validation loss. This module turns them into one recipe:

* :class:`StackConfig` -- one field per line of the lecture's snippet;
* :func:`train` -- the training loop that applies every enabled piece, on
  CPU or on any device torch knows (nothing is hard-coded to CUDA);
* :func:`sweep` -- lab 6a: a grid over weight decay, RandAugment and label
  smoothing, every cell trained from the same seed;
* :func:`cifar10_sweep` -- the same sweep on CIFAR-10 files a reader has on
  disk (read by :mod:`regbook.cifar`; never downloaded).

The pieces themselves live in their own chapters' modules and are only
*called* here: :func:`regbook.augmentation.randaugment`,
:func:`regbook.mixup.mixup_batch`, :func:`regbook.mixup.cutmix_batch`,
:func:`regbook.mixup.mixed_loss`,
:func:`regbook.label_smoothing.smoothed_cross_entropy` and
:class:`regbook.early_stopping.EarlyStopping`.

Randomness is explicit: :func:`train` derives five independent
``torch.Generator`` streams from its ``seed`` (weights, batch order,
augmentation, mixing, dropout), so two runs with the same seed are identical, and two
configurations trained from the same seed start from the same weights and see
the same batches -- the differences between them come from the knobs.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from regbook import augmentation, dropout, label_smoothing, mixup
from regbook._checks import (
    check_choice,
    check_float_tensor,
    check_generator,
    check_in_range,
    check_int,
    check_nonnegative,
    check_positive,
)
from regbook.data import Split
from regbook.early_stopping import EarlyStopping

__all__ = [
    "Comparison",
    "StackConfig",
    "Standardize",
    "SweepGrid",
    "SweepResult",
    "TrainResult",
    "build_model",
    "cifar10_sweep",
    "compare",
    "sweep",
    "train",
]

ARCHS = ("cnn", "mlp")
NORMS = ("batch", "group", "layer", "none")


@dataclass(frozen=True)
class StackConfig:
    """Every knob of the regularization stack, grouped as in the lecture's snippet.

    The defaults are the lecture's settings where it gives one
    (``weight_decay=0.05``, ``RandAugment(num_ops=2, magnitude=9)``,
    ``RandomErasing(p=0.25)``, ``label_smoothing=0.1``); :meth:`nothing_on`
    switches every regularizer off.

    Attributes:
        arch: ``"cnn"`` (conv-norm-ReLU blocks, max-pooling, global average
            pooling) or ``"mlp"`` (two hidden layers).
        width: Channels of the first conv layer (doubled at each pooling
            stage), or hidden units of the MLP.
        norm: ``"batch"``, ``"group"``, ``"layer"`` or ``"none"``: the
            normalization after every hidden layer (1. architecture).
        dropout: Dropout probability before the classifier, in ``[0, 1)``.
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
    arch: str = "cnn"
    width: int = 16
    norm: str = "batch"
    dropout: float = 0.0
    # 2. Optimizer regularization
    lr: float = 3e-3
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
    patience: int = 5
    # Schedule
    epochs: int = 30
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
        """
        plain: dict[str, object] = {
            "norm": "none", "dropout": 0.0, "weight_decay": 0.0, "randaugment_ops": 0,
            "random_erasing": 0.0, "mix_prob": 0.0, "label_smoothing": 0.0, "patience": 0,
        }
        plain.update(overrides)
        return cls(**plain)  # type: ignore[arg-type]


@dataclass
class TrainResult:
    """What :func:`train` returns. Epochs are 1-based; losses are plain cross-entropy.

    Attributes:
        train_loss: Mean training loss of each epoch (the regularized loss
            actually minimised: smoothed and/or mixed when those are on).
        val_loss: Validation cross-entropy after each epoch.
        val_accuracy: Validation accuracy after each epoch.
        best_epoch: Epoch whose weights were kept (the last one without early stopping).
        epochs_run: Epochs actually trained (fewer than ``epochs`` if early stopping fired).
        final_train_accuracy: Accuracy of the kept weights on the clean
            (unaugmented, unmixed) training images.
        final_val_loss: Validation cross-entropy of the kept weights.
        final_val_accuracy: Validation accuracy of the kept weights.
        test_loss: Test cross-entropy of the kept weights (``None`` without test data).
        test_accuracy: Test accuracy of the kept weights (``None`` without test data).
        n_parameters: Number of trainable parameters of the model.
        model: ``nn.Sequential(Standardize, network)`` with the kept weights,
            on ``device``, in eval mode; it takes raw images in ``[0, 1]``.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    best_epoch: int = 0
    epochs_run: int = 0
    final_train_accuracy: float = math.nan
    final_val_loss: float = math.nan
    final_val_accuracy: float = math.nan
    test_loss: float | None = None
    test_accuracy: float | None = None
    n_parameters: int = 0
    model: nn.Module | None = field(default=None, repr=False)


def _norm_layer(kind: str, channels: int, *, image: bool) -> nn.Module:
    """The normalization after one hidden layer; ``image`` selects the 2-D variants."""
    if kind == "batch":
        return nn.BatchNorm2d(channels) if image else nn.BatchNorm1d(channels)
    if kind == "group":
        return nn.GroupNorm(math.gcd(4, channels), channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels) if image else nn.LayerNorm(channels)
    return nn.Identity()


def build_model(
    config: StackConfig,
    in_shape: tuple[int, int, int],
    *,
    generator: torch.Generator,
    dropout_generator: torch.Generator | None = None,
) -> nn.Module:
    r"""The recipe's network for images of shape ``in_shape = (C, H, W)``, initialised from ``generator``.

    ``"cnn"``: a 3×3 conv stem with ``width`` channels, then conv-norm-ReLU-
    maxpool stages that double the channels (capped at ``4·width``) while the
    side is above 4, then global average pooling, dropout and a linear
    classifier. ``"mlp"``: flatten, two ``width``-unit hidden layers with
    norm and ReLU, dropout, linear. Layers followed by a norm have no bias
    (the norm's shift :math:`\beta` takes its place, as in torchvision's
    ResNets). Dropout is :class:`regbook.dropout.Dropout`
    drawing its masks from ``dropout_generator`` (which must live on the
    device the model will run on). Conv and linear weights are drawn as in
    torch's default initialisation (Kaiming-uniform, ``a = √5``), but from
    ``generator`` rather than the global random state.

    Args:
        config: The recipe; uses ``arch``, ``width``, ``norm``, ``dropout``, ``num_classes``.
        in_shape: Channels, height and width of one input image.
        generator: Source of the initial weights.
        dropout_generator: Source of the dropout masks (``None``: torch's default generator).

    Returns:
        An ``nn.Module`` on the CPU mapping ``(N, C, H, W)`` to ``(N, num_classes)`` logits.

    Raises:
        TypeError: If ``config`` is not a :class:`StackConfig` or ``generator`` not a generator.
        ValueError: If ``in_shape`` is not three positive ints.

    Example:
        >>> net = build_model(StackConfig(width=4), (1, 8, 8), generator=torch.Generator().manual_seed(0))
        >>> tuple(net(torch.zeros(2, 1, 8, 8)).shape)
        (2, 10)
    """
    if not isinstance(config, StackConfig):
        raise TypeError(f"config must be a StackConfig (got {type(config).__name__})")
    check_generator("generator", generator)
    if len(in_shape) != 3:
        raise ValueError(f"in_shape must be (C, H, W) (got {in_shape!r})")
    c, h, w = (check_int(f"in_shape[{i}]", v, minimum=1) for i, v in enumerate(in_shape))
    layers: list[nn.Module] = []
    bias = config.norm == "none"  # a norm layer's shift β makes the bias before it redundant
    if config.arch == "cnn":
        ch = config.width
        layers += [nn.Conv2d(c, ch, 3, padding=1, bias=bias), _norm_layer(config.norm, ch, image=True), nn.ReLU()]
        side = min(h, w)
        while side > 4:
            out = min(2 * ch, 4 * config.width)
            layers += [nn.Conv2d(ch, out, 3, padding=1, bias=bias), _norm_layer(config.norm, out, image=True),
                       nn.ReLU(), nn.MaxPool2d(2)]
            ch, side = out, side // 2
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        features = ch
    else:
        features = config.width
        layers += [nn.Flatten(), nn.Linear(c * h * w, features, bias=bias),
                   _norm_layer(config.norm, features, image=False), nn.ReLU(),
                   nn.Linear(features, features, bias=bias), _norm_layer(config.norm, features, image=False),
                   nn.ReLU()]
    if config.dropout > 0:
        layers.append(dropout.Dropout(config.dropout, generator=dropout_generator))
    layers.append(nn.Linear(features, config.num_classes))
    model = nn.Sequential(*layers)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
                if module.bias is not None:
                    bound = 1.0 / math.sqrt(module.weight[0].numel())
                    nn.init.uniform_(module.bias, -bound, bound, generator=generator)
    return model


def _check_split(name: str, split: object, num_classes: int) -> Split:
    if not isinstance(split, Split):
        raise TypeError(f"{name} must be a regbook.data.Split (got {type(split).__name__})")
    check_float_tensor(f"{name}.x", split.x, ndim=4)
    y = split.y
    if not isinstance(y, torch.Tensor) or y.dtype != torch.long or y.ndim != 1:
        raise TypeError(f"{name}.y must be a 1-D int64 tensor of class indices")
    if len(y) != len(split.x):
        raise ValueError(f"{name}.x and {name}.y must have the same length (got {len(split.x)} and {len(y)})")
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"{name}.y must hold class indices in [0, {num_classes - 1}] "
                         f"(got {int(y.min())}..{int(y.max())})")
    return split


def _check_device(device: object) -> torch.device:
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str or torch.device (got {type(device).__name__})")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device must name a torch device such as 'cpu' or 'cuda' (got {device!r})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device must be available on this machine (got {device!r}; torch sees no CUDA device)")
    return dev


def _augment(x: torch.Tensor, config: StackConfig, generator: torch.Generator) -> torch.Tensor:
    """One fresh augmented copy of ``x`` (RandAugment, then random erasing), in chunks of 2048 images."""
    if config.randaugment_ops == 0 and config.random_erasing == 0:
        return x
    chunks = []
    for xb in x.split(2048):
        if config.randaugment_ops > 0:
            xb = augmentation.randaugment(xb, num_ops=config.randaugment_ops,
                                          magnitude=config.randaugment_magnitude, generator=generator)
        if config.random_erasing > 0:
            xb = augmentation.random_erasing(xb, p=config.random_erasing, generator=generator)
        chunks.append(xb)
    return torch.cat(chunks)


class Standardize(nn.Module):
    r"""Per-channel standardization :math:`(x - \mu) / \sigma` with fixed statistics (torchvision's ``Normalize``).

    Args:
        mean: Per-channel means, shape ``(C,)``.
        std: Per-channel standard deviations, shape ``(C,)``, all ``> 0``.

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``.

    Example:
        >>> Standardize(torch.tensor([0.5]), torch.tensor([0.25]))(torch.ones(1, 1, 1, 1)).tolist()
        [[[[2.0]]]]
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        check_float_tensor("mean", mean, ndim=1)
        check_float_tensor("std", std, ndim=1)
        if mean.shape != std.shape:
            raise ValueError(f"mean and std must have the same shape (got {tuple(mean.shape)} and {tuple(std.shape)})")
        if not bool((std > 0).all()):
            raise ValueError(f"std must be > 0 in every channel (got {std.tolist()})")
        self.register_buffer("mean", mean.detach().clone().reshape(1, -1, 1, 1))
        self.register_buffer("std", std.detach().clone().reshape(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _evaluate(model: nn.Module, split: Split, device: torch.device) -> tuple[float, float]:
    """Plain cross-entropy and accuracy of ``model`` on ``split``, in batches of 1024."""
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(split.y), 1024):
            xb = split.x[start:start + 1024].to(device)
            yb = split.y[start:start + 1024].to(device)
            logits = model(xb)
            total_loss += F.cross_entropy(logits, yb, reduction="sum").item()
            correct += int((logits.argmax(1) == yb).sum().item())
    return total_loss / len(split.y), correct / len(split.y)


def train(
    config: StackConfig,
    train_data: Split,
    val_data: Split,
    *,
    test_data: Split | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> TrainResult:
    r"""Train :func:`build_model` with every regularizer that ``config`` switches on.

    One epoch visits the training images once, in a seeded random order, in
    batches of ``batch_size``. At the start of each epoch the whole training
    set gets one fresh augmented copy (every image its own random draws, as a
    data loader would give), and each batch, on the CPU, goes through

    1. RandAugment (if ``randaugment_ops > 0``) and random erasing (if
       ``random_erasing > 0``), on images in ``[0, 1]``;
    2. with probability ``mix_prob``, Mixup or (with probability
       ``cutmix_prob``) CutMix, whose loss is the λ-weighted pair of
       (smoothed) cross-entropies;

    then moves to ``device`` for the forward and backward pass through
    ``nn.Sequential(Standardize(mean, std), build_model(...))``. The first
    layer is the lecture's ``Normalize(MEAN, STD)``, with the training set's
    per-channel mean and (unbiased) standard deviation, so the returned model
    takes raw images in ``[0, 1]``. ``torch.optim.AdamW`` then takes a step
    with decoupled weight decay

    .. math::

        \theta \leftarrow (1-\eta\lambda)\,\theta - \eta\,\hat m/(\sqrt{\hat v}+\epsilon)

    (:math:`\eta` = ``lr``, :math:`\lambda` = ``weight_decay``, applied to every parameter).
    After every epoch the *plain* validation cross-entropy is recorded; with
    ``patience > 0`` an :class:`~regbook.early_stopping.EarlyStopping`
    watches it, stops training after ``patience`` epochs without improvement
    and restores the best weights.

    Args:
        config: The recipe.
        train_data: Training images ``x`` of shape ``(N, C, H, W)`` in
            ``[0, 1]`` (C = 1 or 3 for RandAugment) and labels ``y``.
        val_data: Validation split, same layout (used for early stopping).
        test_data: Optional test split, evaluated once with the kept weights.
        seed: Seeds five independent generators ``torch.Generator().manual_seed(5 * seed + k)``:
            initial weights (k = 0), batch order (1), augmentation (2),
            mixing (3) and dropout masks (4, on ``device``).
        device: Where the model runs (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...).

    Returns:
        A :class:`TrainResult`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If a split is malformed, labels are out of range, or the
            device does not exist on this machine.

    Shape:
        ``x``: ``(N, C, H, W)``; ``y``: ``(N,)`` in ``0..num_classes-1``.

    Example:
        >>> from regbook.data import digits
        >>> tr, va, te = digits(60, 30, seed=0)
        >>> as_img = lambda s: Split(s.x.reshape(-1, 1, 8, 8), s.y)
        >>> cfg = StackConfig.nothing_on(width=4, epochs=2)
        >>> r1 = train(cfg, as_img(tr), as_img(va), seed=0)
        >>> r2 = train(cfg, as_img(tr), as_img(va), seed=0)
        >>> r1.val_loss == r2.val_loss, r1.epochs_run, r1.best_epoch
        (True, 2, 2)
    """
    if not isinstance(config, StackConfig):
        raise TypeError(f"config must be a StackConfig (got {type(config).__name__})")
    train_data = _check_split("train_data", train_data, config.num_classes)
    if len(train_data.y) < 2:
        raise ValueError(f"train_data must hold at least 2 images (got {len(train_data.y)})")
    val_data = _check_split("val_data", val_data, config.num_classes)
    if test_data is not None:
        test_data = _check_split("test_data", test_data, config.num_classes)
    seed = check_int("seed", seed, minimum=0)
    dev = _check_device(device)
    # the data steps (augmentation, mixing) run on the CPU with CPU generators, whatever the device
    train_data, val_data = Split(train_data.x.cpu(), train_data.y.cpu()), Split(val_data.x.cpu(), val_data.y.cpu())
    if test_data is not None:
        test_data = Split(test_data.x.cpu(), test_data.y.cpu())
    shape = tuple(train_data.x.shape[1:])
    for name, split in (("val_data", val_data), ("test_data", test_data)):
        if split is not None and tuple(split.x.shape[1:]) != shape:
            raise ValueError(f"{name}.x must have images of shape {shape} like train_data.x "
                             f"(got {tuple(split.x.shape[1:])})")

    g_init, g_order, g_aug, g_mix = (torch.Generator().manual_seed(seed * 5 + k) for k in range(4))
    g_drop = torch.Generator(device=dev).manual_seed(seed * 5 + 4)  # dropout masks are drawn on the device
    c, h, w = (int(s) for s in shape)
    mean = train_data.x.mean(dim=(0, 2, 3))
    std = train_data.x.std(dim=(0, 2, 3)).clamp_min(1e-6)
    net = build_model(config, (c, h, w), generator=g_init, dropout_generator=g_drop)
    model = nn.Sequential(Standardize(mean, std), net).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    stopper = EarlyStopping(config.patience) if config.patience > 0 else None
    ls = config.label_smoothing
    result = TrainResult(n_parameters=sum(p.numel() for p in model.parameters() if p.requires_grad))

    n = len(train_data.y)
    bounds = [*range(0, n, config.batch_size), n]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] == 1:
        del bounds[-2]  # a last batch of one image joins the previous one (BatchNorm needs two)
    for _ in range(config.epochs):
        model.train()
        order = torch.randperm(n, generator=g_order)
        x_epoch = _augment(train_data.x[order], config, g_aug)              # 3. augmentation
        y_epoch = train_data.y[order]
        epoch_loss = 0.0
        for start, stop in itertools.pairwise(bounds):
            xb = x_epoch[start:stop]
            yb = y_epoch[start:stop]
            mixed = config.mix_prob > 0 and len(yb) > 1 and torch.rand((), generator=g_mix).item() < config.mix_prob
            if mixed:                                                        # 4. Mixup / CutMix
                use_cutmix = torch.rand((), generator=g_mix).item() < config.cutmix_prob
                if use_cutmix:
                    xb, y_a, y_b, lam = mixup.cutmix_batch(xb, yb, alpha=config.cutmix_alpha, generator=g_mix)
                else:
                    xb, y_a, y_b, lam = mixup.mixup_batch(xb, yb, alpha=config.mixup_alpha, generator=g_mix)
                logits = model(xb.to(dev))
                loss = mixup.mixed_loss(logits, y_a.to(dev), y_b.to(dev), lam, label_smoothing=ls)
            else:                                                            # 5. label smoothing
                logits = model(xb.to(dev))
                loss = label_smoothing.smoothed_cross_entropy(logits, yb.to(dev), alpha=ls)
            opt.zero_grad()
            loss.backward()
            opt.step()                                                       # 2. decoupled weight decay
            epoch_loss += loss.item() * len(yb)
        val_loss, val_acc = _evaluate(model, val_data, dev)
        result.train_loss.append(epoch_loss / n)
        result.val_loss.append(val_loss)
        result.val_accuracy.append(val_acc)
        if stopper is not None and stopper.step(val_loss, model):            # 6. early stopping
            break
    result.epochs_run = len(result.val_loss)
    if stopper is not None:
        stopper.restore_best(model)
        result.best_epoch = stopper.best_epoch
    else:
        result.best_epoch = result.epochs_run
    _, result.final_train_accuracy = _evaluate(model, train_data, dev)
    result.final_val_loss, result.final_val_accuracy = _evaluate(model, val_data, dev)
    if test_data is not None:
        result.test_loss, result.test_accuracy = _evaluate(model, test_data, dev)
    result.model = model
    return result


@dataclass
class Comparison:
    """What :func:`compare` returns: one :class:`TrainResult` per configuration and seed.

    Attributes:
        seeds: The seeds, in order.
        runs: ``{name: [result for each seed]}``, in the order the configurations were given.
    """

    seeds: tuple[int, ...]
    runs: dict[str, list[TrainResult]]

    def test_accuracy(self, name: str) -> list[float]:
        """Test accuracy of configuration ``name``, one plain float per seed."""
        return [float(r.test_accuracy) for r in self._runs(name) if r.test_accuracy is not None]

    def train_accuracy(self, name: str) -> list[float]:
        """Clean training accuracy of configuration ``name``, one plain float per seed."""
        return [r.final_train_accuracy for r in self._runs(name)]

    def _runs(self, name: str) -> list[TrainResult]:
        if name not in self.runs:
            raise ValueError(f"name must be one of {tuple(self.runs)} (got {name!r})")
        return self.runs[name]


def compare(
    configs: dict[str, StackConfig],
    data: tuple[Split, Split, Split],
    *,
    seeds: tuple[int, ...] = (0, 1, 2),
    device: str | torch.device = "cpu",
) -> Comparison:
    """Train several recipes on the same data with the same seeds (paired runs).

    Seed ``s`` gives every configuration the same initial weights and batch
    order (see :func:`train`), so the per-seed differences between two
    configurations are paired comparisons.

    Args:
        configs: ``{name: config}``, e.g. ``{"nothing on": StackConfig.nothing_on(), "everything on": StackConfig()}``.
        data: ``(train, val, test)`` splits with images ``(N, C, H, W)`` in ``[0, 1]``.
        seeds: Non-empty tuple of seeds (each ``>= 0``).
        device: Where the models run.

    Returns:
        A :class:`Comparison`.

    Raises:
        TypeError: If ``configs`` is not a dict of :class:`StackConfig` or ``data`` not three splits.
        ValueError: If ``configs`` or ``seeds`` is empty, or as :func:`train`.

    Example:
        >>> from regbook.data import digits
        >>> img = lambda s: Split(s.x.reshape(-1, 1, 8, 8), s.y)
        >>> data = tuple(img(s) for s in digits(40, 20, seed=0))
        >>> cmp = compare({"plain": StackConfig.nothing_on(width=4, epochs=1)}, data, seeds=(0, 1))
        >>> len(cmp.test_accuracy("plain"))
        2
    """
    if not isinstance(configs, dict) or not all(isinstance(c, StackConfig) for c in configs.values()):
        raise TypeError("configs must be a dict mapping names to StackConfig")
    if not configs:
        raise ValueError("configs must not be empty")
    if not isinstance(data, tuple) or len(data) != 3:
        raise TypeError("data must be a tuple (train, val, test) of regbook.data.Split")
    if not isinstance(seeds, tuple) or not seeds:
        raise ValueError(f"seeds must be a non-empty tuple of ints (got {seeds!r})")
    runs: dict[str, list[TrainResult]] = {name: [] for name in configs}
    for seed in seeds:
        for name, cfg in configs.items():
            runs[name].append(train(cfg, data[0], data[1], test_data=data[2], seed=seed, device=device))
    return Comparison(seeds=seeds, runs=runs)


@dataclass(frozen=True)
class SweepGrid:
    """The three knobs of lab 6a and the values each takes.

    Attributes:
        weight_decay: AdamW weight decays to try (each ``>= 0``).
        randaugment: RandAugment off/on (``False``/``True``); *on* uses the
            base config's ``num_ops`` and ``magnitude``.
        label_smoothing: Smoothing values to try (each in ``[0, 1)``).

    Example:
        >>> SweepGrid().shape
        (3, 2, 2)
    """

    weight_decay: tuple[float, ...] = (0.0, 0.05, 0.5)
    randaugment: tuple[bool, ...] = (False, True)
    label_smoothing: tuple[float, ...] = (0.0, 0.1)

    def __post_init__(self) -> None:
        for name in ("weight_decay", "randaugment", "label_smoothing"):
            values = getattr(self, name)
            if not isinstance(values, tuple) or not values:
                raise ValueError(f"{name} must be a non-empty tuple (got {values!r})")
        for wd in self.weight_decay:
            check_nonnegative("weight_decay", wd)
        for on in self.randaugment:
            if not isinstance(on, bool):
                raise TypeError(f"randaugment must hold bools (got {type(on).__name__} {on!r})")
        for ls in self.label_smoothing:
            check_in_range("label_smoothing", ls, 0.0, 1.0, high_inclusive=False)

    @property
    def shape(self) -> tuple[int, int, int]:
        """The number of values of each knob, in the order weight decay, RandAugment, label smoothing."""
        return len(self.weight_decay), len(self.randaugment), len(self.label_smoothing)


@dataclass
class SweepResult:
    """Accuracies of every cell of a :class:`SweepGrid`, indexed ``[weight_decay, randaugment, label_smoothing]``.

    Attributes:
        grid: The grid that was swept.
        base: The configuration every cell started from.
        seed: The seed every cell was trained with.
        val_accuracy: ``float64`` tensor of shape ``grid.shape``: validation
            accuracy of the kept weights.
        test_accuracy: Same shape: test accuracy of the kept weights.
        best_epoch: Same shape: the epoch whose weights were kept.
    """

    grid: SweepGrid
    base: StackConfig
    seed: int
    val_accuracy: torch.Tensor
    test_accuracy: torch.Tensor
    best_epoch: torch.Tensor

    def best(self) -> dict[str, object]:
        """The cell with the highest validation accuracy (the first one on ties).

        Returns:
            ``{"weight_decay", "randaugment", "label_smoothing", "val_accuracy", "test_accuracy"}``.
        """
        flat = int(torch.argmax(self.val_accuracy).item())
        i, rest = divmod(flat, self.grid.shape[1] * self.grid.shape[2])
        j, k = divmod(rest, self.grid.shape[2])
        return {
            "weight_decay": self.grid.weight_decay[i],
            "randaugment": self.grid.randaugment[j],
            "label_smoothing": self.grid.label_smoothing[k],
            "val_accuracy": float(self.val_accuracy[i, j, k]),
            "test_accuracy": float(self.test_accuracy[i, j, k]),
        }

    def marginal(self, knob: str, *, metric: str = "test") -> list[float]:
        """Mean accuracy at each value of ``knob``, averaged over every setting of the other two knobs.

        Args:
            knob: ``"weight_decay"``, ``"randaugment"`` or ``"label_smoothing"``.
            metric: ``"test"`` or ``"val"``.

        Returns:
            One plain float per value of the knob, in the grid's order.
        """
        axis = ("weight_decay", "randaugment", "label_smoothing").index(check_choice(
            "knob", knob, ("weight_decay", "randaugment", "label_smoothing")))
        acc = self.test_accuracy if check_choice("metric", metric, ("test", "val")) == "test" else self.val_accuracy
        other = tuple(a for a in range(3) if a != axis)
        return [float(v) for v in acc.mean(dim=other)]


def sweep(
    grid: SweepGrid,
    data: tuple[Split, Split, Split],
    *,
    base: StackConfig | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> SweepResult:
    """Lab 6a: train ``base`` once per cell of ``grid`` (weight decay × RandAugment × label smoothing).

    Every cell is trained by :func:`train` with the same ``seed``, so all cells
    start from the same weights and see the same batch order: the differences
    between cells come from the three knobs (and from the extra randomness a
    knob itself brings, such as RandAugment's draws), not from the
    initialisation. The rest of the recipe (architecture, learning rate,
    epochs, Mixup, early stopping, ...) is taken from ``base``.

    Args:
        grid: The knob values.
        data: ``(train, val, test)`` splits with images ``(N, C, H, W)`` in ``[0, 1]``.
        base: The recipe every cell starts from (default: :class:`StackConfig`
            with Mixup and random erasing off, so that only the three knobs vary).
        seed: The seed of every cell.
        device: Where the models run.

    Returns:
        A :class:`SweepResult`.

    Raises:
        TypeError: If ``grid``, ``data`` or ``base`` has the wrong type.
        ValueError: As :func:`train`.

    Example:
        >>> from regbook.data import digits
        >>> img = lambda s: Split(s.x.reshape(-1, 1, 8, 8), s.y)
        >>> data = tuple(img(s) for s in digits(40, 20, seed=0))
        >>> grid = SweepGrid(weight_decay=(0.0,), randaugment=(False,), label_smoothing=(0.0, 0.1))
        >>> res = sweep(grid, data, base=StackConfig.nothing_on(width=4, epochs=1), seed=0)
        >>> tuple(res.val_accuracy.shape)
        (1, 1, 2)
    """
    if not isinstance(grid, SweepGrid):
        raise TypeError(f"grid must be a SweepGrid (got {type(grid).__name__})")
    if not isinstance(data, tuple) or len(data) != 3:
        raise TypeError("data must be a tuple (train, val, test) of regbook.data.Split")
    if base is None:
        base = StackConfig(mix_prob=0.0, random_erasing=0.0)
    if not isinstance(base, StackConfig):
        raise TypeError(f"base must be a StackConfig (got {type(base).__name__})")
    ra_ops = base.randaugment_ops if base.randaugment_ops > 0 else 2
    val = torch.zeros(grid.shape, dtype=torch.float64)
    test = torch.zeros(grid.shape, dtype=torch.float64)
    best = torch.zeros(grid.shape, dtype=torch.long)
    train_split, val_split, test_split = data
    for i, wd in enumerate(grid.weight_decay):
        for j, ra in enumerate(grid.randaugment):
            for k, ls in enumerate(grid.label_smoothing):
                cfg = replace(base, weight_decay=wd, randaugment_ops=ra_ops if ra else 0, label_smoothing=ls)
                run = train(cfg, train_split, val_split, test_data=test_split, seed=seed, device=device)
                assert run.test_accuracy is not None
                val[i, j, k], test[i, j, k], best[i, j, k] = run.final_val_accuracy, run.test_accuracy, run.best_epoch
    return SweepResult(grid=grid, base=base, seed=seed, val_accuracy=val, test_accuracy=test, best_epoch=best)


def cifar10_sweep(
    path: str | Path,
    grid: SweepGrid | None = None,
    *,
    base: StackConfig | None = None,
    n_train: int = 5000,
    n_val: int = 1000,
    n_test: int = 2000,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> SweepResult:
    """Lab 6a on real CIFAR-10: the same :func:`sweep`, on images read from ``path``.

    The first ``n_train + n_val`` training images (in file order) are
    shuffled with ``seed`` and split into training and validation sets; the
    first ``n_test`` images of ``test_batch`` are the test set. Nothing is
    downloaded: ``path`` must hold the "CIFAR-10 python version" folder
    (see :func:`regbook.cifar.load_cifar10`).

    Args:
        path: The ``cifar-10-batches-py`` folder or its parent.
        grid: Knob values (default :class:`SweepGrid`).
        base: The recipe (default: a 32-wide CNN with BatchNorm, 15 epochs,
            batch 128, Mixup and random erasing off).
        n_train: Training images (``>= 1``).
        n_val: Validation images (``>= 1``); ``n_train + n_val <= 50000``.
        n_test: Test images (1..10000).
        seed: Seed of the split and of every cell.
        device: Where the models run; ``None`` picks ``"cuda"`` when torch
            sees a GPU, else ``"cpu"``.

    Returns:
        A :class:`SweepResult`.

    Raises:
        FileNotFoundError: If ``path`` holds no CIFAR-10 batches.
        ValueError: If a size is out of range.
    """
    from regbook.cifar import load_cifar10

    n_train = check_int("n_train", n_train, minimum=1)
    n_val = check_int("n_val", n_val, minimum=1)
    n_test = check_int("n_test", n_test, minimum=1)
    if n_train + n_val > 50000:
        raise ValueError(f"n_train + n_val must be <= 50000 (got {n_train + n_val})")
    if n_test > 10000:
        raise ValueError(f"n_test must be <= 10000 (got {n_test})")
    seed = check_int("seed", seed, minimum=0)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if grid is None:
        grid = SweepGrid()
    if base is None:
        base = StackConfig(width=32, epochs=15, batch_size=128, mix_prob=0.0, random_erasing=0.0)
    pool = load_cifar10(path, train=True, limit=n_train + n_val)
    if len(pool.labels) < n_train + n_val:
        raise ValueError(f"n_train + n_val must be <= the {len(pool.labels)} training images in {str(path)!r} "
                         f"(got {n_train + n_val})")
    perm = torch.randperm(len(pool.labels), generator=torch.Generator().manual_seed(seed))
    tr, va = perm[:n_train], perm[n_train:]
    test = load_cifar10(path, train=False, limit=n_test)
    data = (Split(pool.images[tr], pool.labels[tr]), Split(pool.images[va], pool.labels[va]),
            Split(test.images, test.labels))
    return sweep(grid, data, base=base, seed=seed, device=device)
