"""Contracts of the mixup chapter: regbook.mixup and regbook.experiments.mixup.

Torch twins: :func:`torch.nn.functional.one_hot` for the mixed labels, and
:func:`torch.nn.functional.cross_entropy` against the soft mixed label (with
``label_smoothing``) for the mixed loss -- the identity the chapter states.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from regbook import mixup as M
from regbook.experiments import mixup as X
from tests.conftest import TEST_SEEDS
from tests.contracts.opinfo import OpInfo, Sample

NOT_CALLABLE = {"regbook.experiments.mixup.METHODS"}

SEEDS = list(TEST_SEEDS[:2])


def _gen(offset: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(TEST_SEEDS[0] + offset)


def _y(n: int = 4, k: int = 3, offset: int = 0) -> torch.Tensor:
    return torch.randint(0, k, (n,), generator=_gen(50 + offset))


def _batch_sample(image: bool) -> Sample:
    shape = (4, 2, 5, 6) if image else (4, 3)
    x = torch.rand(*shape, generator=_gen(10))
    return Sample((x, _y()), {"alpha": 0.7, "generator": _gen(11)}, ("x", "y"))


def _mix_labels_ref(y_a: Any, y_b: Any, lam: float, *, num_classes: int, dtype: torch.dtype) -> torch.Tensor:
    return lam * F.one_hot(y_a, num_classes).to(dtype) + (1 - lam) * F.one_hot(y_b, num_classes).to(dtype)


def _mixed_loss_ref(logits: Any, y_a: Any, y_b: Any, lam: float, *, label_smoothing: float) -> torch.Tensor:
    k = logits.shape[-1]
    target = lam * F.one_hot(y_a, k).to(logits.dtype) + (1 - lam) * F.one_hot(y_b, k).to(logits.dtype)
    return F.cross_entropy(logits, target, label_smoothing=label_smoothing)


def _loss_sample() -> Sample:
    logits = torch.randn(4, 3, generator=_gen(20))
    return Sample((logits, _y(), _y(offset=1), 0.3), {"label_smoothing": 0.1}, ("logits", "y_a", "y_b", "lam"))


_SELF = {"self": "the module the method is bound to, not an argument"}


def _forward(module: torch.nn.Module, x: Any, y: Any) -> Any:
    return module(x, y)


def _forward_sample(cls: type[torch.nn.Module], image: bool) -> Sample:
    m = cls(alpha=0.7, generator=_gen(12))
    s = _batch_sample(image)
    return Sample((m, *s.args), {}, ("self", "x", "y"), state=(m, m.generator))


_GAP = X.LambdaGap(8, tuple(SEEDS), [[0.5, 0.25], [0.75, 0.5]], [[0.55, 0.25], [0.8, 0.75]])
_KEYS = [(m, q) for m in X.METHODS for q in (0.0, 0.4)]
_METRIC = [{key: [0.1 * i, 0.2] for key in _KEYS} for i in range(4)]
_MIX = X.MixResult(X.METHODS, (0.0, 0.4), _METRIC[0], _METRIC[1], _METRIC[2], _METRIC[3], tuple(SEEDS), 10, 2, 4,
                   1.0)


def _records_skip(*names: str) -> dict[str, str]:
    return {n: "a plain result record, built by its experiment from validated values" for n in names}


_GAP_FIELDS = ("size", "seeds", "nominal", "actual")
_MIX_FIELDS = ("methods", "noise", "accuracy", "ece", "confidence", "train_fit", "seeds", "n_train", "steps",
               "hidden", "alpha")

OPS = [
    OpInfo("regbook.mixup.sample_beta", M.sample_beta,
           lambda: Sample((0.4,), {"beta": 0.6, "generator": _gen(1)}, ("alpha",)),
           extra=(("alpha", 0.0, True), ("beta", -1.0, True))),
    OpInfo("regbook.mixup.mixup_batch", M.mixup_batch, lambda: _batch_sample(image=False),
           extra=(("y", _y(5), True), ("y", _y().reshape(2, 2), True), ("alpha", 0.0, True))),
    OpInfo("regbook.mixup.cutmix_batch", M.cutmix_batch, lambda: _batch_sample(image=True),
           extra=(("x", torch.rand(4, 5, 6), True), ("y", _y(3), True), ("alpha", 0.0, True))),
    OpInfo("regbook.mixup.cutmix_box", M.cutmix_box,
           lambda: Sample((5, 6, 0.6), {"generator": _gen(2)}, ("height", "width", "lam")),
           extra=(("lam", 1.5, True), ("height", 0, True))),
    OpInfo("regbook.mixup.mix_labels", M.mix_labels,
           lambda: Sample((_y(), _y(offset=1), 0.3), {"num_classes": 3, "dtype": torch.float64},
                          ("y_a", "y_b", "lam")),
           ref=_mix_labels_ref,
           extra=(("y_b", _y(3), True), ("num_classes", 1, True), ("dtype", torch.int64, True),
                  ("dtype", "float32", True), ("y_a", torch.tensor([0, 1, 2, 3]), True),
                  ("lam", 1.5, True))),
    OpInfo("regbook.mixup.mixed_loss", M.mixed_loss, _loss_sample, ref=_mixed_loss_ref,
           extra=(("y_a", torch.tensor([0, 1, 2, 3]), True), ("y_b", _y(3), True), ("lam", 1.5, True),
                  ("label_smoothing", 1.5, True))),
    OpInfo("regbook.mixup.Mixup", M.Mixup, lambda: Sample((0.2,), {"generator": _gen(3)}, ("alpha",)),
           extra=(("alpha", 0.0, True),)),
    OpInfo("regbook.mixup.CutMix", M.CutMix, lambda: Sample((1.0,), {"generator": _gen(3)}, ("alpha",)),
           extra=(("alpha", 0.0, True),)),
    OpInfo("regbook.mixup.Mixup.forward", _forward, lambda: _forward_sample(M.Mixup, image=False), skip=_SELF),
    OpInfo("regbook.mixup.CutMix.forward", _forward, lambda: _forward_sample(M.CutMix, image=True), skip=_SELF),
    # --- experiments ---
    OpInfo("regbook.experiments.mixup.soft_mix", X.soft_mix,
           lambda: Sample((M.mixup_batch,), {"alpha": 0.5}, ("op",)), extra=(("alpha", 0.0, True),)),
    OpInfo("regbook.experiments.mixup.cutmix_lambda_gap", X.cutmix_lambda_gap,
           lambda: Sample((), {"size": 6, "alpha": 1.0, "draws": 5, "seeds": SEEDS}),
           extra=(("seeds", [1001, 1001], True), ("seeds", [1001, 2**63], True), ("alpha", 0.0, True))),
    OpInfo("regbook.experiments.mixup.mixup_experiment", X.mixup_experiment,
           lambda: Sample((), {"methods": ("erm", "mixup", "cutmix"), "noise": (0.0, 0.4), "n_train": 10,
                               "seeds": SEEDS, "steps": 2, "hidden": 4, "alpha": 1.0, "lr": 3e-3}),
           extra=(("methods", ("erm", "erm"), True), ("methods", ("erm", "dropout"), True),
                  ("noise", (0.0, 1.0), True), ("noise", (0.0, 0.0), True), ("seeds", [1001, 1001], True),
                  ("n_train", 1001, True), ("lr", 1e3, True))),
    OpInfo("regbook.experiments.mixup.LambdaGap", X.LambdaGap,
           lambda: Sample(tuple(getattr(_GAP, f) for f in _GAP_FIELDS), {}, _GAP_FIELDS),
           skip=_records_skip(*_GAP_FIELDS)),
    OpInfo("regbook.experiments.mixup.LambdaGap.share_above", _GAP.share_above,
           lambda: Sample((0.1,), {}, ("threshold",))),
    OpInfo("regbook.experiments.mixup.MixResult", X.MixResult,
           lambda: Sample(tuple(getattr(_MIX, f) for f in _MIX_FIELDS), {}, _MIX_FIELDS),
           skip=_records_skip(*_MIX_FIELDS)),
    OpInfo("regbook.experiments.mixup.MixResult.diff", _MIX.diff,
           lambda: Sample(("accuracy", "mixup", 0.4), {"baseline": "erm"}, ("metric", "method", "noise")),
           extra=(("metric", "seeds", True), ("metric", "diff", True), ("noise", 0.2, True))),
]
