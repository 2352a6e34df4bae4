r"""Pre-norm and post-norm transformer blocks, and what the placement does to gradients.

A transformer block has two residual sublayers, self-attention and a
feed-forward network (FFN). The *post-norm* block of the original Transformer
(Vaswani et al., 2017) normalizes after the residual sum,

.. math::

    \text{out} = \operatorname{LN}\big(x + \operatorname{Sub}(x)\big),

while the *pre-norm* block (GPT-2 onwards) normalizes only the input of the branch,

.. math::

    \text{out} = x + \operatorname{Sub}\big(\operatorname{LN}(x)\big),
    \qquad \frac{\partial\,\text{out}}{\partial x}
    = I + \frac{\partial\,\operatorname{Sub}(\operatorname{LN}(x))}{\partial x}.

The identity term is the gradient "highway": in a pre-norm stack every layer
receives the loss gradient through a chain of ``I + (branch)`` factors, whereas
in a post-norm stack it must pass through every LayerNorm's Jacobian on the way
down (Xiong et al., 2020).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from regbook._checks import (
    MAX_COUNT,
    check_choice,
    check_count,
    check_float_tensor,
    check_generator,
    check_int,
    check_module_input,
    check_nonnegative,
    check_seed,
    check_squares_fit,
)

__all__ = [
    "MLP",
    "PLACEMENTS",
    "Block",
    "SelfAttention",
    "Stack",
    "make_stack",
    "sublayer_jacobians",
    "warmup_lr",
]

#: Where a block's LayerNorms sit, before each sublayer (inside the branch) or after each residual sum.
PLACEMENTS = ("pre", "post")

#: Largest width: the feed-forward network's ``(4 C, C)`` weight must hold at most ``2**31 - 1`` entries.
_MAX_D_MODEL = math.isqrt(MAX_COUNT // 4)


def _check_d_model(d_model: object) -> int:
    return check_int("d_model", d_model, minimum=1, maximum=_MAX_D_MODEL)


def _check_heads(d_model: int, n_heads: object) -> int:
    n_heads = check_count("n_heads", n_heads)
    if d_model % n_heads != 0:
        raise ValueError(f"n_heads must divide d_model {d_model} (got {n_heads})")
    return n_heads


def _check_features(name: str, value: object, d_model: int) -> int:
    """An input or output width: its ``(C, value)`` weight must hold at most ``2**31 - 1`` entries."""
    return check_int(name, value, minimum=1, maximum=MAX_COUNT // d_model)


def _check_x(x: object, module: nn.Module, width: int) -> torch.Tensor:
    """A finite float ``(B, T, width)`` input with the module's dtype and device."""
    x = check_float_tensor("x", x, ndim=3)
    if x.shape[-1] != width:
        raise ValueError(f"x must have {width} features in its last dim, shape (B, T, {width}) "
                         f"(got {tuple(x.shape)})")
    return check_module_input("x", x, module)


def _linear(d_in: int, d_out: int, gen: torch.Generator) -> nn.Linear:
    """A linear layer with Xavier-uniform weights and zero bias, drawn from ``gen``."""
    layer = nn.Linear(d_in, d_out)
    nn.init.xavier_uniform_(layer.weight, generator=gen)
    nn.init.zeros_(layer.bias)
    return layer


class SelfAttention(nn.Module):
    """Multi-head self-attention (bidirectional) in a few lines.

    Args:
        d_model: Width :math:`C`, an int in ``[1, 23170]``.
        n_heads: Attention heads, an int ``>= 1`` dividing ``d_model``.
        generator: The :class:`torch.Generator` the Xavier-uniform weights are drawn
            from (biases are 0); advanced by the draws.

    Raises:
        TypeError: If a size is not an int or ``generator`` is not a :class:`torch.Generator`.
        ValueError: If a size is out of range or ``n_heads`` does not divide ``d_model``
            (before anything is drawn).

    Shape:
        - Input ``(B, T, C)``, float, finite, with the dtype and device of the
          module's parameters, and entries whose squares fit the dtype (the attention
          logits are quadratic in ``x``: in float32, ``|x| <= 9.2e18``); output
          ``(B, T, C)`` of the same dtype and device.
    """

    def __init__(self, d_model: int, n_heads: int, *, generator: torch.Generator) -> None:
        super().__init__()
        d_model = _check_d_model(d_model)
        n_heads = _check_heads(d_model, n_heads)
        generator = check_generator("generator", generator)
        self.n_heads = n_heads
        self.qkv = _linear(d_model, 3 * d_model, generator)
        self.proj = _linear(d_model, d_model, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_squares_fit("x", _check_x(x, self, self.proj.out_features))  # the logits are quadratic in x
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)                                   # 3 × (B, T, C)
        q, k, v = (z.view(b, t, self.n_heads, c // self.n_heads).transpose(1, 2) for z in (q, k, v))  # (B, h, T, C/h)
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(c // self.n_heads), dim=-1)  # (B, h, T, T)
        y = (att @ v).transpose(1, 2).reshape(b, t, c)                          # (B, T, C)
        out: torch.Tensor = self.proj(y)
        return out


class MLP(nn.Module):
    """The position-wise feed-forward network ``Linear → GELU → Linear`` (hidden width ``4 · d_model``).

    Args:
        d_model: Width :math:`C`, an int in ``[1, 23170]``.
        generator: The :class:`torch.Generator` the Xavier-uniform weights are drawn
            from (biases are 0); advanced by the draws.

    Raises:
        TypeError: If ``d_model`` is not an int or ``generator`` is not a :class:`torch.Generator`.
        ValueError: If ``d_model`` is out of range (before anything is drawn).

    Shape:
        - Input ``(*, C)`` (at least 1-D), float, finite, with the dtype and device
          of the module's parameters; output ``(*, C)`` of the same dtype and device.
    """

    def __init__(self, d_model: int, *, generator: torch.Generator) -> None:
        super().__init__()
        d_model = _check_d_model(d_model)
        generator = check_generator("generator", generator)
        self.fc = _linear(d_model, 4 * d_model, generator)
        self.proj = _linear(4 * d_model, d_model, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_float_tensor("x", x)
        width = self.fc.in_features
        if x.ndim < 1 or x.shape[-1] != width:
            raise ValueError(f"x must have {width} features in its last dim, shape (*, {width}) "
                             f"(got {tuple(x.shape)})")
        check_module_input("x", x, self)
        out: torch.Tensor = self.proj(F.gelu(self.fc(x)))
        return out


class Block(nn.Module):
    r"""One transformer block with the LayerNorms placed ``"pre"`` or ``"post"``.

    .. math::

        \text{post:}\quad h = \operatorname{LN}_1(x + \operatorname{Attn}(x)),\quad
        \text{out} = \operatorname{LN}_2(h + \operatorname{FFN}(h))

        \text{pre:}\quad h = x + \operatorname{Attn}(\operatorname{LN}_1(x)),\quad
        \text{out} = h + \operatorname{FFN}(\operatorname{LN}_2(h))

    Args:
        d_model: Width :math:`C`, an int in ``[1, 23170]``.
        n_heads: Attention heads, an int ``>= 1`` dividing ``d_model``.
        placement: ``"pre"`` or ``"post"``.
        generator: The :class:`torch.Generator` the initial weights are drawn from
            (Xavier-uniform, biases 0, LayerNorm ``γ=1, β=0``); advanced by the draws.

    Raises:
        TypeError: If a size is not an int or ``generator`` is not a :class:`torch.Generator`.
        ValueError: If a size is out of range, ``n_heads`` does not divide ``d_model`` or
            ``placement`` is unknown (before anything is drawn).

    Shape:
        - Input ``(B, T, C)``, float, finite, with the dtype and device of the
          block's parameters; output ``(B, T, C)`` of the same dtype and device.
    """

    def __init__(self, d_model: int, n_heads: int, *, placement: str, generator: torch.Generator) -> None:
        super().__init__()
        placement = check_choice("placement", placement, PLACEMENTS)
        d_model = _check_d_model(d_model)
        n_heads = _check_heads(d_model, n_heads)
        generator = check_generator("generator", generator)
        self.placement = placement
        self.ln_1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, n_heads, generator=generator)
        self.ln_2 = nn.LayerNorm(d_model)
        self.mlp = MLP(d_model, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _check_x(x, self, self.ln_1.normalized_shape[0])
        # block-start
        if self.placement == "pre":
            x = x + self.attn(self.ln_1(x))      # (B, T, C): the highway x is never normalized
            x = x + self.mlp(self.ln_2(x))       # (B, T, C)
        else:
            x = self.ln_1(x + self.attn(x))      # (B, T, C): the sum, highway included, goes through LN
            x = self.ln_2(x + self.mlp(x))       # (B, T, C)
        # block-end
        return x


class Stack(nn.Module):
    """``depth`` blocks on top of a linear input embedding, with a linear head.

    A pre-norm stack ends with a final LayerNorm (as GPT-2 and Xiong et al. do),
    since its residual stream is never normalized otherwise; a post-norm stack's
    last block already ends in one. :func:`make_stack` builds one from a seed.

    Args:
        depth: Number of blocks, an int in ``[1, 2**31 - 1]``.
        d_model: Width of the residual stream, an int in ``[1, 23170]``.
        placement: ``"pre"`` or ``"post"``.
        n_heads: Attention heads, an int ``>= 1`` dividing ``d_model``.
        d_in: Input features, an int ``>= 1`` (``d_in * d_model <= 2**31 - 1``).
        d_out: Output features, an int ``>= 1`` (``d_out * d_model <= 2**31 - 1``).
        generator: The :class:`torch.Generator` the initial weights are drawn from; advanced by the draws.

    Raises:
        TypeError: If a size is not an int or ``generator`` is not a :class:`torch.Generator`.
        ValueError: If a size is out of range, ``n_heads`` does not divide ``d_model`` or
            ``placement`` is unknown (before anything is drawn).

    Shape:
        - Input ``(B, T, d_in)``, float, finite, with the dtype and device of the
          stack's parameters; output ``(B, T, d_out)`` of the same dtype and device.
    """

    def __init__(
        self, depth: int, d_model: int, *, placement: str, n_heads: int, d_in: int, d_out: int,
        generator: torch.Generator,
    ) -> None:
        super().__init__()
        depth = check_count("depth", depth)
        d_model = _check_d_model(d_model)
        placement = check_choice("placement", placement, PLACEMENTS)
        n_heads = _check_heads(d_model, n_heads)
        d_in = _check_features("d_in", d_in, d_model)
        d_out = _check_features("d_out", d_out, d_model)
        generator = check_generator("generator", generator)
        self.placement = placement
        self.embed = _linear(d_in, d_model, generator)
        self.blocks = nn.ModuleList(
            Block(d_model, n_heads, placement=placement, generator=generator) for _ in range(depth)
        )
        self.ln_f: nn.Module = nn.LayerNorm(d_model) if placement == "pre" else nn.Identity()
        self.head = _linear(d_model, d_out, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _check_x(x, self, self.embed.in_features)
        x = self.embed(x)                        # (B, T, C)
        for block in self.blocks:
            x = block(x)                         # (B, T, C)
        out: torch.Tensor = self.head(self.ln_f(x))   # (B, T, d_out)
        return out


def make_stack(
    depth: int, d_model: int, *, placement: str, n_heads: int = 4, d_in: int | None = None,
    d_out: int | None = None, generator: torch.Generator | None = None, seed: int | None = None,
) -> Stack:
    """Build a seeded stack of ``depth`` pre-norm or post-norm blocks.

    Weights are Xavier-uniform (biases 0, LayerNorm ``γ=1, β=0``), drawn from
    ``generator``, or from a new generator seeded with ``seed``.

    Args:
        depth: Number of blocks, an int in ``[1, 2**31 - 1]``.
        d_model: Width of the residual stream, an int in ``[1, 23170]``.
        placement: ``"pre"`` or ``"post"``.
        n_heads: Attention heads, an int ``>= 1`` dividing ``d_model``.
        d_in: Input features, an int ``>= 1`` with ``d_in * d_model <= 2**31 - 1`` (default ``d_model``).
        d_out: Output features, likewise (default ``d_model``).
        generator: A :class:`torch.Generator` for the weights; advanced by the draws.
        seed: An int in ``[0, 2**63 - 1]``, used when ``generator`` is None (exactly one of the
            two must be given).

    Returns:
        The :class:`Stack` (float32, on the CPU).

    Raises:
        TypeError: If a size or ``seed`` is not an int, or ``generator`` is not a :class:`torch.Generator`.
        ValueError: If a size or ``seed`` is out of range, ``n_heads`` does not divide ``d_model``,
            ``placement`` is unknown, or not exactly one of ``generator`` / ``seed`` is given;
            raised before anything is drawn.

    Example:
        >>> net = make_stack(2, 8, placement="pre", n_heads=2, seed=0)
        >>> tuple(net(torch.zeros(3, 5, 8)).shape)
        (3, 5, 8)
    """
    depth = check_count("depth", depth)
    d_model = _check_d_model(d_model)
    placement = check_choice("placement", placement, PLACEMENTS)
    n_heads = _check_heads(d_model, n_heads)
    d_in = d_model if d_in is None else _check_features("d_in", d_in, d_model)
    d_out = d_model if d_out is None else _check_features("d_out", d_out, d_model)
    if generator is not None:
        check_generator("generator", generator)
    if seed is not None:
        seed = check_seed("seed", seed)
    if (generator is None) == (seed is None):
        raise ValueError("exactly one of generator and seed must be given (got both or neither)")
    gen = generator if generator is not None else torch.Generator().manual_seed(check_seed("seed", seed))
    return Stack(depth, d_model, placement=placement, n_heads=n_heads, d_in=d_in, d_out=d_out, generator=gen)


# --- the identity term, checked with autograd -----------------------------

def sublayer_jacobians(block: Block, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Jacobians of a block's attention sublayer and of its branch, for one input.

    For a pre-norm block the sublayer is :math:`x + \operatorname{Attn}(\operatorname{LN}_1(x))`
    and the branch is :math:`\operatorname{Attn}(\operatorname{LN}_1(x))`; for a
    post-norm block the sublayer is :math:`\operatorname{LN}_1(x + \operatorname{Attn}(x))`
    and the branch :math:`\operatorname{Attn}(x)`.

    Nothing is mutated: the block's parameters and mode are left as they are, and
    ``x`` is detached (its ``requires_grad`` does not matter).

    Args:
        block: A :class:`Block`.
        x: One input ``(1, T, C)``, float, finite, with ``C`` the block's width and the
            dtype and device of the block's parameters (use float64 with a float64 block
            for exact checks).

    Returns:
        ``(J_sublayer, J_branch)``, each ``(T·C, T·C)``, of ``x``'s dtype and device.

    Raises:
        TypeError: If ``block`` is not a :class:`Block`, ``x`` is not a float tensor,
            or ``x``'s dtype is not the block's.
        ValueError: If ``x`` is not ``(1, T, C)``, holds NaN or inf, or is on another device.
    """
    if not isinstance(block, Block):
        raise TypeError(f"block must be a regbook.prenorm.Block (got {type(block).__name__})")
    x = _check_x(x, block, block.ln_1.normalized_shape[0])
    if x.shape[0] != 1:
        raise ValueError(f"x must hold one sequence, shape (1, T, C) (got {tuple(x.shape)})")
    n = x.numel()

    def branch(z: torch.Tensor) -> torch.Tensor:
        z = z.reshape(x.shape)
        inner = block.ln_1(z) if block.placement == "pre" else z
        out: torch.Tensor = block.attn(inner)
        return out.reshape(n)

    def sublayer(z: torch.Tensor) -> torch.Tensor:
        if block.placement == "pre":
            return z + branch(z)
        out: torch.Tensor = block.ln_1((z + branch(z)).reshape(x.shape))
        return out.reshape(n)

    flat = x.detach().reshape(n)
    j_sub = torch.autograd.functional.jacobian(sublayer, flat)
    j_branch = torch.autograd.functional.jacobian(branch, flat)
    return j_sub, j_branch


# --- the learning-rate warmup ------------------------------------------------

def warmup_lr(step: int, *, lr: float, warmup_steps: int) -> float:
    r"""Linear warmup: :math:`\eta_t = \eta \cdot \min(1, (t+1)/T_{\text{warm}})`, then constant.

    Args:
        step: The 0-based step :math:`t`.
        lr: Peak learning rate :math:`\eta`.
        warmup_steps: :math:`T_{\text{warm}}`; 0 means no warmup.

    Returns:
        The learning rate for ``step``.

    Raises:
        ValueError: If ``step`` or ``warmup_steps`` is negative or ``lr < 0``.

    Example:
        >>> [warmup_lr(t, lr=1e-3, warmup_steps=4) for t in (0, 1, 3, 10)]
        [0.00025, 0.0005, 0.001, 0.001]
    """
    step = check_int("step", step, minimum=0)
    lr = check_nonnegative("lr", lr)
    warmup_steps = check_int("warmup_steps", warmup_steps, minimum=0)
    # warmup-start
    if warmup_steps == 0:
        return lr
    return lr * min(1.0, (step + 1) / warmup_steps)
    # warmup-end
