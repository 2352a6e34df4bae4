"""Experiments of the norms chapter (regbook.experiments.norms), on the test seeds.

The book trains on BOOK_SEEDS; these tests rerun the experiment small, on
TEST_SEEDS, so a passing test is independent evidence, not a replay.
"""

from __future__ import annotations

import pytest
import torch

from regbook.experiments import norms as E
from regbook.experiments.stats import estimate, paired
from tests.conftest import TEST_SEEDS

SMALL = dict(n_train=500, hidden=32, depth=3, steps=150, batch_size=64, lr=3e-3)


@pytest.fixture(scope="module")
def small() -> E.NormConvergence:
    return E.norm_convergence(norms=("layer", "rms"), seeds=TEST_SEEDS, **SMALL)  # type: ignore[arg-type]


def test_rms_norm_trains_no_worse_than_layer_norm(small: E.NormConvergence) -> None:
    """The lecture's 'no worse at convergence', read as a non-inferiority margin of 2 points on the test seeds."""
    acc_ln, acc_rms = small.test_accuracy["layer"], small.test_accuracy["rms"]
    assert estimate(acc_ln).lo > 0.85 and estimate(acc_rms).lo > 0.85          # both train (chance: 0.10)
    assert estimate(paired(acc_rms, acc_ln)).lo > -0.02
    # and both drive the training loss down by an order of magnitude on every seed
    for norm in ("layer", "rms"):
        curve = small.train_loss[norm]
        assert bool((curve[-1] < 0.1 * curve[0]).all())


def test_result_shapes_and_settings(small: E.NormConvergence) -> None:
    k = len(TEST_SEEDS)
    assert small.seeds == TEST_SEEDS and small.norms == ("layer", "rms")
    assert small.marks == tuple(range(10, 151, 10))
    assert tuple(small.train_loss["rms"].shape) == (15, k) and len(small.test_accuracy["layer"]) == k
    assert (small.n_train, small.hidden, small.depth, small.steps) == (500, 32, 3, 150)


def test_seeds_and_norms_are_not_ignored(small: E.NormConvergence) -> None:
    # different seeds draw different data, weights and batches; different norms train differently
    loss = small.train_loss["layer"][0]
    assert len(set(loss.tolist())) == len(TEST_SEEDS)
    assert not torch.equal(small.train_loss["layer"], small.train_loss["rms"])


def test_a_seed_gives_the_same_run_alone() -> None:
    # seed 1003's run does not depend on which other seeds train beside it
    kw = dict(n_train=100, hidden=8, depth=1, steps=6, record_every=3)
    both = E.norm_convergence(norms=("group", "batch"), seeds=(1002, 1003), **kw)  # type: ignore[arg-type]
    other = E.norm_convergence(norms=("group", "batch"), seeds=(1003, 1004), **kw)  # type: ignore[arg-type]
    for norm in ("group", "batch"):
        torch.testing.assert_close(both.train_loss[norm][:, 1], other.train_loss[norm][:, 0])
    assert not torch.equal(both.train_loss["group"], both.train_loss["batch"])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"norms": ("layer", "layer")}, "norms must be distinct"),
    ({"norms": ("none",)}, "norms must be one of"),
    ({"norms": "layer"}, "norms must be a non-empty sequence"),
    ({"lr": -0.1}, r"lr must be > 0 \(got -0.1\)"),
    ({"seeds": (1001,)}, "at least 2 seeds"),
    ({"batch_size": 1}, r"batch_size must be >= 2"),
])
def test_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises((TypeError, ValueError), match=match):
        E.norm_convergence(**kwargs)  # type: ignore[arg-type]
