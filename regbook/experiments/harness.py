r"""One way to run an experiment: seeds trained together, one model builder, one loop, shared metrics.

Every chapter's experiment is built from these pieces:

* :func:`seed_streams` -- the independent random streams of one seed
  (initialisation, data subsample, data order, augmentation, mixing, dropout).
* :class:`SeedSplit` / :func:`digit_splits` -- one data split *per seed*,
  stacked on a leading seed axis ``k``: ``x`` is ``(k, n, ...)``, ``y`` is ``(k, n)``.
* :func:`build_mlp` -- the one model builder: a ReLU MLP with optional
  normalization (``"batch"``, ``"layer"``, ``"rms"``, ``"group"``) and
  dropout, whose weights carry the seed axis (``(k, in, out)``), so ``k``
  networks train in one batched matrix product (``torch.baddbmm``).
* :func:`init_` -- the one initialisation policy: every weight and bias
  drawn :math:`U(-1/\sqrt{n_\text{in}}, 1/\sqrt{n_\text{in}})` (torch's
  default ranges) from the seed's own generator; norm scales 1, shifts 0.
* :func:`fit` -- the one training loop: mini-batches (or full batch), SGD,
  Adam or AdamW (weight decay coupled or decoupled), soft-target
  cross-entropy (covers label smoothing, Mixup and CutMix), per-seed
  augmentation, an optional learning-rate schedule, optional early stopping
  on the validation loss with the best weights restored per seed.
* :func:`accuracy`, :func:`nll`, :func:`ece`, :func:`evaluate` -- metrics,
  one value per seed.
* :func:`median_seconds` -- the one timing helper.

Seed independence: each seed draws only from its own streams, so a seed's
run does not depend on which other seeds train beside it (up to the last
bits of batched floating-point sums). Losses are summed over seeds; since
seed ``i``'s loss depends only on seed ``i``'s weights, each network gets
exactly its own gradient, and Adam/AdamW/SGD are elementwise, so the
optimizer treats the ``k`` networks as ``k`` separate ones.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from regbook._checks import (
    MAX_SEED,
    check_bool,
    check_choice,
    check_count,
    check_in_range,
    check_int,
    check_nonnegative,
    check_tensor,
)
from regbook.data import Split, digits

__all__ = [
    "NORMS",
    "OPTIMIZERS",
    "FitResult",
    "SeedLinear",
    "SeedMLP",
    "SeedNorm",
    "SeedSplit",
    "Streams",
    "accuracy",
    "build_mlp",
    "digit_splits",
    "ece",
    "evaluate",
    "fit",
    "init_",
    "median_seconds",
    "nll",
    "seed_streams",
    "soft_targets",
]

NORMS = ("none", "batch", "layer", "rms", "group")
OPTIMIZERS = ("sgd", "adam", "adamw")
_STREAMS = ("init", "data", "order", "aug", "mix", "drop")
_MAX_STREAM_SEED = (MAX_SEED - 7) // 8  # 8 * seed + 7 must fit manual_seed


# ---------------------------------------------------------------------------
# Seeds and their streams
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Streams:
    """The independent random streams of one seed.

    Attributes:
        seed: The seed.
        init: Initial weights.
        data: Which examples the seed trains on (subsample, label noise).
        order: Mini-batch order.
        aug: Augmentation draws.
        mix: Mixup/CutMix draws.
        drop: Dropout masks.
    """

    seed: int
    init: torch.Generator
    data: torch.Generator
    order: torch.Generator
    aug: torch.Generator
    mix: torch.Generator
    drop: torch.Generator


def seed_streams(seed: int) -> Streams:
    """Six generators for ``seed``, seeded ``8 * seed + j`` for ``j = 0 .. 5`` (never shared between seeds).

    Raises:
        TypeError: If ``seed`` is not an int.
        ValueError: If ``seed`` is outside ``[0, (2**63 - 8) // 8]`` (every stream's seed must fit ``manual_seed``).

    Example:
        >>> s = seed_streams(3)
        >>> s.init.initial_seed(), s.drop.initial_seed()
        (24, 29)
    """
    seed = check_int("seed", seed, minimum=0, maximum=_MAX_STREAM_SEED)
    gens = [torch.Generator().manual_seed(8 * seed + j) for j in range(len(_STREAMS))]
    return Streams(seed, *gens)


def _check_seeds(seeds: object) -> list[int]:
    if isinstance(seeds, int | str | bytes) or not isinstance(seeds, Sequence):
        raise TypeError(f"seeds must be a sequence of ints (got {type(seeds).__name__})")
    out = [check_int(f"seeds[{i}]", s, minimum=0, maximum=_MAX_STREAM_SEED) for i, s in enumerate(seeds)]
    if not out:
        raise ValueError("seeds must not be empty")
    if len(set(out)) != len(out):
        raise ValueError(f"seeds must be distinct (got {out})")
    return out


# ---------------------------------------------------------------------------
# Data, one split per seed
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedSplit:
    """One split per seed, stacked: ``x`` is ``(k, n, ...)`` float, ``y`` is ``(k, n)`` int64 class indices."""

    x: torch.Tensor
    y: torch.Tensor

    def __post_init__(self) -> None:
        if not isinstance(self.x, torch.Tensor) or not self.x.is_floating_point() or self.x.ndim < 3:
            raise TypeError("x must be a floating tensor of shape (k, n, ...)")
        if not isinstance(self.y, torch.Tensor) or self.y.dtype != torch.long or self.y.ndim != 2:
            raise TypeError("y must be an int64 tensor of shape (k, n)")
        if self.x.shape[:2] != self.y.shape:
            raise ValueError(f"x and y must agree on (k, n) (got {tuple(self.x.shape[:2])} and {tuple(self.y.shape)})")

    @property
    def seeds(self) -> int:
        """Number of seeds ``k``."""
        return int(self.y.shape[0])

    @property
    def n(self) -> int:
        """Examples per seed."""
        return int(self.y.shape[1])

    def seed(self, i: int) -> Split:
        """Seed ``i``'s split as a plain :class:`~regbook.data.Split`."""
        return Split(self.x[i], self.y[i])

    def reshape(self, *shape: int) -> SeedSplit:
        """The same examples with each one reshaped to ``shape`` (e.g. ``(1, 8, 8)`` for images)."""
        return SeedSplit(self.x.reshape(self.seeds, self.n, *shape), self.y)

    @staticmethod
    def stack(splits: Sequence[Split]) -> SeedSplit:
        """Stack equally sized per-seed splits."""
        return SeedSplit(torch.stack([s.x for s in splits]), torch.stack([s.y for s in splits]))


def digit_splits(n_train: int, n_val: int, seeds: Sequence[int]) -> tuple[SeedSplit, SeedSplit, SeedSplit]:
    """Train / validation / test digits for each seed: seed ``s`` gets :func:`regbook.data.digits` ``(seed=s)``.

    Every seed draws its own subsample, so the spread over seeds includes the
    luck of the data as well as the luck of the initialisation.

    Raises:
        TypeError, ValueError: As :func:`regbook.data.digits`, or if ``seeds`` is not a non-empty
            sequence of distinct ints ``>= 0``.

    Example:
        >>> tr, va, te = digit_splits(100, 50, [0, 1])
        >>> tuple(tr.x.shape), tuple(te.y.shape)
        ((2, 100, 64), (2, 1647))
    """
    seed_list = _check_seeds(seeds)
    parts = [digits(n_train, n_val, seed=s) for s in seed_list]
    return tuple(SeedSplit.stack([p[j] for p in parts]) for j in range(3))  # type: ignore[return-value]


# ---------------------------------------------------------------------------
# The model builder and the initialisation policy
# ---------------------------------------------------------------------------


class SeedLinear(nn.Module):
    """``k`` independent linear layers: ``(k, B, in) -> (k, B, out)`` by one ``torch.baddbmm``.

    ``weight`` is ``(k, in, out)``, ``bias`` is ``(k, 1, out)`` (or absent).
    """

    def __init__(self, seeds: int, in_features: int, out_features: int, *, bias: bool = True) -> None:
        seeds = check_count("seeds", seeds)
        in_features = check_count("in_features", in_features)
        out_features = check_count("out_features", out_features)
        bias = check_bool("bias", bias)
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(seeds, in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(seeds, 1, out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return torch.bmm(x, self.weight)
        return torch.baddbmm(self.bias, x, self.weight)


class SeedNorm(nn.Module):
    r"""One normalization per seed over ``(k, B, C)`` activations, with per-seed scale and shift.

    ``kind``: ``"batch"`` (statistics over the batch, per channel; running
    statistics as ``nn.BatchNorm1d``: momentum 0.1, unbiased variance in the
    buffer), ``"layer"`` (over the channels of each example), ``"rms"``
    (root mean square over the channels, no centring), ``"group"``
    (``num_groups`` groups of channels per example). The ``k`` seeds never mix:
    batch statistics are taken per seed (the seed axis is folded into channels).
    """

    def __init__(self, kind: str, seeds: int, features: int, *, num_groups: int = 4, eps: float = 1e-5) -> None:
        kind = check_choice("kind", kind, NORMS[1:])
        seeds = check_count("seeds", seeds)
        features = check_count("features", features)
        num_groups = check_count("num_groups", num_groups)
        eps = check_in_range("eps", eps, 0.0, 1.0, low_inclusive=False)
        super().__init__()
        self.kind = kind
        self.seeds, self.features, self.eps = seeds, features, eps
        self.num_groups = math.gcd(num_groups, features) if kind == "group" else 1
        self.weight = nn.Parameter(torch.ones(seeds, 1, features))
        self.bias = nn.Parameter(torch.zeros(seeds, 1, features)) if kind != "rms" else None
        self.running_mean: torch.Tensor
        self.running_var: torch.Tensor
        if kind == "batch":
            self.register_buffer("running_mean", torch.zeros(seeds, features))
            self.register_buffer("running_var", torch.ones(seeds, features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, b, c = x.shape
        if self.kind == "batch":
            flat = x.transpose(0, 1).reshape(b, k * c)
            y = F.batch_norm(flat, self.running_mean.view(-1), self.running_var.view(-1), None, None,
                             self.training, 0.1, self.eps)
            y = y.reshape(b, k, c).transpose(0, 1)
        elif self.kind == "layer":
            y = F.layer_norm(x, (c,), eps=self.eps)
        elif self.kind == "rms":
            y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        else:
            y = F.group_norm(x.reshape(k * b, c), self.num_groups, eps=self.eps).reshape(k, b, c)
        y = y * self.weight
        return y if self.bias is None else y + self.bias


class _SeedDropout(nn.Module):
    """Inverted dropout per seed, each seed's masks drawn from its own generator.

    Seed ``i`` computes exactly :func:`regbook.dropout.dropout` ``(x[i], drop_prob=p, generator=g_i)``
    (one Bernoulli(1 - p) mask per element, survivors scaled by 1/(1 - p)); the
    masks are drawn here without that function's argument checks, once per seed per step.
    """

    def __init__(self, drop_prob: float, generators: Sequence[torch.Generator]) -> None:
        super().__init__()
        self.drop_prob, self.generators = drop_prob, list(generators)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.drop_prob == 0:
            return x
        keep = 1.0 - self.drop_prob
        # masks come from each seed's own generator, on the generator's device (the CPU), then move to x's
        mask = torch.empty(x.shape, dtype=x.dtype, device=self.generators[0].device)
        for i, g in enumerate(self.generators):
            mask[i].bernoulli_(keep, generator=g)
        return x * mask.to(x.device) / keep


class SeedMLP(nn.Module):
    """``k`` ReLU MLPs trained side by side; built by :func:`build_mlp`. Maps ``(k, B, ...) -> (k, B, out)``.

    Attributes:
        layers: ``nn.Sequential`` of :class:`SeedLinear`, :class:`SeedNorm`, ReLU and dropout layers.
        seeds: ``k``.
    """

    def __init__(self, layers: nn.Sequential, seeds: int) -> None:
        super().__init__()
        self.layers, self.seeds = layers, seeds

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_tensor("x", x)
        if x.ndim < 3 or x.shape[0] != self.seeds:
            raise ValueError(f"x must have shape (k={self.seeds}, B, ...) (got {tuple(x.shape)})")
        dtype = self.layers[-1].weight.dtype
        if x.dtype != dtype:
            raise TypeError(f"x must have the weights' dtype {dtype} (got {x.dtype})")
        out: torch.Tensor = self.layers(x.reshape(self.seeds, x.shape[1], -1))
        return out

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each hidden block's output (the input of every :class:`SeedLinear` but the first), ``(k, B, width)``."""
        out: list[torch.Tensor] = []
        h = x.reshape(self.seeds, x.shape[1], -1)
        first = True
        for layer in self.layers:
            if isinstance(layer, SeedLinear):
                if not first:
                    out.append(h)
                first = False
            h = layer(h)
        return out


def init_(model: nn.Module, streams: Sequence[Streams]) -> nn.Module:
    r"""The book's one initialisation policy, applied in place, seed by seed.

    Seed ``i`` (``streams[i]``) draws, layer by layer in module order and
    weight before bias, every :class:`SeedLinear` weight and bias from
    :math:`U(-1/\sqrt{n_\text{in}}, 1/\sqrt{n_\text{in}})` with its ``init``
    generator: torch's default ranges for ``nn.Linear``, from a seeded
    stream instead of the global one. Norm scales are set to 1 and shifts to 0.

    Returns:
        ``model``.

    Raises:
        TypeError: If ``model`` is not an ``nn.Module`` or ``streams`` not a sequence of :class:`Streams`.
        ValueError: If ``streams`` does not hold one entry per seed of every layer.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module (got {type(model).__name__})")
    if isinstance(streams, str | bytes) or not isinstance(streams, Sequence):
        raise TypeError(f"streams must be a sequence of Streams (got {type(streams).__name__})")
    for i, st in enumerate(streams):
        if not isinstance(st, Streams):
            raise TypeError(f"streams[{i}] must be a Streams (got {type(st).__name__})")
    for layer in model.modules():
        if isinstance(layer, SeedLinear | SeedNorm) and layer.weight.shape[0] != len(streams):
            raise ValueError(f"streams must hold one Streams per seed ({layer.weight.shape[0]}, got {len(streams)})")
    with torch.no_grad():
        for i, s in enumerate(streams):
            for layer in model.modules():
                if isinstance(layer, SeedLinear):
                    bound = 1.0 / math.sqrt(layer.in_features)
                    layer.weight[i].uniform_(-bound, bound, generator=s.init)
                    if layer.bias is not None:
                        layer.bias[i].uniform_(-bound, bound, generator=s.init)
                elif isinstance(layer, SeedNorm):
                    layer.weight[i].fill_(1.0)
                    if layer.bias is not None:
                        layer.bias[i].zero_()
    return model


def build_mlp(
    in_features: int,
    hidden: Sequence[int],
    out_features: int,
    *,
    streams: Sequence[Streams],
    norm: str = "none",
    num_groups: int = 4,
    dropout: float = 0.0,
    input_dropout: float = 0.0,
) -> SeedMLP:
    """The book's one model: ``k = len(streams)`` ReLU MLPs, initialised by :func:`init_`.

    Each hidden layer is ``Linear -> norm -> ReLU -> dropout``. A linear
    layer followed by a norm has no bias (the norm's shift takes its place).
    ``input_dropout`` drops input features before the first layer.

    Args:
        in_features: Input size (inputs are flattened per example).
        hidden: Widths of the hidden layers (may be empty: a linear model).
        out_features: Number of outputs (classes).
        streams: One :class:`Streams` per seed (:func:`seed_streams`).
        norm: One of ``"none", "batch", "layer", "rms", "group"``.
        num_groups: Groups for ``"group"`` (reduced to a divisor of the width).
        dropout: Drop probability after each hidden layer, in ``[0, 1)``.
        input_dropout: Drop probability on the inputs, in ``[0, 1)``.

    Raises:
        TypeError, ValueError: On an argument out of range (named in the message).

    Example:
        >>> net = build_mlp(64, [32], 10, streams=[seed_streams(0), seed_streams(1)], norm="batch")
        >>> tuple(net(torch.zeros(2, 5, 64)).shape)
        (2, 5, 10)
    """
    in_features = check_count("in_features", in_features)
    if isinstance(hidden, int | str) or not isinstance(hidden, Sequence):
        raise TypeError(f"hidden must be a sequence of ints (got {type(hidden).__name__})")
    widths = [check_count(f"hidden[{i}]", h) for i, h in enumerate(hidden)]
    out_features = check_count("out_features", out_features)
    if isinstance(streams, Streams) or not isinstance(streams, Sequence) or not streams:
        raise TypeError("streams must be a non-empty sequence of Streams (one per seed)")
    for i, s in enumerate(streams):
        if not isinstance(s, Streams):
            raise TypeError(f"streams[{i}] must be a Streams (got {type(s).__name__})")
    norm = check_choice("norm", norm, NORMS)
    num_groups = check_count("num_groups", num_groups)
    dropout = check_in_range("dropout", dropout, 0.0, 1.0, high_inclusive=False)
    input_dropout = check_in_range("input_dropout", input_dropout, 0.0, 1.0, high_inclusive=False)
    k = len(streams)
    drops = [s.drop for s in streams]
    layers: list[nn.Module] = [_SeedDropout(input_dropout, drops)] if input_dropout else []
    width = in_features
    for h in widths:
        layers.append(SeedLinear(k, width, h, bias=norm == "none"))
        if norm != "none":
            layers.append(SeedNorm(norm, k, h, num_groups=num_groups))
        layers.append(nn.ReLU())
        if dropout:
            layers.append(_SeedDropout(dropout, drops))
        width = h
    layers.append(SeedLinear(k, width, out_features))
    return init_(SeedMLP(nn.Sequential(*layers), k), streams)  # type: ignore[return-value]


# ---------------------------------------------------------------------------
# Metrics: one value per seed
# ---------------------------------------------------------------------------


def _check_scores(logits: object, y: object, name: str = "logits") -> tuple[torch.Tensor, torch.Tensor]:
    """Scores ``(..., n, C)`` (floating, C >= 1, n >= 1) and int64 labels ``(..., n)`` in ``[0, C)`` on one device."""
    logits = check_tensor(name, logits)
    y = check_tensor("y", y)
    if not logits.is_floating_point():
        raise TypeError(f"{name} must have a floating-point dtype (got {logits.dtype})")
    if y.dtype != torch.long:
        raise TypeError(f"y must be an int64 tensor of class indices (got {y.dtype})")
    if logits.ndim < 2 or tuple(y.shape) != tuple(logits.shape[:-1]):
        raise ValueError(f"{name} must be (..., n, C) and y (..., n) (got {tuple(logits.shape)} and {tuple(y.shape)})")
    if logits.shape[-1] < 1 or logits.shape[-2] < 1:
        raise ValueError(f"{name} must hold at least one example and one class (got shape {tuple(logits.shape)})")
    if logits.device != y.device:
        raise ValueError(f"{name} and y must be on one device (got {logits.device} and {y.device})")
    if not y.is_meta and (int(y.min()) < 0 or int(y.max()) >= logits.shape[-1]):
        raise ValueError(f"y must hold class indices in [0, {logits.shape[-1] - 1}]")
    return logits, y


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Fraction of arg-max predictions equal to ``y``, per seed: ``(k, n, C), (k, n) -> (k,)`` float64.

    Raises:
        TypeError, ValueError: If the shapes, dtypes or devices do not fit (the message names the argument).
    """
    logits, y = _check_scores(logits, y)
    return (logits.argmax(-1) == y).double().mean(-1)


def nll(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood (plain cross-entropy) per seed: ``(k, n, C), (k, n) -> (k,)`` float64.

    Raises:
        TypeError, ValueError: If the shapes, dtypes or devices do not fit (the message names the argument).
    """
    logits, y = _check_scores(logits, y)
    logp = logits.double().log_softmax(-1)
    return -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1).mean(-1)


def ece(probs: torch.Tensor, y: torch.Tensor, *, num_bins: int = 15) -> torch.Tensor:
    """Expected calibration error per seed (:func:`regbook.label_smoothing.expected_calibration_error`), ``(k,)``."""
    from regbook.label_smoothing import expected_calibration_error

    probs, y = _check_scores(probs, y, "probs")
    num_bins = check_count("num_bins", num_bins)
    if probs.ndim != 3:
        raise ValueError(f"probs must be (k, n, C) (got shape {tuple(probs.shape)})")
    if probs.is_meta:
        return torch.empty(probs.shape[:-2], dtype=torch.float64, device="meta")
    probs = probs.detach()
    return torch.tensor([expected_calibration_error(p, t, num_bins=num_bins) for p, t in zip(probs, y, strict=True)],
                        dtype=torch.float64)


@torch.no_grad()
def evaluate(model: nn.Module, split: SeedSplit) -> dict[str, torch.Tensor]:
    """Accuracy and NLL of every seed's network on its own split, in eval mode (training mode restored).

    Returns:
        ``{"accuracy": (k,), "nll": (k,)}``, float64.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module (got {type(model).__name__})")
    if not isinstance(split, SeedSplit):
        raise TypeError(f"split must be a SeedSplit (got {type(split).__name__})")
    was = model.training
    model.eval()
    logits = model(split.x)
    model.train(was)
    return {"accuracy": accuracy(logits, split.y), "nll": nll(logits, split.y)}


def soft_targets(y: torch.Tensor, num_classes: int, label_smoothing: float = 0.0) -> torch.Tensor:
    r"""One-hot targets, smoothed: :math:`(1-\alpha)\,\text{onehot}(y) + \alpha/K`.

    Args:
        y: int64 class indices, any shape, in ``[0, num_classes)``.
        num_classes: ``K``, in ``[2, 2**31 - 1]``.
        label_smoothing: ``α`` in ``[0, 1)``.

    Returns:
        float32 of shape ``(*y.shape, K)``.

    Raises:
        TypeError, ValueError: If an argument is out of range (the message names it).
    """
    y = check_tensor("y", y)
    if y.dtype != torch.long:
        raise TypeError(f"y must be an int64 tensor of class indices (got {y.dtype})")
    num_classes = check_count("num_classes", num_classes, minimum=2)
    label_smoothing = check_in_range("label_smoothing", label_smoothing, 0.0, 1.0, high_inclusive=False)
    if y.numel() and not y.is_meta and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"y must hold class indices in [0, {num_classes - 1}]")
    t = F.one_hot(y, num_classes).float()
    return t * (1 - label_smoothing) + label_smoothing / num_classes if label_smoothing else t


# ---------------------------------------------------------------------------
# The training loop
# ---------------------------------------------------------------------------

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
Mix = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]
Record = Callable[[nn.Module, int], dict[str, torch.Tensor]]


@dataclass
class FitResult:
    """What :func:`fit` saw.

    Attributes:
        marks: The steps (optimizer updates) at which ``history`` was recorded.
        history: Name -> one ``(k,)`` tensor per mark: ``"train_loss"`` (the
            training objective, mean over the steps since the last mark) and
            whatever ``record`` returned.
        steps_run: Optimizer steps taken.
        best_epoch: Per seed, the epoch (1-based) whose weights were kept
            (early stopping), else the last epoch; ``(k,)`` int64.
        val_loss: Per epoch, ``(k,)`` plain validation cross-entropy (with ``val``).
    """

    marks: list[int] = field(default_factory=list)
    history: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    steps_run: int = 0
    best_epoch: torch.Tensor | None = None
    val_loss: list[torch.Tensor] = field(default_factory=list)

    def curve(self, name: str) -> torch.Tensor:
        """``history[name]`` as one ``(marks, k)`` tensor."""
        return torch.stack(self.history[name])


def _gather(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Per-seed rows: ``x[i, idx[i]]`` for every seed ``i``."""
    return x[torch.arange(x.shape[0]).unsqueeze(1), idx]


def fit(
    model: nn.Module,
    train: SeedSplit,
    *,
    streams: Sequence[Streams],
    num_classes: int,
    epochs: int | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
    optimizer: str = "adam",
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    label_smoothing: float = 0.0,
    augment: Augment | None = None,
    mix: Mix | None = None,
    lr_at: Callable[[int], float] | None = None,
    val: SeedSplit | None = None,
    patience: int = 0,
    record: Record | None = None,
    record_every: int | None = None,
) -> FitResult:
    r"""Train ``k`` seeded networks together: the book's one training loop.

    Each epoch, seed ``i`` visits its own ``train`` examples in the order of
    its ``order`` stream, in batches of ``batch_size`` (``None``: full batch;
    a last batch of one joins the previous one, as BatchNorm needs two). A
    batch of seed ``i`` goes through ``augment(x, streams[i].aug)`` and
    ``mix(x, targets, streams[i].mix)`` (soft targets, shape ``(B, K)``),
    then one forward pass of all seeds. The objective is the soft-target
    cross-entropy :math:`-\sum_c t_c \log \operatorname{softmax}(z)_c`, mean
    over the batch, summed over seeds; targets are smoothed by
    ``label_smoothing`` before mixing. The optimizer:

    * ``"sgd"``: :math:`\theta \leftarrow \theta - \eta(g + \lambda\theta)` (+ momentum), L2 coupled;
    * ``"adam"``: Adam with ``weight_decay`` added to the gradient (coupled L2);
    * ``"adamw"``: AdamW, decoupled weight decay :math:`\theta \leftarrow (1-\eta\lambda)\theta - \ldots`.

    Training runs ``epochs`` epochs or ``steps`` optimizer steps (give one).
    ``lr_at(step)`` (1-based), if given, sets the learning rate before each step.
    With ``val`` the plain validation cross-entropy is recorded after every
    epoch; with ``patience > 0`` each seed keeps the weights of its best
    epoch and training ends once every seed has gone ``patience`` epochs
    without improving (the kept weights are those a per-seed early stop would
    have kept). ``record(model, step)`` is called (in eval mode, no grad)
    every ``record_every`` steps and after the last; its ``(k,)`` tensors
    go into :attr:`FitResult.history`.

    Mutates ``model`` (its weights, buffers and mode: it is left in eval mode)
    and the ``order``, ``aug``, ``mix`` and ``drop`` generators of ``streams``.

    Returns:
        A :class:`FitResult`.

    Raises:
        TypeError, ValueError: On an argument out of range (named in the
            message); raised before any state changes.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module (got {type(model).__name__})")
    if not isinstance(train, SeedSplit):
        raise TypeError(f"train must be a SeedSplit (got {type(train).__name__})")
    if isinstance(streams, Streams) or not isinstance(streams, Sequence) or len(streams) != train.seeds:
        raise ValueError(f"streams must hold one Streams per seed ({train.seeds})")
    for i, s in enumerate(streams):
        if not isinstance(s, Streams):
            raise TypeError(f"streams[{i}] must be a Streams (got {type(s).__name__})")
    num_classes = check_count("num_classes", num_classes, minimum=2)
    if (epochs is None) == (steps is None):
        raise ValueError("give exactly one of epochs and steps")
    epochs = check_count("epochs", epochs) if epochs is not None else None
    steps = check_count("steps", steps) if steps is not None else None
    n = train.n
    bs = n if batch_size is None else check_count("batch_size", batch_size)
    bs = min(bs, n)
    optimizer = check_choice("optimizer", optimizer, OPTIMIZERS)
    lr = check_in_range("lr", lr, 0.0, 100.0, low_inclusive=False)
    weight_decay = check_nonnegative("weight_decay", weight_decay)
    momentum = check_in_range("momentum", momentum, 0.0, 1.0, high_inclusive=False)
    label_smoothing = check_in_range("label_smoothing", label_smoothing, 0.0, 1.0, high_inclusive=False)
    for name, fn in (("augment", augment), ("mix", mix), ("lr_at", lr_at), ("record", record)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be callable or None (got {type(fn).__name__})")
    if val is not None and (not isinstance(val, SeedSplit) or val.seeds != train.seeds):
        raise ValueError(f"val must be a SeedSplit with {train.seeds} seeds")
    patience = check_count("patience", patience, minimum=0)
    if patience and val is None:
        raise ValueError("patience > 0 needs a val split")
    if record_every is not None:
        record_every = check_count("record_every", record_every)
    if int(train.y.min()) < 0 or int(train.y.max()) >= num_classes:
        raise ValueError(f"train.y must hold class indices in [0, {num_classes - 1}]")
    was = model.training
    model.eval()  # a dry run on one example: eval mode and no grad change no buffer
    with torch.no_grad():
        probe = model(train.x[:, :1])
    model.train(was)
    if not isinstance(probe, torch.Tensor) or tuple(probe.shape) != (train.seeds, 1, num_classes):
        raise ValueError(f"num_classes must equal the model's outputs per example: model gives "
                         f"{tuple(getattr(probe, 'shape', ()))} for one example per seed, num_classes is {num_classes}")

    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    elif optimizer == "adam":
        opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    else:
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)

    k = train.seeds
    bounds = [*range(0, n, bs), n]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] == 1:
        del bounds[-2]
    per_epoch = len(bounds) - 1
    total = steps if steps is not None else per_epoch * (epochs or 0)
    n_epochs = math.ceil(total / per_epoch)
    result = FitResult()
    loss_sum = torch.zeros(k, dtype=torch.float64)
    loss_count = 0
    best = torch.full((k,), math.inf, dtype=torch.float64)
    best_epoch = torch.zeros(k, dtype=torch.long)
    since = torch.zeros(k, dtype=torch.long)
    best_state = {name: t.detach().clone() for name, t in model.state_dict().items()} if patience else None
    step = 0
    targets_all = soft_targets(train.y, num_classes, label_smoothing)

    def _record() -> None:
        nonlocal loss_sum, loss_count
        result.marks.append(step)
        result.history.setdefault("train_loss", []).append(loss_sum / max(loss_count, 1))
        loss_sum, loss_count = torch.zeros(k, dtype=torch.float64), 0
        if record is not None:
            was = model.training
            model.eval()
            with torch.no_grad():
                for key, value in record(model, step).items():
                    result.history.setdefault(key, []).append(value.detach().double().cpu())
            model.train(was)

    for epoch in range(1, n_epochs + 1):
        model.train()
        order = torch.stack([torch.randperm(n, generator=s.order) for s in streams])
        for start, stop in itertools.pairwise(bounds):
            if step >= total:
                break
            idx = order[:, start:stop]
            xb, tb = _gather(train.x, idx), _gather(targets_all, idx)
            if augment is not None or mix is not None:
                xs, ts = [], []
                for i, s in enumerate(streams):
                    xi, ti = xb[i], tb[i]
                    if augment is not None:
                        xi = augment(xi, s.aug)
                    if mix is not None:
                        xi, ti = mix(xi, ti, s.mix)
                    xs.append(xi)
                    ts.append(ti)
                xb, tb = torch.stack(xs), torch.stack(ts)
            step += 1
            if lr_at is not None:
                for group in opt.param_groups:
                    group["lr"] = lr_at(step)
            logits = model(xb)
            per_seed = -(tb * logits.log_softmax(-1)).sum(-1).mean(-1)
            opt.zero_grad(set_to_none=True)
            per_seed.sum().backward()
            opt.step()
            loss_sum += per_seed.detach().double()
            loss_count += 1
            if record_every is not None and step % record_every == 0 and step < total:
                _record()
        if val is not None:
            v = evaluate(model, val)["nll"]
            result.val_loss.append(v)
            if best_state is not None:
                improved = v < best
                best = torch.where(improved, v, best)
                best_epoch = torch.where(improved, torch.full_like(best_epoch, epoch), best_epoch)
                since = torch.where(improved, torch.zeros_like(since), since + 1)
                with torch.no_grad():
                    for name, t in model.state_dict().items():
                        if t.ndim and t.shape[0] == k:
                            best_state[name][improved] = t[improved].detach()
                if bool((since >= patience).all()):
                    break
        if step >= total:
            break
    if record is not None or record_every is not None or not result.marks or result.marks[-1] != step:
        _record()
    if best_state is not None:
        model.load_state_dict(best_state)
        result.best_epoch = best_epoch
    else:
        result.best_epoch = torch.full((k,), epoch, dtype=torch.long)
    result.steps_run = step
    model.eval()
    return result


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


def median_seconds(fn: Callable[[], object], *, repeats: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls after ``warmup`` untimed ones.

    Machine-dependent: the book shows such numbers with a timing marker and never asserts them.

    Raises:
        TypeError: If ``fn`` is not callable.
        ValueError: If ``repeats`` is outside ``[1, 10000]`` or ``warmup`` outside ``[0, 10000]``.

    Example:
        >>> median_seconds(lambda: sum(range(100)), repeats=3) >= 0
        True
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable (got {type(fn).__name__})")
    repeats = check_int("repeats", repeats, minimum=1, maximum=10_000)
    warmup = check_int("warmup", warmup, minimum=0, maximum=10_000)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]
