"""Tests for regbook.early_stopping (expected values worked by hand)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from regbook.early_stopping import EarlyStopping, early_stopping_curve


def test_stops_after_patience_bad_epochs() -> None:
    # best 0.7 at epoch 3; epochs 4 and 5 are worse -> stop at 5 with patience 2
    s = EarlyStopping(patience=2)
    flags = [s.step(v) for v in [1.0, 0.8, 0.7, 0.72, 0.75]]
    assert flags == [False, False, False, False, True]
    assert (s.best_epoch, s.best_loss, s.epoch) == (3, 0.7, 5)


def test_improvement_resets_the_counter() -> None:
    s = EarlyStopping(patience=2)
    for v in [1.0, 1.1, 0.9, 1.0]:
        s.step(v)
    assert (s.best_epoch, s.bad_epochs, s.should_stop) == (3, 1, False)


def test_min_delta() -> None:
    # 0.95 is not below 1.0 - 0.1, so it does not count as an improvement
    s = EarlyStopping(patience=1, min_delta=0.1)
    s.step(1.0)
    assert s.step(0.95) is True
    assert s.best_loss == 1.0


def test_nan_is_a_bad_epoch() -> None:
    s = EarlyStopping(patience=1)
    s.step(1.0)
    assert s.step(math.nan) is True
    assert s.best_loss == 1.0


def test_restore_best_loads_the_best_weights() -> None:
    model = nn.Linear(2, 1)
    s = EarlyStopping(patience=5)
    with torch.no_grad():
        model.weight.fill_(1.0)
    s.step(0.5, model)
    with torch.no_grad():
        model.weight.fill_(7.0)
    s.step(0.9, model)  # worse: not saved
    s.restore_best(model)
    assert model.weight.tolist() == [[1.0, 1.0]]


def test_restore_without_checkpoint_raises() -> None:
    with pytest.raises(RuntimeError, match="restore_best"):
        EarlyStopping(patience=1).restore_best(nn.Linear(1, 1))


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"patience": 0}, ValueError, r"patience must be >= 1 \(got 0\)"),
        ({"patience": 2.5}, TypeError, r"patience must be an int"),
        ({"patience": 1, "min_delta": -0.1}, ValueError, r"min_delta must be >= 0"),
    ],
)
def test_bad_arguments(kwargs, exc, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc, match=match):
        EarlyStopping(**kwargs)


def test_val_loss_type_checked() -> None:
    with pytest.raises(TypeError, match="val_loss must be a float"):
        EarlyStopping(patience=1).step("0.5")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"label_noise": 1.0}, r"label_noise must be in \[0.0, 1.0\)"),
        ({"n_train": 1500}, r"n_train must be <= 1297"),
        ({"epochs": 0}, r"epochs must be >= 1"),
    ],
)
def test_experiment_bad_arguments(kwargs, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        early_stopping_curve(**kwargs)


def test_small_experiment_shows_the_effect() -> None:
    run = early_stopping_curve(n_train=200, epochs=200, patience=15, seed=1)
    best = run.best_epoch
    assert run.val_loss[best - 1] == min(run.val_loss)
    assert run.restored_val_loss == pytest.approx(run.val_loss[best - 1], abs=1e-6)
    assert best < run.stop_epoch <= len(run.val_loss)
    assert run.final_val_loss > run.restored_val_loss
    assert run.restored_test_accuracy > run.final_test_accuracy


def test_experiment_is_deterministic() -> None:
    a = early_stopping_curve(n_train=100, epochs=30, seed=3)
    b = early_stopping_curve(n_train=100, epochs=30, seed=3)
    assert a.val_loss == b.val_loss and a.best_epoch == b.best_epoch
