"""Contracts of the label-smoothing chapter: regbook.label_smoothing and regbook.experiments.label_smoothing.

Torch twins: :func:`torch.nn.functional.cross_entropy` with ``label_smoothing=``
for the loss and its module, and :func:`torch.nn.functional.one_hot` mixed with
the uniform row for the targets. The experiment gets a tiny valid call (50
digits, 3 steps, two of the tests' seeds); the result record's methods are
called on one such run.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from regbook import label_smoothing as L
from regbook.experiments import label_smoothing as X
from tests.conftest import TEST_SEEDS
from tests.contracts.opinfo import OpInfo, Sample

NOT_CALLABLE = {"regbook.experiments.label_smoothing.METRICS"}

SEEDS = list(TEST_SEEDS[:2])
OBJ = "the object under test, made fresh by the sample (its state is watched)"
RECORD = "a plain record (a frozen dataclass the functions fill in)"


def _gen(i: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(TEST_SEEDS[i])


def _logits() -> torch.Tensor:
    return torch.randn(5, 4, generator=_gen())


def _labels() -> torch.Tensor:
    return torch.tensor([0, 3, 1, 2, 3])


def _probs() -> torch.Tensor:
    return torch.randn(6, 3, generator=_gen(1)).softmax(-1)


def _targets_ref(y: Any, *, num_classes: int, alpha: float) -> torch.Tensor:
    return F.one_hot(y, num_classes).float() * (1.0 - alpha) + alpha / num_classes


def _ce_ref(logits: Any, y: Any, *, alpha: float, reduction: str = "mean") -> torch.Tensor:
    return F.cross_entropy(logits, y, label_smoothing=alpha, reduction=reduction)


def _forward(input: Any, target: Any, *, module: L.LabelSmoothingCrossEntropy) -> Any:
    return module(input, target)


def _forward_ref(input: Any, target: Any, *, module: L.LabelSmoothingCrossEntropy) -> Any:
    return torch.nn.CrossEntropyLoss(label_smoothing=module.label_smoothing, reduction=module.reduction)(input,
                                                                                                       target)


def _forward_sample(reduction: str = "mean") -> Sample:
    m = L.LabelSmoothingCrossEntropy(label_smoothing=0.1, reduction=reduction)
    return Sample((_logits(), _labels()), {"module": m}, ("input", "target"), state=(m,))


_RUN = X.calibration_experiment(alphas=[0.0, 0.1], n_train=50, hidden=4, steps=3, num_bins=4, seeds=SEEDS)


def _values(metric: Any, alpha: Any, *, obj: X.CalibrationResult) -> list[float]:
    return obj.values(metric, alpha)


def _pooled_bins(alpha: Any, *, obj: X.CalibrationResult) -> tuple[list[int], list[float], list[float]]:
    return obj.pooled_bins(alpha)


_RESULT_FIELDS = tuple(X.CalibrationResult.__dataclass_fields__)

OPS = [
    # --- regbook.label_smoothing ---
    OpInfo("regbook.label_smoothing.smooth_targets", L.smooth_targets,
           lambda: Sample((_labels(),), {"num_classes": 4, "alpha": 0.1}, ("y",)), ref=_targets_ref,
           extra=(("y", torch.tensor([0, 4]), True), ("y", torch.tensor([[0, 1]]), True),
                  ("num_classes", 1, True), ("alpha", 1.5, True))),
    OpInfo("regbook.label_smoothing.smoothed_cross_entropy", L.smoothed_cross_entropy,
           lambda: Sample((_logits(), _labels()), {"alpha": 0.1}, ("logits", "y")), ref=_ce_ref,
           extra=(("y", torch.tensor([0, 1]), True), ("y", torch.tensor([0, 1, 2, 3, 4]), True),
                  ("logits", torch.zeros(5, 1), True), ("alpha", -0.1, True), ("alpha", 1.0, False))),
    OpInfo("regbook.label_smoothing.smoothed_cross_entropy", L.smoothed_cross_entropy,
           lambda: Sample((_logits(), _labels()), {"alpha": 0.2, "reduction": "none"}, ("logits", "y")),
           ref=_ce_ref),
    OpInfo("regbook.label_smoothing.LabelSmoothingCrossEntropy", L.LabelSmoothingCrossEntropy,
           lambda: Sample((0.1,), {"reduction": "sum"}, ("label_smoothing",)),
           extra=(("label_smoothing", 1.5, True), ("reduction", "max", True))),
    OpInfo("regbook.label_smoothing.LabelSmoothingCrossEntropy.forward", _forward, _forward_sample,
           ref=_forward_ref, skip={"module": OBJ}),
    OpInfo("regbook.label_smoothing.LabelSmoothingCrossEntropy.forward", _forward,
           lambda: _forward_sample("none"), ref=_forward_ref, skip={"module": OBJ}),
    OpInfo("regbook.label_smoothing.optimal_logit_gap", L.optimal_logit_gap,
           lambda: Sample((), {"num_classes": 10, "alpha": 0.1}),
           extra=(("alpha", 0.0, True), ("num_classes", 1, True))),
    OpInfo("regbook.label_smoothing.logit_descent", L.logit_descent,
           lambda: Sample((), {"num_classes": 4, "alpha": 0.1, "steps": 5, "lr": 1.0}),
           extra=(("steps", 0, True), ("lr", 0.0, True), ("num_classes", 1, True))),
    OpInfo("regbook.label_smoothing.LogitDescent", L.LogitDescent,
           lambda: Sample((4, 0.1, [1.0], [0.5], [2.0]), {}, ("num_classes", "alpha", "gaps", "losses",
                                                             "logit_norms")),
           skip={p: RECORD for p in ("num_classes", "alpha", "gaps", "losses", "logit_norms")}),
    OpInfo("regbook.label_smoothing.calibration_bins", L.calibration_bins,
           lambda: Sample((_probs(), torch.tensor([0, 1, 2, 0, 1, 2])), {"num_bins": 5}, ("probs", "y")),
           extra=(("probs", torch.full((6, 3), 1.5), True), ("y", torch.tensor([0, 1]), True),
                  ("y", torch.tensor([0, 1, 2, 0, 1, 3]), True), ("num_bins", 0, True))),
    OpInfo("regbook.label_smoothing.expected_calibration_error", L.expected_calibration_error,
           lambda: Sample((_probs(), torch.tensor([0, 1, 2, 0, 1, 2])), {"num_bins": 5}, ("probs", "y")),
           extra=(("probs", -_probs(), True), ("y", torch.tensor([0, 1, 2, 0, 1, 2, 0]), True),
                  ("num_bins", 0, True))),
    # --- regbook.experiments.label_smoothing ---
    OpInfo("regbook.experiments.label_smoothing.calibration_experiment", X.calibration_experiment,
           lambda: Sample((), {"alphas": [0.0, 0.1], "label_noise": 0.1, "n_train": 50, "hidden": 4, "steps": 2,
                               "lr": 1e-2, "num_bins": 4, "seeds": SEEDS}),
           extra=(("alphas", [0.1, 0.1], True), ("alphas", [0.1, 1.0], True), ("alphas", [0.1, "0.2"], True),
                  ("label_noise", 0.95, True), ("n_train", 49, True), ("n_train", 1501, True),
                  ("seeds", [1001, 1001], True), ("seeds", [1001, 2**63], True), ("seeds", [1001, 2.0], True))),
    OpInfo("regbook.experiments.label_smoothing.CalibrationResult", X.CalibrationResult,
           lambda: Sample(tuple(getattr(_RUN, f) for f in _RESULT_FIELDS), {}, _RESULT_FIELDS),
           skip={p: RECORD for p in _RESULT_FIELDS}),
    OpInfo("regbook.experiments.label_smoothing.CalibrationResult.values", _values,
           lambda: Sample(("ece", 0.1), {"obj": _RUN}, ("metric", "alpha")), skip={"obj": OBJ},
           extra=(("metric", "accuracy", True), ("alpha", 0.2, True))),
    OpInfo("regbook.experiments.label_smoothing.CalibrationResult.pooled_bins", _pooled_bins,
           lambda: Sample((0.1,), {"obj": _RUN}, ("alpha",)), skip={"obj": OBJ},
           extra=(("alpha", 0.2, True), ("alpha", 0, False))),
]
