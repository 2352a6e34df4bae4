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

import codecs
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from regbook._checks import check_bool, check_class_indices, check_count, check_float_tensor, check_path

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
        classes: The 10 class names (``str``), in label order.

    Raises:
        TypeError: If a field has the wrong type or dtype.
        ValueError: If a shape, a value range or the number of class names is wrong
            (meta tensors are checked for shape only).
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        images = check_float_tensor("images", self.images, ndim=4)
        if images.dtype != torch.float32:
            raise TypeError(f"images must be float32 (got {images.dtype})")
        if tuple(images.shape[1:]) != (3, _SIDE, _SIDE):
            raise ValueError(f"images must have shape (N, 3, 32, 32) (got {tuple(images.shape)})")
        if not images.is_meta and bool(((images < 0) | (images > 1)).any()):
            raise ValueError("images must hold values in [0, 1]")
        labels = check_class_indices("labels", self.labels, num_classes=10)
        if labels.shape[0] != images.shape[0]:
            raise ValueError(f"labels must have one label per image of images "
                             f"(got {labels.shape[0]} labels for {images.shape[0]} images)")
        classes = self.classes
        if not isinstance(classes, tuple) or len(classes) != 10 or not all(isinstance(c, str) for c in classes):
            raise TypeError(f"classes must be a tuple of 10 str (got {classes!r})")


# ---------------------------------------------------------------------------
# Reading: a restricted unpickler
# ---------------------------------------------------------------------------


def _latin1_encode(obj: object, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as Python 3 pickles ``bytes`` at protocol 2, and nothing else (latin-1 text only)."""
    if not isinstance(obj, str) or codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError("_codecs.encode is admitted only for latin-1 text (pickled bytes)")
    return obj.encode("latin-1")


# numpy's own array reconstructors, taken from an array (they moved from numpy.core to numpy._core in 2.0)
_RECONSTRUCT = np.zeros(1).__reduce__()[0]
_FROMBUFFER = np.zeros(1).__reduce_ex__(5)[0]

#: Every global a CIFAR-10 batch may name: numpy array reconstruction, under its old and new module names,
#: and ``_codecs.encode`` for ``bytes`` pickled by Python 3 at protocol 2. Nothing else is admitted.
_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("_codecs", "encode"): _latin1_encode,
}


class _CifarUnpickler(pickle.Unpickler):
    """An unpickler that builds only what the CIFAR-10 python format holds.

    Plain containers, numbers, strings and bytes need no globals; a global is
    admitted only from :data:`_ALLOWED_GLOBALS` (numpy arrays and dtypes), so a
    file that names any other callable -- ``os.system``, ``builtins.eval``,
    ``subprocess.Popen`` -- is refused before anything is called. Persistent IDs
    are refused too.
    """

    def find_class(self, module: str, name: str) -> Any:
        found = _ALLOWED_GLOBALS.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"refused global {module}.{name}: a CIFAR-10 batch holds only numpy arrays")
        return found

    def persistent_load(self, pid: object) -> Any:
        raise pickle.UnpicklingError("refused a persistent id: a CIFAR-10 batch has none")


def _unpickle(file: Path, what: str) -> dict[Any, Any]:
    """Read one pickle with :class:`_CifarUnpickler`; any failure is a ValueError naming ``file``."""
    try:
        with file.open("rb") as handle:
            obj = _CifarUnpickler(handle, encoding="bytes").load()
    except OSError:
        raise
    except Exception as err:  # truncated, garbage, a refused global, a bad numpy state, ...
        raise ValueError(f"path {str(file.parent)!r}: {file.name} is not a CIFAR-10 {what} "
                         f"({type(err).__name__}: {err})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"path {str(file.parent)!r}: {file.name} is not a CIFAR-10 {what} "
                         f"(expected a dict, got {type(obj).__name__})")
    return obj


def _field(batch: dict[Any, Any], key: str, file: Path) -> Any:
    """``batch[key]``, under its bytes key (Python 2 pickles, as distributed) or its str key."""
    for k in (key.encode(), key):
        if k in batch:
            return batch[k]
    raise ValueError(f"path {str(file.parent)!r}: {file.name} lacks the key {key!r} "
                     f"(has {sorted(map(repr, batch))})")


def _read_batch(file: Path) -> tuple[np.ndarray, np.ndarray]:
    batch = _unpickle(file, "batch")
    where = f"path {str(file.parent)!r}: {file.name}"
    try:
        data = np.asarray(_field(batch, "data", file))
        labels = np.asarray(_field(batch, "labels", file))
    except ValueError as err:  # a ragged list
        raise ValueError(f"{where}: data and labels must be arrays ({err})") from None
    if data.dtype.kind not in "iu":
        raise ValueError(f"{where}: data must hold integer pixel values 0..255 (got dtype {data.dtype})")
    if data.ndim != 2 or data.shape[1] != _ROW or labels.ndim != 1 or len(labels) != len(data):
        raise ValueError(f"{where}: expected data of shape (N, {_ROW}) and N labels, "
                         f"got data {data.shape} and labels {labels.shape}")
    if data.size and (int(data.min()) < 0 or int(data.max()) > 255):
        raise ValueError(f"{where}: data must hold pixel values 0..255 (got {int(data.min())}..{int(data.max())})")
    if labels.dtype.kind not in "iu":
        raise ValueError(f"{where}: labels must be integers 0..9 (got dtype {labels.dtype})")
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) > 9):
        raise ValueError(f"{where}: labels must be in 0..9, got range {labels.min()}..{labels.max()}")
    return data.astype(np.uint8, copy=False), labels.astype(np.int64, copy=False)


def _read_classes(file: Path) -> tuple[str, ...]:
    names = _field(_unpickle(file, "meta file"), "label_names", file)
    if not isinstance(names, list | tuple) or len(names) != 10 or not all(isinstance(n, bytes | str) for n in names):
        raise ValueError(f"path {str(file.parent)!r}: {file.name} must list 10 label names (got {names!r:.80})")
    try:
        return tuple(n.decode() if isinstance(n, bytes) else n for n in names)
    except UnicodeDecodeError as err:
        raise ValueError(f"path {str(file.parent)!r}: {file.name} has a label name that is not UTF-8 ({err})") from None


def _find_root(path: Path) -> Path:
    """Accept the batches folder itself or its parent."""
    for candidate in (path, path / "cifar-10-batches-py"):
        if (candidate / "batches.meta").is_file():
            return candidate
    raise FileNotFoundError(
        f"path must be a CIFAR-10 python folder (containing batches.meta) or its parent, got {str(path)!r}"
    )


def load_cifar10(path: str | Path, *, train: bool = True, limit: int | None = None) -> CifarSplit:
    """Read CIFAR-10 (python-pickle batches) from ``path``.

    The batches are read with a restricted unpickler that builds only what the
    format holds (dicts, lists, bytes, numbers and numpy arrays): a file that
    names any other Python callable -- the way a malicious pickle runs code --
    is refused with a ``ValueError`` before anything in it is called. The data
    read must be integer pixels in ``0..255`` and integer labels in ``0..9``;
    nothing is wrapped, rounded or truncated. Reads files only; mutates nothing.

    Args:
        path: The ``cifar-10-batches-py`` folder, or the folder containing it
            (``str`` or ``os.PathLike``).
        train: ``True`` reads ``data_batch_1..5``, ``False`` reads ``test_batch`` (a real ``bool``).
        limit: If given, keep only the first ``limit`` images (in file order), an int in ``[1, 2**31 - 1]``.

    Returns:
        A :class:`CifarSplit` with float32 images in ``[0, 1]`` of shape ``(N, 3, 32, 32)``
        and int64 labels ``(N,)``.

    Raises:
        FileNotFoundError: If the folder or one of its batch files is missing.
        TypeError: If ``path`` is not a str/PathLike, ``train`` not a bool or ``limit`` not an int.
        ValueError: If ``limit`` is out of range, or a file is not a CIFAR-10 pickle: truncated,
            garbage, naming a refused global, missing its keys, pixels outside ``0..255``,
            labels that are not integers in ``0..9`` (the message names the file).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     imgs = torch.zeros(2, 3, 32, 32, dtype=torch.uint8)
        ...     _ = write_cifar_batches(tmp, imgs, [3, 5], imgs, [0, 1])
        ...     split = load_cifar10(tmp, train=False)
        >>> tuple(split.images.shape), split.labels.tolist(), split.classes[3]
        ((2, 3, 32, 32), [0, 1], 'cat')
    """
    folder = check_path("path", path)
    train = check_bool("train", train)
    if limit is not None:
        limit = check_count("limit", limit)
    root = _find_root(folder)
    names = _TRAIN_FILES if train else _TEST_FILES
    missing = [name for name in names if not (root / name).is_file()]
    if missing:
        raise FileNotFoundError(f"path {str(root)!r} lacks CIFAR-10 batch files: {', '.join(missing)}")
    classes = _read_classes(root / "batches.meta")

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


def _check_labels(name: str, labels: object, n: int, images: str) -> list[int]:
    if isinstance(labels, torch.Tensor):
        if labels.is_floating_point() or labels.dtype == torch.bool or labels.ndim != 1 or labels.is_meta:
            raise TypeError(f"{name} must be a 1-D integer tensor or a sequence of ints "
                            f"(got {labels.dtype} tensor of shape {tuple(labels.shape)})")
        labels = labels.tolist()
    elif isinstance(labels, np.ndarray):
        labels = labels.tolist()
    if isinstance(labels, str | bytes) or not isinstance(labels, Sequence):
        raise TypeError(f"{name} must be a sequence of ints (got {type(labels).__name__} {labels!r:.40})")
    if len(labels) != n:
        raise ValueError(f"{name} must have one label per image of {images} (got {len(labels)} labels for {n} images)")
    out = []
    for i, label in enumerate(labels):
        if isinstance(label, bool) or not isinstance(label, int | np.integer):
            raise TypeError(f"{name}[{i}] must be an int (got {type(label).__name__} {label!r})")
        if not 0 <= int(label) <= 9:
            raise ValueError(f"{name} must be in 0..9 (got {int(label)} at index {i})")
        out.append(int(label))
    return out


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

    Every argument is checked before anything is written.

    Args:
        path: Folder to create ``cifar-10-batches-py`` in (``str`` or ``os.PathLike``).
        train_images: uint8 CPU tensor ``(N, 3, 32, 32)``; split evenly over the train batches.
        train_labels: N labels, ints in ``0..9`` (a sequence, or a 1-D integer tensor).
        test_images: uint8 CPU tensor ``(M, 3, 32, 32)``.
        test_labels: M labels in ``0..9``.
        num_train_batches: Must be 5, the number of files of the real dataset.

    Returns:
        The ``cifar-10-batches-py`` folder.

    Raises:
        TypeError: On a wrong type: a path that is not a str/PathLike, images that are not uint8,
            labels that are not a sequence of ints.
        ValueError: On a wrong shape, a meta tensor, mismatched lengths or labels out of range.

    Mutates:
        The file system: creates ``path/cifar-10-batches-py`` and writes (overwrites) its seven files.
    """
    folder = check_path("path", path)
    if isinstance(num_train_batches, bool) or num_train_batches != 5:
        raise ValueError(f"num_train_batches must be 5 (the CIFAR-10 layout), got {num_train_batches!r}")
    checked: dict[str, tuple[torch.Tensor, list[int]]] = {}
    for name, imgs, labs in (("train", train_images, train_labels), ("test", test_images, test_labels)):
        if not isinstance(imgs, torch.Tensor) or imgs.dtype != torch.uint8:
            raise TypeError(f"{name}_images must be a uint8 tensor (got {getattr(imgs, 'dtype', type(imgs).__name__)})")
        if imgs.ndim != 4 or tuple(imgs.shape[1:]) != (3, _SIDE, _SIDE):
            raise ValueError(f"{name}_images must have shape (N, 3, 32, 32), got {tuple(imgs.shape)}")
        if imgs.is_meta:
            raise ValueError(f"{name}_images must hold data (got a meta tensor)")
        checked[name] = (imgs.detach().cpu(), _check_labels(f"{name}_labels", labs, imgs.shape[0], f"{name}_images"))
    root = folder / "cifar-10-batches-py"
    root.mkdir(parents=True, exist_ok=True)

    def dump(file: str, imgs: torch.Tensor, labs: list[int]) -> None:
        batch = {b"data": imgs.reshape(len(imgs), _ROW).numpy(), b"labels": labs}
        with (root / file).open("wb") as handle:
            pickle.dump(batch, handle)

    train_imgs, train_labs = checked["train"]
    chunks = np.array_split(np.arange(len(train_imgs)), num_train_batches)
    for file, idx in zip(_TRAIN_FILES, chunks, strict=True):
        dump(file, train_imgs[torch.from_numpy(idx)], [train_labs[i] for i in idx])
    dump(_TEST_FILES[0], *checked["test"])
    with (root / "batches.meta").open("wb") as handle:
        pickle.dump({b"label_names": [c.encode() for c in CIFAR10_CLASSES], b"num_cases_per_batch": 10000}, handle)
    return root
