"""Contracts of the Performance page: regbook.perf and regbook.experiments.performance.

:func:`regbook.perf.kernel_pairs` builds its pairs at the page's realistic
shapes (a few million numbers, well under a second); the timings run on tiny
pairs and shapes with the fewest repeats allowed. Times are never compared:
the records' methods are called on fixed numbers.
"""

from __future__ import annotations

from typing import Any

import torch

from regbook import perf as P
from regbook.experiments import performance as X
from tests.conftest import TEST_SEEDS
from tests.contracts.opinfo import OpInfo, Sample

NOT_CALLABLE = {
    # a typing.Protocol: it describes what time_kernels accepts and cannot be instantiated (TypeError, by design)
    "regbook.experiments.performance.Pair",
}

RECORD = "a plain record (a frozen dataclass the functions fill in)"
OBJ = "the object under test (a record with fixed numbers)"


def _tiny_pair(name: str = "add") -> P.KernelPair:
    x = torch.ones(4)
    return P.KernelPair(name, "(4,)", lambda: x + 1, lambda: torch.add(x, 1))


_TIMING = X.NormTiming((4, 8), {"library fwd": 2.0, "scratch fwd": 3.0}, {"library fwd": 1.0, "scratch fwd": 1.5})


def _norm_ratio(key: Any, *, obj: X.NormTiming) -> float:
    return obj.ratio(key)


OPS = [
    OpInfo("regbook.perf.kernel_pairs", P.kernel_pairs, lambda: Sample((), {"seed": TEST_SEEDS[0]}),
           extra=(("seed", 2**63 - 1, False), ("seed", 2**63, True))),
    OpInfo("regbook.perf.KernelPair", P.KernelPair,
           lambda: Sample(("add", "(4,)", lambda: None, lambda: None), {}, ("name", "shape", "ours", "torch")),
           skip={p: RECORD for p in ("name", "shape", "ours", "torch")}),
    OpInfo("regbook.experiments.performance.time_kernels", X.time_kernels,
           lambda: Sample(([_tiny_pair(), _tiny_pair("sub")],), {"repeats": 3}, ("pairs",)),
           extra=(("repeats", 2, True), ("pairs", [object()], True), ("pairs", (_tiny_pair(),), False))),
    OpInfo("regbook.experiments.performance.time_norms", X.time_norms,
           lambda: Sample(([(2, 8), [3, 4]],), {"repeats": 1, "eps": 1e-5, "seed": TEST_SEEDS[0]}, ("shapes",)),
           extra=(("shapes", [(0, 8)], True), ("shapes", [()], True), ("shapes", [(2, -1)], True),
                  ("shapes", [(2, 8.0)], True), ("shapes", [(2**31, 2**31)], True), ("shapes", [8], True),
                  ("shapes", ["ab"], True), ("seed", 2**63, True), ("eps", 0.0, True))),
    OpInfo("regbook.experiments.performance.KernelTiming", X.KernelTiming,
           lambda: Sample(("add", "(4,)", 1.0, 0.5), {}, ("name", "shape", "ours_ms", "torch_ms")),
           skip={p: RECORD for p in ("name", "shape", "ours_ms", "torch_ms")}),
    OpInfo("regbook.experiments.performance.NormTiming", X.NormTiming,
           lambda: Sample(((4, 8),), {"layer": {"library fwd": 1.0}, "rms": {"library fwd": 0.5}}, ("shape",)),
           skip={p: RECORD for p in ("shape", "layer", "rms")}),
    OpInfo("regbook.experiments.performance.NormTiming.ratio", _norm_ratio,
           lambda: Sample(("library fwd",), {"obj": _TIMING}, ("key",)), skip={"obj": OBJ},
           extra=(("key", "library fwd+bwd", True),)),
]
