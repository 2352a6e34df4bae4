"""Contracts of the shared modules: experiments.stats, experiments.harness, chapters, data, plotting."""

from __future__ import annotations

import torch

from regbook import chapters, data, plotting
from regbook.experiments import harness as H
from regbook.experiments import stats
from tests.conftest import TEST_SEEDS
from tests.contracts.opinfo import OpInfo, Sample

NOT_CALLABLE = {
    "regbook.experiments.stats.BOOK_SEEDS", "regbook.experiments.stats.CONFIDENCE", "regbook.experiments.stats.MIME",
    "regbook.experiments.harness.NORMS", "regbook.experiments.harness.OPTIMIZERS",
    "regbook.chapters.CHAPTERS", "regbook.chapters.REFERENCE_MODULES",
    "regbook.plotting.COLORS", "regbook.plotting.WIDTH", "regbook.plotting.MIN_FONT", "regbook.plotting.SCRIPT_SCALE",
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


def _evaluate_sample() -> Sample:
    st = _streams()
    _, va, _ = H.digit_splits(10, 10, TEST_SEEDS[:2])
    net = H.build_mlp(64, [4], 10, streams=st, norm="batch")
    return Sample((net, va), {}, ("model", "split"), state=(net,))


def _init_sample() -> Sample:
    st = _streams()
    net = H.build_mlp(64, [4], 10, streams=st)
    return Sample((net, st), {}, ("model", "streams"))


_MLP = H.build_mlp(64, [8], 10, streams=_streams(), norm="layer")


def _mlp_forward(x: torch.Tensor) -> torch.Tensor:
    return _MLP(x)


def _stamp_sample() -> Sample:
    import matplotlib.pyplot as plt

    fig = plt.figure()
    plt.close(fig)
    return Sample((fig,), {"seed": 1, "seconds": 0.5}, ("fig",))


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
    OpInfo("regbook.experiments.harness.ece", H.ece,
           lambda: Sample((_logits()[0].softmax(-1), _logits()[1]), {"num_bins": 5}, ("probs", "y"))),
    OpInfo("regbook.experiments.harness.evaluate", H.evaluate, _evaluate_sample),
    OpInfo("regbook.experiments.harness.soft_targets", H.soft_targets,
           lambda: Sample((_logits()[1], 3), {"label_smoothing": 0.1}, ("y", "num_classes"))),
    OpInfo("regbook.experiments.harness.init_", H.init_, _init_sample),
    OpInfo("regbook.experiments.harness.SeedSplit", H.SeedSplit,
           lambda: Sample((torch.zeros(2, 3, 4), torch.zeros(2, 3, dtype=torch.long)), {}, ("x", "y"))),
    OpInfo("regbook.experiments.harness.SeedLinear", H.SeedLinear,
           lambda: Sample((2, 3, 4), {"bias": True}, ("seeds", "in_features", "out_features"))),
    OpInfo("regbook.experiments.harness.SeedNorm", H.SeedNorm,
           lambda: Sample(("batch", 2, 4), {"num_groups": 2, "eps": 1e-5}, ("kind", "seeds", "features"))),
    OpInfo("regbook.experiments.harness.SeedMLP.forward", _mlp_forward,
           lambda: Sample((torch.randn(2, 3, 64, generator=torch.Generator().manual_seed(TEST_SEEDS[0])),),
                          {}, ("x",))),
    OpInfo("regbook.experiments.harness.Streams", H.Streams, lambda: Sample((0, *[torch.Generator()] * 6), {},
                                                                          ("seed",)), skip={"seed": "a record"}),
    OpInfo("regbook.experiments.harness.FitResult", H.FitResult, lambda: Sample()),
    OpInfo("regbook.data.digits", data.digits, lambda: Sample((20, 10), {"seed": TEST_SEEDS[0]}, ("n_train", "n_val"))),
    OpInfo("regbook.data.flip_labels", data.flip_labels,
           lambda: Sample((torch.arange(10) % 3, 0.3), {"num_classes": 3,
                          "generator": torch.Generator().manual_seed(TEST_SEEDS[0])}, ("y", "fraction"))),
    OpInfo("regbook.data.photo", data.photo, lambda: Sample(("chelsea",), {}, ("name",))),
    OpInfo("regbook.data.Split", data.Split, lambda: Sample((torch.zeros(3, 64), torch.zeros(3, dtype=torch.long)),
                                                            {}, ("x", "y"))),
    OpInfo("regbook.plotting.Timing", plotting.Timing, lambda: Sample((0.5,), {"ratio": False}, ("seconds",))),
    OpInfo("regbook.plotting.provenance", plotting.provenance, lambda: Sample((), {"seed": 3, "seconds": 1.5})),
    OpInfo("regbook.plotting.stamp", plotting.stamp, _stamp_sample),
    OpInfo("regbook.plotting.use_book_style", plotting.use_book_style, lambda: Sample()),
    OpInfo("regbook.plotting.widget_html", plotting.widget_html,
           lambda: Sample(("demo", {"x": [1, 2]}), {"fallback": "static"}, ("name", "data"))),
    OpInfo("regbook.chapters.stems", chapters.stems, lambda: Sample()),
    OpInfo("regbook.chapters.api_modules", chapters.api_modules, lambda: Sample()),
    OpInfo("regbook.chapters.Chapter", chapters.Chapter,
           lambda: Sample(("x", "X", "1", "1", ("dropout",)), {}, ("stem", "title", "session", "part", "modules"))),
]
