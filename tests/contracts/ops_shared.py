"""Contracts of the shared modules: experiments.stats, experiments.harness, chapters, data, plotting."""

from __future__ import annotations

import torch

from regbook import data, plotting
from regbook.experiments import harness as H
from regbook.experiments import stats
from tests.conftest import TEST_SEEDS
from tests.contracts.opinfo import OpInfo, Sample

NOT_CALLABLE = {
    "regbook.experiments.stats.BOOK_SEEDS", "regbook.experiments.stats.CONFIDENCE",
    "regbook.experiments.harness.NORMS", "regbook.experiments.harness.OPTIMIZERS",
    "regbook.chapters.CHAPTERS", "regbook.chapters.REFERENCE_MODULES",
    "regbook.plotting.COLORS", "regbook.plotting.WIDTH", "regbook.plotting.MIN_FONT",
}


def _streams(k: int = 2) -> list[H.Streams]:
    return [H.seed_streams(s) for s in TEST_SEEDS[:k]]


def _fit_sample() -> Sample:
    st = _streams()
    tr, _, _ = H.digit_splits(20, 10, TEST_SEEDS[:2])
    net = H.build_mlp(64, [4], 10, streams=st)
    return Sample((net, tr), {"streams": st, "num_classes": 10, "steps": 2, "batch_size": 8, "lr": 1e-2},
                  ("model", "train"), state=(net,))


def _logits() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(TEST_SEEDS[0])
    return torch.randn(2, 6, 3, generator=g), torch.randint(0, 3, (2, 6), generator=g)


OPS = [
    OpInfo("regbook.experiments.stats.estimate", stats.estimate,
           lambda: Sample(([0.1, 0.2, 0.4],), {"unit": "pts", "scale": 100.0, "digits": 1}, ("values",))),
    OpInfo("regbook.experiments.stats.t_quantile", stats.t_quantile, lambda: Sample((0.975, 4), {}, ("p", "df"))),
    OpInfo("regbook.experiments.stats.claim_status", stats.claim_status,
           lambda: Sample((stats.estimate([1.0, 2.0]), "+"), {}, ("effect", "direction"))),
    OpInfo("regbook.experiments.stats.paired", stats.paired, lambda: Sample(([1.0, 2.0], [0.5, 1.0]), {}, ("a", "b"))),
    OpInfo("regbook.experiments.stats.Estimate", stats.Estimate,
           lambda: Sample((1.0, 0.5, 1.5, 5, (1.0,) * 5), {}, ("mean", "lo", "hi", "n", "values")),
           skip={p: "a plain record; estimate() validates" for p in ("mean", "lo", "hi", "n", "values")}),
    OpInfo("regbook.experiments.harness.seed_streams", H.seed_streams, lambda: Sample((3,), {}, ("seed",))),
    OpInfo("regbook.experiments.harness.digit_splits", H.digit_splits,
           lambda: Sample((20, 10, list(TEST_SEEDS[:2])), {}, ("n_train", "n_val", "seeds"))),
    OpInfo("regbook.experiments.harness.build_mlp", H.build_mlp,
           lambda: Sample((64, [8], 10), {"streams": _streams(), "norm": "batch", "dropout": 0.1},
                          ("in_features", "hidden", "out_features"))),
    OpInfo("regbook.experiments.harness.fit", H.fit, _fit_sample),
    OpInfo("regbook.experiments.harness.accuracy", H.accuracy, lambda: Sample(_logits(), {}, ("logits", "y"))),
    OpInfo("regbook.experiments.harness.nll", H.nll, lambda: Sample(_logits(), {}, ("logits", "y"))),
    OpInfo("regbook.experiments.harness.median_seconds", H.median_seconds,
           lambda: Sample((lambda: None,), {"repeats": 2, "warmup": 0}, ("fn",))),
    OpInfo("regbook.data.digits", data.digits, lambda: Sample((20, 10), {"seed": TEST_SEEDS[0]}, ("n_train", "n_val"))),
    OpInfo("regbook.plotting.Timing", plotting.Timing, lambda: Sample((0.5,), {"ratio": False}, ("seconds",))),
]
