"""The book's from-scratch implementations paired with PyTorch's own, for the Performance page.

:func:`kernel_pairs` builds each pair on the same tensors at a realistic
shape: a call of the book's function and a call of torch's twin that
computes the same thing. :func:`regbook.experiments.performance.time_kernels`
times them. Nothing here measures or asserts a speed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from regbook import batchnorm, dropout, label_smoothing, norms
from regbook._checks import check_seed

__all__ = ["KernelPair", "kernel_pairs"]


@dataclass(frozen=True)
class KernelPair:
    """One from-scratch implementation and its torch twin, each a call without arguments.

    Attributes:
        name: What is computed, e.g. ``"LayerNorm forward"``.
        shape: The input's shape, as text.
        ours: Calls the book's implementation.
        torch: Calls torch's.
    """

    name: str
    shape: str
    ours: Callable[[], object]
    torch: Callable[[], object]


def kernel_pairs(*, seed: int = 0) -> list[KernelPair]:
    """The pairs the Performance page times, on seeded random inputs.

    Args:
        seed: Seed of the random inputs (and of the dropout masks), an int in
            :math:`[0, 2^{63}-1]`.

    Returns:
        One :class:`KernelPair` per operation, in a fixed order, on float32 CPU
        tensors. The inputs come from private generators: no global random
        state is read or changed here (torch's dropout twin draws from the
        default generator when called).

    Raises:
        TypeError: If ``seed`` is not an int.
        ValueError: If ``seed`` is outside :math:`[0, 2^{63}-1]`.

    Example:
        >>> [p.name for p in kernel_pairs()][:2]
        ['BatchNorm forward + backward', 'LayerNorm forward']
    """
    seed = check_seed("seed", seed)
    gen = torch.Generator().manual_seed(seed)
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

    pairs.append(KernelPair("BatchNorm forward + backward", "(512, 1024)", bn_ours, bn_torch))

    # Normalizations over the last dimension, transformer-like (batch, tokens, features).
    h = torch.randn(16, 128, 768, generator=gen)
    w, b = torch.ones(768), torch.zeros(768)
    pairs.append(KernelPair("LayerNorm forward", "(16, 128, 768)",
                            lambda: norms.layer_norm(h, 768, weight=w, bias=b, eps=1e-5),
                            lambda: F.layer_norm(h, (768,), w, b, 1e-5)))
    pairs.append(KernelPair("RMSNorm forward", "(16, 128, 768)",
                            lambda: norms.rms_norm(h, 768, weight=w, eps=1e-6),
                            lambda: F.rms_norm(h, (768,), w, 1e-6)))
    img = torch.randn(16, 64, 32, 32, generator=gen)
    gw, gb = torch.ones(64), torch.zeros(64)
    pairs.append(KernelPair("GroupNorm forward (32 groups)", "(16, 64, 32, 32)",
                            lambda: norms.group_norm(img, 32, weight=gw, bias=gb, eps=1e-5),
                            lambda: F.group_norm(img, 32, gw, gb, 1e-5)))

    # Dropout in training mode (mask sampling included on both sides).
    g1 = torch.Generator().manual_seed(seed + 1)
    pairs.append(KernelPair("Dropout, training (drop 0.1)", "(16, 128, 768)",
                            lambda: dropout.dropout(h, drop_prob=0.1, training=True, generator=g1),
                            lambda: F.dropout(h, 0.1, training=True)))

    # Label-smoothed cross-entropy over ImageNet-sized outputs.
    logits = torch.randn(1024, 1000, generator=gen)
    y = torch.randint(0, 1000, (1024,), generator=gen)
    pairs.append(KernelPair("Label-smoothed cross-entropy", "(1024, 1000)",
                            lambda: label_smoothing.smoothed_cross_entropy(logits, y, alpha=0.1),
                            lambda: F.cross_entropy(logits, y, label_smoothing=0.1)))
    return pairs
