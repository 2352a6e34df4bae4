"""Contracts of regbook.cifar: the CIFAR-10 reader, its record, and the writer the tests use.

The reader is also fed hostile *files*: a pickle that would run ``os.system``,
truncated and garbage files, missing keys, pixels outside 0..255 and
non-integer labels. Each must be refused with a ``ValueError`` that names
``path`` and the file, before anything in the file is called.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from regbook.cifar import CIFAR10_CLASSES, CifarSplit, load_cifar10, write_cifar_batches
from tests.conftest import TEST_SEEDS
from tests.contracts.opinfo import OpInfo, Sample

NOT_CALLABLE = {"regbook.cifar.CIFAR10_CLASSES"}

PATH_LOAD = ("a path that does not exist raises FileNotFoundError, as open() does (documented); the generic "
             "'unknown' case counts that as an escape, so wrong types are given as extra cases instead")
PATH_WRITE = ("the generic 'unknown' case is a new relative folder name, a valid path: it would write a dataset "
              "into the working directory; wrong types are given as extra cases instead")

# a long prefix: test ids show the first 40 characters of a value, which must not include the random part
_ROOT = tempfile.TemporaryDirectory(prefix="regbook-contracts-cifar-reader-hostile-files-")
_g = torch.Generator().manual_seed(TEST_SEEDS[0])
_TRAIN = torch.randint(0, 256, (10, 3, 32, 32), generator=_g, dtype=torch.uint8)
_TEST = torch.randint(0, 256, (4, 3, 32, 32), generator=_g, dtype=torch.uint8)
GOOD = str(write_cifar_batches(Path(_ROOT.name) / "good", _TRAIN, list(range(10)), _TEST, [9, 8, 7, 6]))


class _RunsCode:
    def __init__(self, fn: Any, arg: str) -> None:
        self.fn, self.arg = fn, arg

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return self.fn, (self.arg,)


def _hostile_folder(name: str, test_batch: bytes | None = None, meta: bytes | None = None) -> str:
    """A copy of the good folder whose test_batch (or batches.meta) holds ``test_batch`` (``meta``)."""
    root = write_cifar_batches(Path(_ROOT.name) / name, _TRAIN, list(range(10)), _TEST, [9, 8, 7, 6])
    if test_batch is not None:
        (root / "test_batch").write_bytes(test_batch)
    if meta is not None:
        (root / "batches.meta").write_bytes(meta)
    return str(root)


def _batch(data: Any, labels: Any) -> bytes:
    return pickle.dumps({b"data": data, b"labels": labels})


_MARKER = Path(_ROOT.name) / "code-ran"
_good_raw = (Path(GOOD) / "test_batch").read_bytes()
HOSTILE_FOLDERS = (
    _hostile_folder("system", _batch(_RunsCode(os.system, f"touch {_MARKER}"), [0])),
    _hostile_folder("meta_system", meta=pickle.dumps({b"label_names": _RunsCode(os.system, f"touch {_MARKER}")})),
    _hostile_folder("truncated", _good_raw[: len(_good_raw) // 2]),
    _hostile_folder("garbage", b"\x89PNG\r\n\x1a\n not a pickle"),
    _hostile_folder("empty", b""),
    _hostile_folder("not_a_dict", pickle.dumps([1, 2, 3])),
    _hostile_folder("no_data", pickle.dumps({b"labels": [0]})),
    _hostile_folder("pixel_300", _batch(np.full((1, 3072), 300), [0])),
    _hostile_folder("float_pixels", _batch(np.full((1, 3072), 0.5), [0])),
    _hostile_folder("label_3_7", _batch(np.zeros((1, 3072), np.uint8), [3.7])),
    _hostile_folder("label_10", _batch(np.zeros((1, 3072), np.uint8), [10])),
    _hostile_folder("short_rows", _batch(np.zeros((1, 100), np.uint8), [0])),
    _hostile_folder("meta_garbage", meta=b"garbage"),
)


def _load_sample() -> Sample:
    return Sample((GOOD,), {"train": False, "limit": 3}, ("path",))


def _write_sample() -> Sample:
    return Sample((str(Path(_ROOT.name) / "written"), _TRAIN[:5].clone(), [0, 1, 2, 3, 4], _TEST[:2].clone(),
                   [5, 6]), {"num_train_batches": 5},
                  ("path", "train_images", "train_labels", "test_images", "test_labels"))


OPS = [
    OpInfo("regbook.cifar.CifarSplit", CifarSplit,
           lambda: Sample((torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(TEST_SEEDS[0])),
                           torch.tensor([0, 9]), CIFAR10_CLASSES), {}, ("images", "labels", "classes")),
           extra=(("classes", ("a",) * 9, True), ("classes", list(CIFAR10_CLASSES), True),
                  ("images", torch.full((2, 3, 32, 32), 1.5), True), ("labels", torch.tensor([0, 10]), True))),
    OpInfo("regbook.cifar.load_cifar10", load_cifar10, _load_sample, skip={"path": PATH_LOAD},
           extra=(("path", 1, True), ("path", None, True), ("path", b"cifar", True), ("path", ["cifar"], True),
                  ("path", Path(GOOD), False), ("path", str(Path(GOOD).parent), False),
                  *(("path", folder, True) for folder in HOSTILE_FOLDERS))),
    OpInfo("regbook.cifar.write_cifar_batches", write_cifar_batches, _write_sample, skip={"path": PATH_WRITE},
           extra=(("path", 1, True), ("path", None, True), ("path", b"x", True),
                  ("train_labels", [0.0, 1.0, 2.0, 3.0, 4.0], True), ("train_labels", [0, 1, 2, 3, 10], True),
                  ("train_labels", torch.tensor([0, 1, 2, 3, 4]), False),
                  ("train_labels", [True, 1, 2, 3, 4], True), ("num_train_batches", True, True))),
]

