"""The mixup chapter's experiments, rerun small on the test seeds (never the book's).

Each test asserts on an interval over :data:`tests.conftest.TEST_SEEDS`, so it is
independent evidence for the chapter's claim, not a replay of the book's run.
"""

from __future__ import annotations

import pytest
import torch

from regbook.experiments import mixup as E
from regbook.experiments.stats import Estimate, claim_status, estimate
from regbook.mixup import cutmix_batch, mixup_batch
from tests.conftest import TEST_SEEDS


@pytest.fixture(scope="module")
def mixed() -> E.MixResult:
    # the book's settings (the experiment's defaults), on the test seeds
    return E.mixup_experiment(seeds=TEST_SEEDS)


def _gain(r: E.MixResult, metric: str, method: str, noise: float) -> Estimate:
    """Per-seed improvement over ERM: accuracy up, or ECE down."""
    d = r.diff(metric, method, noise)
    return estimate([-v for v in d] if metric == "ece" else d)


def test_mixing_resists_wrong_labels(mixed: E.MixResult) -> None:
    assert _gain(mixed, "accuracy", "mixup", 0.4).lo > 0
    assert _gain(mixed, "accuracy", "cutmix", 0.4).lo > 0
    assert estimate(mixed.train_fit[("erm", 0.4)]).lo > 0.95         # ERM memorises the wrong labels


def test_mixup_calibrates_under_wrong_labels(mixed: E.MixResult) -> None:
    assert _gain(mixed, "ece", "mixup", 0.4).lo > 0


def test_cutmix_does_not_calibrate_under_wrong_labels(mixed: E.MixResult) -> None:
    assert claim_status(_gain(mixed, "ece", "cutmix", 0.4), "+") != "reproduced"


def test_on_clean_digits_mixing_costs_calibration(mixed: E.MixResult) -> None:
    # the lecture's "calibration for free" does not appear on clean digits: ECE rises
    assert _gain(mixed, "ece", "mixup", 0.0).hi < 0
    assert _gain(mixed, "ece", "cutmix", 0.0).hi < 0


def test_on_clean_digits_no_accuracy_gain(mixed: E.MixResult) -> None:
    for method in ("mixup", "cutmix"):
        assert claim_status(_gain(mixed, "accuracy", method, 0.0), "+") != "reproduced"


def test_a_method_trains_the_same_beside_others_or_alone() -> None:
    # all runs share one batched fit; a network's result must not depend on its neighbours
    kw = {"noise": (0.4,), "n_train": 60, "seeds": TEST_SEEDS[:2], "steps": 20, "hidden": 16}
    together = E.mixup_experiment(methods=("erm", "mixup", "cutmix"), **kw)  # type: ignore[arg-type]
    alone = E.mixup_experiment(methods=("cutmix",), **kw)  # type: ignore[arg-type]
    for metric in ("accuracy", "ece", "train_fit"):
        assert getattr(together, metric)[("cutmix", 0.4)] == pytest.approx(
            getattr(alone, metric)[("cutmix", 0.4)], abs=1e-6)
    assert together.ece[("cutmix", 0.4)] != together.ece[("erm", 0.4)]


def test_pasted_lambda_exceeds_the_nominal_one() -> None:
    r = E.cutmix_lambda_gap(size=8, draws=300, seeds=TEST_SEEDS)
    assert estimate(r.mean_abs_gap()).lo > 0.1
    assert all(a >= n - 1e-12 for act, nom in zip(r.actual, r.nominal, strict=True)
               for a, n in zip(act, nom, strict=True))


def test_soft_mix_mixup_mixes_targets_like_inputs() -> None:
    # the inputs are the one-hot targets themselves, so the mixed inputs must equal the mixed targets
    t = torch.eye(4)
    mixed_any = False
    for seed in range(5):
        x_mix, t_mix = E.soft_mix(mixup_batch, alpha=1.0)(t.clone(), t, torch.Generator().manual_seed(seed))
        torch.testing.assert_close(x_mix, t_mix)
        mixed_any |= not torch.equal(t_mix, t)
    assert mixed_any


def test_soft_mix_cutmix_targets_are_pixel_shares() -> None:
    # image j is the constant j + 1: each mixed target must be the share of pixels from each image
    x = (torch.arange(4.0) + 1).reshape(4, 1, 1, 1).expand(4, 1, 6, 6).contiguous()
    t = torch.eye(4)
    mixed_any = False
    for seed in range(5):
        x_mix, t_mix = E.soft_mix(cutmix_batch, alpha=1.0)(x, t, torch.Generator().manual_seed(seed))
        shares = torch.stack([(x_mix == j + 1).flatten(1).float().mean(1) for j in range(4)], 1)
        torch.testing.assert_close(shares, t_mix)
        mixed_any |= not torch.equal(t_mix, t)
    assert mixed_any


def test_error_method() -> None:
    with pytest.raises(ValueError, match="methods must be drawn from"):
        E.mixup_experiment(methods=("dropout",))
