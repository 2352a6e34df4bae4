r"""Experiments of the pre-norm vs post-norm chapter (``book/prenorm.md``), all seeds trained together.

The model is not an MLP, so it cannot come from
:func:`regbook.experiments.harness.build_mlp`. Instead every seed builds the
chapter's own :func:`regbook.prenorm.make_stack` from its ``init`` stream, and
:class:`SeedTransformer` stacks the ``k`` stacks' weights on a leading seed
axis: each linear layer becomes one ``torch.baddbmm`` over the seeds, each
LayerNorm, softmax and GELU one call over all of them, so ``k`` seeds cost
little more than one. (``torch.func.vmap`` over ``functional_call`` computes
the same thing but was slower here: its per-operation overhead dominates these
small models.) The tests check that a :class:`SeedTransformer` computes
exactly what its ``k`` :class:`~regbook.prenorm.Stack` s compute, gradients included.

* :func:`gradient_profile` -- the norm of each block's parameter gradient at
  initialization, per seed (Xiong et al., 2020).
* :func:`warmup_run` -- a small transformer on the 8×8 digits read as 8 rows,
  trained by :func:`regbook.experiments.harness.fit` with a linear warmup.
* :func:`loglog_slope` -- per-seed exponent of a power law fitted over depths.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from regbook import prenorm as P
from regbook._checks import (
    MAX_SEED,
    check_choice,
    check_count,
    check_float_tensor,
    check_in_range,
    check_int,
    check_module_input,
    check_positive,
    check_seed_sequence,
    check_sequence,
    check_tensor,
)
from regbook.experiments import harness as H
from regbook.experiments.stats import BOOK_SEEDS

__all__ = [
    "GradientProfile",
    "SeedTransformer",
    "WarmupRun",
    "gradient_profile",
    "loglog_slope",
    "warmup_run",
]


_MAX_STREAM_SEED = (MAX_SEED - 7) // 8  # seed_streams seeds 8 * seed + j, j <= 7, which must fit manual_seed


def _seed_list(seeds: Sequence[int]) -> tuple[int, ...]:
    if isinstance(seeds, int | str | bytes) or not isinstance(seeds, Sequence):
        raise TypeError(f"seeds must be a sequence of ints (got {type(seeds).__name__})")
    out = check_seed_sequence("seeds", seeds, maximum=_MAX_STREAM_SEED)
    if len(out) < 2:
        raise ValueError(f"seeds must hold at least 2 distinct seeds (got {out})")
    return out


def _check_model(d_model: object, n_heads: object) -> tuple[int, int]:
    """A width and a head count that :func:`regbook.prenorm.make_stack` accepts."""
    d_model = check_int("d_model", d_model, minimum=1, maximum=P._MAX_D_MODEL)
    n_heads = check_count("n_heads", n_heads)
    if d_model % n_heads != 0:
        raise ValueError(f"n_heads must divide d_model {d_model} (got {n_heads})")
    return d_model, n_heads


@functools.lru_cache(maxsize=2)
def _digit_splits(n_train: int, n_test: int, seeds: tuple[int, ...]) -> tuple[H.SeedSplit, H.SeedSplit, H.SeedSplit]:
    """:func:`regbook.experiments.harness.digit_splits` ``(n_train, n_test, seeds)``, remembered.

    The chapter calls :func:`warmup_run` four times on the same seeds; loading
    and splitting the digits once per seed instead of four times saves a few
    seconds of every build. Nothing mutates a :class:`~regbook.experiments.harness.SeedSplit`.
    """
    return H.digit_splits(n_train, n_test, seeds)


# ---------------------------------------------------------------------------
# k transformers with weights on a leading seed axis
# ---------------------------------------------------------------------------


class SeedTransformer(nn.Module):
    """``k`` :class:`regbook.prenorm.Stack` s of one architecture, run as one batched model.

    Built from the stacks themselves (their weights are copied and stacked:
    parameter ``blocks.0.attn.qkv.weight`` of shape ``(3C, C)`` becomes
    ``params["blocks__0__attn__qkv__weight"]`` of shape ``(k, 3C, C)``), and
    computing, for seed ``i``, exactly ``stacks[i](x[i])``: the same equations
    as :class:`regbook.prenorm.Block` (see its forward pass), with the seed axis in front.

    Args:
        stacks: A non-empty list or tuple of :class:`regbook.prenorm.Stack` s of one
            architecture (placement, depth, widths), dtype and device. They are not
            mutated: their weights are copied.

    Raises:
        TypeError: If ``stacks`` is not a non-empty list or tuple of stacks.
        ValueError: If the stacks differ in architecture, dtype or device.

    Shape:
        - Input ``(k, B, T, d_in)``, float, finite, with the dtype and device of the
          stacks' parameters; output ``(k, B, T, d_out)`` of the same dtype and device.
    """

    def __init__(self, stacks: Sequence[P.Stack]) -> None:
        super().__init__()
        if (isinstance(stacks, str | bytes) or not isinstance(stacks, Sequence) or not stacks
                or not all(isinstance(s, P.Stack) for s in stacks)):
            raise TypeError(f"stacks must be a non-empty sequence of regbook.prenorm.Stack (got {stacks!r:.80})")
        first = stacks[0]
        names = [n for n, _ in first.named_parameters()]
        for s in stacks[1:]:
            if s.placement != first.placement or [n for n, _ in s.named_parameters()] != names or any(
                    p.shape != q.shape for p, q in zip(s.parameters(), first.parameters(), strict=True)):
                raise ValueError("stacks must share one architecture (placement, depth, widths)")
            if any(p.dtype != q.dtype or p.device != q.device
                   for p, q in zip(s.parameters(), first.parameters(), strict=True)):
                raise ValueError("stacks must share one dtype and device")
        self.seeds = len(stacks)
        self.placement = first.placement
        self.depth = len(first.blocks)
        block = first.blocks[0]
        if not isinstance(block, P.Block):
            raise TypeError(f"stacks must hold regbook.prenorm.Block blocks (got {type(block).__name__})")
        self.n_heads: int = block.attn.n_heads
        self.d_model = first.embed.out_features
        self.eps = float(block.ln_1.eps)
        per_seed = [dict(s.named_parameters()) for s in stacks]
        self.params = nn.ParameterDict({
            n.replace(".", "__"): nn.Parameter(torch.stack([p[n].detach() for p in per_seed])) for n in names
        })

    def _linear(self, name: str, h: torch.Tensor) -> torch.Tensor:
        w, b = self.params[f"{name}__weight"], self.params[f"{name}__bias"]       # (k, out, in), (k, out)
        out: torch.Tensor = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))  # (k, N, out)
        return out

    def _ln(self, name: str, h: torch.Tensor) -> torch.Tensor:
        w, b = self.params[f"{name}__weight"], self.params[f"{name}__bias"]       # (k, C)
        out: torch.Tensor = F.layer_norm(h, (h.shape[-1],), eps=self.eps) * w.unsqueeze(1) + b.unsqueeze(1)
        return out

    def _attn(self, i: int, h: torch.Tensor, batch: int) -> torch.Tensor:
        k, n, c = h.shape
        t, heads = n // batch, self.n_heads
        q, key, v = self._linear(f"blocks__{i}__attn__qkv", h).view(k * batch, t, 3 * c).split(c, dim=2)
        q, key, v = (z.view(k * batch, t, heads, c // heads).transpose(1, 2) for z in (q, key, v))
        att = torch.softmax(q @ key.transpose(-2, -1) / math.sqrt(c // heads), dim=-1)   # (kB, h, T, T)
        y = (att @ v).transpose(1, 2).reshape(k, n, c)
        return self._linear(f"blocks__{i}__attn__proj", y)

    def _mlp(self, i: int, h: torch.Tensor) -> torch.Tensor:
        return self._linear(f"blocks__{i}__mlp__proj", F.gelu(self._linear(f"blocks__{i}__mlp__fc", h)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_float_tensor("x", x)
        d_in = self.params["embed__weight"].shape[-1]
        if x.ndim != 4 or x.shape[0] != self.seeds or x.shape[-1] != d_in:
            raise ValueError(f"x must have shape (k={self.seeds}, B, T, d_in={d_in}) (got {tuple(x.shape)})")
        check_module_input("x", x, self)
        k, b, t, _ = x.shape
        h = self._linear("embed", x.reshape(k, b * t, -1))                        # (k, B·T, C)
        for i in range(self.depth):
            ln1, ln2 = f"blocks__{i}__ln_1", f"blocks__{i}__ln_2"
            if self.placement == "pre":
                h = h + self._attn(i, self._ln(ln1, h), b)
                h = h + self._mlp(i, self._ln(ln2, h))
            else:
                h = self._ln(ln1, h + self._attn(i, h, b))
                h = self._ln(ln2, h + self._mlp(i, h))
        if self.placement == "pre":
            h = self._ln("ln_f", h)
        return self._linear("head", h).reshape(k, b, t, -1)

    def block_grad_norms(self) -> torch.Tensor:
        """``(depth, k)`` float64: per seed, the L2 norm of the gradient of all of block ``l``'s parameters."""
        rows = []
        for i in range(self.depth):
            sq = torch.zeros(self.seeds, dtype=torch.float64)
            for name, p in self.params.items():
                if name.startswith(f"blocks__{i}__") and p.grad is not None:
                    sq += p.grad.double().pow(2).flatten(1).sum(1)
            rows.append(sq.sqrt())
        return torch.stack(rows)


def _seed_stacks(seeds: Sequence[int], depth: int, d_model: int, *, placement: str, n_heads: int,
                 d_in: int | None = None, d_out: int | None = None) -> tuple[list[H.Streams], SeedTransformer]:
    """Fresh streams per seed, each seed's :func:`regbook.prenorm.make_stack` from its ``init`` stream, stacked."""
    streams = [H.seed_streams(s) for s in seeds]
    stacks = [P.make_stack(depth, d_model, placement=placement, n_heads=n_heads, d_in=d_in, d_out=d_out,
                           generator=s.init) for s in streams]
    return streams, SeedTransformer(stacks)


# ---------------------------------------------------------------------------
# Gradient norms per block at initialization
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GradientProfile:
    """Gradient norms per block at initialization (from :func:`gradient_profile`).

    Attributes:
        norms: ``norms[placement][depth]`` is ``(depth, k)`` float64: row ``l``
            (0 = next to the input) holds, per seed, the L2 norm of the gradient
            of all block ``l``'s parameters.
        depths: The stack depths measured.
        seeds: The seeds (the order of the ``k`` axis).
        d_model, seq_len, batch_size: The sizes used.
    """

    norms: dict[str, dict[int, torch.Tensor]]
    depths: tuple[int, ...]
    seeds: tuple[int, ...]
    d_model: int
    seq_len: int
    batch_size: int

    def last(self, placement: str) -> torch.Tensor:
        """``(len(depths), k)``: the last block's gradient norm at each depth, per seed.

        Args:
            placement: ``"pre"`` or ``"post"``.

        Raises:
            ValueError: If ``placement`` is not ``"pre"`` or ``"post"``.
        """
        placement = check_choice("placement", placement, P.PLACEMENTS)
        return torch.stack([self.norms[placement][d][-1] for d in self.depths])


def loglog_slope(xs: Sequence[float], ys: torch.Tensor) -> torch.Tensor:
    r"""Per-column least-squares slope of :math:`\log y` on :math:`\log x`: :math:`a` in :math:`y \propto x^a`.

    Args:
        xs: A list or tuple of ``m >= 2`` positive finite real abscissae (e.g. depths),
            at least two of them distinct.
        ys: ``(m, k)`` positive finite values (any real dtype, on any device), one column per seed.

    Returns:
        ``(k,)`` float64 slopes on ``ys``'s device (a meta tensor for a meta ``ys``).

    Raises:
        TypeError: If ``xs`` is not a list or tuple of real numbers or ``ys`` is not a real tensor.
        ValueError: If the shapes disagree, fewer than two distinct ``xs`` are given, or a value
            is not positive and finite.

    Example:
        >>> loglog_slope([1, 4, 16], torch.tensor([[1.0], [0.5], [0.25]])).tolist()  # y = x^(-1/2)
        [-0.5]
    """
    items = check_sequence("xs", xs)
    lx = torch.tensor([math.log(check_positive(f"xs[{i}]", x)) for i, x in enumerate(items)], dtype=torch.float64)
    ys = check_tensor("ys", ys)
    if ys.is_complex() or ys.dtype == torch.bool:
        raise TypeError(f"ys must have a real dtype (got {ys.dtype})")
    if ys.is_floating_point():
        check_float_tensor("ys", ys)
    y = ys.double()
    if y.ndim != 2 or y.shape[0] != lx.numel() or lx.numel() < 2 or lx.unique().numel() < 2:
        raise ValueError(f"ys must be (m, k) with m = len(xs) >= 2 distinct xs (got {tuple(ys.shape)}, m={len(xs)})")
    if not y.is_meta and not bool((y > 0).all()):
        raise ValueError("ys must be positive")
    ly = y.log()
    dx = (lx - lx.mean()).unsqueeze(1).to(y.device)
    return (dx * (ly - ly.mean(0))).sum(0) / dx.pow(2).sum()


def gradient_profile(
    depths: Sequence[int] = (2, 6, 12, 24),
    *,
    d_model: int = 64,
    n_heads: int = 4,
    seq_len: int = 16,
    batch_size: int = 8,
    seeds: Sequence[int] = BOOK_SEEDS,
) -> GradientProfile:
    """Measure ‖∂L/∂θ_l‖ for every block ``l`` of freshly initialized pre- and post-norm stacks, per seed.

    Seed ``s`` draws its input, standard normal noise ``(B, T, C)``, and random
    labels from its ``data`` stream, and its weights from its ``init`` stream;
    the loss is the cross-entropy of the head's ``C``-way prediction at every
    position. Both placements and every depth of one seed see the same input
    and labels, and both placements draw the same linear weights (a paired
    comparison). One backward pass per placement and depth, all seeds at once.

    Args:
        depths: Stack depths to measure: a non-empty list or tuple of distinct ints in ``[1, 2**31 - 1]``.
        d_model: Width :math:`C`, an int in ``[1, 23170]``.
        n_heads: Attention heads, an int ``>= 1`` dividing ``d_model``.
        seq_len: Sequence length ``T``, an int ``>= 1``.
        batch_size: Batch size ``B``, an int ``>= 1``.
        seeds: At least two distinct int seeds in ``[0, (2**63 - 8) // 8]`` (a list or tuple).

    Returns:
        A :class:`GradientProfile` (CPU float64 tensors). Nothing passed in is mutated.

    Raises:
        TypeError: If an argument has the wrong type (named in the message).
        ValueError: If an argument is out of range, ``depths`` repeat or ``seeds`` hold fewer
            than two or repeated seeds; raised before anything is built.

    Example:
        >>> prof = gradient_profile((1, 2), d_model=8, n_heads=2, seq_len=3, batch_size=2, seeds=(0, 1))
        >>> tuple(prof.norms["post"][2].shape), tuple(prof.last("pre").shape)
        ((2, 2), (2, 2))
    """
    depth_list = tuple(check_count(f"depths[{i}]", d) for i, d in enumerate(check_sequence("depths", depths)))
    if len(set(depth_list)) != len(depth_list):
        raise ValueError(f"depths must be distinct and non-empty (got {depth_list})")
    d_model, n_heads = _check_model(d_model, n_heads)
    seq_len = check_count("seq_len", seq_len)
    batch_size = check_count("batch_size", batch_size)
    seed_list = _seed_list(seeds)
    k = len(seed_list)

    norms: dict[str, dict[int, torch.Tensor]] = {p: {} for p in P.PLACEMENTS}
    for placement in P.PLACEMENTS:
        for depth in depth_list:
            streams, net = _seed_stacks(seed_list, depth, d_model, placement=placement, n_heads=n_heads)
            x = torch.stack([torch.randn(batch_size, seq_len, d_model, generator=s.data) for s in streams])
            y = torch.stack([torch.randint(0, d_model, (batch_size, seq_len), generator=s.data) for s in streams])
            logits = net(x)                                                          # (k, B, T, C)
            per_seed = F.cross_entropy(logits.reshape(-1, d_model), y.reshape(-1), reduction="none")
            per_seed.reshape(k, -1).mean(1).sum().backward()                         # seed i's grads: its own loss
            norms[placement][depth] = net.block_grad_norms()
    return GradientProfile(norms=norms, depths=depth_list, seeds=seed_list, d_model=d_model, seq_len=seq_len,
                           batch_size=batch_size)


# ---------------------------------------------------------------------------
# Training with and without warmup
# ---------------------------------------------------------------------------


class _DigitRows(nn.Module):
    """A :class:`SeedTransformer` reading each 8×8 digit as 8 rows of 8 pixels: ``(k, B, 64) -> (k, B, 10)``."""

    def __init__(self, net: SeedTransformer) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, b = x.shape[:2]
        out: torch.Tensor = self.net(x.reshape(k, b, 8, 8)).mean(dim=2)              # average over the 8 rows
        return out


@dataclass(frozen=True)
class WarmupRun:
    """Loss curves and test accuracy of one placement and warmup, per seed (from :func:`warmup_run`).

    Attributes:
        placement: ``"pre"`` or ``"post"``.
        warmup_steps: Length of the linear warmup (0: none).
        seeds: The seeds (the order of every ``k`` axis).
        marks: Steps at which ``train_loss`` was recorded.
        train_loss: ``(len(marks), k)``: mean training loss over the steps since the previous mark.
        test_accuracy: One accuracy per seed, on the seed's own held-out digits.
        depth, d_model, n_heads, lr, steps, batch_size, n_train, n_test: The settings used.
    """

    placement: str
    warmup_steps: int
    seeds: tuple[int, ...]
    marks: tuple[int, ...]
    train_loss: torch.Tensor
    test_accuracy: tuple[float, ...]
    depth: int
    d_model: int
    n_heads: int
    lr: float
    steps: int
    batch_size: int
    n_train: int
    n_test: int


def warmup_run(
    *,
    placement: str,
    warmup_steps: int,
    depth: int = 6,
    d_model: int = 32,
    n_heads: int = 4,
    lr: float = 5e-3,
    steps: int = 60,
    batch_size: int = 32,
    n_train: int = 500,
    n_test: int = 500,
    record_every: int = 5,
    seeds: Sequence[int] = BOOK_SEEDS,
) -> WarmupRun:
    """Train a small transformer to classify 8×8 digits read as sequences of 8 rows, every seed at once.

    Each image becomes ``T = 8`` row vectors of 8 pixels; the stack's outputs
    are averaged over the rows into 10 logits. Adam with peak learning rate
    ``lr`` and :func:`regbook.prenorm.warmup_lr`, through
    :func:`regbook.experiments.harness.fit`. Seed ``s`` draws its ``n_train``
    training digits (the rest are its test set), its weights and its batch
    order from its own streams, the same for every placement and warmup, and
    is tested on ``n_test`` other digits it never trains on.

    Args:
        placement: ``"pre"`` or ``"post"``.
        warmup_steps: Length of the linear warmup, an int ``>= 0`` (0: none).
        depth: Blocks, an int in ``[1, 2**31 - 1]``.
        d_model: Width, an int in ``[1, 23170]``.
        n_heads: Heads, an int ``>= 1`` dividing ``d_model``.
        lr: Peak Adam learning rate, a real number in ``(0, 100]``.
        steps: Optimizer steps, an int in ``[1, 2**31 - 1]``.
        batch_size: Mini-batch size, an int ``>= 1`` (capped at ``n_train``).
        n_train: Training digits per seed, an int ``>= 1``.
        n_test: Held-out digits per seed for the test accuracy, an int ``>= 1``
            (``n_train + n_test <= 1796``).
        record_every: Record the mean training loss every this many steps, an int ``>= 1``.
        seeds: At least two distinct int seeds in ``[0, (2**63 - 8) // 8]`` (a list or tuple).

    Returns:
        A :class:`WarmupRun` (CPU tensors). Nothing passed in is mutated.

    Raises:
        TypeError: If an argument has the wrong type (named in the message).
        ValueError: If an argument is out of range or ``seeds`` hold fewer than two or
            repeated seeds; raised before anything is built or trained.

    Example:
        >>> r = warmup_run(placement="pre", warmup_steps=2, depth=1, d_model=8, n_heads=2, steps=4,
        ...                n_train=40, n_test=20, record_every=2, seeds=(0, 1))
        >>> r.marks, tuple(r.train_loss.shape)
        ((2, 4), (2, 2))
    """
    placement = check_choice("placement", placement, P.PLACEMENTS)
    warmup_steps = check_int("warmup_steps", warmup_steps, minimum=0)
    depth = check_count("depth", depth)
    d_model, n_heads = _check_model(d_model, n_heads)
    lr = check_in_range("lr", check_positive("lr", lr), 0.0, 100.0, low_inclusive=False)
    steps = check_count("steps", steps)
    batch_size = check_count("batch_size", batch_size)
    n_train = check_count("n_train", n_train)
    n_test = check_count("n_test", n_test)
    if n_train + n_test > 1797 - 1:  # the 8x8 digits are 1797 images; regbook.data.digits keeps one for testing
        raise ValueError(f"n_train + n_test must be <= 1796 (got {n_train} + {n_test} = {n_train + n_test})")
    record_every = check_count("record_every", record_every)
    seed_list = _seed_list(seeds)

    train, test, _ = _digit_splits(n_train, n_test, seed_list)
    streams, net = _seed_stacks(seed_list, depth, d_model, placement=placement, n_heads=n_heads, d_in=8, d_out=10)
    model = _DigitRows(net)
    fit = H.fit(model, train, streams=streams, num_classes=10, steps=steps, batch_size=batch_size,
                optimizer="adam", lr=lr, record_every=record_every,
                lr_at=lambda step: P.warmup_lr(step - 1, lr=lr, warmup_steps=warmup_steps))  # fit counts from 1
    return WarmupRun(placement=placement, warmup_steps=warmup_steps, seeds=seed_list, marks=tuple(fit.marks),
                     train_loss=fit.curve("train_loss"),
                     test_accuracy=tuple(H.evaluate(model, test)["accuracy"].tolist()),
                     depth=depth, d_model=d_model, n_heads=n_heads, lr=lr, steps=steps, batch_size=batch_size,
                     n_train=n_train, n_test=n_test)
