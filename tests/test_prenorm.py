"""Tests for regbook.prenorm.

Expected values come from hand arithmetic, torch's own modules
(``nn.MultiheadAttention``, ``nn.LayerNorm``) and autograd -- never from regbook itself.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from regbook import prenorm as P

F64 = torch.float64


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def block(placement: str, d: int = 8, heads: int = 2, seed: int = 0) -> P.Block:
    b = P.Block(d, heads, placement=placement, generator=gen(seed)).double()
    with torch.no_grad():  # non-trivial LayerNorm parameters, so the checks are not about γ=1, β=0
        for ln in (b.ln_1, b.ln_2):
            ln.weight.copy_(1 + 0.2 * torch.randn(d, generator=gen(seed + 1), dtype=F64))
            ln.bias.copy_(0.2 * torch.randn(d, generator=gen(seed + 2), dtype=F64))
    return b


# --- worked example by hand ------------------------------------------------

def test_warmup_lr_by_hand() -> None:
    # lr 1e-3, 4 warmup steps: step t uses 1e-3 * (t+1)/4 -> 2.5e-4, 5e-4, 7.5e-4, 1e-3, then 1e-3
    got = [P.warmup_lr(t, lr=1e-3, warmup_steps=4) for t in range(6)]
    assert got == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3])
    assert P.warmup_lr(0, lr=1e-3, warmup_steps=0) == 1e-3


# --- the two placements, written out with torch's modules --------------------

@pytest.mark.parametrize("placement", ["pre", "post"])
def test_block_matches_formula(placement: str) -> None:
    b = block(placement)
    x = torch.randn(2, 5, 8, generator=gen(3), dtype=F64)
    ln1 = lambda z: F.layer_norm(z, (8,), b.ln_1.weight, b.ln_1.bias)  # noqa: E731
    ln2 = lambda z: F.layer_norm(z, (8,), b.ln_2.weight, b.ln_2.bias)  # noqa: E731
    if placement == "pre":
        h = x + b.attn(ln1(x))
        expected = h + b.mlp(ln2(h))
    else:
        h = ln1(x + b.attn(x))
        expected = ln2(h + b.mlp(h))
    torch.testing.assert_close(b(x), expected)


def test_self_attention_parity_with_torch() -> None:
    d, heads = 8, 2
    mine = P.SelfAttention(d, heads, generator=gen(0)).double()
    ref = nn.MultiheadAttention(d, heads, batch_first=True, dtype=F64)
    with torch.no_grad():
        ref.in_proj_weight.copy_(mine.qkv.weight)
        ref.in_proj_bias.copy_(torch.randn(3 * d, generator=gen(1), dtype=F64))
        mine.qkv.bias.copy_(ref.in_proj_bias)
        ref.out_proj.weight.copy_(mine.proj.weight)
        ref.out_proj.bias.copy_(torch.randn(d, generator=gen(2), dtype=F64))
        mine.proj.bias.copy_(ref.out_proj.bias)
    x = torch.randn(3, 4, d, generator=gen(4), dtype=F64)
    torch.testing.assert_close(mine(x), ref(x, x, x, need_weights=False)[0])


def test_make_stack_seeded_and_paired() -> None:
    a = P.make_stack(3, 16, placement="pre", seed=5)
    b = P.make_stack(3, 16, placement="pre", generator=gen(5))
    c = P.make_stack(3, 16, placement="post", seed=5)
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert na == nb and torch.equal(pa, pb)
    # both placements draw the same linear weights in the same order: a paired comparison
    lin_a = [p for n, p in a.named_parameters() if "ln" not in n]
    lin_c = [p for n, p in c.named_parameters() if "ln" not in n]
    assert len(lin_a) == len(lin_c) and all(torch.equal(p, q) for p, q in zip(lin_a, lin_c, strict=True))


@pytest.mark.parametrize("placement", ["pre", "post"])
def test_stack_matches_formula(placement: str) -> None:
    # embed -> blocks -> (final LayerNorm for pre-norm only) -> head, written out with torch's functions
    net = P.make_stack(3, 8, placement=placement, n_heads=2, d_in=5, d_out=3, seed=4).double()
    with torch.no_grad():
        if placement == "pre":
            net.ln_f.weight.copy_(1 + 0.3 * torch.randn(8, generator=gen(5), dtype=F64))
            net.ln_f.bias.copy_(0.3 * torch.randn(8, generator=gen(6), dtype=F64))
    x = torch.randn(2, 4, 5, generator=gen(7), dtype=F64)
    h = F.linear(x, net.embed.weight, net.embed.bias)
    for b in net.blocks:
        h = b(h)
    if placement == "pre":
        h = F.layer_norm(h, (8,), net.ln_f.weight, net.ln_f.bias)
    assert len(net.blocks) == 3
    torch.testing.assert_close(net(x), F.linear(h, net.head.weight, net.head.bias))


def test_make_stack_n_heads_changes_attention() -> None:
    # same seed, same weights; only the split into heads differs, so the outputs must differ
    x = torch.randn(2, 5, 8, generator=gen(8))
    one = P.make_stack(1, 8, placement="pre", n_heads=1, seed=3)
    four = P.make_stack(1, 8, placement="pre", n_heads=4, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(one.parameters(), four.parameters(), strict=True))
    assert (one(x) - four(x)).abs().max() > 1e-3


def test_stack_shapes() -> None:
    net = P.make_stack(2, 16, placement="post", d_in=8, d_out=10, seed=0)
    assert tuple(net(torch.zeros(4, 8, 8)).shape) == (4, 8, 10)


# --- the identity term ------------------------------------------------------

@given(st.integers(0, 1000))
def test_prenorm_jacobian_minus_identity_is_branch(seed: int) -> None:
    b = block("pre", d=4, heads=2, seed=seed % 7)
    x = torch.randn(1, 3, 4, generator=gen(seed), dtype=F64)
    j_sub, j_branch = P.sublayer_jacobians(b, x)
    torch.testing.assert_close(j_sub - torch.eye(12, dtype=F64), j_branch)


def test_postnorm_jacobian_is_ln_times_identity_plus_branch() -> None:
    b = block("post", d=4, heads=2)
    x = torch.randn(1, 3, 4, generator=gen(9), dtype=F64)
    j_sub, j_branch = P.sublayer_jacobians(b, x)
    s = (x + b.attn(x)).detach().reshape(12)
    j_ln = torch.autograd.functional.jacobian(lambda z: b.ln_1(z.reshape(1, 3, 4)).reshape(12), s)
    torch.testing.assert_close(j_sub, j_ln @ (torch.eye(12, dtype=F64) + j_branch))
    # ... and there is no bare identity: J - I is not the branch Jacobian
    assert (j_sub - torch.eye(12, dtype=F64) - j_branch).abs().max() > 0.1


# --- errors -------------------------------------------------------------------

def test_error_placement() -> None:
    with pytest.raises(ValueError, match=r"placement must be one of \('pre', 'post'\) \(got 'middle'\)"):
        P.make_stack(2, 8, placement="middle", seed=0)


def test_error_heads() -> None:
    with pytest.raises(ValueError, match=r"n_heads must divide d_model 10 \(got 4\)"):
        P.make_stack(2, 10, placement="pre", n_heads=4, seed=0)


def test_error_depth() -> None:
    with pytest.raises(ValueError, match=r"depth must be >= 1 \(got 0\)"):
        P.make_stack(0, 8, placement="pre", seed=0)


def test_error_seed_and_generator() -> None:
    with pytest.raises(ValueError, match="exactly one of generator and seed"):
        P.make_stack(2, 8, placement="pre")
    with pytest.raises(ValueError, match="exactly one of generator and seed"):
        P.make_stack(2, 8, placement="pre", seed=0, generator=gen(0))


def test_error_jacobian_input() -> None:
    b = block("pre")
    with pytest.raises(ValueError, match=r"x must hold one sequence, shape \(1, T, C\)"):
        P.sublayer_jacobians(b, torch.zeros(2, 3, 8, dtype=F64))
    with pytest.raises(TypeError, match=r"block must be a regbook\.prenorm\.Block"):
        P.sublayer_jacobians(nn.Linear(2, 2), torch.zeros(1, 3, 8))  # type: ignore[arg-type]


def test_error_warmup() -> None:
    with pytest.raises(ValueError, match=r"warmup_steps must be >= 0 \(got -1\)"):
        P.warmup_lr(0, lr=1e-3, warmup_steps=-1)
    with pytest.raises(ValueError, match=r"lr must be >= 0 \(got -0.1\)"):
        P.warmup_lr(0, lr=-0.1, warmup_steps=2)
    with pytest.raises(ValueError, match=r"step must be >= 0 \(got -1\)"):
        P.warmup_lr(-1, lr=1e-3, warmup_steps=2)
