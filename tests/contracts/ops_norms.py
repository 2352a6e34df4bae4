"""Contracts of the norms chapter: regbook.norms and regbook.experiments.norms.

Torch twins: :func:`torch.nn.functional.layer_norm`, :func:`torch.nn.functional.rms_norm`
and :func:`torch.nn.functional.group_norm` for the functional forms and the
modules' forward passes (with the module's own parameters); :func:`normalize`
is :func:`torch.nn.functional.layer_norm` / ``rms_norm`` over the reduced axes
moved to the end. Modules are called through a wrapper taking the module as a
keyword (``module=``), which is skipped: a fresh module comes with every
sample, and its state is watched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from regbook import norms as N
from regbook.experiments import norms as X
from tests.conftest import TEST_SEEDS
from tests.contracts.opinfo import OpInfo, Sample

NOT_CALLABLE = {"regbook.norms.KINDS", "regbook.experiments.norms.NORMS"}

SEEDS = list(TEST_SEEDS[:2])
F64 = torch.float64
#: torch's norm modules take ``normalized_shape`` as an int or a sequence of ints. The generic cases assume one or
#: the other (a sequence must refuse the int 4, an int must refuse the list [1]), both valid here, so the parameter
#: is attacked through these extra cases instead.
SHAPE = "an int or a sequence of ints, as in torch: the generic cases' must-raise int/list are valid; see extra"
SHAPE_EXTRA: tuple[tuple[str, Any, bool], ...] = (
    ("normalized_shape", "ab", True), ("normalized_shape", [], True), ("normalized_shape", [None], True),
    ("normalized_shape", [-1, 5], True), ("normalized_shape", [3, 2**64], True),
    ("normalized_shape", [2**20, 2**20], True), ("normalized_shape", torch.Size([3, 5]), False),
    ("normalized_shape", None, True), ("normalized_shape", True, True), ("normalized_shape", 1.5, True),
    ("normalized_shape", -1, True), ("normalized_shape", 0, True), ("normalized_shape", 2**64, True),
    ("normalized_shape", "1", True), ("normalized_shape", 5, False), ("normalized_shape", [1], False),
    ("normalized_shape", 4, False))
MODULE = "the module under test, made fresh by the sample (its state is watched)"


def _gen(i: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(TEST_SEEDS[0] + i)


def _x(*shape: int, i: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=_gen(i))


# --- the functional forms ---------------------------------------------------------------------

def _normalize_ref(x: Any, dims: Sequence[int], *, center: bool, eps: float) -> torch.Tensor:
    """torch's layer_norm (or rms_norm) over ``dims`` moved to the end, then moved back."""
    axes = [d % x.ndim for d in dims]
    rest = [a for a in range(x.ndim) if a not in axes]
    moved = x.permute(*rest, *axes)
    shape = tuple(moved.shape[len(rest):])
    y = F.layer_norm(moved, shape, eps=eps) if center else F.rms_norm(moved, shape, eps=eps)
    return y.permute(*torch.argsort(torch.tensor(rest + axes)).tolist())


def _layer_norm_sample() -> Sample:
    g = _gen(1)
    return Sample((_x(2, 3, 5), [3, 5]), {"weight": torch.rand(3, 5, generator=g) + 0.5,
                                          "bias": torch.randn(3, 5, generator=g), "eps": 1e-5},
                  ("x", "normalized_shape"))


def _layer_norm_ref(x: Any, normalized_shape: Any, *, weight: Any = None, bias: Any = None,
                    eps: float = 1e-5) -> torch.Tensor:
    return F.layer_norm(x, normalized_shape, weight, bias, eps)


def _rms_norm_sample() -> Sample:
    return Sample((_x(2, 3, 5), [3, 5]), {"weight": torch.rand(3, 5, generator=_gen(1)) + 0.5, "eps": 1e-6},
                  ("x", "normalized_shape"))


def _rms_norm_ref(x: Any, normalized_shape: Any, *, weight: Any = None, eps: float | None) -> torch.Tensor:
    return F.rms_norm(x, normalized_shape, weight, eps)


def _group_norm_sample() -> Sample:
    # float64: with a weight scaled by 1e30 ("huge"), float32 rounding of x̂ (about 1e-7, in torch's kernel and
    # ours alike) becomes an absolute error of about 1e23, above the comparison's tolerance where y is near 0
    g = _gen(1)
    return Sample((_x(2, 4, 3).double(), 2), {"weight": torch.rand(4, generator=g, dtype=F64) + 0.5,
                                              "bias": torch.randn(4, generator=g, dtype=F64), "eps": 1e-5},
                  ("x", "num_groups"))


def _group_norm_ref(x: Any, num_groups: int, *, weight: Any = None, bias: Any = None,
                    eps: float = 1e-5) -> torch.Tensor:
    return F.group_norm(x, num_groups, weight, bias, eps)


# --- the modules -------------------------------------------------------------------------------

def _affine(m: nn.Module) -> nn.Module:
    """Non-trivial scale and shift, so the twin's use of them is checked."""
    g = _gen(2)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.rand(p.shape, generator=g) + 0.5)
    return m


def _call_module(x: Any, *, module: nn.Module) -> Any:
    return module(x)


def _module_sample(m: nn.Module, *shape: int) -> Any:
    def make() -> Sample:
        mod = _affine(m.__class__(**_INIT[type(m)]))
        return Sample((_x(*shape, i=3),), {"module": mod}, ("x",), state=(mod,))
    return make


_INIT: dict[type, dict[str, Any]] = {
    N.LayerNorm: {"normalized_shape": (3, 5), "eps": 1e-5},
    N.RMSNorm: {"normalized_shape": 5, "eps": None},
    N.GroupNorm: {"num_groups": 2, "num_channels": 4, "eps": 1e-5},
}


def _layer_norm_module_ref(x: Any, *, module: N.LayerNorm) -> torch.Tensor:
    return F.layer_norm(x, module.normalized_shape, module.weight, module.bias, module.eps)


def _rms_norm_module_ref(x: Any, *, module: N.RMSNorm) -> torch.Tensor:
    return F.rms_norm(x, module.normalized_shape, module.weight, module.eps)


def _group_norm_module_ref(x: Any, *, module: N.GroupNorm) -> torch.Tensor:
    return F.group_norm(x, module.num_groups, module.weight, module.bias, module.eps)


# --- the experiment ------------------------------------------------------------------------------

def _convergence_sample() -> Sample:
    return Sample((), {"norms": ["layer", "rms"], "n_train": 40, "hidden": 4, "depth": 1, "steps": 2,
                       "batch_size": 8, "lr": 3e-3, "record_every": 1, "seeds": list(SEEDS)})


_RECORD = ("norms", "seeds", "marks", "train_loss", "test_accuracy", "n_train", "hidden", "depth", "steps",
           "batch_size", "lr")

_META = torch.ones(3, 5, device="meta")

OPS = [
    OpInfo("regbook.norms.normalize", N.normalize,
           lambda: Sample((_x(4, 3, 2), [0, 2]), {"center": True, "eps": 1e-5}, ("x", "dims")), ref=_normalize_ref,
           extra=(("dims", [0, 3], True), ("dims", [0, -3], True), ("dims", [1, 1], True), ("dims", (0, -1), False),
                  ("dims", [0, 2.0], True))),
    OpInfo("regbook.norms.normalize", N.normalize,
           lambda: Sample((_x(3, 5), (1,)), {"center": False, "eps": 1e-6}, ("x", "dims")), ref=_normalize_ref),
    OpInfo("regbook.norms.layer_norm", N.layer_norm, _layer_norm_sample, ref=_layer_norm_ref,
           extra=(("normalized_shape", 5, False), ("normalized_shape", [5, 3], True),
                  ("normalized_shape", torch.Size([3, 5]), False), ("weight", torch.ones(5), True),
                  ("bias", torch.ones(3, 5, dtype=torch.long), True), ("weight", _META, True))),
    OpInfo("regbook.norms.rms_norm", N.rms_norm, _rms_norm_sample, ref=_rms_norm_ref,
           extra=(("eps", None, False), ("weight", torch.ones(3, 4), True), ("weight", _META, True))),
    OpInfo("regbook.norms.group_norm", N.group_norm, _group_norm_sample, ref=_group_norm_ref,
           extra=(("num_groups", 3, True), ("num_groups", 4, False), ("weight", torch.ones(2), True),
                  ("bias", torch.ones(4, device="meta"), True))),
    OpInfo("regbook.norms.stat_groups", N.stat_groups,
           lambda: Sample(((2, 4, 3), "group"), {"num_groups": 2}, ("shape", "kind")),
           extra=(("kind", "batch", False), ("kind", "instance", False), ("shape", (2**40, 2**40), True),
                  ("shape", (2, 2.0), True), ("shape", torch.Size([2, 4]), False))),
    OpInfo("regbook.norms.LayerNorm", N.LayerNorm,
           lambda: Sample(((3, 5),), {"eps": 1e-5, "elementwise_affine": True, "bias": True},
                          ("normalized_shape",)), skip={"normalized_shape": SHAPE}, extra=SHAPE_EXTRA),
    OpInfo("regbook.norms.RMSNorm", N.RMSNorm,
           lambda: Sample(([3, 5],), {"eps": 1e-6, "elementwise_affine": True}, ("normalized_shape",)),
           skip={"normalized_shape": SHAPE}, extra=SHAPE_EXTRA),
    OpInfo("regbook.norms.GroupNorm", N.GroupNorm,
           lambda: Sample((2, 4), {"eps": 1e-5, "affine": True}, ("num_groups", "num_channels")),
           extra=(("num_groups", 3, True),)),
    OpInfo("regbook.norms.LayerNorm.forward", _call_module,
           _module_sample(N.LayerNorm((3, 5)), 2, 3, 5), ref=_layer_norm_module_ref, skip={"module": MODULE},
           extra=(("x", torch.ones(2, 5, 3), True),)),
    OpInfo("regbook.norms.RMSNorm.forward", _call_module,
           _module_sample(N.RMSNorm(5), 2, 3, 5), ref=_rms_norm_module_ref, skip={"module": MODULE}),
    OpInfo("regbook.norms.GroupNorm.forward", _call_module,
           _module_sample(N.GroupNorm(2, 4), 2, 4, 3), ref=_group_norm_module_ref, skip={"module": MODULE},
           extra=(("x", torch.ones(2, 3, 3), True),)),
    OpInfo("regbook.experiments.norms.norm_convergence", X.norm_convergence, _convergence_sample,
           extra=(("norms", ["layer", "layer"], True), ("norms", ["none"], True), ("seeds", [1001], True),
                  ("seeds", [1001, 1001], True), ("seeds", [1001, 2**63], True), ("n_train", 1797, True),
                  ("steps", 2**40, True))),
    OpInfo("regbook.experiments.norms.NormConvergence", X.NormConvergence,
           lambda: Sample((("layer",), (1, 2), (1,), {"layer": torch.zeros(1, 2)}, {"layer": (0.5, 0.5)},
                           10, 4, 1, 1, 8, 1e-3), {}, _RECORD),
           skip={p: "a plain result record, built by norm_convergence from validated values" for p in _RECORD}),
]
