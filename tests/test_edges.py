"""Numerical edges, across regbook's normalizations, dropout and label smoothing.

For each dtype torch supports on the CPU (float32, float16, bfloat16) and for
inputs that break naive code (constant rows: zero variance; all-zero rows for
RMSNorm; magnitudes whose squares overflow the dtype; tiny magnitudes; a large
offset with unit spread), the from-scratch version must be finite wherever
torch's own is, and as accurate as torch's kernel: its distance from the
float64 result on the same input is at most twice torch's, or within the
dtype's precision. (On such inputs torch's float16/bfloat16 batch_norm on the
CPU is itself off by up to 0.5; regbook keeps statistics in float32.)
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from regbook import batchnorm as B
from regbook import dropout as D
from regbook import label_smoothing as L
from regbook import norms as N

DTYPES = [torch.float32, torch.float16, torch.bfloat16]
TOL = {torch.float32: 1e-4, torch.float16: 2e-2, torch.bfloat16: 8e-2}
# |x| whose square overflows the dtype (float16 max 65504, bfloat16 and float32 max ~3.4e38)
HUGE = {torch.float32: 1e20, torch.float16: 600.0, torch.bfloat16: 1e20}

Pair = tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]
PAIRS: dict[str, Pair] = {
    "layer_norm": (lambda x: N.layer_norm(x, 16, eps=1e-5), lambda x: F.layer_norm(x, (16,), eps=1e-5)),
    "rms_norm": (lambda x: N.rms_norm(x, 16, eps=1e-6), lambda x: F.rms_norm(x, (16,), eps=1e-6)),
    "group_norm": (lambda x: N.group_norm(x.view(4, 8, 2), 4, eps=1e-5).view(4, 16),
                   lambda x: F.group_norm(x.view(4, 8, 2), 4, eps=1e-5).view(4, 16)),
    "batch_norm": (lambda x: B.batch_norm(x, weight=None, bias=None, running_mean=None, running_var=None,
                                          training=True, eps=1e-5),
                   lambda x: F.batch_norm(x, None, None, training=True, eps=1e-5)),
}


def inputs(kind: str, dtype: torch.dtype) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    base = torch.randn(4, 16, generator=g, dtype=torch.float64)
    if kind == "constant":
        x = torch.full((4, 16), 3.0, dtype=torch.float64)
    elif kind == "zeros":
        x = torch.zeros(4, 16, dtype=torch.float64)
    elif kind == "huge":
        x = base * HUGE[dtype]
    elif kind == "tiny":
        x = base * 1e-3
    else:  # shifted: a large offset with unit spread, where E[x²] - E[x]² would cancel
        x = base + (100.0 if dtype != torch.float32 else 1e4)
    return x.to(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("kind", ["constant", "zeros", "huge", "tiny", "shifted"])
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_norms_are_finite_where_torch_is_and_agree(name: str, kind: str, dtype: torch.dtype) -> None:
    ours, theirs = PAIRS[name]
    x = inputs(kind, dtype)
    truth = theirs(x.double())  # the exact normalization of the same (already rounded) input
    expected, got = theirs(x), ours(x)
    assert got.dtype == dtype and got.shape == x.shape
    finite = torch.isfinite(expected) & torch.isfinite(truth)
    assert bool(torch.isfinite(got[finite]).all()), f"{name}: NaN/inf where torch is finite ({kind}, {dtype})"
    if not bool(finite.any()):
        return  # torch's kernel overflows everywhere here (float32 LayerNorm at 1e20); nothing to compare
    # As accurate as torch's own kernel (within a factor 2), or within the dtype's precision.
    err_ours = float((got.double() - truth)[finite].abs().max())
    err_torch = float((expected.double() - truth)[finite].abs().max())
    assert err_ours <= max(2 * err_torch, TOL[dtype]), f"error {err_ours:.2e} vs torch's {err_torch:.2e}"


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_dropout_keeps_dtype_and_scale(dtype: torch.dtype) -> None:
    h = torch.linspace(-3, 3, 4096, dtype=torch.float64).to(dtype)
    out = D.dropout(h, drop_prob=0.25, training=True, generator=torch.Generator().manual_seed(0))
    assert out.dtype == dtype
    kept = out != 0
    # survivors are h / 0.75, computed in the dtype (one rounding), like torch's own
    torch.testing.assert_close(out[kept], (h / 0.75)[kept], rtol=TOL[dtype], atol=TOL[dtype])
    assert D.dropout(h, drop_prob=0.25, training=False) is h


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_label_smoothed_loss_on_low_precision_and_large_logits(dtype: torch.dtype, scale: float) -> None:
    g = torch.Generator().manual_seed(1)
    logits = (torch.randn(8, 10, generator=g, dtype=torch.float64) * scale).to(dtype)
    y = torch.randint(0, 10, (8,), generator=g)
    truth = F.cross_entropy(logits.double(), y, label_smoothing=0.1)
    got = L.smoothed_cross_entropy(logits, y, alpha=0.1)
    expected = F.cross_entropy(logits, y, label_smoothing=0.1)
    assert torch.isfinite(got) and got.dtype == expected.dtype
    err_ours, err_torch = abs(float(got) - float(truth)), abs(float(expected) - float(truth))
    assert err_ours <= max(2 * err_torch, TOL[dtype] * float(truth)), (err_ours, err_torch)
