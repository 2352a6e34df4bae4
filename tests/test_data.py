"""Tests for regbook.data."""

from __future__ import annotations

import pytest
import torch

from regbook.data import digits, flip_labels, photo


def test_digits_splits_are_disjoint_and_complete() -> None:
    tr, va, te = digits(300, 200, seed=0)
    assert len(tr.y) + len(va.y) + len(te.y) == 1797
    assert float(tr.x.min()) >= 0.0 and float(tr.x.max()) <= 1.0
    # rows are distinct images: no training image appears in the test split
    train_rows = {tuple(r.tolist()) for r in tr.x}
    overlap = sum(tuple(r.tolist()) in train_rows for r in te.x)
    assert overlap < 5  # the digits set contains a handful of exact duplicate images


def test_digits_seeded() -> None:
    a, _, _ = digits(50, 0, seed=4)
    b, _, _ = digits(50, 0, seed=4)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)


def test_flip_labels_always_changes_the_class() -> None:
    y = torch.arange(10).repeat(100)
    noisy = flip_labels(y, 1.0, num_classes=10, generator=torch.Generator().manual_seed(0))
    assert bool((noisy != y).all()) and bool((noisy >= 0).all()) and bool((noisy < 10).all())
    assert torch.equal(flip_labels(y, 0.0, num_classes=10, generator=torch.Generator()), y)


def test_photo() -> None:
    img = photo("chelsea")
    assert img.shape == (3, 300, 451) and img.dtype == torch.float32
    assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: digits(1700, 200), ValueError, r"n_train \+ n_val must be <= 1796"),
        (lambda: digits(0, 10), ValueError, r"n_train must be >= 1"),
        (lambda: flip_labels(torch.tensor([0, 11]), 0.1, num_classes=10, generator=torch.Generator()),
         ValueError, r"y must hold class indices in \[0, 9\]"),
        (lambda: flip_labels(torch.tensor([0.0]), 0.1, num_classes=10, generator=torch.Generator()),
         TypeError, r"y must be an int64 tensor of class indices \(got torch.float32\)"),
        (lambda: flip_labels(torch.tensor([0]), 1.5, num_classes=10, generator=torch.Generator()),
         ValueError, r"fraction must be in \[0.0, 1.0\] \(got 1.5\)"),
        (lambda: photo("dog"), ValueError, r"name must be one of"),
    ],
)
def test_bad_input(call, exc, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc, match=match):
        call()
