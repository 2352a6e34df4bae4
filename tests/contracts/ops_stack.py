"""Contracts of the stack chapter and lab 6a: regbook.stack and regbook.experiments.stack.

Experiments get tiny valid calls (two of the tests' seeds, one epoch, a few
dozen digits or a 40-image CIFAR folder written here), so each case runs in
well under a second. Methods of modules and records are called through small
wrappers that take the object as a keyword (``module=``, ``obj=``) which is
skipped: a fresh object comes with every sample (dropout nets advance their
generators), and its state is watched.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from regbook import stack as S
from regbook.cifar import write_cifar_batches
from regbook.experiments import harness as H
from regbook.experiments import stack as X
from tests.conftest import TEST_SEEDS
from tests.contracts.opinfo import OpInfo, Sample

NOT_CALLABLE = {"regbook.stack.ARCHS", "regbook.stack.NORMS", "regbook.experiments.stack.KNOBS"}

SEEDS = list(TEST_SEEDS[:2])

OBJ = "the object under test, made fresh by the sample (its state is watched)"
PATH = ("a path that does not exist raises FileNotFoundError, as open() does (documented); the generic "
        "'unknown' case counts that as an escape, so wrong types are given as extra cases instead")


def _gen(i: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(TEST_SEEDS[i])


def _images(n: int = 4, c: int = 1, side: int = 8) -> torch.Tensor:
    return torch.rand(n, c, side, side, generator=_gen())


def _streams() -> list[H.Streams]:
    return [H.seed_streams(s) for s in SEEDS]


_DIGITS = X.digit_images(20, 10, SEEDS)
TINY = S.StackConfig.nothing_on(width=4, epochs=1, batch_size=32)
GRID1 = X.SweepGrid(weight_decay=(0.0,), randaugment=(True,), label_smoothing=(0.1,))


def _split(x: torch.Tensor | None = None, y: torch.Tensor | None = None) -> H.SeedSplit:
    tr = _DIGITS[0]
    return H.SeedSplit(tr.x if x is None else x, tr.y if y is None else y)


BAD_SPLITS = (
    _split(x=_DIGITS[0].x.clone().index_fill_(1, torch.tensor([0]), math.nan)),   # NaN pixels
    _split(x=_DIGITS[0].x * 2),                                                   # outside [0, 1]
    _split(x=_DIGITS[0].x.double()),                                              # float64
    _split(x=_DIGITS[0].x.flatten(2)),                                            # flat digits, not images
    _split(y=torch.where(_DIGITS[0].y == 9, 10, _DIGITS[0].y)),                   # label 10 of 10 classes
    _split(x=_DIGITS[0].x[:, :0], y=_DIGITS[0].y[:, :0]),                         # no examples
    _split(x=_DIGITS[0].x.to("meta")),                                            # no data
)


def _split_extras(name: str) -> tuple[tuple[str, Any, bool], ...]:
    return tuple((name, s, True) for s in BAD_SPLITS)


# --- regbook.stack ---------------------------------------------------------------------------

def _config_sample() -> Sample:
    return Sample((), {"arch": "mlp", "width": 8, "norm": "batch", "dropout": 0.1, "lr": 1e-2,
                       "weight_decay": 0.05, "randaugment_ops": 2, "randaugment_magnitude": 9,
                       "random_erasing": 0.25, "mix_prob": 0.5, "cutmix_prob": 0.5, "mixup_alpha": 0.2,
                       "cutmix_alpha": 1.0, "label_smoothing": 0.1, "patience": 3, "epochs": 5,
                       "batch_size": 16, "num_classes": 10})


def _augment_sample() -> Sample:
    cfg = S.StackConfig(randaugment_ops=1, random_erasing=0.5)
    return Sample((_images(), cfg), {"generator": _gen(1)}, ("x", "config"))


def _mix_sample() -> Sample:
    targets = H.soft_targets(torch.tensor([0, 1, 2, 3]), 10, 0.1)
    cfg = S.StackConfig(mix_prob=1.0, cutmix_prob=0.5)
    return Sample((_images(), targets, cfg), {"generator": _gen(1)}, ("x", "targets", "config"))


_MEAN, _STD = torch.tensor([0.5, 0.4, 0.3]), torch.tensor([0.2, 0.25, 0.3])


def _standardize_forward(x: torch.Tensor, *, module: S.Standardize) -> torch.Tensor:
    return module(x)


def _standardize_ref(x: torch.Tensor, *, module: S.Standardize) -> torch.Tensor:
    # torch's twin: batch norm in eval mode with running mean = mean and running var = std**2, eps 0
    return F.batch_norm(x, _MEAN.to(x.dtype), _STD.to(x.dtype) ** 2, training=False, eps=0.0)


def _standardize_forward_sample() -> Sample:
    m = S.Standardize(_MEAN, _STD)
    return Sample((torch.rand(2, 3, 4, 4, generator=_gen()),), {"module": m}, ("x",), state=(m,))


def _standardize_forward_bf16_sample() -> Sample:
    m = S.Standardize(_MEAN, _STD)
    x = torch.rand(2, 3, 4, 4, generator=_gen()).bfloat16()
    return Sample((x,), {"module": m}, ("x",), state=(m,))


def _bottleneck_forward(x: torch.Tensor, *, module: S.Bottleneck) -> torch.Tensor:
    return module(x)


def _bottleneck_ref(x: torch.Tensor, *, module: S.Bottleneck) -> torch.Tensor:
    """The block from torch.nn.functional ops with the module's parameters (batch statistics, as in training)."""
    def bn(h: torch.Tensor, layer: nn.BatchNorm2d) -> torch.Tensor:
        return F.batch_norm(h, None, None, layer.weight, layer.bias, training=True, eps=layer.eps)

    m = module
    stride = m.conv2.stride
    h = F.relu(bn(F.conv2d(x, m.conv1.weight), m.bn1))
    h = F.relu(bn(F.conv2d(h, m.conv2.weight, stride=stride, padding=1), m.bn2))
    h = bn(F.conv2d(h, m.conv3.weight), m.bn3)
    assert m.downsample is not None
    conv, norm = m.downsample[0], m.downsample[1]
    return F.relu(h + bn(F.conv2d(x, conv.weight, stride=stride), norm))


def _bottleneck_forward_sample() -> Sample:
    torch.manual_seed(0)  # nn.Conv2d draws its initial weights from the global generator
    m = S.Bottleneck(8, 4, stride=2)
    return Sample((torch.randn(2, 8, 6, 6, generator=_gen()),), {"module": m}, ("x",), state=(m,))


# --- regbook.experiments.stack: models --------------------------------------------------------

def _seed_cnn_sample() -> Sample:
    torch.manual_seed(0)
    features = nn.Sequential(nn.Conv2d(2, 8, 3, padding=1, groups=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
    return Sample((features, H.SeedLinear(2, 4, 10)),
                  {"seeds": 2, "channels": 4, "dropout": 0.1, "drop_generators": [_gen(0), _gen(1)]},
                  ("features", "head"))


def _call_module(x: torch.Tensor, *, module: nn.Module) -> torch.Tensor:
    out: torch.Tensor = module(x)
    return out


def _seed_cnn_forward_sample() -> Sample:
    net = X.build_cnn((1, 8, 8), 4, 10, streams=_streams(), dropout=0.3)
    x = torch.rand(2, 3, 1, 8, 8, generator=_gen())
    return Sample((x,), {"module": net}, ("x",), state=(net, *net.drop_generators))


def _on_device_forward_sample() -> Sample:
    net = X.OnDevice(X.build_cnn((1, 8, 8), 4, 10, streams=_streams(), norm="group"), "cpu")
    return Sample((torch.rand(2, 3, 1, 8, 8, generator=_gen()),), {"module": net}, ("x",), state=(net,))


def _build_model_sample() -> Sample:
    return Sample((S.StackConfig(width=8), _DIGITS[0]), {"streams": _streams()}, ("config", "train"))


def _cache_call(x: torch.Tensor, config: S.StackConfig, generator: torch.Generator, *,
                obj: X.AugmentCache) -> torch.Tensor:
    return obj(x, config, generator)


def _cache_call_sample() -> Sample:
    cache = X.AugmentCache(2**20)
    cache(_images(), S.StackConfig(randaugment_ops=1, random_erasing=0.5), _gen(1))  # one stored entry
    return Sample((_images(), S.StackConfig(randaugment_ops=1, random_erasing=0.5), _gen(1)), {"obj": cache},
                  ("x", "config", "generator"), state=(cache,))


# --- regbook.experiments.stack: records ---------------------------------------------------------

def _run_kwargs() -> dict[str, Any]:
    acc = torch.tensor([0.9, 0.8], dtype=torch.float64)
    return {"config": TINY, "seeds": tuple(SEEDS), "train_accuracy": acc.clone(), "val_accuracy": acc.clone(),
            "test_accuracy": acc.clone(), "test_nll": torch.tensor([0.3, 0.4], dtype=torch.float64),
            "best_epoch": torch.tensor([1, 2]), "val_loss": torch.tensor([[0.5, 0.6], [0.4, 0.5]]),
            "n_parameters": 10, "model": nn.Identity()}


def _run(acc: list[float], test: bool = True) -> X.StackRun:
    t = torch.tensor(acc, dtype=torch.float64)
    return X.StackRun(**{**_run_kwargs(), "train_accuracy": t, "val_accuracy": t,
                         "test_accuracy": t if test else None})


def _comparison() -> X.Comparison:
    return X.Comparison(seeds=tuple(SEEDS), n_train=20, n_val=10, n_test=5,
                        runs={"a": _run([0.9, 0.8]), "b": _run([0.7, 0.85]), "no test": _run([0.5, 0.5], False)})


def _comparison_method(method: str) -> Any:
    def call(*args: Any, obj: X.Comparison, **kwargs: Any) -> Any:
        return getattr(obj, method)(*args, **kwargs)
    return call


def _cmp_sample(args: tuple[Any, ...], names: tuple[str, ...], **kwargs: Any) -> Any:
    def make() -> Sample:
        obj = _comparison()
        return Sample(args, {**kwargs, "obj": obj}, names, state=(obj,))
    return make


def _sweep_result() -> X.SweepResult:
    grid = X.SweepGrid(weight_decay=(0.0, 0.05), randaugment=(False,), label_smoothing=(0.0, 0.1))
    val = torch.linspace(0.5, 0.9, 8, dtype=torch.float64).reshape(2, 1, 2, 2)
    return X.SweepResult(grid=grid, base=X.lab_base(epochs=1), seeds=tuple(SEEDS), n_train=20, n_val=10,
                         n_test=5, val_accuracy=val, test_accuracy=val - 0.1)


def _result_sample(args: tuple[Any, ...], names: tuple[str, ...], **kwargs: Any) -> Any:
    def make() -> Sample:
        obj = _sweep_result()
        return Sample(args, {**kwargs, "obj": obj}, names, state=(obj,))
    return make


def _result_method(method: str) -> Any:
    def call(*args: Any, obj: X.SweepResult, **kwargs: Any) -> Any:
        return getattr(obj, method)(*args, **kwargs)
    return call


def _grid_values(knob: str, *, obj: X.SweepGrid) -> Any:
    return obj.values(knob)


# --- regbook.experiments.stack: experiments -------------------------------------------------------

# a long prefix: test ids show the first 40 characters of a value, which must not include the random part
_CIFAR_DIR = tempfile.TemporaryDirectory(prefix="regbook-contracts-stack-cifar10-sweep-folder-")
_g = torch.Generator().manual_seed(TEST_SEEDS[0])
write_cifar_batches(_CIFAR_DIR.name, torch.randint(0, 256, (30, 3, 32, 32), generator=_g, dtype=torch.uint8),
                    [i % 10 for i in range(30)],
                    torch.randint(0, 256, (10, 3, 32, 32), generator=_g, dtype=torch.uint8), list(range(10)))
CIFAR_PATH = str(Path(_CIFAR_DIR.name) / "cifar-10-batches-py")
CIFAR_BASE = S.StackConfig(arch="cnn", width=2, epochs=1, batch_size=8, mix_prob=0.0, random_erasing=0.0,
                           patience=0)


def _train_stack_sample() -> Sample:
    tr, va, te = _DIGITS
    return Sample((TINY, tr, va, te), {"seeds": list(SEEDS), "device": "cpu", "augment_cache": None},
                  ("config", "train", "val", "test"))


def _wrong_seeds_split() -> H.SeedSplit:
    return X.digit_images(20, 10, [*SEEDS, TEST_SEEDS[2]])[0]


OPS = [
    # regbook.stack
    OpInfo("regbook.stack.StackConfig", S.StackConfig, _config_sample),
    OpInfo("regbook.stack.StackConfig.nothing_on", S.StackConfig.nothing_on,
           lambda: Sample((), {"epochs": 3, "width": 8})),
    OpInfo("regbook.stack.augment_images", S.augment_images, _augment_sample),
    OpInfo("regbook.stack.mix_batch", S.mix_batch, _mix_sample,
           extra=(("targets", torch.zeros(4, 10, device="meta"), False),)),
    OpInfo("regbook.stack.Standardize", S.Standardize, lambda: Sample((_MEAN.clone(), _STD.clone()), {},
                                                                      ("mean", "std")),
           extra=(("std", -_STD, True), ("std", torch.zeros(3), True))),
    OpInfo("regbook.stack.Standardize.forward", _standardize_forward, _standardize_forward_sample,
           ref=_standardize_ref, skip={"module": OBJ},
           extra=(("x", torch.rand(2, 4, 4, 4, generator=_gen()), True),)),
    # bfloat16 in, bfloat16 out, computed in float32 as torch does: equal up to one bfloat16 rounding step
    OpInfo("regbook.stack.Standardize.forward", _standardize_forward, _standardize_forward_bf16_sample,
           ref=_standardize_ref, skip={"module": OBJ}, tol=2**-7,
           extra=(("x", torch.rand(2, 3, 4, 4, generator=_gen()).half(), False),)),
    OpInfo("regbook.stack.Bottleneck", S.Bottleneck,
           lambda: Sample((8, 4), {"stride": 2, "device": "cpu"}, ("in_ch", "mid")),
           extra=(("device", "meta", False), ("device", torch.device("cpu"), False), ("device", 0, True),
                  ("device", "cuda:99", True))),
    OpInfo("regbook.stack.Bottleneck.forward", _bottleneck_forward, _bottleneck_forward_sample,
           ref=_bottleneck_ref, skip={"module": OBJ}, tol=1e-4,
           # (1, 8, 2, 2): one value per channel after the stride, which BatchNorm cannot normalize in training
           extra=(("x", torch.randn(1, 8, 2, 2, generator=_gen()), True),)),
    OpInfo("regbook.stack.resnet50", S.resnet50, lambda: Sample((10,), {"device": "meta"}, ("num_classes",))),
    OpInfo("regbook.stack.count_parameters", S.count_parameters,
           lambda: Sample((nn.Linear(3, 2),), {}, ("model",))),
    # regbook.experiments.stack: data and models
    OpInfo("regbook.experiments.stack.digit_images", X.digit_images,
           lambda: Sample((20, 10, list(SEEDS)), {}, ("n_train", "n_val", "seeds")),
           extra=(("seeds", 4, True), ("seeds", [2**63], True), ("seeds", [SEEDS[0]] * 2, True))),
    OpInfo("regbook.experiments.stack.build_cnn", X.build_cnn,
           lambda: Sample(((1, 8, 8), 4, 10), {"streams": _streams(), "norm": "batch", "dropout": 0.1},
                          ("in_shape", "width", "num_classes")),
           extra=(("in_shape", [1, 8, 8], False), ("in_shape", (1, 2**64, 8), True), ("in_shape", 8, True))),
    OpInfo("regbook.experiments.stack.SeedCNN", X.SeedCNN, _seed_cnn_sample,
           extra=(("drop_generators", [_gen(0)], True), ("drop_generators", _gen(0), True),
                  ("head", H.SeedLinear(3, 4, 10), True))),
    OpInfo("regbook.experiments.stack.SeedCNN.forward", _call_module, _seed_cnn_forward_sample,
           skip={"module": OBJ},
           extra=(("x", torch.rand(2, 3, 3, 8, 8, generator=_gen()), True),
                  ("x", torch.rand(2, 1, 1, 1, 1, generator=_gen()), True))),
    OpInfo("regbook.experiments.stack.OnDevice", X.OnDevice,
           lambda: Sample((nn.Linear(2, 1), "cpu"), {}, ("module", "device")),
           extra=(("device", 0, True), ("device", None, True), ("device", "cuda:99", True))),
    OpInfo("regbook.experiments.stack.OnDevice.forward", _call_module, _on_device_forward_sample,
           skip={"module": OBJ}),
    OpInfo("regbook.experiments.stack.build_model", X.build_model, _build_model_sample,
           extra=(*_split_extras("train"), ("streams", _streams()[:1], True), ("streams", H.seed_streams(1), True))),
    OpInfo("regbook.experiments.stack.AugmentCache", X.AugmentCache, lambda: Sample((), {"max_bytes": 2**20})),
    OpInfo("regbook.experiments.stack.AugmentCache.__call__", _cache_call, _cache_call_sample, skip={"obj": OBJ}),
    # records
    OpInfo("regbook.experiments.stack.StackRun", X.StackRun, lambda: Sample((), _run_kwargs()),
           extra=(("seeds", [SEEDS[0], SEEDS[1]], True), ("train_accuracy", torch.tensor([0.5, 1.5]), True),
                  ("best_epoch", torch.tensor([0, 1]), True))),
    OpInfo("regbook.experiments.stack.Comparison", X.Comparison,
           lambda: Sample((), {"seeds": tuple(SEEDS), "n_train": 20, "n_val": 10, "n_test": 5,
                               "runs": {"a": _run([0.9, 0.8])}}),
           extra=(("runs", {"a": 1}, True), ("runs", {1: _run([0.9, 0.8])}, True),
                  ("seeds", (SEEDS[0], TEST_SEEDS[2]), True))),
    OpInfo("regbook.experiments.stack.Comparison.test_accuracy", _comparison_method("test_accuracy"),
           _cmp_sample(("a",), ("name",)), skip={"obj": OBJ}, extra=(("name", "no test", True),)),
    OpInfo("regbook.experiments.stack.Comparison.train_accuracy", _comparison_method("train_accuracy"),
           _cmp_sample(("a",), ("name",)), skip={"obj": OBJ}),
    OpInfo("regbook.experiments.stack.Comparison.effect", _comparison_method("effect"),
           _cmp_sample(("a", "b"), ("name", "baseline"), metric="test"), skip={"obj": OBJ}),
    OpInfo("regbook.experiments.stack.SweepGrid", X.SweepGrid,
           lambda: Sample((), {"weight_decay": (0.0, 0.05), "randaugment": (False, True),
                               "label_smoothing": (0.0, 0.1)}),
           extra=(("weight_decay", 0.05, True), ("randaugment", True, True), ("randaugment", (1,), True),
                  ("weight_decay", (math.nan,), True), ("weight_decay", tuple(float(i) for i in range(10_001)), True))),
    OpInfo("regbook.experiments.stack.SweepGrid.values", _grid_values,
           lambda: Sample(("weight_decay",), {"obj": X.SweepGrid()}, ("knob",)), skip={"obj": OBJ}),
    OpInfo("regbook.experiments.stack.SweepResult", X.SweepResult,
           lambda: Sample((), {f.name: getattr(_sweep_result(), f.name)
                               for f in X.SweepResult.__dataclass_fields__.values()}),
           extra=(("val_accuracy", torch.zeros(2, 2, 2, 2, dtype=torch.float64), True),)),
    OpInfo("regbook.experiments.stack.SweepResult.marginal", _result_method("marginal"),
           _result_sample(("weight_decay",), ("knob",), metric="val"), skip={"obj": OBJ}),
    OpInfo("regbook.experiments.stack.SweepResult.effect", _result_method("effect"),
           _result_sample(("label_smoothing", 1), ("knob", "to"), frm=0, metric="test"), skip={"obj": OBJ}),
    OpInfo("regbook.experiments.stack.SweepResult.best", _result_method("best"), _result_sample((), ()),
           skip={"obj": OBJ}),
    # experiments
    OpInfo("regbook.experiments.stack.recipes", X.recipes,
           lambda: Sample((), {"epochs": 2, "lr": 1e-2, "patience": 1, "batch_size": 32})),
    OpInfo("regbook.experiments.stack.lab_base", X.lab_base,
           lambda: Sample((), {"epochs": 2, "lr": 1e-2, "batch_size": 32})),
    OpInfo("regbook.experiments.stack.train_stack", X.train_stack, _train_stack_sample,
           extra=(*_split_extras("train"), *_split_extras("val"), ("val", _wrong_seeds_split(), True),
                  ("seeds", 4, True), ("seeds", [SEEDS[0], 2**63], True), ("seeds", [SEEDS[0]] * 2, True),
                  ("device", "meta", True), ("device", "cuda:99", True), ("device", 0, True),
                  ("augment_cache", X.AugmentCache(0), False))),
    OpInfo("regbook.experiments.stack.compare", X.compare,
           lambda: Sample(({"plain": TINY},), {"n_train": 10, "n_val": 10, "seeds": list(SEEDS)}, ("configs",)),
           extra=(("configs", {"a": 1}, True), ("configs", {}, True), ("configs", {1: TINY}, True),
                  ("seeds", [SEEDS[0], 2**63], True), ("seeds", 4, True))),
    OpInfo("regbook.experiments.stack.sweep", X.sweep,
           lambda: Sample((GRID1,), {"base": X.lab_base(epochs=1, batch_size=32), "n_train": 20, "n_val": 10,
                                     "seeds": list(SEEDS)}, ("grid",)),
           extra=(("grid", {"weight_decay": (0.0,)}, True), ("seeds", [SEEDS[0], 2**63], True),
                  ("seeds", 4, True))),
    OpInfo("regbook.experiments.stack.cifar10_sweep", X.cifar10_sweep,
           lambda: Sample((CIFAR_PATH, GRID1), {"base": CIFAR_BASE, "n_train": 4, "n_val": 2, "n_test": 2,
                                                "seeds": list(SEEDS), "device": "cpu"}, ("path", "grid")),
           skip={"path": PATH},
           extra=(("path", 1, True), ("path", None, True), ("path", b"cifar", True), ("path", Path(CIFAR_PATH), False),
                  ("seeds", [SEEDS[0], 2**63], True), ("seeds", 4, True), ("device", "meta", True),
                  ("n_train", 29, True), ("base", {"epochs": 1}, True))),
]
