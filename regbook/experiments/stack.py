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

from regbook._checks import (
    check_choice,
    check_count,
    check_device,
    check_float_tensor,
    check_generator,
    check_in_range,
    check_int,
    check_nonnegative,
    check_path,
)
from regbook.experiments.harness import (
    SeedLinear,
    SeedSplit,
    Streams,
    _check_seeds,
    accuracy,
    build_mlp,
    digit_splits,
    fit,
    nll,
    seed_streams,
)
from regbook.experiments.stats import BOOK_SEEDS, paired
from regbook.stack import NORMS, StackConfig, Standardize, augment_images, count_parameters, mix_batch
from regbook.stack import _check_images as _check_image_batch

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

    Args and errors as :func:`~regbook.experiments.harness.digit_splits`: ``n_train``,
    ``n_val`` ints with ``n_train + n_val`` below the 1,797 digits; ``seeds`` a
    non-empty sequence (not one int) of distinct ints ``>= 0``. Images are float32 in ``[0, 1]``.

    Example:
        >>> tr, va, te = digit_images(100, 50, [0, 1])
        >>> tuple(tr.x.shape), te.n
        ((2, 100, 1, 8, 8), 1647)
    """
    return tuple(s.reshape(1, 8, 8) for s in digit_splits(n_train, n_val, seeds))  # type: ignore[return-value]


def _check_images(name: str, split: object, num_classes: int) -> SeedSplit:
    """A :class:`SeedSplit` of float32 CPU images ``(k, n, C, H, W)`` in ``[0, 1]``, ``n >= 1``, labels in range."""
    if not isinstance(split, SeedSplit):
        raise TypeError(f"{name} must be a SeedSplit (got {type(split).__name__})")
    if split.x.ndim != 5:
        raise ValueError(f"{name}.x must hold images (k, n, C, H, W) (got shape {tuple(split.x.shape)}); "
                         "reshape flat digits with split.reshape(1, 8, 8)")
    if split.x.dtype != torch.float32:
        raise TypeError(f"{name}.x must be float32 (got {split.x.dtype})")
    if split.x.is_meta or split.y.is_meta or split.x.device.type != "cpu" or split.y.device.type != "cpu":
        raise ValueError(f"{name} must hold data on the CPU (got {split.x.device}); device= moves the networks")
    if split.n < 1:
        raise ValueError(f"{name} must hold at least one example per seed (got shape {tuple(split.x.shape)})")
    check_float_tensor(f"{name}.x", split.x)
    if bool(((split.x < 0) | (split.x > 1)).any()):
        raise ValueError(f"{name}.x must hold images in [0, 1] "
                         f"(got values {float(split.x.min()):.3g}..{float(split.x.max()):.3g})")
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

    Args:
        features: ``nn.Sequential`` of grouped convolutions (``groups = k``), norms, ReLUs and
            pooling, ending in ``(B, k * channels, 1, 1)``.
        head: :class:`~regbook.experiments.harness.SeedLinear` with ``k`` seeds and ``channels`` inputs.
        seeds: ``k``, an int ``>= 1``.
        channels: Channels of each seed's last feature map, an int ``>= 1``.
        dropout: Drop probability before the classifier, in ``[0, 1)``.
        drop_generators: ``k`` CPU ``torch.Generator`` (one per seed) for the dropout masks.

    Attributes:
        features: ``nn.Sequential`` of grouped convolutions, norms, ReLUs and pooling.
        head: :class:`~regbook.experiments.harness.SeedLinear` classifier.
        seeds: ``k``.
        channels: Channels of each seed's last feature map.

    Raises:
        TypeError, ValueError: On an argument of the wrong type or out of range (named in the message).
    """

    def __init__(self, features: nn.Sequential, head: SeedLinear, *, seeds: int, channels: int,
                 dropout: float, drop_generators: Sequence[torch.Generator]) -> None:
        if not isinstance(features, nn.Sequential):
            raise TypeError(f"features must be an nn.Sequential (got {type(features).__name__})")
        if not isinstance(head, SeedLinear):
            raise TypeError(f"head must be a SeedLinear (got {type(head).__name__})")
        seeds = check_count("seeds", seeds)
        channels = check_count("channels", channels)
        if tuple(head.weight.shape[:2]) != (seeds, channels):
            raise ValueError(f"head must map {seeds} seeds' {channels} channels "
                             f"(got a SeedLinear of weight shape {tuple(head.weight.shape)})")
        dropout = check_in_range("dropout", dropout, 0.0, 1.0, high_inclusive=False)
        if isinstance(drop_generators, torch.Generator) or not isinstance(drop_generators, Sequence):
            raise TypeError(f"drop_generators must be a sequence of torch.Generator, one per seed "
                            f"(got {type(drop_generators).__name__})")
        gens = [check_generator(f"drop_generators[{i}]", g) for i, g in enumerate(drop_generators)]
        if len(gens) != seeds:
            raise ValueError(f"drop_generators must hold one generator per seed ({seeds}) (got {len(gens)})")
        super().__init__()
        self.features, self.head = features, head
        self.seeds, self.channels, self.dropout = seeds, channels, dropout
        self.drop_generators = gens

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The ``k`` networks on ``x`` ``(k, B, C, H, W)`` (weights' dtype and device, ``B >= 1``): ``(k, B, classes)``.

        Raises:
            TypeError: If ``x`` is not a tensor of the weights' dtype.
            ValueError: If ``x`` has the wrong shape or device, or in training mode with
                BatchNorm has a single value per channel.

        Mutates:
            In training mode: BatchNorm running statistics, and with ``dropout > 0`` every
            ``drop_generators[i]`` (one mask per seed per call).
        """
        w = self.head.weight
        if not isinstance(x, torch.Tensor) or x.dtype != w.dtype:
            raise TypeError(f"x must be a torch.Tensor of the weights' dtype {w.dtype} "
                            f"(got {getattr(x, 'dtype', type(x).__name__)})")
        first = next((m for m in self.features if isinstance(m, nn.Conv2d)), None)
        c = None if first is None else first.in_channels // self.seeds
        if x.ndim != 5 or x.shape[0] != self.seeds or x.shape[1] < 1 or (c is not None and x.shape[2] != c):
            raise ValueError(f"x must have shape (k={self.seeds}, B, C{'' if c is None else '=' + str(c)}, H, W) "
                             f"with B >= 1 (got {tuple(x.shape)})")
        if x.device != w.device:
            raise ValueError(f"x must be on the weights' device {w.device} (got {x.device})")
        if self.training and x.shape[1] * x.shape[3] * x.shape[4] < 2 and any(
                isinstance(m, nn.BatchNorm2d) for m in self.features):
            raise ValueError(f"x must have more than one value per channel in training mode (got {tuple(x.shape)})")
        k, b = x.shape[:2]
        h = self.features(x.transpose(0, 1).reshape(b, -1, *x.shape[3:]))   # (B, k*C', 1, 1)
        h = h.reshape(b, k, self.channels).transpose(0, 1)                    # (k, B, C')
        if self.training and self.dropout > 0:
            # One Bernoulli(q) keep-mask per seed, drawn on the CPU from the seed's own stream and moved (works on
            # any device), applied as h * (m / q): the draws and arithmetic of regbook.dropout.dropout_mask and
            # apply_mask, without their argument checks, which refuse what a training step must pass on (NaN
            # activations of a diverging run, as torch's dropout does). bernoulli_ overwrites every entry of the
            # empty tensor; the mask never depends on uninitialised memory.
            q = 1.0 - self.dropout
            masks = [torch.empty(h.shape[1:]).bernoulli_(q, generator=g) for g in self.drop_generators]
            h = torch.stack([h[i] * (m.to(h.device, h.dtype) / q) for i, m in enumerate(masks)])
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
        in_shape: ``(C, H, W)`` of one image, a tuple or list of three ints ``>= 1``.
        width: Channels of the first convolution, an int in ``[1, 2**31 - 1]``.
        num_classes: Outputs, an int in ``[2, 2**31 - 1]``.
        streams: One :class:`~regbook.experiments.harness.Streams` per seed (a non-empty sequence).
        norm: ``"batch"``, ``"group"``, ``"layer"`` or ``"none"``.
        dropout: Drop probability before the classifier, in ``[0, 1)``.

    Raises:
        TypeError, ValueError: On an argument of the wrong type or out of range (named in the message).

    Mutates:
        Every ``streams[i].init`` (the initial draws); nothing when an argument is rejected.

    Example:
        >>> net = build_cnn((1, 8, 8), 4, 10, streams=[seed_streams(0), seed_streams(1)])
        >>> tuple(net(torch.zeros(2, 3, 1, 8, 8)).shape)
        (2, 3, 10)
    """
    if not isinstance(in_shape, tuple | list):
        raise TypeError(f"in_shape must be a tuple (C, H, W) (got {type(in_shape).__name__} {in_shape!r})")
    if len(in_shape) != 3:
        raise ValueError(f"in_shape must be (C, H, W) (got {in_shape!r})")
    c, h, w = (check_count(f"in_shape[{i}]", v) for i, v in enumerate(in_shape))
    width = check_count("width", width)
    num_classes = check_count("num_classes", num_classes, minimum=2)
    _check_streams(streams)
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


def _check_streams(streams: object, k: int | None = None) -> list[Streams]:
    """A non-empty sequence of :class:`Streams` (``k`` of them when given)."""
    if isinstance(streams, Streams | str) or not isinstance(streams, Sequence) or not streams:
        raise TypeError(f"streams must be a non-empty sequence of Streams (one per seed) (got {streams!r:.60})")
    for i, st in enumerate(streams):
        if not isinstance(st, Streams):
            raise TypeError(f"streams[{i}] must be a Streams (got {type(st).__name__})")
    if k is not None and len(streams) != k:
        raise ValueError(f"streams must hold one Streams per seed of train ({k}) (got {len(streams)})")
    return list(streams)


class OnDevice(nn.Module):
    """Runs ``module`` on ``device`` while its callers stay on the CPU.

    Inputs are moved to ``device`` and the outputs brought back to the input's
    device, so the training loop's data steps (augmentation and mixing, which
    draw from CPU generators) and its bookkeeping stay on the CPU, while the
    forward and backward passes run on the accelerator. On the CPU it is a
    no-op wrapper. On ``"meta"`` the outputs stay meta (shapes only).

    Args:
        module: The ``nn.Module`` to run.
        device: A ``str`` or ``torch.device`` torch can use on this machine.

    Raises:
        TypeError: If ``module`` is not an ``nn.Module`` or ``device`` not a str/device.
        ValueError: If ``device`` is unknown or not available here.

    Mutates:
        ``module``: moved to ``device`` in place (``module.to(device)``).

    Example:
        >>> m = OnDevice(nn.Linear(2, 1), "cpu")
        >>> tuple(m(torch.zeros(3, 2)).shape), m.device.type
        ((3, 1), 'cpu')
    """

    def __init__(self, module: nn.Module, device: str | torch.device) -> None:
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be an nn.Module (got {type(module).__name__})")
        dev = check_device("device", device, allow_none=False)
        assert dev is not None
        super().__init__()
        self.device = dev
        self.module = module.to(self.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``module(x)`` on ``device``, returned on ``x``'s device; ``x`` a tensor with data (meta only on meta).

        Raises:
            TypeError: If ``x`` is not a tensor (and as ``module`` does for its input).
            ValueError: If ``x`` is a meta tensor while the module holds data.
        """
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor (got {type(x).__name__})")
        if x.is_meta and self.device.type != "meta":
            raise ValueError(f"x must hold data to run on {self.device} (got a meta tensor)")
        out: torch.Tensor = self.module(x.to(self.device))
        return out if out.is_meta else out.to(x.device)


def _device(device: object) -> torch.device:
    """``device`` checked (:func:`~regbook._checks.check_device`); ``None``: CUDA if torch sees it, else the CPU."""
    dev = check_device("device", device)
    if dev is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if dev.type == "meta":
        raise ValueError("device must hold data to train on (got 'meta')")
    return dev


def build_model(config: StackConfig, train: SeedSplit, *, streams: Sequence[Streams]) -> nn.Sequential:
    """The recipe's ``k`` networks: :class:`~regbook.stack.Standardize` (each seed's own statistics), then the net.

    ``arch="mlp"``: :func:`~regbook.experiments.harness.build_mlp` with two
    hidden layers of ``width`` units; ``arch="cnn"``: :func:`build_cnn`.

    Args:
        config: The recipe (:class:`~regbook.stack.StackConfig`).
        train: float32 CPU images ``(k, n, C, H, W)`` in ``[0, 1]`` (their per-seed, per-channel
            mean and standard deviation become the first layer) and labels in ``[0, num_classes)``.
        streams: ``k`` :class:`~regbook.experiments.harness.Streams`, one per seed of ``train``.

    Raises:
        TypeError, ValueError: On an argument of the wrong type, shape or range (named in the message).

    Mutates:
        Every ``streams[i].init`` (the initial draws).

    Example:
        >>> tr, _, _ = digit_images(50, 10, [0, 1])
        >>> net = build_model(StackConfig(width=16), tr, streams=[seed_streams(0), seed_streams(1)])
        >>> tuple(net(tr.x[:, :3]).shape)
        (2, 3, 10)
    """
    if not isinstance(config, StackConfig):
        raise TypeError(f"config must be a StackConfig (got {type(config).__name__})")
    train = _check_images("train", train, config.num_classes)
    _check_streams(streams, train.seeds)
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
        max_bytes: Upper bound on the stored images (inputs and outputs), in bytes: an int in
            ``[0, 2**63 - 1]`` (0 stores nothing).

    Raises:
        TypeError, ValueError: If ``max_bytes`` is not such an int.
    """

    def __init__(self, max_bytes: int = 256 * 2**20) -> None:
        self.max_bytes = check_int("max_bytes", max_bytes, minimum=0, maximum=2**63 - 1)
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._store: dict[tuple[object, ...], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def __call__(self, x: torch.Tensor, config: StackConfig, generator: torch.Generator) -> torch.Tensor:
        """:func:`~regbook.stack.augment_images` ``(x, config, generator=generator)``, from the cache when it can.

        Arguments and errors as :func:`~regbook.stack.augment_images`, all checked before the cache is read.

        Mutates:
            ``generator`` (as the augmentation would), the cache's store and its ``hits``/``misses``/``bytes``.
        """
        x = _check_image_batch(x)
        if x.is_meta:
            raise ValueError("x must hold data to be augmented and cached (got a meta tensor)")
        if not isinstance(config, StackConfig):
            raise TypeError(f"config must be a StackConfig (got {type(config).__name__})")
        check_generator("generator", generator)
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

    Raises:
        TypeError, ValueError: If a field has the wrong type, or a tensor the wrong dtype, shape
            or values (accuracies finite in ``[0, 1]``, losses ``>= 0`` (NaN and inf allowed: a diverged
            run is reported, not refused), epochs ``>= 1``; meta tensors: shapes only).
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

    def __post_init__(self) -> None:
        if not isinstance(self.config, StackConfig):
            raise TypeError(f"config must be a StackConfig (got {type(self.config).__name__})")
        k = len(_check_seed_tuple(self.seeds))
        _check_per_seed("train_accuracy", self.train_accuracy, (k,), low=0.0, high=1.0)
        _check_per_seed("val_accuracy", self.val_accuracy, (k,), low=0.0, high=1.0)
        if self.test_accuracy is not None:
            _check_per_seed("test_accuracy", self.test_accuracy, (k,), low=0.0, high=1.0)
        if self.test_nll is not None:
            _check_per_seed("test_nll", self.test_nll, (k,), low=0.0, finite=False)
        if not isinstance(self.best_epoch, torch.Tensor) or self.best_epoch.dtype != torch.long:
            raise TypeError(f"best_epoch must be an int64 tensor (got {getattr(self.best_epoch, 'dtype', None)})")
        if tuple(self.best_epoch.shape) != (k,):
            raise ValueError(f"best_epoch must have shape ({k},) (got {tuple(self.best_epoch.shape)})")
        if not self.best_epoch.is_meta and bool((self.best_epoch < 1).any()):
            raise ValueError("best_epoch must hold epochs >= 1")
        if not isinstance(self.val_loss, torch.Tensor) or self.val_loss.ndim != 2:
            raise TypeError(f"val_loss must be a 2-D tensor (epochs, k) (got {type(self.val_loss).__name__})")
        _check_per_seed("val_loss", self.val_loss, (self.val_loss.shape[0], k), low=0.0, finite=False)
        check_count("n_parameters", self.n_parameters, minimum=0)
        if not isinstance(self.model, nn.Module):
            raise TypeError(f"model must be an nn.Module (got {type(self.model).__name__})")


def _check_seed_tuple(seeds: object, name: str = "seeds") -> list[int]:
    """A record's seeds: a tuple of distinct ints ``>= 0`` (as every experiment's ``seeds``)."""
    if not isinstance(seeds, tuple):
        raise TypeError(f"{name} must be a tuple of ints (got {type(seeds).__name__})")
    return _check_seeds(seeds)


def _check_per_seed(name: str, value: object, shape: tuple[int, ...], *, low: float | None = None,
                    high: float | None = None, finite: bool = True) -> torch.Tensor:
    """A floating tensor of ``shape`` inside ``[low, high]``, finite unless ``finite=False`` (meta: shape only).

    Losses are recorded with ``finite=False``: a diverged run's NaN or inf loss is a result to report, not an error.
    """
    if finite:
        t = check_float_tensor(name, value).detach()
    elif not isinstance(value, torch.Tensor) or not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point torch.Tensor (got {getattr(value, 'dtype', type(value))})")
    else:
        t = value.detach()
    if tuple(t.shape) != shape:
        raise ValueError(f"{name} must have shape {shape} (got {tuple(t.shape)})")
    if not finite and not t.is_meta:
        t = t[~t.isnan()]
    if not t.is_meta and t.numel() and ((low is not None and float(t.min()) < low) or
                                        (high is not None and float(t.max()) > high)):
        raise ValueError(f"{name} must hold values in [{low}, {high if high is not None else 'inf'}] "
                         f"(got {float(t.min()):.3g}..{float(t.max()):.3g})")
    return t


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

    Every argument (every seed included) is checked before anything is built or trained.

    Args:
        config: The recipe (a :class:`~regbook.stack.StackConfig`).
        train, val: One split per seed (:class:`~regbook.experiments.harness.SeedSplit`):
            float32 CPU images ``(k, n, C, H, W)``, finite, in ``[0, 1]``, ``n >= 1``, labels in
            ``[0, num_classes)``; ``C`` 1 or 3 when the recipe augments.
        test: Optional test split, the same kind, evaluated once with the kept weights.
        seeds: ``k`` distinct ints ``>= 0`` in a list, tuple or range (one int is refused);
            seed ``s`` gives :func:`~regbook.experiments.harness.seed_streams` ``(s)``.
        device: Where the networks run: a ``str`` or ``torch.device`` available here
            (``None``: CUDA if torch sees it, else CPU; ``"meta"`` refused).
            Data steps stay on the CPU (:class:`OnDevice`).
        augment_cache: ``None`` or an :class:`AugmentCache` shared between runs (same results, less time).

    Returns:
        A :class:`StackRun`.

    Raises:
        TypeError, ValueError: On a wrong type, images that are not 5-D float32 in ``[0, 1]``,
            splits whose number of seeds differs from ``len(seeds)``, labels out of range,
            seeds that are not distinct ints ``>= 0``, or a device torch cannot use here.

    Mutates:
        ``augment_cache`` (entries and counters); never the splits.

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
    seed_list = _check_seeds(seeds)
    for name, split in (("train", train), ("val", val), ("test", test)):
        if split is not None and split.seeds != len(seed_list):
            raise ValueError(f"{name} must hold one split per seed ({len(seed_list)}) (got {split.seeds})")
        if split is not None and split.x.shape[2:] != train.x.shape[2:]:
            raise ValueError(f"{name}.x must have images of shape {tuple(train.x.shape[2:])} like train.x "
                             f"(got {tuple(split.x.shape[2:])})")
    augments = config.randaugment_ops > 0 or config.random_erasing > 0
    if augments and train.x.shape[2] not in (1, 3):
        raise ValueError(f"train.x must have 1 or 3 channels for the recipe's augmentation "
                         f"(got {train.x.shape[2]})")
    if augment_cache is not None and not isinstance(augment_cache, AugmentCache):
        raise TypeError(f"augment_cache must be an AugmentCache or None (got {type(augment_cache).__name__})")
    dev = _device(device)
    streams = [seed_streams(s) for s in seed_list]
    if dev.type != "cpu" and config.arch == "mlp" and config.dropout > 0:
        raise ValueError("dropout > 0 with arch='mlp' runs on the CPU only (the harness draws its masks there); "
                         f"use device='cpu' or arch='cnn' (got device {str(dev)!r})")

    model = OnDevice(build_model(config, train, streams=streams), dev)       # 1. normalized architecture
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None
    if augments:                                                              # 3. augmentation, per seed
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
        config=config, seeds=tuple(seed_list),
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
    two keep the best epoch on validation loss (``patience``). The arguments
    are checked as :class:`~regbook.stack.StackConfig`'s fields of the same names.

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
        seeds: The seeds (a tuple of distinct ints ``>= 0``).
        n_train, n_val, n_test: Examples per seed in each split (ints ``>= 1``).
        runs: ``{name: run}`` in the order the recipes were given (str names, runs on ``seeds``).

    Raises:
        TypeError, ValueError: If a field has the wrong type or range, or a run another set of seeds.
    """

    seeds: tuple[int, ...]
    n_train: int
    n_val: int
    n_test: int
    runs: dict[str, StackRun]

    def __post_init__(self) -> None:
        seeds = _check_seed_tuple(self.seeds)
        check_count("n_train", self.n_train)
        check_count("n_val", self.n_val)
        check_count("n_test", self.n_test)
        if not isinstance(self.runs, dict):
            raise TypeError(f"runs must be a dict mapping names to StackRun (got {type(self.runs).__name__})")
        for name, run in self.runs.items():
            if not isinstance(name, str) or not isinstance(run, StackRun):
                raise TypeError(f"runs must map str names to StackRun (got {type(name).__name__}: "
                                f"{type(run).__name__})")
            if list(run.seeds) != seeds:
                raise ValueError(f"runs[{name!r}] must be trained on the seeds {tuple(seeds)} (got {run.seeds})")

    def _run(self, name: str, arg: str = "name") -> StackRun:
        if not isinstance(name, str) or name not in self.runs:
            raise ValueError(f"{arg} must be one of {tuple(self.runs)} (got {name!r})")
        return self.runs[name]

    def test_accuracy(self, name: str) -> list[float]:
        """Test accuracy of recipe ``name`` (a key of ``runs``), one float per seed.

        Raises:
            ValueError: If ``name`` is not a recipe, or the recipe was trained without test data.
        """
        acc = self._run(name).test_accuracy
        if acc is None:
            raise ValueError(f"name {name!r} was trained without test data: it has no test accuracy")
        return [float(v) for v in acc]

    def train_accuracy(self, name: str) -> list[float]:
        """Clean training accuracy of recipe ``name`` (a key of ``runs``, else ``ValueError``), one float per seed."""
        return [float(v) for v in self._run(name).train_accuracy]

    def effect(self, name: str, baseline: str, *, metric: str = "test") -> list[float]:
        """Per-seed paired difference ``name - baseline`` of test (or clean training) accuracy.

        ``name`` and ``baseline`` are keys of ``runs``; ``metric`` is ``"test"`` or ``"train"``
        (``ValueError`` otherwise).
        """
        metric = check_choice("metric", metric, ("test", "train"))
        self._run(name)
        self._run(baseline, "baseline")
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

    Every argument (every recipe and every seed) is checked before anything trains.

    Args:
        configs: ``{name: recipe}`` (a non-empty dict of str to :class:`~regbook.stack.StackConfig`);
            default :func:`recipes` ``()``.
        n_train: Training digits per seed (an int ``>= 1``).
        n_val: Validation digits per seed (the checkpoint); the rest of the 1,797 are the test set.
        seeds: The seeds: a non-empty list, tuple or range of distinct ints ``>= 0`` (at least 2 for an interval).

    Returns:
        A :class:`Comparison`.

    Raises:
        TypeError: If ``configs`` is not a dict of str to :class:`~regbook.stack.StackConfig`,
            or a size or seed is not an int.
        ValueError: If ``configs`` is empty, or a size or seed is out of range (as :func:`digit_images`).

    Example:
        >>> cmp = compare({"plain": StackConfig.nothing_on(width=8, epochs=1)}, n_train=40, n_val=20, seeds=[0, 1])
        >>> len(cmp.test_accuracy("plain")), cmp.n_test
        (2, 1737)
    """
    if configs is None:
        configs = recipes()
    if not isinstance(configs, dict) or not all(isinstance(k, str) and isinstance(c, StackConfig)
                                                 for k, c in configs.items()):
        raise TypeError("configs must be a dict mapping names to StackConfig")
    if not configs:
        raise ValueError("configs must not be empty")
    check_count("n_train", n_train)
    check_count("n_val", n_val)
    seed_list = _check_seeds(seeds)
    tr, va, te = digit_images(n_train, n_val, seed_list)
    runs = {name: train_stack(cfg, tr, va, te, seeds=seed_list) for name, cfg in configs.items()}
    return Comparison(seeds=tuple(seed_list), n_train=tr.n, n_val=va.n, n_test=te.n, runs=runs)


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

    Raises:
        ValueError: If a knob is not a non-empty tuple (a scalar or a list is refused) or a value is out of range.
        TypeError: If a value has the wrong type (``randaugment`` holds real bools only).

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
        if len(self.weight_decay) * len(self.randaugment) * len(self.label_smoothing) > 10_000:
            raise ValueError(f"weight_decay, randaugment and label_smoothing must make at most 10000 cells "
                             f"(got {self.shape})")

    @property
    def shape(self) -> tuple[int, int, int]:
        """The number of values of each knob, in the order weight decay, RandAugment, label smoothing."""
        return len(self.weight_decay), len(self.randaugment), len(self.label_smoothing)

    def values(self, knob: str) -> tuple[float, ...] | tuple[bool, ...]:
        """The values of ``knob`` (one of :data:`KNOBS`; ``ValueError`` otherwise)."""
        return getattr(self, check_choice("knob", knob, KNOBS))  # type: ignore[no-any-return]


def lab_base(*, epochs: int = 30, lr: float = 1e-2, batch_size: int = 100) -> StackConfig:
    """Lab 6a's base recipe: the stack with Mixup, random erasing and early stopping off, so only the three knobs move.

    The arguments are checked as :class:`~regbook.stack.StackConfig`'s fields of the same names.

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

    Raises:
        TypeError, ValueError: If a field has the wrong type, or an accuracy tensor the wrong
            shape or values outside ``[0, 1]`` (meta tensors: shapes only).
    """

    grid: SweepGrid
    base: StackConfig
    seeds: tuple[int, ...]
    n_train: int
    n_val: int
    n_test: int
    val_accuracy: torch.Tensor
    test_accuracy: torch.Tensor

    def __post_init__(self) -> None:
        if not isinstance(self.grid, SweepGrid):
            raise TypeError(f"grid must be a SweepGrid (got {type(self.grid).__name__})")
        if not isinstance(self.base, StackConfig):
            raise TypeError(f"base must be a StackConfig (got {type(self.base).__name__})")
        k = len(_check_seed_tuple(self.seeds))
        check_count("n_train", self.n_train)
        check_count("n_val", self.n_val)
        check_count("n_test", self.n_test)
        for name in ("val_accuracy", "test_accuracy"):
            _check_per_seed(name, getattr(self, name), (*self.grid.shape, k), low=0.0, high=1.0)

    def _acc(self, metric: str) -> torch.Tensor:
        return self.test_accuracy if check_choice("metric", metric, ("test", "val")) == "test" else self.val_accuracy

    def marginal(self, knob: str, *, metric: str = "test") -> torch.Tensor:
        """Per seed, the mean accuracy at each value of ``knob`` over every setting of the other two knobs.

        ``knob`` is one of :data:`KNOBS` and ``metric`` ``"test"`` or ``"val"`` (``ValueError`` otherwise).

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
        on both sides. ``to`` and ``frm`` are int indices into the knob's values;
        ``knob`` and ``metric`` as :meth:`marginal` (``ValueError`` otherwise).
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


def _check_grid_and_base(grid: object, base: object) -> None:
    if not isinstance(grid, SweepGrid):
        raise TypeError(f"grid must be a SweepGrid (got {type(grid).__name__})")
    if not isinstance(base, StackConfig):
        raise TypeError(f"base must be a StackConfig (got {type(base).__name__})")


def _sweep_splits(grid: SweepGrid, base: StackConfig, data: tuple[SeedSplit, SeedSplit, SeedSplit],
                  seeds: Sequence[int], device: str | torch.device | None) -> SweepResult:
    _check_grid_and_base(grid, base)
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

    Every argument (every seed included) is checked before anything trains.

    Seed ``s`` gives every cell the same digits subsample, initial weights and
    batch order, so the differences between cells on one seed come from the
    knobs (and the random draws a knob brings, such as RandAugment's); the
    spread over seeds says how far those differences can be trusted.

    Args:
        grid: The knob values (default :class:`SweepGrid` ``()``: 3 × 2 × 2).
        base: The recipe every cell starts from (default :func:`lab_base` ``()``).
        n_train: Training digits per seed (an int ``>= 1``).
        n_val: Validation digits per seed (they pick the best cell); the rest are the test set.
        seeds: The seeds: a non-empty list, tuple or range of distinct ints ``>= 0``.

    Returns:
        A :class:`SweepResult`.

    Raises:
        TypeError: If ``grid`` is not a :class:`SweepGrid`, ``base`` not a
            :class:`~regbook.stack.StackConfig`, or a size or seed not an int.
        ValueError: If a size or seed is out of range (as :func:`digit_images`).

    Example:
        >>> grid = SweepGrid(weight_decay=(0.0,), randaugment=(False,), label_smoothing=(0.0, 0.1))
        >>> res = sweep(grid, base=lab_base(epochs=1), n_train=40, n_val=20, seeds=[0, 1])
        >>> tuple(res.test_accuracy.shape)
        (1, 1, 2, 2)
    """
    grid = SweepGrid() if grid is None else grid
    base = lab_base() if base is None else base
    _check_grid_and_base(grid, base)
    check_count("n_train", n_train)
    check_count("n_val", n_val)
    seed_list = _check_seeds(seeds)
    return _sweep_splits(grid, base, digit_images(n_train, n_val, seed_list), seed_list, "cpu")


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

    Every argument (every seed included) is checked before the files are read; the files
    are checked (:func:`regbook.cifar.load_cifar10`) before anything trains.

    Args:
        path: The ``cifar-10-batches-py`` folder or its parent (``str`` or ``os.PathLike``).
        grid: Knob values (default :class:`SweepGrid` ``()``).
        base: The recipe (default: ``arch="cnn"``, 32 channels, BatchNorm,
            15 epochs in batches of 128, patience 5, Mixup and random erasing off).
        n_train: Training images per seed (an int ``>= 1``).
        n_val: Validation images per seed (an int ``>= 1``); ``n_train + n_val <= 50000``.
        n_test: Test images (an int in 1..10000).
        seeds: The seeds: a non-empty list, tuple or range of distinct ints ``>= 0``.
        device: Where the networks run: a ``str`` or ``torch.device`` available here; ``None``
            picks ``"cuda"`` when torch sees a GPU, else ``"cpu"``.

    Returns:
        A :class:`SweepResult`.

    Raises:
        FileNotFoundError: If ``path`` holds no CIFAR-10 batches.
        TypeError: If an argument has the wrong type (named in the message).
        ValueError: If a size or seed is out of range, the device is unknown or unavailable,
            or a batch file is not a valid CIFAR-10 pickle (as :func:`regbook.cifar.load_cifar10`).
    """
    from regbook.cifar import load_cifar10

    path = check_path("path", path)
    n_train = check_count("n_train", n_train)
    n_val = check_count("n_val", n_val)
    n_test = check_count("n_test", n_test)
    if n_train + n_val > 50000:
        raise ValueError(f"n_train + n_val must be <= 50000 (got {n_train + n_val})")
    if n_test > 10000:
        raise ValueError(f"n_test must be <= 10000 (got {n_test})")
    seed_list = _check_seeds(seeds)
    dev = _device(device)
    grid = SweepGrid() if grid is None else grid
    if base is None:
        base = StackConfig(arch="cnn", width=32, epochs=15, batch_size=128, patience=5, mix_prob=0.0,
                           random_erasing=0.0)
    _check_grid_and_base(grid, base)
    pool = load_cifar10(path, train=True, limit=n_train + n_val)
    if len(pool.labels) < n_train + n_val:
        raise ValueError(f"n_train + n_val must be <= the {len(pool.labels)} training images in {str(path)!r} "
                         f"(got {n_train + n_val})")
    perms = [torch.randperm(len(pool.labels), generator=seed_streams(s).data) for s in seed_list]
    tr = SeedSplit(torch.stack([pool.images[p[:n_train]] for p in perms]),
                   torch.stack([pool.labels[p[:n_train]] for p in perms]))
    va = SeedSplit(torch.stack([pool.images[p[n_train:]] for p in perms]),
                   torch.stack([pool.labels[p[n_train:]] for p in perms]))
    test = load_cifar10(path, train=False, limit=n_test)
    k = len(perms)
    te = SeedSplit(test.images.expand(k, *test.images.shape), test.labels.expand(k, -1))
    return _sweep_splits(grid, base, (tr, va, te), seed_list, dev)
