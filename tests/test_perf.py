"""The Performance page's pairs (regbook.perf) and the timing experiments (regbook.experiments.performance).

Timings are never asserted: these tests check that each pair computes the same
thing on both sides (so the page compares like with like) and that the timing
functions time what they are given and report positive, finite numbers.
"""

from __future__ import annotations

import math

import pytest
import torch

from regbook import perf
from regbook.experiments import performance as E


def _flat(out: object) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, tuple | list):
        return [t for o in out for t in _flat(o)]
    return []


@pytest.mark.parametrize("name", [p.name for p in perf.kernel_pairs()])
def test_each_pair_computes_the_same_thing(name: str) -> None:
    pair = next(p for p in perf.kernel_pairs() if p.name == name)
    ours, ref = _flat(pair.ours()), _flat(pair.torch())
    if name.startswith("Dropout"):  # different random masks: compare the statistics instead
        assert ours[0].shape == ref[0].shape
        assert (ours[0] == 0).float().mean().item() == pytest.approx(0.1, abs=0.01)
        assert (ref[0] == 0).float().mean().item() == pytest.approx(0.1, abs=0.01)
        return
    assert len(ours) >= 1 and len(ours) == len(ref)
    for a, b in zip(ours, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_kernel_pairs_are_seeded() -> None:
    a, b, c = perf.kernel_pairs(seed=3), perf.kernel_pairs(seed=3), perf.kernel_pairs(seed=4)
    la, lb, lc = (_flat(p[1].torch()) for p in (a, b, c))        # LayerNorm forward, torch's side
    torch.testing.assert_close(la, lb)
    assert not torch.equal(la[0], lc[0])


def test_time_kernels_times_both_sides() -> None:
    calls = {"ours": 0, "torch": 0}

    def count(side: str) -> object:
        calls[side] += 1
        return None

    pair = perf.KernelPair("count", "()", lambda: count("ours"), lambda: count("torch"))
    (row,) = E.time_kernels([pair], repeats=3)
    assert calls == {"ours": 4, "torch": 4}                     # one warm-up and 3 timed runs each
    assert row.name == "count" and row.ours_ms >= 0 and row.torch_ms >= 0


def test_time_kernels_threads_restored() -> None:
    before = torch.get_num_threads()
    E.time_kernels(perf.kernel_pairs()[1:2], repeats=3)
    assert torch.get_num_threads() == before


def test_time_norms_small_returns_positive_times() -> None:
    (t,) = E.time_norms([(4, 8, 32)], repeats=2)
    keys = {"library fwd", "library fwd+bwd", "scratch fwd", "scratch fwd+bwd"}
    assert t.shape == (4, 8, 32) and set(t.layer) == keys and set(t.rms) == keys
    assert all(v > 0 for v in (*t.layer.values(), *t.rms.values()))
    assert all(math.isfinite(t.ratio(k)) and t.ratio(k) > 0 for k in keys)   # no claim on which is faster


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"repeats must be >= 1 \(got 0\)"):
        E.time_norms([(2, 4)], repeats=0)
    with pytest.raises(ValueError, match="each shape must be a non-empty tuple of ints"):
        E.time_norms([()], repeats=1)
    with pytest.raises(ValueError, match=r"repeats must be >= 3"):
        E.time_kernels(perf.kernel_pairs()[:1], repeats=2)
    with pytest.raises(TypeError, match="callable 'ours' and 'torch'"):
        E.time_kernels([object()], repeats=3)  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"seed must be >= 0"):
        perf.kernel_pairs(seed=-1)
