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


@pytest.mark.parametrize(("limit", "exc", "match"), [
    (0, ValueError, r"limit must be >= 1 \(got 0\)"),
    (-1, ValueError, r"limit must be >= 1 \(got -1\)"),
    (2**64, ValueError, r"limit must be <= 2147483647"),
    (2.5, TypeError, r"limit must be an int \(got float 2.5\)"),
    (True, TypeError, r"limit must be an int \(got bool True\)"),
])
def test_bad_limit(tmp_path, limit, exc, match):
    _hand_made_folder(tmp_path)
    with pytest.raises(exc, match=match):
        load_cifar10(tmp_path, limit=limit)


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    ({"train": "False"}, TypeError, r"train must be a bool \(got str 'False'\)"),
    ({"train": 0}, TypeError, r"train must be a bool"),
])
def test_bad_train_flag_is_refused_not_obeyed(tmp_path, kwargs, exc, match):
    _hand_made_folder(tmp_path)
    with pytest.raises(exc, match=match):
        load_cifar10(tmp_path, **kwargs)


@pytest.mark.parametrize("path", [1, None, b"cifar", "a\x00b"])
def test_bad_path_type(path):
    with pytest.raises((TypeError, ValueError), match="path must"):
        load_cifar10(path)


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


# --- Hostile files: refused with a ValueError naming the file, never executed ---------------

class _RunsCode:
    """A pickle payload that calls ``fn(arg)`` when loaded: how a malicious pickle executes code."""

    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return self.fn, (self.arg,)


@pytest.mark.parametrize("target", ["test_batch", "batches.meta"])
def test_a_pickle_that_runs_code_is_refused(tmp_path, target):
    import os

    root = _hand_made_folder(tmp_path)
    marker = tmp_path / "pwned"
    payload = {b"data": _RunsCode(os.system, f"touch {marker}"), b"labels": [0],
               b"label_names": _RunsCode(os.system, f"touch {marker}")}
    with (root / target).open("wb") as f:
        pickle.dump(payload, f)
    with pytest.raises(ValueError, match=rf"{target} is not a CIFAR-10 .*refused global (posix|nt)\.system"):
        load_cifar10(tmp_path, train=False)
    assert not marker.exists()


def test_builtins_eval_is_refused_too(tmp_path):
    root = _hand_made_folder(tmp_path)
    with (root / "test_batch").open("wb") as f:
        pickle.dump({b"data": _RunsCode(eval, "1 + 1"), b"labels": [0]}, f)
    with pytest.raises(ValueError, match=r"test_batch is not a CIFAR-10 batch .*refused global builtins\.eval"):
        load_cifar10(tmp_path, train=False)


def _write(root: Path, name: str, raw: bytes) -> None:
    (root / name).write_bytes(raw)


@pytest.mark.parametrize(("raw", "match"), [
    (None, r"test_batch is not a CIFAR-10 batch \((EOFError|UnpicklingError)"),              # truncated
    (b"\x89PNG\r\n\x1a\n not a pickle at all", r"test_batch is not a CIFAR-10 batch \(UnpicklingError"),
    (b"", r"test_batch is not a CIFAR-10 batch \(EOFError"),
    (pickle.dumps([1, 2, 3]), r"test_batch is not a CIFAR-10 batch \(expected a dict, got list\)"),
    (pickle.dumps({b"pixels": np.zeros((1, 3072), np.uint8), b"labels": [0]}), r"test_batch lacks the key 'data'"),
    (pickle.dumps({b"data": np.zeros((1, 3072), np.uint8)}), r"test_batch lacks the key 'labels'"),
])
def test_corrupt_batch_files_raise_value_error_naming_the_file(tmp_path, raw, match):
    root = _hand_made_folder(tmp_path)
    if raw is None:
        raw = (root / "test_batch").read_bytes()[:100]
    _write(root, "test_batch", raw)
    with pytest.raises(ValueError, match=match):
        load_cifar10(tmp_path, train=False)


@pytest.mark.parametrize(("meta", "match"), [
    (b"garbage", r"batches.meta is not a CIFAR-10 meta file"),
    (pickle.dumps({b"names": []}), r"batches.meta lacks the key 'label_names'"),
    (pickle.dumps({b"label_names": [b"cat"]}), r"batches.meta must list 10 label names"),
])
def test_corrupt_meta_file(tmp_path, meta, match):
    root = _hand_made_folder(tmp_path)
    _write(root, "batches.meta", meta)
    with pytest.raises(ValueError, match=match):
        load_cifar10(tmp_path)


@pytest.mark.parametrize(("data", "labels", "match"), [
    (np.full((1, 3072), 300, np.int64), [0], r"data must hold pixel values 0\.\.255 \(got 300\.\.300\)"),
    (np.full((1, 3072), -1, np.int16), [0], r"data must hold pixel values 0\.\.255 \(got -1\.\.-1\)"),
    (np.full((1, 3072), 0.5), [0], r"data must hold integer pixel values 0\.\.255 \(got dtype float64\)"),
    (np.zeros((1, 3072), np.uint8), [3.7], r"labels must be integers 0\.\.9 \(got dtype float64\)"),
    (np.zeros((1, 3072), np.uint8), [True], r"labels must be integers 0\.\.9 \(got dtype bool\)"),
    (np.zeros((1, 3072), np.uint8), ["3"], r"labels must be integers 0\.\.9"),
    (np.zeros((1, 3072), np.uint8), [10], r"labels must be in 0\.\.9"),
    (np.zeros((2, 3072), np.uint8), [0], r"expected data of shape \(N, 3072\) and N labels"),
])
def test_values_are_checked_not_wrapped_or_truncated(tmp_path, data, labels, match):
    # pixel 300 used to wrap to 44 and label 3.7 to be truncated to 3
    root = _hand_made_folder(tmp_path)
    with (root / "test_batch").open("wb") as f:
        pickle.dump({b"data": data, b"labels": labels}, f)
    with pytest.raises(ValueError, match="test_batch: " + match):
        load_cifar10(tmp_path, train=False)


def test_python2_style_pickles_are_read(tmp_path):
    # The distributed files were written by Python 2: protocol 2, numpy.core.multiarray._reconstruct.
    # Python 3 at protocol 2 writes bytes as _codecs.encode(str, "latin1"): both are admitted.
    root = _hand_made_folder(tmp_path)
    row = np.arange(3072).astype(np.uint8)[None, :]
    raw = pickle.dumps({b"data": row, b"labels": [7]}, protocol=2)
    raw = raw.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
    assert b"numpy.core.multiarray\n_reconstruct" in raw and b"_codecs\nencode" in raw
    _write(root, "test_batch", raw)
    got = load_cifar10(tmp_path, train=False)
    assert got.labels.tolist() == [7]
    assert torch.equal((got.images * 255).round().to(torch.uint8).reshape(1, -1), torch.from_numpy(row))


@pytest.mark.parametrize("protocol", [4, 5])
def test_modern_protocols_are_read(tmp_path, protocol):
    root = _hand_made_folder(tmp_path)
    _write(root, "test_batch", pickle.dumps({b"data": np.ones((2, 3072), np.uint8), b"labels": [1, 2]},
                                            protocol=protocol))
    assert load_cifar10(tmp_path, train=False).labels.tolist() == [1, 2]


def test_codecs_encode_is_admitted_for_latin1_only(tmp_path):
    import _codecs

    root = _hand_made_folder(tmp_path)
    # _codecs.encode("abc") with its default codec (utf-8), not the latin-1 of pickled bytes: refused
    _write(root, "test_batch", pickle.dumps({b"data": _RunsCode(_codecs.encode, "abc"), b"labels": [0]}, protocol=2))
    with pytest.raises(ValueError, match=r"test_batch is not a CIFAR-10 batch .*latin-1"):
        load_cifar10(tmp_path, train=False)


def test_writer_checks_labels_before_writing(tmp_path):
    ok = torch.zeros(5, 3, 32, 32, dtype=torch.uint8)
    with pytest.raises(TypeError, match=r"train_labels\[0\] must be an int \(got float 3.7\)"):
        write_cifar_batches(tmp_path, ok, [3.7] * 5, ok, [0] * 5)
    with pytest.raises(TypeError, match=r"test_labels must be a sequence of ints \(got int"):
        write_cifar_batches(tmp_path, ok, [0] * 5, ok, 4)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="train_images must hold data"):
        write_cifar_batches(tmp_path, ok.to("meta"), [0] * 5, ok, [0] * 5)
    assert not (tmp_path / "cifar-10-batches-py").exists()          # nothing written on a rejected call
    write_cifar_batches(tmp_path, ok, torch.arange(5), ok, torch.zeros(5, dtype=torch.long))
    assert load_cifar10(tmp_path).labels.tolist() == [0, 1, 2, 3, 4]
