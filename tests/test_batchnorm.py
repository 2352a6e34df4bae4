"""Tests for regbook.batchnorm (chapter *batchnorm* and lab 6b): the op, its modules, the lab's backward.

Expected values come from hand arithmetic, closed forms, or torch's own
BatchNorm and autograd -- never from regbook itself. The chapter's
experiments are tested in tests/experiments/test_batchnorm.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, cast

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from regbook import batchnorm as B

F64 = torch.float64
WORKED_X = [1.0, 3.0, 5.0, 7.0]


OK: dict[str, Any] = dict(weight=None, bias=None, running_mean=None, running_var=None, training=True)


def worked(dtype: torch.dtype = F64) -> torch.Tensor:
    return torch.tensor(WORKED_X, dtype=dtype).view(4, 1)


def randn(*shape: int, seed: int = 0, dtype: torch.dtype = F64) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# --- The lecture's worked example, by hand --------------------------------


def test_worked_example_by_hand() -> None:
    # μ = (1+3+5+7)/4 = 4 ; deviations [-3,-1,1,3] ; σ² = (9+1+1+9)/4 = 5 (biased)
    # x̂ = dev / sqrt(5 + 1e-5): 3/2.2360702 = 1.3416394, 1/2.2360702 = 0.4472131
    # y = 2 x̂ + 0.5 = [-2.1832788, -0.3944263, 1.3944263, 3.1832788]
    x = worked()
    y = B.batch_norm(x, weight=torch.tensor([2.0], dtype=F64), bias=torch.tensor([0.5], dtype=F64),
                     running_mean=None, running_var=None, training=True)
    s = math.sqrt(5.0 + 1e-5)
    expected = [2 * d / s + 0.5 for d in (-3.0, -1.0, 1.0, 3.0)]
    assert y.flatten().tolist() == pytest.approx(expected, abs=1e-12)
    assert y.flatten().tolist() == pytest.approx([-2.1832788, -0.3944263, 1.3944263, 3.1832788], abs=1e-7)


def test_worked_example_cache_by_hand() -> None:
    _, cache = B.batch_norm_forward(worked(), torch.tensor([2.0], dtype=F64), torch.tensor([0.5], dtype=F64))
    assert cache.mean.item() == 4.0
    assert cache.var.item() == 5.0
    assert cache.x_hat.flatten().tolist() == pytest.approx([-1.3416394, -0.4472131, 0.4472131, 1.3416394], abs=1e-7)
    assert 1 / cache.inv_std.item() == pytest.approx(2.2360702, abs=1e-7)   # sqrt(5.00001)


def test_lecture_rounding_explains_its_y() -> None:
    # The lecture rounds x̂ to two decimals first: 2·(-1.34)+0.5 = -2.18, 2·(-0.45)+0.5 = -0.40,
    # 2·0.45+0.5 = 1.40, 2·1.34+0.5 = 3.18; exact x̂ gives -0.394 and 1.394 instead.
    rounded = [round(2 * v + 0.5, 2) for v in (-1.34, -0.45, 0.45, 1.34)]
    assert rounded == [-2.18, -0.4, 1.4, 3.18]
    y, _ = B.batch_norm_forward(worked(), torch.tensor([2.0], dtype=F64), torch.tensor([0.5], dtype=F64))
    assert [round(v, 2) for v in y.flatten().tolist()] == [-2.18, -0.39, 1.39, 3.18]


def test_exam_scores_by_hand() -> None:
    # Students = channels, homeworks = batch. A: [80, 85, 90] -> centred [-5, 0, 5], variance 50/3;
    # B: [6, 7, 8] -> [-1, 0, 1], variance 2/3; both standardize to [-sqrt(1.5), 0, sqrt(1.5)].
    scores = torch.tensor([[80.0, 6.0], [85.0, 7.0], [90.0, 8.0]], dtype=F64)
    y = B.batch_norm(scores, **{**OK, "eps": 1e-12})
    expected = torch.tensor([-math.sqrt(1.5), 0.0, math.sqrt(1.5)], dtype=F64)
    torch.testing.assert_close(y[:, 0], expected)
    torch.testing.assert_close(y[:, 1], expected)


def test_norm_axes_from_jacobians() -> None:
    # Which inputs does each output depend on? BatchNorm: its column; LayerNorm and RMSNorm: its row.
    x = randn(4, 5, seed=5)

    def pattern(f: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        jac = cast(torch.Tensor, torch.autograd.functional.jacobian(f, x))
        return jac.abs().gt(0)                           # (4, 5, 4, 5)

    same_col = torch.zeros(4, 5, 4, 5, dtype=torch.bool)
    same_row = torch.zeros(4, 5, 4, 5, dtype=torch.bool)
    for i in range(4):
        for j in range(5):
            same_col[i, j, :, j] = True
            same_row[i, j, i, :] = True
    assert torch.equal(pattern(lambda t: B.batch_norm(t, **OK)), same_col)
    assert torch.equal(pattern(lambda t: nn.functional.layer_norm(t, (5,))), same_row)
    assert torch.equal(pattern(lambda t: nn.functional.rms_norm(t, (5,), eps=1e-6)), same_row)


def test_running_stats_one_step_by_hand() -> None:
    # running_mean: 0.9·0 + 0.1·4 = 0.4 ; running_var: 0.9·1 + 0.1·(20/3) = 1.5666667 (unbiased 20/(4-1))
    rm, rv = torch.zeros(1, dtype=F64), torch.ones(1, dtype=F64)
    B.batch_norm(worked(), weight=None, bias=None, running_mean=rm, running_var=rv, training=True, momentum=0.1)
    assert rm.item() == pytest.approx(0.4, abs=1e-15)
    assert rv.item() == pytest.approx(0.9 + 0.1 * 20 / 3, abs=1e-15)


def test_eval_uses_running_stats_by_hand() -> None:
    # running mean 4, var 5: (7 - 4)/sqrt(5 + 1e-5) = 1.3416394 -> y = 2·1.3416394 + 0.5
    rm, rv = torch.tensor([4.0], dtype=F64), torch.tensor([5.0], dtype=F64)
    y = B.batch_norm(torch.tensor([[7.0]], dtype=F64), weight=torch.tensor([2.0], dtype=F64),
                     bias=torch.tensor([0.5], dtype=F64), running_mean=rm, running_var=rv, training=False)
    assert y.item() == pytest.approx(2 * 3 / math.sqrt(5.00001) + 0.5, abs=1e-12)
    assert rm.item() == 4.0 and rv.item() == 5.0     # eval does not touch the buffers


def test_backward_worked_example_by_hand() -> None:
    # dy = [1, 0, 0, 0], γ = 1: dβ = 1, dγ = x̂_0 = -3/σ;
    # dx_i = (1/(4σ))(4·dy_i - 1 - x̂_i·x̂_0) ; with σ = sqrt(5.00001)
    _, cache = B.batch_norm_forward(worked(), torch.ones(1, dtype=F64), torch.zeros(1, dtype=F64))
    dy = torch.tensor([[1.0], [0.0], [0.0], [0.0]], dtype=F64)
    dx, dgamma, dbeta = B.batch_norm_backward(dy, cache)
    s = math.sqrt(5.00001)
    xh = [d / s for d in (-3.0, -1.0, 1.0, 3.0)]
    expected = [(4 * (i == 0) - 1 - xh[i] * xh[0]) / (4 * s) for i in range(4)]
    assert dx.flatten().tolist() == pytest.approx(expected, abs=1e-12)
    assert dgamma.item() == pytest.approx(-3 / s, abs=1e-12)
    assert dbeta.item() == 1.0


# --- Properties ----------------------------------------------------------

shapes = st.sampled_from([(5, 3), (4, 2, 3), (3, 2, 2, 3)])


@settings(max_examples=25)
@given(shapes, st.integers(0, 10_000), st.floats(0.1, 5.0), st.floats(-3.0, 3.0))
def test_training_output_has_mean_beta_and_std_gamma(shape: tuple[int, ...], seed: int, g: float, b: float) -> None:
    x = 3.0 * randn(*shape, seed=seed) + 2.0
    c = shape[1]
    y = B.batch_norm(x, weight=torch.full((c,), g, dtype=F64), bias=torch.full((c,), b, dtype=F64),
                     running_mean=None, running_var=None, training=True, eps=1e-12)
    dims = [0, *range(2, x.ndim)]
    torch.testing.assert_close(y.mean(dim=dims), torch.full((c,), b, dtype=F64))
    torch.testing.assert_close(y.std(dim=dims, correction=0), torch.full((c,), g, dtype=F64))


@given(st.integers(0, 10_000), st.floats(0.1, 10.0), st.floats(-10.0, 10.0))
def test_training_output_invariant_to_affine_input(seed: int, scale: float, shift: float) -> None:
    # BN removes any per-channel a·x + b (a > 0): the property that decouples it from the previous layer's scale.
    x = randn(8, 4, seed=seed)
    kw: dict[str, Any] = dict(weight=None, bias=None, running_mean=None, running_var=None, training=True, eps=1e-12)
    torch.testing.assert_close(B.batch_norm(scale * x + shift, **kw), B.batch_norm(x, **kw))


@given(st.integers(0, 10_000))
def test_eval_output_does_not_depend_on_batch(seed: int) -> None:
    x = randn(6, 3, seed=seed)
    rm, rv = randn(3, seed=seed + 1), randn(3, seed=seed + 2).abs() + 0.5
    kw: dict[str, Any] = dict(weight=None, bias=None, running_mean=rm, running_var=rv, training=False)
    whole = B.batch_norm(x, **kw)
    one_by_one = torch.cat([B.batch_norm(x[i : i + 1], **kw) for i in range(6)])
    torch.testing.assert_close(whole, one_by_one)


@settings(max_examples=25)
@given(st.integers(0, 10_000), st.integers(2, 9), st.integers(1, 5))
def test_backward_gradients_sum_to_zero(seed: int, n: int, d: int) -> None:
    # Shifting every x_i by the same amount leaves y unchanged, so Σ_i dx_i = 0;
    # scaling likewise gives Σ_i dx_i · x̂_i = 0 (exactly only as eps -> 0, hence eps = 1e-12).
    x, dy = randn(n, d, seed=seed), randn(n, d, seed=seed + 1)
    _, cache = B.batch_norm_forward(x, randn(d, seed=seed + 2), randn(d, seed=seed + 3), eps=1e-12)
    dx, _, _ = B.batch_norm_backward(dy, cache)
    torch.testing.assert_close(dx.sum(dim=0), torch.zeros(d, dtype=F64), atol=1e-10, rtol=0)
    torch.testing.assert_close((dx * cache.x_hat).sum(dim=0), torch.zeros(d, dtype=F64), atol=1e-8, rtol=0)


# --- Parity with torch ---------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs", "shape"),
    [
        (B.BatchNorm1d, nn.BatchNorm1d, (8, 5)),
        (B.BatchNorm1d, nn.BatchNorm1d, (6, 5, 7)),
        (B.BatchNorm2d, nn.BatchNorm2d, (4, 5, 3, 6)),
    ],
)
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_module_parity_with_torch(ours: Any, theirs: Any, shape: tuple[int, ...],
                                  momentum: float | None) -> None:
    c = shape[1]
    a, t = ours(c, momentum=momentum, dtype=F64), theirs(c, momentum=momentum, dtype=F64)
    with torch.no_grad():
        for m in (a, t):
            m.weight.copy_(randn(c, seed=1))
            m.bias.copy_(randn(c, seed=2))
    for step in range(5):
        x = (1.5 * randn(*shape, seed=10 + step) + 0.7).requires_grad_(True)
        x2 = x.detach().clone().requires_grad_(True)
        ya, yt = a(x), t(x2)
        torch.testing.assert_close(ya, yt)
        (ya * randn(*shape, seed=99)).sum().backward()
        (yt * randn(*shape, seed=99)).sum().backward()
        torch.testing.assert_close(x.grad, x2.grad)
        torch.testing.assert_close(a.weight.grad, t.weight.grad)
        torch.testing.assert_close(a.bias.grad, t.bias.grad)
    torch.testing.assert_close(a.running_mean, t.running_mean)
    torch.testing.assert_close(a.running_var, t.running_var)
    assert int(a.num_batches_tracked) == int(t.num_batches_tracked) == 5
    a.eval()
    t.eval()
    x = randn(*shape, seed=123)
    torch.testing.assert_close(a(x), t(x))
    torch.testing.assert_close(a(x[:1]), t(x[:1]))     # eval works for a batch of one


@pytest.mark.parametrize(("affine", "track"), [(False, True), (True, False), (False, False)])
def test_module_flags_parity_with_torch(affine: bool, track: bool) -> None:
    a = B.BatchNorm1d(4, affine=affine, track_running_stats=track, dtype=F64)
    t = nn.BatchNorm1d(4, affine=affine, track_running_stats=track, dtype=F64)
    for step in range(3):
        x = randn(6, 4, seed=step)
        torch.testing.assert_close(a(x), t(x))
    a.eval()
    t.eval()
    x = randn(6, 4, seed=50)
    torch.testing.assert_close(a(x), t(x))
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in a.named_buffers()] == [n for n, _ in t.named_buffers()]


def test_state_dict_loads_into_torch() -> None:
    a = B.BatchNorm2d(3)
    a(randn(4, 3, 2, 2, dtype=torch.float32))
    t = nn.BatchNorm2d(3)
    t.load_state_dict(a.state_dict())
    torch.testing.assert_close(t.running_var, a.running_var)


def test_pytorch_counts_two_params_two_buffers_per_channel() -> None:
    # nn.BatchNorm2d(128): γ, β learnable (2·128 = 256 numbers), running_mean/var buffers (2·128),
    # plus one scalar counter; initialized to the identity γ = 1, β = 0.
    layers: list[Any] = [nn.BatchNorm2d(128), B.BatchNorm2d(128)]
    for bn in layers:
        assert sum(p.numel() for p in bn.parameters()) == 256
        assert bn.running_mean.numel() + bn.running_var.numel() == 256
        assert bool((bn.weight == 1).all()) and bool((bn.bias == 0).all())
        assert bool((bn.running_mean == 0).all()) and bool((bn.running_var == 1).all())


def test_functional_parity_with_torch_functional() -> None:
    x = randn(5, 3, 4, seed=3)
    w, b = randn(3, seed=4), randn(3, seed=5)
    rm_a, rv_a = torch.zeros(3, dtype=F64), torch.ones(3, dtype=F64)
    rm_t, rv_t = rm_a.clone(), rv_a.clone()
    ya = B.batch_norm(x, weight=w, bias=b, running_mean=rm_a, running_var=rv_a, training=True, momentum=0.2, eps=1e-3)
    yt = nn.functional.batch_norm(x, rm_t, rv_t, w, b, training=True, momentum=0.2, eps=1e-3)
    torch.testing.assert_close(ya, yt)
    torch.testing.assert_close(rm_a, rm_t)
    torch.testing.assert_close(rv_a, rv_t)


def test_training_flag_not_grad_mode() -> None:
    # Under no_grad, training=True still uses batch statistics and updates the buffers.
    rm, rv = torch.zeros(1, dtype=F64), torch.ones(1, dtype=F64)
    with torch.no_grad():
        y = B.batch_norm(worked(), weight=None, bias=None, running_mean=rm, running_var=rv, training=True)
    assert y.mean().item() == pytest.approx(0.0, abs=1e-12)
    assert rm.item() == pytest.approx(0.4)


# --- Lab 6b: forward and backward by hand --------------------------------


def test_lab_forward_parity_with_batchnorm1d() -> None:
    x = randn(16, 5, seed=7)
    g, b = randn(5, seed=8), randn(5, seed=9)
    t = nn.BatchNorm1d(5, dtype=F64)
    with torch.no_grad():
        t.weight.copy_(g)
        t.bias.copy_(b)
    y, _ = B.batch_norm_forward(x, g, b, eps=1e-5)
    torch.testing.assert_close(y, t(x))


def test_lab_backward_matches_autograd() -> None:
    x = randn(16, 5, seed=11).requires_grad_(True)
    g = randn(5, seed=12).requires_grad_(True)
    b = randn(5, seed=13).requires_grad_(True)
    dy = randn(16, 5, seed=14)
    nn.functional.batch_norm(x, None, None, g, b, training=True, eps=1e-5).backward(dy)
    _, cache = B.batch_norm_forward(x.detach(), g.detach(), b.detach(), eps=1e-5)
    dx, dgamma, dbeta = B.batch_norm_backward(dy, cache)
    torch.testing.assert_close(dx, x.grad)
    torch.testing.assert_close(dgamma, g.grad)
    torch.testing.assert_close(dbeta, b.grad)


def test_lab_gradcheck_float64() -> None:
    x = randn(6, 3, seed=21).requires_grad_(True)
    g = randn(3, seed=22).requires_grad_(True)
    b = randn(3, seed=23).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x, g, b: B.batch_norm_by_hand(x, g, b, eps=1e-5), (x, g, b))


def test_lab_backward_matches_finite_differences() -> None:
    # Central differences of L = Σ dy·y in float64, entry by entry.
    x, g, b, dy = randn(5, 2, seed=31), randn(2, seed=32), randn(2, seed=33), randn(5, 2, seed=34)
    _, cache = B.batch_norm_forward(x, g, b)
    dx, dgamma, dbeta = B.batch_norm_backward(dy, cache)

    def loss(x: torch.Tensor, g: torch.Tensor, b: torch.Tensor) -> float:
        return float((B.batch_norm_forward(x, g, b)[0] * dy).sum())

    h = 1e-6
    for tensor, grad in ((x, dx), (g, dgamma), (b, dbeta)):
        flat, gflat = tensor.view(-1), grad.reshape(-1)
        for i in range(flat.numel()):
            old = flat[i].item()
            flat[i] = old + h
            up = loss(x, g, b)
            flat[i] = old - h
            down = loss(x, g, b)
            flat[i] = old
            assert (up - down) / (2 * h) == pytest.approx(gflat[i].item(), abs=1e-6)


def test_lab_running_stats_match_torch_after_several_steps() -> None:
    t = nn.BatchNorm1d(4, momentum=0.1, dtype=F64)
    rm, rv = torch.zeros(4, dtype=F64), torch.ones(4, dtype=F64)
    for step in range(6):
        x = 2.0 * randn(10, 4, seed=40 + step) + 1.0
        t(x)
        _, cache = B.batch_norm_forward(x, torch.ones(4, dtype=F64), torch.zeros(4, dtype=F64))
        B.update_running_stats(rm, rv, cache, momentum=0.1)
    torch.testing.assert_close(rm, t.running_mean)
    torch.testing.assert_close(rv, t.running_var)


# --- Errors: one test per message ----------------------------------------

def test_error_one_value_per_channel() -> None:
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        B.batch_norm(torch.ones(1, 3), **OK)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        B.BatchNorm1d(3)(torch.ones(1, 3))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        B.batch_norm_forward(torch.ones(1, 3), torch.ones(3), torch.zeros(3))


def test_error_rank() -> None:
    with pytest.raises(ValueError, match=r"x must be 2-D \(N, C\), 3-D .* \(got 5-D input"):
        B.batch_norm(torch.ones(2, 3, 2, 2, 2), **OK)
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        B.BatchNorm1d(3)(torch.ones(2, 3, 2, 2))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
        B.BatchNorm2d(3)(torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"x must be 2-D \(got 3-D"):
        B.batch_norm_forward(torch.ones(2, 3, 4), torch.ones(3), torch.zeros(3))


def test_error_channel_mismatch() -> None:
    msg = r"weight must have shape \(3,\), one entry per channel of x \(got shape \(4,\)\)"
    with pytest.raises(ValueError, match=msg):
        B.batch_norm(torch.ones(2, 3), **{**OK, "weight": torch.ones(4)})
    with pytest.raises(ValueError, match=r"running_var must have shape \(3,\)"):
        B.batch_norm(torch.ones(2, 3), **{**OK, "running_mean": torch.zeros(3), "running_var": torch.ones(2)})
    with pytest.raises(ValueError, match=r"gamma must have shape \(3,\)"):
        B.batch_norm_forward(torch.ones(2, 3), torch.ones(2), torch.zeros(3))


def test_error_momentum_range() -> None:
    with pytest.raises(ValueError, match=r"momentum must be in \[0.0, 1.0\] \(got 1.5\)"):
        B.batch_norm(torch.ones(2, 3), **OK, momentum=1.5)
    with pytest.raises(ValueError, match=r"momentum must be in \[0.0, 1.0\] \(got -0.1\)"):
        B.BatchNorm1d(3, momentum=-0.1)


def test_error_eps() -> None:
    with pytest.raises(ValueError, match=r"eps must be > 0 \(got 0.0\)"):
        B.batch_norm(torch.ones(2, 3), **OK, eps=0.0)
    with pytest.raises(ValueError, match=r"eps must be > 0 \(got -1e-05\)"):
        B.batch_norm_forward(torch.ones(2, 3), torch.ones(3), torch.zeros(3), eps=-1e-5)


def test_error_non_float() -> None:
    with pytest.raises(TypeError, match="x must have a floating-point dtype"):
        B.batch_norm(torch.ones(2, 3, dtype=torch.long), **OK)
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor"):
        B.batch_norm([[1.0, 2.0]], **OK)  # type: ignore[arg-type]


def test_error_nan_inf() -> None:
    with pytest.raises(ValueError, match=r"x must contain only finite values \(got NaN or inf\)"):
        B.batch_norm(torch.tensor([[1.0], [math.nan]]), **OK)
    with pytest.raises(ValueError, match=r"x must contain only finite values"):
        B.BatchNorm1d(1)(torch.tensor([[1.0], [math.inf]]))


def test_error_training_flag_type() -> None:
    with pytest.raises(TypeError, match="training must be a bool"):
        B.batch_norm(torch.ones(2, 3), **{**OK, "training": 1})


def test_error_running_buffers_pairing() -> None:
    with pytest.raises(ValueError, match="running_mean and running_var must be given together"):
        B.batch_norm(torch.ones(2, 3), **{**OK, "running_mean": torch.zeros(3)})
    with pytest.raises(ValueError, match=r"training=False needs running_mean and running_var"):
        B.batch_norm(torch.ones(2, 3), **{**OK, "training": False})


def test_error_backward_shape() -> None:
    _, cache = B.batch_norm_forward(torch.randn(4, 2), torch.ones(2), torch.zeros(2))
    with pytest.raises(ValueError, match=r"dy must have the shape of the forward input \(4, 2\) \(got \(4, 3\)\)"):
        B.batch_norm_backward(torch.ones(4, 3), cache)


def test_error_num_features() -> None:
    with pytest.raises(ValueError, match=r"num_features must be >= 1 \(got 0\)"):
        B.BatchNorm2d(0)


# --- Every parameter matters: each test fails if the op ignores it --------


def test_lab_forward_uses_eps() -> None:
    # eps = 0.5 (not the default): x̂ = d / sqrt(5 + 0.5) for the worked batch.
    y, cache = B.batch_norm_forward(worked(), torch.ones(1, dtype=F64), torch.zeros(1, dtype=F64), eps=0.5)
    assert y.flatten().tolist() == pytest.approx([d / math.sqrt(5.5) for d in (-3.0, -1.0, 1.0, 3.0)], abs=1e-12)
    assert 1 / cache.inv_std.item() == pytest.approx(math.sqrt(5.5), abs=1e-12)


def test_lab_by_hand_uses_eps_forward_and_backward() -> None:
    x = randn(7, 3, seed=61).requires_grad_(True)
    x2 = x.detach().clone().requires_grad_(True)
    g, b, dy = randn(3, seed=62), randn(3, seed=63), randn(7, 3, seed=64)
    ours = B.batch_norm_by_hand(x, g, b, eps=0.3)
    theirs = nn.functional.batch_norm(x2, None, None, g, b, training=True, eps=0.3)
    torch.testing.assert_close(ours, theirs)
    ours.backward(dy)
    theirs.backward(dy)
    torch.testing.assert_close(x.grad, x2.grad)


def test_update_running_stats_uses_momentum() -> None:
    # momentum 0.3 on the worked batch: mean 0.7·0 + 0.3·4 = 1.2 ; var 0.7·1 + 0.3·20/3 = 2.7
    _, cache = B.batch_norm_forward(worked(), torch.ones(1, dtype=F64), torch.zeros(1, dtype=F64))
    rm, rv = torch.zeros(1, dtype=F64), torch.ones(1, dtype=F64)
    B.update_running_stats(rm, rv, cache, momentum=0.3)
    assert rm.item() == pytest.approx(1.2, abs=1e-12)
    assert rv.item() == pytest.approx(2.7, abs=1e-12)


@pytest.mark.parametrize("module", [B.BatchNorm1d, B.BatchNorm2d])
def test_module_uses_eps(module: type[B.BatchNormBase]) -> None:
    shape = (6, 3) if module is B.BatchNorm1d else (4, 3, 2, 2)
    theirs_cls = nn.BatchNorm1d if module is B.BatchNorm1d else nn.BatchNorm2d
    a, t = module(3, eps=0.25, dtype=F64), theirs_cls(3, eps=0.25, dtype=F64)
    x = randn(*shape, seed=71)
    torch.testing.assert_close(a(x), t(x))
    a.eval()
    t.eval()
    torch.testing.assert_close(a(x), t(x))


def test_weight_and_bias_none_mean_one_and_zero() -> None:
    x = randn(5, 3, seed=81)
    kw: dict[str, Any] = dict(running_mean=None, running_var=None, training=True)
    plain = B.batch_norm(x, weight=None, bias=None, **kw)
    torch.testing.assert_close(plain, B.batch_norm(x, weight=torch.ones(3, dtype=F64),
                                                   bias=torch.zeros(3, dtype=F64), **kw))
    # and a real γ, β act: y = γ x̂ + β, with x̂ from torch
    g, b = torch.tensor([2.0, -1.0, 0.5], dtype=F64), torch.tensor([0.1, 0.2, 0.3], dtype=F64)
    x_hat = nn.functional.batch_norm(x, None, None, training=True)
    torch.testing.assert_close(B.batch_norm(x, weight=g, bias=b, **kw), g * x_hat + b)


# --- Hostile input: every check comes before any state changes (issue 17) --


def _state(m: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in m.state_dict().items()}


@pytest.mark.parametrize("momentum", [0.1, None])
def test_rejected_batch_changes_no_module_state(momentum: float | None) -> None:
    bn = B.BatchNorm1d(3, momentum=momentum)
    bn(randn(4, 3, seed=90, dtype=torch.float32))
    before = _state(bn)
    bad = [torch.ones(1, 3),                                  # one value per channel
           torch.full((4, 3), math.nan),                      # NaN
           torch.ones(4, 3, device="meta"),                   # another device than the module
           torch.ones(4, 2)]                                  # wrong channel count
    for x in bad:
        with pytest.raises((TypeError, ValueError), match=r"^(x |Expected more than 1 value per channel)"):
            bn(x)
        after = _state(bn)
        assert all(torch.equal(before[k], after[k]) for k in before), f"state changed by {x.shape} {x.device}"
    bn.momentum = 1.5  # a corrupted attribute is caught too, before num_batches_tracked moves
    with pytest.raises(ValueError, match="momentum"):
        bn(randn(4, 3, seed=91, dtype=torch.float32))
    assert int(bn.num_batches_tracked) == int(before["num_batches_tracked"])


def test_batch_norm_checks_every_buffer_before_updating_any() -> None:
    rm = torch.zeros(3)
    for bad_var in (torch.ones(3, device="meta"), torch.ones(3, dtype=torch.long), torch.ones(2)):
        with pytest.raises((TypeError, ValueError), match="running_var"):
            B.batch_norm(torch.randn(4, 3), weight=None, bias=None, running_mean=rm, running_var=bad_var,
                         training=True)
        assert torch.equal(rm, torch.zeros(3))


def test_update_running_stats_checks_before_updating() -> None:
    _, cache = B.batch_norm_forward(worked(), torch.ones(1, dtype=F64), torch.zeros(1, dtype=F64))
    rm, rv = torch.zeros(1, dtype=F64), torch.ones(1, dtype=F64)
    with pytest.raises(TypeError, match="cache must be a BatchNormCache"):
        B.update_running_stats(rm, rv, object(), momentum=0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"running_var must be a torch\.Tensor"):
        B.update_running_stats(rm, None, cache)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"momentum must be in \[0.0, 1.0\]"):
        B.update_running_stats(rm, rv, cache, momentum=2.0)
    assert rm.item() == 0.0 and rv.item() == 1.0


def test_flags_are_real_bools() -> None:
    for flag in ("affine", "track_running_stats"):
        with pytest.raises(TypeError, match=f"{flag} must be a bool"):
            B.BatchNorm1d(3, **{flag: "False"})
        with pytest.raises(TypeError, match=f"{flag} must be a bool"):
            B.BatchNorm1d(3, **{flag: 1})
    with pytest.raises(TypeError, match="training must be a bool"):
        B.batch_norm(torch.ones(2, 3), **{**OK, "training": "False"})


def test_constructor_limits() -> None:
    with pytest.raises(ValueError, match="num_features must be <= 2147483647"):
        B.BatchNorm1d(2**64)
    with pytest.raises(TypeError, match="dtype must be a floating-point dtype"):
        B.BatchNorm2d(3, dtype=torch.int64)


def test_meta_tensors_like_torch() -> None:
    meta = {"device": "meta"}
    x = torch.empty(4, 3, 5, **meta)
    rm, rv, w, b = (torch.empty(3, **meta) for _ in range(4))
    for training in (True, False):
        ours = B.batch_norm(x, weight=w, bias=b, running_mean=rm, running_var=rv, training=training)
        theirs = nn.functional.batch_norm(x, rm, rv, w, b, training)
        assert ours.is_meta and ours.shape == theirs.shape and ours.dtype == theirs.dtype
    for ours_m, theirs_m, shape in ((B.BatchNorm1d(3), nn.BatchNorm1d(3), (4, 3)),
                                    (B.BatchNorm2d(3, momentum=None), nn.BatchNorm2d(3), (2, 3, 2, 2))):
        xs = torch.empty(*shape, **meta)
        out, ref = ours_m.to("meta")(xs), theirs_m.to("meta")(xs)
        assert out.is_meta and out.shape == ref.shape
    # mismatched devices: torch raises, and so do we, naming the argument
    with pytest.raises(RuntimeError):
        nn.functional.batch_norm(torch.ones(4, 3), rm, rv, training=True)
    with pytest.raises(ValueError, match=r"running_mean must be on the device of x \(cpu\) \(got meta\)"):
        B.batch_norm(torch.ones(4, 3), weight=None, bias=None, running_mean=rm, running_var=rv, training=True)
    with pytest.raises(ValueError, match=r"x must be on the module's device cpu \(got meta\)"):
        B.BatchNorm1d(3)(torch.ones(4, 3, **meta))
    _, cache = B.batch_norm_forward(torch.randn(4, 3), torch.ones(3), torch.zeros(3))
    with pytest.raises(ValueError, match=r"dy must be on the device of cache\.x_hat"):
        B.batch_norm_backward(torch.ones(4, 3, **meta), cache)
    y, meta_cache = B.batch_norm_forward(torch.empty(4, 3, **meta), torch.empty(3, **meta), torch.empty(3, **meta))
    assert y.is_meta and meta_cache.x_hat.is_meta


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("training", [True, False])
def test_half_precision_input_keeps_its_dtype_like_torch(dtype: torch.dtype, training: bool) -> None:
    x = randn(6, 3, 4, seed=92, dtype=torch.float32).to(dtype)
    ours, theirs = B.BatchNorm1d(3).train(training), nn.BatchNorm1d(3).train(training)
    with torch.no_grad():
        for m in (ours, theirs):
            m.running_mean.copy_(torch.tensor([0.1, -0.2, 0.3]))
            m.running_var.copy_(torch.tensor([0.5, 1.5, 2.0]))
    out, ref = ours(x), theirs(x)
    assert out.dtype == ref.dtype == dtype
    torch.testing.assert_close(out.float(), ref.float(), atol=2e-2, rtol=2e-2)
    torch.testing.assert_close(ours.running_mean, theirs.running_mean, atol=1e-3, rtol=1e-3)
    torch.testing.assert_close(ours.running_var, theirs.running_var, atol=1e-3, rtol=1e-3)
    functional = B.batch_norm(x, weight=None, bias=None, running_mean=None, running_var=None, training=True)
    assert functional.dtype == nn.functional.batch_norm(x, None, None, training=True).dtype == dtype


def test_lab_forward_rejects_an_overflowing_variance() -> None:
    with pytest.raises(ValueError, match="x is too large"):
        B.batch_norm_forward(randn(4, 3, seed=93, dtype=torch.float32) * 1e30, torch.ones(3), torch.zeros(3))


def test_cache_and_lab_inputs_are_checked() -> None:
    with pytest.raises(TypeError, match=r"gamma must be a torch\.Tensor"):
        B.batch_norm_forward(torch.randn(4, 3), None, torch.zeros(3))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cache must be a BatchNormCache"):
        B.batch_norm_backward(torch.ones(4, 3), object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"gamma must have shape \(3,\)"):
        B.BatchNormCache(torch.zeros(4, 3), torch.ones(4), torch.ones(3), torch.zeros(3), torch.ones(3))
    with pytest.raises(ValueError, match="x_hat must have at least 2 rows"):
        B.BatchNormCache(torch.zeros(1, 3), torch.ones(3), torch.ones(3), torch.zeros(3), torch.ones(3))


# --- Second derivatives through the hand-written backward -----------------


def test_lab_gradgradcheck_float64() -> None:
    x, g, b = randn(5, 3, seed=94), randn(3, seed=95), randn(3, seed=96)
    inputs = tuple(t.requires_grad_(True) for t in (x, g, b))
    assert torch.autograd.gradgradcheck(lambda a, c, d: B.batch_norm_by_hand(a, c, d, eps=1e-3), inputs)


def test_lab_double_backward_matches_torch() -> None:
    x, g, b, v = randn(6, 2, seed=97), randn(2, seed=98), randn(2, seed=99), randn(6, 2, seed=100)
    grads = []
    for fn in (lambda a, c, d: B.batch_norm_by_hand(a, c, d, eps=1e-5),
               lambda a, c, d: nn.functional.batch_norm(a, None, None, c, d, training=True, eps=1e-5)):
        xs, gs, bs = (t.detach().clone().requires_grad_(True) for t in (x, g, b))
        y = fn(xs, gs, bs)
        (dx,) = torch.autograd.grad(y.pow(3).sum(), xs, create_graph=True)
        grads.append(torch.autograd.grad((dx * v).sum(), (xs, gs)))     # a Hessian-vector product
    for ours, theirs in zip(*grads, strict=True):
        torch.testing.assert_close(ours, theirs)
