"""Tests for regbook.label_smoothing.

Expected values come from hand arithmetic, closed forms, or torch's own
``cross_entropy(..., label_smoothing=...)`` -- never from regbook itself.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from regbook import label_smoothing as L

F64 = torch.float64


# --- The lecture's worked examples, by hand -----------------------------------

def test_lecture_example_k4() -> None:
    # K = 4, α = 0.1, label at index 1: α/K = 0.1/4 = 0.025; 1 - 0.1 + 0.025 = 0.925
    out = L.smooth_targets(torch.tensor([1]), num_classes=4, alpha=0.1)
    assert out.dtype == torch.float32 and out.shape == (1, 4)
    torch.testing.assert_close(out, torch.tensor([[0.025, 0.925, 0.025, 0.025]]))


def test_lecture_example_k10_third_position() -> None:
    # K = 10, α = 0.1: α/K = 0.01; 0.9 + 0.01 = 0.91 at the third position (index 2, the lecture's "class 3")
    out = L.smooth_targets(torch.tensor([2]), num_classes=10, alpha=0.1)
    expected = torch.full((1, 10), 0.01)
    expected[0, 2] = 0.91
    torch.testing.assert_close(out, expected)


def test_mixture_form_matches_compact_form() -> None:
    # (1 - α) y_hard + α y_uniform, step by step, with y_hard = e_2 and y_uniform = 1/K
    hard = F.one_hot(torch.tensor([2]), 10).float()
    uniform = torch.full((1, 10), 1 / 10)
    ours = L.smooth_targets(torch.tensor([2]), num_classes=10, alpha=0.1)
    torch.testing.assert_close(ours, 0.9 * hard + 0.1 * uniform)


def test_uniform_logits_give_log_k() -> None:
    # softmax(0) = 1/K for every class; -Σ q_k log(1/K) = log K since Σ q_k = 1
    loss = L.smoothed_cross_entropy(torch.zeros(3, 4, dtype=F64), torch.tensor([0, 1, 3]), alpha=0.3)
    assert loss.item() == pytest.approx(math.log(4), abs=1e-15)


def test_optimal_gap_closed_form_by_hand() -> None:
    # K = 10, α = 0.1: log(0.91 / 0.01) = log 91; K = 4: log(0.925 / 0.025) = log 37; α = 1: log 1 = 0
    assert L.optimal_logit_gap(num_classes=10, alpha=0.1) == pytest.approx(math.log(91), rel=1e-14)
    assert L.optimal_logit_gap(num_classes=4, alpha=0.1) == pytest.approx(math.log(37), rel=1e-14)
    assert L.optimal_logit_gap(num_classes=5, alpha=1.0) == 0.0


def test_ece_by_hand() -> None:
    # confidences 0.9 (right), 0.8 (wrong), 0.6 (right), 0.7 (wrong); 4 bins of width 0.25:
    # bin (0.5, 0.75]: conf 0.65, acc 0.5 -> 2/4 * 0.15; bin (0.75, 1]: conf 0.85, acc 0.5 -> 2/4 * 0.35; sum 0.25
    p = torch.tensor([[0.1, 0.9], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]], dtype=F64)
    y = torch.tensor([1, 0, 0, 1])
    assert L.expected_calibration_error(p, y, num_bins=4) == pytest.approx(0.25, abs=1e-12)
    # one-hot predictions that are all right are perfectly calibrated
    assert L.expected_calibration_error(torch.eye(3, dtype=F64), torch.arange(3), num_bins=10) == 0.0


# --- Parity with torch ------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.5, 1.0])
def test_parity_with_torch_cross_entropy(reduction: str, alpha: float) -> None:
    gen = torch.Generator().manual_seed(0)
    logits = 5 * torch.randn(16, 7, generator=gen, dtype=F64)
    y = torch.randint(0, 7, (16,), generator=gen)
    ours = L.smoothed_cross_entropy(logits, y, alpha=alpha, reduction=reduction)
    theirs = F.cross_entropy(logits, y, label_smoothing=alpha, reduction=reduction)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)


def test_parity_gradients_and_module() -> None:
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(8, 10, generator=gen, dtype=F64, requires_grad=True)
    y = torch.randint(0, 10, (8,), generator=gen)
    (g_ours,) = torch.autograd.grad(L.smoothed_cross_entropy(logits, y, alpha=0.1), logits)
    (g_torch,) = torch.autograd.grad(torch.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, y), logits)
    torch.testing.assert_close(g_ours, g_torch, rtol=1e-12, atol=1e-14)
    # the gradient is (softmax(z) - y_smooth) / N, in closed form
    q = L.smooth_targets(y, num_classes=10, alpha=0.1).double()
    torch.testing.assert_close(g_ours, (logits.detach().softmax(1) - q) / 8, rtol=1e-6, atol=1e-8)
    module = L.LabelSmoothingCrossEntropy(label_smoothing=0.1, reduction="sum")
    torch.testing.assert_close(module(logits, y), F.cross_entropy(logits, y, label_smoothing=0.1, reduction="sum"))


def test_torch_also_rejects_alpha_above_one() -> None:
    with pytest.raises(RuntimeError, match=r"label_smoothing must be between 0\.0 and 1\.0"):
        F.cross_entropy(torch.zeros(1, 3), torch.tensor([0]), label_smoothing=1.5)


def test_large_logits_are_stable() -> None:
    logits = torch.tensor([[1000.0, -1000.0, 0.0]])
    y = torch.tensor([0])
    torch.testing.assert_close(L.smoothed_cross_entropy(logits, y, alpha=0.1),
                               F.cross_entropy(logits, y, label_smoothing=0.1))


# --- Properties --------------------------------------------------------------------

labels = st.lists(st.integers(0, 11), min_size=1, max_size=20)


@given(labels, st.integers(12, 30), st.floats(0.0, 1.0))
def test_smoothed_rows_are_distributions(ys: list[int], k: int, alpha: float) -> None:
    y = torch.tensor(ys)
    q = L.smooth_targets(y, num_classes=k, alpha=alpha)
    torch.testing.assert_close(q.sum(1), torch.ones(len(ys)))                  # rows sum to 1
    assert bool((q >= alpha / k - 1e-7).all())                                  # every entry >= α/K
    true = q[torch.arange(len(ys)), y]
    torch.testing.assert_close(true, torch.full((len(ys),), 1 - alpha + alpha / k))  # true class
    assert bool((q.argmax(1) == y).all()) or alpha == 1.0                       # arg max kept while α < 1


@given(st.integers(2, 20), st.floats(0.01, 1.0))
def test_loss_is_minimised_at_the_target(k: int, alpha: float) -> None:
    # cross-entropy is smallest when softmax(z) = q; z = log q is such a point
    y = torch.tensor([0])
    q = L.smooth_targets(y, num_classes=k, alpha=alpha).double()
    best = L.smoothed_cross_entropy(q.log(), y, alpha=alpha)
    gen = torch.Generator().manual_seed(k)
    other = q.log() + 0.3 * torch.randn(1, k, generator=gen, dtype=F64)
    assert L.smoothed_cross_entropy(other, y, alpha=alpha) >= best - 1e-12
    # and its value there is the entropy of q
    torch.testing.assert_close(best, -(q * q.log()).sum())


def test_gradient_descent_finds_the_closed_form_gap() -> None:
    for k, alpha in [(10, 0.1), (4, 0.1), (3, 0.5)]:
        run = L.logit_descent(num_classes=k, alpha=alpha, steps=600)
        expected = math.log((1 - alpha + alpha / k) / (alpha / k))  # closed form, by hand
        assert run.gaps[-1] == pytest.approx(expected, abs=1e-6)
        assert L.optimal_logit_gap(num_classes=k, alpha=alpha) == pytest.approx(expected, rel=1e-14)


def test_hard_labels_have_no_finite_minimiser() -> None:
    run = L.logit_descent(num_classes=10, alpha=0.0, steps=1000)
    assert run.gaps[99] > run.gaps[9] + 2 and run.gaps[999] > run.gaps[99] + 2   # keeps growing ~ log t
    assert all(b < a for a, b in zip(run.losses, run.losses[1:], strict=False))  # the loss falls at every step
    assert run.losses[-1] > 0


# --- Every parameter matters ------------------------------------------------------------

@pytest.mark.parametrize(("alpha", "k"), [(0.0, 3), (0.2, 5), (0.5, 4), (1.0, 10)])
def test_smooth_targets_follow_alpha_and_num_classes(alpha: float, k: int) -> None:
    # entries by hand: α/K off the label, 1 - α + α/K on it (changing α or K changes both)
    out = L.smooth_targets(torch.tensor([0, k - 1]), num_classes=k, alpha=alpha)
    assert out.shape == (2, k)
    expected = torch.full((2, k), alpha / k)
    expected[0, 0] = expected[1, k - 1] = 1 - alpha + alpha / k
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.9])
def test_module_passes_label_smoothing_and_reduction(reduction: str, alpha: float) -> None:
    gen = torch.Generator().manual_seed(2)
    logits = 3 * torch.randn(6, 5, generator=gen, dtype=F64)
    y = torch.randint(0, 5, (6,), generator=gen)
    module = L.LabelSmoothingCrossEntropy(label_smoothing=alpha, reduction=reduction)
    expected = torch.nn.CrossEntropyLoss(label_smoothing=alpha, reduction=reduction)(logits, y)
    torch.testing.assert_close(module(logits, y), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("k", "alpha", "lr"), [(10, 0.1, 1.0), (4, 0.3, 0.5), (3, 0.0, 2.0)])
def test_first_descent_step_by_hand(k: int, alpha: float, lr: float) -> None:
    # from z = 0 the gradient is softmax(0) - y_smooth = 1/K - y_smooth, so one step gives
    # z_0 = lr (1 - α + α/K - 1/K), z_j = lr (α/K - 1/K): a gap of lr (1 - α) after step 1.
    run = L.logit_descent(num_classes=k, alpha=alpha, steps=3, lr=lr)
    assert (run.num_classes, run.alpha) == (k, alpha)
    assert len(run.gaps) == len(run.losses) == len(run.logit_norms) == 3
    assert run.gaps[0] == pytest.approx(lr * (1 - alpha), rel=1e-12)
    z1 = torch.full((1, k), lr * (alpha / k - 1 / k), dtype=F64)
    z1[0, 0] = lr * (1 - alpha + alpha / k - 1 / k)
    assert run.losses[0] == pytest.approx(F.cross_entropy(z1, torch.tensor([0]), label_smoothing=alpha).item(),
                                          rel=1e-12)
    assert run.logit_norms[0] == pytest.approx(float(z1.norm()), rel=1e-12)


def test_ece_depends_on_num_bins() -> None:
    # confidences 0.95 (right) and 0.55 (wrong).
    # 1 bin: |0.5 - 0.75| = 0.25.  10 bins: separate bins, (|1 - 0.95| + |0 - 0.55|) / 2 = 0.30.
    p = torch.tensor([[0.95, 0.05], [0.55, 0.45]], dtype=F64)
    y = torch.tensor([0, 1])
    assert L.expected_calibration_error(p, y, num_bins=1) == pytest.approx(0.25, abs=1e-12)
    assert L.expected_calibration_error(p, y, num_bins=10) == pytest.approx(0.30, abs=1e-12)


def test_calibration_bins_by_hand() -> None:
    # 4 bins of width 0.25: 0.95 (right) -> bin 3; 0.55 (wrong) and 0.6 (right) -> bin 2; bins 0, 1 empty
    p = torch.tensor([[0.95, 0.05], [0.55, 0.45], [0.4, 0.6]], dtype=F64)
    y = torch.tensor([0, 1, 1])
    count, conf, acc = L.calibration_bins(p, y, num_bins=4)
    assert count.tolist() == [0.0, 0.0, 2.0, 1.0]
    torch.testing.assert_close(conf, torch.tensor([0.0, 0.0, 0.575, 0.95], dtype=F64))
    torch.testing.assert_close(acc, torch.tensor([0.0, 0.0, 0.5, 1.0], dtype=F64))
    # the same three predictions in 2 bins: all above 0.5, one bin
    count2, _, acc2 = L.calibration_bins(p, y, num_bins=2)
    assert count2.tolist() == [0.0, 3.0] and acc2[1].item() == pytest.approx(2 / 3)
    # ECE is the count-weighted |acc - conf| of those bins: (2·0.075 + 1·0.05) / 3
    assert L.expected_calibration_error(p, y, num_bins=4) == pytest.approx((2 * 0.075 + 0.05) / 3, abs=1e-12)


# --- Bad input ---------------------------------------------------------------------------

Y = torch.tensor([0, 1])
Z = torch.zeros(2, 3)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: L.smooth_targets(Y, num_classes=3, alpha=1.5), ValueError,
         r"alpha must be in \[0.0, 1.0\] \(got 1.5\)"),
        (lambda: L.smooth_targets(Y, num_classes=3, alpha=-0.1), ValueError, r"alpha must be in \[0.0, 1.0\]"),
        (lambda: L.smooth_targets(Y, num_classes=1, alpha=0.1), ValueError, r"num_classes must be >= 2 \(got 1\)"),
        (lambda: L.smooth_targets(torch.tensor([0, 3]), num_classes=3, alpha=0.1), ValueError,
         r"y must hold class indices in \[0, 2\] \(got values 0..3\)"),
        (lambda: L.smooth_targets(torch.tensor([-1]), num_classes=3, alpha=0.1), ValueError,
         r"class indices in \[0, 2\]"),
        (lambda: L.smooth_targets(torch.tensor([[0]]), num_classes=3, alpha=0.1), ValueError,
         r"y must be 1-D \(N,\) \(got 2-D"),
        (lambda: L.smooth_targets(torch.tensor([0.0]), num_classes=3, alpha=0.1), TypeError,
         r"y must be an int64 tensor"),
        (lambda: L.smooth_targets([0, 1], num_classes=3, alpha=0.1), TypeError, r"y must be a torch.Tensor"),
        (lambda: L.smoothed_cross_entropy(torch.zeros(3), Y, alpha=0.1), ValueError, r"logits must be 2-D \(got 1-D"),
        (lambda: L.smoothed_cross_entropy(torch.zeros(2, 3, dtype=torch.long), Y, alpha=0.1), TypeError,
         r"logits must have a floating-point dtype"),
        (lambda: L.smoothed_cross_entropy(torch.zeros(2, 1), Y, alpha=0.1), ValueError,
         r"logits must have at least 2 columns"),
        (lambda: L.smoothed_cross_entropy(Z, torch.tensor([0, 1, 2]), alpha=0.1), ValueError,
         r"logits and y must have the same batch size \(got 2 and 3\)"),
        (lambda: L.smoothed_cross_entropy(Z, torch.tensor([0, 5]), alpha=0.1), ValueError,
         r"class indices in \[0, 2\]"),
        (lambda: L.smoothed_cross_entropy(Z, Y, alpha=2.0), ValueError, r"alpha must be in \[0.0, 1.0\] \(got 2.0\)"),
        (lambda: L.smoothed_cross_entropy(Z, Y, alpha=0.1, reduction="avg"), ValueError,
         r"reduction must be one of \('mean', 'sum', 'none'\) \(got 'avg'\)"),
        (lambda: L.LabelSmoothingCrossEntropy(label_smoothing=-1.0), ValueError,
         r"label_smoothing must be in \[0.0, 1.0\]"),
        (lambda: L.optimal_logit_gap(num_classes=10, alpha=0.0), ValueError,
         r"alpha must be in \(0.0, 1.0\] \(got 0.0\)"),
        (lambda: L.logit_descent(num_classes=10, alpha=0.1, steps=0), ValueError, r"steps must be >= 1 \(got 0\)"),
        (lambda: L.logit_descent(num_classes=10, alpha=0.1, lr=0.0), ValueError, r"lr must be > 0 \(got 0.0\)"),
        (lambda: L.expected_calibration_error(torch.tensor([[1.5, -0.5]]), torch.tensor([0])), ValueError,
         r"probs must hold probabilities in \[0, 1\]"),
        (lambda: L.expected_calibration_error(torch.tensor([[0.5, 0.5]]), torch.tensor([0]), num_bins=0), ValueError,
         r"num_bins must be >= 1 \(got 0\)"),
        (lambda: L.expected_calibration_error(torch.zeros(0, 2), torch.tensor([], dtype=torch.long)), ValueError,
         r"probs must not be empty"),
        (lambda: L.calibration_bins(torch.tensor([[0.5, 0.5]]), torch.tensor([0]), num_bins=0), ValueError,
         r"num_bins must be >= 1 \(got 0\)"),
        (lambda: L.calibration_bins(torch.tensor([[0.5, 0.5]]), torch.tensor([0, 1])), ValueError,
         r"probs and y must have the same batch size \(got 1 and 2\)"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(call, exc, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc, match=match):
        call()


def test_ece_by_hand_default_15_bins() -> None:
    # bin (0.8, 0.867]: two predictions at 0.85, one right -> |0.5 - 0.85| = 0.35, weight 2/4
    # bin (0.533, 0.6]: two at 0.6, both right -> |1 - 0.6| = 0.4, weight 2/4; ECE = 0.175 + 0.2 = 0.375
    p = torch.tensor([[0.85, 0.15], [0.85, 0.15], [0.6, 0.4], [0.4, 0.6]])
    y = torch.tensor([0, 1, 0, 1])
    assert L.expected_calibration_error(p, y) == pytest.approx(0.375, abs=1e-6)
