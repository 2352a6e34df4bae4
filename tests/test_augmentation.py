"""Tests for regbook.augmentation.

Expected values come from hand arithmetic, torch's own ops (``torch.flip``,
``torch.rot90``), Python's :mod:`colorsys` and Pillow's ``ImageOps`` -- never
from regbook itself.
"""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from regbook import augmentation as A


def rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- Worked examples by hand ----------------------------------------------

def test_flip_by_hand() -> None:
    # [0, .5, 1] mirrored is [1, .5, 0]
    assert A.horizontal_flip(torch.tensor([[[0.0, 0.5, 1.0]]])).tolist() == [[[1.0, 0.5, 0.0]]]


def test_brightness_by_hand() -> None:
    # 1.5 * [0.2, 0.6, 0.8] = [0.3, 0.9, 1.2] -> clipped to [0.3, 0.9, 1.0]
    out = A.adjust_brightness(torch.tensor([[[0.2, 0.6, 0.8]]]), 1.5)
    torch.testing.assert_close(out, torch.tensor([[[0.3, 0.9, 1.0]]]))


def test_contrast_by_hand_gray() -> None:
    # mean = 0.4; 0.5*0.2 + 0.5*0.4 = 0.3; 0.5*0.6 + 0.5*0.4 = 0.5
    out = A.adjust_contrast(torch.tensor([[[0.2, 0.6]]]), 0.5)
    torch.testing.assert_close(out, torch.tensor([[[0.3, 0.5]]]))


def test_contrast_by_hand_rgb() -> None:
    # one pure-red pixel and one black pixel: gray = [0.2989, 0]; mean 0.14945
    # factor 0: every channel becomes 0.14945
    x = torch.tensor([[[1.0, 0.0]], [[0.0, 0.0]], [[0.0, 0.0]]])
    torch.testing.assert_close(A.adjust_contrast(x, 0.0), torch.full((3, 1, 2), 0.14945))


def test_saturation_by_hand() -> None:
    # pure red, factor 0 -> its gray value 0.2989 in all channels; factor 1 -> unchanged
    red = torch.tensor([[[1.0]], [[0.0]], [[0.0]]])
    torch.testing.assert_close(A.adjust_saturation(red, 0.0), torch.full((3, 1, 1), 0.2989))
    torch.testing.assert_close(A.adjust_saturation(red, 1.0), red)


def test_hue_by_hand() -> None:
    # red has hue 0; +1/3 turn is green, +2/3 turn is blue
    red = torch.tensor([[[1.0]], [[0.0]], [[0.0]]], dtype=torch.float64)
    torch.testing.assert_close(A.adjust_hue(red, 1 / 3).flatten(), torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(A.adjust_hue(red, 2 / 3).flatten(), torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))


def test_rotate_one_pixel_by_hand() -> None:
    # the top-left pixel of a 2x2 image, turned 90° counter-clockwise, lands bottom-left
    x = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    torch.testing.assert_close(A.rotate(x, 90), torch.tensor([[[0.0, 0.0], [1.0, 0.0]]]), atol=1e-6, rtol=0)


def test_resized_crop_by_hand() -> None:
    # 4x4 ramp 0..15; the 2x2 box at (1, 1) holds 5, 6, 9, 10
    x = torch.arange(16.0).reshape(1, 4, 4) / 15
    expected = torch.tensor([[[5.0, 6.0], [9.0, 10.0]]])
    torch.testing.assert_close(A.resized_crop(x, 1, 1, 2, 2, size=(2, 2)) * 15, expected)


# --- Parity with torch, colorsys and Pillow ----------------------------------

def test_flip_matches_torch_flip() -> None:
    x = rand(4, 3, 5, 7)
    torch.testing.assert_close(A.horizontal_flip(x), torch.flip(x, dims=[-1]))


@pytest.mark.parametrize(("degrees", "k"), [(90, 1), (180, 2), (270, 3), (-90, -1)])
def test_rotate_matches_rot90_on_square(degrees: float, k: int) -> None:
    x = rand(2, 3, 9, 9)
    torch.testing.assert_close(A.rotate(x, degrees), torch.rot90(x, k, dims=(-2, -1)), atol=1e-5, rtol=0)


def test_rotate_180_matches_rot90_on_rectangle() -> None:
    x = rand(1, 8, 12)
    torch.testing.assert_close(A.rotate(x, 180), torch.rot90(x, 2, dims=(-2, -1)), atol=1e-5, rtol=0)


def test_rotate_zero_is_identity() -> None:
    x = rand(3, 6, 10)
    torch.testing.assert_close(A.rotate(x, 0), x, atol=1e-6, rtol=0)


def test_rgb_to_hsv_matches_colorsys() -> None:
    x = rand(3, 6, 6, seed=3).double()
    x[:, 0, 0] = torch.tensor([0.5, 0.5, 0.5])  # a gray pixel: hue and saturation 0
    x[:, 0, 1] = 0.0                            # black
    hsv = A.rgb_to_hsv(x)
    for i in range(6):
        for j in range(6):
            expected = colorsys.rgb_to_hsv(*x[:, i, j].tolist())
            assert hsv[:, i, j].tolist() == pytest.approx(expected, abs=1e-12)


def test_hsv_to_rgb_matches_colorsys() -> None:
    hsv = rand(3, 6, 6, seed=4).double()
    rgb = A.hsv_to_rgb(hsv)
    for i in range(6):
        for j in range(6):
            assert rgb[:, i, j].tolist() == pytest.approx(colorsys.hsv_to_rgb(*hsv[:, i, j].tolist()), abs=1e-12)


@pytest.mark.parametrize("shift", [0.0, 1.0, -1.0])
def test_hue_zero_and_full_turn_are_identity(shift: float) -> None:
    x = rand(2, 3, 8, 8, seed=5)
    torch.testing.assert_close(A.adjust_hue(x, shift), x, atol=1e-5, rtol=0)


def test_grayscale_weights_match_itu_601() -> None:
    x = rand(3, 4, 4)
    expected = 0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    torch.testing.assert_close(A.rgb_to_grayscale(x)[0], expected)


def _pil(x: torch.Tensor) -> Image.Image:
    return Image.fromarray((x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))


def _back(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 255


def _uint8_image(seed: int) -> torch.Tensor:
    # skewed intensities, so equalize and autocontrast have work to do
    return (rand(3, 16, 16, seed=seed) ** 2 * 200 + 20).round() / 255


def test_equalize_matches_pillow() -> None:
    x = _uint8_image(6)
    torch.testing.assert_close(A._equalize(x.unsqueeze(0))[0], _back(ImageOps.equalize(_pil(x))), atol=1e-6, rtol=0)


@pytest.mark.parametrize("bits", [4, 6, 8])
def test_posterize_matches_pillow(bits: int) -> None:
    x = _uint8_image(7)
    torch.testing.assert_close(A._posterize(x, bits), _back(ImageOps.posterize(_pil(x), bits)), atol=1e-6, rtol=0)


def test_solarize_matches_pillow() -> None:
    x = _uint8_image(8)
    # Pillow inverts pixels >= threshold (in 0..255)
    torch.testing.assert_close(A._solarize(x, 128 / 255), _back(ImageOps.solarize(_pil(x), 128)), atol=1e-6, rtol=0)


def test_autocontrast_matches_pillow() -> None:
    x = _uint8_image(9)
    # Pillow rounds through a 256-entry table: agree to one grey level
    torch.testing.assert_close(A._autocontrast(x), _back(ImageOps.autocontrast(_pil(x))), atol=1.01 / 255, rtol=0)


# --- Properties --------------------------------------------------------------

shapes = st.tuples(st.integers(1, 3), st.sampled_from([1, 3]), st.integers(4, 12), st.integers(4, 12))


@settings(max_examples=25)
@given(shapes, st.integers(0, 2**31 - 1), st.integers(0, 3), st.floats(0, 30))
def test_randaugment_shape_dtype_range(shape: tuple[int, int, int, int], seed: int, n: int, m: float) -> None:
    x = rand(*shape, seed=seed)
    out = A.randaugment(x, num_ops=n, magnitude=m, generator=gen(seed))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    single = A.randaugment(x[0], num_ops=n, magnitude=m, generator=gen(seed))
    assert single.shape == x.shape[1:]


def test_randaugment_is_seeded_and_leaves_global_rng_alone() -> None:
    x = rand(4, 3, 10, 10)
    state = torch.get_rng_state()
    a = A.randaugment(x, generator=gen(1))
    b = A.randaugment(x, generator=gen(1))
    assert torch.equal(torch.get_rng_state(), state)
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, x)


def test_randaugment_zero_ops_is_identity() -> None:
    x = rand(2, 1, 8, 8)
    torch.testing.assert_close(A.randaugment(x, num_ops=0, generator=gen()), x)


@pytest.mark.parametrize("op", A.RANDAUGMENT_OPS)
def test_every_randaugment_op_at_magnitude_zero_is_mild(op: str) -> None:
    # at M = 0 every geometric and enhance op is the identity (autocontrast, equalize are not)
    x = _uint8_image(10).unsqueeze(0)
    out = A._apply_op(x, op, 0.0, torch.ones(1))
    if op in ("autocontrast", "equalize", "solarize"):
        assert out.shape == x.shape
    else:
        torch.testing.assert_close(out, x, atol=1e-5, rtol=0)


@settings(max_examples=25)
@given(shapes, st.integers(0, 2**31 - 1))
def test_color_jitter_range_and_gray_untouched_by_hue(shape: tuple[int, int, int, int], seed: int) -> None:
    x = rand(*shape, seed=seed)
    out = A.color_jitter(x, brightness=0.5, contrast=0.5, saturation=0.5, hue=0.2, generator=gen(seed))
    assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    gray = x[:, :1].expand(-1, 3, -1, -1).contiguous()
    # hue and saturation do nothing to a gray image (up to the luma weights summing to 0.9999)
    out_gray = A.color_jitter(gray, brightness=0, contrast=0, saturation=0.9, hue=0.5, generator=gen(seed))
    torch.testing.assert_close(out_gray, gray, atol=2e-4, rtol=0)


@settings(max_examples=25)
@given(shapes, st.integers(0, 2**31 - 1), st.integers(2, 9), st.integers(2, 9))
def test_random_resized_crop_size(shape: tuple[int, int, int, int], seed: int, h: int, w: int) -> None:
    out = A.random_resized_crop(rand(*shape, seed=seed), size=(h, w), generator=gen(seed))
    assert out.shape == (*shape[:2], h, w)
    assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_random_resized_crop_full_box_is_identity() -> None:
    x = rand(3, 6, 6)
    out = A.random_resized_crop(x, scale=(1.0, 1.0), ratio=(1.0, 1.0), generator=gen())
    torch.testing.assert_close(out, x)


def test_random_resized_crop_of_constant_is_constant() -> None:
    x = torch.full((3, 20, 30), 0.25)
    out = A.random_resized_crop(x, size=(7, 7), generator=gen())
    torch.testing.assert_close(out, torch.full((3, 7, 7), 0.25))


@settings(max_examples=25)
@given(st.integers(0, 2**31 - 1), st.integers(1, 6))
def test_cutout_blanks_at_most_a_square(seed: int, size: int) -> None:
    out = A.cutout(torch.ones(2, 3, 8, 8), size=size, generator=gen(seed))
    blanked = (out == 0).all(dim=1).sum(dim=(1, 2))
    assert bool((blanked >= 1).all()) and bool((blanked <= size * size).all())
    assert bool(((out == 0) | (out == 1)).all())


@settings(max_examples=25)
@given(st.integers(0, 2**31 - 1))
def test_random_erasing_blanks_a_rectangle_within_scale(seed: int) -> None:
    out = A.random_erasing(torch.ones(1, 20, 20), p=1.0, scale=(0.05, 0.2), generator=gen(seed))
    zeros = out[0] == 0
    rows, cols = zeros.any(1).nonzero(), zeros.any(0).nonzero()
    if len(rows):
        box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert int(zeros.sum()) == int(box)              # a solid rectangle
        assert int(zeros.sum()) <= 0.2 * 400 * 1.3       # rounding of sides allows a little more


def test_random_flip_p_one_and_zero() -> None:
    x = rand(3, 1, 4, 5)
    torch.testing.assert_close(A.random_horizontal_flip(x, p=1.0, generator=gen()), x.flip(-1))
    torch.testing.assert_close(A.random_horizontal_flip(x, p=0.0, generator=gen()), x)


def test_random_affine_without_warp_is_identity() -> None:
    x = rand(4, 1, 8, 8)
    torch.testing.assert_close(A.random_affine(x, degrees=0, translate=0, generator=gen()), x, atol=1e-5, rtol=0)


def test_random_affine_integer_shift() -> None:
    # a shift of exactly +1 pixel in x moves every column one to the right
    x = rand(1, 1, 6, 6)
    out = A._affine(x, torch.eye(2, dtype=torch.float64).unsqueeze(0), torch.tensor([[1.0, 0.0]]))
    torch.testing.assert_close(out[..., 1:], x[..., :-1], atol=1e-6, rtol=0)
    assert float(out[..., 0].abs().max()) < 1e-6   # the new left column comes from outside: black


def test_randaugment_module_wrapper() -> None:
    x = rand(2, 3, 8, 8)
    torch.testing.assert_close(A.RandAugment(2, 9, generator=gen(3))(x), A.randaugment(x, generator=gen(3)))


# --- One test per error message ----------------------------------------------

def test_error_rank() -> None:
    with pytest.raises(ValueError, match=r"x must be 3-D \(C, H, W\) or 4-D .*got 2-D"):
        A.randaugment(torch.rand(8, 8), generator=gen())


def test_error_channels() -> None:
    with pytest.raises(ValueError, match=r"x must have 1 or 3 channels in dim -3 \(got 2\)"):
        A.randaugment(torch.rand(2, 8, 8), generator=gen())


def test_error_rgb_only() -> None:
    with pytest.raises(ValueError, match=r"x must have 3 channels in dim -3 \(got 1\)"):
        A.rgb_to_hsv(torch.rand(1, 4, 4))


def test_error_not_float() -> None:
    with pytest.raises(TypeError, match="x must have a floating-point dtype"):
        A.horizontal_flip(torch.zeros(3, 4, 4, dtype=torch.uint8))


def test_error_generator() -> None:
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
        A.randaugment(torch.rand(3, 4, 4), generator=0)  # type: ignore[arg-type]


def test_error_magnitude() -> None:
    with pytest.raises(ValueError, match=r"magnitude must be in \[0.0, 30.0\] \(got 31.0\)"):
        A.randaugment(torch.rand(3, 4, 4), magnitude=31, generator=gen())


def test_error_num_ops() -> None:
    with pytest.raises(ValueError, match=r"num_ops must be >= 0 \(got -1\)"):
        A.randaugment(torch.rand(3, 4, 4), num_ops=-1, generator=gen())


def test_error_p() -> None:
    with pytest.raises(ValueError, match=r"p must be in \[0.0, 1.0\] \(got 1.5\)"):
        A.random_horizontal_flip(torch.rand(3, 4, 4), p=1.5, generator=gen())


def test_error_scale_order() -> None:
    with pytest.raises(ValueError, match=r"scale must satisfy lo <= hi"):
        A.random_resized_crop(torch.rand(3, 4, 4), scale=(0.9, 0.1), generator=gen())


def test_error_scale_zero() -> None:
    with pytest.raises(ValueError, match=r"scale must be inside \(0, 1\]"):
        A.random_resized_crop(torch.rand(3, 4, 4), scale=(0.0, 0.5), generator=gen())


def test_error_pair_type() -> None:
    with pytest.raises(TypeError, match=r"ratio must be a pair"):
        A.random_erasing(torch.rand(3, 4, 4), ratio=0.5, generator=gen())  # type: ignore[arg-type]


def test_error_size() -> None:
    with pytest.raises(ValueError, match=r"size\[1\] must be >= 1 \(got 0\)"):
        A.random_resized_crop(torch.rand(3, 4, 4), size=(2, 0), generator=gen())


def test_error_hue_shift() -> None:
    with pytest.raises(ValueError, match=r"shift must be in \[-1.0, 1.0\] \(got 2.0\)"):
        A.adjust_hue(torch.rand(3, 4, 4), 2.0)


def test_error_negative_factor() -> None:
    with pytest.raises(ValueError, match=r"factor must be >= 0 \(got -0.5\)"):
        A.adjust_brightness(torch.rand(3, 4, 4), -0.5)


def test_error_box_outside() -> None:
    with pytest.raises(ValueError, match=r"must lie inside 4x4"):
        A.resized_crop(torch.rand(3, 4, 4), 2, 2, 3, 3, size=(2, 2))


def test_error_degrees() -> None:
    with pytest.raises(ValueError, match=r"degrees must be in \[0.0, 180.0\] \(got 200.0\)"):
        A.random_rotation(torch.rand(3, 4, 4), degrees=200, generator=gen())


def test_error_policy() -> None:
    with pytest.raises(ValueError, match=r"policies must be drawn from"):
        A.augmentation_experiment(policies=("mixup",))


# --- The experiments, small ------------------------------------------------------

def test_label_preserving_augmentation_helps_few_digits() -> None:
    r = A.augmentation_experiment(n_train=100, policies=("none", "affine", "flip"), seeds=(0, 1, 2), steps=300)
    assert r.mean("affine") > r.mean("none") + 0.005
    assert r.mean("flip") < r.mean("none")


def test_upside_down_six_reads_as_nine() -> None:
    r = A.digit_label_flip(n_train=500, steps=200)
    assert r.six_as_six["original"] > 0.9
    assert r.six_as_nine["rot180"] > 0.5          # turned 180°, a 6 is called a 9
    assert r.six_as_nine["hflip"] < 0.2           # mirrored, it is not a 9 ...
    assert r.six_mode["hflip"][0] not in (6, 9)   # ... nor a 6
