"""Offline datasets for the book's experiments: nothing here touches the network.

* :func:`digits` -- scikit-learn's 1,797 handwritten 8×8 digits (ship inside the wheel).
* :func:`photo` -- scikit-image's sample photographs (ship inside the wheel).
* :func:`flip_labels` -- seeded label noise.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from regbook._checks import (
    check_choice,
    check_class_indices,
    check_count,
    check_generator,
    check_in_range,
    check_int,
    check_seed,
)

__all__ = ["Split", "digits", "flip_labels", "photo"]

PHOTOS = ("chelsea", "astronaut", "coffee", "rocket")


@dataclass(frozen=True)
class Split:
    """Images and labels of one split: ``x`` is ``(N, ...)`` floating (digits: ``(N, 64)`` in [0, 1]),
    ``y`` is ``(N,)`` int64.

    Raises:
        TypeError: If ``x`` is not a floating tensor with at least one dimension, or ``y`` not 1-D int64.
        ValueError: If they disagree on ``N``.
    """

    x: torch.Tensor
    y: torch.Tensor

    def __post_init__(self) -> None:
        if not isinstance(self.x, torch.Tensor) or not self.x.is_floating_point() or self.x.ndim < 1:
            raise TypeError(f"x must be a floating tensor of shape (N, ...) (got {_describe(self.x)})")
        if not isinstance(self.y, torch.Tensor) or self.y.dtype != torch.long or self.y.ndim != 1:
            raise TypeError(f"y must be a 1-D int64 tensor of class indices (got {_describe(self.y)})")
        if len(self.x) != len(self.y):
            raise ValueError(f"x and y must hold the same number of examples (got {len(self.x)} and {len(self.y)})")


def _describe(v: object) -> str:
    if isinstance(v, torch.Tensor):
        return f"{v.dtype} tensor of shape {tuple(v.shape)}"
    return type(v).__name__


def digits(n_train: int, n_val: int, *, seed: int = 0) -> tuple[Split, Split, Split]:
    """Seeded train / validation / test split of scikit-learn's 8×8 digits.

    Pixels are scaled from 0..16 to [0, 1]; reshape ``x`` to ``(N, 1, 8, 8)``
    for image operations. The test split is everything not used by the other two.

    >>> tr, va, te = digits(100, 50, seed=0)
    >>> tuple(tr.x.shape), tuple(va.y.shape), len(te.y)
    ((100, 64), (50,), 1647)
    """
    n_train = check_int("n_train", n_train, minimum=1)
    n_val = check_int("n_val", n_val, minimum=0)
    check_seed("seed", seed)
    if n_train + n_val > 1797 - 1:
        raise ValueError(f"n_train + n_val must be <= 1796 to leave a test split (got {n_train + n_val})")
    x, y = _all_digits()
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    tr, va, te = perm[:n_train], perm[n_train : n_train + n_val], perm[n_train + n_val :]
    return Split(x[tr], y[tr]), Split(x[va], y[va]), Split(x[te], y[te])


@functools.lru_cache(maxsize=1)
def _all_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits, read once per process (indexing in :func:`digits` copies, so callers never share them)."""
    from sklearn.datasets import load_digits  # ships with scikit-learn: no download

    data = load_digits()
    return torch.tensor(data.data, dtype=torch.float32) / 16.0, torch.tensor(data.target, dtype=torch.long)


def flip_labels(y: torch.Tensor, fraction: float, *, num_classes: int, generator: torch.Generator) -> torch.Tensor:
    """Replace a random ``fraction`` of labels by a *different* class, chosen uniformly.

    Returns a new tensor; ``y`` is not modified.

    >>> y = torch.zeros(1000, dtype=torch.long)
    >>> noisy = flip_labels(y, 0.3, num_classes=10, generator=torch.Generator().manual_seed(0))
    >>> 0.25 < (noisy != y).float().mean().item() < 0.35, bool((noisy < 10).all())
    (True, True)
    """
    fraction = check_in_range("fraction", fraction, 0.0, 1.0)
    num_classes = check_count("num_classes", num_classes, minimum=2)
    y = check_class_indices("y", y, num_classes=num_classes)
    generator = check_generator("generator", generator)
    if y.is_meta:  # shape only, as torch treats meta tensors: no draws, no values
        return torch.empty_like(y)
    flip = torch.rand(len(y), generator=generator) < fraction
    shift = torch.randint(1, num_classes, (len(y),), generator=generator)
    out = y.clone()
    out[flip] = (y[flip] + shift[flip]) % num_classes
    return out


def photo(name: str = "chelsea") -> torch.Tensor:
    """One of scikit-image's sample photos as a float32 ``(3, H, W)`` tensor in [0, 1].

    ``"chelsea"`` is a cat (300×451), ``"astronaut"`` a portrait (512×512),
    ``"coffee"`` a cup (400×600), ``"rocket"`` a launch (427×640).

    >>> tuple(photo("chelsea").shape)
    (3, 300, 451)
    """
    from skimage import data as skdata  # ships with scikit-image: no download

    check_choice("name", name, PHOTOS)
    img = getattr(skdata, name)()
    return torch.from_numpy(img.copy()).permute(2, 0, 1).float() / 255.0
