"""The penalties chapter's experiments at a small size, on seeds the book does not use.

Each effect is asserted on its 95% interval over the five test seeds.
"""

from __future__ import annotations

import pytest
import torch

from regbook.experiments import penalties as E
from regbook.experiments.stats import claim_status, estimate, paired
from tests.conftest import TEST_SEEDS

# --- L2 in the loss against decoupled decay ----------------------------------------

def test_l2_is_decay_under_sgd_on_every_seed() -> None:
    for lam in (0.1, 0.3):   # both sides must use lam: any other strength on one side opens a gap
        gaps = E.l2_vs_decay_gap("sgd", lam=lam, steps=60, seeds=TEST_SEEDS)
        assert len(gaps) == len(TEST_SEEDS) and max(gaps) < 1e-12


def test_l2_is_not_decay_under_adam() -> None:
    gaps = E.l2_vs_decay_gap("adam", steps=60, seeds=TEST_SEEDS)
    assert min(gaps) > 1e-3   # far above rounding on every seed
    assert len(set(gaps)) == len(TEST_SEEDS)   # each seed its own regression problem


def test_l2_vs_decay_gap_uses_lam() -> None:
    small = E.l2_vs_decay_gap("adam", lam=0.01, steps=60, seeds=TEST_SEEDS[:2])
    large = E.l2_vs_decay_gap("adam", lam=0.5, steps=60, seeds=TEST_SEEDS[:2])
    assert all(b > a for a, b in zip(small, large, strict=True))


def test_decay_coefficients_adam_l2_shrinks_with_gradient_scale() -> None:
    coef = E.decay_coefficients([0.01, 1.0, 100.0], lam=0.01, lr=1e-3, history=50, seeds=TEST_SEEDS)
    for key in ("sgd_l2", "sgd_decay", "adamw"):   # exactly λ, whatever the scale (float rounding aside)
        assert all(c == pytest.approx([0.01] * 3, rel=1e-6) for c in coef[key])
    small, large = [row[0] for row in coef["adam_l2"]], [row[2] for row in coef["adam_l2"]]
    orders = [torch.tensor(a / b).log10().item() for a, b in zip(small, large, strict=True)]
    assert estimate(orders).lo > 2   # more than two orders of magnitude apart, as an interval
    other = E.decay_coefficients([1.0], lam=0.02, lr=1e-2, history=5, seeds=TEST_SEEDS[:2])
    assert all(c == pytest.approx([0.02], rel=1e-6) for key in ("sgd_l2", "sgd_decay", "adamw") for c in other[key])


# --- Sparsity ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def sparsity() -> E.SparsityResult:
    return E.l1_l2_sparsity(n_train=300, steps=150, seeds=TEST_SEEDS)


def test_l1_is_sparse_and_l2_is_not(sparsity: E.SparsityResult) -> None:
    gain = paired(sparsity.zero_fraction["l1"], sparsity.zero_fraction["l2"])
    assert claim_status(estimate(gain), "+") == "reproduced"
    assert sparsity.zeros["l2"] == [0] * len(TEST_SEEDS)


def test_both_penalties_still_classify(sparsity: E.SparsityResult) -> None:
    for penalty in ("l1", "l2"):
        assert estimate(sparsity.test_accuracy[penalty]).lo > 0.85


def test_sparsity_uses_lam() -> None:
    weak = E.l1_l2_sparsity(lam_l1=0.001, n_train=200, steps=60, seeds=TEST_SEEDS[:2])
    strong = E.l1_l2_sparsity(lam_l1=0.02, n_train=200, steps=60, seeds=TEST_SEEDS[:2])
    assert all(s > w for w, s in zip(weak.zeros["l1"], strong.zeros["l1"], strict=True))


# --- Early stopping ------------------------------------------------------------------

@pytest.fixture(scope="module")
def es() -> E.EarlyStoppingResult:
    return E.early_stopping_curve(n_train=200, n_val=200, hidden=64, epochs=150, lr=1e-2, patience=15, seeds=TEST_SEEDS)


def test_early_stopping_restored_beats_final(es: E.EarlyStoppingResult) -> None:
    gain = paired(es.restored_test_accuracy, es.final_test_accuracy)
    assert claim_status(estimate(gain), "+") == "reproduced"


def test_weights_keep_growing_after_the_best_epoch(es: E.EarlyStoppingResult) -> None:
    growth = [f / b - 1 for f, b in zip(es.weight_norm[-1].tolist(), es.at_best(es.weight_norm), strict=True)]
    assert claim_status(estimate(growth), "+") == "reproduced"


def test_the_restored_weights_are_the_best_epochs(es: E.EarlyStoppingResult) -> None:
    for i, best in enumerate(es.best_epoch):
        column = es.val_loss[:, i]
        assert best == int(column.argmin()) + 1
        assert es.restored_val_loss[i] == pytest.approx(float(column[best - 1]), abs=1e-6)
        assert best < es.stop_epoch[i] <= es.epochs or es.stop_epoch[i] == 0


def test_stop_epoch_follows_patience() -> None:
    kw = {"n_train": 100, "n_val": 100, "hidden": 32, "epochs": 80, "lr": 1e-2, "seeds": TEST_SEEDS[:2]}
    a = E.early_stopping_curve(patience=3, **kw)  # type: ignore[arg-type]
    b = E.early_stopping_curve(patience=8, **kw)  # type: ignore[arg-type]
    assert a.val_loss.tolist() == b.val_loss.tolist()       # the same runs: patience only decides when to stop
    assert all(sb > 0 for sb in b.stop_epoch)               # both stop within the run, so the comparison bites
    assert all(0 < sa < sb for sa, sb in zip(a.stop_epoch, b.stop_epoch, strict=True))


def test_label_noise_is_applied() -> None:
    clean = E.early_stopping_curve(n_train=100, n_val=100, hidden=32, epochs=5, label_noise=0.0, seeds=TEST_SEEDS[:1])
    noisy = E.early_stopping_curve(n_train=100, n_val=100, hidden=32, epochs=5, label_noise=0.5, seeds=TEST_SEEDS[:1])
    assert clean.train_loss[0].tolist() != noisy.train_loss[0].tolist()   # the same init: only the labels differ


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: E.l2_vs_decay_gap("sgdw"), ValueError, r"optimizer must be one of \('sgd', 'adam'\)"),
        (lambda: E.l2_vs_decay_gap("sgd", seeds=[]), ValueError, r"seeds must be a non-empty sequence"),
        (lambda: E.l2_vs_decay_gap("sgd", seeds=[1, 1]), ValueError, r"seeds must be distinct"),
        (lambda: E.decay_coefficients([]), ValueError, r"grad_scales must be a non-empty sequence"),
        (lambda: E.decay_coefficients([1.0, -2.0]), ValueError, r"grad_scales\[1\] must be > 0 \(got -2.0\)"),
        (lambda: E.l1_l2_sparsity(n_train=1750), ValueError, r"n_train must be <= 1700"),
        (lambda: E.l1_l2_sparsity(lam_l1=-1.0), ValueError, r"lam_l1 must be >= 0"),
        (lambda: E.early_stopping_curve(label_noise=1.0), ValueError, r"label_noise must be in \[0.0, 1.0\)"),
        (lambda: E.early_stopping_curve(n_train=1500, n_val=400), ValueError, r"n_train \+ n_val must be <= 1697"),
        (lambda: E.early_stopping_curve(epochs=0), ValueError, r"epochs must be >= 1"),
        (lambda: E.early_stopping_curve(patience=0), ValueError, r"patience must be >= 1"),
    ],
)
def test_bad_input_is_rejected(call, exc, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc, match=match):
        call()
