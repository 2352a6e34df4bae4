"""How fast the book's from-scratch implementations are, next to PyTorch's own.

Each pair runs on the same tensors at a realistic shape. Times are medians
of repeated runs on one CPU thread, measured where the book is built; the
book reports the *ratio* (ours / torch), which travels between machines far
better than seconds do. Nothing here asserts a speed: timings are reported,
never tested.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from regbook import batchnorm, dropout, label_smoothing, norms
from regbook._checks import check_int

__all__ = ["KernelTiming", "time_kernels"]


@dataclass(frozen=True)
class KernelTiming:
    """One from-scratch implementation timed against its torch twin."""

    name: str
    shape: str
    ours_ms: float
    torch_ms: float

    @property
    def ratio(self) -> float:
        """``ours_ms / torch_ms``: 1.0 means as fast as torch, 2.0 twice as slow."""
        return self.ours_ms / self.torch_ms


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: first-call allocations and dispatch
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def _pairs(gen: torch.Generator) -> list[tuple[str, str, Callable[[], object], Callable[[], object]]]:
    pairs = []

    # BatchNorm forward + backward, (N, D): the hand-written backward of lab 6b vs autograd through F.batch_norm.
    x = torch.randn(512, 1024, generator=gen)
    dy = torch.randn(512, 1024, generator=gen)
    gamma, beta = torch.ones(1024), torch.zeros(1024)

    def bn_ours() -> object:
        _, cache = batchnorm.batch_norm_forward(x, gamma, beta, eps=1e-5)
        return batchnorm.batch_norm_backward(dy, cache)

    xt = x.clone().requires_grad_(True)
    gt, bt = gamma.clone().requires_grad_(True), beta.clone().requires_grad_(True)

    def bn_torch() -> object:
        y = F.batch_norm(xt, None, None, gt, bt, training=True, eps=1e-5)
        return torch.autograd.grad(y, (xt, gt, bt), dy)

    pairs.append(("BatchNorm forward + backward", "(512, 1024)", bn_ours, bn_torch))

    # Normalizations over the last dimension, transformer-like (batch, tokens, features).
    h = torch.randn(16, 128, 768, generator=gen)
    w, b = torch.ones(768), torch.zeros(768)
    pairs.append(("LayerNorm forward", "(16, 128, 768)",
                  lambda: norms.layer_norm(h, 768, weight=w, bias=b, eps=1e-5),
                  lambda: F.layer_norm(h, (768,), w, b, 1e-5)))
    pairs.append(("RMSNorm forward", "(16, 128, 768)",
                  lambda: norms.rms_norm(h, 768, weight=w, eps=1e-6),
                  lambda: F.rms_norm(h, (768,), w, 1e-6)))
    img = torch.randn(16, 64, 32, 32, generator=gen)
    gw, gb = torch.ones(64), torch.zeros(64)
    pairs.append(("GroupNorm forward (32 groups)", "(16, 64, 32, 32)",
                  lambda: norms.group_norm(img, 32, weight=gw, bias=gb, eps=1e-5),
                  lambda: F.group_norm(img, 32, gw, gb, 1e-5)))

    # Dropout in training mode (mask sampling included on both sides).
    g1 = torch.Generator().manual_seed(1)
    pairs.append(("Dropout, training (drop 0.1)", "(16, 128, 768)",
                  lambda: dropout.dropout(h, drop_prob=0.1, training=True, generator=g1),
                  lambda: (torch.manual_seed(1), F.dropout(h, 0.1, training=True))))

    # Label-smoothed cross-entropy over ImageNet-sized outputs.
    logits = torch.randn(1024, 1000, generator=gen)
    y = torch.randint(0, 1000, (1024,), generator=gen)
    pairs.append(("Label-smoothed cross-entropy", "(1024, 1000)",
                  lambda: label_smoothing.smoothed_cross_entropy(logits, y, alpha=0.1),
                  lambda: F.cross_entropy(logits, y, label_smoothing=0.1)))
    return pairs


def time_kernels(*, repeats: int = 15, seed: int = 0) -> list[KernelTiming]:
    """Time each from-scratch implementation and its torch twin on the same tensors.

    Runs on one CPU thread (restored afterwards) so the numbers are stable on a
    shared machine; each time is the median of ``repeats`` runs after a warm-up.

    Args:
        repeats: Timed runs per implementation (>= 3).
        seed: Seed of the random inputs.

    Returns:
        One :class:`KernelTiming` per pair, in a fixed order.

    Raises:
        TypeError: If ``repeats`` or ``seed`` is not an int.
        ValueError: If ``repeats < 3``.

    Example:
        >>> rows = time_kernels(repeats=3)
        >>> [r.name for r in rows][:2], all(r.ratio > 0 for r in rows)
        (['BatchNorm forward + backward', 'LayerNorm forward'], True)
    """
    repeats = check_int("repeats", repeats, minimum=3)
    seed = check_int("seed", seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = torch.Generator().manual_seed(seed)
        return [KernelTiming(name, shape, _median_ms(ours, repeats), _median_ms(ref, repeats))
                for name, shape, ours, ref in _pairs(gen)]
    finally:
        torch.set_num_threads(threads)
