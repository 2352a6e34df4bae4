r"""Double descent with random-feature regression (Belkin et al., 2019).

A *random-feature model* fixes a random first layer and fits only the linear
read-out. With a weight matrix :math:`W \in \mathbb R^{d\times p}` whose entries
are drawn once, :math:`W_{ij} \sim \mathcal N(0, 1/d)`, every input
:math:`x \in \mathbb R^d` becomes :math:`p` features

.. math::

    \phi(x) = \frac{1}{\sqrt p}\,\operatorname{ReLU}(x^\top W) \in \mathbb R^p ,

and the model predicts :math:`\phi(x)^\top \beta`. Stacking the :math:`n`
training inputs gives the feature matrix :math:`\Phi \in \mathbb R^{n\times p}`.
The number of parameters is :math:`p` per output, so sweeping :math:`p` sweeps
the model's size through the *interpolation threshold* :math:`p = n`.

Two fits of :math:`\beta`:

* **minimum norm** (the limit the lecture's "implicit regularization" refers to):
  among all least-squares solutions, the one of smallest :math:`\lVert\beta\rVert_2`,
  :math:`\beta = \Phi^{+} Y`. For :math:`p \ge n` it interpolates the training data.
* **ridge**: :math:`\beta_\lambda = \arg\min_\beta \lVert\Phi\beta - Y\rVert_F^2 + \lambda\lVert\beta\rVert_F^2
  = (\Phi^\top\Phi + \lambda I)^{-1}\Phi^\top Y`; :math:`\beta_\lambda \to \Phi^+ Y` as :math:`\lambda \to 0`.

With the singular value decomposition :math:`\Phi = U\,\mathrm{diag}(s)\,V^\top`
both are one formula, :math:`\beta_\lambda = V\,\mathrm{diag}\big(s/(s^2+\lambda)\big)\,U^\top Y`.
Near :math:`p = n` the smallest singular value of :math:`\Phi` approaches zero,
so the minimum-norm fit divides by almost nothing: its norm, and with it the test
error, spikes. A ridge :math:`\lambda > 0` caps :math:`s/(s^2+\lambda)` at
:math:`1/(2\sqrt\lambda)` and removes the spike (Nakkiran et al., 2020).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from regbook._checks import (
    check_float_tensor,
    check_generator,
    check_in_range,
    check_int,
    check_nonnegative,
    check_positive,
)
from regbook.data import digits, flip_labels

__all__ = [
    "DoubleDescentResult",
    "double_descent_curve",
    "gradient_descent_fit",
    "min_norm_fit",
    "random_feature_weights",
    "random_features",
    "ridge_fit",
    "ridge_path",
]

NUM_CLASSES = 10


def random_feature_weights(
    in_features: int,
    num_features: int,
    *,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    r"""Draw the fixed first layer :math:`W_{ij} \sim \mathcal N(0, 1/d)` of a random-feature model.

    Args:
        in_features: Input dimension :math:`d \ge 1`.
        num_features: Number of random features :math:`p \ge 1`.
        generator: Source of randomness (the global RNG is never used).
        dtype: Floating dtype of the result (float64 by default: the
            minimum-norm fit near :math:`p = n` is badly conditioned).

    Returns:
        The weight matrix :math:`W`.

    Raises:
        ValueError: If a size is below 1.
        TypeError: If a size is not an int or ``generator`` is not a ``torch.Generator``.

    Shape:
        Output: :math:`(d, p)`.

    >>> w = random_feature_weights(64, 500, generator=torch.Generator().manual_seed(0))
    >>> tuple(w.shape), w.dtype, round(w.var().item() * 64, 1)
    ((64, 500), torch.float64, 1.0)
    """
    in_features = check_int("in_features", in_features, minimum=1)
    num_features = check_int("num_features", num_features, minimum=1)
    check_generator("generator", generator)
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point dtype (got {dtype})")
    std = 1.0 / math.sqrt(in_features)
    return std * torch.randn(in_features, num_features, generator=generator, dtype=dtype)


def random_features(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    r"""Random ReLU features :math:`\phi(x) = \operatorname{ReLU}(x W)/\sqrt p`.

    The factor :math:`1/\sqrt p` keeps :math:`\phi(x)^\top\phi(x')` of order one
    whatever the width, so one ridge :math:`\lambda` means the same at every width.

    Args:
        x: Inputs, one row per example.
        weight: The fixed first layer from :func:`random_feature_weights`.

    Returns:
        The feature matrix :math:`\Phi`.

    Raises:
        ValueError: If ``x`` or ``weight`` is not 2-D or their inner sizes differ.
        TypeError: If either is not a floating tensor.

    Shape:
        ``x``: :math:`(n, d)`; ``weight``: :math:`(d, p)`; output: :math:`(n, p)`.

    Worked example: :math:`x = (1, -1)`, :math:`W = \begin{pmatrix}1 & 2 & 0 & 1\\ 1 & 0 & 2 & -1\end{pmatrix}`
    gives :math:`xW = (0, 2, -2, 2)`, ReLU :math:`(0, 2, 0, 2)`, divided by :math:`\sqrt 4 = 2`:

    >>> w = torch.tensor([[1.0, 2.0, 0.0, 1.0], [1.0, 0.0, 2.0, -1.0]])
    >>> random_features(torch.tensor([[1.0, -1.0]]), w).tolist()
    [[0.0, 1.0, 0.0, 1.0]]
    """
    check_float_tensor("x", x, ndim=2)
    check_float_tensor("weight", weight, ndim=2)
    if x.shape[1] != weight.shape[0]:
        raise ValueError(
            f"x has {x.shape[1]} columns but weight has {weight.shape[0]} rows; they must match "
            f"(got x {tuple(x.shape)}, weight {tuple(weight.shape)})"
        )
    return torch.relu(x @ weight) / math.sqrt(weight.shape[1])


def _check_design(features: torch.Tensor, targets: torch.Tensor) -> None:
    check_float_tensor("features", features, ndim=2)
    check_float_tensor("targets", targets)
    if targets.ndim not in (1, 2):
        raise ValueError(f"targets must be 1-D or 2-D (got {targets.ndim}-D, shape {tuple(targets.shape)})")
    if targets.shape[0] != features.shape[0]:
        raise ValueError(
            f"features and targets must have the same number of rows "
            f"(got {features.shape[0]} and {targets.shape[0]})"
        )
    if features.dtype != targets.dtype:
        raise TypeError(f"features and targets must have the same dtype (got {features.dtype} and {targets.dtype})")


def min_norm_fit(features: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    r"""The minimum-norm least-squares solution :math:`\beta = \Phi^{+} Y`.

    Among all :math:`\beta` that minimise :math:`\lVert\Phi\beta - Y\rVert`, the
    one with the smallest :math:`\lVert\beta\rVert_2`. With more features than
    examples (:math:`p > n`, :math:`\Phi` of full row rank) the residual is zero:
    the fit interpolates. Computed with :func:`torch.linalg.pinv`, which drops
    singular values below :math:`\max(n, p)\,\epsilon_{\text{mach}}\, s_{\max}`.

    Args:
        features: :math:`\Phi`, one row per example.
        targets: :math:`Y`, one row (or one value) per example.

    Returns:
        :math:`\beta`.

    Raises:
        ValueError: If the shapes do not fit together.
        TypeError: If the tensors are not floating or their dtypes differ.

    Shape:
        ``features``: :math:`(n, p)`; ``targets``: :math:`(n,)` or :math:`(n, k)`;
        output: :math:`(p,)` or :math:`(p, k)`.

    One equation, two unknowns: :math:`\beta_1 + \beta_2 = 2`. Every point of that
    line fits; the closest to the origin is :math:`(1, 1)`:

    >>> [round(b, 12) for b in min_norm_fit(torch.tensor([[1.0, 1.0]], dtype=torch.float64),
    ...                                     torch.tensor([2.0], dtype=torch.float64)).tolist()]
    [1.0, 1.0]
    """
    _check_design(features, targets)
    beta: torch.Tensor = torch.linalg.pinv(features) @ targets
    return beta


def ridge_fit(features: torch.Tensor, targets: torch.Tensor, *, lam: float) -> torch.Tensor:
    r"""Ridge regression :math:`\arg\min_\beta \lVert\Phi\beta - Y\rVert^2 + \lambda\lVert\beta\rVert^2`.

    .. math::

        \beta_\lambda = (\Phi^\top\Phi + \lambda I_p)^{-1}\Phi^\top Y
                      = \Phi^\top(\Phi\Phi^\top + \lambda I_n)^{-1} Y ,

    solving whichever system is smaller. ``lam=0`` is the limit
    :math:`\lambda \to 0`, the minimum-norm fit :func:`min_norm_fit`.

    Args:
        features: :math:`\Phi`, one row per example.
        targets: :math:`Y`, one row (or one value) per example.
        lam: Ridge strength :math:`\lambda \ge 0` (sum of squares, not mean).

    Returns:
        :math:`\beta_\lambda`.

    Raises:
        ValueError: If ``lam < 0`` or the shapes do not fit together.
        TypeError: If the tensors are not floating or their dtypes differ.

    Shape:
        As :func:`min_norm_fit`.

    The same equation with :math:`\lambda = 1`: :math:`\Phi\Phi^\top = 2`, so
    :math:`\beta = (1, 1)^\top \cdot 2/(2 + 1) = (2/3, 2/3)`, shrunk towards zero:

    >>> [round(b, 12) for b in ridge_fit(torch.tensor([[1.0, 1.0]], dtype=torch.float64),
    ...                                  torch.tensor([2.0], dtype=torch.float64), lam=1.0).tolist()]
    [0.666666666667, 0.666666666667]
    """
    _check_design(features, targets)
    lam = check_nonnegative("lam", lam)
    if lam == 0.0:
        return min_norm_fit(features, targets)
    n, p = features.shape
    if p <= n:
        eye = torch.eye(p, dtype=features.dtype)
        beta: torch.Tensor = torch.linalg.solve(features.T @ features + lam * eye, features.T @ targets)
        return beta
    eye = torch.eye(n, dtype=features.dtype)
    dual: torch.Tensor = torch.linalg.solve(features @ features.T + lam * eye, targets)
    return features.T @ dual


def ridge_path(features: torch.Tensor, targets: torch.Tensor, *, lams: Sequence[float]) -> list[torch.Tensor]:
    r"""Ridge fits for many :math:`\lambda` from one SVD of :math:`\Phi`.

    .. math:: \beta_\lambda = V\,\mathrm{diag}\big(\tfrac{s}{s^2+\lambda}\big)U^\top Y

    For ``lam=0`` the filter is :math:`1/s` on the singular values that
    :func:`min_norm_fit` keeps and 0 on the others, so every entry equals
    :func:`ridge_fit` with the same :math:`\lambda` (tested).

    Args:
        features: :math:`\Phi`, shape :math:`(n, p)`.
        targets: :math:`Y`, shape :math:`(n,)` or :math:`(n, k)`.
        lams: Ridge strengths, each :math:`\ge 0`; at least one.

    Returns:
        One :math:`\beta_\lambda` per entry of ``lams``, in order.

    Raises:
        ValueError: If ``lams`` is empty, has a negative entry, or the shapes do not fit.

    >>> phi, y = torch.tensor([[1.0, 1.0]], dtype=torch.float64), torch.tensor([2.0], dtype=torch.float64)
    >>> [[round(b, 12) for b in beta.tolist()] for beta in ridge_path(phi, y, lams=[0.0, 1.0])]
    [[1.0, 1.0], [0.666666666667, 0.666666666667]]
    """
    _check_design(features, targets)
    if len(lams) == 0:
        raise ValueError("lams must not be empty (got 0 values)")
    lam_list = [check_nonnegative("lams[i]", lam) for lam in lams]
    _, s, vh, uty, cutoff = _svd(features, targets)
    return [vh.T @ _scale(_filter(s, lam, cutoff), uty) for lam in lam_list]


def _svd(
    features: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """Thin SVD Φ = U diag(s) Vᵀ, Uᵀ Y, and pinv's cut-off max(n, p) · eps · s_max."""
    u, s, vh = torch.linalg.svd(features, full_matrices=False)
    cutoff = max(features.shape) * torch.finfo(features.dtype).eps * float(s.max())
    return u, s, vh, u.T @ targets, cutoff


def _filter(s: torch.Tensor, lam: float, cutoff: float) -> torch.Tensor:
    """Ridge's spectral filter s / (s² + λ); for λ = 0, 1/s on the singular values pinv keeps, else 0."""
    if lam > 0.0:
        return s / (s * s + lam)
    kept = s > cutoff
    return torch.where(kept, 1.0 / torch.where(kept, s, torch.ones_like(s)), torch.zeros_like(s))


def _scale(filt: torch.Tensor, uty: torch.Tensor) -> torch.Tensor:
    return filt[:, None] * uty if uty.ndim == 2 else filt * uty


def gradient_descent_fit(
    features: torch.Tensor, targets: torch.Tensor, *, steps: int, lr: float | None = None
) -> torch.Tensor:
    r"""Plain gradient descent on :math:`\tfrac12\lVert\Phi\beta - Y\rVert^2`, started at :math:`\beta = 0`.

    .. math:: \beta_{t+1} = \beta_t - \eta\,\Phi^\top(\Phi\beta_t - Y)

    Every step adds a vector of the form :math:`\Phi^\top r`, so the iterates
    never leave the row space of :math:`\Phi`. The minimum-norm solution is the
    only least-squares solution in that space, so from zero gradient descent
    converges to :func:`min_norm_fit` without being told to: an *implicit*
    regularization, the simplest case of the one the lecture attributes to SGD.

    Args:
        features: :math:`\Phi`, shape :math:`(n, p)`.
        targets: :math:`Y`, shape :math:`(n,)` or :math:`(n, k)`.
        steps: Number of steps, ``>= 1``.
        lr: Step size :math:`\eta > 0`; default :math:`1/s_{\max}^2`, which is stable.

    Returns:
        :math:`\beta` after ``steps`` steps.

    Raises:
        ValueError: If ``steps < 1``, ``lr <= 0`` or the shapes do not fit.

    The line :math:`\beta_1 + \beta_2 = 2` again; from zero, every step moves
    along :math:`(1, 1)`, so gradient descent lands on the minimum-norm point:

    >>> phi, y = torch.tensor([[1.0, 1.0]], dtype=torch.float64), torch.tensor([2.0], dtype=torch.float64)
    >>> [round(b, 12) for b in gradient_descent_fit(phi, y, steps=60).tolist()]
    [1.0, 1.0]
    """
    _check_design(features, targets)
    steps = check_int("steps", steps, minimum=1)
    step = 1.0 / float(torch.linalg.matrix_norm(features, ord=2)) ** 2 if lr is None else check_positive("lr", lr)
    beta = torch.zeros((features.shape[1], *targets.shape[1:]), dtype=features.dtype)
    for _ in range(steps):
        beta = beta - step * (features.T @ (features @ beta - targets))
    return beta


@dataclass(frozen=True)
class DoubleDescentResult:
    """Test and training error of random-feature regression against the number of features.

    Every error is a mean over ``seeds``; ``test_mse[i][j]`` belongs to
    ``ridges[i]`` and ``widths[j]``.

    Attributes:
        widths: Numbers of random features :math:`p`, increasing.
        ridges: Ridge strengths :math:`\\lambda` (0 = minimum norm).
        n_train: Number of training examples :math:`n` (the threshold is at :math:`p = n`).
        n_test: Number of test examples.
        label_noise: Fraction of training labels replaced by a wrong class.
        seeds: The seeds averaged over.
        test_mse: Squared error :math:`\\lVert\\hat y - e_y\\rVert^2` against the clean one-hot test labels.
        test_error: Fraction of test digits misclassified (arg max of :math:`\\hat y`).
        train_mse: The same squared error on the (possibly noisy) training labels.
        weight_norm: :math:`\\lVert\\beta\\rVert_F` of the fitted read-out.
    """

    widths: list[int]
    ridges: list[float]
    n_train: int
    n_test: int
    label_noise: float
    seeds: list[int]
    test_mse: list[list[float]]
    test_error: list[list[float]]
    train_mse: list[list[float]]
    weight_norm: list[list[float]]

    def peak_width(self, ridge_index: int = 0) -> int:
        """The width with the largest mean test MSE for ``ridges[ridge_index]``."""
        curve = self.test_mse[ridge_index]
        return self.widths[max(range(len(curve)), key=curve.__getitem__)]


def double_descent_curve(
    *,
    widths: Sequence[int],
    n_train: int = 150,
    ridges: Sequence[float] = (0.0,),
    label_noise: float = 0.0,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    data_seed: int = 0,
) -> DoubleDescentResult:
    r"""Sweep the width of a random-ReLU-feature model on the 8×8 digits.

    The recipe of Belkin et al. (2019), Fig. 2, at laptop scale:

    1. ``n_train`` digits for training (a seeded split, :func:`regbook.data.digits`),
       all the others for testing; pixels centred by the training mean.
    2. For each seed, a fraction ``label_noise`` of the training labels is
       replaced by a wrong class (:func:`regbook.data.flip_labels`; with 0 no
       label changes, and the features below are the same as with noise).
    3. For each width :math:`p`, draw :math:`W` (:func:`random_feature_weights`),
       build :math:`\Phi` (:func:`random_features`), and fit the read-out to the
       one-hot labels for every :math:`\lambda` in ``ridges`` at once, from one
       SVD of :math:`\Phi` as in :func:`ridge_path` (:math:`\lambda = 0` is the
       minimum-norm fit).
    4. Score against the clean one-hot test labels; average over seeds.

    Args:
        widths: Numbers of random features to try (each ``>= 1``), increasing.
        n_train: Training examples :math:`n` (20 to 1000).
        ridges: Ridge strengths :math:`\lambda \ge 0`.
        label_noise: Fraction of wrong training labels, in :math:`[0, 0.9]`.
        seeds: Seeds of the features and label noise (at least one).
        data_seed: Seed of the train/test split.

    Returns:
        A :class:`DoubleDescentResult`.

    Raises:
        ValueError: If an argument is out of range or a sequence is empty or unsorted.
    """
    if len(widths) == 0:
        raise ValueError("widths must not be empty (got 0 widths)")
    width_list = [check_int("widths[i]", p, minimum=1) for p in widths]
    if any(b <= a for a, b in itertools.pairwise(width_list)):
        raise ValueError(f"widths must be strictly increasing (got {width_list})")
    n_train = check_int("n_train", n_train, minimum=20)
    if n_train > 1000:
        raise ValueError(f"n_train must be <= 1000 to leave a test split (got {n_train})")
    if len(ridges) == 0:
        raise ValueError("ridges must not be empty (got 0 values)")
    ridge_list = [check_nonnegative("ridges[i]", lam) for lam in ridges]
    label_noise = check_in_range("label_noise", label_noise, 0.0, 0.9)
    if len(seeds) == 0:
        raise ValueError("seeds must not be empty (got 0 seeds)")
    seed_list = [check_int("seeds[i]", s) for s in seeds]
    check_int("data_seed", data_seed)

    train, _, test = digits(n_train, 0, seed=data_seed)
    x_tr, x_te = train.x.double(), test.x.double()
    mean = x_tr.mean(0)
    x_tr, x_te = x_tr - mean, x_te - mean
    y_te = torch.nn.functional.one_hot(test.y, NUM_CLASSES).double()

    shape = (len(ridge_list), len(width_list))
    sums = {key: torch.zeros(shape, dtype=torch.float64) for key in ("test", "err", "train", "norm")}
    for seed in seed_list:
        gen = torch.Generator().manual_seed(seed)
        y_noisy = flip_labels(train.y, label_noise, num_classes=NUM_CLASSES, generator=gen)
        y_tr = torch.nn.functional.one_hot(y_noisy, NUM_CLASSES).double()
        for j, p in enumerate(width_list):
            w = random_feature_weights(x_tr.shape[1], p, generator=gen)
            phi_tr, phi_te = random_features(x_tr, w), random_features(x_te, w)
            # β_λ = V c_λ with c_λ = filter_λ(s) ⊙ UᵀY (as in ridge_path), so predictions
            # are (Φ V) c_λ and ‖β_λ‖ = ‖c_λ‖: one SVD and one projection serve every λ.
            u, s, vh, uty, cutoff = _svd(phi_tr, y_tr)
            proj_tr, proj_te = u * s, phi_te @ vh.T
            for i, lam in enumerate(ridge_list):
                coef = _scale(_filter(s, lam, cutoff), uty)
                pred_te = proj_te @ coef
                sums["test"][i, j] += ((pred_te - y_te) ** 2).sum(1).mean()
                sums["err"][i, j] += (pred_te.argmax(1) != test.y).double().mean()
                sums["train"][i, j] += ((proj_tr @ coef - y_tr) ** 2).sum(1).mean()
                sums["norm"][i, j] += coef.norm()

    def mean_of(key: str) -> list[list[float]]:
        out: list[list[float]] = (sums[key] / len(seed_list)).tolist()
        return out

    return DoubleDescentResult(
        widths=width_list,
        ridges=ridge_list,
        n_train=n_train,
        n_test=len(test.y),
        label_noise=label_noise,
        seeds=seed_list,
        test_mse=mean_of("test"),
        test_error=mean_of("err"),
        train_mse=mean_of("train"),
        weight_norm=mean_of("norm"),
    )
