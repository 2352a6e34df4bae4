"""The double-descent experiment at a small size, on seeds the book does not use.

Each test asserts on a 95% interval over the five test seeds, never on one run.
The parameter counts are checked against numbers published by others
(torchvision's model card, Brown et al.'s table) and against hand arithmetic.
"""

from __future__ import annotations

import pytest
import torch

from regbook.experiments import double_descent as E
from regbook.experiments.stats import claim_status, estimate, paired
from regbook.stack import count_parameters, resnet50
from tests.conftest import TEST_SEEDS

N = 100
WIDTHS = sorted({*E.u_widths(N), *E.threshold_widths(N), 20, 70, 130, 500, 1000})
RIDGES = [0.0, 1e-4, 1e-3, 1e-2, 1e-1]


@pytest.fixture(scope="module")
def run() -> E.DoubleDescentResult:
    return E.double_descent_curve(widths=WIDTHS, n_train=N, ridges=RIDGES, label_noise=[0.0, 0.2], seeds=TEST_SEEDS)


def test_seeds_differ_and_are_the_test_seeds(run: E.DoubleDescentResult) -> None:
    assert run.seeds == TEST_SEEDS
    per_seed = run.curve()[:, 0]
    assert len(set(per_seed.tolist())) == len(TEST_SEEDS)  # every seed its own subsample and features


def test_spike_at_the_threshold(run: E.DoubleDescentResult) -> None:
    assert claim_status(estimate(run.spike()), "+") == "reproduced"
    assert set(run.peak_width()) <= {N}  # the largest error sits at p = n on every seed


def test_classical_u_below_the_threshold(run: E.DoubleDescentResult) -> None:
    assert claim_status(estimate(run.u_shape()), "+") == "reproduced"


def test_second_descent_and_bigger_beats_the_best_small_model(run: E.DoubleDescentResult) -> None:
    widest = WIDTHS[-1]
    drop = paired(torch.tensor(run.at(N)).log10().tolist(), torch.tensor(run.at(widest)).log10().tolist())
    assert estimate(drop).lo > 0
    assert estimate(paired(run.at(widest), run.best_below_threshold())).hi < 0
    gain = paired(run.at(widest, "test_error"), run.best_below_threshold("test_error"))
    assert estimate(gain).hi < 0


def test_wide_models_interpolate_and_narrow_ones_cannot(run: E.DoubleDescentResult) -> None:
    train = run.curve("train_mse")
    wide = [j for j, p in enumerate(WIDTHS) if p > N]
    assert float(train[:, wide].max()) < 1e-10
    assert float(train[:, 0].min()) > 0.1


def test_tuned_ridge_removes_the_spike(run: E.DoubleDescentResult) -> None:
    assert claim_status(estimate(run.spike(run.tuned_curve())), "-") == "reproduced"


def test_label_noise_raises_the_peak(run: E.DoubleDescentResult) -> None:
    rise = paired(torch.tensor(run.at(N, noise=0.2)).log10().tolist(), torch.tensor(run.at(N)).log10().tolist())
    assert estimate(rise).lo > 0


def test_ridge_curve_equals_a_direct_fit() -> None:
    """The batched SVD path gives the same test error as fitting one seed with ridge_fit / min_norm_fit directly."""
    from regbook.double_descent import min_norm_fit, random_feature_weights, random_features, ridge_fit
    from regbook.experiments.harness import digit_splits, seed_streams

    seed, p, n = TEST_SEEDS[0], 60, 40
    res = E.double_descent_curve(widths=[p], n_train=n, ridges=[0.0, 0.1], seeds=[seed])
    tr, _, te = digit_splits(n, 0, [seed])
    x_tr, x_te = tr.x[0].double(), te.x[0].double()
    mean = x_tr.mean(0)
    w = random_feature_weights(64, p, generator=seed_streams(seed).init)
    phi_tr, phi_te = random_features(x_tr - mean, w), random_features(x_te - mean, w)
    y_tr = torch.nn.functional.one_hot(tr.y[0], 10).double()
    y_te = torch.nn.functional.one_hot(te.y[0], 10).double()
    for lam in (0.0, 0.1):
        beta = min_norm_fit(phi_tr, y_tr) if lam == 0 else ridge_fit(phi_tr, y_tr, lam=lam)
        mse = float(((phi_te @ beta - y_te) ** 2).sum(1).mean())
        assert res.at(p, ridge=lam)[0] == pytest.approx(mse, rel=1e-9)
        assert res.at(p, "weight_norm", ridge=lam)[0] == pytest.approx(float(beta.norm()), rel=1e-9)


def test_noise_levels_are_nested_and_do_not_change_the_features() -> None:
    clean = E.double_descent_curve(widths=[300], n_train=50, ridges=[0.0], seeds=[TEST_SEEDS[0]])
    both = E.double_descent_curve(widths=[300], n_train=50, ridges=[0.0], label_noise=[0.0, 0.3], seeds=[TEST_SEEDS[0]])
    assert both.at(300)[0] == pytest.approx(clean.at(300)[0], rel=1e-12)   # same features, same subsample
    assert both.at(300, noise=0.3)[0] != both.at(300)[0]                   # the noise level is used


def test_effect_widths_by_hand() -> None:
    assert E.threshold_widths(150) == (75, 150, 300)
    assert E.u_widths(150) == (10, 50, 125)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"widths": []}, ValueError, r"widths must be a non-empty sequence"),
        ({"widths": [10, 0]}, ValueError, r"widths\[1\] must be >= 1 \(got 0\)"),
        ({"widths": [20, 10]}, ValueError, r"widths must be strictly increasing"),
        ({"widths": [10], "n_train": 10}, ValueError, r"n_train must be >= 20 \(got 10\)"),
        ({"widths": [10], "n_train": 1200}, ValueError, r"n_train must be <= 1000"),
        ({"widths": [10], "ridges": []}, ValueError, r"ridges must not be empty"),
        ({"widths": [10], "ridges": [-1.0]}, ValueError, r"ridges\[0\] must be >= 0"),
        ({"widths": [10], "ridges": [0.1, 0.1]}, ValueError, r"ridges must be distinct"),
        ({"widths": [10], "label_noise": [0.95]}, ValueError, r"label_noise\[0\] must be in \[0.0, 0.9\] \(got 0.95\)"),
        ({"widths": [10], "seeds": []}, ValueError, r"seeds must not be empty"),
        ({"widths": [10], "seeds": [0.5]}, TypeError, r"seeds\[0\] must be an int"),
    ],
)
def test_bad_input_is_rejected(kwargs, exc, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc, match=match):
        E.double_descent_curve(**kwargs)


def test_result_accessors_reject_values_not_run(run: E.DoubleDescentResult) -> None:
    with pytest.raises(ValueError, match="width 7 is not one of"):
        run.at(7)
    with pytest.raises(ValueError, match="ridge must be one of"):
        run.curve(ridge=0.5)
    with pytest.raises(ValueError, match="noise must be one of"):
        run.curve(noise=0.1)
    with pytest.raises(ValueError, match="metric must be one of"):
        run.curve("accuracy")


# --- The sizes the lecture quotes ---------------------------------------------

def test_resnet50_has_the_published_parameter_count() -> None:
    # torchvision's model card for ResNet50_Weights.IMAGENET1K_V1: num_params 25557032 ("about 25M")
    assert count_parameters(resnet50(device="meta")) == 25_557_032


def test_gpt_parameter_count_by_hand_and_gpt3_size() -> None:
    # per block: 2 LayerNorms 4d, attention 4d^2 + 4d, MLP 8d^2 + 5d; embeddings (vocab + context) d; final LN 2d
    def by_hand(n_layers: int, d: int, vocab: int, context: int) -> int:
        return n_layers * (12 * d * d + 13 * d) + (vocab + context) * d + 2 * d

    assert count_parameters(E.gpt3(n_layers=2, d_model=8, n_heads=2, vocab=11, context=5)) == by_hand(2, 8, 11, 5)
    full = count_parameters(E.gpt3())
    assert full == by_hand(96, 12288, 50257, 2048)
    assert full == pytest.approx(175e9, rel=0.01)   # Brown et al. (2020), Table 2.1: "175.0B"
    assert 1e11 <= full < 1e12                      # the lecture's "10^11"
