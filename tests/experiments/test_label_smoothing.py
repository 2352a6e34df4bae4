"""Label smoothing's calibration experiment, rerun small on the test seeds (never the book's).

Each test asserts on a 95% interval over TEST_SEEDS of per-seed (paired)
values, the same rule the chapter and the claims ledger use.
"""

from __future__ import annotations

import math

import pytest
import torch

from regbook.experiments import harness as H
from regbook.experiments import label_smoothing as E
from regbook.experiments.stats import estimate, paired
from tests.conftest import TEST_SEEDS

SMALL = {"alphas": (0.0, 0.1), "n_train": 300, "steps": 120, "seeds": TEST_SEEDS}


@pytest.fixture(scope="module")
def clean() -> E.CalibrationResult:
    return E.calibration_experiment(label_noise=0.0, **SMALL)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def noisy() -> E.CalibrationResult:
    return E.calibration_experiment(label_noise=0.2, **SMALL)  # type: ignore[arg-type]


def test_result_holds_one_value_per_seed_and_alpha(clean: E.CalibrationResult) -> None:
    assert clean.seeds == TEST_SEEDS and clean.alphas == (0.0, 0.1)
    for metric in E.METRICS:
        rows = getattr(clean, metric)
        assert len(rows) == 2 and all(len(r) == len(TEST_SEEDS) for r in rows)
        assert all(math.isfinite(v) for r in rows for v in r)
    # 1797 digits, 300 for training: the rest is the test split, and every test digit lands in one bin
    assert clean.n_test == 1797 - 300
    assert all(sum(c) == clean.n_test for per_alpha in clean.bin_count for c in per_alpha)


def test_seeds_differ_and_alphas_share_their_start() -> None:
    # 0 steps is not allowed; 1 step with alpha = 0 vs 0.1 moves the weights only by Adam's first step (~lr),
    # so two alphas of one seed start from the same weights: their test logits still agree closely.
    r = E.calibration_experiment(alphas=(0.0, 0.1), n_train=100, steps=1, lr=1e-6, seeds=TEST_SEEDS[:2])
    a, b = r.values("logit_norm", 0.0), r.values("logit_norm", 0.1)
    assert a == pytest.approx(b, rel=1e-4)
    assert abs(a[0] - a[1]) > 1e-3                       # but two seeds start from different weights


def test_label_noise_reaches_the_training_labels() -> None:
    # flipped labels are wrong for the clean data; a network that fits them scores < 1 on the clean labels
    streams = [H.seed_streams(s) for s in TEST_SEEDS[:1]]
    tr, _, _ = H.digit_splits(200, 0, TEST_SEEDS[:1])
    from regbook.data import flip_labels
    noisy_y = flip_labels(tr.y[0], 0.2, num_classes=10, generator=streams[0].data)
    frac = float((noisy_y != tr.y[0]).double().mean())
    assert 0.1 < frac < 0.3                               # about 20 % wrong (binomial, n = 200)


def test_hard_labels_make_overconfident_networks(clean: E.CalibrationResult, noisy: E.CalibrationResult) -> None:
    for r in (clean, noisy):
        gap = estimate(paired(r.values("mean_confidence", 0.0), r.values("test_accuracy", 0.0)))
        assert gap.lo > 0                                 # confidence above accuracy, interval over seeds


def test_smoothing_shrinks_the_logits(clean: E.CalibrationResult, noisy: E.CalibrationResult) -> None:
    for r in (clean, noisy):
        assert estimate(paired(r.values("logit_norm", 0.0), r.values("logit_norm", 0.1))).lo > 0
        assert estimate(paired(r.values("mean_confidence", 0.0), r.values("mean_confidence", 0.1))).lo > 0


def test_clean_labels_smoothing_worsens_calibration(clean: E.CalibrationResult) -> None:
    # the chapter's finding on clean digits: α = 0.1 makes the network UNDER-confident and raises the ECE
    gain = estimate(paired(clean.values("ece", 0.0), clean.values("ece", 0.1)))
    assert gain.hi < 0
    under = estimate(paired(clean.values("test_accuracy", 0.1), clean.values("mean_confidence", 0.1)))
    assert under.lo > 0


def test_noisy_labels_smoothing_lowers_the_test_nll(noisy: E.CalibrationResult) -> None:
    # the noisy-label ECE gain is reported with its interval in the chapter (it is not asserted here);
    # the per-seed values exist, paired, and the likelihood (a proper score) improves.
    ece0, ece1 = noisy.values("ece", 0.0), noisy.values("ece", 0.1)
    assert len(paired(ece0, ece1)) == len(TEST_SEEDS)
    assert estimate(paired(noisy.values("test_nll", 0.0), noisy.values("test_nll", 0.1))).lo > 0


def test_noisy_labels_smoothing_raises_accuracy(noisy: E.CalibrationResult) -> None:
    assert estimate(paired(noisy.values("test_accuracy", 0.1), noisy.values("test_accuracy", 0.0))).lo > 0


def test_ece_per_seed_matches_an_independent_computation() -> None:
    # rebuild the seeds' networks and recompute their ECE by hand-written binning (not regbook's)
    seeds, steps = TEST_SEEDS[:2], 40
    r = E.calibration_experiment(alphas=(0.0,), n_train=100, steps=steps, num_bins=4, seeds=seeds)
    streams = [H.seed_streams(s) for s in seeds]
    tr, _, te = H.digit_splits(100, 0, seeds)
    net = H.build_mlp(64, [64], 10, streams=streams)
    H.fit(net, tr, streams=streams, num_classes=10, steps=steps, lr=1e-2)
    with torch.no_grad():
        probs = net(te.x).double().softmax(-1)

    def ece_by_hand(i: int, num_bins: int) -> float:
        conf, pred = probs[i].max(-1)
        right = (pred == te.y[i]).double()
        total = 0.0
        for b in range(num_bins):
            lo, hi = b / num_bins, (b + 1) / num_bins
            inside = (conf > lo) & (conf <= hi) if b else conf <= hi
            if inside.any():
                total += float(inside.double().mean()) * abs(float(right[inside].mean() - conf[inside].mean()))
        return total

    for i in range(2):
        assert r.ece[0][i] == pytest.approx(ece_by_hand(i, 4), abs=1e-9)
        assert abs(ece_by_hand(i, 4) - ece_by_hand(i, 15)) > 1e-4   # the bin count matters here


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alphas": ()}, r"alphas must be a non-empty sequence"),
        ({"alphas": (1.0,)}, r"alphas\[0\] must be in \[0.0, 1.0\)"),
        ({"alphas": (0.1, 0.1)}, r"alphas must be distinct"),
        ({"n_train": 1600}, r"n_train must be <= 1500"),
        ({"label_noise": 0.95}, r"label_noise must be in \[0.0, 0.9\]"),
        ({"steps": 0}, r"steps must be >= 1"),
        ({"seeds": ()}, r"seeds must not be empty"),
    ],
)
def test_bad_settings_are_rejected(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        E.calibration_experiment(**kwargs)  # type: ignore[arg-type]
