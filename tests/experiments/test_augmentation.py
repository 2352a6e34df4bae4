"""The augmentation chapter's experiments, rerun small on the test seeds (never the book's).

Each test asserts on an interval over :data:`tests.conftest.TEST_SEEDS`, so it is
independent evidence for the chapter's claim, not a replay of the book's run.
"""

from __future__ import annotations

import pytest
import torch

from regbook.experiments import augmentation as E
from regbook.experiments.stats import claim_status, estimate
from tests.conftest import TEST_SEEDS


@pytest.fixture(scope="module")
def policies() -> E.AugmentResult:
    # the book's settings (the experiment's defaults), on the test seeds
    return E.augmentation_experiment(seeds=TEST_SEEDS)


def test_label_breaking_mirror_costs_accuracy(policies: E.AugmentResult) -> None:
    # mirroring digits changes what they show: accuracy falls, on the whole interval
    assert estimate(policies.gain("flip")).hi < 0


def test_label_preserving_warps_do_not_hurt(policies: E.AugmentResult) -> None:
    # the book finds this gain inconclusive at 5 seeds; what must hold is that it does not go the other way
    assert claim_status(estimate(policies.gain("affine")), "+") != "not-reproduced"


def test_every_policy_starts_from_the_same_weights() -> None:
    # steps=1 with lr tiny: the policies' accuracies are those of one shared initialisation
    r = E.augmentation_experiment(n_train=50, policies=("none", "flip"), seeds=TEST_SEEDS[:2], steps=1, lr=1e-9)
    assert r.accuracy["none"] == pytest.approx(r.accuracy["flip"], abs=1e-12)
    assert r.accuracy["none"][0] != r.accuracy["none"][1]        # but the seeds differ


def test_a_policy_trains_the_same_beside_others_or_alone() -> None:
    # all policies share one batched fit (per_network); a network's result must not depend on its neighbours
    kw = {"n_train": 50, "seeds": TEST_SEEDS[:2], "steps": 20, "hidden": 16}
    together = E.augmentation_experiment(policies=("none", "affine", "flip"), **kw)  # type: ignore[arg-type]
    alone = E.augmentation_experiment(policies=("affine",), **kw)  # type: ignore[arg-type]
    assert together.accuracy["affine"] == pytest.approx(alone.accuracy["affine"], abs=1e-9)
    assert together.accuracy["affine"] != together.accuracy["none"]


def test_per_network_dispatches_by_generator() -> None:
    g0, g1 = torch.Generator(), torch.Generator()
    aug = E.per_network([None, lambda x, g: x + 1], [g0, g1])
    mix = E.per_network([lambda x, t, g: (x * 2, t * 3), None], [g0, g1])
    x = torch.zeros(2)
    assert aug(x, g0).tolist() == [0.0, 0.0] and aug(x, g1).tolist() == [1.0, 1.0]
    assert [v.tolist() for v in mix(x + 1, x + 1, g0)] == [[2.0, 2.0], [3.0, 3.0]]
    assert [v.tolist() for v in mix(x, x, g1)] == [[0.0, 0.0], [0.0, 0.0]]
    with pytest.raises(ValueError, match="distinct"):
        E.per_network([None, None], [g0, g0])
    with pytest.raises(ValueError, match="same length"):
        E.per_network([None], [g0, g1])


def test_upside_down_six_reads_as_nine_mirrored_does_not() -> None:
    r = E.digit_label_flip(seeds=TEST_SEEDS)
    assert estimate([a - 0.5 for a in r.six_as_nine["rot180"]]).lo > 0    # most upside-down 6s: "9"
    assert estimate([a - 0.5 for a in r.six_as_nine["hflip"]]).hi < 0     # most mirrored 6s: not "9"
    assert estimate([a - 0.5 for a in r.six_as_six["original"]]).lo > 0   # upright 6s: "6"


def test_error_policy() -> None:
    with pytest.raises(ValueError, match=r"policies must be drawn from"):
        E.augmentation_experiment(policies=("mixup",))


def test_error_n_train() -> None:
    with pytest.raises(ValueError, match=r"n_train must be <= 1000 \(got 1200\)"):
        E.digit_label_flip(n_train=1200)
