"""Contracts of the augmentation chapter: regbook.augmentation and regbook.experiments.augmentation.

Torch twins where torch has the operation or a plain-torch formula states it
independently: :func:`torch.flip` for the mirrors, :func:`torch.rot90` for a
quarter turn, slicing and :func:`torch.nn.functional.interpolate` for the
crops, the ITU-R 601 weights for grayscale, the blend formulas for
brightness / contrast / saturation, and :mod:`colorsys` (per pixel) for the
HSV conversions.
"""

from __future__ import annotations

import colorsys
from typing import Any

import torch
import torch.nn.functional as F

from regbook import augmentation as A
from regbook.experiments import augmentation as X
from tests.conftest import TEST_SEEDS
from tests.contracts.opinfo import OpInfo, Sample

NOT_CALLABLE = {
    "regbook.augmentation.RANDAUGMENT_OPS",
    "regbook.experiments.augmentation.AFFINE_DEGREES",
    "regbook.experiments.augmentation.AFFINE_SCALE",
    "regbook.experiments.augmentation.AFFINE_TRANSLATE",
    "regbook.experiments.augmentation.POLICIES",
    "regbook.experiments.augmentation.TRANSFORMS",
}

SEEDS = list(TEST_SEEDS[:2])
_GRAY = torch.tensor([0.2989, 0.587, 0.114])


def _gen(offset: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(TEST_SEEDS[0] + offset)


def _img(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=_gen(100))


def _x(channels: int = 3) -> Sample:
    return Sample((_img(2, channels, 5, 6),), {}, ("x",))


def _x_factor(factor: float, channels: int = 3, name: str = "factor") -> Sample:
    return Sample((_img(2, channels, 5, 6), factor), {}, ("x", name))


def _random(channels: int = 3, **kw: Any) -> Sample:
    return Sample((_img(2, channels, 5, 6),), {**kw, "generator": _gen(1)}, ("x",))


# ---------------------------------------------------------------------------
# Torch twins (they raise on what they cannot state; the checker then compares nothing)
# ---------------------------------------------------------------------------


def _flip_p_ref(x: torch.Tensor, *, p: float, generator: torch.Generator) -> torch.Tensor:
    if p == 1.0:
        return torch.flip(x, [-1])
    if p == 0.0:
        return x.clone()
    raise ValueError("no twin for 0 < p < 1")


def _resized_crop_ref(x: torch.Tensor, top: int, left: int, height: int, width: int, *,
                      size: tuple[int, int]) -> torch.Tensor:
    crop = x[..., top:top + height, left:left + width]
    if (height, width) == tuple(size):
        return crop.clone()
    single = crop.ndim == 3
    batch = crop.unsqueeze(0) if single else crop
    down = size[0] < height or size[1] < width
    out = F.interpolate(batch, size=tuple(size), mode="bilinear", align_corners=False, antialias=down).clamp(0, 1)
    return out.squeeze(0) if single else out


def _gray_ref(x: torch.Tensor) -> torch.Tensor:
    return (x * _GRAY.to(x.dtype).reshape(3, 1, 1)).sum(-3, keepdim=True)


def _brightness_ref(x: torch.Tensor, factor: float) -> torch.Tensor:
    return (x * factor).clamp(0, 1)


def _contrast_ref(x: torch.Tensor, factor: float) -> torch.Tensor:
    gray = _gray_ref(x) if x.shape[-3] == 3 else x
    mean = gray.mean(dim=(-3, -2, -1), keepdim=True)
    return (factor * x + (1 - factor) * mean).clamp(0, 1)


def _saturation_ref(x: torch.Tensor, factor: float) -> torch.Tensor:
    return (factor * x + (1 - factor) * _gray_ref(x)).clamp(0, 1)


def _colorsys_ref(fn: Any) -> Any:
    def ref(x: torch.Tensor) -> torch.Tensor:
        if not x.is_floating_point() or x.is_meta:
            raise TypeError("no twin")
        flat = x.movedim(-3, -1).reshape(-1, 3).tolist()
        out = torch.tensor([fn(*p) for p in flat], dtype=x.dtype)
        return out.reshape(*x.movedim(-3, -1).shape).movedim(-1, -3)
    return ref


def _hsv_ref(x: torch.Tensor) -> torch.Tensor:
    out: torch.Tensor = _colorsys_ref(colorsys.rgb_to_hsv)(x)
    return out


def _rgb_ref(x: torch.Tensor) -> torch.Tensor:
    out: torch.Tensor = _colorsys_ref(colorsys.hsv_to_rgb)(x)
    return out


def _rot90_ref(x: torch.Tensor, degrees: float) -> torch.Tensor:
    if degrees != 90:
        raise ValueError("twin only for a quarter turn")
    return torch.rot90(x, 1, dims=(-2, -1)).clamp(0, 1)  # rotate() keeps images in [0, 1]


def _erase_ref(x: torch.Tensor, top: int, left: int, height: int, width: int, *, value: float) -> torch.Tensor:
    out = x.clone()
    out[..., top:top + height, left:left + width] = value
    return out


# ---------------------------------------------------------------------------
# Module forward and the experiments' records
# ---------------------------------------------------------------------------

_SELF = {"self": "the module the method is bound to, not an argument"}


def _ra_forward(module: A.RandAugment, x: Any) -> Any:
    return module(x)


def _ra_forward_sample() -> Sample:
    m = A.RandAugment(2, 9.0, generator=_gen(2))
    return Sample((m, _img(2, 3, 6, 6)), {}, ("self", "x"), state=(m,))


def _augment_result() -> X.AugmentResult:
    return X.AugmentResult(("none", "flip"), {"none": [0.5, 0.6], "flip": [0.4, 0.7]}, tuple(SEEDS), 10, 2, 4)


def _flip_result() -> X.LabelFlipResult:
    per = {t: [0.1, 0.2] for t in X.TRANSFORMS}
    return X.LabelFlipResult(X.TRANSFORMS, per, {t: [0.5, 0.3] for t in X.TRANSFORMS}, per,
                             {t: [(6, 0.5), (9, 0.5)] for t in X.TRANSFORMS}, [0.8, 0.9], [3, 4], [2, 5],
                             tuple(SEEDS), 10, 2)


_AUG = _augment_result()
_FLIP = _flip_result()


def _per_network_sample() -> Sample:
    return Sample(([None, lambda x, g: 2 * x], [_gen(3), _gen(4)]), {}, ("callbacks", "generators"))


def _records_skip(*names: str) -> dict[str, str]:
    return {n: "a plain result record, built by its experiment from validated values" for n in names}


_AUG_FIELDS = ("policies", "accuracy", "seeds", "n_train", "steps", "hidden")
_FLIP_FIELDS = ("transforms", "six_as_nine", "six_as_six", "nine_as_six", "six_mode", "test_accuracy", "n_six",
                "n_nine", "seeds", "n_train", "steps")

OPS = [
    # --- geometry ---
    OpInfo("regbook.augmentation.horizontal_flip", A.horizontal_flip, _x, ref=lambda x: torch.flip(x, [-1]),
           extra=(("x", torch.ones(2, 2, 4, 4), True), ("x", torch.ones(4, 4), True))),
    OpInfo("regbook.augmentation.random_horizontal_flip", A.random_horizontal_flip,
           lambda: _random(p=1.0), ref=_flip_p_ref, extra=(("p", 1.5, True), ("p", -0.1, True))),
    OpInfo("regbook.augmentation.random_horizontal_flip", A.random_horizontal_flip,
           lambda: _random(1, p=0.0), ref=_flip_p_ref),
    OpInfo("regbook.augmentation.resized_crop", A.resized_crop,
           lambda: Sample((_img(2, 3, 5, 6), 1, 1, 3, 4), {"size": (3, 4)}, ("x", "top", "left", "height", "width")),
           ref=_resized_crop_ref,
           extra=(("top", 3, True), ("width", 6, True), ("size", (0, 4), True), ("size", (2, 3, 4), True),
                  ("size", (2.0, 3), True))),
    OpInfo("regbook.augmentation.resized_crop", A.resized_crop,
           lambda: Sample((_img(3, 8, 8), 0, 2, 6, 5), {"size": (3, 4)}, ("x", "top", "left", "height", "width")),
           ref=_resized_crop_ref, skip={p: "covered by the first sample" for p in ("top", "left", "height", "width")}),
    OpInfo("regbook.augmentation.random_resized_crop", A.random_resized_crop,
           lambda: _random(size=(4, 4), scale=(0.08, 1.0), ratio=(0.75, 4 / 3)),
           extra=(("scale", (0.0, 1.0), True), ("scale", (0.5, 0.2), True), ("ratio", (0.0, 1.0), True),
                  ("size", (0, 4), True), ("size", None, False))),
    OpInfo("regbook.augmentation.rotate", A.rotate, lambda: _x_factor(30.0, name="degrees")),
    OpInfo("regbook.augmentation.rotate", A.rotate, lambda: Sample((_img(2, 1, 6, 6), 90.0), {}, ("x", "degrees")),
           ref=_rot90_ref, tol=1e-5),
    OpInfo("regbook.augmentation.random_rotation", A.random_rotation, lambda: _random(degrees=15.0),
           extra=(("degrees", 181.0, True),)),
    OpInfo("regbook.augmentation.random_affine", A.random_affine,
           lambda: _random(degrees=10.0, translate=1.0, scale=(0.9, 1.1)),
           extra=(("scale", (0.0, 1.0), True), ("scale", (1.1, 0.9), True), ("degrees", 181.0, True))),
    # --- colour ---
    OpInfo("regbook.augmentation.rgb_to_grayscale", A.rgb_to_grayscale, _x, ref=_gray_ref,
           extra=(("x", torch.ones(1, 4, 4), True),)),
    OpInfo("regbook.augmentation.adjust_brightness", A.adjust_brightness, lambda: _x_factor(1.5),
           ref=_brightness_ref),
    OpInfo("regbook.augmentation.adjust_contrast", A.adjust_contrast, lambda: _x_factor(0.5), ref=_contrast_ref),
    OpInfo("regbook.augmentation.adjust_contrast", A.adjust_contrast, lambda: _x_factor(1.5, channels=1),
           ref=_contrast_ref),
    OpInfo("regbook.augmentation.adjust_saturation", A.adjust_saturation, lambda: _x_factor(0.5),
           ref=_saturation_ref),
    OpInfo("regbook.augmentation.rgb_to_hsv", A.rgb_to_hsv, _x, ref=_hsv_ref),
    OpInfo("regbook.augmentation.hsv_to_rgb", A.hsv_to_rgb, _x, ref=_rgb_ref),
    OpInfo("regbook.augmentation.adjust_hue", A.adjust_hue, lambda: _x_factor(0.25, name="shift"),
           extra=(("shift", 1.5, True),)),
    OpInfo("regbook.augmentation.color_jitter", A.color_jitter,
           lambda: _random(brightness=0.2, contrast=0.3, saturation=0.4, hue=0.1),
           extra=(("hue", 0.6, True), ("brightness", -0.1, True))),
    # --- occlusion ---
    OpInfo("regbook.augmentation.erase", A.erase,
           lambda: Sample((_img(2, 3, 5, 6), 1, 2, 3, 2), {"value": 0.5}, ("x", "top", "left", "height", "width")),
           ref=_erase_ref, extra=(("value", 1.5, True),)),
    OpInfo("regbook.augmentation.random_erasing", A.random_erasing,
           lambda: _random(p=0.9, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0),
           extra=(("p", 1.5, True), ("scale", (0.5, 0.2), True), ("ratio", (0.0, 1.0), True))),
    OpInfo("regbook.augmentation.cutout", A.cutout, lambda: _random(size=2, value=0.0),
           extra=(("size", 0, True), ("value", 2.0, True))),
    # --- RandAugment ---
    OpInfo("regbook.augmentation.randaugment", A.randaugment, lambda: _random(num_ops=3, magnitude=9.0),
           extra=(("magnitude", 31.0, True),)),
    OpInfo("regbook.augmentation.randaugment", A.randaugment, lambda: _random(1, num_ops=4, magnitude=30.0),
           skip={"num_ops": "covered by the first sample", "magnitude": "covered by the first sample"}),
    OpInfo("regbook.augmentation.RandAugment", A.RandAugment,
           lambda: Sample((2, 9.0), {"generator": _gen(2)}, ("num_ops", "magnitude")),
           extra=(("magnitude", 31.0, True),)),
    OpInfo("regbook.augmentation.RandAugment.forward", _ra_forward, _ra_forward_sample, skip=_SELF),
    # --- experiments ---
    OpInfo("regbook.experiments.augmentation.policy", X.policy, lambda: Sample(("affine",), {}, ("name",))),
    OpInfo("regbook.experiments.augmentation.per_network", X.per_network, _per_network_sample,
           extra=(("callbacks", [None], True), ("callbacks", [None, 3], True), ("generators", [_gen(3), 3], True))),
    OpInfo("regbook.experiments.augmentation.augmentation_experiment", X.augmentation_experiment,
           lambda: Sample((), {"n_train": 10, "policies": ("none", "affine"), "seeds": SEEDS, "steps": 2,
                               "hidden": 4, "lr": 3e-3}),
           extra=(("policies", ("none", "none"), True), ("policies", ("none", "nope"), True),
                  ("seeds", [1001, 1001], True), ("seeds", [1001, 2**63], True), ("n_train", 1001, True),
                  ("lr", 1e3, True))),
    OpInfo("regbook.experiments.augmentation.digit_label_flip", X.digit_label_flip,
           lambda: Sample((), {"n_train": 10, "steps": 2, "seeds": SEEDS, "hidden": 4, "lr": 3e-3}),
           extra=(("seeds", [1001, -1], True), ("n_train", 1001, True), ("lr", 1e3, True))),
    OpInfo("regbook.experiments.augmentation.AugmentResult", X.AugmentResult,
           lambda: Sample(tuple(getattr(_AUG, f) for f in _AUG_FIELDS), {}, _AUG_FIELDS),
           skip=_records_skip(*_AUG_FIELDS)),
    OpInfo("regbook.experiments.augmentation.AugmentResult.gain", _AUG.gain,
           lambda: Sample(("flip",), {"baseline": "none"}, ("name",)),
           extra=(("name", "affine", True), ("baseline", "randaugment", True))),
    OpInfo("regbook.experiments.augmentation.LabelFlipResult", X.LabelFlipResult,
           lambda: Sample(tuple(getattr(_FLIP, f) for f in _FLIP_FIELDS), {}, _FLIP_FIELDS),
           skip=_records_skip(*_FLIP_FIELDS)),
    OpInfo("regbook.experiments.augmentation.LabelFlipResult.nine_minus_six", _FLIP.nine_minus_six,
           lambda: Sample(("rot180",), {}, ("transform",))),
]
