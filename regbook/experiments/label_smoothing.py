r"""The label-smoothing chapter's experiment: calibration of small MLPs over seeds.

:func:`calibration_experiment` trains, for every smoothing value
:math:`\alpha` and every seed, one 64-``hidden``-10 ReLU MLP on the 8×8
digits with the harness (:func:`~regbook.experiments.harness.build_mlp`,
:func:`~regbook.experiments.harness.fit` with ``label_smoothing=alpha``),
optionally with a fraction of the training labels replaced by a wrong class,
and scores the test digits with their true labels. The ``k`` seeds of one
:math:`\alpha` train together; for a given seed every :math:`\alpha` sees the
same data subsample, the same wrong labels and the same initial weights, so
per-seed differences between two values of :math:`\alpha` are paired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from regbook._checks import check_count, check_in_range, check_int, check_positive, check_sequence
from regbook.data import flip_labels
from regbook.experiments import harness as H
from regbook.experiments.stats import BOOK_SEEDS
from regbook.label_smoothing import calibration_bins

__all__ = ["METRICS", "CalibrationResult", "calibration_experiment"]

#: The per-seed quantities :class:`CalibrationResult` holds, by name.
METRICS = ("test_accuracy", "mean_confidence", "ece", "test_nll", "logit_norm", "logit_gap", "train_accuracy")


@dataclass(frozen=True)
class CalibrationResult:
    r"""Test-set calibration of MLPs trained with each :math:`\alpha`, one value per seed.

    Every metric is a list indexed ``[alpha][seed]`` (in the order of
    ``alphas`` and ``seeds``); the reliability diagram is indexed
    ``[alpha][seed][bin]``.

    Attributes:
        alphas: Smoothing values trained with.
        seeds: The seeds (one network per seed and alpha).
        label_noise: Fraction of training labels replaced by a wrong class.
        n_train: Training digits per seed.
        hidden: Hidden width.
        steps: Full-batch Adam steps.
        lr: Adam's learning rate.
        num_bins: Bins of the ECE and the reliability diagram.
        n_test: Test digits per seed.
        test_accuracy: Fraction of test digits classified correctly.
        mean_confidence: Mean largest predicted probability on the test digits.
        ece: Expected calibration error (:func:`regbook.label_smoothing.expected_calibration_error`).
        test_nll: Mean negative log-likelihood of the true test label.
        logit_norm: Mean :math:`\lVert z\rVert_2` of the test logits.
        logit_gap: Mean gap between the largest test logit and the mean of the others.
        train_accuracy: Accuracy on the (possibly noisy) training labels.
        bin_count: Test examples per confidence bin.
        bin_confidence: Mean confidence per bin (0 where empty).
        bin_accuracy: Accuracy per bin (0 where empty).
    """

    alphas: tuple[float, ...]
    seeds: tuple[int, ...]
    label_noise: float
    n_train: int
    hidden: int
    steps: int
    lr: float
    num_bins: int
    n_test: int
    test_accuracy: list[list[float]]
    mean_confidence: list[list[float]]
    ece: list[list[float]]
    test_nll: list[list[float]]
    logit_norm: list[list[float]]
    logit_gap: list[list[float]]
    train_accuracy: list[list[float]]
    bin_count: list[list[list[int]]]
    bin_confidence: list[list[list[float]]]
    bin_accuracy: list[list[list[float]]]

    def _alpha_index(self, alpha: object) -> int:
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or alpha not in self.alphas:
            raise ValueError(f"alpha must be one of {self.alphas} (got {alpha!r})")
        return self.alphas.index(alpha)

    def values(self, metric: str, alpha: float) -> list[float]:
        """One metric's per-seed values for one ``alpha``.

        Args:
            metric: One of :data:`regbook.experiments.label_smoothing.METRICS`.
            alpha: One of :attr:`alphas` (a number equal to it).

        Returns:
            A new list, one value per seed; the record is not mutated.

        Raises:
            ValueError: If ``metric`` or ``alpha`` is not one of the allowed values.
        """
        if not isinstance(metric, str) or metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS} (got {metric!r})")
        rows: list[list[float]] = getattr(self, metric)
        return list(rows[self._alpha_index(alpha)])

    def pooled_bins(self, alpha: float) -> tuple[list[int], list[float], list[float]]:
        """The reliability diagram of all seeds' test predictions together: count, confidence, accuracy per bin.

        Args:
            alpha: One of :attr:`alphas` (a number equal to it).

        Returns:
            Three new lists of length :attr:`num_bins` (0 confidence and accuracy in an empty bin).

        Raises:
            ValueError: If ``alpha`` is not one of :attr:`alphas`.
        """
        i = self._alpha_index(alpha)
        count = [sum(row[b] for row in self.bin_count[i]) for b in range(self.num_bins)]
        conf = [sum(c[b] * n[b] for c, n in zip(self.bin_confidence[i], self.bin_count[i], strict=True))
                / max(count[b], 1) for b in range(self.num_bins)]
        acc = [sum(a[b] * n[b] for a, n in zip(self.bin_accuracy[i], self.bin_count[i], strict=True))
               / max(count[b], 1) for b in range(self.num_bins)]
        return count, conf, acc


def calibration_experiment(
    *,
    alphas: Sequence[float] = (0.0, 0.1),
    label_noise: float = 0.0,
    n_train: int = 500,
    hidden: int = 64,
    steps: int = 200,
    lr: float = 1e-2,
    num_bins: int = 10,
    seeds: Sequence[int] = BOOK_SEEDS,
) -> CalibrationResult:
    r"""Train one MLP per seed and ``alpha`` on the digits and measure its calibration on the test digits.

    Seed ``s`` trains on its own subsample of ``n_train`` digits
    (:func:`~regbook.experiments.harness.digit_splits`), of which a fraction
    ``label_noise`` gets a wrong label (:func:`regbook.data.flip_labels`, from
    the seed's ``data`` stream). For each ``alpha`` the ``k`` seeds' networks
    (64 → ``hidden`` → 10, ReLU, the harness's initialisation) train together,
    full batch, ``steps`` Adam steps on the cross-entropy against targets
    smoothed by ``alpha``. The test digits (all the others, true labels) are
    scored with unsmoothed quantities: accuracy, mean confidence, ECE, NLL,
    logit norm and logit gap.

    Args:
        alphas: Smoothing values, a list or tuple of real numbers, each in
            :math:`[0, 1)`; at least one, distinct.
        label_noise: Fraction of wrong training labels, :math:`[0, 0.9]`.
        n_train: Training digits per seed, an int from 50 to 1500.
        hidden: Hidden units, an int in :math:`[1, 2^{31}-1]`.
        steps: Full-batch Adam steps, an int in :math:`[1, 2^{31}-1]`.
        lr: Adam's learning rate, a finite real ``> 0``.
        num_bins: Bins of the ECE, an int in :math:`[1, 2^{31}-1]`.
        seeds: Seeds, a list or tuple of distinct ints ``>= 0``; at least one.

    Returns:
        A :class:`CalibrationResult`. Every argument is checked before any
        data is loaded or any network trained; the randomness comes from each
        seed's own generators (:func:`~regbook.experiments.harness.seed_streams`),
        so no global random state is read or changed.

    Raises:
        TypeError: If an argument has the wrong type (named in the message).
        ValueError: If an argument is out of range (named in the message).

    Example:
        >>> r = calibration_experiment(alphas=[0.0, 0.1], n_train=100, steps=20, seeds=[7, 8])
        >>> len(r.values("ece", 0.1)), r.n_test
        (2, 1697)
    """
    alpha_items = check_sequence("alphas", alphas, nonempty=False)
    if not alpha_items:
        raise ValueError("alphas must be a non-empty sequence of numbers")
    alpha_list = tuple(check_in_range(f"alphas[{i}]", a, 0.0, 1.0, high_inclusive=False)
                       for i, a in enumerate(alpha_items))
    if len(set(alpha_list)) != len(alpha_list):
        raise ValueError(f"alphas must be distinct (got {list(alpha_list)})")
    label_noise = check_in_range("label_noise", label_noise, 0.0, 0.9)
    n_train = check_int("n_train", n_train, minimum=50)
    if n_train > 1500:
        raise ValueError(f"n_train must be <= 1500 to leave a test split (got {n_train})")
    hidden = check_count("hidden", hidden)
    steps = check_count("steps", steps)
    lr = check_positive("lr", lr)
    num_bins = check_count("num_bins", num_bins)

    train, _, test = H.digit_splits(n_train, 0, seeds)
    seed_list = tuple(int(s) for s in seeds)
    data_streams = [H.seed_streams(s) for s in seed_list]
    y_train = torch.stack([flip_labels(train.y[i], label_noise, num_classes=10, generator=s.data)
                           for i, s in enumerate(data_streams)])
    noisy_train = H.SeedSplit(train.x, y_train)

    rows: dict[str, list[list[float]]] = {m: [] for m in METRICS}
    bins: dict[str, list[list[list[float]]]] = {"count": [], "conf": [], "acc": []}
    for alpha in alpha_list:
        streams = [H.seed_streams(s) for s in seed_list]      # fresh: the same initial weights for every alpha
        model = H.build_mlp(64, [hidden], 10, streams=streams)
        H.fit(model, noisy_train, streams=streams, num_classes=10, steps=steps, optimizer="adam", lr=lr,
              label_smoothing=alpha)
        with torch.no_grad():
            z = model(test.x).double()                         # (k, n_test, 10), eval mode
            train_z = model(noisy_train.x)
        probs = z.softmax(-1)
        top = z.max(-1).values
        rows["test_accuracy"].append(H.accuracy(z, test.y).tolist())
        rows["mean_confidence"].append(probs.max(-1).values.mean(-1).tolist())
        rows["ece"].append(H.ece(probs, test.y, num_bins=num_bins).tolist())
        rows["test_nll"].append(H.nll(z, test.y).tolist())
        rows["logit_norm"].append(z.norm(dim=-1).mean(-1).tolist())
        rows["logit_gap"].append((top - (z.sum(-1) - top) / (z.shape[-1] - 1)).mean(-1).tolist())
        rows["train_accuracy"].append(H.accuracy(train_z, noisy_train.y).tolist())
        per_seed = [calibration_bins(p, t, num_bins=num_bins) for p, t in zip(probs, test.y, strict=True)]
        bins["count"].append([c.tolist() for c, _, _ in per_seed])
        bins["conf"].append([c.tolist() for _, c, _ in per_seed])
        bins["acc"].append([a.tolist() for _, _, a in per_seed])

    return CalibrationResult(
        alphas=alpha_list,
        seeds=seed_list,
        label_noise=label_noise,
        n_train=n_train,
        hidden=hidden,
        steps=steps,
        lr=lr,
        num_bins=num_bins,
        n_test=test.n,
        test_accuracy=rows["test_accuracy"],
        mean_confidence=rows["mean_confidence"],
        ece=rows["ece"],
        test_nll=rows["test_nll"],
        logit_norm=rows["logit_norm"],
        logit_gap=rows["logit_gap"],
        train_accuracy=rows["train_accuracy"],
        bin_count=[[[int(c) for c in row] for row in per_alpha] for per_alpha in bins["count"]],
        bin_confidence=bins["conf"],
        bin_accuracy=bins["acc"],
    )
