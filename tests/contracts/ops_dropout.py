"""Contracts of the dropout chapter: regbook.dropout and regbook.experiments.dropout.

Torch twins: :func:`torch.nn.functional.dropout` and :class:`torch.nn.Dropout`
draw their masks from torch's default generator, ours from an explicit one; the
twins below run torch's op with the default generator set to the state our
generator had before the call (both fill a contiguous mask with
``bernoulli_(1 - p)``), so the masks, values, dtypes and devices must agree.
:func:`apply_mask`'s twin is ``aten.native_dropout_backward`` (``grad * mask *
scale``). The experiments get tiny valid calls on two of the tests' seeds.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from regbook import dropout as D
from regbook.experiments import dropout as X
from tests.conftest import TEST_SEEDS
from tests.contracts.opinfo import OpInfo, Sample

SEEDS = list(TEST_SEEDS[:2])
OBJ = "the object under test, made fresh by the sample (its state is watched)"
RECORD = "a plain record (a frozen dataclass the experiments fill in)"


def _gen(i: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(TEST_SEEDS[i])


def _h() -> torch.Tensor:
    return torch.randn(4, 6, generator=_gen())


def _mask() -> torch.Tensor:
    return torch.rand(4, 6, generator=_gen(1)).round()


_BEFORE: dict[str, Any] = {}  # the generator state our call started from, for the torch twin


def _state(g: Any) -> torch.Tensor:
    """The state a call drawing from ``g`` starts from (torch's default generator for ``None``)."""
    return g.get_state() if isinstance(g, torch.Generator) else torch.random.get_rng_state()


def _global_seeded(sample: Sample) -> Sample:
    """A sample that draws from torch's default generator: seed it, so two calls see the same masks."""
    torch.manual_seed(TEST_SEEDS[3])
    return sample


def _with_state(state: torch.Tensor, fn: Any) -> Any:
    """``fn()`` with torch's default CPU generator set to ``state`` (restored afterwards)."""
    with torch.random.fork_rng(devices=[]):
        torch.random.set_rng_state(state)
        return fn()


def _dropout(h: Any, **kw: Any) -> Any:
    _BEFORE["dropout"] = _state(kw.get("generator"))
    return D.dropout(h, **kw)


def _dropout_ref(h: Any, *, keep_prob: Any = None, drop_prob: Any = None, training: Any,
                 generator: Any = None) -> Any:
    p = drop_prob if keep_prob is None else 1.0 - keep_prob
    return _with_state(_BEFORE["dropout"], lambda: F.dropout(h, p, training=training))


def _apply_mask_ref(h: Any, mask: Any, *, keep_prob: Any = None, drop_prob: Any = None) -> Any:
    q = keep_prob if drop_prob is None else 1.0 - drop_prob
    return torch.ops.aten.native_dropout_backward(h, mask.bool(), 1.0 / q)


def _layer(p: float = 0.3, training: bool = True, seeded: bool = True) -> D.Dropout:
    return D.Dropout(p, generator=_gen(2) if seeded else None).train(training)


def _forward(input: Any, *, module: D.Dropout) -> Any:
    _BEFORE["layer"] = _state(module.generator)
    return module(input)


def _forward_ref(input: Any, *, module: D.Dropout) -> Any:
    twin = torch.nn.Dropout(module.p).train(module.training)
    return _with_state(_BEFORE["layer"], lambda: twin(input))


def _forward_sample(p: float = 0.3, training: bool = True, seeded: bool = True) -> Sample:
    m = _layer(p, training, seeded)
    s = Sample((_h(),), {"module": m}, ("input",), state=(m,))
    return s if seeded else _global_seeded(s)


_ENSEMBLE = X.ensemble_view(n_train=20, hidden=4, epochs=1, batch_size=20, n_masks=2, seeds=SEEDS)
_OVERFIT = X.overfitting(n_train=20, hidden=4, steps=2, record_every=1, seeds=SEEDS)


def _mean_single(metric: Any, *, obj: X.EnsembleResult) -> list[float]:
    return obj.mean_single(metric)


def _overfit_method(name: str) -> Any:
    def call(setting: Any, *, obj: X.OverfitResult) -> list[float]:
        out: list[float] = getattr(obj, name)(setting)
        return out
    return call


def _fields(cls: type) -> tuple[str, ...]:
    return tuple(cls.__dataclass_fields__)  # type: ignore[attr-defined]


def _record(cls: type, obj: Any) -> OpInfo:
    names = _fields(cls)
    return OpInfo(f"regbook.experiments.dropout.{cls.__name__}", cls,
                  lambda: Sample(tuple(getattr(obj, f) for f in names), {}, names), skip={p: RECORD for p in names})


OPS = [
    # --- regbook.dropout ---
    OpInfo("regbook.dropout.keep_probability", D.keep_probability, lambda: Sample((), {"keep_prob": 0.8}),
           extra=(("keep_prob", 0.0, True), ("keep_prob", 1.0, False), ("keep_prob", 1.5, True))),
    OpInfo("regbook.dropout.keep_probability", D.keep_probability, lambda: Sample((), {"drop_prob": 0.2}),
           extra=(("drop_prob", 1.0, True), ("drop_prob", 0.0, False), ("drop_prob", -0.5, True))),
    OpInfo("regbook.dropout.dropout_mask", D.dropout_mask,
           lambda: Sample((_h(),), {"keep_prob": 0.7, "generator": _gen(1)}, ("like",)),
           extra=(("keep_prob", 0.0, True),)),
    OpInfo("regbook.dropout.dropout_mask", D.dropout_mask,
           lambda: _global_seeded(Sample((_h(),), {"drop_prob": 0.3, "generator": None}, ("like",)))),
    OpInfo("regbook.dropout.apply_mask", D.apply_mask,
           lambda: Sample((_h(), _mask()), {"keep_prob": 0.5}, ("h", "mask")), ref=_apply_mask_ref,
           extra=(("mask", torch.full((4, 6), 0.5), True), ("mask", torch.ones(4, 5), True),
                  ("mask", _mask().bool(), False), ("keep_prob", 0.0, True))),
    OpInfo("regbook.dropout.apply_mask", D.apply_mask,
           lambda: Sample((_h(), _mask()), {"drop_prob": 0.25}, ("h", "mask")), ref=_apply_mask_ref),
    OpInfo("regbook.dropout.dropout", _dropout,
           lambda: Sample((_h(),), {"drop_prob": 0.3, "training": True, "generator": _gen(1)}, ("h",)),
           ref=_dropout_ref, extra=(("drop_prob", 1.0, True), ("training", "True", True))),
    OpInfo("regbook.dropout.dropout", _dropout,
           lambda: Sample((_h(),), {"keep_prob": 0.6, "training": False, "generator": _gen(1)}, ("h",)),
           ref=_dropout_ref),
    OpInfo("regbook.dropout.dropout", _dropout,
           lambda: Sample((_h().double(),), {"keep_prob": 0.6, "training": True, "generator": _gen(1)}, ("h",)),
           ref=_dropout_ref, extra=(("keep_prob", 1e-300, False), ("h", torch.ones(2, 3, dtype=torch.half), False))),
    OpInfo("regbook.dropout.Dropout", D.Dropout, lambda: Sample((0.3,), {"generator": _gen(2)}, ("p",)),
           extra=(("p", 1.0, False), ("p", 1.5, True))),
    OpInfo("regbook.dropout.Dropout.forward", _forward, _forward_sample, ref=_forward_ref, skip={"module": OBJ}),
    OpInfo("regbook.dropout.Dropout.forward", _forward, lambda: _forward_sample(training=False),
           ref=_forward_ref, skip={"module": OBJ}),
    OpInfo("regbook.dropout.Dropout.forward", _forward, lambda: _forward_sample(p=1.0), ref=_forward_ref,
           skip={"module": OBJ}),
    OpInfo("regbook.dropout.Dropout.forward", _forward, lambda: _forward_sample(p=0.5, seeded=False),
           ref=_forward_ref, skip={"module": OBJ}),
    # --- regbook.experiments.dropout ---
    OpInfo("regbook.experiments.dropout.ensemble_view", X.ensemble_view,
           lambda: Sample((), {"n_train": 20, "hidden": 4, "drop_prob": 0.5, "epochs": 1, "batch_size": 20,
                               "lr": 1e-2, "n_masks": 2, "seeds": SEEDS}),
           extra=(("n_train", 19, True), ("n_train", 1701, True), ("drop_prob", 1.0, True), ("lr", 1.5, True),
                  ("seeds", [1001, 1001], True), ("seeds", [1001, 2**63], True))),
    OpInfo("regbook.experiments.dropout.overfitting", X.overfitting,
           lambda: Sample((), {"n_train": 20, "hidden": 4, "settings": [(0.0, 0.0), (0.2, 0.5)], "steps": 2,
                               "lr": 1e-2, "record_every": 1, "seeds": SEEDS}),
           extra=(("settings", [(0.0, 1.0)], True), ("settings", [(0.1,)], True), ("settings", [0.5], True),
                  ("settings", [(0.1, 0.2, 0.3)], True), ("settings", [("0.1", 0.2)], True),
                  ("n_train", 1701, True), ("lr", 0.0, True), ("seeds", [1001, -1], True))),
    OpInfo("regbook.experiments.dropout.geometric_mean_gap", X.geometric_mean_gap,
           lambda: Sample((), {"n_inputs": 4, "n_classes": 3, "keep_prob": 0.5, "seed": TEST_SEEDS[0]}),
           extra=(("n_inputs", 17, True), ("n_classes", 1, True), ("keep_prob", 0.0, True))),
    _record(X.EnsembleResult, _ENSEMBLE),
    OpInfo("regbook.experiments.dropout.EnsembleResult.mean_single", _mean_single,
           lambda: Sample(("nll",), {"obj": _ENSEMBLE}, ("metric",)), skip={"obj": OBJ},
           extra=(("metric", "accuracy", False), ("metric", "loss", True))),
    _record(X.OverfitResult, _OVERFIT),
    *(OpInfo(f"regbook.experiments.dropout.OverfitResult.{name}", _overfit_method(name),
             lambda: Sample((1,), {"obj": _OVERFIT}, ("setting",)), skip={"obj": OBJ},
             extra=(("setting", 2, True), ("setting", 0, False)))
      for name in ("final_test_nll", "nll_gap", "nll_rise")),
    _record(X.GeometricMeanResult, X.geometric_mean_gap(n_inputs=3, seed=TEST_SEEDS[0])),
]
