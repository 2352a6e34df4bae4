"""Tests for regbook.early_stopping (expected values worked by hand)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from regbook.early_stopping import EarlyStopping


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


# --- Every parameter matters -----------------------------------------------------

@pytest.mark.parametrize(("patience", "stop_at"), [(1, 4), (2, 5), (3, 0)])
def test_patience_sets_the_stop_epoch(patience: int, stop_at: int) -> None:
    # best at epoch 3, then two worse epochs: patience 1 stops at 4, 2 at 5, 3 never (0)
    s = EarlyStopping(patience=patience)
    flags = [s.step(v) for v in [1.0, 0.8, 0.7, 0.72, 0.75]]
    assert next((e for e, f in enumerate(flags, 1) if f), 0) == stop_at


@pytest.mark.parametrize(("min_delta", "best_epoch"), [(0.0, 3), (0.1, 2), (0.3, 1)])
def test_min_delta_sets_what_counts_as_better(min_delta: float, best_epoch: int) -> None:
    # losses 1.0, 0.8, 0.72 (drops of 0.2 and 0.08), by hand:
    # min_delta 0.1: 0.8 < 0.9 improves, 0.72 < 0.7 does not -> 2; 0.3: 0.8 < 0.7 no, 0.72 < 0.7 no -> 1
    s = EarlyStopping(patience=10, min_delta=min_delta)
    for v in [1.0, 0.8, 0.72]:
        s.step(v)
    assert s.best_epoch == best_epoch


def test_a_constant_loss_stops_after_exactly_patience_epochs() -> None:
    s = EarlyStopping(patience=4)
    flags = [s.step(1.0) for _ in range(6)]
    assert flags == [False, False, False, False, True, True]   # epoch 1 improves on inf; 2..5 are bad
