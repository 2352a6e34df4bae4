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


def test_hard_labels_have_no_finite_minimiser() -> None:
    run = L.logit_descent(num_classes=10, alpha=0.0, steps=1000)
    assert run.gaps[99] > run.gaps[9] + 2 and run.gaps[999] > run.gaps[99] + 2   # keeps growing ~ log t
    assert all(b < a for a, b in zip(run.losses, run.losses[1:], strict=False))  # the loss falls at every step
    assert run.losses[-1] > 0


# --- The experiment, small ------------------------------------------------------------

@pytest.fixture(scope="module")
def clean() -> L.CalibrationResult:
    return L.calibration_experiment(alphas=[0.0, 0.1], n_train=300, epochs=120)


@pytest.fixture(scope="module")
def noisy() -> L.CalibrationResult:
    return L.calibration_experiment(alphas=[0.0, 0.1], n_train=300, epochs=120, label_noise=0.2)


def test_hard_labels_make_overconfident_networks(clean: L.CalibrationResult, noisy: L.CalibrationResult) -> None:
    assert clean.mean_confidence[0] > clean.test_accuracy[0]
    assert noisy.mean_confidence[0] > noisy.test_accuracy[0] + 0.1
    assert sum(clean.bin_count[0]) == clean.n_test


def test_smoothing_shrinks_logits_and_confidence(clean: L.CalibrationResult, noisy: L.CalibrationResult) -> None:
    for r in (clean, noisy):
        assert r.mean_confidence[1] < r.mean_confidence[0]
        assert r.logit_norm[1] < 0.5 * r.logit_norm[0]


def test_clean_labels_smoothing_overshoots_to_underconfidence(clean: L.CalibrationResult) -> None:
    # what we saw on clean digits: no longer overconfident, but under-confident, with a higher ECE
    assert clean.mean_confidence[1] < clean.test_accuracy[1]
    assert clean.ece[1] > clean.ece[0]


def test_noisy_labels_smoothing_calibrates(noisy: L.CalibrationResult) -> None:
    assert noisy.ece[1] < 0.5 * noisy.ece[0]
    assert noisy.test_nll[1] < noisy.test_nll[0]


def test_noisy_labels_smoothing_raises_accuracy(noisy: L.CalibrationResult) -> None:
    assert noisy.test_accuracy[1] > noisy.test_accuracy[0] + 0.02


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
        (lambda: L.calibration_experiment(alphas=[]), ValueError, r"alphas must not be empty"),
        (lambda: L.calibration_experiment(alphas=[1.2]), ValueError, r"alphas\[i\] must be in \[0.0, 1.0\]"),
        (lambda: L.calibration_experiment(alphas=[0.1], n_train=1600), ValueError, r"n_train must be <= 1500"),
        (lambda: L.calibration_experiment(alphas=[0.1], label_noise=0.95), ValueError, r"label_noise must be in"),
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
