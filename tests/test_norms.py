"""Tests for regbook.norms.

Expected values come from hand arithmetic or from torch's own norm layers
(``torch.nn.LayerNorm``, ``torch.nn.RMSNorm``, ``torch.nn.GroupNorm``,
``torch.nn.functional.instance_norm`` / ``batch_norm``) -- never from regbook itself.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from regbook import norms as N

F64 = torch.float64


def rand(*shape: int, seed: int = 0, dtype: torch.dtype = F64) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# --- worked examples, by hand ----------------------------------------------

def test_normalize_lecture_batch_by_hand() -> None:
    # x = [1, 3, 5, 7]: mean 4, deviations [-3, -1, 1, 3], variance (9+1+1+9)/4 = 5
    # x̂ = dev / sqrt(5 + 1e-5): 3 / 2.2360702 = 1.3416394, 1 / 2.2360702 = 0.4472131
    x = torch.tensor([1.0, 3.0, 5.0, 7.0], dtype=F64)
    got = N.normalize(x, (0,), center=True, eps=1e-5).tolist()
    for g, e in zip(got, [-1.3416394, -0.4472131, 0.4472131, 1.3416394], strict=True):
        assert g == pytest.approx(e, abs=1e-6)


def test_layer_norm_affine_by_hand() -> None:
    # γ = 2, β = 0.5: 2 * (-1.3416394) + 0.5 = -2.1832788; 2 * (-0.4472131) + 0.5 = -0.3944262
    x = torch.tensor([[1.0, 3.0, 5.0, 7.0]], dtype=F64)
    g = torch.full((4,), 2.0, dtype=F64)
    b = torch.full((4,), 0.5, dtype=F64)
    got = N.layer_norm(x, 4, weight=g, bias=b)[0].tolist()
    for v, e in zip(got, [-2.1832788, -0.3944262, 1.3944262, 3.1832788], strict=True):
        assert v == pytest.approx(e, abs=1e-6)


def test_rms_norm_by_hand() -> None:
    # mean(x²) = (1 + 9 + 25 + 49) / 4 = 21; sqrt(21) = 4.5825757; 1/4.5825757 = 0.2182179
    x = torch.tensor([1.0, 3.0, 5.0, 7.0], dtype=F64)
    got = N.rms_norm(x, 4, eps=1e-12).tolist()
    for v, k in zip(got, [1, 3, 5, 7], strict=True):
        assert v == pytest.approx(k * 0.2182179, abs=1e-6)


def test_group_norm_by_hand() -> None:
    # N=1, C=2, L=2, G=2: each channel alone. [1, 3] -> mean 2, var 1 -> [-1, 1]/sqrt(1+1e-5)
    x = torch.tensor([[[1.0, 3.0], [5.0, 9.0]]], dtype=F64)
    got = N.group_norm(x, 2, eps=1e-5).flatten().tolist()
    # [5, 9] -> mean 7, var 4, sd 2 -> [-1, 1] (times 2/sqrt(4+1e-5))
    exp = [-1 / math.sqrt(1 + 1e-5), 1 / math.sqrt(1 + 1e-5), -2 / math.sqrt(4 + 1e-5), 2 / math.sqrt(4 + 1e-5)]
    for v, e in zip(got, exp, strict=True):
        assert v == pytest.approx(e, abs=1e-12)


def test_eps_enters_every_function_by_hand() -> None:
    # a large ε makes its place in the formula visible. [1, 3, 5, 7]: variance 5, mean square 21.
    x = torch.tensor([[1.0, 3.0, 5.0, 7.0]], dtype=F64)
    assert N.normalize(x, (1,), center=True, eps=3.0)[0, 0].item() == pytest.approx(-3 / math.sqrt(8))
    assert N.normalize(x, (1,), center=False, eps=3.0)[0, 0].item() == pytest.approx(1 / math.sqrt(24))
    assert N.layer_norm(x, 4, eps=4.0)[0, 0].item() == pytest.approx(-3 / 3.0)
    assert N.rms_norm(x, 4, eps=4.0)[0, 0].item() == pytest.approx(1 / 5.0)
    assert N.group_norm(x.reshape(1, 2, 2), 1, eps=4.0)[0, 0, 0].item() == pytest.approx(-3 / 3.0)
    assert N.LayerNorm(4, eps=4.0)(x.float())[0, 0].item() == pytest.approx(-1.0)
    assert N.RMSNorm(4, eps=4.0)(x.float())[0, 0].item() == pytest.approx(0.2)
    assert N.GroupNorm(1, 2, eps=4.0)(x.reshape(1, 2, 2).float())[0, 0, 0].item() == pytest.approx(-1.0)


def test_normalize_dims_choose_the_set() -> None:
    # rows [1, 3] and [5, 9]: over dim 1 each row alone -> ±1/sqrt(1+ε), ±2/sqrt(4+ε) ≈ ±1;
    # over dim 0 each column: [1, 5] -> ±2/2, [3, 9] -> ±3/3
    x = torch.tensor([[1.0, 3.0], [5.0, 9.0]], dtype=F64)
    torch.testing.assert_close(N.normalize(x, (1,), center=True, eps=1e-12),
                               torch.tensor([[-1.0, 1.0], [-1.0, 1.0]], dtype=F64))
    torch.testing.assert_close(N.normalize(x, (0,), center=True, eps=1e-12),
                               torch.tensor([[-1.0, -1.0], [1.0, 1.0]], dtype=F64))


def test_group_norm_module_without_affine_has_no_parameters() -> None:
    gn = N.GroupNorm(2, 4, affine=False)
    assert gn.weight is None and gn.bias is None and not list(gn.parameters())
    x = rand(2, 4, 3)
    torch.testing.assert_close(gn(x.float()), F.group_norm(x.float(), 2))


def test_stat_groups_by_hand() -> None:
    assert N.stat_groups((2, 3), "batch").tolist() == [[0, 1, 2], [0, 1, 2]]
    assert N.stat_groups((2, 3), "layer").tolist() == [[0, 0, 0], [1, 1, 1]]
    assert N.stat_groups((2, 4), "group", num_groups=2).tolist() == [[0, 0, 1, 1], [2, 2, 3, 3]]
    assert N.stat_groups((1, 2, 2), "instance").tolist() == [[[0, 0], [1, 1]]]


# --- parity with torch ---------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("shape,norm_shape", [((4, 6), (6,)), ((2, 5, 8), (8,)), ((3, 2, 4, 5), (2, 4, 5)),
                                              ((3, 7, 4), (7, 4))])
def test_layer_norm_parity(dtype: torch.dtype, shape: tuple[int, ...], norm_shape: tuple[int, ...]) -> None:
    ref = nn.LayerNorm(norm_shape, eps=1e-5, dtype=dtype)
    mine = N.LayerNorm(norm_shape, eps=1e-5).to(dtype)
    with torch.no_grad():
        ref.weight.copy_(1 + 0.3 * rand(*norm_shape, seed=1, dtype=dtype))
        ref.bias.copy_(0.3 * rand(*norm_shape, seed=2, dtype=dtype))
        mine.weight.copy_(ref.weight)
        mine.bias.copy_(ref.bias)
    x1 = (3 * rand(*shape, seed=3, dtype=dtype) + 1).requires_grad_(True)
    x2 = x1.detach().clone().requires_grad_(True)
    y1, y2 = ref(x1), mine(x2)
    torch.testing.assert_close(y2, y1)
    g = rand(*shape, seed=4, dtype=dtype)
    y1.backward(g)
    y2.backward(g)
    torch.testing.assert_close(x2.grad, x1.grad)
    torch.testing.assert_close(mine.weight.grad, ref.weight.grad)
    torch.testing.assert_close(mine.bias.grad, ref.bias.grad)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("eps", [1e-6, 1e-5, None])
@pytest.mark.parametrize("shape,norm_shape", [((4, 6), (6,)), ((2, 5, 8), (8,)), ((2, 3, 4), (3, 4))])
def test_rms_norm_parity(dtype: torch.dtype, eps: float | None, shape: tuple[int, ...],
                         norm_shape: tuple[int, ...]) -> None:
    # eps=None on both sides means finfo(dtype).eps
    ref = nn.RMSNorm(norm_shape, eps=eps, dtype=dtype)
    mine = N.RMSNorm(norm_shape, eps=eps).to(dtype)
    with torch.no_grad():
        ref.weight.copy_(1 + 0.3 * rand(*norm_shape, seed=1, dtype=dtype))
        mine.weight.copy_(ref.weight)
    x1 = (2 * rand(*shape, seed=5, dtype=dtype) + 0.5).requires_grad_(True)
    x2 = x1.detach().clone().requires_grad_(True)
    y1, y2 = ref(x1), mine(x2)
    torch.testing.assert_close(y2, y1)
    g = rand(*shape, seed=6, dtype=dtype)
    y1.backward(g)
    y2.backward(g)
    torch.testing.assert_close(x2.grad, x1.grad)
    torch.testing.assert_close(mine.weight.grad, ref.weight.grad)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("shape,groups", [((2, 6, 4, 5), 3), ((3, 4, 7), 2), ((2, 6, 3), 6), ((2, 8, 3, 3), 1)])
def test_group_norm_parity(dtype: torch.dtype, shape: tuple[int, ...], groups: int) -> None:
    c = shape[1]
    ref = nn.GroupNorm(groups, c, eps=1e-5, dtype=dtype)
    mine = N.GroupNorm(groups, c, eps=1e-5).to(dtype)
    with torch.no_grad():
        ref.weight.copy_(1 + 0.3 * rand(c, seed=1, dtype=dtype))
        ref.bias.copy_(0.3 * rand(c, seed=2, dtype=dtype))
        mine.weight.copy_(ref.weight)
        mine.bias.copy_(ref.bias)
    x1 = (2 * rand(*shape, seed=7, dtype=dtype) - 1).requires_grad_(True)
    x2 = x1.detach().clone().requires_grad_(True)
    y1, y2 = ref(x1), mine(x2)
    torch.testing.assert_close(y2, y1)
    g = rand(*shape, seed=8, dtype=dtype)
    y1.backward(g)
    y2.backward(g)
    torch.testing.assert_close(x2.grad, x1.grad)
    torch.testing.assert_close(mine.weight.grad, ref.weight.grad)


def test_gradcheck_float64() -> None:
    x = rand(3, 5, seed=9).requires_grad_(True)
    w = (1 + rand(5, seed=10)).requires_grad_(True)
    b = rand(5, seed=11).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x, w, b: N.layer_norm(x, 5, weight=w, bias=b), (x, w, b))
    assert torch.autograd.gradcheck(lambda x, w: N.rms_norm(x, 5, weight=w, eps=1e-6), (x, w))


def test_module_defaults_match_torch() -> None:
    assert N.LayerNorm(4).eps == nn.LayerNorm(4).eps
    assert N.GroupNorm(2, 4).eps == nn.GroupNorm(2, 4).eps
    assert N.RMSNorm(4).eps is None and nn.RMSNorm(4).eps is None
    assert N.LayerNorm(4, bias=False).bias is None
    assert N.RMSNorm(4, elementwise_affine=False).weight is None


# --- numerical edges -------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_constant_rows_are_finite_like_torch(dtype: torch.dtype) -> None:
    # zero variance: (x - μ) = 0 exactly, so the output is 0 (plus β), not NaN
    x = torch.full((3, 6), 2.5, dtype=dtype)
    y = N.layer_norm(x, 6)
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y, F.layer_norm(x, (6,)))
    xg = torch.full((2, 4, 3), -1.0, dtype=dtype)
    torch.testing.assert_close(N.group_norm(xg, 2), F.group_norm(xg, 2))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_rms_norm_zero_rows_finite_like_torch(dtype: torch.dtype) -> None:
    x = torch.zeros(2, 5, dtype=dtype)
    for eps in (1e-6, None):
        y = N.rms_norm(x, 5, eps=eps)
        assert torch.isfinite(y).all() and (y == 0).all()
        torch.testing.assert_close(y, F.rms_norm(x, (5,), eps=eps))


@pytest.mark.parametrize("scale,offset", [(1e-3, 0.0), (1e3, 0.0), (1.0, 1e4), (1e-2, 1e2)])
def test_large_and_small_magnitudes_float32(scale: float, offset: float) -> None:
    # a large offset with a small spread is where E[x²] - E[x]² would cancel; two passes do not
    x = offset + scale * rand(4, 64, seed=12, dtype=torch.float32)
    ref64 = F.layer_norm(x.double(), (64,))
    torch.testing.assert_close(N.layer_norm(x, 64).double(), ref64, rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(N.layer_norm(x, 64), F.layer_norm(x, (64,)), rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(N.rms_norm(x, 64, eps=1e-6), F.rms_norm(x, (64,), eps=1e-6))


def test_two_pass_beats_naive_variance() -> None:
    # 1e4 + [-1, 1] in float32: variance 1; E[x²] - E[x]² = 100000001 - 100000000 loses it
    x = torch.tensor([[1e4 - 1, 1e4 + 1]], dtype=torch.float32)
    y = N.layer_norm(x, 2, eps=1e-12)
    torch.testing.assert_close(y, torch.tensor([[-1.0, 1.0]]))


# --- properties ------------------------------------------------------------

rows = st.integers(2, 6)
cols = st.integers(2, 8)
seeds = st.integers(0, 10_000)


@given(rows, cols, seeds)
def test_layer_norm_sample_independent_of_batch(n: int, d: int, seed: int) -> None:
    x = rand(n, d, seed=seed)
    other = x.clone()
    other[1:] = rand(n - 1, d, seed=seed + 1) * 10
    torch.testing.assert_close(N.layer_norm(x, d)[0], N.layer_norm(other, d)[0], rtol=0, atol=0)


@given(st.integers(2, 5), st.sampled_from([1, 2, 3, 6]), seeds)
def test_group_norm_sample_independent_of_batch(n: int, groups: int, seed: int) -> None:
    x = rand(n, 6, 3, seed=seed)
    other = x.clone()
    other[1:] = rand(n - 1, 6, 3, seed=seed + 1) * 10
    torch.testing.assert_close(N.group_norm(x, groups)[0], N.group_norm(other, groups)[0], rtol=0, atol=0)


@given(cols, seeds, st.floats(0.1, 10.0), st.floats(-50, 50))
def test_layer_norm_invariant_to_shift_and_positive_scale(d: int, seed: int, a: float, b: float) -> None:
    x = rand(1, d, seed=seed)
    x = x - x.mean() + 0.5 * torch.sign(torch.arange(d) - (d - 1) / 2.0)  # spread bounded below
    y = N.layer_norm(x, d, eps=1e-12)
    torch.testing.assert_close(N.layer_norm(a * x + b, d, eps=1e-12), y, rtol=1e-7, atol=1e-7)


@given(cols, seeds, st.floats(0.01, 100.0))
def test_rms_norm_invariant_to_positive_scale(d: int, seed: int, a: float) -> None:
    x = rand(2, d, seed=seed)
    torch.testing.assert_close(N.rms_norm(a * x, d, eps=1e-12), N.rms_norm(x, d, eps=1e-12), rtol=1e-7, atol=1e-7)


def test_rms_norm_not_invariant_to_shift() -> None:
    # [1, -1] -> rms 1 -> [1, -1]; shift by 1: [2, 0] -> rms sqrt(2) -> [sqrt2, 0]
    x = torch.tensor([1.0, -1.0], dtype=F64)
    assert N.rms_norm(x, 2, eps=1e-12).tolist() == pytest.approx([1.0, -1.0])
    assert N.rms_norm(x + 1, 2, eps=1e-12).tolist() == pytest.approx([math.sqrt(2), 0.0])


@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 4), seeds)
def test_group_norm_one_group_is_layer_norm(n: int, c: int, hw: int, seed: int) -> None:
    x = rand(n, c, hw, hw, seed=seed)
    torch.testing.assert_close(N.group_norm(x, 1), N.layer_norm(x, (c, hw, hw)))
    torch.testing.assert_close(N.group_norm(x, 1), F.layer_norm(x, (c, hw, hw)))


@given(st.integers(1, 4), st.integers(1, 5), st.integers(2, 4), seeds)
def test_group_norm_c_groups_is_instance_norm(n: int, c: int, hw: int, seed: int) -> None:
    x = rand(n, c, hw, hw, seed=seed)
    torch.testing.assert_close(N.group_norm(x, c), F.instance_norm(x, eps=1e-5))


@given(st.sampled_from(["batch", "layer", "rms", "group", "instance"]), seeds)
def test_stat_groups_are_the_reduction_sets(kind: str, seed: int) -> None:
    # normalizing each labelled set separately reproduces torch's layer of that kind
    x = rand(4, 6, 3, seed=seed)
    labels = N.stat_groups(x.shape, kind, num_groups=2)
    out = torch.empty_like(x)
    for k in labels.unique():
        m = labels == k
        v = x[m]
        v = v if kind == "rms" else v - v.mean()
        out[m] = v / torch.sqrt((v * v).mean() + 1e-5)
    ref = {
        "batch": lambda: F.batch_norm(x, None, None, training=True, eps=1e-5),
        "layer": lambda: F.layer_norm(x, (6, 3)),
        "rms": lambda: F.rms_norm(x, (6, 3), eps=1e-5),
        "group": lambda: F.group_norm(x, 2),
        "instance": lambda: F.instance_norm(x),
    }[kind]()
    torch.testing.assert_close(out, ref)


# --- errors: one per message -------------------------------------------------

def test_error_non_float() -> None:
    with pytest.raises(TypeError, match="x must have a floating-point dtype"):
        N.layer_norm(torch.ones(2, 3, dtype=torch.long), 3)


def test_error_normalized_shape_mismatch() -> None:
    with pytest.raises(ValueError, match=r"normalized_shape must equal the trailing dims of x.*\(2, 3\)"):
        N.layer_norm(torch.ones(2, 3), 4)


def test_error_normalized_shape_too_long() -> None:
    with pytest.raises(ValueError, match="normalized_shape must equal the trailing dims"):
        N.rms_norm(torch.ones(3), (2, 3), eps=1e-6)


def test_error_normalized_shape_type() -> None:
    with pytest.raises(TypeError, match="normalized_shape must be an int or a non-empty sequence"):
        N.layer_norm(torch.ones(2, 3), "3")  # type: ignore[arg-type]


def test_error_normalized_shape_bool() -> None:
    with pytest.raises(TypeError, match="normalized_shape must be an int or a sequence of ints"):
        N.layer_norm(torch.ones(2, 3), True)


@pytest.mark.parametrize("eps", [0.0, -1e-5])
def test_error_eps(eps: float) -> None:
    with pytest.raises(ValueError, match=r"eps must be > 0 \(got"):
        N.layer_norm(torch.ones(2, 3), 3, eps=eps)
    with pytest.raises(ValueError, match=r"eps must be > 0"):
        N.rms_norm(torch.ones(2, 3), 3, eps=eps)
    with pytest.raises(ValueError, match=r"eps must be > 0"):
        N.group_norm(torch.ones(2, 4), 2, eps=eps)


def test_error_weight_shape() -> None:
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\) \(got \(4,\)\)"):
        N.layer_norm(torch.ones(2, 3), 3, weight=torch.ones(4))


def test_error_groups_not_dividing() -> None:
    with pytest.raises(ValueError, match=r"num_groups must divide the number of channels 6 .got 4."):
        N.group_norm(torch.ones(2, 6, 3), 4)


def test_error_module_groups_not_dividing() -> None:
    with pytest.raises(ValueError, match=r"num_groups must divide num_channels 6 .got 4."):
        N.GroupNorm(4, 6)


def test_error_group_norm_rank() -> None:
    with pytest.raises(ValueError, match=r"x must be at least 2-D \(N, C, \*\) \(got 1-D"):
        N.group_norm(torch.ones(6), 2)


def test_error_normalize_dims() -> None:
    with pytest.raises(ValueError, match=r"dims must be in \[-2, 1\] for a 2-D x \(got 2\)"):
        N.normalize(torch.ones(2, 3), (2,), center=True, eps=1e-5)
    with pytest.raises(ValueError, match="dims must not repeat an axis"):
        N.normalize(torch.ones(2, 3), (1, -1), center=True, eps=1e-5)
    with pytest.raises(TypeError, match="dims must be a non-empty tuple or list of ints"):
        N.normalize(torch.ones(2, 3), (), center=True, eps=1e-5)


def test_error_stat_groups() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        N.stat_groups((2, 3), "weight")
    with pytest.raises(ValueError, match="shape must have at least 2 dims"):
        N.stat_groups((3,), "layer")
    with pytest.raises(ValueError, match="num_groups must divide the number of channels 3"):
        N.stat_groups((2, 3), "group", num_groups=2)
