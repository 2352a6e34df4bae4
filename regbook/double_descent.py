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
:math:`1/(2\sqrt\lambda)` and damps the spike (:func:`ridge_filter`).

This module holds the model and its fits; the width sweep over seeds is
:func:`regbook.experiments.double_descent.double_descent_curve`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from regbook._checks import (
    check_count,
    check_float_tensor,
    check_generator,
    check_nonnegative,
    check_positive,
)

__all__ = [
    "gradient_descent_fit",
    "min_norm_fit",
    "pinv_cutoff",
    "random_feature_weights",
    "random_features",
    "ridge_filter",
    "ridge_fit",
    "ridge_path",
]


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
    in_features = check_count("in_features", in_features)
    num_features = check_count("num_features", num_features)
    check_generator("generator", generator)
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point dtype (got {dtype})")
    std = 1.0 / math.sqrt(in_features)
    return std * torch.randn(in_features, num_features, generator=generator, dtype=dtype)


def random_features(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    r"""Random ReLU features :math:`\phi(x) = \operatorname{ReLU}(x W)/\sqrt p`.

    The factor :math:`1/\sqrt p` keeps :math:`\phi(x)^\top\phi(x')` of order one
    whatever the width, so one ridge :math:`\lambda` means the same at every width.
    Leading batch dimensions (e.g. one weight matrix per seed) are matched
    pairwise, as in :func:`torch.matmul`.

    Args:
        x: Inputs, one row per example.
        weight: The fixed first layer from :func:`random_feature_weights`.

    Returns:
        The feature matrix :math:`\Phi`.

    Raises:
        ValueError: If ``x`` or ``weight`` has fewer than 2 dimensions, their
            inner sizes differ, or their batch dimensions do not match.
        TypeError: If either is not a floating tensor.

    Shape:
        ``x``: :math:`(\ldots, n, d)`; ``weight``: :math:`(\ldots, d, p)`; output: :math:`(\ldots, n, p)`.

    Worked example: :math:`x = (1, -1)`, :math:`W = \begin{pmatrix}1 & 2 & 0 & 1\\ 1 & 0 & 2 & -1\end{pmatrix}`
    gives :math:`xW = (0, 2, -2, 2)`, ReLU :math:`(0, 2, 0, 2)`, divided by :math:`\sqrt 4 = 2`:

    >>> w = torch.tensor([[1.0, 2.0, 0.0, 1.0], [1.0, 0.0, 2.0, -1.0]])
    >>> random_features(torch.tensor([[1.0, -1.0]]), w).tolist()
    [[0.0, 1.0, 0.0, 1.0]]
    """
    check_float_tensor("x", x)
    check_float_tensor("weight", weight)
    for name, t in (("x", x), ("weight", weight)):
        if t.ndim < 2:
            raise ValueError(f"{name} must be at least 2-D (got {t.ndim}-D, shape {tuple(t.shape)})")
    if x.shape[-1] != weight.shape[-2]:
        raise ValueError(
            f"x has {x.shape[-1]} columns but weight has {weight.shape[-2]} rows; they must match "
            f"(got x {tuple(x.shape)}, weight {tuple(weight.shape)})"
        )
    _check_device("x", x, "weight", weight)
    if x.shape[:-2] != weight.shape[:-2]:
        raise ValueError(
            f"x and weight must have the same batch dimensions "
            f"(got {tuple(x.shape[:-2])} and {tuple(weight.shape[:-2])})"
        )
    p = weight.shape[-1]
    # idea-start
    phi = torch.relu(x @ weight) / math.sqrt(p)   # (..., n, p)
    # idea-end
    return phi


def _check_device(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    if a.device != b.device:
        raise ValueError(f"{name_a} and {name_b} must be on the same device (got {a.device} and {b.device})")


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
    _check_device("features", features, "targets", targets)


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
    # idea-start
    beta: torch.Tensor = torch.linalg.pinv(features) @ targets     # Φ⁺ Y
    # idea-end
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
    # idea-start
    beta: torch.Tensor
    if p <= n:   # (ΦᵀΦ + λI_p)⁻¹ ΦᵀY: a p×p system
        eye_p = torch.eye(p, dtype=features.dtype, device=features.device)
        beta = torch.linalg.solve(features.T @ features + lam * eye_p,
                                  features.T @ targets)
    else:        # Φᵀ(ΦΦᵀ + λI_n)⁻¹ Y: the same β from an n×n system
        eye_n = torch.eye(n, dtype=features.dtype, device=features.device)
        beta = features.T @ torch.linalg.solve(features @ features.T + lam * eye_n, targets)
    # idea-end
    return beta


def ridge_filter(s: torch.Tensor, lam: float, *, cutoff: float | torch.Tensor = 0.0) -> torch.Tensor:
    r"""Ridge's spectral filter: what the fit multiplies each singular direction by.

    .. math:: f_\lambda(s) = \frac{s}{s^2 + \lambda}, \qquad
              \beta_\lambda = V\,\mathrm{diag}\big(f_\lambda(s)\big)\,U^\top Y .

    For :math:`\lambda = 0` this is :math:`1/s`, the minimum-norm fit, except
    that singular values at or below ``cutoff`` (numerically zero) get 0, as
    :func:`torch.linalg.pinv` does. For :math:`\lambda > 0` the filter never
    exceeds :math:`1/(2\sqrt\lambda)` (reached at :math:`s = \sqrt\lambda`), so
    tiny singular values can no longer blow the fit up.

    Args:
        s: Singular values, any shape, :math:`\ge 0`.
        lam: Ridge strength :math:`\lambda \ge 0`.
        cutoff: For ``lam=0`` only: singular values ``<= cutoff`` are dropped.
            A number, or a tensor broadcastable against ``s`` (one cut-off per matrix).

    Returns:
        :math:`f_\lambda(s)`, the shape of ``s``.

    Raises:
        ValueError: If ``lam < 0``.
        TypeError: If ``s`` is not a floating tensor.

    >>> s = torch.tensor([4.0, 1.0, 0.25], dtype=torch.float64)
    >>> ridge_filter(s, 0.0).tolist()                           # 1/s
    [0.25, 1.0, 4.0]
    >>> [round(f, 6) for f in ridge_filter(s, 1.0).tolist()]    # s/(s^2 + 1): 4/17, 1/2, 0.25/1.0625
    [0.235294, 0.5, 0.235294]
    """
    check_float_tensor("s", s)
    lam = check_nonnegative("lam", lam)
    if isinstance(cutoff, torch.Tensor):
        check_float_tensor("cutoff", cutoff)
        _check_device("s", s, "cutoff", cutoff)
    else:
        cutoff = check_nonnegative("cutoff", cutoff)
    if lam > 0.0:
        # idea-start
        return s / (s * s + lam)
        # idea-end
    kept = s > cutoff
    return torch.where(kept, 1.0 / torch.where(kept, s, torch.ones_like(s)), torch.zeros_like(s))


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
    if isinstance(lams, str | bytes) or not isinstance(lams, Sequence):
        raise TypeError(f"lams must be a sequence of numbers (got {type(lams).__name__})")
    if len(lams) == 0:
        raise ValueError("lams must not be empty (got 0 values)")
    lam_list = [check_nonnegative(f"lams[{i}]", lam) for i, lam in enumerate(lams)]
    u, s, vh = torch.linalg.svd(features, full_matrices=False)
    cutoff = pinv_cutoff(features, s)
    uty = u.T @ targets
    out = []
    for lam in lam_list:
        filt = ridge_filter(s, lam, cutoff=cutoff)
        out.append(vh.T @ (filt[:, None] * uty if uty.ndim == 2 else filt * uty))
    return out


def pinv_cutoff(features: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    r"""The singular-value cut-off of :func:`torch.linalg.pinv`: :math:`\max(n, p)\,\epsilon\,s_{\max}`.

    Args:
        features: :math:`\Phi`, shape :math:`(\ldots, n, p)`.
        s: Its singular values, shape :math:`(\ldots, r)`.

    Returns:
        One cut-off per matrix, shape :math:`(\ldots, 1)`.

    Raises:
        TypeError, ValueError: If ``features`` is not a floating tensor of at least 2 dimensions, or ``s``
            is not a non-empty floating tensor with the same leading dimensions.
    """
    check_float_tensor("features", features)
    check_float_tensor("s", s)
    if features.ndim < 2:
        raise ValueError(f"features must be at least 2-D (got {features.ndim}-D)")
    if s.ndim != features.ndim - 1 or s.shape[:-1] != features.shape[:-2]:
        raise ValueError(f"s must have shape (..., r) matching features' leading dimensions "
                         f"(got s {tuple(s.shape)}, features {tuple(features.shape)})")
    _check_device("features", features, "s", s)
    n, p = features.shape[-2:]
    return max(n, p) * torch.finfo(features.dtype).eps * s.amax(-1, keepdim=True)


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
        lr: Step size :math:`0 < \eta < 2/s_{\max}^2` (larger steps diverge); default :math:`1/s_{\max}^2`.

    Returns:
        :math:`\beta` after ``steps`` steps.

    Raises:
        ValueError: If ``steps < 1``, ``lr`` is outside :math:`(0, 2/s_{\max}^2)` or the shapes do not fit.

    The line :math:`\beta_1 + \beta_2 = 2` again; from zero, every step moves
    along :math:`(1, 1)`, so gradient descent lands on the minimum-norm point:

    >>> phi, y = torch.tensor([[1.0, 1.0]], dtype=torch.float64), torch.tensor([2.0], dtype=torch.float64)
    >>> [round(b, 12) for b in gradient_descent_fit(phi, y, steps=60).tolist()]
    [1.0, 1.0]
    """
    _check_design(features, targets)
    steps = check_count("steps", steps)
    s_max_sq = 1.0 if features.is_meta else float(torch.linalg.matrix_norm(features.detach(), ord=2)) ** 2
    step = 1.0 / max(s_max_sq, torch.finfo(features.dtype).tiny) if lr is None else check_positive("lr", lr)
    if step * s_max_sq >= 2.0:
        raise ValueError(f"lr must be < 2 / s_max(features)^2 = {2.0 / s_max_sq:.3g} for gradient descent "
                         f"to converge (got {lr})")
    beta = torch.zeros((features.shape[1], *targets.shape[1:]), dtype=features.dtype, device=features.device)
    # idea-start
    for _ in range(steps):
        beta = beta - step * (features.T @ (features @ beta - targets))   # β − η Φᵀ(Φβ − Y)
    # idea-end
    return beta
