"""Tests for the shared argument checks in regbook._checks."""

from __future__ import annotations

import pytest
import torch

from regbook import _checks as C


def test_real_rejects_bool_and_strings() -> None:
    with pytest.raises(TypeError, match=r"x must be a real number \(got bool True\)"):
        C.check_real("x", True)
    with pytest.raises(TypeError, match=r"x must be a real number \(got str"):
        C.check_real("x", "1")


def test_in_range_bounds_are_named() -> None:
    assert C.check_in_range("p", 0.0, 0.0, 1.0) == 0.0
    with pytest.raises(ValueError, match=r"p must be in \(0.0, 1.0\] \(got 0.0\)"):
        C.check_in_range("p", 0.0, 0.0, 1.0, low_inclusive=False)
    with pytest.raises(ValueError, match=r"p must be finite \(got inf\)"):
        C.check_in_range("p", float("inf"), 0.0, 1.0)


def test_float_tensor_checks() -> None:
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor \(got list\)"):
        C.check_float_tensor("x", [1.0])
    with pytest.raises(ValueError, match=r"x must not be empty"):
        C.check_float_tensor("x", torch.empty(0))
    with pytest.raises(ValueError, match=r"x must contain only finite values"):
        C.check_float_tensor("x", torch.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match=r"x must be 2-D \(got 1-D, shape \(3,\)\)"):
        C.check_float_tensor("x", torch.ones(3), ndim=2)


def test_int_and_choice() -> None:
    with pytest.raises(TypeError, match=r"n must be an int \(got float 1.5\)"):
        C.check_int("n", 1.5)
    with pytest.raises(ValueError, match=r"n must be >= 2 \(got 1\)"):
        C.check_int("n", 1, minimum=2)
    with pytest.raises(ValueError, match=r"mode must be one of \('a', 'b'\) \(got 'c'\)"):
        C.check_choice("mode", "c", ("a", "b"))


def test_generator_check() -> None:
    g = torch.Generator()
    assert C.check_generator("generator", g) is g
    with pytest.raises(TypeError, match=r"generator must be a torch.Generator \(got int\)"):
        C.check_generator("generator", 0)


def test_class_index_checks() -> None:
    y = torch.tensor([0, 2, 1])
    assert C.check_class_indices("y", y, num_classes=3) is y
    with pytest.raises(TypeError, match=r"y must be a torch.Tensor \(got list\)"):
        C.check_class_indices("y", [0, 1])
    with pytest.raises(TypeError, match=r"y must be an int64 tensor of class indices \(got torch.float32\)"):
        C.check_class_indices("y", torch.tensor([0.0]))
    with pytest.raises(ValueError, match=r"y must be 1-D \(N,\) \(got 2-D, shape \(1, 2\)\)"):
        C.check_class_indices("y", torch.tensor([[0, 1]]))
    with pytest.raises(ValueError, match=r"y must hold class indices in \[0, 2\] \(got values -1..1\)"):
        C.check_class_indices("y", torch.tensor([-1, 1]), num_classes=3)
    assert C.check_class_indices("y", torch.tensor([5, 7])).tolist() == [5, 7]  # no range without num_classes
