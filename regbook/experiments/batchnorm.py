r"""The experiments of the BatchNorm chapter, every one over several seeds trained together.

Each function returns per-seed values (a leading or trailing seed axis of
length ``k = len(seeds)``); the chapter turns them into intervals with
:func:`regbook.experiments.stats.estimate`. The networks are the book's one
model (:func:`~regbook.experiments.harness.build_mlp`, ``norm="batch"``,
``"group"`` or ``"none"``), trained by the one loop
(:func:`~regbook.experiments.harness.fit`, SGD with momentum 0.9 throughout),
on the 8×8 digits, where every seed draws its own training subsample,
initialisation and batch order (:func:`~regbook.experiments.harness.digit_splits`,
:func:`~regbook.experiments.harness.seed_streams`). The harness's BatchNorm
is :func:`torch.nn.functional.batch_norm` per seed; the chapter checks that
:func:`regbook.batchnorm.batch_norm` computes the same thing.

* :func:`canyon_vs_bowl` -- a least-squares loss on raw vs standardized features
  (closed form, no randomness: no seeds).
* :func:`activation_scale` -- how the scale of activations drifts with depth at initialisation.
* :func:`single_example_eval` -- a trained BatchNorm MLP tested in eval mode and, wrongly, in train mode.
* :func:`covariate_shift` with :class:`DriftNoise` -- Santurkar et al.'s noise test.
* :func:`smoothness` -- how much the loss and its gradient change along the gradient.
* :func:`max_stable_lr` -- the largest SGD learning rate that trains, with and without BatchNorm.
* :func:`batch_size_sweep` -- BatchNorm vs GroupNorm as the batch shrinks.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from regbook._checks import (
    check_choice,
    check_count,
    check_float_tensor,
    check_generator,
    check_in_range,
    check_instance,
    check_int,
    check_same_device,
    check_sequence,
)
from regbook.experiments.harness import (
    SeedLinear,
    SeedMLP,
    SeedNorm,
    SeedSplit,
    Streams,
    _check_seeds,
    build_mlp,
    digit_splits,
    evaluate,
    fit,
    seed_streams,
)
from regbook.experiments.stats import BOOK_SEEDS

__all__ = [
    "DIABETES_FEATURES",
    "BatchSizeSweep",
    "CanyonResult",
    "DriftNoise",
    "EvalModeResult",
    "LRSweep",
    "ScaleResult",
    "ShiftResult",
    "SmoothnessResult",
    "Surface",
    "activation_scale",
    "batch_size_sweep",
    "canyon_vs_bowl",
    "covariate_shift",
    "he_init_",
    "max_stable_lr",
    "single_example_eval",
    "smoothness",
]

NUM_CLASSES = 10
_M = TypeVar("_M", bound=nn.Module)
_T = TypeVar("_T")
IN_FEATURES = 64


@functools.lru_cache(maxsize=4)
def _digit_splits(n_train: int, seeds: tuple[int, ...]) -> tuple[SeedSplit, SeedSplit]:
    train, _, test = digit_splits(n_train, 0, seeds)
    return train, test


def _splits(n_train: int, n_test: int, seeds: list[int]) -> tuple[SeedSplit, SeedSplit]:
    """Each seed's own training subsample and the first ``n_test`` of its test images (arguments checked).

    The chapter's experiments share their data: the splits are cached (nothing writes to them).
    """
    train, test = _digit_splits(n_train, tuple(seeds))
    return train, SeedSplit(test.x[:, :n_test], test.y[:, :n_test])


def _streams(seeds: list[int]) -> list[Streams]:
    return [seed_streams(s) for s in seeds]


#: Images in the digits data set: a seed's training images and test images come out of these.
_N_DIGITS = 1797

#: The largest learning rate :func:`~regbook.experiments.harness.fit` accepts.
_MAX_LR = 100.0


def _check_n_train(n_train: object, *, minimum: int = 2) -> int:
    """Training images per seed: at least ``minimum``, and one digit must be left for the test split."""
    return check_int("n_train", n_train, minimum=minimum, maximum=_N_DIGITS - 1)


def _check_n_test(n_test: object, n_train: int, *, minimum: int = 1) -> int:
    """Test images per seed: at most what the training subsample leaves (``1797 - n_train``)."""
    return check_int("n_test", n_test, minimum=minimum, maximum=_N_DIGITS - n_train)


def _check_at_most(name: str, value: int, limit_name: str, limit: int) -> None:
    if value > limit:
        raise ValueError(f"{name} must be <= {limit_name} ({limit}) (got {value})")


def _check_lr(name: str, lr: object) -> float:
    """A learning rate in ``(0, 100]``, the range the training loop accepts."""
    return check_in_range(name, lr, 0.0, _MAX_LR, low_inclusive=False)


def _check_items(name: str, value: object, check: Callable[[str, object], _T]) -> list[_T]:
    """A non-empty list or tuple (not a scalar, not a string), every item passing ``check``."""
    return [check(f"{name}[{i}]", v) for i, v in enumerate(check_sequence(name, value))]


def he_init_(model: _M) -> _M:
    r"""He's ReLU initialisation on top of the harness's draws, in place: weights times :math:`\sqrt 6`, biases 0.

    :func:`~regbook.experiments.harness.init_` draws every weight from
    :math:`U(-1/\sqrt n, 1/\sqrt n)` (variance :math:`1/(3n)`); times :math:`\sqrt 6`
    that is :math:`U(-\sqrt{6/n}, \sqrt{6/n})`, variance :math:`2/n`: PyTorch's
    ``kaiming_uniform_`` for ReLU. The seeds' draws are unchanged, only rescaled.
    Used by the deep (6-layer) experiments, where the default ranges shrink the
    signal by :math:`1/\sqrt 6` per layer (:func:`activation_scale`) and a plain
    network barely trains (at the chapter's settings its loss stays near :math:`\ln 10`).

    Args:
        model: Any ``nn.Module``; its :class:`~regbook.experiments.harness.SeedLinear` layers are rescaled.

    Returns:
        ``model``.

    Mutates:
        ``model``'s ``SeedLinear`` weights (times :math:`\sqrt 6`) and biases (zeroed), in place.

    Raises:
        TypeError: If ``model`` is not an ``nn.Module`` (nothing is changed).
    """
    check_instance("model", model, nn.Module)
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, SeedLinear):
                layer.weight.mul_(math.sqrt(6.0))
                if layer.bias is not None:
                    layer.bias.zero_()
    return model


# ---------------------------------------------------------------------------
# Canyon vs bowl: a real least-squares loss, raw vs standardized features
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Surface:
    r"""A least-squares loss :math:`L(w) = \frac{1}{2n}\lVert y - Xw \rVert^2` and gradient descent on it.

    Attributes:
        x: Design matrix ``(n, 2)`` (centred columns).
        y: Target ``(n,)``.
        hessian: :math:`X^\top X / n`, ``(2, 2)``.
        condition_number: :math:`\lambda_{\max}/\lambda_{\min}` of the Hessian.
        w_star: The minimizer ``(2,)``.
        loss_star: :math:`L(w^\star)`.
        lr: Step size used, a fraction of :math:`2/\lambda_{\max}` (the stability limit).
        path: Gradient-descent iterates :math:`w_0 = 0, w_1, \dots`, ``(steps + 1, 2)``.
        loss_gap: :math:`L(w_t) - L(w^\star)` along the path, ``(steps + 1,)``.
    """

    x: torch.Tensor
    y: torch.Tensor
    hessian: torch.Tensor
    condition_number: float
    w_star: torch.Tensor
    loss_star: float
    lr: float
    path: torch.Tensor
    loss_gap: torch.Tensor

    def loss(self, w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
        """The loss on a grid of weights: ``w1``, ``w2`` finite floating tensors that broadcast together,
        on the surface's device (CPU); the result has their broadcast shape, float64.

        Raises:
            TypeError: If ``w1`` or ``w2`` is not a floating tensor.
            ValueError: If one is empty, holds NaN/inf, is on another device, or they do not broadcast.
        """
        for name, w in (("w1", w1), ("w2", w2)):
            check_same_device(name, check_float_tensor(name, w), "the surface", self.x)
        try:
            torch.broadcast_shapes(w1.shape, w2.shape)
        except RuntimeError:
            raise ValueError(f"w1 and w2 must broadcast together (got shapes {tuple(w1.shape)} and "
                             f"{tuple(w2.shape)})") from None
        r = self.y - self.x[:, 0] * w1[..., None] - self.x[:, 1] * w2[..., None]
        return 0.5 * r.square().mean(dim=-1)

    def steps_to(self, fraction: float) -> int:
        """First step at which the loss gap is below ``fraction`` (a real number in [0, 1]) of the
        starting gap (-1 if never). Raises ``TypeError`` / ``ValueError`` on another ``fraction``."""
        fraction = check_in_range("fraction", fraction, 0.0, 1.0)
        hit = torch.nonzero(self.loss_gap <= fraction * self.loss_gap[0])
        return int(hit[0, 0]) if len(hit) else -1


@dataclass(frozen=True)
class CanyonResult:
    """The same regression in raw units and standardized (see :func:`canyon_vs_bowl`).

    Attributes:
        features: The two feature names.
        raw: Centred columns in their original units.
        standardized: Centred columns divided by their standard deviations.
        uncentred_condition_number: Condition number of the Hessian when the raw columns are
            not even centred and an intercept is fitted beside them (the ``(3, 3)`` matrix of
            ``[x1, x2, 1]``).
    """

    features: tuple[str, str]
    raw: Surface
    standardized: Surface
    uncentred_condition_number: float


DIABETES_FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")


def _surface(x: torch.Tensor, y: torch.Tensor, *, lr_fraction: float, steps: int) -> Surface:
    n = x.shape[0]
    h = x.T @ x / n                                   # Hessian of L, constant
    eig, vecs = torch.linalg.eigh(h)
    w_star = torch.linalg.solve(h, x.T @ y / n)
    loss_star = float(0.5 * (y - x @ w_star).square().mean())
    lr = lr_fraction * 2.0 / float(eig[-1])
    # Gradient descent w_{t+1} = w_t - lr·H(w_t - w*) from w_0 = 0, in the eigenbasis of H:
    # w_t = w* - V diag((1 - lr·λ)^t) Vᵀ w*  (exactly the iteration, without a Python loop).
    t = torch.arange(steps + 1, dtype=x.dtype)[:, None]
    decay = (1.0 - lr * eig)[None, :] ** t                          # (steps + 1, 2)
    path = w_star - (decay * (vecs.T @ w_star)[None, :]) @ vecs.T
    gap = 0.5 * (((path - w_star) @ h) * (path - w_star)).sum(dim=1)   # L(w) - L* = ½ (w-w*)ᵀH(w-w*)
    return Surface(x, y, h, float(eig[-1] / eig[0]), w_star, loss_star, lr, path, gap)


def canyon_vs_bowl(
    features: tuple[str, str] = ("bmi", "s5"),
    *,
    lr_fraction: float = 0.9,
    steps: int = 1000,
) -> CanyonResult:
    r"""The loss surface of a linear model on raw features, and on the same features standardized.

    Data: scikit-learn's diabetes set in its original units (ships with the
    library: no download), 442 patients; the target (disease progression after
    a year) is standardized. Model: :math:`\hat y = w_1 x_1 + w_2 x_2` on centred
    columns (the same as fitting an intercept), loss
    :math:`\frac{1}{2n}\lVert y - Xw\rVert^2`, whose Hessian :math:`X^\top X/n`
    is constant. In raw units the columns have very different scales, so the
    Hessian is badly conditioned: a canyon. Dividing each column by its
    standard deviation is only a change of coordinates :math:`w_j \to w_j s_j`:
    the same functions, the same minimum loss, but only the correlation is
    left, :math:`\kappa = (1+|\rho|)/(1-|\rho|)`: a bowl. Gradient descent runs
    from the origin on both, with step ``lr_fraction`` × :math:`2/\lambda_{\max}`.

    Deterministic (no seeds): the data set is fixed and the iteration is exact.

    Args:
        features: A tuple (or list) of two different names from ``age, sex, bmi, bp, s1, ..., s6``.
        lr_fraction: Fraction of the stability limit, a real number in (0, 1).
        steps: Gradient-descent steps, an int in ``[1, 10**6]``.

    Returns:
        A :class:`CanyonResult` (float64 tensors). Mutates nothing.

    Raises:
        TypeError: On a ``features`` that is not a list or tuple, or a wrongly typed number.
        ValueError: On an unknown or repeated feature name, not two names, ``lr_fraction`` outside (0, 1),
            ``steps`` outside ``[1, 10**6]``.

    >>> r = canyon_vs_bowl(steps=10)
    >>> r.raw.condition_number > 30 * r.standardized.condition_number
    True
    """
    names = check_sequence("features", features)
    if len(names) != 2:
        raise ValueError(f"features must be a tuple of two names (got {features!r})")
    f1 = check_choice("features[0]", names[0], DIABETES_FEATURES)
    f2 = check_choice("features[1]", names[1], DIABETES_FEATURES)
    if f1 == f2:
        raise ValueError(f"features must be two different names (got {features!r})")
    lr_fraction = check_in_range("lr_fraction", lr_fraction, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    steps = check_int("steps", steps, minimum=1, maximum=10**6)

    from sklearn.datasets import load_diabetes  # bundled with scikit-learn: no download

    data = load_diabetes(scaled=False)
    cols = [DIABETES_FEATURES.index(f1), DIABETES_FEATURES.index(f2)]
    x = torch.tensor(data.data[:, cols], dtype=torch.float64)
    y = torch.tensor(data.target, dtype=torch.float64)
    y = (y - y.mean()) / y.std(correction=0)
    x_centred = x - x.mean(dim=0)
    x_std = x_centred / x.std(dim=0, correction=0)
    with_intercept = torch.cat([x, torch.ones(len(y), 1, dtype=x.dtype)], dim=1)
    eig3 = torch.linalg.eigvalsh(with_intercept.T @ with_intercept / len(y))
    return CanyonResult(
        (f1, f2),
        _surface(x_centred, y, lr_fraction=lr_fraction, steps=steps),
        _surface(x_std, y, lr_fraction=lr_fraction, steps=steps),
        float(eig3[-1] / eig3[0]),
    )


# ---------------------------------------------------------------------------
# Scale drift at initialisation
# ---------------------------------------------------------------------------

SCALE_INITS = ("default", "he", "batch")


@dataclass(frozen=True)
class ScaleResult:
    """Root mean square of every hidden layer's output at initialisation (see :func:`activation_scale`).

    Attributes:
        depth: Hidden layers.
        width: Units per hidden layer.
        rms: ``{"default": ..., "he": ..., "batch": ...}``, each ``(depth, k)``: the root mean
            square of hidden layer ``l``'s output (after the ReLU) over the batch and the units.
    """

    depth: int
    width: int
    rms: dict[str, torch.Tensor]

    def factor(self, init: str) -> torch.Tensor:
        """Per seed, the geometric mean of the layer-to-layer ratio ``rms[l+1] / rms[l]``, ``(k,)``.

        ``init`` is one of the keys of :attr:`rms` (``ValueError`` otherwise)."""
        init = check_choice("init", init, tuple(self.rms))
        r = self.rms[init].double()
        return (r[-1] / r[0]) ** (1.0 / (self.depth - 1))


def activation_scale(
    *,
    depth: int = 20,
    width: int = 256,
    n_examples: int = 256,
    seeds: Sequence[int] = BOOK_SEEDS,
) -> ScaleResult:
    r"""How the scale of a deep ReLU MLP's activations changes with depth at initialisation.

    Three versions of the same ``depth``-layer MLP see each seed's digits
    (one forward pass, no training):

    * ``"default"``: the book's initialisation (:func:`~regbook.experiments.harness.init_`,
      PyTorch's ``nn.Linear`` ranges), weights :math:`U(-1/\sqrt{n}, 1/\sqrt{n})`, variance
      :math:`1/(3n)`;
    * ``"he"``: the same draws times :math:`\sqrt 6`, i.e. :math:`U(-\sqrt{6/n}, \sqrt{6/n})`,
      variance :math:`2/n` (He et al.'s ReLU initialisation, ``kaiming_uniform_``);
    * ``"batch"``: the default initialisation with BatchNorm before every ReLU (train mode).

    Biases are set to zero in the first two, as He's scheme does, so only the
    weights set the scale. For zero-mean weights of variance :math:`\sigma^2`
    the mean square of a pre-activation grows by :math:`n\sigma^2/2` per layer
    (the ReLU keeps half of a symmetric input's second moment), so the root
    mean square changes by :math:`\sqrt{n\sigma^2/2}`: :math:`1/\sqrt6 \approx 0.41`
    for ``"default"``, :math:`1` for ``"he"``.

    Args:
        depth: Hidden layers, an int ``>= 2``.
        width: Units per hidden layer, an int ``>= 2``.
        n_examples: Training images passed through (each seed its own), an int in ``[2, 1796]``.
        seeds: A non-empty list or tuple (not one int) of distinct int seeds ``>= 0``; each gives its
            own images and weights.

    Returns:
        A :class:`ScaleResult`. Mutates nothing; every argument is checked before any network is built.

    Raises:
        ValueError, TypeError: On a size out of range or invalid seeds (named in the message).

    >>> r = activation_scale(depth=4, width=32, n_examples=64, seeds=(0, 1))
    >>> tuple(r.rms["he"].shape)
    (4, 2)
    """
    depth = check_count("depth", depth, minimum=2)
    width = check_count("width", width, minimum=2)
    n_examples = check_int("n_examples", n_examples, minimum=2, maximum=_N_DIGITS - 1)
    seed_list = _check_seeds(seeds)
    train, _ = _splits(n_examples, 1, seed_list)
    rms: dict[str, torch.Tensor] = {}
    for init in SCALE_INITS:
        streams = _streams(seed_list)
        net = build_mlp(IN_FEATURES, [width] * depth, NUM_CLASSES, streams=streams,
                        norm="batch" if init == "batch" else "none")
        if init == "he":
            he_init_(net)
        with torch.no_grad():
            for layer in net.modules():
                if isinstance(layer, SeedLinear) and layer.bias is not None:
                    layer.bias.zero_()
            hidden = net.hidden(train.x)                  # the output of every hidden block
        rms[init] = torch.stack([h.double().square().mean(dim=(1, 2)).sqrt() for h in hidden])
    return ScaleResult(depth, width, rms)


# ---------------------------------------------------------------------------
# Train mode vs eval mode, after training
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalModeResult:
    """Test accuracies of trained BatchNorm MLPs, run in eval mode and (wrongly) in train mode.

    All accuracy tensors are ``(len(batch_sizes), k)`` except ``eval_single``, ``(k,)``.

    Attributes:
        batch_sizes: Test-time batch sizes tried (the last one is the whole test set).
        eval_accuracy: ``model.eval()``, per batch size, on shuffled test batches.
        eval_single: ``model.eval()``, one example at a time.
        train_shuffled: Left in train mode, per batch size, on shuffled test batches.
        train_sorted: Left in train mode, per batch size, on the test set sorted by label
            (an unshuffled loader: each batch holds one or two classes).
        n_test: Test images per seed.
    """

    batch_sizes: list[int]
    eval_accuracy: torch.Tensor
    eval_single: torch.Tensor
    train_shuffled: torch.Tensor
    train_sorted: torch.Tensor
    n_test: int


def single_example_eval(
    test_batch_sizes: Sequence[int] = (2, 4, 32),
    *,
    n_train: int = 1000,
    epochs: int = 3,
    batch_size: int = 32,
    width: int = 64,
    lr: float = 0.05,
    n_test: int = 400,
    seeds: Sequence[int] = BOOK_SEEDS,
) -> EvalModeResult:
    """Train a two-layer BatchNorm MLP per seed, then test it with and without ``model.eval()``.

    In eval mode every example is normalized with the running statistics, so
    the batching of the test set cannot matter. Left in train mode, each
    test batch is normalized with its *own* statistics: the prediction for an
    image depends on which other images share its batch, and a batch drawn
    from one class is normalized away. The running statistics that train
    mode overwrites are restored before every pass.

    Args:
        test_batch_sizes: A non-empty list or tuple of test-time batch sizes, ints in ``[2, n_test]``;
            the whole test set is added.
        n_train: Training images per seed, an int in ``[2, 1796]``.
        epochs: Training epochs (SGD, momentum 0.9), an int ``>= 1``.
        batch_size: Training batch size, an int in ``[2, n_train]``.
        width: Units per hidden layer, an int ``>= 2``.
        lr: Learning rate, in ``(0, 100]``.
        n_test: Test images per seed, an int in ``[2, 1797 - n_train]``.
        seeds: A non-empty list or tuple (not one int) of distinct int seeds ``>= 0``; each gives its
            own split, initialisation and batches.

    Returns:
        An :class:`EvalModeResult`. Every argument, every seed included, is checked before any training.

    Raises:
        TypeError: On a wrongly typed argument (a scalar for a sequence included).
        ValueError: On an empty ``test_batch_sizes`` or a size, count or rate out of range.
    """
    sizes = _check_items("test_batch_sizes", test_batch_sizes, lambda n, v: check_count(n, v, minimum=2))
    n_train = _check_n_train(n_train)
    epochs = check_count("epochs", epochs)
    batch_size = check_count("batch_size", batch_size, minimum=2)
    _check_at_most("batch_size", batch_size, "n_train", n_train)
    width = check_count("width", width, minimum=2)
    lr = _check_lr("lr", lr)
    n_test = _check_n_test(n_test, n_train, minimum=2)
    for i, b in enumerate(sizes):
        _check_at_most(f"test_batch_sizes[{i}]", b, "n_test", n_test)
    seed_list = _check_seeds(seeds)

    train, test = _splits(n_train, n_test, seed_list)
    streams = _streams(seed_list)
    model = build_mlp(IN_FEATURES, [width, width], NUM_CLASSES, streams=streams, norm="batch")
    fit(model, train, streams=streams, num_classes=NUM_CLASSES, epochs=epochs, batch_size=batch_size,
        optimizer="sgd", lr=lr, momentum=0.9)
    state = copy.deepcopy(model.state_dict())
    order = torch.argsort(test.y, dim=1, stable=True)
    rows = torch.arange(test.seeds)[:, None]
    sorted_test = SeedSplit(test.x[rows, order], test.y[rows, order])

    def run(split: SeedSplit, size: int, training: bool) -> torch.Tensor:
        model.load_state_dict(state)      # train-mode passes overwrite the running stats: start clean
        model.train(training)
        with torch.no_grad():
            preds = torch.cat([model(split.x[:, i : i + size]).argmax(-1) for i in range(0, split.n, size)], dim=1)
        return (preds == split.y).double().mean(-1)

    sizes = [*sizes, test.n]
    result = EvalModeResult(
        batch_sizes=sizes,
        eval_accuracy=torch.stack([run(test, b, False) for b in sizes]),
        eval_single=run(test, 1, False),
        train_shuffled=torch.stack([run(test, b, True) for b in sizes]),
        train_sorted=torch.stack([run(sorted_test, b, True) for b in sizes]),
        n_test=test.n,
    )
    model.load_state_dict(state)
    model.eval()
    return result


# ---------------------------------------------------------------------------
# The internal covariate shift debate: the noise test
# ---------------------------------------------------------------------------


class DriftNoise(nn.Module):
    r"""Santurkar et al.'s "noisy BatchNorm": a random per-unit scale and shift, redrawn every step.

    On ``(k, B, C)`` activations, in training: :math:`x \mapsto s \odot x + m` with
    :math:`\log s_j \sim \mathcal N(0, a^2)` and :math:`m_j \sim \mathcal N(0, a^2)`
    (``a`` = ``strength``), one draw per seed and unit, shared by the whole
    batch, redrawn by :meth:`resample` (once per optimizer step). Placed after
    a BatchNorm layer it makes the next layer's input distribution *move* from
    step to step: it adds internal covariate shift on purpose. The identity in eval mode.

    Args:
        width: Units ``C``, an int ``>= 1``.
        strength: Standard deviation ``a`` of the log-scale and of the shift, a real number in [0, 10].
        generators: A non-empty list or tuple of ``torch.Generator``, one per seed (seed ``i``'s
            draws come from ``generators[i]`` only, on that generator's device).

    Raises:
        TypeError: On a wrongly typed argument (one generator instead of a sequence included).
        ValueError: On ``width`` or ``strength`` out of range, or no generators.

    :meth:`forward` takes a finite floating ``(k, B, C)`` tensor (``k`` = number of
    generators, ``C`` = ``width``) on the generators' device and returns one of the
    same shape and dtype; it mutates nothing. :meth:`resample` mutates the scale and
    shift and advances every generator.
    """

    def __init__(self, width: int, *, strength: float, generators: Sequence[torch.Generator]) -> None:
        width = check_count("width", width)
        strength = check_in_range("strength", strength, 0.0, 10.0)
        gens = _check_items("generators", generators, check_generator)
        super().__init__()
        self.width = width
        self.strength = strength
        self.generators = gens
        k = len(self.generators)
        device = gens[0].device
        self.scale = torch.ones(k, 1, width, device=device)
        self.shift = torch.zeros(k, 1, width, device=device)

    def resample(self) -> None:
        """Draw a new scale and shift for every seed (call once per optimizer step).

        Mutates ``scale``, ``shift`` and every generator's state; takes no arguments.
        """
        a = self.strength
        draws = [torch.randn(2, self.width, generator=g, device=g.device) for g in self.generators]
        self.scale = torch.stack([torch.exp(a * d[0]) for d in draws])[:, None, :]
        self.shift = torch.stack([a * d[1] for d in draws])[:, None, :]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``s * x + m`` in training, ``x`` itself in eval mode (see the class docstring for the contract)."""
        x = check_float_tensor("x", x, ndim=3)
        k = len(self.generators)
        if x.shape[0] != k or x.shape[2] != self.width:
            raise ValueError(f"x must have shape ({k}, B, {self.width}): one slice per generator, width units "
                             f"(got {tuple(x.shape)})")
        check_same_device("x", x, "the noise's scale", self.scale)
        if not self.training:
            return x
        return x * self.scale.to(x.dtype) + self.shift.to(x.dtype)


@dataclass(frozen=True)
class ShiftResult:
    """Training with BatchNorm, without it, and with BatchNorm plus injected drift (:func:`covariate_shift`).

    Attributes:
        variants: ``("plain", "bn", "bn+drift 0.1", ...)``, one drift variant per noise strength.
        loss: Per variant, the training loss of every step, ``(steps, k)``.
        shift: Per variant and step, the mean absolute change since the previous step of the
            per-unit mean and standard deviation of every hidden layer's input (after the
            first), on a fixed probe batch in train mode, ``(steps, k)``.
        train_loss: Per variant, the final training-set loss (eval mode), ``(k,)``.
        test_accuracy: Per variant, test accuracy (eval mode), ``(k,)``.
    """

    variants: tuple[str, ...]
    loss: dict[str, torch.Tensor]
    shift: dict[str, torch.Tensor]
    train_loss: dict[str, torch.Tensor]
    test_accuracy: dict[str, torch.Tensor]

    def median_shift(self, variant: str) -> torch.Tensor:
        """Per seed, the median of :attr:`shift` over the steps, ``(k,)``; ``variant`` a key of :attr:`shift`."""
        variant = check_choice("variant", variant, tuple(self.shift))
        return self.shift[variant].median(dim=0).values


def _with_drift(model: SeedMLP, strength: float, streams: Sequence[Streams]) -> tuple[SeedMLP, list[DriftNoise]]:
    """``model`` with a :class:`DriftNoise` after every norm layer (drawing from each seed's ``drop`` stream)."""
    layers: list[nn.Module] = []
    noises: list[DriftNoise] = []
    for layer in model.layers:
        layers.append(layer)
        if isinstance(layer, SeedNorm):
            noises.append(DriftNoise(layer.features, strength=strength, generators=[s.drop for s in streams]))
            layers.append(noises[-1])
    return SeedMLP(nn.Sequential(*layers), model.seeds), noises


@torch.no_grad()
def _layer_input_stats(model: SeedMLP, probe: torch.Tensor) -> torch.Tensor:
    """Per seed, the per-unit mean and std of the input of every hidden linear layer after the first.

    One forward pass in train mode; buffers (running statistics) and the mode are restored. ``(k, L, 2C)``.
    """
    was = model.training
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    model.train()
    hidden = model.hidden(probe)
    for name, b in model.named_buffers():
        b.copy_(buffers[name])
    model.train(was)
    stats = []
    for h in hidden:
        mean = h.mean(dim=1, keepdim=True)
        std = ((h - mean).square().sum(dim=1) / (h.shape[1] - 1)).sqrt()    # (torch's std is slow here)
        stats.append(torch.cat([mean[:, 0], std], dim=-1))
    return torch.stack(stats, dim=1)


def covariate_shift(
    *,
    depth: int = 6,
    width: int = 64,
    n_train: int = 1000,
    batch_size: int = 64,
    epochs: int = 5,
    lr: float = 0.05,
    strengths: Sequence[float] = (0.1, 0.5),
    n_test: int = 500,
    n_probe: int = 128,
    seeds: Sequence[int] = BOOK_SEEDS,
) -> ShiftResult:
    """Does BatchNorm help by removing internal covariate shift? Santurkar et al.'s test, small.

    Per seed, copies of a deep MLP train on that seed's digits with the same
    batch order and optimizer (SGD, momentum 0.9): without normalization, with
    BatchNorm, and with BatchNorm followed by :class:`DriftNoise` after every
    hidden layer (one copy per noise strength). The noise makes each layer's
    input distribution jump at every step: it *adds* covariate shift. If
    BatchNorm's benefit came from removing that shift, the noisy variant
    should lose it. After every step the shift is measured on a fixed probe
    batch of the seed's training images: for every hidden linear layer after
    the first, the per-unit mean and standard deviation of its input, and the
    mean absolute change of both since the previous step.

    Args:
        depth: Hidden layers, an int ``>= 2``.
        width: Units per hidden layer, an int ``>= 2``.
        n_train: Training images per seed, an int in ``[2, 1796]``.
        batch_size: Mini-batch size, an int in ``[2, n_train]``.
        epochs: Passes over the training images, an int ``>= 1``.
        lr: Learning rate, the same for all variants, in ``(0, 100]``.
        strengths: A non-empty list or tuple of noise strengths of :class:`DriftNoise` in [0, 10],
            one BN + drift variant each.
        n_test: Test images per seed, an int in ``[1, 1797 - n_train]``.
        n_probe: Probe images (the first of each seed's training images), an int in ``[2, n_train]``.
        seeds: A non-empty list or tuple (not one int) of distinct int seeds ``>= 0``; each gives its
            own split, initialisation, batches and noise.

    Returns:
        A :class:`ShiftResult`. Every argument, every seed included, is checked before any training.

    Raises:
        TypeError: On a wrongly typed argument (a scalar for a sequence included).
        ValueError: On a size, count or learning rate out of range, or a strength outside [0, 10].
    """
    depth = check_count("depth", depth, minimum=2)
    width = check_count("width", width, minimum=2)
    n_train = _check_n_train(n_train)
    batch_size = check_count("batch_size", batch_size, minimum=2)
    _check_at_most("batch_size", batch_size, "n_train", n_train)
    epochs = check_count("epochs", epochs)
    lr = _check_lr("lr", lr)
    levels = _check_items("strengths", strengths, lambda n, a: check_in_range(n, a, 0.0, 10.0))
    n_test = _check_n_test(n_test, n_train)
    n_probe = check_count("n_probe", n_probe, minimum=2)
    _check_at_most("n_probe", n_probe, "n_train", n_train)
    seed_list = _check_seeds(seeds)

    train, test = _splits(n_train, n_test, seed_list)
    probe = train.x[:, :n_probe]
    variants = ("plain", "bn", *(f"bn+drift {a:g}" for a in levels))
    strength_of = {f"bn+drift {a:g}": a for a in levels}
    out: dict[str, dict[str, torch.Tensor]] = {"loss": {}, "shift": {}, "train_loss": {}, "acc": {}}
    for name in variants:
        streams = _streams(seed_list)
        model = he_init_(build_mlp(IN_FEATURES, [width] * depth, NUM_CLASSES, streams=streams,
                                   norm="none" if name == "plain" else "batch"))
        noises: list[DriftNoise] = []
        if name in strength_of:
            model, noises = _with_drift(model, strength_of[name], streams)
        for noise in noises:
            noise.resample()
        previous = [_layer_input_stats(model, probe)]

        def after_step(m: nn.Module, step: int, noises: list[DriftNoise] = noises,
                       previous: list[torch.Tensor] = previous, model: SeedMLP = model) -> dict[str, torch.Tensor]:
            for noise in noises:                 # a new drift for the next step
                noise.resample()
            current = _layer_input_stats(model, probe)
            moved = (current - previous[0]).abs().mean(dim=(1, 2))
            previous[0] = current
            return {"shift": moved}

        res = fit(model, train, streams=streams, num_classes=NUM_CLASSES, epochs=epochs, batch_size=batch_size,
                  optimizer="sgd", lr=lr, momentum=0.9, record=after_step, record_every=1)
        out["loss"][name] = res.curve("train_loss").float()
        out["shift"][name] = res.curve("shift").float()
        out["train_loss"][name] = evaluate(model, train)["nll"]
        out["acc"][name] = evaluate(model, test)["accuracy"]
    return ShiftResult(variants, out["loss"], out["shift"], out["train_loss"], out["acc"])


# ---------------------------------------------------------------------------
# The loss landscape along the gradient
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SmoothnessResult:
    r"""Loss-landscape probes along training, with and without BatchNorm (Santurkar et al., 2018).

    At each probe step the gradient :math:`g` of the loss on a fixed probe batch
    is computed; then for every step size :math:`\eta` in ``step_sizes`` the
    loss and gradient at :math:`\theta - \eta g` are evaluated on the same batch.
    Every series is ``(probes, k)``, per variant ``"bn"`` / ``"plain"``.

    Attributes:
        steps: Training steps at which the probes were taken (0: at initialisation).
        step_sizes: The probe step sizes :math:`\eta`.
        loss: Probe-batch loss at each probe.
        loss_range: ``max_η L(θ-ηg) - min_η L(θ-ηg)`` (variation of the loss).
        grad_change: ``max_η ‖∇L(θ-ηg) - g‖`` (gradient predictiveness; lower is better).
        beta: ``max_η ‖∇L(θ-ηg) - g‖ / ‖ηg‖`` (effective β-smoothness).
        train_loss: Final training-set loss (eval mode), ``(k,)`` per variant.
    """

    steps: list[int]
    step_sizes: list[float]
    loss: dict[str, torch.Tensor]
    loss_range: dict[str, torch.Tensor]
    grad_change: dict[str, torch.Tensor]
    beta: dict[str, torch.Tensor]
    train_loss: dict[str, torch.Tensor]

    def median(self, key: str, variant: str) -> torch.Tensor:
        """Per seed, the median of one series over the probes after initialisation, ``(k,)``.

        ``key``: ``"loss"``, ``"loss_range"``, ``"grad_change"`` or ``"beta"``; ``variant``: a key of
        that series (``"bn"`` / ``"plain"``); ``ValueError`` otherwise.
        """
        key = check_choice("key", key, ("loss", "loss_range", "grad_change", "beta"))
        variant = check_choice("variant", variant, tuple(getattr(self, key)))
        series: torch.Tensor = getattr(self, key)[variant]
        return series[1:].median(dim=0).values


def _per_seed_norm(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Euclidean norm of each seed's slice (leading axis) of a list of tensors, ``(k,)``."""
    return torch.stack([t.reshape(t.shape[0], -1).square().sum(1) for t in tensors]).sum(0).sqrt()


def _probe(model: SeedMLP, x: torch.Tensor, y: torch.Tensor, step_sizes: Sequence[float]) -> dict[str, torch.Tensor]:
    """Loss, loss range, max gradient change and effective β along each seed's ``-g`` (state restored)."""
    was = model.training
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    saved = [p.detach().clone() for p in params]

    def loss_and_grad() -> tuple[torch.Tensor, list[torch.Tensor]]:
        per_seed = F.cross_entropy(model(x).transpose(1, 2), y, reduction="none").mean(-1)   # (k,)
        grads = torch.autograd.grad(per_seed.sum(), params)    # seed i's loss reaches only its own slice
        return per_seed.detach(), list(grads)

    with torch.enable_grad():
        loss0, g = loss_and_grad()
        g_norm = _per_seed_norm(g)
        losses, changes, betas = [], [], []
        for eta in step_sizes:
            with torch.no_grad():
                for p, p0, gp in zip(params, saved, g, strict=True):
                    p.copy_(p0 - eta * gp)
            loss, g_new = loss_and_grad()
            change = _per_seed_norm([a - b for a, b in zip(g_new, g, strict=True)])
            losses.append(loss)
            changes.append(change)
            betas.append(change / (eta * g_norm))
    with torch.no_grad():
        for p, p0 in zip(params, saved, strict=True):
            p.copy_(p0)
        for name, b in model.named_buffers():
            b.copy_(buffers[name])
    model.train(was)
    ls = torch.stack(losses)
    return {"loss": loss0, "loss_range": ls.max(0).values - ls.min(0).values,
            "grad_change": torch.stack(changes).max(0).values, "beta": torch.stack(betas).max(0).values}


def smoothness(
    *,
    depth: int = 6,
    width: int = 64,
    n_train: int = 1000,
    batch_size: int = 64,
    epochs: int = 5,
    lr: float = 0.05,
    step_sizes: Sequence[float] = (0.05, 0.1, 0.2, 0.4),
    probe_every: int = 3,
    n_probe: int = 64,
    seeds: Sequence[int] = BOOK_SEEDS,
) -> SmoothnessResult:
    r"""Train a deep MLP on digits with and without BatchNorm, probing the loss landscape along the way.

    Per seed both networks see the same data and batch order and use SGD
    (momentum 0.9) at the same ``lr``. At initialisation and every
    ``probe_every`` steps, a fixed probe batch of the seed's training images is
    used to measure how much the loss and its gradient change when stepping
    along the negative gradient (see :class:`SmoothnessResult`). The BatchNorm
    network is probed in train mode, as it is trained; parameters and running
    statistics are restored after each probe.

    Args:
        depth: Hidden layers, an int ``>= 1``.
        width: Units per hidden layer, an int ``>= 2``.
        n_train: Training images per seed, an int in ``[2, 1796]``.
        batch_size: Mini-batch size, an int in ``[2, n_train]``.
        epochs: Passes over the training images, an int ``>= 1``.
        lr: Learning rate of both networks, in ``(0, 100]``.
        step_sizes: A non-empty list or tuple of probe step sizes :math:`\eta`, each in ``(0, 100]``.
        probe_every: Probe every this many steps, an int ``>= 1``.
        n_probe: Images in the probe batch, an int in ``[2, n_train]``.
        seeds: A non-empty list or tuple (not one int) of distinct int seeds ``>= 0``; each gives its
            own split, initialisation and batches.

    Returns:
        A :class:`SmoothnessResult`. Every argument, every seed included, is checked before any training.

    Raises:
        TypeError: On a wrongly typed argument (a scalar for a sequence included).
        ValueError: On empty ``step_sizes`` or a size, count or rate out of range.
    """
    depth = check_count("depth", depth)
    width = check_count("width", width, minimum=2)
    n_train = _check_n_train(n_train)
    batch_size = check_count("batch_size", batch_size, minimum=2)
    _check_at_most("batch_size", batch_size, "n_train", n_train)
    epochs = check_count("epochs", epochs)
    lr = _check_lr("lr", lr)
    sizes = _check_items("step_sizes", step_sizes, _check_lr)
    probe_every = check_count("probe_every", probe_every)
    n_probe = check_count("n_probe", n_probe, minimum=2)
    _check_at_most("n_probe", n_probe, "n_train", n_train)
    seed_list = _check_seeds(seeds)

    train, _ = _splits(n_train, 1, seed_list)
    px, py = train.x[:, :n_probe], train.y[:, :n_probe]
    series: dict[str, dict[str, torch.Tensor]] = {k: {} for k in ("loss", "loss_range", "grad_change", "beta")}
    final: dict[str, torch.Tensor] = {}
    steps: list[int] = []
    for name, norm in (("bn", "batch"), ("plain", "none")):
        streams = _streams(seed_list)
        model = he_init_(build_mlp(IN_FEATURES, [width] * depth, NUM_CLASSES, streams=streams, norm=norm))
        first = _probe(model, px, py, sizes)

        def probe(m: nn.Module, step: int, model: SeedMLP = model) -> dict[str, torch.Tensor]:
            return _probe(model, px, py, sizes)

        res = fit(model, train, streams=streams, num_classes=NUM_CLASSES, epochs=epochs, batch_size=batch_size,
                  optimizer="sgd", lr=lr, momentum=0.9, record=probe, record_every=probe_every)
        for key in series:
            series[key][name] = torch.cat([first[key][None], res.curve(key)]).float()
        final[name] = evaluate(model, train)["nll"]
        steps = [0, *res.marks]
    return SmoothnessResult(steps, sizes, series["loss"], series["loss_range"], series["grad_change"],
                            series["beta"], final)


# ---------------------------------------------------------------------------
# The largest stable learning rate
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LRSweep:
    r"""Final training loss per learning rate, with and without BatchNorm (:func:`max_stable_lr`).

    Attributes:
        lrs: The learning rates tried.
        final_loss: ``{"bn": ..., "plain": ...}``, each ``(len(lrs), k)``: mean training loss of
            the last epoch (``inf`` where it diverged).
        initial_loss: :math:`\ln 10`, the loss of a uniform guess over 10 classes.
    """

    lrs: list[float]
    final_loss: dict[str, torch.Tensor]
    initial_loss: float

    def stable(self, variant: str) -> torch.Tensor:
        """Which runs trained: final loss finite and below half the initial loss, ``(len(lrs), k)`` bool.

        ``variant``: a key of :attr:`final_loss` (``"bn"`` / ``"plain"``); ``ValueError`` otherwise.
        """
        variant = check_choice("variant", variant, tuple(self.final_loss))
        return self.final_loss[variant] < 0.5 * self.initial_loss

    def max_stable(self, variant: str) -> torch.Tensor:
        """Per seed, the largest stable learning rate (0 if none), ``(k,)`` float64; ``variant`` as :meth:`stable`."""
        lrs = torch.tensor(self.lrs, dtype=torch.float64)[:, None]
        return torch.where(self.stable(variant), lrs, torch.zeros_like(lrs)).max(dim=0).values

    def log10_gain(self) -> torch.Tensor:
        """Per seed, :math:`\\log_{10}` of BatchNorm's largest stable rate over the plain network's, ``(k,)``.

        A variant with no stable rate counts as one grid step below the smallest
        rate tried (``a**2 / b`` for the two smallest rates ``a < b``; ``a / 10`` for a one-rate grid),
        so the gain stays finite and errs towards zero.
        """
        lo = sorted(self.lrs)
        floor = lo[0] ** 2 / lo[1] if len(lo) > 1 else lo[0] / 10
        bn, plain = (self.max_stable(v).clamp_min(floor) for v in ("bn", "plain"))
        return torch.log10(bn / plain)


def max_stable_lr(
    lrs: Sequence[float] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0),
    *,
    depth: int = 6,
    width: int = 64,
    n_train: int = 1000,
    batch_size: int = 64,
    epochs: int = 2,
    seeds: Sequence[int] = BOOK_SEEDS,
) -> LRSweep:
    r"""The largest SGD learning rate that still trains a deep MLP, with and without BatchNorm.

    For each lr and seed a fresh network trains for ``epochs`` (SGD, momentum
    0.9). A run counts as *stable* if the mean loss of its last epoch is
    finite and below half of :math:`\ln 10`.

    Args:
        lrs: A non-empty list or tuple of learning rates to try, each in ``(0, 100]``.
        depth: Hidden layers, an int ``>= 1``.
        width: Units per hidden layer, an int ``>= 2``.
        n_train: Training images per seed, an int in ``[2, 1796]``.
        batch_size: Mini-batch size, an int in ``[2, n_train]``.
        epochs: Passes over the training images, an int ``>= 1``.
        seeds: A non-empty list or tuple (not one int) of distinct int seeds ``>= 0``; each gives its
            own split, initialisation and batches.

    Returns:
        An :class:`LRSweep`. Every argument, every seed included, is checked before any training.

    Raises:
        TypeError: On a wrongly typed argument (a scalar for a sequence included).
        ValueError: On empty ``lrs`` or a size, count or rate out of range.
    """
    rates = _check_items("lrs", lrs, _check_lr)
    depth = check_count("depth", depth)
    width = check_count("width", width, minimum=2)
    n_train = _check_n_train(n_train)
    batch_size = check_count("batch_size", batch_size, minimum=2)
    _check_at_most("batch_size", batch_size, "n_train", n_train)
    epochs = check_count("epochs", epochs)
    seed_list = _check_seeds(seeds)

    train, _ = _splits(n_train, 1, seed_list)
    per_epoch = math.ceil(n_train / batch_size)
    final: dict[str, torch.Tensor] = {}
    for name, norm in (("bn", "batch"), ("plain", "none")):
        rows = []
        for lr in rates:
            streams = _streams(seed_list)
            model = he_init_(build_mlp(IN_FEATURES, [width] * depth, NUM_CLASSES, streams=streams, norm=norm))
            res = fit(model, train, streams=streams, num_classes=NUM_CLASSES, epochs=epochs,
                      batch_size=batch_size, optimizer="sgd", lr=lr, momentum=0.9, record_every=per_epoch)
            last = res.curve("train_loss")[-1]
            rows.append(torch.where(torch.isfinite(last), last, torch.full_like(last, math.inf)))
        final[name] = torch.stack(rows)
    return LRSweep(rates, final, math.log(NUM_CLASSES))


# ---------------------------------------------------------------------------
# Small batches: BatchNorm vs GroupNorm (Wu & He, 2018)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchSizeSweep:
    """Test accuracy of the same MLP with BatchNorm or GroupNorm, per batch size and seed.

    Attributes:
        batch_sizes: The batch sizes.
        accuracy: ``{"batch": ..., "group": ...}``, each ``(len(batch_sizes), k)`` (eval mode).
    """

    batch_sizes: list[int]
    accuracy: dict[str, torch.Tensor]

    def gap(self, batch_size: int) -> torch.Tensor:
        """Per seed, BatchNorm's accuracy minus GroupNorm's at one batch size, ``(k,)``.

        ``batch_size``: an int, one of :attr:`batch_sizes` (``TypeError`` / ``ValueError`` otherwise).
        """
        batch_size = check_int("batch_size", batch_size)
        if batch_size not in self.batch_sizes:
            raise ValueError(f"batch_size must be one of the sweep's batch sizes {self.batch_sizes} "
                             f"(got {batch_size})")
        i = self.batch_sizes.index(batch_size)
        return self.accuracy["batch"][i] - self.accuracy["group"][i]

    def crossover(self) -> torch.Tensor:
        """Per seed, the smallest batch size from which BatchNorm is at least as accurate as GroupNorm
        at every larger size in the sweep (``(k,)``, int64)."""
        ahead = self.accuracy["batch"] >= self.accuracy["group"]              # (sizes, k)
        from_here = ahead.flip(0).cumprod(0).flip(0).bool()                   # ahead here and at every larger size
        sizes = torch.tensor(self.batch_sizes)[:, None].expand_as(ahead)
        big = torch.full_like(sizes, 2 * max(self.batch_sizes))
        return torch.where(from_here, sizes, big).min(dim=0).values


def batch_size_sweep(
    batch_sizes: Sequence[int] = (2, 4, 8, 16, 32, 64),
    *,
    n_train: int = 512,
    epochs: int = 2,
    base_lr: float = 0.05,
    width: int = 64,
    num_groups: int = 8,
    n_test: int = 500,
    seeds: Sequence[int] = BOOK_SEEDS,
) -> BatchSizeSweep:
    r"""BatchNorm vs GroupNorm as the batch shrinks, on 8×8 digits.

    The same two-hidden-layer MLP is trained with BatchNorm or with GroupNorm
    (``num_groups`` groups of units) before every ReLU, for the same number of
    epochs at every batch size (SGD, momentum 0.9). As in Wu & He (2018) the
    learning rate is scaled linearly with the batch size,
    :math:`\eta = \eta_0 \cdot B / 32`. Accuracy is measured in eval mode, where
    BatchNorm uses its running statistics.

    Args:
        batch_sizes: A non-empty list or tuple of batch sizes to compare, ints in ``[2, n_train]``.
        n_train: Training images per seed, an int in ``[max(batch_sizes), 1796]``.
        epochs: Passes over the training images, the same at every batch size, an int ``>= 1``.
        base_lr: Learning rate at batch size 32, ``> 0``, with every scaled rate
            ``base_lr * B / 32`` at most 100.
        width: Units per hidden layer, an int ``>= 2``.
        num_groups: GroupNorm's groups, an int ``>= 1`` that divides ``width``.
        n_test: Test images per seed, an int in ``[1, 1797 - n_train]``.
        seeds: A non-empty list or tuple (not one int) of distinct int seeds ``>= 0``; each gives its
            own split, initialisation and batches.

    Returns:
        A :class:`BatchSizeSweep`. Every argument, every seed included, is checked before any training.

    Raises:
        TypeError: On a wrongly typed argument (``batch_size_sweep(4)``, a scalar for the sequence, included).
        ValueError: On empty ``batch_sizes``, a ``num_groups`` that does not divide ``width``,
            or a size, count or rate out of range.
    """
    sizes = _check_items("batch_sizes", batch_sizes, lambda n, b: check_count(n, b, minimum=2))
    n_train = _check_n_train(n_train)
    for i, b in enumerate(sizes):
        _check_at_most(f"batch_sizes[{i}]", b, "n_train", n_train)
    epochs = check_count("epochs", epochs)
    base_lr = check_in_range("base_lr", base_lr, 0.0, _MAX_LR * 32 / max(sizes), low_inclusive=False)
    width = check_count("width", width, minimum=2)
    num_groups = check_count("num_groups", num_groups)
    if width % num_groups:
        raise ValueError(f"num_groups must divide width {width} (got {num_groups})")
    n_test = _check_n_test(n_test, n_train)
    seed_list = _check_seeds(seeds)

    train, test = _splits(n_train, n_test, seed_list)
    acc: dict[str, torch.Tensor] = {}
    for norm in ("batch", "group"):
        rows = []
        for b in sizes:
            streams = _streams(seed_list)
            net = build_mlp(IN_FEATURES, [width, width], NUM_CLASSES, streams=streams, norm=norm,
                            num_groups=num_groups)
            fit(net, train, streams=streams, num_classes=NUM_CLASSES, epochs=epochs, batch_size=b,
                optimizer="sgd", lr=base_lr * b / 32, momentum=0.9)
            rows.append(evaluate(net, test)["accuracy"])
        acc[norm] = torch.stack(rows)
    return BatchSizeSweep(sizes, acc)
