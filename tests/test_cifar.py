"""CIFAR-10 reader: layout checked against hand-made pickles, round trip, bad input."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from regbook.cifar import CIFAR10_CLASSES, load_cifar10, write_cifar_batches


def _hand_made_folder(tmp_path: Path) -> Path:
    """Write the format by hand (not with write_cifar_batches) so the reader is checked independently."""
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    with (root / "batches.meta").open("wb") as f:
        pickle.dump({b"label_names": [c.encode() for c in CIFAR10_CLASSES]}, f)
    # One image per file. Row layout: 1024 red values, then 1024 green, then 1024 blue, each row-major.
    for i, name in enumerate([*(f"data_batch_{k}" for k in range(1, 6)), "test_batch"]):
        row = np.zeros(3072, dtype=np.uint8)
        row[0] = 255              # red plane, pixel (0, 0)
        row[1024 + 32 + 2] = 51   # green plane, pixel (1, 2): 51/255 = 0.2
        row[2048 + 1023] = i      # blue plane, pixel (31, 31): the file index
        with (root / name).open("wb") as f:
            pickle.dump({b"data": row[None, :], b"labels": [i]}, f)
    return root


def test_reader_layout_matches_the_format(tmp_path):
    _hand_made_folder(tmp_path)
    train = load_cifar10(tmp_path)  # the parent folder is accepted too
    assert train.images.shape == (5, 3, 32, 32)
    assert train.images.dtype == torch.float32
    assert train.labels.tolist() == [0, 1, 2, 3, 4]
    assert train.images[0, 0, 0, 0].item() == 1.0
    assert train.images[0, 1, 1, 2].item() == pytest.approx(0.2)
    assert [round(v * 255) for v in train.images[:, 2, 31, 31].tolist()] == [0, 1, 2, 3, 4]
    assert train.images.sum().item() == pytest.approx(5 * (1.0 + 0.2) + (0 + 1 + 2 + 3 + 4) / 255)
    test = load_cifar10(tmp_path / "cifar-10-batches-py", train=False)
    assert test.labels.tolist() == [5]
    assert train.classes == CIFAR10_CLASSES


def test_limit_keeps_the_first_images(tmp_path):
    _hand_made_folder(tmp_path)
    assert load_cifar10(tmp_path, limit=2).labels.tolist() == [0, 1]


def test_round_trip(tmp_path):
    g = torch.Generator().manual_seed(0)
    train = torch.randint(0, 256, (12, 3, 32, 32), generator=g, dtype=torch.uint8)
    test = torch.randint(0, 256, (4, 3, 32, 32), generator=g, dtype=torch.uint8)
    write_cifar_batches(tmp_path, train, [*range(10), 0, 1], test, [9, 8, 7, 6])
    got = load_cifar10(tmp_path)
    torch.testing.assert_close(got.images, train.float() / 255)
    assert got.labels.tolist() == [*range(10), 0, 1]
    assert load_cifar10(tmp_path, train=False).labels.tolist() == [9, 8, 7, 6]


def test_missing_folder_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="path must be a CIFAR-10 python folder"):
        load_cifar10(tmp_path)


def test_missing_batch_file(tmp_path):
    root = _hand_made_folder(tmp_path)
    (root / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="lacks CIFAR-10 batch files: data_batch_3"):
        load_cifar10(tmp_path)


@pytest.mark.parametrize("limit", [0, -1, 2.5, True])
def test_bad_limit(tmp_path, limit):
    with pytest.raises(ValueError, match="limit must be a positive int or None"):
        load_cifar10(tmp_path, limit=limit)


def test_malformed_batch(tmp_path):
    root = _hand_made_folder(tmp_path)
    with (root / "test_batch").open("wb") as f:
        pickle.dump({b"data": np.zeros((1, 100), np.uint8), b"labels": [0]}, f)
    with pytest.raises(ValueError, match=r"expected data of shape \(N, 3072\)"):
        load_cifar10(tmp_path, train=False)


def test_writer_rejects_bad_input(tmp_path):
    ok = torch.zeros(5, 3, 32, 32, dtype=torch.uint8)
    with pytest.raises(TypeError, match="train_images must be a uint8 tensor"):
        write_cifar_batches(tmp_path, ok.float(), [0] * 5, ok, [0] * 5)
    with pytest.raises(ValueError, match=r"test_images must have shape \(N, 3, 32, 32\)"):
        write_cifar_batches(tmp_path, ok, [0] * 5, ok[:, :, :16], [0] * 5)
    with pytest.raises(ValueError, match="train_labels must have one label per image"):
        write_cifar_batches(tmp_path, ok, [0] * 4, ok, [0] * 5)
    with pytest.raises(ValueError, match=r"test_labels must be in 0\.\.9"):
        write_cifar_batches(tmp_path, ok, [0] * 5, ok, [0, 0, 0, 0, 10])
