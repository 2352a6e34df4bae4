"""CIFAR-10 from files a user already has (never downloaded by regbook).

The book's experiments run on offline data so the book builds anywhere. Lab 6a
in the lecture sweeps its knobs on CIFAR-10; a reader who has the dataset on
disk can run the same sweep on it. This module reads the standard
"CIFAR-10 python version" layout::

    cifar-10-batches-py/
        batches.meta      # pickle: {b"label_names": [...], ...}
        data_batch_1 ... data_batch_5
        test_batch        # pickle: {b"data": uint8 (N, 3072), b"labels": [int, ...]}

Each row of ``data`` holds the red, green and blue 32x32 planes, row-major.
:func:`write_cifar_batches` writes the same format; the tests use it to make a
tiny folder, so the reader is exercised without the real dataset.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

__all__ = ["CIFAR10_CLASSES", "CifarSplit", "load_cifar10", "write_cifar_batches"]

#: Class names of CIFAR-10, in label order.
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)

_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
_TEST_FILES = ("test_batch",)
_SIDE = 32
_ROW = 3 * _SIDE * _SIDE


@dataclass(frozen=True)
class CifarSplit:
    """Images and labels of one CIFAR split.

    Attributes:
        images: Float32 tensor of shape ``(N, 3, 32, 32)`` with values in ``[0, 1]``.
        labels: Int64 tensor of shape ``(N,)`` with values in ``0..9``.
        classes: The class names, in label order.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]


def _find_root(path: Path) -> Path:
    """Accept the batches folder itself or its parent."""
    for candidate in (path, path / "cifar-10-batches-py"):
        if (candidate / "batches.meta").is_file():
            return candidate
    raise FileNotFoundError(
        f"path must be a CIFAR-10 python folder (containing batches.meta) or its parent, got {str(path)!r}"
    )


def _read_batch(file: Path) -> tuple[np.ndarray, np.ndarray]:
    with file.open("rb") as handle:
        batch = pickle.load(handle, encoding="bytes")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != _ROW or len(labels) != len(data):
        raise ValueError(f"{file.name}: expected data of shape (N, {_ROW}) and N labels, "
                         f"got data {data.shape} and {len(labels)} labels")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{file.name}: labels must be in 0..9, got range {labels.min()}..{labels.max()}")
    return data, labels


def load_cifar10(path: str | Path, *, train: bool = True, limit: int | None = None) -> CifarSplit:
    """Read CIFAR-10 (python-pickle batches) from ``path``.

    Args:
        path: The ``cifar-10-batches-py`` folder, or the folder containing it.
        train: ``True`` reads ``data_batch_1..5``, ``False`` reads ``test_batch``.
        limit: If given, keep only the first ``limit`` images (in file order).

    Returns:
        A :class:`CifarSplit` with images in ``[0, 1]`` of shape ``(N, 3, 32, 32)``.

    Raises:
        FileNotFoundError: If the folder or one of its batch files is missing.
        ValueError: If ``limit`` is not a positive int, or a batch file is malformed.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     imgs = torch.zeros(2, 3, 32, 32, dtype=torch.uint8)
        ...     _ = write_cifar_batches(tmp, imgs, [3, 5], imgs, [0, 1])
        ...     split = load_cifar10(tmp, train=False)
        >>> tuple(split.images.shape), split.labels.tolist(), split.classes[3]
        ((2, 3, 32, 32), [0, 1], 'cat')
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")
    root = _find_root(Path(path))
    names = _TRAIN_FILES if train else _TEST_FILES
    missing = [name for name in names if not (root / name).is_file()]
    if missing:
        raise FileNotFoundError(f"path {str(root)!r} lacks CIFAR-10 batch files: {', '.join(missing)}")
    with (root / "batches.meta").open("rb") as handle:
        meta = pickle.load(handle, encoding="bytes")
    classes = tuple(name.decode() if isinstance(name, bytes) else str(name) for name in meta[b"label_names"])

    datas, labels = [], []
    total = 0
    for name in names:
        data, lab = _read_batch(root / name)
        datas.append(data)
        labels.append(lab)
        total += len(data)
        if limit is not None and total >= limit:
            break
    data = np.concatenate(datas)[:limit]
    lab = np.concatenate(labels)[:limit]
    images = torch.from_numpy(data.reshape(-1, 3, _SIDE, _SIDE).astype(np.float32) / 255.0)
    return CifarSplit(images=images, labels=torch.from_numpy(lab), classes=classes)


def write_cifar_batches(
    path: str | Path,
    train_images: torch.Tensor,
    train_labels: Sequence[int],
    test_images: torch.Tensor,
    test_labels: Sequence[int],
    *,
    num_train_batches: int = 5,
) -> Path:
    """Write images in the CIFAR-10 python layout (for tests and small demos).

    Args:
        path: Folder to create ``cifar-10-batches-py`` in.
        train_images: uint8 tensor ``(N, 3, 32, 32)``; split evenly over the train batches.
        train_labels: N labels in ``0..9``.
        test_images: uint8 tensor ``(M, 3, 32, 32)``.
        test_labels: M labels in ``0..9``.
        num_train_batches: Must be 5, the number of files of the real dataset.

    Returns:
        The ``cifar-10-batches-py`` folder.

    Raises:
        ValueError: On a wrong dtype or shape, mismatched lengths or labels out of range.
    """
    if num_train_batches != 5:
        raise ValueError(f"num_train_batches must be 5 (the CIFAR-10 layout), got {num_train_batches!r}")
    for name, imgs, labs in (("train", train_images, train_labels), ("test", test_images, test_labels)):
        if not isinstance(imgs, torch.Tensor) or imgs.dtype != torch.uint8:
            raise TypeError(f"{name}_images must be a uint8 tensor")
        if imgs.ndim != 4 or tuple(imgs.shape[1:]) != (3, _SIDE, _SIDE):
            raise ValueError(f"{name}_images must have shape (N, 3, 32, 32), got {tuple(imgs.shape)}")
        if len(labs) != imgs.shape[0]:
            raise ValueError(f"{name}_labels must have one label per image: {len(labs)} vs {imgs.shape[0]}")
        if any(not 0 <= int(label) <= 9 for label in labs):
            raise ValueError(f"{name}_labels must be in 0..9")
    root = Path(path) / "cifar-10-batches-py"
    root.mkdir(parents=True, exist_ok=True)

    def dump(file: str, imgs: torch.Tensor, labs: Sequence[int]) -> None:
        batch = {b"data": imgs.reshape(len(imgs), _ROW).numpy(), b"labels": [int(x) for x in labs]}
        with (root / file).open("wb") as handle:
            pickle.dump(batch, handle)

    chunks = np.array_split(np.arange(len(train_images)), num_train_batches)
    for file, idx in zip(_TRAIN_FILES, chunks, strict=True):
        index = torch.from_numpy(idx)
        dump(file, train_images[index], [int(train_labels[i]) for i in idx])
    dump(_TEST_FILES[0], test_images, test_labels)
    with (root / "batches.meta").open("wb") as handle:
        pickle.dump({b"label_names": [c.encode() for c in CIFAR10_CLASSES], b"num_cases_per_batch": 10000}, handle)
    return root
