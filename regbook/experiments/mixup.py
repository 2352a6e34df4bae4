r"""The experiments of the chapter *mixup*, run on the shared harness.

* :func:`cutmix_lambda_gap` -- how far the λ of the box CutMix actually pastes
  lies from the λ₀ it drew, per seed.
* :func:`mixup_experiment` -- an MLP trained on a few hundred digits by plain
  ERM, with Mixup and with CutMix, on clean labels and with wrong labels;
  test accuracy, calibration error and fit to the training labels per seed.

:func:`soft_mix` turns :func:`regbook.mixup.mixup_batch` or
:func:`regbook.mixup.cutmix_batch` into the ``mix`` callback of
:func:`regbook.experiments.harness.fit`: the loop carries soft targets, so a
mix is simply the same convex combination applied to the targets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from regbook._checks import (
    check_callable,
    check_choice,
    check_choices,
    check_count,
    check_in_range,
    check_int,
    check_positive,
    check_real,
    check_seed_sequence,
    check_sequence,
)
from regbook.data import flip_labels
from regbook.experiments.augmentation import per_network
from regbook.experiments.harness import (
    _MAX_STREAM_SEED,
    SeedSplit,
    accuracy,
    build_mlp,
    digit_splits,
    ece,
    fit,
    seed_streams,
)
from regbook.experiments.stats import BOOK_SEEDS, paired
from regbook.mixup import cutmix_batch, cutmix_box, mixup_batch, sample_beta

__all__ = [
    "METHODS",
    "LambdaGap",
    "MixResult",
    "cutmix_lambda_gap",
    "mixup_experiment",
    "per_network",
    "soft_mix",
]

#: The training methods :func:`mixup_experiment` knows.
METHODS = ("erm", "mixup", "cutmix")

BatchMix = Callable[..., tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]]
Mix = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def soft_mix(op: BatchMix, *, alpha: float) -> Mix:
    r"""Adapt a batch mix (``op(x, y, alpha=, generator=) -> (x_mix, y_a, y_b, lam)``) to soft targets.

    The returned callback takes a batch ``x``, its soft targets ``t`` (``(B, K)``,
    e.g. smoothed one-hots) and a generator, and returns
    ``(x_mix, lam * t + (1 - lam) * t[perm])``: the targets are mixed by the
    same λ and the same partners as the inputs. The partners are read off by
    passing ``y = arange(B)``, so ``y_b`` *is* the permutation.

    Args:
        op: A callable with the signature of :func:`regbook.mixup.mixup_batch`.
        alpha: Beta parameter :math:`\alpha`, a finite real number > 0.

    Returns:
        The ``mix`` callback; each call draws from (advances) the generator it is given.

    Raises:
        TypeError: If ``op`` is not callable or ``alpha`` not a real number.
        ValueError: If ``alpha`` is not finite and > 0.

    Example:
        >>> from regbook.mixup import mixup_batch
        >>> mix = soft_mix(mixup_batch, alpha=1.0)
        >>> x, t = torch.eye(3), torch.eye(3)
        >>> x_mix, t_mix = mix(x, t, torch.Generator().manual_seed(0))
        >>> bool(torch.allclose(x_mix, t_mix))   # inputs and targets mixed alike
        True
    """
    check_callable("op", op)
    alpha = check_positive("alpha", alpha)

    def mix(x: torch.Tensor, t: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        x_mix, _, perm, lam = op(x, torch.arange(x.shape[0]), alpha=alpha, generator=g)
        return x_mix, lam * t + (1 - lam) * t[perm]

    return mix


# ---------------------------------------------------------------------------
# Nominal and pasted λ
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LambdaGap:
    """Nominal vs actual λ of CutMix boxes on a ``size`` × ``size`` image, per seed.

    Attributes:
        size: Image side in pixels.
        seeds: The seeds (each draws with its own ``mix`` stream).
        nominal: ``nominal[i]``: seed ``i``'s Beta draws λ₀.
        actual: ``actual[i]``: λ recomputed from each pasted box.
    """

    size: int
    seeds: tuple[int, ...]
    nominal: list[list[float]]
    actual: list[list[float]]

    def mean_abs_gap(self) -> list[float]:
        r"""Per seed, the mean of :math:`|\lambda - \lambda_0|` over the draws."""
        return [sum(abs(a - b) for a, b in zip(act, nom, strict=True)) / len(act)
                for act, nom in zip(self.actual, self.nominal, strict=True)]

    def share_above(self, threshold: float) -> list[float]:
        r"""Per seed, the share of draws with :math:`\lambda - \lambda_0 >` ``threshold``.

        Raises:
            TypeError: If ``threshold`` is not a real number.
            ValueError: If ``threshold`` is not finite.
        """
        threshold = check_real("threshold", threshold)
        return [sum(a - b > threshold for a, b in zip(act, nom, strict=True)) / len(act)
                for act, nom in zip(self.actual, self.nominal, strict=True)]


def cutmix_lambda_gap(
    *, size: int, alpha: float = 1.0, draws: int = 600, seeds: Sequence[int] = BOOK_SEEDS
) -> LambdaGap:
    """Draw CutMix boxes on a square image and compare the nominal and the pasted λ, per seed.

    Seed ``s`` draws λ₀ with :func:`regbook.mixup.sample_beta` and the box with
    :func:`regbook.mixup.cutmix_box`, both from ``seed_streams(s).mix``.

    Args:
        size: Image side, an int in [1, 2**31 - 1].
        alpha: Beta parameter, a finite real number > 0.
        draws: Boxes per seed, an int in [1, 2**31 - 1].
        seeds: A non-empty list or tuple of distinct int seeds ``>= 0``.

    Returns:
        A :class:`LambdaGap`. Nothing passed in is mutated.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If a setting is out of range or a seed repeats (before anything is drawn).

    Example:
        >>> r = cutmix_lambda_gap(size=8, draws=200, seeds=(0, 1))
        >>> all(g > 0.01 for g in r.mean_abs_gap())
        True
    """
    size = check_count("size", size)
    a = check_positive("alpha", alpha)
    draws = check_count("draws", draws)
    seed_list = check_seed_sequence("seeds", seeds, maximum=_MAX_STREAM_SEED)
    nominal, actual = [], []
    for s in seed_list:
        g = seed_streams(s).mix
        nom, act = [], []
        for _ in range(draws):
            lam0 = sample_beta(a, generator=g)
            y1, y2, x1, x2 = cutmix_box(size, size, lam0, generator=g)
            nom.append(lam0)
            act.append(1.0 - (y2 - y1) * (x2 - x1) / (size * size))
        nominal.append(nom)
        actual.append(act)
    return LambdaGap(size, seed_list, nominal, actual)


# ---------------------------------------------------------------------------
# ERM, Mixup and CutMix on digits, clean and noisy labels
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MixResult:
    """Test metrics per training method and label-noise level, one value per seed.

    Attributes:
        methods: e.g. ``("erm", "mixup", "cutmix")``.
        noise: Label-noise fractions of the training set.
        accuracy: ``accuracy[(method, noise)]``: one clean-test accuracy per seed.
        ece: Same layout, expected calibration error (15 bins) on the test digits.
        confidence: Same layout, mean top-class probability on the test digits (below
            ``accuracy``: under-confident; above: over-confident).
        train_fit: Same layout, accuracy on the (noisy) training labels.
        seeds, n_train, steps, hidden, alpha: The settings.
    """

    methods: tuple[str, ...]
    noise: tuple[float, ...]
    accuracy: dict[tuple[str, float], list[float]]
    ece: dict[tuple[str, float], list[float]]
    confidence: dict[tuple[str, float], list[float]]
    train_fit: dict[tuple[str, float], list[float]]
    seeds: tuple[int, ...]
    n_train: int
    steps: int
    hidden: int
    alpha: float

    def diff(self, metric: str, method: str, noise: float, baseline: str = "erm") -> list[float]:
        """Per seed, ``metric`` of ``method`` minus that of ``baseline`` (same seed, same labels, same start).

        Args:
            metric: One of ``"accuracy"``, ``"ece"``, ``"confidence"``, ``"train_fit"``.
            method, baseline: Names from :attr:`methods`.
            noise: One of the levels in :attr:`noise`.

        Raises:
            TypeError: If ``noise`` is not a real number.
            ValueError: If a name or the noise level is not one this result holds.
        """
        metric = check_choice("metric", metric, _METRICS)
        method = check_choice("method", method, self.methods)
        baseline = check_choice("baseline", baseline, self.methods)
        level = check_real("noise", noise)
        if level not in self.noise:
            raise ValueError(f"noise must be one of the levels {self.noise} (got {noise!r})")
        values: dict[tuple[str, float], list[float]] = getattr(self, metric)
        return paired(values[(method, level)], values[(baseline, level)])


_METRICS = ("accuracy", "ece", "confidence", "train_fit")


def _noisy(train: SeedSplit, noise: float, seeds: Sequence[int]) -> SeedSplit:
    """Seed ``s``'s training labels with a ``noise`` fraction flipped, from ``seed_streams(s).data``."""
    if noise == 0:
        return train
    y = torch.stack([flip_labels(train.y[i], noise, num_classes=10, generator=seed_streams(s).data)
                     for i, s in enumerate(seeds)])
    return SeedSplit(train.x, y)


def mixup_experiment(
    *,
    methods: Sequence[str] = METHODS,
    noise: Sequence[float] = (0.0, 0.4),
    n_train: int = 300,
    seeds: Sequence[int] = BOOK_SEEDS,
    steps: int = 300,
    hidden: int = 128,
    alpha: float = 1.0,
    lr: float = 3e-3,
) -> MixResult:
    """Train MLPs on 8×8 digits by ERM, Mixup or CutMix, with and without label noise.

    Seed ``s`` draws its ``n_train`` training digits, replaces a fraction
    ``noise`` of their labels by a wrong class (:func:`regbook.data.flip_labels`,
    from the seed's ``data`` stream: every method sees the same wrong labels)
    and tests on the remaining, clean digits. Within a seed every method
    starts from the same initial weights. All seeds, noise levels and methods
    train together as one batched fit (:func:`per_network`), each network
    exactly as it would alone: full-batch Adam, one λ and one permutation per
    step and network, as in the papers' code.

    Args:
        methods: A non-empty list or tuple of distinct names from :data:`METHODS`.
        noise: A non-empty list or tuple of distinct label-noise fractions, each a real number in [0, 1).
        n_train: Training digits per seed, an int in [10, 1000].
        seeds: A non-empty list or tuple of distinct int seeds ``>= 0``.
        steps: Adam steps, an int in [1, 2**31 - 1].
        hidden: Hidden width (wide enough to memorise noisy labels), an int in [1, 2**31 - 1].
        alpha: Beta parameter for both mixes, a finite real number > 0.
        lr: Adam's learning rate, a real number in (0, 100].

    Returns:
        A :class:`MixResult`. Nothing passed in is mutated.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: On an unknown or repeated method, a repeated noise level or seed, or a
            setting out of range; raised before any data is loaded or any network trained.

    Example:
        >>> r = mixup_experiment(methods=("erm", "mixup"), noise=(0.0,), n_train=50, seeds=(0, 1), steps=3)
        >>> len(r.accuracy[("mixup", 0.0)]), len(r.diff("ece", "mixup", 0.0))
        (2, 2)
    """
    names = check_choices("methods", methods, METHODS)
    levels = tuple(check_in_range(f"noise[{i}]", q, 0.0, 1.0, high_inclusive=False)
                   for i, q in enumerate(check_sequence("noise", noise)))
    if len(set(levels)) != len(levels):
        raise ValueError(f"noise must not repeat a level (got {list(levels)})")
    n_train = check_int("n_train", n_train, minimum=10, maximum=1000)
    seed_list = check_seed_sequence("seeds", seeds, maximum=_MAX_STREAM_SEED)
    steps = check_count("steps", steps)
    hidden = check_count("hidden", hidden)
    a = check_positive("alpha", alpha)
    lr = check_in_range("lr", lr, 0.0, 100.0, low_inclusive=False)
    k = len(seed_list)
    clean, _, test = digit_splits(n_train, 0, seed_list)
    mixes = {"erm": None, "mixup": soft_mix(mixup_batch, alpha=a), "cutmix": soft_mix(cutmix_batch, alpha=a)}
    # Every (noise, method) run of every seed is one network of a single batched fit: network
    # r * k + i is seed i of run r, with seed i's own streams, so it trains exactly as it would alone.
    runs = [(q, m) for q in levels for m in names]
    splits = {q: _noisy(clean, q, seed_list).reshape(1, 8, 8) for q in levels}
    train = SeedSplit(torch.cat([splits[q].x for q, _ in runs]), torch.cat([splits[q].y for q, _ in runs]))
    streams = [seed_streams(s) for _ in runs for s in seed_list]
    net = build_mlp(64, [hidden], 10, streams=streams)
    mix = per_network([mixes[m] for _, m in runs for _ in seed_list], [s.mix for s in streams])
    fit(net, train, streams=streams, num_classes=10, steps=steps, optimizer="adam", lr=lr, mix=mix)
    with torch.no_grad():
        probs = net(test.x.repeat(len(runs), 1, 1)).softmax(-1)
        test_y = test.y.repeat(len(runs), 1)
        metrics = {"acc": accuracy(probs, test_y), "ece": ece(probs, test_y),
                   "conf": probs.max(-1).values.double().mean(-1), "fit": accuracy(net(train.x), train.y)}
    acc: dict[tuple[str, float], list[float]] = {}
    cal: dict[tuple[str, float], list[float]] = {}
    conf: dict[tuple[str, float], list[float]] = {}
    fits: dict[tuple[str, float], list[float]] = {}
    for r, (q, m) in enumerate(runs):
        rows = slice(r * k, (r + 1) * k)
        acc[(m, q)] = metrics["acc"][rows].tolist()
        cal[(m, q)] = metrics["ece"][rows].tolist()
        conf[(m, q)] = metrics["conf"][rows].tolist()
        fits[(m, q)] = metrics["fit"][rows].tolist()
    return MixResult(names, levels, acc, cal, conf, fits, seed_list, n_train, steps, hidden, a)
