"""Contracts of the BatchNorm chapter: regbook.batchnorm and regbook.experiments.batchnorm.

Torch twins: :func:`torch.nn.functional.batch_norm` for the functional form and
the lab's autograd op, :class:`torch.nn.BatchNorm1d` / :class:`torch.nn.BatchNorm2d`
for the modules. The running statistics are compared too: the wrappers below
return them beside the output, and keep a copy of their state *before* the
call so the torch twin starts from the same buffers.
"""

from __future__ import annotations

import copy
import functools
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from regbook import batchnorm as B
from regbook.experiments import batchnorm as X
from regbook.experiments.harness import build_mlp, seed_streams
from tests.conftest import TEST_SEEDS
from tests.contracts.opinfo import OpInfo, Sample

NOT_CALLABLE = {"regbook.experiments.batchnorm.DIABETES_FEATURES"}

SEEDS = list(TEST_SEEDS[:2])


def _gen(offset: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(TEST_SEEDS[0] + offset)


# ---------------------------------------------------------------------------
# regbook.batchnorm: the functional form, with running statistics
# ---------------------------------------------------------------------------

_BEFORE: dict[str, Any] = {}  # the state a wrapper saw before calling ours, for the torch twin


def _keep(value: Any) -> Any:
    return value.detach().clone() if isinstance(value, torch.Tensor) else value


def _batch_norm_sample(training: bool = True) -> Sample:
    g = _gen()
    x = torch.randn(4, 3, 5, generator=g)
    w, b = torch.rand(3, generator=g) + 0.5, torch.randn(3, generator=g)
    rm, rv = torch.randn(3, generator=g), torch.rand(3, generator=g) + 0.5
    return Sample((x,), {"weight": w, "bias": b, "running_mean": rm, "running_var": rv,
                         "training": training, "momentum": 0.1, "eps": 1e-5}, ("x",))


@functools.wraps(B.batch_norm)
def _batch_norm(x: Any, **kw: Any) -> Any:
    """``batch_norm``'s output and the running buffers it updated."""
    _BEFORE["batch_norm"] = {k: _keep(v) for k, v in kw.items()}
    return B.batch_norm(x, **kw), kw.get("running_mean"), kw.get("running_var")


def _batch_norm_ref(x: Any, **kw: Any) -> Any:
    kw = {**kw, **_BEFORE["batch_norm"]}  # the buffers as they were before our call
    rm, rv = kw["running_mean"], kw["running_var"]
    y = F.batch_norm(x, rm, rv, kw["weight"], kw["bias"], kw["training"], kw["momentum"], kw["eps"])
    return y, rm, rv


# ---------------------------------------------------------------------------
# The modules: constructor and forward (train and eval), with torch's module as twin
# ---------------------------------------------------------------------------


def _module(cls: type[B.BatchNormBase], training: bool, momentum: float | None) -> B.BatchNormBase:
    g = _gen(1)
    m = cls(3, momentum=momentum)
    with torch.no_grad():
        assert m.weight is not None and m.bias is not None
        assert m.running_mean is not None and m.running_var is not None and m.num_batches_tracked is not None
        m.weight.copy_(torch.rand(3, generator=g) + 0.5)
        m.bias.copy_(torch.randn(3, generator=g))
        m.running_mean.copy_(torch.randn(3, generator=g))
        m.running_var.copy_(torch.rand(3, generator=g) + 0.5)
        m.num_batches_tracked.fill_(2)
    return m.train(training)


def _forward_sample(cls: type[B.BatchNormBase], shape: tuple[int, ...], *, training: bool = True,
                    momentum: float | None = 0.1) -> Sample:
    m = _module(cls, training, momentum)
    x = torch.randn(*shape, generator=_gen(2))
    return Sample((m, x), {}, ("self", "x"), state=(m,))


def _forward(module: B.BatchNormBase, x: Any) -> Any:
    """The module's output and its buffers after the call."""
    _BEFORE["module"] = copy.deepcopy(module)
    return module(x), *module.buffers()


_TWIN = {B.BatchNorm1d: nn.BatchNorm1d, B.BatchNorm2d: nn.BatchNorm2d}


def _forward_ref(module: B.BatchNormBase, x: Any) -> Any:
    ours = _BEFORE["module"]
    theirs = _TWIN[type(ours)](ours.num_features, eps=ours.eps, momentum=ours.momentum, affine=ours.affine,
                               track_running_stats=ours.track_running_stats)
    theirs.load_state_dict(ours.state_dict())
    theirs.train(ours.training)
    if isinstance(x, torch.Tensor) and x.is_meta:
        theirs.to("meta")
    return theirs(x), *theirs.buffers()


_SELF = {"self": "the module the method is bound to, not an argument"}


def _module_sample(cls: type[B.BatchNormBase]) -> Sample:
    return Sample((3,), {"eps": 1e-5, "momentum": 0.1, "affine": True, "track_running_stats": True,
                         "dtype": torch.float32}, ("num_features",))


_NOT_FLOAT = (("dtype", torch.int64, True), ("dtype", torch.bool, True), ("dtype", "float32", True))

# ---------------------------------------------------------------------------
# Lab 6b: forward, backward, running statistics, the autograd op
# ---------------------------------------------------------------------------


def _lab_inputs(n: int = 5, d: int = 3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = _gen(3)
    return torch.randn(n, d, generator=g), torch.rand(d, generator=g) + 0.5, torch.randn(d, generator=g)


def _forward_lab_ref(x: Any, gamma: Any, beta: Any, *, eps: float) -> Any:
    """Torch's output, and the cache computed with torch's reductions."""
    y = F.batch_norm(x, None, None, gamma, beta, True, 0.0, eps)
    mean, var = x.mean(0), x.var(0, correction=0)
    inv_std = torch.rsqrt(var + eps)
    return y, B.BatchNormCache(x_hat=(x - mean) * inv_std, gamma=gamma, inv_std=inv_std, mean=mean, var=var)


def _cache() -> B.BatchNormCache:
    return B.batch_norm_forward(*_lab_inputs(), eps=1e-5)[1]


def _backward_sample() -> Sample:
    return Sample((torch.randn(5, 3, generator=_gen(4)), _cache()), {}, ("dy", "cache"))


def _backward_ref(dy: Any, cache: B.BatchNormCache) -> Any:
    """Autograd's gradients of torch's batch norm at the cache's input."""
    x = (cache.x_hat / cache.inv_std + cache.mean).detach().double().requires_grad_()
    gamma = cache.gamma.detach().double().requires_grad_()
    beta = torch.zeros_like(gamma, requires_grad=True)
    eps = float((1 / cache.inv_std.double().square() - cache.var.double()).mean())
    y = F.batch_norm(x, None, None, gamma, beta, True, 0.0, eps)
    dx, dg, db = torch.autograd.grad(y, (x, gamma, beta), dy.double())
    return tuple(t.to(dy.dtype) for t in (dx, dg, db))


def _update_sample() -> Sample:
    g = _gen(5)
    rm, rv = torch.randn(3, generator=g), torch.rand(3, generator=g) + 0.5
    return Sample((rm, rv, _cache()), {"momentum": 0.1}, ("running_mean", "running_var", "cache"))


def _cache_sample() -> Sample:
    c = _cache()
    return Sample((c.x_hat, c.gamma, c.inv_std, c.mean, c.var), {}, ("x_hat", "gamma", "inv_std", "mean", "var"))


def _by_hand_ref(x: Any, gamma: Any, beta: Any, eps: Any = 1e-5) -> torch.Tensor:
    return F.batch_norm(x, None, None, gamma, beta, True, 0.0, eps)


def _by_hand_kw_ref(x: Any, gamma: Any, beta: Any, *, eps: float) -> torch.Tensor:
    return F.batch_norm(x, None, None, gamma, beta, True, 0.0, eps)


# ---------------------------------------------------------------------------
# regbook.experiments.batchnorm: tiny runs on two test seeds
# ---------------------------------------------------------------------------


def _small_net() -> nn.Module:
    return build_mlp(64, [4], 10, streams=[seed_streams(s) for s in SEEDS], norm="batch")


def _he_sample() -> Sample:
    net = _small_net()
    return Sample((net,), {}, ("model",), state=(net,))


def _drift(strength: float = 0.3) -> X.DriftNoise:
    return X.DriftNoise(4, strength=strength, generators=[_gen(6), _gen(7)])


def _drift_forward(noise: X.DriftNoise, x: Any) -> Any:
    return noise(x)


def _drift_forward_sample() -> Sample:
    noise = _drift()
    noise.resample()
    return Sample((noise, torch.randn(2, 3, 4, generator=_gen(8))), {}, ("self", "x"), state=(noise,))


def _drift_resample_sample() -> Sample:
    noise = _drift()
    return Sample((noise,), {}, ("self",), state=(noise,))


_SURFACE = X.canyon_vs_bowl(steps=5).raw
_K = len(SEEDS)
_SCALE = X.ScaleResult(3, 4, {k: torch.rand(3, _K, generator=_gen(9)) + 0.5 for k in X.SCALE_INITS})
_SMOOTH = X.SmoothnessResult(
    [0, 1, 2], [0.1, 0.2],
    *({v: torch.rand(3, _K, generator=_gen(10 + i)) for v in ("bn", "plain")} for i in range(4)),
    {v: torch.rand(_K, generator=_gen(20)) for v in ("bn", "plain")})
_LR = X.LRSweep([0.01, 0.1, 1.0], {"bn": torch.tensor([[0.2, 0.3], [0.1, 0.2], [0.5, math.inf]]),
                                   "plain": torch.tensor([[0.3, 0.4], [2.3, 0.2], [math.inf, math.inf]])},
                math.log(10))
_SIZES = X.BatchSizeSweep([2, 8, 32], {"batch": torch.tensor([[0.5, 0.6], [0.8, 0.85], [0.9, 0.9]]),
                                       "group": torch.tensor([[0.7, 0.7], [0.8, 0.8], [0.85, 0.88]])})
_SHIFT = X.ShiftResult(("plain", "bn"), {}, {v: torch.rand(4, _K, generator=_gen(21)) for v in ("plain", "bn")},
                       {}, {})


def _records_skip(*names: str) -> dict[str, str]:
    return {n: "a plain result record, built by its experiment from validated values" for n in names}


OPS = [
    # --- the functional form and the modules ---
    OpInfo("regbook.batchnorm.batch_norm", _batch_norm, _batch_norm_sample, ref=_batch_norm_ref,
           extra=(("training", 1, True), ("weight", torch.ones(4), True), ("running_var", torch.ones(2), True),
                  ("momentum", 1.5, True), ("eps", 0.0, True))),
    OpInfo("regbook.batchnorm.batch_norm", _batch_norm, lambda: _batch_norm_sample(training=False),
           ref=_batch_norm_ref),
    OpInfo("regbook.batchnorm.BatchNorm1d", B.BatchNorm1d, lambda: _module_sample(B.BatchNorm1d), extra=_NOT_FLOAT),
    OpInfo("regbook.batchnorm.BatchNorm2d", B.BatchNorm2d, lambda: _module_sample(B.BatchNorm2d), extra=_NOT_FLOAT),
    OpInfo("regbook.batchnorm.BatchNormBase", B.BatchNormBase, lambda: _module_sample(B.BatchNormBase),
           extra=_NOT_FLOAT),
    OpInfo("regbook.batchnorm.BatchNorm1d.forward", _forward, lambda: _forward_sample(B.BatchNorm1d, (4, 3, 5)),
           ref=_forward_ref, skip=_SELF, extra=(("x", torch.ones(1, 3), True), ("x", torch.ones(4, 2), True))),
    OpInfo("regbook.batchnorm.BatchNorm1d.forward", _forward,
           lambda: _forward_sample(B.BatchNorm1d, (6, 3), momentum=None), ref=_forward_ref, skip=_SELF),
    OpInfo("regbook.batchnorm.BatchNorm2d.forward", _forward, lambda: _forward_sample(B.BatchNorm2d, (2, 3, 2, 3)),
           ref=_forward_ref, skip=_SELF),
    OpInfo("regbook.batchnorm.BatchNormBase.forward", _forward,
           lambda: _forward_sample(B.BatchNorm2d, (2, 3, 2, 3), training=False), ref=_forward_ref, skip=_SELF),
    # --- lab 6b ---
    OpInfo("regbook.batchnorm.batch_norm_forward", B.batch_norm_forward,
           lambda: Sample(_lab_inputs(), {"eps": 1e-5}, ("x", "gamma", "beta")), ref=_forward_lab_ref,
           extra=(("x", torch.ones(1, 3), True), ("gamma", torch.ones(4), True))),
    OpInfo("regbook.batchnorm.batch_norm_backward", B.batch_norm_backward, _backward_sample, ref=_backward_ref,
           tol=1e-4),
    OpInfo("regbook.batchnorm.update_running_stats", B.update_running_stats, _update_sample,
           extra=(("running_var", torch.ones(2), True), ("momentum", 1.5, True))),
    OpInfo("regbook.batchnorm.BatchNormCache", B.BatchNormCache, _cache_sample,
           extra=(("gamma", torch.ones(4), True), ("x_hat", torch.ones(5), True))),
    OpInfo("regbook.batchnorm.BatchNormFunction.apply", B.BatchNormFunction.apply,
           lambda: Sample((*_lab_inputs(), 1e-5), {}, ("x", "gamma", "beta", "eps")), ref=_by_hand_ref),
    OpInfo("regbook.batchnorm.batch_norm_by_hand", B.batch_norm_by_hand,
           lambda: Sample(_lab_inputs(), {"eps": 1e-5}, ("x", "gamma", "beta")), ref=_by_hand_kw_ref),
    # --- experiments: tiny runs ---
    OpInfo("regbook.experiments.batchnorm.canyon_vs_bowl", X.canyon_vs_bowl,
           lambda: Sample((("bmi", "s5"),), {"lr_fraction": 0.9, "steps": 5}, ("features",)),
           extra=(("features", ("bmi", "bmi"), True), ("features", ("bmi", "nope"), True),
                  ("features", ("bmi", "s5", "bp"), True))),
    OpInfo("regbook.experiments.batchnorm.activation_scale", X.activation_scale,
           lambda: Sample((), {"depth": 2, "width": 4, "n_examples": 8, "seeds": SEEDS})),
    OpInfo("regbook.experiments.batchnorm.single_example_eval", X.single_example_eval,
           lambda: Sample(([2],), {"n_train": 16, "epochs": 1, "batch_size": 8, "width": 4, "lr": 0.05,
                                   "n_test": 8, "seeds": SEEDS}, ("test_batch_sizes",)),
           extra=(("seeds", [1001, 2**63], True), ("seeds", [1001, 1001], True), ("n_train", 1797, True))),
    OpInfo("regbook.experiments.batchnorm.covariate_shift", X.covariate_shift,
           lambda: Sample((), {"depth": 2, "width": 4, "n_train": 16, "batch_size": 8, "epochs": 1, "lr": 0.05,
                               "strengths": [0.1], "n_test": 8, "n_probe": 4, "seeds": SEEDS}),
           extra=(("seeds", [1001, -1], True), ("strengths", [0.1, 11.0], True))),
    OpInfo("regbook.experiments.batchnorm.smoothness", X.smoothness,
           lambda: Sample((), {"depth": 2, "width": 4, "n_train": 16, "batch_size": 8, "epochs": 1, "lr": 0.05,
                               "step_sizes": [0.1], "probe_every": 2, "n_probe": 4, "seeds": SEEDS}),
           extra=(("seeds", [1001, "2"], True), ("step_sizes", [0.1, math.nan], True))),
    OpInfo("regbook.experiments.batchnorm.max_stable_lr", X.max_stable_lr,
           lambda: Sample(([0.1],), {"depth": 2, "width": 4, "n_train": 16, "batch_size": 8, "epochs": 1,
                                     "seeds": SEEDS}, ("lrs",)),
           extra=(("seeds", [1001, 2.0], True), ("lrs", [0.1, -1.0], True))),
    OpInfo("regbook.experiments.batchnorm.batch_size_sweep", X.batch_size_sweep,
           lambda: Sample(([4],), {"n_train": 16, "epochs": 1, "base_lr": 0.05, "width": 4, "num_groups": 2,
                                   "n_test": 8, "seeds": SEEDS}, ("batch_sizes",)),
           extra=(("seeds", [1001, None], True), ("batch_sizes", [4, 1], True), ("num_groups", 3, True),
                  ("batch_sizes", [4, 32], True))),
    OpInfo("regbook.experiments.batchnorm.he_init_", X.he_init_, _he_sample),
    OpInfo("regbook.experiments.batchnorm.DriftNoise", X.DriftNoise,
           lambda: Sample((4,), {"strength": 0.3, "generators": [_gen(6), _gen(7)]}, ("width",)),
           extra=(("generators", [_gen(6), 1], True), ("strength", 11.0, True))),
    OpInfo("regbook.experiments.batchnorm.DriftNoise.forward", _drift_forward, _drift_forward_sample, skip=_SELF,
           extra=(("x", torch.ones(3, 3, 4), True), ("x", torch.ones(2, 3, 5), True))),
    OpInfo("regbook.experiments.batchnorm.DriftNoise.resample", X.DriftNoise.resample, _drift_resample_sample,
           skip=_SELF),
    # --- the result records' methods (the records themselves are built by their experiments) ---
    OpInfo("regbook.experiments.batchnorm.Surface.loss", _SURFACE.loss,
           lambda: Sample((torch.linspace(-1, 1, 3), torch.linspace(-2, 2, 3)), {}, ("w1", "w2"))),
    OpInfo("regbook.experiments.batchnorm.Surface.steps_to", _SURFACE.steps_to, lambda: Sample((0.5,), {},
                                                                                               ("fraction",))),
    OpInfo("regbook.experiments.batchnorm.ScaleResult.factor", _SCALE.factor, lambda: Sample(("he",), {}, ("init",))),
    OpInfo("regbook.experiments.batchnorm.SmoothnessResult.median", _SMOOTH.median,
           lambda: Sample(("beta", "bn"), {}, ("key", "variant"))),
    OpInfo("regbook.experiments.batchnorm.LRSweep.stable", _LR.stable, lambda: Sample(("bn",), {}, ("variant",))),
    OpInfo("regbook.experiments.batchnorm.LRSweep.max_stable", _LR.max_stable,
           lambda: Sample(("plain",), {}, ("variant",))),
    OpInfo("regbook.experiments.batchnorm.LRSweep.log10_gain", _LR.log10_gain, lambda: Sample()),
    OpInfo("regbook.experiments.batchnorm.BatchSizeSweep.gap", _SIZES.gap,
           lambda: Sample((8,), {}, ("batch_size",)), extra=(("batch_size", 4, True),)),
    OpInfo("regbook.experiments.batchnorm.BatchSizeSweep.crossover", _SIZES.crossover, lambda: Sample()),
    OpInfo("regbook.experiments.batchnorm.ShiftResult.median_shift", _SHIFT.median_shift,
           lambda: Sample(("bn",), {}, ("variant",))),
    OpInfo("regbook.experiments.batchnorm.CanyonResult", X.CanyonResult,
           lambda: Sample((("bmi", "s5"), _SURFACE, _SURFACE, 1.0), {},
                          ("features", "raw", "standardized", "uncentred_condition_number")),
           skip=_records_skip("features", "raw", "standardized", "uncentred_condition_number")),
    OpInfo("regbook.experiments.batchnorm.EvalModeResult", X.EvalModeResult,
           lambda: Sample(([2], torch.zeros(1, 2), torch.zeros(2), torch.zeros(1, 2), torch.zeros(1, 2), 8), {},
                          ("batch_sizes", "eval_accuracy", "eval_single", "train_shuffled", "train_sorted",
                           "n_test")),
           skip=_records_skip("batch_sizes", "eval_accuracy", "eval_single", "train_shuffled", "train_sorted",
                              "n_test")),
]
