"""Property-based fuzzing (Hypothesis) of every public op that has a torch twin.

The contract cases (``test_contracts.py``) attack one parameter at a time with a
fixed list of hostile values. Here Hypothesis draws whole new *valid* inputs: every
floating-point tensor argument of an op's sample is redrawn with random values in
the range the sample uses (an image stays in [0, 1], a weight keeps its sign
range), a two-valued tensor (a mask) is shuffled, and the op must then either

* refuse the input with TypeError/ValueError naming an argument, or
* return finite values equal to its torch twin's, with torch's dtype and device.

A fuzz target that refuses most of what Hypothesis draws would test nothing:
Hypothesis's health check fails the test when too many examples are filtered out.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.contracts.opinfo import OK_ERRORS, OpInfo, Sample, _close, tensors_in
from tests.contracts.test_contracts import OPS

FUZZED = [op for op in OPS if op.ref is not None]


def _redraw(value: Any, g: torch.Generator) -> Any:
    if isinstance(value, torch.Tensor) and value.is_floating_point() and not value.is_meta and value.numel() > 1:
        base = value.detach()
        if base.unique().numel() <= 2:  # a mask or a one-hot row: same values, new places
            flat = base.reshape(-1)
            out = flat[torch.randperm(flat.numel(), generator=g)].reshape(base.shape).clone()
        else:
            lo, hi = base.min().item(), base.max().item()
            out = lo + (hi - lo) * torch.rand(base.shape, generator=g, dtype=base.dtype)
        return out.requires_grad_(value.requires_grad)
    if isinstance(value, list | tuple) and any(isinstance(v, torch.Tensor) for v in value):
        return type(value)(_redraw(v, g) for v in value)
    return value


def _names_an_argument(op: OpInfo, s: Sample, message: str) -> bool:
    return any(name in message for name in (*s.arg_names, *s.kwargs))


@pytest.mark.parametrize("op", FUZZED, ids=[f"{op.name.removeprefix('regbook.')}-{i}"
                                            for i, op in enumerate(FUZZED)])
@settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_random_valid_inputs_match_torch(op: OpInfo, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    s = op.sample()
    call = Sample(tuple(_redraw(a, g) for a in s.args), {k: _redraw(v, g) for k, v in s.kwargs.items()},
                  s.arg_names, s.state)
    try:
        out = op.fn(*call.args, **call.kwargs)
    except OK_ERRORS as err:
        assert _names_an_argument(op, call, str(err)), f"{type(err).__name__} names no argument: {err}"
        assume(False)  # a proper refusal; Hypothesis counts these and fails if it is most of them
        return
    assert all(bool(torch.isfinite(t).all()) for t in tensors_in(out) if t.is_floating_point()), \
        "finite inputs gave a non-finite result"
    ref = op.ref
    assert ref is not None
    expect = ref(*call.args, **call.kwargs)
    diff = _close(out, expect, op.tol)
    assert diff is None, f"differs from torch: {diff}"
    for x, y in zip(tensors_in(out), tensors_in(expect), strict=True):
        assert (x.dtype, x.device) == (y.dtype, y.device), f"{x.dtype}/{x.device}, torch: {y.dtype}/{y.device}"
