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

from regbook._checks import check_choice, check_float_tensor, check_int, check_nonnegative

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


def _linear(d_in: int, d_out: int, gen: torch.Generator) -> nn.Linear:
    """A linear layer with Xavier-uniform weights and zero bias, drawn from ``gen``."""
    layer = nn.Linear(d_in, d_out)
    nn.init.xavier_uniform_(layer.weight, generator=gen)
    nn.init.zeros_(layer.bias)
    return layer


class SelfAttention(nn.Module):
    """Multi-head self-attention (bidirectional) in a few lines.

    Shape:
        - Input ``(B, T, C)``, output ``(B, T, C)``.
    """

    def __init__(self, d_model: int, n_heads: int, *, generator: torch.Generator) -> None:
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"n_heads must divide d_model {d_model} (got {n_heads})")
        self.n_heads = n_heads
        self.qkv = _linear(d_model, 3 * d_model, generator)
        self.proj = _linear(d_model, d_model, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)                                   # 3 × (B, T, C)
        q, k, v = (z.view(b, t, self.n_heads, c // self.n_heads).transpose(1, 2) for z in (q, k, v))  # (B, h, T, C/h)
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(c // self.n_heads), dim=-1)  # (B, h, T, T)
        y = (att @ v).transpose(1, 2).reshape(b, t, c)                          # (B, T, C)
        out: torch.Tensor = self.proj(y)
        return out


class MLP(nn.Module):
    """The position-wise feed-forward network ``Linear → GELU → Linear`` (hidden width ``4 · d_model``).

    Shape:
        - Input ``(B, T, C)``, output ``(B, T, C)``.
    """

    def __init__(self, d_model: int, *, generator: torch.Generator) -> None:
        super().__init__()
        self.fc = _linear(d_model, 4 * d_model, generator)
        self.proj = _linear(4 * d_model, d_model, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
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
        d_model: Width :math:`C`.
        n_heads: Attention heads (must divide ``d_model``).
        placement: ``"pre"`` or ``"post"``.
        generator: Source of the initial weights.

    Shape:
        - Input ``(B, T, C)``, output ``(B, T, C)``.
    """

    def __init__(self, d_model: int, n_heads: int, *, placement: str, generator: torch.Generator) -> None:
        super().__init__()
        self.placement = check_choice("placement", placement, PLACEMENTS)
        self.ln_1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, n_heads, generator=generator)
        self.ln_2 = nn.LayerNorm(d_model)
        self.mlp = MLP(d_model, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
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
    last block already ends in one.

    Shape:
        - Input ``(B, T, d_in)``, output ``(B, T, d_out)``.
    """

    def __init__(
        self, depth: int, d_model: int, *, placement: str, n_heads: int, d_in: int, d_out: int,
        generator: torch.Generator,
    ) -> None:
        super().__init__()
        self.placement = placement
        self.embed = _linear(d_in, d_model, generator)
        self.blocks = nn.ModuleList(
            Block(d_model, n_heads, placement=placement, generator=generator) for _ in range(depth)
        )
        self.ln_f: nn.Module = nn.LayerNorm(d_model) if placement == "pre" else nn.Identity()
        self.head = _linear(d_model, d_out, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
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
        depth: Number of blocks, ``>= 1``.
        d_model: Width of the residual stream.
        placement: ``"pre"`` or ``"post"``.
        n_heads: Attention heads, dividing ``d_model``.
        d_in: Input features (default ``d_model``).
        d_out: Output features (default ``d_model``).
        generator: Random source for the weights.
        seed: Used when ``generator`` is None (exactly one of the two must be given).

    Returns:
        The :class:`Stack`.

    Raises:
        ValueError: If a size is out of range, ``n_heads`` does not divide ``d_model``,
            ``placement`` is unknown, or not exactly one of ``generator`` / ``seed`` is given.

    Example:
        >>> net = make_stack(2, 8, placement="pre", n_heads=2, seed=0)
        >>> tuple(net(torch.zeros(3, 5, 8)).shape)
        (3, 5, 8)
    """
    depth = check_int("depth", depth, minimum=1)
    d_model = check_int("d_model", d_model, minimum=1)
    placement = check_choice("placement", placement, PLACEMENTS)
    n_heads = check_int("n_heads", n_heads, minimum=1)
    if d_model % n_heads != 0:
        raise ValueError(f"n_heads must divide d_model {d_model} (got {n_heads})")
    d_in = d_model if d_in is None else check_int("d_in", d_in, minimum=1)
    d_out = d_model if d_out is None else check_int("d_out", d_out, minimum=1)
    if (generator is None) == (seed is None):
        raise ValueError("exactly one of generator and seed must be given (got both or neither)")
    gen = generator if generator is not None else torch.Generator().manual_seed(check_int("seed", seed))
    return Stack(depth, d_model, placement=placement, n_heads=n_heads, d_in=d_in, d_out=d_out, generator=gen)


# --- the identity term, checked with autograd -----------------------------

def sublayer_jacobians(block: Block, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Jacobians of a block's attention sublayer and of its branch, for one input.

    For a pre-norm block the sublayer is :math:`x + \operatorname{Attn}(\operatorname{LN}_1(x))`
    and the branch is :math:`\operatorname{Attn}(\operatorname{LN}_1(x))`; for a
    post-norm block the sublayer is :math:`\operatorname{LN}_1(x + \operatorname{Attn}(x))`
    and the branch :math:`\operatorname{Attn}(x)`.

    Args:
        block: A :class:`Block`.
        x: One input ``(1, T, C)`` (use float64 with a float64 block for exact checks).

    Returns:
        ``(J_sublayer, J_branch)``, each ``(T·C, T·C)``.

    Raises:
        TypeError: If ``block`` is not a :class:`Block` or ``x`` not a float tensor.
        ValueError: If ``x`` is not ``(1, T, C)``.
    """
    if not isinstance(block, Block):
        raise TypeError(f"block must be a regbook.prenorm.Block (got {type(block).__name__})")
    check_float_tensor("x", x, ndim=3)
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
