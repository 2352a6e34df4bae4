r"""Data augmentation written in plain torch (chapter *augmentation*).

Classical penalties constrain the *model*; augmentation constrains the *data*.
Each transform :math:`T` below is one we believe leaves the label unchanged,
so training on :math:`(T(x), y)` tells the network that its prediction should
be invariant to :math:`T`:

.. math::

    \min_\theta\; \mathbb{E}_{(x, y)}\, \mathbb{E}_{T \sim \mathcal{T}}
    \big[\ell\big(f_\theta(T(x)),\, y\big)\big].

Every function takes images of shape ``(C, H, W)`` or ``(N, C, H, W)`` with
``C`` in {1, 3}, floating point, values in [0, 1], and returns the same shape
and dtype. Random functions draw everything from an explicit
:class:`torch.Generator` and, for a batch, draw independently per image.
torchvision is not used; the formulas follow its conventions where it has
them (grayscale weights 0.2989 / 0.587 / 0.114, RandomResizedCrop's
``scale`` and ``ratio``, RandAugment's 14 operations on a 0..30 magnitude
scale).

The contract every function here keeps:

* ``x`` is a non-empty, floating-point :class:`torch.Tensor` with finite
  entries, 3-D or 4-D, with 1 or 3 channels in dim -3 (3 where the function
  needs RGB); integer tensors raise ``TypeError``, everything else
  ``ValueError``. Results keep ``x``'s shape (the crops: its leading dims),
  dtype and device. Random draws are made on the CPU from ``generator`` (a
  :class:`torch.Generator`) and moved to ``x``'s device; a meta ``x`` gives a
  meta result of the right shape.
* Numbers are real numbers (a bool is not), finite and inside the range the
  argument documents; a factor that would overflow ``x``'s dtype (past
  3.4e38 for float32) is refused rather than turned into ``inf`` and NaN.
  Counts and sizes are ints (not bools) up to ``2**31 - 1``; pairs are lists
  or tuples of two items.
* Nothing passed in is mutated, except that the generator advances. Every
  check runs before anything is drawn, and its ``TypeError`` or
  ``ValueError`` names the argument, the allowed range and the value.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from regbook._checks import (
    check_count,
    check_fits_dtype,
    check_float_tensor,
    check_generator,
    check_in_range,
    check_int,
    check_nonnegative,
    check_size_pair,
)

__all__ = [
    "RANDAUGMENT_OPS",
    "RandAugment",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "color_jitter",
    "cutout",
    "erase",
    "horizontal_flip",
    "hsv_to_rgb",
    "randaugment",
    "random_affine",
    "random_erasing",
    "random_horizontal_flip",
    "random_resized_crop",
    "random_rotation",
    "resized_crop",
    "rgb_to_grayscale",
    "rgb_to_hsv",
    "rotate",
]

#: RandAugment's operations, in torchvision's order.
RANDAUGMENT_OPS = (
    "identity",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
    "rotate",
    "brightness",
    "color",
    "contrast",
    "sharpness",
    "posterize",
    "solarize",
    "autocontrast",
    "equalize",
)

_GRAY = (0.2989, 0.587, 0.114)


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------


def _check_image(x: object, *, rgb: bool = False) -> torch.Tensor:
    """An image ``(C, H, W)`` or batch ``(N, C, H, W)`` with C in {1, 3} (3 if ``rgb``)."""
    x = check_float_tensor("x", x)
    if x.ndim not in (3, 4):
        raise ValueError(f"x must be 3-D (C, H, W) or 4-D (N, C, H, W) (got {x.ndim}-D, shape {tuple(x.shape)})")
    channels = x.shape[-3]
    allowed = (3,) if rgb else (1, 3)
    if channels not in allowed:
        raise ValueError(f"x must have {' or '.join(map(str, allowed))} channels in dim -3 (got {channels})")
    return x


def _check_pair(name: str, value: object, low: float, high: float) -> tuple[float, float]:
    """A ``(lo, hi)`` pair with ``low <= lo <= hi <= high``."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (lo, hi) (got {value!r})")
    lo = check_in_range(f"{name}[0]", value[0], low, high)
    hi = check_in_range(f"{name}[1]", value[1], low, high)
    if lo > hi:
        raise ValueError(f"{name} must satisfy lo <= hi (got {value!r})")
    return lo, hi


def _batched(x: torch.Tensor) -> tuple[torch.Tensor, bool]:
    return (x.unsqueeze(0), True) if x.ndim == 3 else (x, False)


def _unbatched(x: torch.Tensor, single: bool) -> torch.Tensor:
    return x.squeeze(0) if single else x


def _per_image(value: float | torch.Tensor, n: int, x: torch.Tensor) -> torch.Tensor:
    """A scalar or ``(N,)`` tensor as an ``(N, 1, 1, 1)`` tensor for broadcasting."""
    return torch.as_tensor(value, dtype=x.dtype).expand(n).reshape(n, 1, 1, 1)


# ---------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------


def horizontal_flip(x: torch.Tensor) -> torch.Tensor:
    """Mirror the image left to right (reverse the width axis).

    Args:
        x: Image ``(C, H, W)`` or batch ``(N, C, H, W)``.

    Returns:
        The mirrored image (same shape), with ``out[..., j] = x[..., W - 1 - j]``.

    >>> horizontal_flip(torch.tensor([[[0.0, 0.5, 1.0]]])).tolist()
    [[[1.0, 0.5, 0.0]]]
    """
    x = _check_image(x)
    return x.flip(-1)


def random_horizontal_flip(x: torch.Tensor, *, p: float = 0.5, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image independently with probability ``p``.

    Args:
        x: Image ``(C, H, W)`` or batch ``(N, C, H, W)``.
        p: Probability of flipping, in [0, 1].
        generator: Source of randomness.

    Returns:
        Same shape as ``x``.

    >>> g = torch.Generator().manual_seed(0)
    >>> random_horizontal_flip(torch.tensor([[[0.0, 1.0]]]), p=1.0, generator=g).tolist()
    [[[1.0, 0.0]]]
    """
    x = _check_image(x)
    p = check_in_range("p", p, 0.0, 1.0)
    check_generator("generator", generator)
    xb, single = _batched(x)
    flip = (torch.rand(xb.shape[0], generator=generator) < p).reshape(-1, 1, 1, 1).to(x.device)
    return _unbatched(torch.where(flip, xb.flip(-1), xb), single)


def resized_crop(
    x: torch.Tensor, top: int, left: int, height: int, width: int, *, size: tuple[int, int]
) -> torch.Tensor:
    """Cut the box ``[top:top+height, left:left+width]`` and resize it bilinearly to ``size``.

    Args:
        x: Image ``(C, H, W)`` or batch ``(N, C, H, W)``.
        top, left: Corner of the box, in pixels, ints >= 0.
        height, width: Size of the box, ints >= 1, inside the image.
        size: Output ``(height, width)``: a list or tuple of two ints in [1, 2**31 - 1].

    Returns:
        ``(C, *size)`` or ``(N, C, *size)``.

    Raises:
        TypeError: If ``x`` is not a float tensor, a box coordinate is not an int or ``size`` not a pair.
        ValueError: If the box leaves the image, or a size is out of range.

    >>> x = torch.arange(16.0).reshape(1, 4, 4) / 15
    >>> [round(v * 15, 4) for v in resized_crop(x, 1, 1, 2, 2, size=(2, 2)).flatten().tolist()]
    [5.0, 6.0, 9.0, 10.0]
    """
    x = _check_image(x)
    H, W = x.shape[-2:]
    top = check_int("top", top, minimum=0)
    left = check_int("left", left, minimum=0)
    height = check_int("height", height, minimum=1)
    width = check_int("width", width, minimum=1)
    if top + height > H or left + width > W:
        raise ValueError(f"box (top={top}, left={left}, height={height}, width={width}) must lie inside {H}x{W}")
    out_h, out_w = check_size_pair("size", size)
    xb, single = _batched(x)
    crop = xb[..., top : top + height, left : left + width]
    if (height, width) == (out_h, out_w):
        return _unbatched(crop.clone(), single)
    down = out_h < height or out_w < width
    out = F.interpolate(crop, size=(out_h, out_w), mode="bilinear", align_corners=False, antialias=down)
    return _unbatched(out.clamp(0, 1), single)


def _crop_box(
    H: int, W: int, scale: tuple[float, float], ratio: tuple[float, float], generator: torch.Generator
) -> tuple[int, int, int, int]:
    """torchvision's RandomResizedCrop box: 10 tries, then a central crop."""
    area = H * W
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(10):
        u = torch.rand(2, generator=generator, dtype=torch.float64).tolist()
        target = area * (scale[0] + (scale[1] - scale[0]) * u[0])
        aspect = math.exp(log_lo + (log_hi - log_lo) * u[1])
        w = round(math.sqrt(target * aspect))
        h = round(math.sqrt(target / aspect))
        if 0 < w <= W and 0 < h <= H:
            i = int(torch.randint(0, H - h + 1, (1,), generator=generator))
            j = int(torch.randint(0, W - w + 1, (1,), generator=generator))
            return i, j, h, w
    in_ratio = W / H
    if in_ratio < ratio[0]:
        w, h = W, round(W / ratio[0])
    elif in_ratio > ratio[1]:
        h, w = H, round(H * ratio[1])
    else:
        w, h = W, H
    return (H - h) // 2, (W - w) // 2, h, w


def random_resized_crop(
    x: torch.Tensor,
    *,
    size: tuple[int, int] | None = None,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    generator: torch.Generator,
) -> torch.Tensor:
    r"""Crop a random box and resize it, as torchvision's ``RandomResizedCrop``.

    The box covers a fraction :math:`s \sim U(\text{scale})` of the image area
    with aspect ratio :math:`r`, :math:`\log r \sim U(\log\text{ratio})`, at a
    uniform position; after 10 failed tries it falls back to a central crop.

    Args:
        x: Image ``(C, H, W)`` or batch ``(N, C, H, W)``; each image gets its own box.
        size: Output ``(height, width)``, two ints in [1, 2**31 - 1]; default: the input's.
        scale: Range ``(lo, hi)`` of the box's area fraction, ``0 < lo <= hi <= 1``.
        ratio: Range ``(lo, hi)`` of the box's width / height, ``1e-6 <= lo <= hi <= 1e6``.
        generator: Source of randomness.

    Returns:
        ``(C, *size)`` or ``(N, C, *size)``, values in [0, 1].

    >>> g = torch.Generator().manual_seed(0)
    >>> tuple(random_resized_crop(torch.rand(3, 20, 30), size=(8, 8), generator=g).shape)
    (3, 8, 8)
    """
    x = _check_image(x)
    lo, hi = _check_pair("scale", scale, 0.0, 1.0)
    if lo <= 0:
        raise ValueError(f"scale must be inside (0, 1] (got {scale!r})")
    r_lo, r_hi = _check_pair("ratio", ratio, 1e-6, 1e6)
    check_generator("generator", generator)
    H, W = x.shape[-2:]
    out_size = (H, W) if size is None else check_size_pair("size", size)
    xb, single = _batched(x)
    outs = [
        resized_crop(img, *_crop_box(H, W, (lo, hi), (r_lo, r_hi), generator), size=out_size) for img in xb
    ]
    return _unbatched(torch.stack(outs), single)


def _affine(x: torch.Tensor, A: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Warp ``(N, C, H, W)`` by ``p_out = A p_in + t`` in pixel coordinates about the centre.

    ``A`` is ``(N, 2, 2)`` and ``t`` is ``(N, 2)``, both (x right, y down).
    ``grid_sample`` needs the inverse map in normalised coordinates
    ``n = S^{-1} p`` with ``S = diag(W/2, H/2)``:
    ``n_in = S^{-1} A^{-1} S n_out - S^{-1} A^{-1} t``. Outside pixels are 0.
    """
    N, _, H, W = x.shape
    S = torch.tensor([[W / 2, 0.0], [0.0, H / 2]], dtype=torch.float64, device=x.device)
    S_inv = torch.linalg.inv(S)
    A_inv = torch.linalg.inv(A.to(device=x.device, dtype=torch.float64))
    # A shift of more than the image's extent moves it out of view whatever its size; capping it keeps
    # the sampling grid finite in x's dtype (a shift of 1e300 pixels would overflow float32 to inf, and
    # grid_sample turns an infinite grid into NaN) without changing any output.
    bound = 1e6 * (H + W)
    t = t.to(device=x.device).clamp(-bound, bound)
    # warp-start
    lin = S_inv @ A_inv @ S
    shift = -(S_inv @ A_inv @ t.to(torch.float64).unsqueeze(-1))
    theta = torch.cat([lin, shift], dim=-1).to(x.dtype)
    grid = F.affine_grid(theta, [N, x.shape[1], H, W], align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    # warp-end
    return out


def _rotation_matrix(degrees: torch.Tensor) -> torch.Tensor:
    """Counter-clockwise on screen (y points down), as torchvision's ``rotate``."""
    # rotation-start
    a = torch.deg2rad(degrees.to(torch.float64))
    c, s = torch.cos(a), torch.sin(a)
    return torch.stack([torch.stack([c, s], -1), torch.stack([-s, c], -1)], -2)
    # rotation-end


def rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    r"""Rotate counter-clockwise by ``degrees`` about the centre (bilinear, black corners).

    In pixel coordinates :math:`p` centred on the image, with :math:`y`
    pointing down, the output at :math:`p` is the input at :math:`R^{-1}p`,
    where :math:`R = \begin{pmatrix}\cos\theta & \sin\theta\\ -\sin\theta & \cos\theta\end{pmatrix}`.

    Args:
        x: Image ``(C, H, W)`` or batch ``(N, C, H, W)``.
        degrees: Angle :math:`\theta` in degrees (positive: counter-clockwise), a finite real
            number within the range of torch's default dtype.

    Returns:
        Same shape, values clipped to [0, 1]; pixels that come from outside the image are 0.

    >>> x = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])   # top-left pixel lit
    >>> [[round(v, 6) for v in row] for row in rotate(x, 90)[0].tolist()]   # -> bottom-left
    [[0.0, 0.0], [1.0, 0.0]]
    """
    x = _check_image(x)
    angle = check_fits_dtype("degrees", degrees, torch.get_default_dtype())
    xb, single = _batched(x)
    n = xb.shape[0]
    A = _rotation_matrix(torch.full((n,), angle))
    return _unbatched(_affine(xb, A, torch.zeros(n, 2)).clamp(0, 1), single)


def random_rotation(x: torch.Tensor, *, degrees: float = 15.0, generator: torch.Generator) -> torch.Tensor:
    r"""Rotate each image by its own angle :math:`\theta \sim U(-d, d)`.

    Args:
        x: Image ``(C, H, W)`` or batch ``(N, C, H, W)``.
        degrees: Largest angle :math:`d`, a real number in [0, 180].
        generator: Source of randomness (one draw per image).

    Returns:
        Same shape, values clipped to [0, 1].

    >>> g = torch.Generator().manual_seed(0)
    >>> tuple(random_rotation(torch.rand(4, 1, 8, 8), degrees=15, generator=g).shape)
    (4, 1, 8, 8)
    """
    x = _check_image(x)
    d = check_in_range("degrees", degrees, 0.0, 180.0)
    check_generator("generator", generator)
    xb, single = _batched(x)
    n = xb.shape[0]
    angle = (torch.rand(n, generator=generator, dtype=torch.float64) * 2 - 1) * d
    return _unbatched(_affine(xb, _rotation_matrix(angle), torch.zeros(n, 2)).clamp(0, 1), single)


def random_affine(
    x: torch.Tensor,
    *,
    degrees: float = 10.0,
    translate: float = 1.0,
    scale: tuple[float, float] = (1.0, 1.0),
    generator: torch.Generator,
) -> torch.Tensor:
    r"""Small label-preserving warps: rotation, shift and zoom, one draw per image.

    Each image gets :math:`\theta \sim U(-d, d)` degrees, a shift of
    :math:`U(-t, t)` pixels along each axis and a zoom :math:`s \sim U(\text{scale})`,
    all in one bilinear resampling (cheap enough to redraw every epoch).

    Args:
        x: Image ``(C, H, W)`` or batch ``(N, C, H, W)``.
        degrees: Largest rotation :math:`d`, in [0, 180].
        translate: Largest shift :math:`t` in pixels, a finite real number >= 0 (a shift past
            the image's extent gives a black image, however large).
        scale: Range of the zoom factor, inside [0.1, 10].
        generator: Source of randomness.

    Returns:
        Same shape, values in [0, 1].

    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.rand(5, 1, 8, 8)
    >>> bool((random_affine(x, degrees=0, translate=0, generator=g) - x).abs().max() < 1e-5)
    True
    """
    x = _check_image(x)
    d = check_in_range("degrees", degrees, 0.0, 180.0)
    t = check_nonnegative("translate", translate)
    s_lo, s_hi = _check_pair("scale", scale, 0.1, 10.0)
    check_generator("generator", generator)
    xb, single = _batched(x)
    n = xb.shape[0]
    u = torch.rand(n, 4, generator=generator, dtype=torch.float64)
    angle = (2 * u[:, 0] - 1) * d
    shift = (2 * u[:, 1:3] - 1) * t
    zoom = s_lo + (s_hi - s_lo) * u[:, 3]
    A = _rotation_matrix(angle) * zoom.reshape(n, 1, 1)
    return _unbatched(_affine(xb, A, shift).clamp(0, 1), single)


# ---------------------------------------------------------------------------
# Colour
# ---------------------------------------------------------------------------


def rgb_to_grayscale(x: torch.Tensor) -> torch.Tensor:
    r"""Luma :math:`0.2989 R + 0.587 G + 0.114 B`, shape ``(..., 1, H, W)`` (ITU-R 601, as torchvision).

    >>> round(rgb_to_grayscale(torch.ones(3, 1, 1)).item(), 4)
    0.9999
    """
    x = _check_image(x, rgb=True)
    r, g, b = x.unbind(-3)
    return (_GRAY[0] * r + _GRAY[1] * g + _GRAY[2] * b).unsqueeze(-3)


def _blend(a: torch.Tensor, b: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``factor * a + (1 - factor) * b``, clipped to [0, 1] (torchvision's ``_blend``)."""
    # blend-start
    return (factor * a + (1 - factor) * b).clamp(0, 1)
    # blend-end


def _brightness(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return _blend(x, torch.zeros_like(x), f)


def _contrast(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    gray = rgb_to_grayscale(x) if x.shape[-3] == 3 else x
    mean = gray.mean(dim=(-3, -2, -1), keepdim=True)
    return _blend(x, mean, f)


def _saturation(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    if x.shape[-3] == 1:
        return x
    return _blend(x, rgb_to_grayscale(x), f)


def adjust_brightness(x: torch.Tensor, factor: float) -> torch.Tensor:
    r"""Scale every pixel by ``factor`` and clip: :math:`\min(1, f\,x)`.

    Args:
        x: Image ``(C, H, W)`` or batch ``(N, C, H, W)``.
        factor: :math:`f \ge 0`, within the range of ``x``'s dtype; 0 gives black, 1 the original.

    >>> [round(v, 6) for v in adjust_brightness(torch.tensor([[[0.2, 0.6, 0.8]]]), 1.5).flatten().tolist()]
    [0.3, 0.9, 1.0]
    """
    x = _check_image(x)
    f = check_fits_dtype("factor", check_nonnegative("factor", factor), x.dtype)
    return _brightness(x, torch.tensor(f, dtype=x.dtype))


def adjust_contrast(x: torch.Tensor, factor: float) -> torch.Tensor:
    r"""Blend with the image's mean grey level :math:`\mu`: :math:`\text{clip}(f\,x + (1-f)\,\mu)`.

    For RGB, :math:`\mu` is the mean of the grayscale image (torchvision's rule).

    Args:
        x: Image ``(C, H, W)`` or batch ``(N, C, H, W)``.
        factor: :math:`f \ge 0`, within the range of ``x``'s dtype; 0 gives flat grey, 1 the original.

    >>> [round(v, 4) for v in adjust_contrast(torch.tensor([[[0.2, 0.6]]]), 0.5).flatten().tolist()]
    [0.3, 0.5]
    """
    x = _check_image(x)
    f = check_fits_dtype("factor", check_nonnegative("factor", factor), x.dtype)
    return _contrast(x, torch.tensor(f, dtype=x.dtype))


def adjust_saturation(x: torch.Tensor, factor: float) -> torch.Tensor:
    r"""Blend each pixel with its own grey value: :math:`\text{clip}(f\,x + (1-f)\,\text{gray}(x))`.

    ``factor`` 0 gives a grayscale image, 1 the original. Identity for 1-channel images.

    Args:
        x: Image ``(C, H, W)`` or batch ``(N, C, H, W)``.
        factor: :math:`f \ge 0`, within the range of ``x``'s dtype.

    >>> [round(v, 6) for v in adjust_saturation(torch.tensor([[[1.0]], [[0.0]], [[0.0]]]), 0.0).flatten().tolist()]
    [0.2989, 0.2989, 0.2989]
    """
    x = _check_image(x)
    f = check_fits_dtype("factor", check_nonnegative("factor", factor), x.dtype)
    return _saturation(x, torch.tensor(f, dtype=x.dtype))


def rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    r"""RGB in [0, 1] to HSV in [0, 1]^3 (hue in turns: 0 red, 1/3 green, 2/3 blue).

    :math:`V = \max`, :math:`S = (\max - \min)/\max`, and the hue is the
    position on the colour hexagon, as in Python's :mod:`colorsys`.

    >>> [round(v, 6) for v in rgb_to_hsv(torch.tensor([[[0.0]], [[1.0]], [[0.0]]])).flatten().tolist()]
    [0.333333, 1.0, 1.0]
    """
    x = _check_image(x, rgb=True)
    r, g, b = x.unbind(-3)
    maxc, _ = x.max(dim=-3)
    minc, _ = x.min(dim=-3)
    delta = maxc - minc
    v = maxc
    s = torch.where(maxc > 0, delta / torch.where(maxc > 0, maxc, torch.ones_like(maxc)), torch.zeros_like(maxc))
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
    h = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.where(delta > 0, (h / 6.0) % 1.0, torch.zeros_like(h))
    return torch.stack([h, s, v], dim=-3)


def hsv_to_rgb(x: torch.Tensor) -> torch.Tensor:
    r"""Inverse of :func:`rgb_to_hsv` (the six sectors of the hue hexagon, as :mod:`colorsys`).

    >>> [round(v, 6) for v in hsv_to_rgb(torch.tensor([[[2 / 3]], [[1.0]], [[1.0]]])).flatten().tolist()]
    [0.0, 0.0, 1.0]
    """
    x = _check_image(x, rgb=True)
    h, s, v = x.unbind(-3)
    h6 = (h % 1.0) * 6.0
    i = torch.floor(h6)
    f = h6 - i
    p = v * (1 - s)
    q = v * (1 - s * f)
    t = v * (1 - s * (1 - f))
    i = i.long() % 6
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = torch.zeros_like(x)
    for k, (rr, gg, bb) in enumerate(choices):
        mask = (i == k).unsqueeze(-3)
        out = torch.where(mask, torch.stack([rr, gg, bb], dim=-3), out)
    return out


def _hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    if x.shape[-3] == 1:
        return x
    # hue-start
    hsv = rgb_to_hsv(x)
    h = (hsv[..., 0:1, :, :] + shift) % 1.0
    return hsv_to_rgb(torch.cat([h, hsv[..., 1:, :, :]], dim=-3)).clamp(0, 1)
    # hue-end


def adjust_hue(x: torch.Tensor, shift: float) -> torch.Tensor:
    r"""Rotate every pixel's hue by ``shift`` turns: :math:`h \mapsto (h + \text{shift}) \bmod 1`.

    One turn is 360°, so ``shift=0`` and ``shift=1`` are both the identity
    (up to float rounding). torchvision's ``hue_factor`` is the same unit,
    limited to [-0.5, 0.5]. Identity for 1-channel images.

    Args:
        x: Image ``(C, H, W)`` or batch ``(N, C, H, W)``.
        shift: Hue rotation in turns, in [-1, 1].

    >>> [round(v, 6) for v in adjust_hue(torch.tensor([[[1.0]], [[0.0]], [[0.0]]]), 1 / 3).flatten().tolist()]
    [0.0, 1.0, 0.0]
    """
    x = _check_image(x)
    s = check_in_range("shift", shift, -1.0, 1.0)
    return _hue(x, torch.tensor(s, dtype=x.dtype))


def color_jitter(
    x: torch.Tensor,
    *,
    brightness: float = 0.2,
    contrast: float = 0.2,
    saturation: float = 0.2,
    hue: float = 0.0,
    generator: torch.Generator,
) -> torch.Tensor:
    r"""torchvision's ``ColorJitter``: random factors, applied in a random order, per image.

    Brightness, contrast and saturation factors are drawn from
    :math:`U(\max(0, 1-b), 1+b)`; the hue shift from :math:`U(-h, h)` turns.
    Saturation and hue are the identity for 1-channel images.

    Args:
        x: Image ``(C, H, W)`` or batch ``(N, C, H, W)``.
        brightness, contrast, saturation: Jitter strengths, >= 0, within the range of ``x``'s dtype.
        hue: Hue jitter in turns, in [0, 0.5].
        generator: Source of randomness.

    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.rand(2, 3, 4, 4)
    >>> torch.equal(color_jitter(x, brightness=0, contrast=0, saturation=0, generator=g), x)
    True
    """
    x = _check_image(x)
    strengths = [
        check_fits_dtype(name, check_nonnegative(name, value), x.dtype)
        for name, value in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation))
    ]
    h = check_in_range("hue", hue, 0.0, 0.5)
    check_generator("generator", generator)
    xb, single = _batched(x)
    outs = []
    for img in xb:
        order = torch.randperm(4, generator=generator).tolist()
        u = torch.rand(4, generator=generator).tolist()
        for k in order:
            if k < 3:
                b = strengths[k]
                if b == 0:
                    continue
                lo, hi = max(0.0, 1 - b), 1 + b
                f = torch.tensor(lo + (hi - lo) * u[k], dtype=x.dtype)
                img = (_brightness, _contrast, _saturation)[k](img, f)
            elif h > 0:
                img = _hue(img, torch.tensor((2 * u[3] - 1) * h, dtype=x.dtype))
        outs.append(img)
    return _unbatched(torch.stack(outs), single)


# ---------------------------------------------------------------------------
# Occlusion: random erasing and cutout
# ---------------------------------------------------------------------------


def erase(x: torch.Tensor, top: int, left: int, height: int, width: int, *, value: float = 0.0) -> torch.Tensor:
    """Set the box ``[top:top+height, left:left+width]`` to ``value`` (in a copy).

    >>> erase(torch.ones(1, 2, 3), 0, 1, 1, 2).tolist()
    [[[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]]
    """
    x = _check_image(x)
    for name, v in (("top", top), ("left", left), ("height", height), ("width", width)):
        check_int(name, v, minimum=0)
    fill = check_in_range("value", value, 0.0, 1.0)
    out = x.clone()
    out[..., top : top + height, left : left + width] = fill
    return out


def random_erasing(
    x: torch.Tensor,
    *,
    p: float = 0.5,
    scale: tuple[float, float] = (0.02, 0.33),
    ratio: tuple[float, float] = (0.3, 3.3),
    value: float = 0.0,
    generator: torch.Generator,
) -> torch.Tensor:
    r"""Random Erasing (Zhong et al.): with probability ``p`` blank a random rectangle.

    The rectangle covers a fraction :math:`U(\text{scale})` of the area with
    aspect ratio :math:`\log r \sim U(\log \text{ratio})` at a uniform position
    (10 tries, as torchvision; if none fits, the image is left unchanged).

    Args:
        x: Image ``(C, H, W)`` or batch ``(N, C, H, W)``; one draw per image.
        p: Probability of erasing, in [0, 1].
        scale: Range of the erased area fraction, inside (0, 1].
        ratio: Range of the rectangle's height / width.
        value: Fill value in [0, 1].
        generator: Source of randomness.

    >>> g = torch.Generator().manual_seed(0)
    >>> out = random_erasing(torch.ones(3, 10, 10), p=1.0, generator=g)
    >>> 0 < int((out == 0).all(dim=0).sum()) <= 33
    True
    """
    x = _check_image(x)
    p = check_in_range("p", p, 0.0, 1.0)
    lo, hi = _check_pair("scale", scale, 0.0, 1.0)
    r_lo, r_hi = _check_pair("ratio", ratio, 1e-6, 1e6)
    fill = check_in_range("value", value, 0.0, 1.0)
    check_generator("generator", generator)
    xb, single = _batched(x)
    out = xb.clone()
    H, W = xb.shape[-2:]
    for n in range(xb.shape[0]):
        # erasing-start
        if float(torch.rand(1, generator=generator)) >= p:
            continue
        for _ in range(10):
            u = torch.rand(2, generator=generator, dtype=torch.float64).tolist()
            area = H * W * (lo + (hi - lo) * u[0])
            aspect = math.exp(math.log(r_lo) + (math.log(r_hi) - math.log(r_lo)) * u[1])
            h = round(math.sqrt(area * aspect))
            w = round(math.sqrt(area / aspect))
            if 0 < h < H and 0 < w < W:
                i = int(torch.randint(0, H - h + 1, (1,), generator=generator))
                j = int(torch.randint(0, W - w + 1, (1,), generator=generator))
                out[n, :, i : i + h, j : j + w] = fill
                break
        # erasing-end
    return _unbatched(out, single)


def cutout(x: torch.Tensor, *, size: int, value: float = 0.0, generator: torch.Generator) -> torch.Tensor:
    """Cutout (DeVries & Taylor): blank a ``size`` × ``size`` square with a uniform centre, clipped at the borders.

    Because the centre may sit near an edge, the blanked area is sometimes
    smaller than ``size**2`` (the paper's choice: the model then also sees
    partly occluded and unoccluded images).

    Args:
        x: Image ``(C, H, W)`` or batch ``(N, C, H, W)``; one square per image.
        size: Side of the square, an int in [1, 2**31 - 1].
        value: Fill value in [0, 1].
        generator: Source of randomness.

    >>> g = torch.Generator().manual_seed(0)
    >>> out = cutout(torch.ones(1, 8, 8), size=4, generator=g)
    >>> 0 < int((out == 0).sum()) <= 16
    True
    """
    x = _check_image(x)
    size = check_count("size", size)
    fill = check_in_range("value", value, 0.0, 1.0)
    check_generator("generator", generator)
    xb, single = _batched(x)
    out = xb.clone()
    H, W = xb.shape[-2:]
    cy = torch.randint(0, H, (xb.shape[0],), generator=generator).tolist()
    cx = torch.randint(0, W, (xb.shape[0],), generator=generator).tolist()
    for n, (y, x0) in enumerate(zip(cy, cx, strict=True)):
        y1, y2 = max(0, y - size // 2), min(H, y - size // 2 + size)
        x1, x2 = max(0, x0 - size // 2), min(W, x0 - size // 2 + size)
        out[n, :, y1:y2, x1:x2] = fill
    return _unbatched(out, single)


# ---------------------------------------------------------------------------
# RandAugment
# ---------------------------------------------------------------------------


def _sharpness(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Blend with a 3×3 smoothed copy (PIL's SMOOTH kernel), borders kept."""
    C = x.shape[1]
    k = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]], dtype=x.dtype, device=x.device) / 13
    blurred = F.conv2d(x, k.expand(C, 1, 3, 3), padding=1, groups=C)
    interior = torch.zeros_like(x, dtype=torch.bool)
    interior[..., 1:-1, 1:-1] = True
    degenerate = torch.where(interior, blurred, x)
    return _blend(x, degenerate, f)


def _posterize(x: torch.Tensor, bits: int) -> torch.Tensor:
    q = (x * 255).round().to(torch.uint8)
    mask = (0xFF << (8 - bits)) & 0xFF
    return (q & mask).to(x.dtype) / 255


def _solarize(x: torch.Tensor, threshold: float) -> torch.Tensor:
    return torch.where(x >= threshold, 1 - x, x)


def _autocontrast(x: torch.Tensor) -> torch.Tensor:
    lo = x.amin(dim=(-2, -1), keepdim=True)
    hi = x.amax(dim=(-2, -1), keepdim=True)
    flat = hi <= lo
    scale = torch.where(flat, torch.ones_like(hi), 1 / torch.where(flat, torch.ones_like(hi), hi - lo))
    lo = torch.where(flat, torch.zeros_like(lo), lo)
    return ((x - lo) * scale).clamp(0, 1)


def _equalize(x: torch.Tensor) -> torch.Tensor:
    """Histogram equalisation per channel on 256 levels (PIL's rule)."""
    q = (x * 255).round().long()
    N, C = q.shape[:2]
    flat = q.reshape(N * C, -1)
    hist = torch.zeros(N * C, 256, dtype=torch.long, device=x.device).scatter_add_(1, flat, torch.ones_like(flat))
    last = 255 - torch.flip(hist, [1]).ne(0).long().argmax(1)  # index of the last non-empty bin
    step = (hist.sum(1) - hist.gather(1, last.unsqueeze(1)).squeeze(1)) // 255
    cdf = torch.cumsum(hist, 1)
    lut = ((cdf - hist + (step // 2).unsqueeze(1)) // step.clamp(min=1).unsqueeze(1)).clamp(0, 255)
    mapped = lut.gather(1, flat).to(x.dtype) / 255
    keep = (step == 0).unsqueeze(1)
    return torch.where(keep, flat.to(x.dtype) / 255, mapped).reshape(x.shape)


def _apply_op(x: torch.Tensor, op: str, magnitude: float, sign: torch.Tensor) -> torch.Tensor:
    """One RandAugment op on a batch ``(n, C, H, W)``; ``sign`` is ``(n,)`` of ±1."""
    n, _, H, W = x.shape
    frac = magnitude / 30.0  # torchvision's bins 0..30 mapped linearly onto each op's range
    eye = torch.eye(2, dtype=torch.float64).expand(n, 2, 2).clone()
    zero = torch.zeros(n, 2, dtype=torch.float64)
    s = sign.to(torch.float64)
    if op == "identity":
        return x
    if op in ("shear_x", "shear_y"):
        A = eye.clone()
        if op == "shear_x":
            A[:, 0, 1] = 0.3 * frac * s
        else:
            A[:, 1, 0] = 0.3 * frac * s
        return _affine(x, A, zero).clamp(0, 1)
    if op in ("translate_x", "translate_y"):
        t = zero.clone()
        axis, extent = (0, W) if op == "translate_x" else (1, H)
        t[:, axis] = 150.0 / 331.0 * extent * frac * s
        return _affine(x, eye, t).clamp(0, 1)
    if op == "rotate":
        return _affine(x, _rotation_matrix(30.0 * frac * s), zero).clamp(0, 1)
    if op in ("brightness", "color", "contrast", "sharpness"):
        f = (1 + 0.9 * frac * s).to(device=x.device, dtype=x.dtype).reshape(n, 1, 1, 1)
        fn = {"brightness": _brightness, "color": _saturation, "contrast": _contrast, "sharpness": _sharpness}[op]
        return fn(x, f)
    if op == "posterize":
        return _posterize(x, 8 - round(4 * frac))
    if op == "solarize":
        return _solarize(x, 1.0 - frac)
    if op == "autocontrast":
        return _autocontrast(x)
    return _equalize(x)


def randaugment(x: torch.Tensor, *, num_ops: int = 2, magnitude: float = 9, generator: torch.Generator) -> torch.Tensor:
    r"""RandAugment (Cubuk et al. 2020): ``num_ops`` random operations at one shared ``magnitude``.

    Each image independently draws, ``num_ops`` times, one of the 14
    :data:`RANDAUGMENT_OPS` uniformly (with replacement) and applies it at
    strength ``magnitude`` on torchvision's 0..30 scale, with a random sign for
    the signed ops. At :math:`M` the ranges are: shear :math:`0.3M/30`,
    shift :math:`\frac{150}{331}\frac{M}{30}` of the side, rotation
    :math:`30M/30` degrees, brightness/colour/contrast/sharpness factor
    :math:`1 \pm 0.9M/30`, posterize to :math:`8 - \text{round}(4M/30)` bits,
    solarize above :math:`1 - M/30`. "color" (saturation) needs 3 channels
    and is the identity for 1-channel images.

    Two knobs replace AutoAugment's learned policy: :math:`N` = ``num_ops`` and
    :math:`M` = ``magnitude``.

    Args:
        x: Image ``(C, H, W)`` or batch ``(N, C, H, W)``, float in [0, 1], C in {1, 3}.
        num_ops: :math:`N`, operations per image, an int in [0, 2**31 - 1].
        magnitude: :math:`M` in [0, 30].
        generator: Source of randomness.

    Returns:
        Same shape and dtype, values in [0, 1].

    Raises:
        ValueError: If ``x`` has the wrong rank or channel count, or a knob is out of range.
        TypeError: If ``x`` is not a float tensor or ``generator`` is not a Generator.

    Shape:
        ``(C, H, W) -> (C, H, W)``; ``(N, C, H, W) -> (N, C, H, W)``.

    >>> g = torch.Generator().manual_seed(0)
    >>> out = randaugment(torch.rand(4, 3, 16, 16), num_ops=2, magnitude=9, generator=g)
    >>> tuple(out.shape), out.dtype, bool(out.min() >= 0), bool(out.max() <= 1)
    ((4, 3, 16, 16), torch.float32, True, True)
    """
    x = _check_image(x)
    num_ops = check_count("num_ops", num_ops, minimum=0)
    m = check_in_range("magnitude", magnitude, 0.0, 30.0)
    check_generator("generator", generator)
    xb, single = _batched(x)
    out = xb.clone()
    n = xb.shape[0]
    # randaugment-start
    for _ in range(num_ops):
        ops = torch.randint(0, len(RANDAUGMENT_OPS), (n,), generator=generator)
        signs = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
        for k, name in enumerate(RANDAUGMENT_OPS):
            idx = (ops == k).nonzero().flatten()
            if len(idx):
                out[idx] = _apply_op(out[idx], name, m, signs[idx])
    # randaugment-end
    return _unbatched(out.clamp(0, 1), single)


class RandAugment(torch.nn.Module):
    """Module wrapper of :func:`randaugment`, with torchvision's argument names.

    The arguments are checked here, as :func:`randaugment` checks them
    (``num_ops`` an int in [0, 2**31 - 1], ``magnitude`` in [0, 30], ``generator``
    a :class:`torch.Generator`); each call of the module advances the generator.

    >>> aug = RandAugment(num_ops=2, magnitude=9, generator=torch.Generator().manual_seed(0))
    >>> tuple(aug(torch.rand(3, 8, 8)).shape)
    (3, 8, 8)
    """

    def __init__(self, num_ops: int = 2, magnitude: float = 9, *, generator: torch.Generator) -> None:
        super().__init__()
        self.num_ops = check_count("num_ops", num_ops, minimum=0)
        self.magnitude = check_in_range("magnitude", magnitude, 0.0, 30.0)
        self.generator = check_generator("generator", generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return randaugment(x, num_ops=self.num_ops, magnitude=self.magnitude, generator=self.generator)
