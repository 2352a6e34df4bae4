r"""The double-descent chapter's experiment: random-feature regression swept through the threshold, over seeds.

:func:`double_descent_curve` repeats Belkin et al.'s random-feature
experiment (2019, Fig. 2) on the 8×8 digits, at laptop size and for several
seeds at once. Seed ``s`` draws its own training subsample
(:func:`~regbook.experiments.harness.digit_splits`), its own wrong labels
(from its ``data`` stream) and its own random first layers (from its
``init`` stream, :func:`~regbook.double_descent.random_feature_weights`).
For every width the ``k`` seeds' feature matrices are stacked on a leading
axis, ``(k, n, p)``, and decomposed by one batched SVD; that one SVD serves
every ridge strength *and* every label-noise level, because neither changes
:math:`\Phi` (the fits differ only in the spectral filter and the targets).

The chapter's effects are per-seed quantities computed from a
:class:`DoubleDescentResult` (:meth:`~DoubleDescentResult.spike`,
:meth:`~DoubleDescentResult.at`, :meth:`~DoubleDescentResult.peak_width`,
...), so the chapter and the tests measure exactly the same thing.

:func:`gpt3` builds GPT-3 from PyTorch layers (on the ``meta`` device: shapes
only, no memory), so the lecture's "10^11 parameters" is computed, not copied;
ResNet-50's count comes from :func:`regbook.stack.resnet50`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from regbook._checks import check_count, check_in_range, check_int, check_nonnegative
from regbook.data import flip_labels
from regbook.double_descent import pinv_cutoff, random_feature_weights, random_features, ridge_filter
from regbook.experiments import harness as H
from regbook.experiments.stats import BOOK_SEEDS

__all__ = [
    "METRICS",
    "DoubleDescentResult",
    "double_descent_curve",
    "gpt3",
    "threshold_widths",
    "u_widths",
]

NUM_CLASSES = 10
#: The per-seed quantities a :class:`DoubleDescentResult` holds.
METRICS = ("test_mse", "test_error", "train_mse", "weight_norm")


def threshold_widths(n_train: int) -> tuple[int, int, int]:
    """The three widths the chapter's effects compare: half the threshold, the threshold, twice it.

    ``(n // 2, n, 2 * n)``: the under-parameterized neighbour, the
    interpolation threshold :math:`p = n` itself, and the over-parameterized
    neighbour. Fixed before any run, so no effect picks its widths from the data.

    >>> threshold_widths(150)
    (75, 150, 300)
    """
    n = check_int("n_train", n_train, minimum=2)
    return n // 2, n, 2 * n


def u_widths(n_train: int) -> tuple[int, int, int]:
    """The three widths that test the classical U below the threshold: ``(n // 15, n // 3, 5 * n // 6)``.

    A small model, a middle one well below :math:`n`, and one just below the
    threshold. Fixed in advance (from a pilot run on seeds the book and the
    tests do not use), never chosen from the book's own data.

    >>> u_widths(150)
    (10, 50, 125)
    """
    n = check_int("n_train", n_train, minimum=15)
    return n // 15, n // 3, 5 * n // 6


@dataclass(frozen=True)
class DoubleDescentResult:
    r"""Errors of random-feature regression, one value per seed, noise level, ridge and width.

    Every metric is a float64 tensor of shape ``(k, L, R, P)``: seeds (in the
    order of :attr:`seeds`), label-noise levels, ridge strengths, widths.

    Attributes:
        widths: Numbers of random features :math:`p`, increasing.
        ridges: Ridge strengths :math:`\lambda` (0 = minimum norm).
        label_noise: Fractions of training labels replaced by a wrong class.
        n_train: Training examples per seed (the threshold is at :math:`p = n`).
        n_test: Test examples per seed (every digit not trained on).
        seeds: The seeds.
        test_mse: :math:`\lVert\hat y - e_y\rVert^2` against the clean one-hot test labels, mean over the test digits.
        test_error: Fraction of test digits misclassified (arg max of :math:`\hat y`).
        train_mse: The same squared error on the (possibly noisy) training labels.
        weight_norm: :math:`\lVert\beta\rVert_F` of the fitted read-out.
    """

    widths: tuple[int, ...]
    ridges: tuple[float, ...]
    label_noise: tuple[float, ...]
    n_train: int
    n_test: int
    seeds: tuple[int, ...]
    test_mse: torch.Tensor
    test_error: torch.Tensor
    train_mse: torch.Tensor
    weight_norm: torch.Tensor

    def curve(self, metric: str = "test_mse", *, ridge: float = 0.0, noise: float = 0.0) -> torch.Tensor:
        """One metric against width for one ridge and noise level: ``(k, P)``, one row per seed."""
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS} (got {metric!r})")
        values: torch.Tensor = getattr(self, metric)
        return values[:, self._noise(noise), self._ridge(ridge)]

    def tuned_curve(self, *, noise: float = 0.0) -> torch.Tensor:
        r"""Test MSE with :math:`\lambda` tuned per seed and width: ``(k, P)``.

        The tuned value is the best of :attr:`ridges` on the test digits.

        The "optimally regularized" curve of Nakkiran et al. (2021), with the
        optimum taken over this grid and measured on the test split.
        """
        return self.test_mse[:, self._noise(noise)].amin(dim=1)

    def at(self, width: int, metric: str = "test_mse", *, ridge: float = 0.0, noise: float = 0.0) -> list[float]:
        """Per-seed values at one width (a value of :attr:`widths`)."""
        return self.curve(metric, ridge=ridge, noise=noise)[:, self._width(width)].tolist()

    def peak_width(self, *, ridge: float = 0.0, noise: float = 0.0) -> list[int]:
        """Per seed, the width with the largest test MSE."""
        return [self.widths[int(j)] for j in self.curve(ridge=ridge, noise=noise).argmax(-1)]

    def spike(self, curve: torch.Tensor | None = None) -> list[float]:
        r"""Per seed, how far the threshold sticks out: :math:`\log_{10} e(n) - \log_{10}\max\big(e(n/2),\, e(2n)\big)`.

        ``e`` is a test-MSE curve ``(k, P)`` (default: the minimum-norm fit
        on clean labels); the widths of :func:`threshold_widths` must be in
        :attr:`widths`. Positive: the error at :math:`p = n` is higher than at
        both neighbours, a spike; negative: at least one neighbour is higher,
        no spike. In decades (powers of ten), because the error spans several.
        """
        e = self.curve() if curve is None else curve
        half, n, double = (self._width(w) for w in threshold_widths(self.n_train))
        out: list[float] = (e[:, n].log10() - torch.maximum(e[:, half], e[:, double]).log10()).tolist()
        return out

    def u_shape(self, curve: torch.Tensor | None = None) -> list[float]:
        r"""Per seed, how much both arms of the classical U rise above its middle, in decades.

        With :math:`(p_0, p_1, p_2)` = :func:`u_widths`:
        :math:`\min\big(\log_{10} e(p_0),\, \log_{10} e(p_2)\big) - \log_{10} e(p_1)`.
        Positive: the small and the near-threshold model are both worse than
        the middle one (a U); negative: at least one arm does not rise.
        """
        e = self.curve() if curve is None else curve
        lo, mid, hi = (self._width(w) for w in u_widths(self.n_train))
        out: list[float] = (torch.minimum(e[:, lo], e[:, hi]).log10() - e[:, mid].log10()).tolist()
        return out

    def best_below_threshold(self, metric: str = "test_mse", *, ridge: float = 0.0, noise: float = 0.0) -> list[float]:
        """Per seed, the lowest value over the widths below :math:`n`: the best classical model, chosen on test data."""
        below = [j for j, p in enumerate(self.widths) if p < self.n_train]
        if not below:
            raise ValueError(f"no width below n_train={self.n_train}")
        out: list[float] = self.curve(metric, ridge=ridge, noise=noise)[:, below].amin(-1).tolist()
        return out

    def _width(self, width: int) -> int:
        if width not in self.widths:
            raise ValueError(f"width {width} is not one of the widths run {self.widths}")
        return self.widths.index(width)

    def _ridge(self, ridge: float) -> int:
        if ridge not in self.ridges:
            raise ValueError(f"ridge must be one of {self.ridges} (got {ridge!r})")
        return self.ridges.index(ridge)

    def _noise(self, noise: float) -> int:
        if noise not in self.label_noise:
            raise ValueError(f"noise must be one of {self.label_noise} (got {noise!r})")
        return self.label_noise.index(noise)


def double_descent_curve(
    *,
    widths: Sequence[int],
    n_train: int = 150,
    ridges: Sequence[float] = (0.0,),
    label_noise: Sequence[float] = (0.0,),
    seeds: Sequence[int] = BOOK_SEEDS,
) -> DoubleDescentResult:
    r"""Sweep the width of a random-ReLU-feature model on the 8×8 digits, all seeds at once.

    For each seed: ``n_train`` training digits (its own subsample), all other
    digits for testing, pixels centred by the training mean; for each level in
    ``label_noise`` a copy of the training labels with that fraction replaced by a
    wrong class (nested: the digits wrong at 10% are also wrong at 20%). For
    each width :math:`p` every seed draws :math:`W` and builds :math:`\Phi`
    (:func:`~regbook.double_descent.random_features`); one batched SVD of the
    ``(k, n, p)`` stack gives, for every :math:`\lambda` in ``ridges`` and every
    noise level, the fit :math:`\beta = V\,\mathrm{diag}(f_\lambda(s))\,U^\top Y`
    (:func:`~regbook.double_descent.ridge_filter`; :math:`\lambda = 0` is the
    minimum-norm fit). Predictions are scored against the clean one-hot test labels.

    Args:
        widths: Numbers of random features (each ``>= 1``), strictly increasing.
        n_train: Training examples per seed (20 to 1000).
        ridges: Ridge strengths :math:`\lambda \ge 0`, distinct; at least one.
        label_noise: Fractions of wrong training labels, each in :math:`[0, 0.9]`, distinct; at least one.
        seeds: Distinct seeds ``>= 0``; at least one.

    Returns:
        A :class:`DoubleDescentResult`.

    Raises:
        TypeError, ValueError: If an argument is out of range (named in the message).

    Example:
        >>> r = double_descent_curve(widths=[10, 50, 200], n_train=50, ridges=[0.0, 1e-2], seeds=[7, 8])
        >>> tuple(r.test_mse.shape), r.n_test
        ((2, 1, 2, 3), 1747)
        >>> bool((r.curve("train_mse")[:, -1] < 1e-12).all())   # p > n: every seed interpolates
        True
    """
    width_list = tuple(_nonempty_ints("widths", widths, minimum=1))
    if any(b <= a for a, b in itertools.pairwise(width_list)):
        raise ValueError(f"widths must be strictly increasing (got {list(width_list)})")
    n_train = check_int("n_train", n_train, minimum=20)
    if n_train > 1000:
        raise ValueError(f"n_train must be <= 1000 to leave a test split (got {n_train})")
    ridge_list = tuple(_distinct("ridges", [check_nonnegative(f"ridges[{i}]", v)
                                            for i, v in enumerate(_sequence("ridges", ridges))]))
    noise_list = tuple(_distinct("label_noise", [check_in_range(f"label_noise[{i}]", v, 0.0, 0.9)
                                                 for i, v in enumerate(_sequence("label_noise", label_noise))]))
    train, _, test = H.digit_splits(n_train, 0, seeds)       # validates seeds
    seed_list = tuple(int(s) for s in seeds)
    streams = [H.seed_streams(s) for s in seed_list]
    k, d = len(seed_list), train.x.shape[-1]

    x_tr, x_te = train.x.double(), test.x.double()
    mean = x_tr.mean(1, keepdim=True)
    x_tr, x_te = x_tr - mean, x_te - mean
    one_hot = torch.nn.functional.one_hot
    y_te = one_hot(test.y, NUM_CLASSES).double()                                   # (k, m, C)
    y_tr = torch.stack([                                                           # (k, L, n, C)
        torch.stack([one_hot(flip_labels(train.y[i], frac, num_classes=NUM_CLASSES,
                                         generator=H.seed_streams(s).data), NUM_CLASSES).double()
                     for frac in noise_list])
        for i, s in enumerate(seed_list)])

    n_l, n_r, n_p = len(noise_list), len(ridge_list), len(width_list)
    out = {m: torch.zeros(k, n_l, n_r, n_p, dtype=torch.float64) for m in METRICS}
    for j, p in enumerate(width_list):
        w = torch.stack([random_feature_weights(d, p, generator=s.init) for s in streams])   # (k, d, p)
        phi_tr, phi_te = random_features(x_tr, w), random_features(x_te, w)
        u, s, vh = torch.linalg.svd(phi_tr, full_matrices=False)                   # (k,n,r) (k,r) (k,r,p)
        cutoff = pinv_cutoff(phi_tr, s)                                            # (k, 1)
        filt = torch.stack([ridge_filter(s, lam, cutoff=cutoff) for lam in ridge_list], 1)   # (k, R, r)
        uty = u.mT.unsqueeze(1) @ y_tr                                             # (k, L, r, C)
        # β = V c with c = f_λ(s) ⊙ UᵀY: predictions are (ΦV) c and ‖β‖ = ‖c‖
        coef = filt[:, None, :, :, None] * uty[:, :, None]                         # (k, L, R, r, C)
        r = s.shape[-1]
        flat = coef.permute(0, 3, 1, 2, 4).reshape(k, r, -1)                       # (k, r, L·R·C)
        pred_te = (phi_te @ vh.mT @ flat).reshape(k, -1, n_l, n_r, NUM_CLASSES)    # (k, m, L, R, C)
        pred_tr = ((u * s.unsqueeze(1)) @ flat).reshape(k, -1, n_l, n_r, NUM_CLASSES)
        out["test_mse"][..., j] = ((pred_te - y_te[:, :, None, None]) ** 2).sum(-1).mean(1)
        out["test_error"][..., j] = (pred_te.argmax(-1) != test.y[:, :, None, None]).double().mean(1)
        out["train_mse"][..., j] = ((pred_tr - y_tr.permute(0, 2, 1, 3)[:, :, :, None]) ** 2).sum(-1).mean(1)
        out["weight_norm"][..., j] = coef.pow(2).sum((-2, -1)).sqrt()

    return DoubleDescentResult(
        widths=width_list, ridges=ridge_list, label_noise=noise_list, n_train=n_train,
        n_test=int(test.y.shape[1]), seeds=seed_list, **out,
    )


def _sequence(name: str, values: object) -> Sequence[object]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence (got {type(values).__name__} {values!r})")
    return values


def _nonempty_ints(name: str, values: Sequence[int], *, minimum: int) -> list[int]:
    if not _sequence(name, values):
        raise ValueError(f"{name} must be a non-empty sequence (got {values!r})")
    return [check_count(f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(values)]


def _distinct(name: str, values: list[float]) -> list[float]:
    if not values:
        raise ValueError(f"{name} must not be empty (got 0 values)")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must be distinct (got {values})")
    return values


# ---------------------------------------------------------------------------
# The sizes the lecture quotes, computed from torch layers
# ---------------------------------------------------------------------------


class _GPTBlock(nn.Module):
    """A GPT decoder block: LayerNorm, self-attention (q, k, v, output projections, biases), LayerNorm, 4× MLP."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, n_heads, bias=True, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        out: torch.Tensor = x + self.mlp(self.ln_2(x))
        return out


def gpt3(
    *,
    n_layers: int = 96,
    d_model: int = 12288,
    n_heads: int = 96,
    vocab: int = 50257,
    context: int = 2048,
    device: str | torch.device = "meta",
) -> nn.Module:
    """A GPT-style decoder from torch layers; the defaults are GPT-3 175B's (Brown et al., 2020, Table 2.1).

    Token and position embeddings, ``n_layers`` pre-norm blocks, a final
    LayerNorm; the output layer shares the token embedding's weights (as in
    GPT-2/3), so it adds no parameters. Built on the ``meta`` device.

    >>> from regbook.stack import count_parameters
    >>> count_parameters(gpt3(n_layers=2, d_model=8, n_heads=2, vocab=11, context=5))   # by hand: see the tests
    1888
    """
    n_layers = check_int("n_layers", n_layers, minimum=1, maximum=1024)
    d_model = check_count("d_model", d_model)
    n_heads = check_count("n_heads", n_heads)
    vocab = check_count("vocab", vocab)
    context = check_count("context", context)
    if d_model % n_heads:
        raise ValueError(f"d_model must be divisible by n_heads (got {d_model} and {n_heads})")
    with torch.device(device):
        return nn.ModuleDict({
            "tokens": nn.Embedding(vocab, d_model),
            "positions": nn.Embedding(context, d_model),
            "blocks": nn.ModuleList(_GPTBlock(d_model, n_heads) for _ in range(n_layers)),
            "ln_f": nn.LayerNorm(d_model),
        })
