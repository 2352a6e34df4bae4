"""Timing experiments: the book's from-scratch code next to PyTorch's, and LayerNorm next to RMSNorm.

Every time here is :func:`regbook.experiments.harness.median_seconds` (median of
repeated wall-clock runs after a warm-up) on the machine that builds the book.
Such numbers move by tens of percent from run to run on a shared machine and
by more between machines: the book reports them with a timing marker and
never asserts them; the tests check only that they are positive and finite.

* :func:`time_kernels` -- each :class:`regbook.perf.KernelPair` (ours / torch's).
* :func:`time_norms` -- LayerNorm against RMSNorm, library and from scratch (norms chapter).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import torch
import torch.nn.functional as F

from regbook import norms
from regbook._checks import check_choice, check_int, check_positive, check_seed, check_sequence, check_size
from regbook.experiments.harness import median_seconds

__all__ = ["KernelTiming", "NormTiming", "Pair", "time_kernels", "time_norms"]

#: Most timed repetitions accepted (as :func:`~regbook.experiments.harness.median_seconds`).
_MAX_REPEATS = 10_000


# ---------------------------------------------------------------------------
# From-scratch kernels against torch's
# ---------------------------------------------------------------------------


class Pair(Protocol):
    """What :func:`time_kernels` times: :class:`regbook.perf.KernelPair` has this shape."""

    @property
    def name(self) -> str: ...
    @property
    def shape(self) -> str: ...
    @property
    def ours(self) -> Callable[[], object]: ...
    @property
    def torch(self) -> Callable[[], object]: ...


@dataclass(frozen=True)
class KernelTiming:
    """One from-scratch implementation timed against its torch twin (from :func:`time_kernels`)."""

    name: str
    shape: str
    ours_ms: float
    torch_ms: float

    @property
    def ratio(self) -> float:
        """``ours_ms / torch_ms``: 1.0 means as fast as torch, 2.0 twice as slow."""
        return self.ours_ms / self.torch_ms


def time_kernels(pairs: Sequence[Pair], *, repeats: int = 15) -> list[KernelTiming]:
    """Time each pair's two calls with :func:`~regbook.experiments.harness.median_seconds`, on one CPU thread.

    Args:
        pairs: A list or tuple of :class:`regbook.perf.KernelPair` objects (anything
            with ``name``, ``shape`` and callable ``ours`` and ``torch``), e.g.
            :func:`regbook.perf.kernel_pairs`; may be empty.
        repeats: Timed runs per call (after one warm-up), an int from 3 to 10000.

    Returns:
        One :class:`KernelTiming` per pair, in order. Torch's thread count is set
        to 1 for the timing and restored afterwards; the pairs' calls run
        ``repeats + 1`` times each (whatever they mutate, they mutate).

    Raises:
        TypeError: If ``pairs`` is not a list or tuple, a pair lacks a callable
            ``ours`` / ``torch``, or ``repeats`` is not an int.
        ValueError: If ``repeats`` is outside :math:`[3, 10000]`.

    Example:
        >>> from regbook.perf import kernel_pairs
        >>> rows = time_kernels(kernel_pairs()[1:2], repeats=3)
        >>> rows[0].name, rows[0].ratio > 0
        ('LayerNorm forward', True)
    """
    repeats = check_int("repeats", repeats, minimum=3, maximum=_MAX_REPEATS)
    check_sequence("pairs", pairs, nonempty=False)
    for i, p in enumerate(pairs):
        if not (callable(getattr(p, "ours", None)) and callable(getattr(p, "torch", None))):
            raise TypeError(f"pairs[{i}] must have callable 'ours' and 'torch' (got {type(p).__name__})")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return [KernelTiming(str(p.name), str(p.shape), 1e3 * median_seconds(p.ours, repeats=repeats),
                             1e3 * median_seconds(p.torch, repeats=repeats)) for p in pairs]
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------------------
# Is RMSNorm cheaper than LayerNorm?
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NormTiming:
    """Median wall-clock seconds of LayerNorm and RMSNorm at one shape (from :func:`time_norms`).

    Keys of ``layer`` and ``rms`` are ``"library fwd"``, ``"library fwd+bwd"``,
    ``"scratch fwd"`` and ``"scratch fwd+bwd"``: torch's ``F.layer_norm`` /
    ``F.rms_norm``, or the book's formula (:func:`regbook.norms.normalize`'s
    arithmetic, without the argument checks), forward alone or forward and backward.
    """

    shape: tuple[int, ...]
    layer: dict[str, float] = field(default_factory=dict)
    rms: dict[str, float] = field(default_factory=dict)

    def ratio(self, key: str) -> float:
        """RMSNorm time / LayerNorm time for ``key`` such as ``"library fwd"``; below 1 means cheaper.

        Raises:
            ValueError: If ``key`` is not a key of both ``layer`` and ``rms``.
        """
        check_choice("key", key, tuple(k for k in self.layer if k in self.rms))
        return self.rms[key] / self.layer[key]


def _norm_calls(dims: tuple[int, ...], gen: torch.Generator, eps: float) -> dict[str, Callable[[], None]]:
    """The eight timed calls at one shape, keyed ``"<impl> <mode> <norm>"``."""
    d = dims[-1]
    x = torch.randn(dims, generator=gen).requires_grad_(True)
    w = (1 + 0.1 * torch.randn(d, generator=gen)).requires_grad_(True)
    b = (0.1 * torch.randn(d, generator=gen)).requires_grad_(True)
    g = torch.randn(dims, generator=gen)
    formulas: dict[str, Callable[[], torch.Tensor]] = {
        "library layer": lambda: F.layer_norm(x, (d,), w, b, eps),
        "library rms": lambda: F.rms_norm(x, (d,), w, eps),
        # the book's formula with the affine step, without validation (which is not what is compared)
        "scratch layer": lambda: norms._normalize(x, (-1,), True, eps) * w + b,
        "scratch rms": lambda: norms._normalize(x, (-1,), False, eps) * w,
    }

    def forward(fn: Callable[[], torch.Tensor]) -> Callable[[], None]:
        def run() -> None:
            with torch.no_grad():
                fn()
        return run

    def forward_backward(fn: Callable[[], torch.Tensor]) -> Callable[[], None]:
        def run() -> None:
            x.grad = w.grad = b.grad = None
            fn().backward(g)
        return run

    calls = {}
    for key, fn in formulas.items():
        impl, norm = key.split()
        calls[f"{impl} fwd {norm}"] = forward(fn)
        calls[f"{impl} fwd+bwd {norm}"] = forward_backward(fn)
    return calls


def time_norms(
    shapes: Sequence[Sequence[int]], *, repeats: int = 5, eps: float = 1e-5, seed: int = 0
) -> list[NormTiming]:
    """Time LayerNorm against RMSNorm (float32, affine, over the last axis) at each shape, on one CPU thread.

    For every shape, each of the eight calls (library / from scratch, forward /
    forward + backward, LayerNorm / RMSNorm) is timed by
    :func:`~regbook.experiments.harness.median_seconds` (``repeats`` runs after one warm-up).
    Only the ratios are meant to be read.

    Args:
        shapes: A list or tuple of input shapes ``(*, D)``, each a non-empty list
            or tuple of ints ``>= 1`` with at most :math:`2^{31}-1` entries in all;
            may be empty.
        repeats: Timed repetitions per call, an int from 1 to 10000.
        eps: Epsilon for both norms, a finite real ``> 0``.
        seed: Seed of the random inputs, an int in :math:`[0, 2^{63}-1]`.

    Returns:
        One :class:`NormTiming` per shape. Every argument is checked before any
        tensor is made; the inputs come from a private generator, and torch's
        thread count is set to 1 for the timing and restored afterwards.

    Raises:
        TypeError: If ``shapes``, a shape or an entry has the wrong type, or
            ``repeats`` / ``seed`` are not ints or ``eps`` not a real number.
        ValueError: If ``repeats`` is out of range, a shape is empty, has an
            entry below 1 or too many entries in all, ``eps <= 0`` or ``seed``
            is out of range.

    Example:
        >>> (t,) = time_norms([(4, 16)], repeats=1)
        >>> sorted(t.layer) == sorted(t.rms) == ['library fwd', 'library fwd+bwd', 'scratch fwd', 'scratch fwd+bwd']
        True
    """
    repeats = check_int("repeats", repeats, minimum=1, maximum=_MAX_REPEATS)
    eps = check_positive("eps", eps)
    seed = check_seed("seed", seed)
    dims_list = []
    for i, shape in enumerate(check_sequence("shapes", shapes, nonempty=False)):
        if not isinstance(shape, tuple | list) or len(shape) == 0:
            raise ValueError(f"each shape must be a non-empty tuple of ints (got shapes[{i}] = {shape!r})")
        dims_list.append(check_size(f"shapes[{i}]", shape, allow_int=False))
    gen = torch.Generator().manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = []
    try:
        for dims in dims_list:
            timing = NormTiming(shape=dims)
            for key, call in _norm_calls(dims, gen, eps).items():
                impl, mode, norm = key.split()
                (timing.layer if norm == "layer" else timing.rms)[f"{impl} {mode}"] = median_seconds(
                    call, repeats=repeats)
            out.append(timing)
    finally:
        torch.set_num_threads(threads)
    return out
