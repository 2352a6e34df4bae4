"""Contracts of the pre-norm chapter: regbook.prenorm and regbook.experiments.prenorm.

Torch twins: :class:`torch.nn.MultiheadAttention` for :class:`~regbook.prenorm.SelfAttention`,
:class:`torch.nn.TransformerEncoderLayer` (GELU, ``dim_feedforward = 4 C``, no
dropout, ``norm_first`` for pre-norm) for :class:`~regbook.prenorm.Block`, and
a stack of those between two :class:`torch.nn.Linear` layers for
:class:`~regbook.prenorm.Stack` and, seed by seed, for
:class:`~regbook.experiments.prenorm.SeedTransformer`; each is loaded with the
module's own weights. Modules are called through a wrapper taking the module as
a keyword (``module=``), which is skipped: a fresh module comes with every
sample, and its state is watched.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from regbook import prenorm as P
from regbook.experiments import harness as H
from regbook.experiments import prenorm as X
from tests.conftest import TEST_SEEDS
from tests.contracts.opinfo import OpInfo, Sample

NOT_CALLABLE = {"regbook.prenorm.PLACEMENTS"}

SEEDS = list(TEST_SEEDS[:2])
F64 = torch.float64
MODULE = "the module under test, made fresh by the sample (its state is watched)"
OBJ = "the record under test, made fresh by the sample (its state is watched)"


def _gen(i: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(TEST_SEEDS[0] + i)


def _x(*shape: int, i: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=_gen(i), dtype=dtype)


def _call_module(x: Any, *, module: nn.Module) -> Any:
    return module(x)


def _nontrivial_norms(m: nn.Module) -> nn.Module:
    """LayerNorm scale and shift away from 1 and 0, so the twins' use of them is checked."""
    g = _gen(9)
    with torch.no_grad():
        for sub in m.modules():
            if isinstance(sub, nn.LayerNorm):
                sub.weight.copy_(1 + 0.2 * torch.randn(sub.weight.shape, generator=g))
                sub.bias.copy_(0.2 * torch.randn(sub.bias.shape, generator=g))
    return m


# --- torch twins, loaded with the module's weights ------------------------------------------------

def _torch_attention(m: P.SelfAttention) -> nn.MultiheadAttention:
    d = m.proj.out_features
    p = m.qkv.weight
    ref = nn.MultiheadAttention(d, m.n_heads, batch_first=True, dtype=p.dtype, device=p.device)
    with torch.no_grad():
        ref.in_proj_weight.copy_(m.qkv.weight)
        ref.in_proj_bias.copy_(m.qkv.bias)
        ref.out_proj.weight.copy_(m.proj.weight)
        ref.out_proj.bias.copy_(m.proj.bias)
    return ref


def _torch_layer(b: P.Block) -> nn.TransformerEncoderLayer:
    d = b.attn.proj.out_features
    p = b.attn.qkv.weight
    ref = nn.TransformerEncoderLayer(d, b.attn.n_heads, dim_feedforward=4 * d, dropout=0.0, activation="gelu",
                                     layer_norm_eps=b.ln_1.eps, batch_first=True, norm_first=b.placement == "pre",
                                     dtype=p.dtype, device=p.device)
    attn = _torch_attention(b.attn)
    with torch.no_grad():
        ref.self_attn.load_state_dict(attn.state_dict())
        for theirs, ours in ((ref.linear1, b.mlp.fc), (ref.linear2, b.mlp.proj), (ref.norm1, b.ln_1),
                             (ref.norm2, b.ln_2)):
            theirs.load_state_dict(ours.state_dict())
    return ref.eval()


def _torch_stack(s: P.Stack) -> nn.Sequential:
    layers = [_torch_layer(b) for b in s.blocks if isinstance(b, P.Block)]
    return nn.Sequential(s.embed, *layers, s.ln_f, s.head).eval()


def _attention_ref(x: Any, *, module: P.SelfAttention) -> Any:
    with torch.no_grad():
        return _torch_attention(module)(x, x, x, need_weights=False)[0]


def _mlp_ref(x: Any, *, module: P.MLP) -> Any:
    return F.linear(F.gelu(F.linear(x, module.fc.weight, module.fc.bias)), module.proj.weight, module.proj.bias)


def _block_ref(x: Any, *, module: P.Block) -> Any:
    with torch.no_grad():
        return _torch_layer(module)(x)


def _stack_ref(x: Any, *, module: P.Stack) -> Any:
    with torch.no_grad():
        return _torch_stack(module)(x)


# --- samples ----------------------------------------------------------------------------------------

def _attention_sample(dtype: torch.dtype = torch.float32) -> Sample:
    m = P.SelfAttention(8, 2, generator=_gen(1)).to(dtype)
    return Sample((_x(2, 3, 8, i=2, dtype=dtype),), {"module": m}, ("x",), state=(m,))


def _mlp_sample() -> Sample:
    m = P.MLP(8, generator=_gen(1))
    return Sample((_x(2, 3, 8, i=2),), {"module": m}, ("x",), state=(m,))


def _block_sample(placement: str) -> Any:
    def make() -> Sample:
        m = _nontrivial_norms(P.Block(8, 2, placement=placement, generator=_gen(1)))
        return Sample((_x(2, 3, 8, i=2),), {"module": m}, ("x",), state=(m,))
    return make


def _stack_sample(placement: str) -> Any:
    def make() -> Sample:
        m = _nontrivial_norms(P.make_stack(2, 8, placement=placement, n_heads=2, d_in=5, d_out=3, seed=TEST_SEEDS[0]))
        return Sample((_x(2, 3, 5, i=2),), {"module": m}, ("x",), state=(m,))
    return make


def _jacobian_sample(placement: str) -> Any:
    def make() -> Sample:
        b = _nontrivial_norms(P.Block(4, 2, placement=placement, generator=_gen(1))).double()
        return Sample((b, _x(1, 3, 4, i=2, dtype=F64)), {}, ("block", "x"), state=(b,))
    return make


def _jacobian_ref(block: P.Block, x: Any) -> Any:
    """Autograd's Jacobians of torch's encoder layer's attention sublayer and branch, for one input."""
    layer = _torch_layer(block)
    n = x.numel()

    def branch(z: torch.Tensor) -> torch.Tensor:
        z = z.reshape(x.shape)
        inner = layer.norm1(z) if block.placement == "pre" else z
        out: torch.Tensor = layer.self_attn(inner, inner, inner, need_weights=False)[0]
        return out.reshape(n)

    def sublayer(z: torch.Tensor) -> torch.Tensor:
        if block.placement == "pre":
            return z + branch(z)
        out: torch.Tensor = layer.norm1((z + branch(z)).reshape(x.shape))
        return out.reshape(n)

    flat = x.detach().reshape(n)
    return (torch.autograd.functional.jacobian(sublayer, flat), torch.autograd.functional.jacobian(branch, flat))


def _stacks(placement: str = "pre") -> list[P.Stack]:
    out = [P.make_stack(1, 8, placement=placement, n_heads=2, d_in=5, d_out=3, generator=H.seed_streams(s).init)
           for s in SEEDS]
    for s in out:
        _nontrivial_norms(s)
    return out


_SEED_STACKS: dict[int, list[P.Stack]] = {}


def _seed_transformer_sample(placement: str) -> Any:
    def make() -> Sample:
        stacks = _stacks(placement)
        m = X.SeedTransformer(stacks)
        _SEED_STACKS[id(m)] = stacks
        return Sample((_x(2, 2, 3, 5, i=3),), {"module": m}, ("x",), state=(m,))
    return make


def _seed_transformer_ref(x: Any, *, module: X.SeedTransformer) -> Any:
    """Each seed's own torch stack on its own slice of ``x``."""
    stacks = _SEED_STACKS[id(module)]
    with torch.no_grad():
        return torch.stack([_torch_stack(s)(x[i]) for i, s in enumerate(stacks)])


@functools.cache
def _profile() -> X.GradientProfile:
    return X.gradient_profile((1, 2), d_model=8, n_heads=2, seq_len=3, batch_size=2, seeds=SEEDS)


def _profile_last(placement: str, *, obj: X.GradientProfile) -> torch.Tensor:
    return obj.last(placement)


def _profile_last_sample() -> Sample:
    p = _profile()
    obj = X.GradientProfile({k: {d: v.clone() for d, v in n.items()} for k, n in p.norms.items()}, p.depths, p.seeds,
                            p.d_model, p.seq_len, p.batch_size)
    return Sample(("post",), {"obj": obj}, ("placement",), state=(obj,))


def _records_skip(*names: str) -> dict[str, str]:
    return {n: "a plain result record, built by its experiment from validated values" for n in names}


_PROFILE_FIELDS = ("norms", "depths", "seeds", "d_model", "seq_len", "batch_size")
_WARMUP_FIELDS = ("placement", "warmup_steps", "seeds", "marks", "train_loss", "test_accuracy", "depth", "d_model",
                  "n_heads", "lr", "steps", "batch_size", "n_train", "n_test")

OPS = [
    # --- regbook.prenorm: constructors ---
    OpInfo("regbook.prenorm.SelfAttention", P.SelfAttention,
           lambda: Sample((8, 2), {"generator": _gen(1)}, ("d_model", "n_heads")),
           extra=(("n_heads", 3, True), ("d_model", 2**31 - 1, True))),
    OpInfo("regbook.prenorm.MLP", P.MLP, lambda: Sample((8,), {"generator": _gen(1)}, ("d_model",)),
           extra=(("d_model", 2**30, True),)),
    OpInfo("regbook.prenorm.Block", P.Block,
           lambda: Sample((8, 2), {"placement": "post", "generator": _gen(1)}, ("d_model", "n_heads")),
           extra=(("n_heads", 3, True), ("placement", "pre", False))),
    OpInfo("regbook.prenorm.Stack", P.Stack,
           lambda: Sample((2, 8), {"placement": "pre", "n_heads": 2, "d_in": 5, "d_out": 3, "generator": _gen(1)},
                          ("depth", "d_model")),
           extra=(("n_heads", 3, True), ("placement", "post", False), ("d_in", 2**31 - 1, True))),
    # --- regbook.prenorm: forward passes, against torch's modules ---
    OpInfo("regbook.prenorm.SelfAttention.forward", _call_module, _attention_sample, ref=_attention_ref,
           skip={"module": MODULE}, extra=(("x", torch.ones(2, 3, 4), True), ("x", torch.ones(2, 3, 8, dtype=F64),
                                                                                 True))),
    OpInfo("regbook.prenorm.SelfAttention.forward", _call_module, lambda: _attention_sample(F64), ref=_attention_ref,
           skip={"module": MODULE}),
    OpInfo("regbook.prenorm.MLP.forward", _call_module, _mlp_sample, ref=_mlp_ref, skip={"module": MODULE},
           extra=(("x", torch.ones(2, 3, 4), True), ("x", torch.ones(2, 8), False))),
    OpInfo("regbook.prenorm.Block.forward", _call_module, _block_sample("pre"), ref=_block_ref,
           skip={"module": MODULE}, extra=(("x", torch.ones(2, 3, 4), True),)),
    OpInfo("regbook.prenorm.Block.forward", _call_module, _block_sample("post"), ref=_block_ref,
           skip={"module": MODULE}),
    OpInfo("regbook.prenorm.Stack.forward", _call_module, _stack_sample("pre"), ref=_stack_ref,
           skip={"module": MODULE}, extra=(("x", torch.ones(2, 3, 8), True),)),
    OpInfo("regbook.prenorm.Stack.forward", _call_module, _stack_sample("post"), ref=_stack_ref,
           skip={"module": MODULE}),
    # --- regbook.prenorm: functions ---
    OpInfo("regbook.prenorm.make_stack", P.make_stack,
           lambda: Sample((2, 8), {"placement": "pre", "n_heads": 2, "d_in": 5, "d_out": 3, "seed": TEST_SEEDS[0]},
                          ("depth", "d_model")),
           extra=(("n_heads", 3, True), ("seed", 2**63, True), ("d_in", None, False), ("seed", None, True))),
    OpInfo("regbook.prenorm.make_stack", P.make_stack,
           lambda: Sample((1, 4), {"placement": "post", "n_heads": 1, "generator": _gen(1), "seed": None},
                          ("depth", "d_model")),
           extra=(("seed", 3, True),)),
    OpInfo("regbook.prenorm.sublayer_jacobians", P.sublayer_jacobians, _jacobian_sample("pre"), ref=_jacobian_ref,
           extra=(("x", torch.ones(2, 3, 4, dtype=F64), True), ("x", torch.ones(1, 3, 4), True),
                  ("x", torch.ones(1, 3, 5, dtype=F64), True), ("block", P.MLP(4, generator=_gen()), True))),
    OpInfo("regbook.prenorm.sublayer_jacobians", P.sublayer_jacobians, _jacobian_sample("post"), ref=_jacobian_ref),
    OpInfo("regbook.prenorm.warmup_lr", P.warmup_lr,
           lambda: Sample((3,), {"lr": 1e-3, "warmup_steps": 4}, ("step",))),
    # --- regbook.experiments.prenorm ---
    OpInfo("regbook.experiments.prenorm.SeedTransformer", X.SeedTransformer, lambda: Sample((_stacks(),), {},
                                                                                           ("stacks",)),
           extra=(("stacks", [*_stacks(), *_stacks("post")], True), ("stacks", (_stacks()[0],), False),
                  ("stacks", [_stacks()[0], nn.Linear(2, 2)], True), ("stacks", _stacks()[0], True))),
    OpInfo("regbook.experiments.prenorm.SeedTransformer.forward", _call_module, _seed_transformer_sample("pre"),
           ref=_seed_transformer_ref, skip={"module": MODULE},
           extra=(("x", torch.ones(3, 2, 3, 5), True), ("x", torch.ones(2, 2, 3, 4), True),
                  ("x", torch.ones(2, 3, 5), True))),
    OpInfo("regbook.experiments.prenorm.SeedTransformer.forward", _call_module, _seed_transformer_sample("post"),
           ref=_seed_transformer_ref, skip={"module": MODULE}),
    OpInfo("regbook.experiments.prenorm.loglog_slope", X.loglog_slope,
           lambda: Sample(([1, 4, 16], torch.tensor([[1.0, 2.0], [0.5, 4.0], [0.25, 8.0]], dtype=F64)), {},
                          ("xs", "ys")),
           extra=(("xs", [1, 1, 1], True), ("xs", [1, 4], True), ("xs", [1, -4, 16], True),
                  ("ys", torch.zeros(3, 2), True), ("ys", torch.ones(3, 2, dtype=torch.long), False))),
    OpInfo("regbook.experiments.prenorm.gradient_profile", X.gradient_profile,
           lambda: Sample(([1, 2],), {"d_model": 8, "n_heads": 2, "seq_len": 3, "batch_size": 2, "seeds": SEEDS},
                          ("depths",)),
           extra=(("depths", [1, 1], True), ("n_heads", 3, True), ("seeds", [1001], True),
                  ("seeds", [1001, 2**63], True), ("depths", [1, 2**40], True))),
    OpInfo("regbook.experiments.prenorm.warmup_run", X.warmup_run,
           lambda: Sample((), {"placement": "pre", "warmup_steps": 2, "depth": 1, "d_model": 8, "n_heads": 2,
                               "lr": 5e-3, "steps": 2, "batch_size": 8, "n_train": 40, "n_test": 20,
                               "record_every": 1, "seeds": SEEDS}),
           extra=(("n_heads", 3, True), ("n_test", 1797, True), ("seeds", [1001, 1001], True),
                  ("steps", 2**40, True), ("placement", "post", False))),
    OpInfo("regbook.experiments.prenorm.GradientProfile.last", _profile_last, _profile_last_sample,
           skip={"obj": OBJ}, extra=(("placement", "pre", False),)),
    OpInfo("regbook.experiments.prenorm.GradientProfile", X.GradientProfile,
           lambda: Sample(({"pre": {}, "post": {}}, (1,), (1, 2), 8, 3, 2), {}, _PROFILE_FIELDS),
           skip=_records_skip(*_PROFILE_FIELDS)),
    OpInfo("regbook.experiments.prenorm.WarmupRun", X.WarmupRun,
           lambda: Sample(("pre", 0, (1, 2), (1,), torch.zeros(1, 2), (0.5, 0.5), 1, 8, 2, 1e-3, 1, 8, 40, 20), {},
                          _WARMUP_FIELDS),
           skip=_records_skip(*_WARMUP_FIELDS)),
]
