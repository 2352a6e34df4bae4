"""Argument checks shared by every public function of :mod:`regbook`.

Each check raises *before* any work is done, with a message that names the
argument, the allowed range and the value received, in the style of
PyTorch's own errors (``expected ... (got ...)``).
"""

from __future__ import annotations

import math
import os
from numbers import Integral, Real
from pathlib import Path

import torch


def check_real(name: str, value: object) -> float:
    """Return ``value`` as a float, or raise ``TypeError`` if it is not a real number."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number (got {type(value).__name__} {value!r})")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite (got {out})")
    return out


def check_nonnegative(name: str, value: object) -> float:
    """A finite real number ``>= 0``."""
    out = check_real(name, value)
    if out < 0:
        raise ValueError(f"{name} must be >= 0 (got {out})")
    return out


def check_positive(name: str, value: object) -> float:
    """A finite real number ``> 0``."""
    out = check_real(name, value)
    if out <= 0:
        raise ValueError(f"{name} must be > 0 (got {out})")
    return out


def check_in_range(
    name: str,
    value: object,
    low: float,
    high: float,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """A finite real number inside an interval, e.g. ``[0, 1)``."""
    out = check_real(name, value)
    ok_low = out >= low if low_inclusive else out > low
    ok_high = out <= high if high_inclusive else out < high
    if not (ok_low and ok_high):
        lb = "[" if low_inclusive else "("
        rb = "]" if high_inclusive else ")"
        raise ValueError(f"{name} must be in {lb}{low}, {high}{rb} (got {out})")
    return out


def check_int(name: str, value: object, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (not a bool), optionally ``>= minimum`` and ``<= maximum``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int (got {type(value).__name__} {value!r})")
    out = int(value)
    if minimum is not None and out < minimum:
        raise ValueError(f"{name} must be >= {minimum} (got {out})")
    if maximum is not None and out > maximum:
        raise ValueError(f"{name} must be <= {maximum} (got {out})")
    return out


#: Largest count (sizes, steps, repeats) any function accepts: torch's int32 index range.
MAX_COUNT = 2**31 - 1

#: Largest seed ``torch.Generator.manual_seed`` accepts without overflow.
MAX_SEED = 2**63 - 1


def check_seed(name: str, value: object) -> int:
    """A seed for ``torch.Generator().manual_seed``: an int in ``[0, 2**63 - 1]``."""
    return check_int(name, value, minimum=0, maximum=MAX_SEED)


def check_bool(name: str, value: object) -> bool:
    """A real ``bool`` (``True``/``False``); a truthy string such as ``"False"`` is refused, not obeyed."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool (got {type(value).__name__} {value!r})")
    return value


def check_int_sequence(name: str, value: object, *, minimum: int | None = None, nonempty: bool = True) -> list[int]:
    """A list or tuple of ints (not one int, not a string), each ``>= minimum``."""
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple | range):
        raise TypeError(f"{name} must be a list or tuple of ints (got {type(value).__name__} {value!r})")
    out = [check_int(f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(value)]
    if nonempty and not out:
        raise ValueError(f"{name} must not be empty")
    return out


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """One string out of a fixed set."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices} (got {value!r})")
    return value


def check_count(name: str, value: object, *, minimum: int = 1) -> int:
    """A size or a number of steps: an int in ``[minimum, 2**31 - 1]``."""
    return check_int(name, value, minimum=minimum, maximum=MAX_COUNT)


def check_tensor(name: str, value: object) -> torch.Tensor:
    """Any ``torch.Tensor`` (type check only)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (got {type(value).__name__})")
    return value


def check_float_tensor(name: str, value: object, *, ndim: int | None = None) -> torch.Tensor:
    """A floating-point tensor with only finite entries, optionally of a given rank."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (got {type(value).__name__})")
    if not value.is_floating_point():
        raise TypeError(f"{name} must have a floating-point dtype (got {value.dtype})")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D (got {value.ndim}-D, shape {tuple(value.shape)})")
    if value.numel() == 0:
        raise ValueError(f"{name} must not be empty (got shape {tuple(value.shape)})")
    if value.is_meta:  # shape-only tensors (as torch treats them): no values to check
        return value
    # A finite sum proves every entry finite (one NaN or inf makes the sum NaN or inf),
    # at a fraction of the cost of an elementwise test; only a non-finite sum, which
    # large finite entries can also cause, needs the elementwise test.
    if not bool(torch.isfinite(value.sum())) and not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} must contain only finite values (got NaN or inf)")
    return value


def check_same_shape(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    """Two tensors of identical shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape "
            f"(got {tuple(a.shape)} and {tuple(b.shape)})"
        )


def check_generator(name: str, value: object) -> torch.Generator:
    """A ``torch.Generator``: every random function of regbook takes its randomness explicitly."""
    if not isinstance(value, torch.Generator):
        raise TypeError(f"{name} must be a torch.Generator (got {type(value).__name__})")
    return value


def check_class_indices(name: str, value: object, *, num_classes: int | None = None) -> torch.Tensor:
    """A 1-D int64 tensor of class indices, in ``[0, num_classes - 1]`` when ``num_classes`` is given."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (got {type(value).__name__})")
    if value.dtype != torch.long:
        raise TypeError(f"{name} must be an int64 tensor of class indices (got {value.dtype})")
    if value.ndim != 1:
        raise ValueError(f"{name} must be 1-D (N,) (got {value.ndim}-D, shape {tuple(value.shape)})")
    if num_classes is not None and value.numel() and not value.is_meta and (
            int(value.min()) < 0 or int(value.max()) >= num_classes):
        raise ValueError(
            f"{name} must hold class indices in [0, {num_classes - 1}] "
            f"(got values {int(value.min())}..{int(value.max())})"
        )
    return value


def check_device(name: str, value: object, *, allow_none: bool = True) -> torch.device | None:
    """A device torch can use here: a ``str`` or ``torch.device`` (``None`` too when ``allow_none``).

    An int is refused (``torch.device(1)`` would silently mean ``cuda:1``), so is a
    string torch cannot parse, and so is a device this machine lacks (a CUDA device
    torch does not see, an index past the last GPU). ``"meta"`` is accepted.
    """
    if value is None and allow_none:
        return None
    if not isinstance(value, str | torch.device):
        allowed = "a str, torch.device or None" if allow_none else "a str or torch.device"
        raise TypeError(f"{name} must be {allowed} (got {type(value).__name__} {value!r})")
    try:
        dev = torch.device(value)
    except (RuntimeError, ValueError):
        raise ValueError(f"{name} must name a torch device such as 'cpu' or 'cuda' (got {value!r})") from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"{name} must be available on this machine (got {value!r}; torch sees no CUDA device)")
        if dev.index is not None and dev.index >= count:
            raise ValueError(f"{name} must be available on this machine (got {value!r}; "
                             f"torch sees CUDA devices 0..{count - 1})")
    elif dev.type not in ("cpu", "meta"):
        try:
            torch.empty(0, device=dev)
        except (RuntimeError, AssertionError, NotImplementedError):
            raise ValueError(f"{name} must be available on this machine (got {value!r})") from None
    return dev


def check_path(name: str, value: object) -> Path:
    """A filesystem path: a ``str`` or ``os.PathLike`` of ``str`` without NUL characters (bytes refused)."""
    raw = os.fspath(value) if isinstance(value, os.PathLike) else value
    if not isinstance(raw, str):
        raise TypeError(f"{name} must be a str or os.PathLike path (got {type(value).__name__} {value!r})")
    if "\x00" in raw:
        raise ValueError(f"{name} must not contain NUL characters (got {raw!r})")
    return Path(raw)


def check_sequence(name: str, value: object, *, nonempty: bool = True) -> list[object]:
    """A list, tuple or range (not one scalar, not a string), as a list; its items are the caller's to check."""
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple | range):
        raise TypeError(f"{name} must be a list or tuple (got {type(value).__name__} {value!r})")
    if nonempty and len(value) == 0:
        raise ValueError(f"{name} must not be empty")
    return list(value)


def check_instance(name: str, value: object, cls: type | tuple[type, ...]) -> object:
    """An instance of ``cls`` (a class or a tuple of classes)."""
    if not isinstance(value, cls):
        want = cls.__name__ if isinstance(cls, type) else " or ".join(c.__name__ for c in cls)
        raise TypeError(f"{name} must be a {want} (got {type(value).__name__})")
    return value


def check_same_device(name: str, value: torch.Tensor, other_name: str, other: torch.Tensor) -> None:
    """Two tensors on one device, as torch's ops require (a meta tensor only goes with meta tensors)."""
    if value.device != other.device:
        raise ValueError(f"{name} must be on the device of {other_name} ({other.device}) (got {value.device})")


def check_float_dtype(name: str, value: object, *, allow_none: bool = True) -> torch.dtype | None:
    """A floating-point ``torch.dtype`` (``None`` too when ``allow_none``: torch's default dtype)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, torch.dtype):
        raise TypeError(f"{name} must be a torch.dtype (got {type(value).__name__} {value!r})")
    if not value.is_floating_point:
        raise TypeError(f"{name} must be a floating-point dtype (got {value})")
    return value


def check_size_pair(name: str, value: object) -> tuple[int, int]:
    """An output size ``(height, width)``: a list or tuple of exactly two ints in ``[1, 2**31 - 1]``."""
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise TypeError(f"{name} must be a pair (height, width) of ints (got {type(value).__name__} {value!r})")
    if len(value) != 2:
        raise ValueError(f"{name} must be a pair (height, width) of ints (got {len(value)} items: {value!r})")
    return check_count(f"{name}[0]", value[0]), check_count(f"{name}[1]", value[1])


def check_fits_dtype(name: str, value: float, dtype: torch.dtype) -> float:
    """A finite real number that stays finite as a scalar of the floating ``dtype`` (no overflow to inf).

    Python floats reach 1.8e308; a float32 tensor overflows past 3.4e38 and a
    float16 one past 65504, and an infinite factor turns ``0 * factor`` into NaN.
    """
    out = check_real(name, value)
    limit = torch.finfo(dtype).max
    if abs(out) > limit:
        raise ValueError(f"{name} must be within [-{limit:.4g}, {limit:.4g}], the range of {dtype} (got {out})")
    return out


def check_callable(name: str, value: object, *, allow_none: bool = False) -> object:
    """A callable (``None`` too when ``allow_none``)."""
    if value is None and allow_none:
        return None
    if not callable(value):
        allowed = "callable or None" if allow_none else "callable"
        raise TypeError(f"{name} must be {allowed} (got {type(value).__name__} {value!r})")
    return value


def check_seed_sequence(name: str, value: object, *, maximum: int = MAX_SEED) -> tuple[int, ...]:
    """A non-empty list or tuple of distinct seeds, each an int in ``[0, maximum]``."""
    items = check_sequence(name, value)
    out = tuple(check_int(f"{name}[{i}]", s, minimum=0, maximum=maximum) for i, s in enumerate(items))
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must be distinct (got {list(out)})")
    return out


def check_choices(name: str, value: object, choices: tuple[str, ...], *, distinct: bool = True) -> tuple[str, ...]:
    """A non-empty list or tuple of strings from ``choices`` (each at most once when ``distinct``)."""
    items = check_sequence(name, value)
    for v in items:
        if not isinstance(v, str) or v not in choices:
            raise ValueError(f"{name} must be drawn from {choices} (got {v!r})")
    out = tuple(str(v) for v in items)
    if distinct and len(set(out)) != len(out):
        raise ValueError(f"{name} must not repeat a name (got {list(out)})")
    return out


def check_size(name: str, value: object, *, allow_int: bool = True, min_dims: int = 1) -> tuple[int, ...]:
    """A tensor shape: an int (one axis, when ``allow_int``) or a list, tuple or ``torch.Size`` of ints.

    Every axis is in ``[1, 2**31 - 1]``, there are at least ``min_dims`` of them,
    and their product (the number of entries a tensor of that shape holds) is at
    most ``2**31 - 1``, so no shape asks for more memory than a machine has.
    """
    if isinstance(value, bool) or (isinstance(value, Integral) and not allow_int):
        raise TypeError(f"{name} must be a list or tuple of ints (got {type(value).__name__} {value!r})")
    dims: tuple[int, ...]
    if isinstance(value, Integral):
        dims = (check_count(name, value),)
    elif isinstance(value, list | tuple | torch.Size):
        dims = tuple(check_count(f"{name}[{i}]", d) for i, d in enumerate(value))
    else:
        allowed = "an int or a list or tuple of ints" if allow_int else "a list or tuple of ints"
        raise TypeError(f"{name} must be {allowed} (got {type(value).__name__} {value!r})")
    if len(dims) < min_dims:
        raise ValueError(f"{name} must have at least {min_dims} dims (got {value!r})")
    if math.prod(dims) > MAX_COUNT:
        raise ValueError(f"{name} must describe at most {MAX_COUNT} entries in all (got {value!r})")
    return dims


def check_squares_fit(name: str, value: torch.Tensor) -> torch.Tensor:
    """A floating-point tensor whose squared deviations fit the dtype its statistics are computed in.

    Norm layers square deviations from the mean (and attention multiplies two linear
    maps of its input); in float32 an entry above about ``9.2e18`` in magnitude
    overflows such a square to inf and torch silently returns zeros or NaN.
    Statistics of float16 and bfloat16 tensors are computed in float32. Meta and
    empty tensors pass (nothing to measure).
    """
    if value.is_meta or value.numel() == 0:
        return value
    dtype = torch.float32 if value.dtype in (torch.float16, torch.bfloat16) else value.dtype
    limit = math.sqrt(torch.finfo(dtype).max) / 2
    biggest = float(value.detach().abs().amax())
    if biggest > limit:
        raise ValueError(f"{name} must have entries of magnitude <= {limit:.3g}, so that their squares "
                         f"fit {dtype} (got max |{name}| = {biggest:.3g}); scale it down or use float64")
    return value


def check_not_meta(name: str, value: torch.Tensor) -> torch.Tensor:
    """A tensor with values: a meta tensor is refused where the result is a number read from it.

    Torch itself cannot turn a meta tensor into a Python number (``.item()`` raises);
    a function returning floats says so with a ``ValueError`` naming the argument.
    """
    if value.is_meta:
        raise ValueError(f"{name} must hold values to compute a number from (got a meta tensor, shape only)")
    return value


def check_optional_generator(name: str, value: object, like: torch.Tensor | None = None) -> torch.Generator | None:
    """``None`` or a ``torch.Generator``; with ``like``, one of the device type torch draws ``like``'s values on.

    Torch's random ops need a generator on the tensor's device (a CPU generator
    cannot fill a CUDA tensor); meta tensors take any generator, as torch allows.
    """
    if value is None:
        return None
    gen = check_generator(name, value)
    if like is not None and not like.is_meta and gen.device.type != like.device.type:
        raise ValueError(f"{name} must be a generator on the device of the tensor it fills ({like.device.type}) "
                         f"(got a {gen.device.type} generator)")
    return gen


def check_module_input(name: str, value: torch.Tensor, module: torch.nn.Module) -> torch.Tensor:
    """A tensor with the dtype and device of ``module``'s parameters, as its linear layers require.

    torch's layers refuse a float64 input to float32 weights, or a meta input to CPU
    weights, with a ``RuntimeError`` deep inside; this names the argument instead.
    A module without parameters accepts anything.
    """
    param = next(module.parameters(), None)
    if param is None:
        return value
    if value.dtype != param.dtype:
        raise TypeError(f"{name} must have the dtype of the module's parameters, {param.dtype} (got {value.dtype})")
    if value.device != param.device:
        raise ValueError(f"{name} must be on the device of the module's parameters, {param.device} "
                         f"(got {value.device})")
    return value
