"""Contracts of the penalties chapter: regbook.penalties, regbook.early_stopping, regbook.experiments.penalties."""

from __future__ import annotations

import torch

from regbook import early_stopping as ES
from regbook import penalties as P
from regbook.experiments import penalties as E
from tests.conftest import TEST_SEEDS
from tests.contracts.opinfo import OpInfo, Sample

F64 = torch.float64


def _v(*xs: float) -> torch.Tensor:
    return torch.tensor(xs, dtype=F64)


def _loss(w: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((w - 3.0) ** 2).sum()


def _step_sample() -> Sample:
    stopper = ES.EarlyStopping(patience=2)
    return Sample((0.5,), {}, ("val_loss",), state=(stopper,))


_STOPPER = ES.EarlyStopping(patience=2)


def _stopper_step(val_loss: float, model: torch.nn.Module | None = None) -> bool:
    return ES.EarlyStopping(patience=2).step(val_loss, model)


def _restore(model: torch.nn.Module) -> None:
    s = ES.EarlyStopping(patience=2)
    s.step(0.5, torch.nn.Linear(2, 1))
    s.restore_best(model)


OPS = [
    OpInfo("regbook.penalties.l2_penalty", P.l2_penalty, lambda: Sample((_v(3.0, -4.0), 0.1), {}, ("w", "lam")),
           ref=lambda w, lam: 0.5 * lam * (w * w).sum()),
    OpInfo("regbook.penalties.l1_penalty", P.l1_penalty, lambda: Sample((_v(3.0, -4.0), 0.1), {}, ("w", "lam")),
           ref=lambda w, lam: lam * w.abs().sum()),
    OpInfo("regbook.penalties.sgd_step", P.sgd_step, lambda: Sample((_v(2.0, 1.0), _v(1.5, -0.5)),
                                                                    {"lr": 0.1, "l2": 0.01}, ("w", "grad"))),
    OpInfo("regbook.penalties.weight_decay_step", P.weight_decay_step,
           lambda: Sample((_v(2.0, 1.0), _v(1.5, -0.5)), {"lr": 0.1, "weight_decay": 0.01}, ("w", "grad"))),
    OpInfo("regbook.penalties.AdamState", P.AdamState,
           lambda: Sample((0, _v(0.0, 0.0), _v(0.0, 0.0)), {}, ("step", "exp_avg", "exp_avg_sq")),
           skip={p: "a plain record; adam_step validates" for p in ("step", "exp_avg", "exp_avg_sq")}),
    OpInfo("regbook.penalties.AdamState.zeros_like", P.AdamState.zeros_like,
           lambda: Sample((_v(1.0, 2.0),), {}, ("w",))),
    OpInfo("regbook.penalties.adam_step", P.adam_step,
           lambda: Sample((_v(1.0, 2.0), _v(0.5, -0.5), P.AdamState.zeros_like(_v(1.0, 2.0))),
                          {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.1, "decoupled": True},
                          ("w", "grad", "state"))),
    OpInfo("regbook.penalties.project_l2_ball", P.project_l2_ball, lambda: Sample((_v(3.0, 4.0), 1.0), {},
                                                                                  ("v", "radius"))),
    OpInfo("regbook.penalties.project_l1_ball", P.project_l1_ball, lambda: Sample((_v(3.0, 1.0), 1.0), {},
                                                                                  ("v", "radius"))),
    OpInfo("regbook.penalties.soft_threshold", P.soft_threshold, lambda: Sample((_v(3.0, -0.5), 1.0), {},
                                                                                ("z", "threshold")),
           ref=lambda z, t: torch.nn.functional.softshrink(z, t)),
    OpInfo("regbook.penalties.constrained_minimum", P.constrained_minimum,
           lambda: Sample((_v(2.0, 0.6, 0.6, 1.0).reshape(2, 2), _v(2.0, 1.0)), {"norm": "l1", "radius": 1.0,
                                                                                 "steps": 20}, ("a", "center"))),
    OpInfo("regbook.penalties.proximal_gradient", P.proximal_gradient,
           lambda: Sample((_loss, _v(1.0, 0.0)), {"penalty": "l1", "lam": 0.5, "lr": 0.25, "steps": 3,
                                                  "mask": torch.tensor([True, False])}, ("loss_fn", "w0")),
           skip={"mask": "a bool tensor: the generic tensor cases do not apply; see extra"},
           extra=(("mask", "mask", True), ("mask", torch.tensor([1.0, 0.0]), True), ("mask", [True, False], True),
                  ("mask", torch.tensor([True]), True), ("mask", None, False))),
    OpInfo("regbook.early_stopping.EarlyStopping", ES.EarlyStopping,
           lambda: Sample((3,), {"min_delta": 0.01}, ("patience",))),
    OpInfo("regbook.early_stopping.EarlyStopping.step", _stopper_step,
           lambda: Sample((0.5,), {"model": torch.nn.Linear(2, 1)}, ("val_loss",))),
    OpInfo("regbook.early_stopping.EarlyStopping.restore_best", _restore,
           lambda: Sample((torch.nn.Linear(2, 1),), {}, ("model",))),
    OpInfo("regbook.experiments.penalties.l2_vs_decay_gap", E.l2_vs_decay_gap,
           lambda: Sample(("adam",), {"lam": 0.1, "lr": 0.01, "steps": 3, "seeds": list(TEST_SEEDS[:2])},
                          ("optimizer",))),
    OpInfo("regbook.experiments.penalties.decay_coefficients", E.decay_coefficients,
           lambda: Sample(([0.01, 1.0],), {"lam": 0.01, "lr": 1e-3, "history": 3, "seeds": list(TEST_SEEDS[:2])},
                          ("grad_scales",))),
    OpInfo("regbook.experiments.penalties.l1_l2_sparsity", E.l1_l2_sparsity,
           lambda: Sample((), {"lam_l1": 0.005, "lam_l2": 0.02, "n_train": 50, "steps": 3, "lr": 0.5,
                               "penalties": ["l1", "l2"], "seeds": list(TEST_SEEDS[:2])})),
    OpInfo("regbook.experiments.penalties.early_stopping_curve", E.early_stopping_curve,
           lambda: Sample((), {"n_train": 40, "n_val": 20, "label_noise": 0.3, "hidden": 4, "epochs": 3,
                               "lr": 1e-3, "patience": 2, "seeds": list(TEST_SEEDS[:2])})),
    OpInfo("regbook.experiments.penalties.SparsityResult", E.SparsityResult, lambda: Sample(
        ((1,), {}, 10, 1, [1], {}, {}, {}, {}, {}), {},
        ("seeds", "lam", "n_train", "steps", "n_weights", "zeros", "zero_fraction", "train_accuracy",
         "test_accuracy", "weights")),
           skip={p: "a plain record" for p in ("seeds", "lam", "n_train", "steps", "n_weights", "zeros",
                                               "zero_fraction", "train_accuracy", "test_accuracy", "weights")}),
    OpInfo("regbook.experiments.penalties.EarlyStoppingResult.at_best",
           lambda curve: E.early_stopping_curve(n_train=40, n_val=20, hidden=4, epochs=3, patience=2,
                                                seeds=list(TEST_SEEDS[:2])).at_best(curve),
           lambda: Sample((torch.zeros(3, 2, dtype=F64),), {}, ("curve",))),
]
NOT_CALLABLE: set[str] = set()
