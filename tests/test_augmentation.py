"""Tests for regbook.augmentation.

Expected values come from hand arithmetic, torch's own ops (``torch.flip``,
``torch.rot90``), Python's :mod:`colorsys` and Pillow's ``ImageOps`` -- never
from regbook itself.
"""

from __future__ import annotations

import colorsys
import math

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


def test_brightness_half_by_hand() -> None:
    # 0.5 * [0.2, 0.6, 0.8] = [0.1, 0.3, 0.4]; factor 0 is black
    x = torch.tensor([[[0.2, 0.6, 0.8]]], dtype=torch.float64)
    torch.testing.assert_close(A.adjust_brightness(x, 0.5), torch.tensor([[[0.1, 0.3, 0.4]]], dtype=torch.float64))
    torch.testing.assert_close(A.adjust_brightness(x, 0.0), torch.zeros_like(x))


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


def test_randaugment_module_wrapper_passes_its_knobs() -> None:
    # non-default knobs: a module that fell back to N=2, M=9 would not match
    x = rand(64, 3, 8, 8)
    got = A.RandAugment(1, 20, generator=gen(3))(x)
    torch.testing.assert_close(got, A.randaugment(x, num_ops=1, magnitude=20, generator=gen(3)))
    assert not torch.equal(got, A.randaugment(x, num_ops=2, magnitude=9, generator=gen(3)))


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


# --- Every parameter moves the output ------------------------------------------
# Each test below fails if its op silently does nothing or ignores the
# parameter it names. Angles, shifts, zooms, boxes and jitter factors are read
# back from the output with independent measurements (image moments,
# centroids, ramps, colorsys), never from the op's own draws.

def _bars(n: int, size: int = 33) -> torch.Tensor:
    """``n`` copies of a horizontal bar through the centre, ``(n, 1, size, size)`` float64."""
    x = torch.zeros(n, 1, size, size, dtype=torch.float64)
    c = size // 2
    x[:, :, c - 1 : c + 2, 4 : size - 4] = 1.0
    return x


def _moments(img: torch.Tensor) -> tuple[float, float, float, float, float]:
    """Centroid (x right, y down) and central second moments mu20, mu02, mu11 of an intensity image."""
    H, W = img.shape[-2:]
    w = img.reshape(-1, H, W).sum(0).double()
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64),
                            indexing="ij")
    m = w.sum()
    cx, cy = float((w * xs).sum() / m), float((w * ys).sum() / m)
    dx, dy = xs - cx, ys - cy
    return cx, cy, float((w * dx * dx).sum() / m), float((w * dy * dy).sum() / m), float((w * dx * dy).sum() / m)


def _angle(img: torch.Tensor) -> float:
    """Orientation of the bar in degrees, counter-clockwise on screen (principal axis of the moments)."""
    _, _, mu20, mu02, mu11 = _moments(img)
    return -0.5 * math.degrees(math.atan2(2 * mu11, mu20 - mu02))


def _blobs(n: int, size: int = 31, sigma: float = 2.0) -> torch.Tensor:
    """``n`` copies of a centred Gaussian blob, ``(n, 1, size, size)`` float64."""
    c = (size - 1) / 2
    r = torch.arange(size, dtype=torch.float64) - c
    g = torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return g.expand(n, 1, size, size).clone()


def test_moment_helpers_by_hand() -> None:
    # the bar is horizontal: angle 0; rot90 of it is vertical: angle 90 (or -90)
    assert abs(_angle(_bars(1)[0])) < 1e-9
    assert abs(abs(_angle(torch.rot90(_bars(1)[0], 1, dims=(-2, -1)))) - 90) < 1e-9
    # a blob rolled 3 pixels right moves its centroid by 3
    blob = _blobs(1)[0]
    assert _moments(torch.roll(blob, 3, dims=-1))[0] - _moments(blob)[0] == pytest.approx(3.0, abs=1e-3)


@pytest.mark.parametrize("degrees", [5.0, 30.0])
def test_random_rotation_draws_angles_up_to_degrees(degrees: float) -> None:
    out = A.random_rotation(_bars(80), degrees=degrees, generator=gen(1))
    angles = [_angle(img) for img in out]
    assert max(abs(a) for a in angles) <= degrees + 0.5            # never beyond ±d ...
    assert max(angles) > 0.8 * degrees and min(angles) < -0.8 * degrees   # ... and reaching both ends
    mean_abs = sum(abs(a) for a in angles) / len(angles)           # U(-d, d): E|θ| = d / 2
    assert mean_abs == pytest.approx(degrees / 2, rel=0.2)


def test_random_affine_degrees() -> None:
    out = A.random_affine(_bars(80), degrees=20.0, translate=0.0, generator=gen(2))
    angles = [_angle(img) for img in out]
    assert max(abs(a) for a in angles) <= 20.5
    assert max(angles) > 16 and min(angles) < -16


def test_random_affine_translate() -> None:
    x = _blobs(80)
    cx0, cy0, *_ = _moments(x[0])
    out = A.random_affine(x, degrees=0.0, translate=3.0, generator=gen(3))
    shifts = [(_moments(img)[0] - cx0, _moments(img)[1] - cy0) for img in out]
    for axis in (0, 1):
        d = [s[axis] for s in shifts]
        assert max(abs(v) for v in d) <= 3.05                    # U(-3, 3) pixels per axis
        assert max(d) > 2.4 and min(d) < -2.4


@pytest.mark.parametrize(("lo", "hi"), [(1.5, 1.5), (0.7, 0.7), (0.8, 1.25)])
def test_random_affine_scale(lo: float, hi: float) -> None:
    # a zoom s multiplies the blob's spread by s (times sqrt(1 + 1/(12 sigma^2)) for bilinear resampling)
    sigma = 2.0
    x = _blobs(60, sigma=sigma)
    out = A.random_affine(x, degrees=0.0, translate=0.0, scale=(lo, hi), generator=gen(4))
    base = math.sqrt(_moments(x[0])[2])
    blur = math.sqrt(1 + 1 / (12 * sigma**2))
    zooms = [math.sqrt(_moments(img)[2]) / base / blur for img in out]
    assert min(zooms) > lo * 0.97 and max(zooms) < hi * 1.03
    if hi > lo:
        assert max(zooms) - min(zooms) > 0.6 * (hi - lo)


def test_random_flip_p_is_the_flip_rate() -> None:
    x = torch.arange(3.0).reshape(1, 1, 1, 3).expand(4000, 1, 1, 3) / 2   # [0, .5, 1]: a flip shows
    out = A.random_horizontal_flip(x, p=0.3, generator=gen(5))
    rate = float((out[:, 0, 0, 0] == 1.0).double().mean())
    assert rate == pytest.approx(0.3, abs=0.03)                  # 3 binomial standard deviations


def _ramp(size: int = 60) -> torch.Tensor:
    """3 channels: row / (size-1), column / (size-1), 0. Bilinear resizing keeps ramps linear."""
    r = torch.arange(size, dtype=torch.float64) / (size - 1)
    return torch.stack([r[:, None].expand(size, size), r[None, :].expand(size, size), torch.zeros(size, size)])


def _crop_sides(out: torch.Tensor, size: int = 60) -> tuple[int, int]:
    """The box (h, w) a crop of :func:`_ramp` was cut from, read off the slopes of the resized ramps."""
    dh = out[0, 1:, size // 2] - out[0, :-1, size // 2]
    dw = out[1, size // 2, 1:] - out[1, size // 2, :-1]
    scale = size * (size - 1)
    return round(float(dh.median()) * scale), round(float(dw.median()) * scale)


def test_crop_sides_helper_by_hand() -> None:
    # the 20 x 30 box at (5, 7), resized back to 60 x 60 with torch's own bilinear resize
    box = _ramp()[:, 5:25, 7:37].unsqueeze(0)
    out = torch.nn.functional.interpolate(box, size=(60, 60), mode="bilinear", align_corners=False)[0]
    assert _crop_sides(out) == (20, 30)


@pytest.mark.parametrize(("lo", "hi"), [(0.1, 0.2), (0.5, 0.6)])
def test_random_resized_crop_scale(lo: float, hi: float) -> None:
    x = _ramp().unsqueeze(0).expand(40, 3, 60, 60)
    out = A.random_resized_crop(x, scale=(lo, hi), ratio=(1.0, 1.0), generator=gen(6))
    areas = [h * w / 3600 for h, w in map(_crop_sides, out)]
    assert min(areas) > lo * 0.9 and max(areas) < hi * 1.1       # integer sides round the area a little
    assert max(areas) - min(areas) > 0.4 * (hi - lo)


@pytest.mark.parametrize(("lo", "hi"), [(2.0, 3.0), (1 / 3, 1 / 2)])
def test_random_resized_crop_ratio(lo: float, hi: float) -> None:
    x = _ramp().unsqueeze(0).expand(40, 3, 60, 60)
    out = A.random_resized_crop(x, scale=(0.2, 0.2), ratio=(lo, hi), generator=gen(7))
    aspects = [w / h for h, w in map(_crop_sides, out)]             # torchvision: ratio = width / height
    assert min(aspects) > lo * 0.9 and max(aspects) < hi * 1.1


def test_resized_crop_box_by_hand() -> None:
    # 4 x 5 ramp 0..19; the box top=1, left=2, height=2, width=3 holds 7 8 9 / 12 13 14
    x = torch.arange(20.0).reshape(1, 4, 5) / 19
    out = A.resized_crop(x, 1, 2, 2, 3, size=(2, 3)) * 19
    torch.testing.assert_close(out, torch.tensor([[[7.0, 8.0, 9.0], [12.0, 13.0, 14.0]]]))


def test_resized_crop_size_matches_torch_interpolate() -> None:
    x = rand(3, 12, 12, seed=11)
    box = x[:, 2:8, 3:9].unsqueeze(0)
    expected = torch.nn.functional.interpolate(box, size=(9, 9), mode="bilinear", align_corners=False)[0]
    torch.testing.assert_close(A.resized_crop(x, 2, 3, 6, 6, size=(9, 9)), expected.clamp(0, 1))


def test_saturation_half_by_hand() -> None:
    # pure red, factor 0.5: 0.5 * [1, 0, 0] + 0.5 * 0.2989 = [0.64945, 0.14945, 0.14945]
    red = torch.tensor([[[1.0]], [[0.0]], [[0.0]]], dtype=torch.float64)
    expected = torch.tensor([0.64945, 0.14945, 0.14945], dtype=torch.float64)
    torch.testing.assert_close(A.adjust_saturation(red, 0.5).flatten(), expected)


def _factors(x: torch.Tensor, out: torch.Tensor, ref: torch.Tensor) -> list[float]:
    """Per image, the least-squares f in ``out - ref = f (x - ref)``."""
    num = ((out - ref) * (x - ref)).flatten(1).sum(1)
    den = ((x - ref) ** 2).flatten(1).sum(1)
    return (num / den).tolist()


def _jitter_only(x: torch.Tensor, name: str, strength: float, seed: int) -> torch.Tensor:
    knobs = {"brightness": 0.0, "contrast": 0.0, "saturation": 0.0, "hue": 0.0, name: strength}
    return A.color_jitter(x, generator=gen(seed), **knobs)


def test_color_jitter_brightness_strength() -> None:
    x = rand(200, 1, 6, 6, seed=12) * 0.4 + 0.1                  # 1.4 x 0.5 < 1: no clipping
    f = _factors(x, _jitter_only(x, "brightness", 0.4, 13), torch.zeros_like(x))
    assert min(f) >= 0.6 - 1e-6 and max(f) <= 1.4 + 1e-6           # U(1 - b, 1 + b)
    assert min(f) < 0.68 and max(f) > 1.32


def test_color_jitter_contrast_strength() -> None:
    x = rand(200, 1, 6, 6, seed=14) * 0.4 + 0.3
    mean = x.mean(dim=(1, 2, 3), keepdim=True).expand_as(x)
    f = _factors(x, _jitter_only(x, "contrast", 0.3, 15), mean)
    assert min(f) >= 0.7 - 1e-6 and max(f) <= 1.3 + 1e-6
    assert min(f) < 0.76 and max(f) > 1.24


def test_color_jitter_saturation_strength() -> None:
    x = rand(200, 3, 5, 5, seed=16) * 0.2 + 0.4
    gray = (0.2989 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1).expand_as(x)
    f = _factors(x, _jitter_only(x, "saturation", 0.5, 17), gray)
    assert min(f) >= 0.5 - 1e-3 and max(f) <= 1.5 + 1e-3
    assert min(f) < 0.6 and max(f) > 1.4


def test_color_jitter_hue_strength() -> None:
    # one saturated pixel per image; the hue turn is read back with colorsys
    x = torch.tensor([0.9, 0.3, 0.1], dtype=torch.float64).reshape(1, 3, 1, 1).expand(200, 3, 1, 1).clone()
    out = A.color_jitter(x, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.1, generator=gen(18))
    h0 = colorsys.rgb_to_hsv(0.9, 0.3, 0.1)[0]
    turns = [(colorsys.rgb_to_hsv(*img.flatten().tolist())[0] - h0 + 0.5) % 1.0 - 0.5 for img in out]
    assert max(abs(t) for t in turns) <= 0.1 + 1e-6                # U(-h, h) turns
    assert max(turns) > 0.08 and min(turns) < -0.08


def test_erase_box_and_value_by_hand() -> None:
    # 5 x 6 ones; rows 1..3, column 2 set to 0.25
    out = A.erase(torch.ones(1, 5, 6), 1, 2, 3, 1, value=0.25)
    expected = torch.ones(1, 5, 6)
    expected[0, 1:4, 2] = 0.25
    torch.testing.assert_close(out, expected)


def _erased_boxes(out: torch.Tensor, value: float) -> list[tuple[int, int] | None]:
    """Per image, the (height, width) of the solid rectangle set to ``value``, or None if none was."""
    boxes: list[tuple[int, int] | None] = []
    for img in out:
        hit = (img == value).all(0)
        if not bool(hit.any()):
            boxes.append(None)
            continue
        rows, cols = hit.any(1).nonzero().flatten(), hit.any(0).nonzero().flatten()
        h, w = int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
        assert int(hit.sum()) == h * w                             # one solid rectangle
        boxes.append((h, w))
    return boxes


def test_random_erasing_p_one_always_erases() -> None:
    out = A.random_erasing(torch.ones(50, 1, 20, 20), p=1.0, scale=(0.05, 0.2), generator=gen(19))
    boxes = _erased_boxes(out, 0.0)
    assert all(b is not None for b in boxes)
    assert all(b is not None and b[0] * b[1] <= 0.2 * 400 * 1.3 for b in boxes)


def test_random_erasing_p_is_the_erase_rate() -> None:
    out = A.random_erasing(torch.ones(2000, 1, 10, 10), p=0.3, scale=(0.1, 0.2), generator=gen(20))
    rate = sum(b is not None for b in _erased_boxes(out, 0.0)) / 2000
    assert rate == pytest.approx(0.3, abs=0.031)


@pytest.mark.parametrize(("lo", "hi"), [(0.05, 0.1), (0.3, 0.4)])
def test_random_erasing_scale(lo: float, hi: float) -> None:
    out = A.random_erasing(torch.ones(60, 1, 64, 64), p=1.0, scale=(lo, hi), ratio=(1.0, 1.0), generator=gen(21))
    areas = [b[0] * b[1] / 4096 for b in _erased_boxes(out, 0.0) if b is not None]
    assert len(areas) == 60
    assert min(areas) > lo * 0.88 and max(areas) < hi * 1.12       # sides are rounded to pixels
    assert max(areas) - min(areas) > 0.4 * (hi - lo)


@pytest.mark.parametrize(("lo", "hi"), [(2.0, 3.0), (1 / 3, 1 / 2)])
def test_random_erasing_ratio(lo: float, hi: float) -> None:
    out = A.random_erasing(torch.ones(60, 1, 64, 64), p=1.0, scale=(0.1, 0.1), ratio=(lo, hi), generator=gen(22))
    aspects = [b[0] / b[1] for b in _erased_boxes(out, 0.0) if b is not None]   # height / width
    assert len(aspects) == 60
    assert min(aspects) > lo * 0.85 and max(aspects) < hi * 1.15


def test_random_erasing_value() -> None:
    out = A.random_erasing(torch.ones(20, 3, 16, 16), p=1.0, value=0.25, generator=gen(23))
    assert all(b is not None for b in _erased_boxes(out, 0.25))
    assert bool(((out == 0.25) | (out == 1.0)).all())


@pytest.mark.parametrize("size", [1, 4, 7])
def test_cutout_size(size: int) -> None:
    out = A.cutout(torch.ones(200, 1, 24, 24), size=size, generator=gen(24))
    boxes = _erased_boxes(out, 0.0)
    assert all(b is not None and b[0] <= size and b[1] <= size for b in boxes)
    # a square away from the border is exactly size x size; near it, clipped
    inner = []
    for img, b in zip(out, boxes, strict=True):
        hit = (img == 0).all(0)
        rows, cols = hit.any(1).nonzero().flatten(), hit.any(0).nonzero().flatten()
        if rows.min() > 0 and cols.min() > 0 and rows.max() < 23 and cols.max() < 23:
            inner.append(b)
    assert len(inner) > 50 and all(b == (size, size) for b in inner)


def test_cutout_value() -> None:
    out = A.cutout(torch.ones(30, 3, 12, 12), size=5, value=0.4, generator=gen(25))
    assert all(b is not None for b in _erased_boxes(out, 0.4))
    assert bool(((out == 0.4) | (out == 1.0)).all())


def test_randaugment_num_ops_counts_operations() -> None:
    # On random float RGB images every op but "identity" changes some pixel at M = 9, so an image
    # comes back unchanged only when all its N draws were "identity": probability (1/14)^N.
    x = rand(2800, 3, 8, 8, seed=26)
    unchanged = {n: float((A.randaugment(x, num_ops=n, magnitude=9, generator=gen(27)) == x)
                          .flatten(1).all(1).double().mean()) for n in (0, 1, 2)}
    assert unchanged[0] == 1.0
    assert unchanged[1] == pytest.approx(1 / 14, abs=0.016)       # 3.3 binomial standard deviations
    assert unchanged[2] < 0.015                                    # (1/14)^2 = 0.005


def test_randaugment_magnitude_sets_the_strength() -> None:
    # the same draws of ops and signs at three magnitudes: the mean change must grow with M
    x = _uint8_image(28).unsqueeze(0).expand(300, 3, 16, 16).contiguous()
    change = {m: float((A.randaugment(x, num_ops=1, magnitude=m, generator=gen(29)) - x).abs().mean())
              for m in (3, 15, 30)}
    assert change[15] > 1.5 * change[3] and change[30] > 1.3 * change[15]


@pytest.mark.parametrize(("m", "sign", "factor"), [(30, 1, 1.9), (30, -1, 0.1), (15, 1, 1.45), (10, -1, 0.7)])
def test_randaugment_brightness_range_by_hand(m: float, sign: int, factor: float) -> None:
    # brightness factor 1 + 0.9 * M/30 * sign, e.g. M = 30: 1.9 or 0.1; M = 10, sign -1: 0.7
    x = _uint8_image(30).unsqueeze(0) * 0.5
    out = A._apply_op(x, "brightness", m, torch.tensor([float(sign)]))
    torch.testing.assert_close(out, (factor * x).clamp(0, 1))


@pytest.mark.parametrize(("m", "degrees"), [(30, 30.0), (15, 15.0), (6, 6.0)])
def test_randaugment_rotate_range(m: float, degrees: float) -> None:
    out = A._apply_op(_bars(2), "rotate", m, torch.tensor([1.0, -1.0]))
    assert _angle(out[0]) == pytest.approx(degrees, abs=0.3)
    assert _angle(out[1]) == pytest.approx(-degrees, abs=0.3)


@pytest.mark.parametrize("m", [10, 20])
def test_randaugment_translate_range(m: float) -> None:
    # shift 150/331 of the side times M/30, e.g. M = 10 on 64 pixels: 9.67 pixels
    x = _blobs(1, size=64)
    cx0 = _moments(x[0])[0]
    out = A._apply_op(x, "translate_x", m, torch.tensor([1.0]))
    assert _moments(out[0])[0] - cx0 == pytest.approx(150 / 331 * 64 * m / 30, abs=0.05)


@pytest.mark.parametrize(("m", "bits"), [(30, 4), (15, 6), (4, 7)])
def test_randaugment_posterize_range_matches_pillow(m: float, bits: int) -> None:
    # bits = 8 - round(4 M / 30): M = 30 -> 4, M = 15 -> 6, M = 4 -> 7
    x = _uint8_image(31)
    out = A._apply_op(x.unsqueeze(0), "posterize", m, torch.ones(1))[0]
    torch.testing.assert_close(out, _back(ImageOps.posterize(_pil(x), bits)), atol=1e-6, rtol=0)


@pytest.mark.parametrize(("m", "threshold"), [(15, 128), (6, 204)])
def test_randaugment_solarize_range_matches_pillow(m: float, threshold: int) -> None:
    # threshold 1 - M/30: M = 15 -> 0.5 (Pillow: >= 128 of 255), M = 6 -> 0.8 (>= 204)
    x = _uint8_image(32)
    out = A._apply_op(x.unsqueeze(0), "solarize", m, torch.ones(1))[0]
    torch.testing.assert_close(out, _back(ImageOps.solarize(_pil(x), threshold)), atol=1e-6, rtol=0)
