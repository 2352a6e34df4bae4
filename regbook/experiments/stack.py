r"""The experiments of the chapter *stack* and of lab 6a, run on the shared harness.

* :func:`train_stack` -- one :class:`~regbook.stack.StackConfig` trained on
  ``k`` seeds at once; per-seed accuracies, the epoch kept, the validation curve.
* :func:`compare` -- several recipes on the same seeds (paired runs): the
  chapter's *nothing on* / *everything on* / *everything but RandAugment*.
* :func:`sweep` -- lab 6a: the grid weight decay × RandAugment × label
  smoothing, every cell on every seed; :class:`SweepResult` gives each knob's
  per-seed marginal effect.
* :func:`cifar10_sweep` -- the same sweep on CIFAR-10 files a reader has on
  disk (:mod:`regbook.cifar`; never downloaded), on a GPU when there is one.

How the recipe maps onto the book's one training loop
(:func:`regbook.experiments.harness.fit`):

============================  ==============================================================
recipe (lecture line)         ``fit`` argument
============================  ==============================================================
1. normalized architecture    the model: :func:`~regbook.experiments.harness.build_mlp`
                              (``arch="mlp"``) or :func:`build_cnn` (``arch="cnn"``),
                              ``norm`` and ``dropout`` from the config
2. AdamW, decoupled decay     ``optimizer="adamw"``, ``weight_decay``, ``lr``
3. RandAugment + erasing      ``augment``: :func:`regbook.stack.augment_images`, per seed
   ``Normalize(MEAN, STD)``   the model's first layer, :class:`regbook.stack.Standardize`,
                              with each seed's training-set statistics
4. conditional Mixup/CutMix   ``mix``: :func:`regbook.stack.mix_batch` on soft targets, per seed
5. label smoothing            ``label_smoothing``
6. checkpoint on val loss     ``val`` and ``patience`` (best weights kept per seed)
============================  ==============================================================

Seed ``s`` draws its own digits subsample, initial weights, batch order,
augmentations and mixing (:func:`~regbook.experiments.harness.seed_streams`),
so two recipes trained on the same seeds are paired comparisons.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from regbook._checks import check_choice, check_in_range, check_int, check_nonnegative
from regbook.dropout import apply_mask, dropout_mask
from regbook.experiments.harness import (
    SeedLinear,
    SeedSplit,
    Streams,
    accuracy,
    build_mlp,
    digit_splits,
    fit,
    nll,
    seed_streams,
)
from regbook.experiments.stats import BOOK_SEEDS, paired
from regbook.stack import NORMS, StackConfig, Standardize, augment_images, count_parameters, mix_batch

__all__ = [
    "KNOBS",
    "AugmentCache",
    "Comparison",
    "OnDevice",
    "SeedCNN",
    "StackRun",
    "SweepGrid",
    "SweepResult",
    "build_cnn",
    "build_model",
    "cifar10_sweep",
    "compare",
    "digit_images",
    "lab_base",
    "recipes",
    "sweep",
    "train_stack",
]

#: The three knobs of lab 6a, in the grid's axis order.
KNOBS = ("weight_decay", "randaugment", "label_smoothing")


# ---------------------------------------------------------------------------
# Data and models
# ---------------------------------------------------------------------------


def digit_images(n_train: int, n_val: int, seeds: Sequence[int]) -> tuple[SeedSplit, SeedSplit, SeedSplit]:
    """:func:`~regbook.experiments.harness.digit_splits` as ``(k, n, 1, 8, 8)`` images (the recipe augments images).

    Example:
        >>> tr, va, te = digit_images(100, 50, [0, 1])
        >>> tuple(tr.x.shape), te.n
        ((2, 100, 1, 8, 8), 1647)
    """
    return tuple(s.reshape(1, 8, 8) for s in digit_splits(n_train, n_val, seeds))  # type: ignore[return-value]


def _check_images(name: str, split: object, num_classes: int) -> SeedSplit:
    if not isinstance(split, SeedSplit):
        raise TypeError(f"{name} must be a SeedSplit (got {type(split).__name__})")
    if split.x.ndim != 5:
        raise ValueError(f"{name}.x must hold images (k, n, C, H, W) (got shape {tuple(split.x.shape)}); "
                         "reshape flat digits with split.reshape(1, 8, 8)")
    if int(split.y.min()) < 0 or int(split.y.max()) >= num_classes:
        raise ValueError(f"{name}.y must hold class indices in [0, {num_classes - 1}] "
                         f"(got {int(split.y.min())}..{int(split.y.max())})")
    return split


def _norm2d(kind: str, seeds: int, channels: int) -> nn.Module:
    """The norm after a grouped convolution over ``k * channels`` channels; the seeds never share statistics."""
    if kind == "batch":   # per channel, so per seed
        return nn.BatchNorm2d(seeds * channels)
    if kind == "group":   # gcd(4, C) groups per seed; a group never straddles two seeds
        return nn.GroupNorm(seeds * math.gcd(4, channels), seeds * channels)
    if kind == "layer":   # one group per seed: all of a seed's (C, H, W) per example
        return nn.GroupNorm(seeds, seeds * channels)
    return nn.Identity()


class SeedCNN(nn.Module):
    """``k`` small CNNs side by side, built by :func:`build_cnn`; maps ``(k, B, C, H, W)`` to ``(k, B, classes)``.

    The seeds' images are laid side by side along the channel axis,
    ``(B, k·C, H, W)``, and every convolution has ``groups = k``: group ``i``
    sees only seed ``i``'s channels and has its own weights, so one grouped
    convolution computes ``k`` independent ones. Norms and pooling act per
    channel (or per group of one seed's channels), so the seeds never mix.

    Attributes:
        features: ``nn.Sequential`` of grouped convolutions, norms, ReLUs and pooling.
        head: :class:`~regbook.experiments.harness.SeedLinear` classifier.
        seeds: ``k``.
        channels: Channels of each seed's last feature map.
    """

    def __init__(self, features: nn.Sequential, head: SeedLinear, *, seeds: int, channels: int,
                 dropout: float, drop_generators: Sequence[torch.Generator]) -> None:
        super().__init__()
        self.features, self.head = features, head
        self.seeds, self.channels, self.dropout = seeds, channels, dropout
        self.drop_generators = list(drop_generators)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 5 or x.shape[0] != self.seeds:
            raise ValueError(f"x must have shape (k={self.seeds}, B, C, H, W) (got {tuple(x.shape)})")
        k, b = x.shape[:2]
        h = self.features(x.transpose(0, 1).reshape(b, -1, *x.shape[3:]))   # (B, k*C', 1, 1)
        h = h.reshape(b, k, self.channels).transpose(0, 1)                    # (k, B, C')
        if self.training and self.dropout > 0:
            # masks drawn on the CPU from each seed's own stream, then moved: works on any device
            masks = [dropout_mask(torch.empty(h.shape[1:]), drop_prob=self.dropout, generator=g)
                     for g in self.drop_generators]
            h = torch.stack([apply_mask(h[i], m.to(h.device), drop_prob=self.dropout) for i, m in enumerate(masks)])
        out: torch.Tensor = self.head(h)
        return out


def build_cnn(
    in_shape: tuple[int, int, int],
    width: int,
    num_classes: int,
    *,
    streams: Sequence[Streams],
    norm: str = "batch",
    dropout: float = 0.0,
) -> SeedCNN:
    r"""``k = len(streams)`` small CNNs trained side by side by grouped convolutions (``groups = k``).

    Each network: a 3×3 convolution to ``width`` channels, norm, ReLU; then,
    while the side is above 4, a 3×3 convolution that doubles the channels
    (capped at ``4·width``), norm, ReLU and 2×2 max-pooling; global average
    pooling, dropout, a linear classifier. A convolution followed by a norm
    has no bias. Initialisation follows the book's one policy
    (:func:`~regbook.experiments.harness.init_`): every weight and bias
    :math:`U(-1/\sqrt{n_\text{in}}, 1/\sqrt{n_\text{in}})` from seed ``i``'s
    ``init`` stream (``n_in`` = input channels × 9 for a convolution), norm
    scales 1 and shifts 0.

    Build it on the CPU (the streams are CPU generators) and move it with
    :class:`OnDevice`; dropout masks are drawn on the CPU and moved, so the
    network runs on any device.

    Args:
        in_shape: ``(C, H, W)`` of one image.
        width: Channels of the first convolution (``>= 1``).
        num_classes: Outputs (``>= 2``).
        streams: One :class:`~regbook.experiments.harness.Streams` per seed.
        norm: ``"batch"``, ``"group"``, ``"layer"`` or ``"none"``.
        dropout: Drop probability before the classifier, in ``[0, 1)``.

    Raises:
        TypeError, ValueError: On an argument out of range (named in the message).

    Example:
        >>> net = build_cnn((1, 8, 8), 4, 10, streams=[seed_streams(0), seed_streams(1)])
        >>> tuple(net(torch.zeros(2, 3, 1, 8, 8)).shape)
        (2, 3, 10)
    """
    if not isinstance(in_shape, tuple) or len(in_shape) != 3:
        raise ValueError(f"in_shape must be (C, H, W) (got {in_shape!r})")
    c, h, w = (check_int(f"in_shape[{i}]", v, minimum=1) for i, v in enumerate(in_shape))
    width = check_int("width", width, minimum=1)
    num_classes = check_int("num_classes", num_classes, minimum=2)
    if isinstance(streams, Streams) or not isinstance(streams, Sequence) or not streams:
        raise TypeError("streams must be a non-empty sequence of Streams (one per seed)")
    for i, s in enumerate(streams):
        if not isinstance(s, Streams):
            raise TypeError(f"streams[{i}] must be a Streams (got {type(s).__name__})")
    norm = check_choice("norm", norm, NORMS)
    dropout = check_in_range("dropout", dropout, 0.0, 1.0, high_inclusive=False)
    k = len(streams)
    bias = norm == "none"
    layers: list[nn.Module] = [nn.Conv2d(k * c, k * width, 3, padding=1, groups=k, bias=bias),
                               _norm2d(norm, k, width), nn.ReLU()]
    ch, side = width, min(h, w)
    while side > 4:
        out = min(2 * ch, 4 * width)
        layers += [nn.Conv2d(k * ch, k * out, 3, padding=1, groups=k, bias=bias), _norm2d(norm, k, out),
                   nn.ReLU(), nn.MaxPool2d(2)]
        ch, side = out, side // 2
    layers += [nn.AdaptiveAvgPool2d(1)]
    net = SeedCNN(nn.Sequential(*layers), SeedLinear(k, ch, num_classes), seeds=k, channels=ch,
                  dropout=dropout, drop_generators=[s.drop for s in streams])
    with torch.no_grad():
        for i, s in enumerate(streams):
            for layer in net.modules():
                if isinstance(layer, nn.Conv2d):
                    n_out = layer.out_channels // k
                    bound = 1.0 / math.sqrt(layer.weight[0].numel())
                    layer.weight[i * n_out:(i + 1) * n_out].uniform_(-bound, bound, generator=s.init)
                    if layer.bias is not None:
                        layer.bias[i * n_out:(i + 1) * n_out].uniform_(-bound, bound, generator=s.init)
                elif isinstance(layer, SeedLinear):
                    bound = 1.0 / math.sqrt(layer.in_features)
                    layer.weight[i].uniform_(-bound, bound, generator=s.init)
                    if layer.bias is not None:
                        layer.bias[i].uniform_(-bound, bound, generator=s.init)
    return net


class OnDevice(nn.Module):
    """Runs ``module`` on ``device`` while its callers stay on the CPU.

    Inputs are moved to ``device`` and the outputs brought back to the input's
    device, so the training loop's data steps (augmentation and mixing, which
    draw from CPU generators) and its bookkeeping stay on the CPU, while the
    forward and backward passes run on the accelerator. On the CPU it is a
    no-op wrapper.

    Example:
        >>> m = OnDevice(nn.Linear(2, 1), "cpu")
        >>> tuple(m(torch.zeros(3, 2)).shape), m.device.type
        ((3, 1), 'cpu')
    """

    def __init__(self, module: nn.Module, device: str | torch.device) -> None:
        super().__init__()
        self.device = torch.device(device)
        self.module = module.to(self.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.module(x.to(self.device))
        return out.to(x.device)


def _device(device: object) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, str | torch.device):
        raise TypeError(f"device must be a str, torch.device or None (got {type(device).__name__})")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device must name a torch device such as 'cpu' or 'cuda' (got {device!r})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device must be available on this machine (got {device!r}; torch sees no CUDA device)")
    return dev


def build_model(config: StackConfig, train: SeedSplit, *, streams: Sequence[Streams]) -> nn.Sequential:
    """The recipe's ``k`` networks: :class:`~regbook.stack.Standardize` (each seed's own statistics), then the net.

    ``arch="mlp"``: :func:`~regbook.experiments.harness.build_mlp` with two
    hidden layers of ``width`` units; ``arch="cnn"``: :func:`build_cnn`.

    Example:
        >>> tr, _, _ = digit_images(50, 10, [0, 1])
        >>> net = build_model(StackConfig(width=16), tr, streams=[seed_streams(0), seed_streams(1)])
        >>> tuple(net(tr.x[:, :3]).shape)
        (2, 3, 10)
    """
    if not isinstance(config, StackConfig):
        raise TypeError(f"config must be a StackConfig (got {type(config).__name__})")
    train = _check_images("train", train, config.num_classes)
    c, h, w = (int(v) for v in train.x.shape[2:])
    mean = train.x.mean(dim=(1, 3, 4))                                  # (k, C)
    std = train.x.std(dim=(1, 3, 4)).clamp_min(1e-6)
    net: nn.Module
    if config.arch == "mlp":
        net = build_mlp(c * h * w, [config.width, config.width], config.num_classes, streams=streams,
                        norm=config.norm, dropout=config.dropout)
    else:
        net = build_cnn((c, h, w), config.width, config.num_classes, streams=streams, norm=config.norm,
                        dropout=config.dropout)
    return nn.Sequential(Standardize(mean, std), net)


@torch.no_grad()
def _evaluate(model: nn.Module, split: SeedSplit, *, chunk: int = 1024) -> dict[str, torch.Tensor]:
    """Accuracy and NLL per seed, in eval mode, ``chunk`` examples at a time (bounded memory on large images)."""
    model.eval()
    logits = torch.cat([model(split.x[:, i:i + chunk]) for i in range(0, split.n, chunk)], dim=1)
    return {"accuracy": accuracy(logits, split.y), "nll": nll(logits, split.y)}


# ---------------------------------------------------------------------------
# One recipe on k seeds
# ---------------------------------------------------------------------------


class AugmentCache:
    """Exact memoization of :func:`~regbook.stack.augment_images` across training runs.

    An augmentation's output is a function of its input batch, the recipe's
    augmentation knobs and the generator's *state*; it leaves the generator
    in a new state. The cache stores all four, and on a call whose input,
    knobs and generator state match a stored one it returns the stored
    output and moves the generator to the stored state: the caller cannot
    tell the difference (the tests check that a cached run equals an
    uncached one bit for bit).

    It pays off in lab 6a: with early stopping off, every cell of the grid
    trained from seed ``s`` sees the same batches in the same order and draws
    the same augmentations from seed ``s``'s ``aug`` stream, so RandAugment
    runs once per seed instead of once per cell. Entries stop being added
    once ``max_bytes`` of images are stored (later calls are computed as usual).

    Args:
        max_bytes: Upper bound on the stored images (inputs and outputs), in bytes.
    """

    def __init__(self, max_bytes: int = 256 * 2**20) -> None:
        self.max_bytes = check_int("max_bytes", max_bytes, minimum=0)
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._store: dict[tuple[object, ...], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def __call__(self, x: torch.Tensor, config: StackConfig, generator: torch.Generator) -> torch.Tensor:
        """:func:`~regbook.stack.augment_images` ``(x, config, generator=generator)``, from the cache when it can."""
        key = (config.randaugment_ops, config.randaugment_magnitude, config.random_erasing,
               bytes(generator.get_state().numpy()), tuple(x.shape))
        hit = self._store.get(key)
        if hit is not None and torch.equal(hit[0], x):
            self.hits += 1
            generator.set_state(hit[2])
            return hit[1].clone()
        self.misses += 1
        out = augment_images(x, config, generator=generator)
        size = 2 * x.numel() * x.element_size()
        if self.bytes + size <= self.max_bytes:
            self._store[key] = (x.clone(), out.clone(), generator.get_state())
            self.bytes += size
        return out



@dataclass
class StackRun:
    """One recipe trained on ``k`` seeds by :func:`train_stack`; every tensor holds one value per seed.

    Attributes:
        config: The recipe.
        seeds: The seeds, in order.
        train_accuracy: ``(k,)`` accuracy of the kept weights on the clean
            (unaugmented, unmixed) training images.
        val_accuracy: ``(k,)`` validation accuracy of the kept weights.
        test_accuracy: ``(k,)`` test accuracy (``None`` without test data).
        test_nll: ``(k,)`` test cross-entropy (``None`` without test data).
        best_epoch: ``(k,)`` the epoch whose weights were kept.
        val_loss: ``(epochs run, k)`` plain validation cross-entropy after every epoch.
        n_parameters: Trainable parameters of *one* seed's network.
        model: The ``k`` networks (kept weights, eval mode; raw ``[0, 1]`` images in).
    """

    config: StackConfig
    seeds: tuple[int, ...]
    train_accuracy: torch.Tensor
    val_accuracy: torch.Tensor
    test_accuracy: torch.Tensor | None
    test_nll: torch.Tensor | None
    best_epoch: torch.Tensor
    val_loss: torch.Tensor
    n_parameters: int
    model: nn.Module


def train_stack(
    config: StackConfig,
    train: SeedSplit,
    val: SeedSplit,
    test: SeedSplit | None = None,
    *,
    seeds: Sequence[int] = BOOK_SEEDS,
    device: str | torch.device | None = "cpu",
    augment_cache: AugmentCache | None = None,
) -> StackRun:
    r"""Train the recipe ``config`` on ``k = len(seeds)`` seeds at once with the book's one loop.

    Builds :func:`build_model` and calls :func:`~regbook.experiments.harness.fit`
    with ``optimizer="adamw"`` (decoupled decay,
    :math:`\theta \leftarrow (1-\eta\lambda)\theta - \eta\,\hat m/(\sqrt{\hat v}+\epsilon)`,
    on every parameter), ``label_smoothing``, the per-seed ``augment``
    (:func:`~regbook.stack.augment_images`) and ``mix``
    (:func:`~regbook.stack.mix_batch`) callbacks when the recipe switches
    them on, and ``val`` with ``patience`` (0: all epochs, last weights kept).
    Seed ``i`` trains on ``train`` seed ``i``'s images, in batches of
    ``batch_size``.

    Args:
        config: The recipe.
        train, val: One split per seed, images ``(k, n, C, H, W)`` in ``[0, 1]``.
        test: Optional test split, evaluated once with the kept weights.
        seeds: ``k`` distinct seeds ``>= 0``; seed ``s`` gives
            :func:`~regbook.experiments.harness.seed_streams` ``(s)``.
        device: Where the networks run (``None``: CUDA if torch sees it, else CPU).
            Data steps stay on the CPU (:class:`OnDevice`).
        augment_cache: An :class:`AugmentCache` shared between runs (same results, less time).

    Returns:
        A :class:`StackRun`.

    Raises:
        TypeError, ValueError: On a wrong type, images that are not 5-D, splits whose
            number of seeds differs from ``len(seeds)``, labels out of range, or a device
            torch cannot use.

    Example:
        >>> tr, va, te = digit_images(60, 30, [0, 1])
        >>> run = train_stack(StackConfig.nothing_on(width=8, epochs=2), tr, va, te, seeds=[0, 1])
        >>> tuple(run.test_accuracy.shape), run.best_epoch.tolist()
        ((2,), [2, 2])
    """
    if not isinstance(config, StackConfig):
        raise TypeError(f"config must be a StackConfig (got {type(config).__name__})")
    train = _check_images("train", train, config.num_classes)
    val = _check_images("val", val, config.num_classes)
    if test is not None:
        test = _check_images("test", test, config.num_classes)
    if isinstance(seeds, int | str) or not isinstance(seeds, Sequence):
        raise TypeError(f"seeds must be a sequence of ints (got {type(seeds).__name__})")
    streams = [seed_streams(s) for s in seeds]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct (got {list(seeds)})")
    for name, split in (("train", train), ("val", val), ("test", test)):
        if split is not None and split.seeds != len(streams):
            raise ValueError(f"{name} must hold one split per seed ({len(streams)}) (got {split.seeds})")
        if split is not None and split.x.shape[2:] != train.x.shape[2:]:
            raise ValueError(f"{name}.x must have images of shape {tuple(train.x.shape[2:])} like train.x "
                             f"(got {tuple(split.x.shape[2:])})")
    dev = _device(device)
    if dev.type != "cpu" and config.arch == "mlp" and config.dropout > 0:
        raise ValueError("dropout > 0 with arch='mlp' runs on the CPU only (the harness draws its masks there); "
                         f"use device='cpu' or arch='cnn' (got device {str(dev)!r})")

    model = OnDevice(build_model(config, train, streams=streams), dev)       # 1. normalized architecture
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None
    if config.randaugment_ops > 0 or config.random_erasing > 0:              # 3. augmentation, per seed
        def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
            if augment_cache is not None:
                return augment_cache(x, config, g)
            return augment_images(x, config, generator=g)
    mix: Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]] | None = None
    if config.mix_prob > 0:                                                   # 4. Mixup / CutMix, per seed
        def mix(x: torch.Tensor, t: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
            return mix_batch(x, t, config, generator=g)
    result = fit(model, train, streams=streams, num_classes=config.num_classes, epochs=config.epochs,
                 batch_size=config.batch_size,
                 optimizer="adamw", lr=config.lr, weight_decay=config.weight_decay,  # 2. decoupled decay
                 label_smoothing=config.label_smoothing,                              # 5. label smoothing
                 augment=augment, mix=mix, val=val,
                 patience=config.patience)                                  # 6. checkpoint on val loss
    test_eval = _evaluate(model, test) if test is not None else None
    assert result.best_epoch is not None
    return StackRun(
        config=config, seeds=tuple(seeds),
        train_accuracy=_evaluate(model, train)["accuracy"], val_accuracy=_evaluate(model, val)["accuracy"],
        test_accuracy=None if test_eval is None else test_eval["accuracy"],
        test_nll=None if test_eval is None else test_eval["nll"],
        best_epoch=result.best_epoch, val_loss=torch.stack(result.val_loss),
        n_parameters=count_parameters(model) // len(streams), model=model,
    )


# ---------------------------------------------------------------------------
# The chapter: several recipes, paired by seed
# ---------------------------------------------------------------------------


def recipes(*, epochs: int = 60, lr: float = 1e-2, patience: int = 10, batch_size: int = 100) -> dict[str, StackConfig]:
    """The chapter's three recipes: *nothing on*, *everything on* (the lecture's stack), *everything but RandAugment*.

    All three train the same MLP (:class:`~regbook.stack.StackConfig`'s
    ``arch``, ``width``) for up to ``epochs`` epochs with AdamW at ``lr`` in
    batches of ``batch_size``. *Nothing on* has no norm, no decay, no
    augmentation, no mixing, hard labels and keeps its last weights; the other
    two keep the best epoch on validation loss (``patience``).

    Example:
        >>> list(recipes())
        ['nothing on', 'everything on', 'everything but RandAugment']
    """
    full = StackConfig(epochs=epochs, lr=lr, patience=patience, batch_size=batch_size)
    return {"nothing on": StackConfig.nothing_on(epochs=epochs, lr=lr, batch_size=batch_size), "everything on": full,
            "everything but RandAugment": replace(full, randaugment_ops=0)}


@dataclass
class Comparison:
    """What :func:`compare` returns: one :class:`StackRun` per recipe, all on the same seeds and data.

    Attributes:
        seeds: The seeds.
        n_train, n_val, n_test: Examples per seed in each split.
        runs: ``{name: run}`` in the order the recipes were given.
    """

    seeds: tuple[int, ...]
    n_train: int
    n_val: int
    n_test: int
    runs: dict[str, StackRun]

    def _run(self, name: str) -> StackRun:
        if name not in self.runs:
            raise ValueError(f"name must be one of {tuple(self.runs)} (got {name!r})")
        return self.runs[name]

    def test_accuracy(self, name: str) -> list[float]:
        """Test accuracy of recipe ``name``, one float per seed."""
        acc = self._run(name).test_accuracy
        assert acc is not None
        return [float(v) for v in acc]

    def train_accuracy(self, name: str) -> list[float]:
        """Clean training accuracy of recipe ``name``, one float per seed."""
        return [float(v) for v in self._run(name).train_accuracy]

    def effect(self, name: str, baseline: str, *, metric: str = "test") -> list[float]:
        """Per-seed paired difference ``name - baseline`` of test (or clean training) accuracy."""
        metric = check_choice("metric", metric, ("test", "train"))
        get = self.test_accuracy if metric == "test" else self.train_accuracy
        return paired(get(name), get(baseline))


def compare(
    configs: dict[str, StackConfig] | None = None,
    *,
    n_train: int = 200,
    n_val: int = 300,
    seeds: Sequence[int] = BOOK_SEEDS,
) -> Comparison:
    """Train several recipes on the same seeds: seed ``s`` gives each the same digits, initial draws and batch order.

    Args:
        configs: ``{name: recipe}``; default :func:`recipes` ``()``.
        n_train: Training digits per seed.
        n_val: Validation digits per seed (the checkpoint); the rest of the 1,797 are the test set.
        seeds: The seeds (at least 2 for an interval).

    Returns:
        A :class:`Comparison`.

    Raises:
        TypeError: If ``configs`` is not a dict of :class:`~regbook.stack.StackConfig`.
        ValueError: If ``configs`` is empty, or as :func:`train_stack`.

    Example:
        >>> cmp = compare({"plain": StackConfig.nothing_on(width=8, epochs=1)}, n_train=40, n_val=20, seeds=[0, 1])
        >>> len(cmp.test_accuracy("plain")), cmp.n_test
        (2, 1737)
    """
    if configs is None:
        configs = recipes()
    if not isinstance(configs, dict) or not all(isinstance(c, StackConfig) for c in configs.values()):
        raise TypeError("configs must be a dict mapping names to StackConfig")
    if not configs:
        raise ValueError("configs must not be empty")
    tr, va, te = digit_images(n_train, n_val, seeds)
    runs = {name: train_stack(cfg, tr, va, te, seeds=seeds) for name, cfg in configs.items()}
    return Comparison(seeds=tuple(seeds), n_train=tr.n, n_val=va.n, n_test=te.n, runs=runs)


# ---------------------------------------------------------------------------
# Lab 6a: the sweep
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepGrid:
    """The three knobs of lab 6a and the values each takes.

    Attributes:
        weight_decay: AdamW weight decays to try (each ``>= 0``).
        randaugment: RandAugment off/on (``False``/``True``); *on* uses the
            base recipe's ``magnitude`` and ``num_ops`` (2 if the base has it off).
        label_smoothing: Smoothing values to try (each in ``[0, 1)``).

    Example:
        >>> SweepGrid().shape
        (3, 2, 2)
    """

    weight_decay: tuple[float, ...] = (0.0, 0.05, 0.5)
    randaugment: tuple[bool, ...] = (False, True)
    label_smoothing: tuple[float, ...] = (0.0, 0.1)

    def __post_init__(self) -> None:
        for name in KNOBS:
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

    def values(self, knob: str) -> tuple[float, ...] | tuple[bool, ...]:
        """The values of ``knob`` (one of :data:`KNOBS`)."""
        return getattr(self, check_choice("knob", knob, KNOBS))  # type: ignore[no-any-return]


def lab_base(*, epochs: int = 30, lr: float = 1e-2, batch_size: int = 100) -> StackConfig:
    """Lab 6a's base recipe: the stack with Mixup, random erasing and early stopping off, so only the three knobs move.

    Example:
        >>> b = lab_base()
        >>> b.arch, b.norm, b.epochs, b.mix_prob, b.random_erasing, b.patience
        ('mlp', 'batch', 30, 0.0, 0.0, 0)
    """
    return StackConfig(epochs=epochs, lr=lr, batch_size=batch_size, patience=0, mix_prob=0.0, random_erasing=0.0)


@dataclass
class SweepResult:
    """Per-seed accuracies of every cell of a :class:`SweepGrid`, indexed ``[decay, randaugment, smoothing, seed]``.

    Attributes:
        grid: The grid that was swept.
        base: The recipe every cell started from.
        seeds: The seeds every cell was trained on.
        n_train, n_val, n_test: Examples per seed in each split.
        val_accuracy: ``float64`` tensor of shape ``(*grid.shape, k)``: validation accuracy of the kept weights.
        test_accuracy: Same shape: test accuracy of the kept weights.
    """

    grid: SweepGrid
    base: StackConfig
    seeds: tuple[int, ...]
    n_train: int
    n_val: int
    n_test: int
    val_accuracy: torch.Tensor
    test_accuracy: torch.Tensor

    def _acc(self, metric: str) -> torch.Tensor:
        return self.test_accuracy if check_choice("metric", metric, ("test", "val")) == "test" else self.val_accuracy

    def marginal(self, knob: str, *, metric: str = "test") -> torch.Tensor:
        """Per seed, the mean accuracy at each value of ``knob`` over every setting of the other two knobs.

        Returns:
            ``(number of values of knob, k)``, float64.
        """
        axis = KNOBS.index(check_choice("knob", knob, KNOBS))
        acc = self._acc(metric)
        other = tuple(a for a in range(3) if a != axis)
        return acc.mean(dim=other)

    def effect(self, knob: str, to: int, *, frm: int = 0, metric: str = "test") -> list[float]:
        """Per-seed marginal effect of moving ``knob`` from its value ``frm`` to its value ``to`` (indices).

        Each seed's number is the difference of its own two marginal means, so
        the effect is paired: every other knob setting and the seed are the same
        on both sides.
        """
        m = self.marginal(knob, metric=metric)
        n = m.shape[0]
        for name, i in (("to", to), ("frm", frm)):
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n:
                raise ValueError(f"{name} must be an index in [0, {n - 1}] (got {i!r})")
        return paired(m[to].tolist(), m[frm].tolist())

    def best(self) -> dict[str, object]:
        """The cell with the highest *mean validation* accuracy over the seeds (the first one on ties).

        Returns:
            ``{"index", "weight_decay", "randaugment", "label_smoothing", "val_accuracy", "test_accuracy"}``;
            the accuracies are per-seed lists.
        """
        mean_val = self.val_accuracy.mean(-1)
        flat = int(torch.argmax(mean_val).item())
        i, rest = divmod(flat, self.grid.shape[1] * self.grid.shape[2])
        j, k = divmod(rest, self.grid.shape[2])
        return {
            "index": (i, j, k),
            "weight_decay": self.grid.weight_decay[i],
            "randaugment": self.grid.randaugment[j],
            "label_smoothing": self.grid.label_smoothing[k],
            "val_accuracy": self.val_accuracy[i, j, k].tolist(),
            "test_accuracy": self.test_accuracy[i, j, k].tolist(),
        }


def _cell(base: StackConfig, wd: float, ra: bool, ls: float) -> StackConfig:
    ops = (base.randaugment_ops or 2) if ra else 0
    return replace(base, weight_decay=wd, randaugment_ops=ops, label_smoothing=ls)


def _sweep_splits(grid: SweepGrid, base: StackConfig, data: tuple[SeedSplit, SeedSplit, SeedSplit],
                  seeds: Sequence[int], device: str | torch.device | None) -> SweepResult:
    if not isinstance(grid, SweepGrid):
        raise TypeError(f"grid must be a SweepGrid (got {type(grid).__name__})")
    if not isinstance(base, StackConfig):
        raise TypeError(f"base must be a StackConfig (got {type(base).__name__})")
    tr, va, te = data
    k = len(seeds)
    cache = AugmentCache()    # every cell of seed s draws the same augmentations: compute them once
    val = torch.zeros(*grid.shape, k, dtype=torch.float64)
    test = torch.zeros(*grid.shape, k, dtype=torch.float64)
    for i, wd in enumerate(grid.weight_decay):
        for j, ra in enumerate(grid.randaugment):
            for m, ls in enumerate(grid.label_smoothing):
                run = train_stack(_cell(base, wd, ra, ls), tr, va, te, seeds=seeds, device=device,
                                  augment_cache=cache)
                assert run.test_accuracy is not None
                val[i, j, m], test[i, j, m] = run.val_accuracy, run.test_accuracy
    return SweepResult(grid=grid, base=base, seeds=tuple(seeds), n_train=tr.n, n_val=va.n, n_test=te.n,
                       val_accuracy=val, test_accuracy=test)


def sweep(
    grid: SweepGrid | None = None,
    *,
    base: StackConfig | None = None,
    n_train: int = 300,
    n_val: int = 300,
    seeds: Sequence[int] = BOOK_SEEDS,
) -> SweepResult:
    """Lab 6a on the digits: train ``base`` in every cell of ``grid``, every cell on all ``seeds`` at once.

    Seed ``s`` gives every cell the same digits subsample, initial weights and
    batch order, so the differences between cells on one seed come from the
    knobs (and the random draws a knob brings, such as RandAugment's); the
    spread over seeds says how far those differences can be trusted.

    Args:
        grid: The knob values (default :class:`SweepGrid` ``()``: 3 × 2 × 2).
        base: The recipe every cell starts from (default :func:`lab_base` ``()``).
        n_train: Training digits per seed.
        n_val: Validation digits per seed (they pick the best cell); the rest are the test set.
        seeds: The seeds.

    Returns:
        A :class:`SweepResult`.

    Example:
        >>> grid = SweepGrid(weight_decay=(0.0,), randaugment=(False,), label_smoothing=(0.0, 0.1))
        >>> res = sweep(grid, base=lab_base(epochs=1), n_train=40, n_val=20, seeds=[0, 1])
        >>> tuple(res.test_accuracy.shape)
        (1, 1, 2, 2)
    """
    grid = SweepGrid() if grid is None else grid
    base = lab_base() if base is None else base
    return _sweep_splits(grid, base, digit_images(n_train, n_val, seeds), seeds, "cpu")


def cifar10_sweep(
    path: str | Path,
    grid: SweepGrid | None = None,
    *,
    base: StackConfig | None = None,
    n_train: int = 5000,
    n_val: int = 1000,
    n_test: int = 2000,
    seeds: Sequence[int] = BOOK_SEEDS,
    device: str | torch.device | None = None,
) -> SweepResult:
    """Lab 6a on real CIFAR-10 read from ``path``: the same sweep, ``k`` CNNs per cell trained at once.

    Seed ``s`` shuffles the first ``n_train + n_val`` training images (in file
    order) with its ``data`` stream and splits them into its own training and
    validation sets; the first ``n_test`` images of ``test_batch`` are every
    seed's test set. Nothing is downloaded: ``path`` must hold the
    "CIFAR-10 python version" folder (:func:`regbook.cifar.load_cifar10`).

    Args:
        path: The ``cifar-10-batches-py`` folder or its parent.
        grid: Knob values (default :class:`SweepGrid` ``()``).
        base: The recipe (default: ``arch="cnn"``, 32 channels, BatchNorm,
            15 epochs in batches of 128, patience 5, Mixup and random erasing off).
        n_train: Training images per seed (``>= 1``).
        n_val: Validation images per seed (``>= 1``); ``n_train + n_val <= 50000``.
        n_test: Test images (1..10000).
        seeds: The seeds.
        device: Where the networks run; ``None`` picks ``"cuda"`` when torch sees a GPU, else ``"cpu"``.

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
    dev = _device(device)
    grid = SweepGrid() if grid is None else grid
    if base is None:
        base = StackConfig(arch="cnn", width=32, epochs=15, batch_size=128, patience=5, mix_prob=0.0,
                           random_erasing=0.0)
    pool = load_cifar10(path, train=True, limit=n_train + n_val)
    if len(pool.labels) < n_train + n_val:
        raise ValueError(f"n_train + n_val must be <= the {len(pool.labels)} training images in {str(path)!r} "
                         f"(got {n_train + n_val})")
    perms = [torch.randperm(len(pool.labels), generator=seed_streams(s).data) for s in seeds]
    tr = SeedSplit(torch.stack([pool.images[p[:n_train]] for p in perms]),
                   torch.stack([pool.labels[p[:n_train]] for p in perms]))
    va = SeedSplit(torch.stack([pool.images[p[n_train:]] for p in perms]),
                   torch.stack([pool.labels[p[n_train:]] for p in perms]))
    test = load_cifar10(path, train=False, limit=n_test)
    k = len(perms)
    te = SeedSplit(test.images.expand(k, *test.images.shape), test.labels.expand(k, -1))
    return _sweep_splits(grid, base, (tr, va, te), seeds, dev)
