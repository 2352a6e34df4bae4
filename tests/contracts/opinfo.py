"""An OpInfo-style contract checker for regbook's public API (in the spirit of PyTorch's OpInfo tests).

Each public function or class is described by an :class:`OpInfo`: how to make a
fresh *valid* call (:class:`Sample`), optionally its torch twin, and which of
its parameters to attack. :func:`hostile_cases` derives, from the type of each
valid argument, the inputs a careless or hostile caller might pass instead:
wrong types, NaN/inf, empty, meta, integer-dtype, wrong-rank, non-contiguous
and requires-grad tensors, out-of-range and extreme numbers, truthy strings for
flags, scalars for sequences, seeds past 2**63. :func:`check_case` runs one and
states the contract every public function keeps:

* a *wrong-typed* argument raises ``TypeError`` or ``ValueError`` whose message
  names the argument; so does any argument it rejects;
* no other exception escapes (no AttributeError, RuntimeError, OverflowError,
  IndexError, pickle errors, ...);
* a call that raises leaves every argument and every object it was given
  (modules, buffers, generators, stateful helpers) exactly as it was;
* a call that returns gives finite tensors when its tensor inputs are finite,
  the same values for a non-contiguous or requires-grad copy of a tensor input,
  and, where a torch twin exists, torch's values, dtype and device
  (meta tensors included: torch returns meta tensors of the right shape).

Registries live in ``tests/contracts/ops_*.py``; ``test_contracts.py`` runs them
and fails on any public name no registry covers.
"""

from __future__ import annotations

import inspect
import math
import re
import signal
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

#: What a rejected call may raise. FileNotFoundError (for a path that does not exist) is Python's own
#: convention (``open``); like the others, its message must name the argument.
OK_ERRORS = (TypeError, ValueError, FileNotFoundError)


@dataclass
class Sample:
    """One valid call: ``fn(*args, **kwargs)``, plus the objects whose state must survive a rejected call."""

    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    arg_names: tuple[str, ...] = ()
    state: tuple[Any, ...] = ()


@dataclass
class OpInfo:
    """How to call one public name, and what to compare it with.

    Attributes:
        name: Dotted public name (``regbook.norms.layer_norm``; methods as ``regbook.x.Class.method``).
        fn: What to call with the sample (the function, the class, or a bound-method factory's result).
        sample: Returns a fresh valid :class:`Sample` each time it is called.
        ref: Optional torch twin taking the same arguments.
        skip: Parameter name -> why it is not attacked.
        extra: Additional (param, value, must_raise) cases specific to this op.
        tol: Tolerance for comparisons with ``ref`` and between equivalent calls.
    """

    name: str
    fn: Callable[..., Any]
    sample: Callable[[], Sample]
    ref: Callable[..., Any] | None = None
    skip: dict[str, str] = field(default_factory=dict)
    extra: tuple[tuple[str, Any, bool], ...] = ()
    tol: float = 1e-5


@dataclass(frozen=True)
class Case:
    """One hostile value for one parameter; ``must_raise``: the value is wrong for any sensible contract."""

    param: str
    label: str
    make: Callable[[Any], Any]
    must_raise: bool
    kind: str = "value"  # "value" | "same" (as the valid call) | "meta" | "overflow" (inf allowed, as float math)


def _tensor_cases(x: torch.Tensor) -> list[Case]:
    cases = [
        Case("", "None", lambda v: None, True),
        Case("", "str", lambda v: "tensor", True),
        Case("", "list", lambda v: v.tolist(), True),
        Case("", "empty", lambda v: v.new_empty((0, *v.shape[1:])), False),
        Case("", "meta", lambda v: v.to("meta"), False, "meta"),
        Case("", "requires_grad", lambda v: v.detach().clone().requires_grad_(v.is_floating_point()), False, "same"),
    ]
    if x.is_floating_point():
        cases += [
            Case("", "nan", lambda v: _poison(v, math.nan), False),
            Case("", "inf", lambda v: _poison(v, math.inf), False),
            Case("", "int64", lambda v: v.round().to(torch.long), False),
            Case("", "float64", lambda v: v.double(), False, "same"),
            Case("", "huge", lambda v: v * 1e30, False, "overflow"),
        ]
    else:
        cases += [Case("", "float", lambda v: v.float(), False), Case("", "negative", lambda v: v - 10**6, False)]
    if x.ndim >= 1:
        cases += [Case("", "extra_dim", lambda v: v.unsqueeze(0), False),
                  Case("", "scalar", lambda v: v.reshape(-1)[0].clone(), False)]
    if x.ndim >= 2 and x.numel() > 1:
        cases.append(Case("", "non_contiguous", lambda v: v.transpose(-1, -2).contiguous().transpose(-1, -2),
                          False, "same"))
    return cases


def _poison(v: torch.Tensor, value: float) -> torch.Tensor:
    out = v.detach().clone()
    if out.numel():
        out.view(-1)[0] = value
    return out


def _number_cases(v: Any) -> list[Case]:
    common = [Case("", "None", lambda _: None, True), Case("", "str", lambda _: "1", True),
              Case("", "list", lambda _: [1], True)]
    if isinstance(v, bool):
        return [*common, Case("", "truthy_str", lambda _: "False", True), Case("", "int1", lambda _: 1, True)]
    if isinstance(v, int):
        return [*common, Case("", "bool", lambda _: True, True), Case("", "float", lambda _: 1.5, True),
                Case("", "negative", lambda _: -1, False), Case("", "zero", lambda _: 0, False),
                Case("", "2**64", lambda _: 2**64, False), Case("", "-2**64", lambda _: -(2**64), False)]
    return [*common, Case("", "bool", lambda _: True, True), Case("", "nan", lambda _: math.nan, False),
            Case("", "inf", lambda _: math.inf, False), Case("", "-inf", lambda _: -math.inf, False),
            Case("", "negative", lambda _: -1.0, False), Case("", "zero", lambda _: 0.0, False),
            Case("", "huge", lambda _: 1e300, False), Case("", "tiny", lambda _: 1e-300, False),
            Case("", "complex", lambda _: 1 + 1j, True)]


def cases_for(value: Any) -> list[Case]:
    """Hostile replacements for one valid argument, by its type."""
    if isinstance(value, torch.Tensor):
        return _tensor_cases(value)
    if isinstance(value, bool | int | float):
        return _number_cases(value)
    if isinstance(value, torch.Generator):
        return [Case("", "None", lambda _: None, False), Case("", "int", lambda _: 0, True),
                Case("", "object", lambda _: object(), True), Case("", "str", lambda _: "gen", True)]
    if isinstance(value, str):
        return [Case("", "int", lambda _: 1, True), Case("", "None", lambda _: None, False),
                Case("", "unknown", lambda _: "no-such-choice", False)]
    if isinstance(value, list | tuple):
        out = [Case("", "scalar", lambda _: 4, True), Case("", "str", lambda _: "ab", True),
               Case("", "empty", lambda v: type(v)(), False), Case("", "None_item", lambda v: type(v)([None]), True)]
        if value and all(isinstance(i, int) and not isinstance(i, bool) for i in value):
            out.append(Case("", "negative_item", lambda v: type(v)([-1, *v[1:]]), False))
        return out
    if isinstance(value, torch.nn.Module):
        return [Case("", "None", lambda _: None, True), Case("", "object", lambda _: object(), True)]
    return [Case("", "None", lambda _: None, False), Case("", "object", lambda _: object(), True)]


def hostile_cases(op: OpInfo) -> Iterator[Case]:
    """Every (parameter, hostile value) to try on ``op``."""
    s = op.sample()
    named = [*zip(s.arg_names, s.args, strict=False), *s.kwargs.items()]
    try:
        params = inspect.signature(op.fn).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    for pname, value in named:
        if pname in op.skip:
            continue
        none_ok = pname in params and (params[pname].default is None or "None" in str(params[pname].annotation))
        for c in cases_for(value):
            must = c.must_raise and not (c.label == "None" and none_ok)
            yield Case(pname, c.label, c.make, must, c.kind)
    for pname, value, must in op.extra:
        yield Case(pname, f"extra:{_describe(value)}"[:40], _constant(value), must)


def _describe(value: Any) -> str:
    """A short label for a value, the same in every process (test ids must agree across xdist workers):
    tensors by dtype and shape, never by their (possibly unseeded) values or addresses."""
    if isinstance(value, torch.Tensor):
        return f"{str(value.dtype).removeprefix('torch.')}{list(value.shape)}{'@meta' if value.is_meta else ''}"
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def _constant(value: Any) -> Callable[[Any], Any]:
    return lambda _: value


def snapshot(obj: Any, depth: int = 0) -> Any:
    """A deep (three levels), comparable copy of an object's observable state."""
    if depth > 3 or isinstance(obj, types.ModuleType):
        return ("id", id(obj))
    if isinstance(obj, torch.Tensor):
        return ("tensor", obj.detach().clone() if not obj.is_meta else obj.shape, obj.requires_grad)
    if isinstance(obj, torch.Generator):
        return ("generator", obj.get_state().clone())
    if isinstance(obj, torch.nn.Module):
        return ("module", {k: v.detach().clone() for k, v in obj.state_dict().items()},
                [m.training for m in obj.modules()])
    if isinstance(obj, dict):
        return ("dict", {k: snapshot(v, depth + 1) for k, v in obj.items()})
    if isinstance(obj, list | tuple):
        return ("seq", [snapshot(v, depth + 1) for v in obj])
    if hasattr(obj, "__dict__") and not isinstance(obj, type) and not callable(obj):
        return ("obj", {k: snapshot(v, depth + 1) for k, v in vars(obj).items()})
    if obj is None or isinstance(obj, bool | int | float | complex | str | bytes):
        return ("value", obj)
    return ("id", id(obj))  # anything else (functions, plain objects): compared by identity


def same_state(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, torch.Tensor):
        return a.shape == b.shape and a.dtype == b.dtype and bool(torch.equal(a, b) or
                                                                  ((a.isnan() == b.isnan()).all() and
                                                                  torch.equal(a.nan_to_num(), b.nan_to_num())))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_state(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same_state(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except Exception:
        return False


def tensors_in(obj: Any) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, list | tuple):
        return [t for o in obj for t in tensors_in(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in tensors_in(o)]
    if hasattr(obj, "__dataclass_fields__"):
        return [t for o in vars(obj).values() for t in tensors_in(o)]
    return []


def _call(op: OpInfo, s: Sample) -> Any:
    return op.fn(*s.args, **s.kwargs)


def _replace(s: Sample, param: str, value: Any) -> Sample:
    if param in s.kwargs:
        return Sample(s.args, {**s.kwargs, param: value}, s.arg_names, s.state)
    i = s.arg_names.index(param)
    return Sample((*s.args[:i], value, *s.args[i + 1:]), dict(s.kwargs), s.arg_names, s.state)


def _close(a: Any, b: Any, tol: float) -> str | None:
    ta, tb = tensors_in(a), tensors_in(b)
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return None if math.isclose(a, b, rel_tol=tol, abs_tol=tol) or (math.isnan(a) and math.isnan(b)) \
            else f"{a} != {b}"
    if len(ta) != len(tb):
        return f"{len(ta)} tensors vs {len(tb)}"
    for x, y in zip(ta, tb, strict=True):
        if x.shape != y.shape:
            return f"shape {tuple(x.shape)} != {tuple(y.shape)}"
        if x.is_meta or y.is_meta:
            continue
        if not torch.allclose(x.detach().double(), y.detach().double(), rtol=tol, atol=tol, equal_nan=True):
            return f"values differ by {(x.detach().double() - y.detach().double()).abs().nan_to_num(0).max():.3g}"
    return None


#: Seconds one hostile call may take: a function handed a count of 2**64 must refuse it, not start on it.
CASE_SECONDS = 20


class _Hang(BaseException):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Hang


def check_case(op: OpInfo, case: Case) -> str | None:
    """Run one hostile case; return a description of the broken contract, or None."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    try:
        return _check_case(op, case)
    except _Hang:
        return f"{case.label} for {case.param!r} ran for over {CASE_SECONDS} s: an unbounded value is accepted"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _check_case(op: OpInfo, case: Case) -> str | None:
    valid = op.sample()
    original = _call(op, valid) if case.kind == "same" else None
    s = op.sample()
    value = dict(zip(s.arg_names, s.args, strict=False)).get(case.param, s.kwargs.get(case.param))
    hostile = case.make(value)
    call = _replace(s, case.param, hostile)
    watched = [*call.args, *call.kwargs.values(), *call.state]
    before = [snapshot(o) for o in watched]
    try:
        out = _call(op, call)
    except OK_ERRORS as err:
        msg = str(err)
        after = [snapshot(o) for o in watched]
        changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if not same_state(a, b)]
        if changed:
            return f"raised {type(err).__name__} but changed state first ({len(changed)} object(s) modified)"
        root = case.param.split(".")[0].split("[")[0]
        if root not in msg and not any(n in msg for n in _aliases(op, case.param)):
            return f"{type(err).__name__} does not name {case.param!r}: {msg[:160]!r}"
        return None
    except Exception as err:
        return f"escaped {type(err).__name__}: {str(err)[:160]!r}"
    if case.must_raise:
        return f"accepted {case.label} for {case.param!r} instead of raising"
    if case.kind == "same":
        diff = _close(out, original, op.tol)
        return None if diff is None else f"{case.label} changed the result: {diff}"
    inputs_finite = all(bool(torch.isfinite(t).all()) for o in (*call.args, *call.kwargs.values())
                        for t in tensors_in(o) if t.is_floating_point() and not t.is_meta)
    outs = tensors_in(out)
    if case.kind == "meta":
        if op.ref is None:
            return None  # returned without touching values: what torch does with meta tensors
        try:
            expect = op.ref(*call.args, **call.kwargs)
        except Exception:
            return None
        return _close(out, expect, op.tol)
    nonfinite = any(t.is_floating_point() and not t.is_meta and not bool(torch.isfinite(t).all()) for t in outs)
    if case.kind != "overflow" and inputs_finite and nonfinite:
        return f"finite inputs ({case.label} for {case.param!r}) gave a non-finite result"
    if op.ref is not None and case.kind in ("value", "overflow"):
        try:
            expect = op.ref(*call.args, **call.kwargs)
        except Exception:
            return None
        if case.kind == "overflow":  # compare where torch stays finite; where it overflows, a finite answer is better
            expect = _where_finite(out, expect)
        diff = _close(out, expect, op.tol)
        if diff is None:
            ta, tb = tensors_in(out), tensors_in(expect)
            for x, y in zip(ta, tb, strict=True):
                if x.dtype != y.dtype or x.device != y.device:
                    return f"dtype/device {x.dtype}/{x.device} where torch gives {y.dtype}/{y.device}"
        return None if diff is None else f"differs from torch ({case.label} for {case.param!r}): {diff}"
    return None


def _where_finite(out: Any, expect: Any) -> Any:
    """``expect`` with its non-finite entries replaced by ``out``'s (tensors of the same shape only)."""
    if isinstance(out, torch.Tensor) and isinstance(expect, torch.Tensor) and out.shape == expect.shape \
            and expect.is_floating_point() and not expect.is_meta and not out.is_meta:
        return torch.where(torch.isfinite(expect), expect, out.to(expect.dtype))
    if isinstance(out, list | tuple) and isinstance(expect, list | tuple) and len(out) == len(expect):
        return type(expect)(_where_finite(a, b) for a, b in zip(out, expect, strict=True))
    return expect


def _aliases(op: OpInfo, param: str) -> Sequence[str]:
    """Names a message may use for a parameter: itself, and for positional tensors common symbols."""
    return (param, param.rstrip("_"))
