"""Contracts of the double-descent chapter: regbook.double_descent and regbook.experiments.double_descent."""

from __future__ import annotations

import torch

from regbook import double_descent as D
from regbook.experiments import double_descent as E
from tests.conftest import TEST_SEEDS
from tests.contracts.opinfo import OpInfo, Sample

F64 = torch.float64
NOT_CALLABLE = {"regbook.experiments.double_descent.METRICS"}


def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(TEST_SEEDS[0])


def _design(n: int = 4, p: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    g = _gen()
    return torch.randn(n, p, generator=g, dtype=F64), torch.randn(n, 2, generator=g, dtype=F64)


def _svals() -> torch.Tensor:
    return torch.tensor([3.0, 1.0, 0.1], dtype=F64)


def _result() -> E.DoubleDescentResult:
    return E.double_descent_curve(widths=[10, 20, 40], n_train=20, ridges=[0.0, 0.1], seeds=list(TEST_SEEDS[:2]))


_RES = None


def _res() -> E.DoubleDescentResult:
    global _RES
    if _RES is None:
        _RES = _result()
    return _RES


OPS = [
    OpInfo("regbook.double_descent.random_feature_weights", D.random_feature_weights,
           lambda: Sample((4, 6), {"generator": _gen(), "dtype": F64}, ("in_features", "num_features")),
           skip={"dtype": "a torch.dtype, checked by type"}),
    OpInfo("regbook.double_descent.random_features", D.random_features,
           lambda: Sample((*_design(3, 4)[:1], torch.randn(4, 5, generator=_gen(), dtype=F64)), {},
                          ("x", "weight")),
           ref=lambda x, w: torch.relu(x @ w) / w.shape[-1] ** 0.5),
    OpInfo("regbook.double_descent.min_norm_fit", D.min_norm_fit,
           lambda: Sample(_design(), {}, ("features", "targets")),
           ref=lambda f, t: torch.linalg.pinv(f) @ t),
    OpInfo("regbook.double_descent.ridge_fit", D.ridge_fit,
           lambda: Sample(_design(), {"lam": 0.5}, ("features", "targets"))),
    OpInfo("regbook.double_descent.ridge_filter", D.ridge_filter,
           lambda: Sample((_svals(), 0.5), {"cutoff": 0.0}, ("s", "lam")),
           ref=lambda s, lam, cutoff=0.0: s / (s * s + lam)),
    OpInfo("regbook.double_descent.ridge_path", D.ridge_path,
           lambda: Sample(_design(), {"lams": [0.0, 0.5]}, ("features", "targets"))),
    OpInfo("regbook.double_descent.pinv_cutoff", D.pinv_cutoff,
           lambda: Sample((_design()[0], torch.linalg.svdvals(_design()[0])), {}, ("features", "s"))),
    OpInfo("regbook.double_descent.gradient_descent_fit", D.gradient_descent_fit,
           lambda: Sample(_design(), {"steps": 5, "lr": 0.01}, ("features", "targets"))),
    OpInfo("regbook.experiments.double_descent.threshold_widths", E.threshold_widths,
           lambda: Sample((150,), {}, ("n_train",))),
    OpInfo("regbook.experiments.double_descent.u_widths", E.u_widths, lambda: Sample((150,), {}, ("n_train",))),
    OpInfo("regbook.experiments.double_descent.double_descent_curve", E.double_descent_curve,
           lambda: Sample((), {"widths": [10, 30], "n_train": 20, "ridges": [0.0, 0.1], "label_noise": [0.0, 0.2],
                               "seeds": list(TEST_SEEDS[:2])})),
    OpInfo("regbook.experiments.double_descent.DoubleDescentResult.curve", lambda *a, **k: _res().curve(*a, **k),
           lambda: Sample(("test_mse",), {"ridge": 0.1, "noise": 0.0}, ("metric",))),
    OpInfo("regbook.experiments.double_descent.DoubleDescentResult.at", lambda *a, **k: _res().at(*a, **k),
           lambda: Sample((20, "test_mse"), {"ridge": 0.0, "noise": 0.0}, ("width", "metric"))),
    OpInfo("regbook.experiments.double_descent.DoubleDescentResult.spike", lambda *a, **k: E.DoubleDescentResult.spike(
        E.double_descent_curve(widths=[10, 20, 40], n_train=20, seeds=list(TEST_SEEDS[:2])), *a, **k),
           lambda: Sample((), {"curve": None}), skip={"curve": "None or a (k, P) tensor"}),
    OpInfo("regbook.experiments.double_descent.DoubleDescentResult", E.DoubleDescentResult, lambda: Sample(
        ((10,), (0.0,), (0.0,), 20, 5, (1,), *[torch.zeros(1, 1, 1, 1)] * 4), {},
        ("widths", "ridges", "label_noise", "n_train", "n_test", "seeds", "test_mse", "test_error", "train_mse",
         "weight_norm")),
           skip={p: "a plain record; double_descent_curve validates" for p in (
               "widths", "ridges", "label_noise", "n_train", "n_test", "seeds", "test_mse", "test_error",
               "train_mse", "weight_norm")}),
    OpInfo("regbook.experiments.double_descent.gpt3", E.gpt3,
           lambda: Sample((), {"n_layers": 2, "d_model": 8, "n_heads": 2, "vocab": 11, "context": 5,
                               "device": "meta"}), skip={"device": "a torch device"}),
]
