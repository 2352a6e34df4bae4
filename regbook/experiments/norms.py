"""Experiments of the LayerNorm / RMSNorm / GroupNorm chapter (``book/norms.md``).

* :func:`norm_convergence` -- does RMSNorm train as well as LayerNorm? The
  book's one MLP (:func:`regbook.experiments.harness.build_mlp`) with a norm
  after every hidden linear layer, trained by the one loop
  (:func:`regbook.experiments.harness.fit`), all seeds together.

The timing of LayerNorm against RMSNorm (machine-dependent, never asserted) is
:func:`regbook.experiments.performance.time_norms`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from regbook._checks import (
    MAX_SEED,
    check_choice,
    check_count,
    check_in_range,
    check_positive,
    check_seed_sequence,
)
from regbook.experiments import harness as H
from regbook.experiments.stats import BOOK_SEEDS

__all__ = ["NORMS", "NormConvergence", "norm_convergence"]

#: The normalizations :func:`norm_convergence` compares, by the harness's names ("none" is excluded, as it
#: would add biases to the linear layers and so change their initial draws.)
NORMS = ("layer", "rms", "group", "batch")

_MAX_STREAM_SEED = (MAX_SEED - 7) // 8  # seed_streams seeds 8 * seed + j, j <= 7, which must fit manual_seed


@dataclass(frozen=True)
class NormConvergence:
    """Training curves and test accuracy of one MLP per normalization and seed (from :func:`norm_convergence`).

    Attributes:
        norms: The normalizations trained (harness names: ``"layer"``, ``"rms"``, ...).
        seeds: The seeds, in the order of every per-seed axis below.
        marks: Optimizer steps at which ``train_loss`` was recorded.
        train_loss: Norm -> ``(len(marks), k)`` float64: the mean training loss
            over the steps since the previous mark.
        test_accuracy: Norm -> one accuracy per seed, on the seed's own test split.
        n_train: Training examples per seed.
        hidden: Width of each hidden layer.
        depth: Number of hidden layers.
        steps: Optimizer steps.
        batch_size: Mini-batch size.
        lr: Adam's learning rate.
    """

    norms: tuple[str, ...]
    seeds: tuple[int, ...]
    marks: tuple[int, ...]
    train_loss: dict[str, torch.Tensor]
    test_accuracy: dict[str, tuple[float, ...]]
    n_train: int
    hidden: int
    depth: int
    steps: int
    batch_size: int
    lr: float


def norm_convergence(
    *,
    norms: Sequence[str] = ("layer", "rms"),
    n_train: int = 1000,
    hidden: int = 64,
    depth: int = 3,
    steps: int = 200,
    batch_size: int = 64,
    lr: float = 3e-3,
    record_every: int = 10,
    seeds: Sequence[int] = BOOK_SEEDS,
) -> NormConvergence:
    """Train the same ReLU MLP on the 8×8 digits with each normalization in ``norms``, all seeds at once.

    Seed ``s`` draws its own training subsample of ``n_train`` digits (the rest
    are its test set), its initial weights and its mini-batch order
    (:func:`~regbook.experiments.harness.seed_streams`). Every normalization is
    trained from the same streams, so for one seed the runs share the initial
    linear weights (the norm layers start at scale 1, shift 0) and the batches:
    the only difference within a seed is the norm. Adam, cross-entropy.

    Args:
        norms: Normalizations after each hidden linear layer: a non-empty list or
            tuple of distinct names from ``"layer"``, ``"rms"``, ``"group"``
            (4 groups, so ``hidden`` must be a multiple of 4), ``"batch"``.
        n_train: Training digits per seed, an int in ``[1, 1796]`` (the rest are the test set).
        hidden: Width of the hidden layers, an int ``>= 1``.
        depth: Number of hidden layers, an int ``>= 1``.
        steps: Adam steps, an int in ``[1, 2**31 - 1]``.
        batch_size: Mini-batch size, an int ``>= 2`` (capped at ``n_train``).
        lr: Adam learning rate, a real number in ``(0, 100]``.
        record_every: Record the mean training loss every this many steps, an int ``>= 1``.
        seeds: At least two distinct int seeds in ``[0, (2**63 - 8) // 8]`` (a list or tuple).

    Returns:
        A :class:`NormConvergence` (CPU tensors, float64 losses). Nothing passed in is mutated:
        every model, generator and data split is made inside.

    Raises:
        TypeError: If an argument has the wrong type (an int flag given as a bool or a float, a
            string for ``norms`` or ``seeds``), named in the message.
        ValueError: If an argument is out of range, an item of ``norms`` is unknown or repeated,
            or ``seeds`` holds fewer than two or repeated seeds; raised before any training.

    Example:
        >>> r = norm_convergence(n_train=100, hidden=8, depth=1, steps=4, record_every=2, seeds=(0, 1))
        >>> r.marks, len(r.test_accuracy["rms"])
        ((2, 4), 2)
    """
    if isinstance(norms, str) or not isinstance(norms, Sequence) or not norms:
        raise TypeError(f"norms must be a non-empty sequence of norm names (got {norms!r})")
    names = tuple(check_choice("norms", n, NORMS) for n in norms)
    if len(set(names)) != len(names):
        raise ValueError(f"norms must be distinct (got {names})")
    n_train = check_count("n_train", n_train)
    hidden = check_count("hidden", hidden)
    depth = check_count("depth", depth)
    steps = check_count("steps", steps)
    batch_size = check_count("batch_size", batch_size, minimum=2)
    lr = check_in_range("lr", check_positive("lr", lr), 0.0, 100.0, low_inclusive=False)
    record_every = check_count("record_every", record_every)
    seed_list = check_seed_sequence("seeds", seeds, maximum=_MAX_STREAM_SEED)
    if len(seed_list) < 2:
        raise ValueError(f"seeds must hold at least 2 seeds for an interval (got {len(seed_list)})")
    train, _, test = H.digit_splits(n_train, 0, seed_list)

    losses: dict[str, torch.Tensor] = {}
    accuracy: dict[str, tuple[float, ...]] = {}
    marks: tuple[int, ...] = ()
    for norm in names:
        streams = [H.seed_streams(s) for s in seed_list]          # fresh streams: every norm sees the same draws
        model = H.build_mlp(64, [hidden] * depth, 10, streams=streams, norm=norm)
        fit = H.fit(model, train, streams=streams, num_classes=10, steps=steps, batch_size=batch_size,
                    optimizer="adam", lr=lr, record_every=record_every)
        marks = tuple(fit.marks)
        losses[norm] = fit.curve("train_loss")
        accuracy[norm] = tuple(H.evaluate(model, test)["accuracy"].tolist())
    return NormConvergence(norms=names, seeds=seed_list, marks=marks, train_loss=losses, test_accuracy=accuracy,
                           n_train=n_train, hidden=hidden, depth=depth, steps=steps, batch_size=batch_size, lr=lr)
