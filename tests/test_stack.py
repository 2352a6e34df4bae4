"""Tests for regbook.stack: the recipe's knobs, its per-batch pieces, and line 1's ResNet-50.

Expected values come from the lecture's slide, hand arithmetic, or the ops the
recipe calls (regbook.augmentation, regbook.mixup) used directly -- never from
regbook.stack itself. Every knob of the recipe has a test that fails if the
piece using it ignores it.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from regbook import augmentation, mixup
from regbook import stack as S


def images(n: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def gen(seed: int = 1) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- The lecture's slide ------------------------------------------------------

def test_defaults_are_the_lecture_stack() -> None:
    # Lecture lines 973-990: ResNet50(dropout=0.0) with BN, AdamW(weight_decay=0.05),
    # RandAugment(num_ops=2, magnitude=9), RandomErasing(p=0.25), CrossEntropyLoss(label_smoothing=0.1).
    cfg = S.StackConfig()
    assert (cfg.weight_decay, cfg.label_smoothing) == (0.05, 0.1)
    assert (cfg.randaugment_ops, cfg.randaugment_magnitude) == (2, 9)
    assert cfg.random_erasing == 0.25
    assert (cfg.dropout, cfg.norm) == (0.0, "batch")
    assert cfg.mix_prob > 0 and cfg.patience > 0          # "conditional" Mixup, checkpoint on val


def test_nothing_on_switches_every_regularizer_off() -> None:
    cfg = S.StackConfig.nothing_on(epochs=3, width=7)
    assert (cfg.norm, cfg.dropout, cfg.weight_decay, cfg.randaugment_ops) == ("none", 0.0, 0.0, 0)
    assert (cfg.random_erasing, cfg.mix_prob, cfg.label_smoothing, cfg.patience) == (0.0, 0.0, 0.0, 0)
    assert (cfg.epochs, cfg.width) == (3, 7)


# --- Line 3: augment_images ---------------------------------------------------

def test_augmentation_off_returns_the_batch_itself() -> None:
    x = images()
    assert S.augment_images(x, S.StackConfig.nothing_on(), generator=gen()) is x


@pytest.mark.parametrize(("ops", "magnitude"), [(1, 20), (3, 4)])
def test_randaugment_gets_the_recipe_knobs(ops: int, magnitude: int) -> None:
    # non-default knobs: a wrapper that ignored num_ops or magnitude (defaults 2 and 9) would differ
    x = images()
    cfg = S.StackConfig(randaugment_ops=ops, randaugment_magnitude=magnitude, random_erasing=0.0)
    got = S.augment_images(x, cfg, generator=gen())
    want = augmentation.randaugment(x, num_ops=ops, magnitude=magnitude, generator=gen())
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert not torch.equal(got, x)
    other = augmentation.randaugment(x, num_ops=2, magnitude=9, generator=gen())
    assert not torch.equal(got, other)


def test_random_erasing_gets_its_probability() -> None:
    x = images(64) * 0.5 + 0.25                             # no pixel is 0 before erasing
    cfg = S.StackConfig(randaugment_ops=0, random_erasing=0.6)
    got = S.augment_images(x, cfg, generator=gen())
    torch.testing.assert_close(got, augmentation.random_erasing(x, p=0.6, generator=gen()), rtol=0, atol=0)
    erased = (got == 0).flatten(1).any(1).double().mean().item()
    assert 0.4 < erased < 0.8                                  # about 60% of 64 images, not 25% and not all


def test_randaugment_then_erasing_in_that_order() -> None:
    x = images()
    cfg = S.StackConfig(random_erasing=1.0)
    g = gen()
    want = augmentation.random_erasing(augmentation.randaugment(x, num_ops=2, magnitude=9, generator=g),
                                       p=1.0, generator=g)
    torch.testing.assert_close(S.augment_images(x, cfg, generator=gen()), want, rtol=0, atol=0)


# --- Line 4: mix_batch --------------------------------------------------------

def distinct_images(n: int = 8) -> torch.Tensor:
    """Image i is the constant i + 1, so every pixel tells which image it came from."""
    return (torch.arange(1, n + 1, dtype=torch.float32) / n).reshape(n, 1, 1, 1).expand(n, 1, 8, 8).clone()


def test_no_mixing_returns_the_inputs() -> None:
    x, t = distinct_images(), torch.eye(8)
    xm, tm = S.mix_batch(x, t, S.StackConfig(mix_prob=0.0), generator=gen())
    assert xm is x and tm is t


def test_mixup_blends_inputs_and_targets_with_one_weight() -> None:
    x, t = distinct_images(), torch.eye(8)
    xm, tm = S.mix_batch(x, t, S.StackConfig(mix_prob=1.0, cutmix_prob=0.0), generator=gen())
    # with one-hot targets of distinct images, t~ = λ e_i + (1-λ) e_π(i) and x~ = λ x_i + (1-λ) x_π(i) = t~ @ x
    torch.testing.assert_close(xm, torch.einsum("ij,jchw->ichw", tm, x))
    torch.testing.assert_close(tm.sum(1), torch.ones(8))
    assert not torch.equal(xm, x)


def test_cutmix_pastes_a_box_and_mixes_targets_by_its_area() -> None:
    x, t = distinct_images(), torch.eye(8)
    xm, tm = S.mix_batch(x, t, S.StackConfig(mix_prob=1.0, cutmix_prob=1.0), generator=gen(3))
    for i in range(8):
        own = (xm[i] == x[i, 0, 0, 0]).double().mean().item()      # share of pixels still from image i
        assert set(xm[i].unique().tolist()) <= set(x[:, 0, 0, 0].tolist())   # pasted, never blended
        if tm[i, i] < 1:                                            # a partner other than itself
            assert tm[i, i].item() == pytest.approx(own, abs=1e-6)


def test_smoothed_targets_stay_distributions_after_mixing() -> None:
    t = torch.full((8, 10), 0.01)
    t[torch.arange(8), torch.arange(8)] = 0.91                         # α = 0.1 over 10 classes
    _, tm = S.mix_batch(distinct_images(), t, S.StackConfig(mix_prob=1.0), generator=gen())
    torch.testing.assert_close(tm.sum(1), torch.ones(8))
    assert float(tm.min()) >= 0.01 - 1e-7


def mixed_fraction(cfg: S.StackConfig, draws: int = 400) -> tuple[float, float]:
    """Share of batches mixed, and share of mixed batches that were CutMix (pixels pasted, not blended)."""
    x, t, g = distinct_images(), torch.eye(8), gen(5)
    mixed = cut = 0
    for _ in range(draws):
        xm, _ = S.mix_batch(x, t, cfg, generator=g)
        if xm is not x:
            mixed += 1
            cut += int(set(xm.unique().tolist()) <= set(x.unique().tolist()))
    return mixed / draws, cut / max(mixed, 1)


@pytest.mark.parametrize(("mix_prob", "cutmix_prob"), [(0.5, 0.3), (0.2, 0.8)])
def test_mix_and_cutmix_probabilities_are_used(mix_prob: float, cutmix_prob: float) -> None:
    # binomial: 400 draws, sd of a share <= 0.025; the bands are 4 sd wide on each side
    mixed, cut = mixed_fraction(S.StackConfig(mix_prob=mix_prob, cutmix_prob=cutmix_prob))
    assert abs(mixed - mix_prob) < 0.1
    assert abs(cut - cutmix_prob) < 0.15


def own_share(cfg: S.StackConfig, draws: int = 200) -> float:
    """Mean |λ - 1/2| over mixed batches (λ read off the targets of the image whose partner is another)."""
    x, t, g = distinct_images(), torch.eye(8), gen(7)
    gaps = []
    for _ in range(draws):
        _, tm = S.mix_batch(x, t, cfg, generator=g)
        diag = tm.diagonal()
        lam = diag[diag < 1]
        if len(lam):
            gaps.append(float((lam[0] - 0.5).abs()))
    return sum(gaps) / len(gaps)


def test_mixup_alpha_is_used() -> None:
    # Beta(α, α): α = 0.05 puts λ near 0 or 1 (E|λ - 1/2| near 1/2); α = 50 near 1/2 (E|λ - 1/2| ≈ 0.04)
    low = own_share(S.StackConfig(mix_prob=1.0, cutmix_prob=0.0, mixup_alpha=0.05))
    high = own_share(S.StackConfig(mix_prob=1.0, cutmix_prob=0.0, mixup_alpha=50.0))
    assert low > 0.4 and high < 0.1


def test_cutmix_alpha_is_used() -> None:
    # Beta(α, α) with α = 0.05 puts the nominal λ near 1 about half the time: a box of side int(8·sqrt(1-λ)) = 0,
    # nothing pasted. With α = 50, λ ≈ 1/2 and the box side is int(8·0.71) = 5: something is always pasted.
    x, t = distinct_images(), torch.eye(8)

    def share_unchanged(alpha: float) -> float:
        g = gen(13)
        cfg = S.StackConfig(mix_prob=1.0, cutmix_prob=1.0, cutmix_alpha=alpha)
        return sum(torch.equal(S.mix_batch(x, t, cfg, generator=g)[0], x) for _ in range(200)) / 200

    assert share_unchanged(0.05) > 0.3
    assert share_unchanged(50.0) == 0.0


def test_mix_batch_uses_mixup_ops_draws() -> None:
    # the Mixup branch is regbook.mixup.mixup_batch after two uniform draws (mix? cutmix?) from the same stream
    x, t = distinct_images(), torch.eye(8)
    g = gen(11)
    torch.rand((), generator=g)        # mix_batch's two decisions: mixed? (< 1 always) then CutMix? (< 0 never)
    torch.rand((), generator=g)
    want, _, perm, lam = mixup.mixup_batch(x, torch.arange(8), alpha=0.2, generator=g)
    got, tm = S.mix_batch(x, t, S.StackConfig(mix_prob=1.0, cutmix_prob=0.0), generator=gen(11))
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(tm, lam * t + (1 - lam) * t[perm])


# --- Standardize ----------------------------------------------------------------

def test_standardize_by_hand() -> None:
    # (1 - 0.5) / 0.25 = 2;  (0 - 0.5) / 0.25 = -2
    layer = S.Standardize(torch.tensor([0.5]), torch.tensor([0.25]))
    assert layer(torch.tensor([[[[1.0, 0.0]]]])).tolist() == [[[[2.0, -2.0]]]]


def test_standardize_per_seed() -> None:
    # seed 0: (1 - 0) / 1 = 1; seed 1: (1 - 0.5) / 0.5 = 1 and (0 - 0.5) / 0.5 = -1
    layer = S.Standardize(torch.tensor([[0.0], [0.5]]), torch.tensor([[1.0], [0.5]]))
    x = torch.tensor([1.0, 0.0]).reshape(1, 1, 1, 1, 2).expand(2, 1, 1, 1, 2)
    assert layer(x).reshape(2, 2).tolist() == [[1.0, 0.0], [1.0, -1.0]]


# --- Line 1: ResNet-50 -------------------------------------------------------------

def resnet50_parameters_by_hand(num_classes: int = 1000) -> int:
    """He et al. 2016, Table 1: 7x7 stem, bottleneck stages [3, 4, 6, 3]; a BN has 2 parameters per channel."""
    total = 3 * 64 * 7 * 7 + 2 * 64
    c_in = 64
    for mid, blocks in ((64, 3), (128, 4), (256, 6), (512, 3)):
        out = 4 * mid
        for b in range(blocks):
            total += c_in * mid + 2 * mid + 9 * mid * mid + 2 * mid + mid * out + 2 * out
            if b == 0:
                total += c_in * out + 2 * out          # the projection on the skip path
            c_in = out
    return total + 2048 * num_classes + num_classes


def test_resnet50_has_25_6_million_parameters() -> None:
    net = S.resnet50(device="meta")
    n = S.count_parameters(net)
    assert n == resnet50_parameters_by_hand() == 25_557_032    # torchvision's published count for resnet50
    # the lecture's "ResNet50(dropout=0.0)  # BN already in ResNet": 53 BatchNorms, one per conv, no dropout
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 53
    assert sum(isinstance(m, nn.Conv2d) for m in net.modules()) == 53
    assert not any(isinstance(m, nn.Dropout) for m in net.modules())
    out = net(torch.empty(2, 3, 224, 224, device="meta"))
    assert tuple(out.shape) == (2, 1000)


def test_resnet50_num_classes() -> None:
    assert S.count_parameters(S.resnet50(10, device="meta")) == resnet50_parameters_by_hand(10)


def test_bottleneck_matches_torch_ops() -> None:
    block = S.Bottleneck(8, 4, stride=2).eval()
    x = torch.randn(2, 8, 6, 6, generator=gen())
    h = torch.relu(block.bn1(torch.nn.functional.conv2d(x, block.conv1.weight)))
    h = torch.relu(block.bn2(torch.nn.functional.conv2d(h, block.conv2.weight, stride=2, padding=1)))
    assert block.downsample is not None
    want = torch.relu(block.bn3(torch.nn.functional.conv2d(h, block.conv3.weight)) + block.downsample(x))
    torch.testing.assert_close(block(x), want)
    assert tuple(block(x).shape) == (2, 16, 3, 3)


def test_count_parameters_by_hand() -> None:
    assert S.count_parameters(nn.Linear(3, 2)) == 8                     # 3*2 + 2
    assert S.count_parameters(nn.BatchNorm1d(4)) == 8                   # γ, β; running stats are buffers
    frozen = nn.Linear(3, 2)
    frozen.bias.requires_grad_(False)
    assert S.count_parameters(frozen) == 6


# --- One test per error message -------------------------------------------------

@pytest.mark.parametrize(("field", "value", "exc", "match"), [
    ("arch", "resnet", ValueError, r"arch must be one of \('mlp', 'cnn'\) \(got 'resnet'\)"),
    ("width", 0, ValueError, r"width must be >= 1 \(got 0\)"),
    ("width", 2.0, TypeError, r"width must be an int \(got float 2.0\)"),
    ("norm", "instance", ValueError, r"norm must be one of"),
    ("dropout", 1.0, ValueError, r"dropout must be in \[0.0, 1.0\) \(got 1.0\)"),
    ("lr", 0.0, ValueError, r"lr must be in \(0.0, 100.0\] \(got 0.0\)"),
    ("lr", 1e3, ValueError, r"lr must be in \(0.0, 100.0\] \(got 1000.0\)"),
    ("width", 2**64, ValueError, r"width must be <= 2147483647"),
    ("lr", True, TypeError, r"lr must be a real number \(got bool True\)"),
    ("weight_decay", -0.1, ValueError, r"weight_decay must be >= 0 \(got -0.1\)"),
    ("randaugment_ops", -1, ValueError, r"randaugment_ops must be >= 0 \(got -1\)"),
    ("randaugment_magnitude", 31, ValueError, r"randaugment_magnitude must be in \[0, 30\] \(got 31\)"),
    ("randaugment_magnitude", -1, ValueError, r"randaugment_magnitude must be >= 0 \(got -1\)"),
    ("random_erasing", 1.5, ValueError, r"random_erasing must be in \[0.0, 1.0\] \(got 1.5\)"),
    ("mix_prob", -0.5, ValueError, r"mix_prob must be in \[0.0, 1.0\]"),
    ("cutmix_prob", 2.0, ValueError, r"cutmix_prob must be in \[0.0, 1.0\]"),
    ("mixup_alpha", 0.0, ValueError, r"mixup_alpha must be > 0"),
    ("cutmix_alpha", -1.0, ValueError, r"cutmix_alpha must be > 0"),
    ("label_smoothing", 1.0, ValueError, r"label_smoothing must be in \[0.0, 1.0\) \(got 1.0\)"),
    ("patience", -1, ValueError, r"patience must be >= 0 \(got -1\)"),
    ("epochs", 0, ValueError, r"epochs must be >= 1 \(got 0\)"),
    ("batch_size", 0, ValueError, r"batch_size must be >= 1 \(got 0\)"),
    ("num_classes", 1, ValueError, r"num_classes must be >= 2 \(got 1\)"),
])
def test_config_rejects_bad_fields(field: str, value: object, exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        S.StackConfig(**{field: value})  # type: ignore[arg-type]


def test_piece_errors() -> None:
    x, t = distinct_images(), torch.eye(8)
    with pytest.raises(TypeError, match="config must be a StackConfig"):
        S.augment_images(x, {"randaugment_ops": 2}, generator=gen())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
        S.augment_images(x, S.StackConfig(), generator=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="config must be a StackConfig"):
        S.mix_batch(x, t, None, generator=gen())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"x must be 4-D"):
        S.mix_batch(x.flatten(1), t, S.StackConfig(), generator=gen())
    with pytest.raises(ValueError, match=r"x and targets must have the same batch size \(got 8 and 7\)"):
        S.mix_batch(x, t[:7], S.StackConfig(), generator=gen())


def test_standardize_errors() -> None:
    with pytest.raises(ValueError, match="std must be > 0 in every channel"):
        S.Standardize(torch.tensor([0.5]), torch.tensor([0.0]))
    with pytest.raises(ValueError, match="mean and std must have the same shape"):
        S.Standardize(torch.tensor([0.5, 0.5]), torch.tensor([1.0]))


def test_resnet_and_count_errors() -> None:
    with pytest.raises(ValueError, match=r"num_classes must be >= 1 \(got 0\)"):
        S.resnet50(0)
    with pytest.raises(TypeError, match=r"model must be an nn\.Module"):
        S.count_parameters([torch.zeros(2)])  # type: ignore[arg-type]


# --- Contracts: arguments checked before any work, dtypes as torch keeps them ----------------------------

def test_standardize_keeps_the_input_dtype_like_torch() -> None:
    import torch.nn.functional as F

    mean, std = torch.tensor([0.5, 0.4]), torch.tensor([0.2, 0.3])
    x = torch.rand(3, 2, 4, 4, generator=gen()).bfloat16()
    out = S.Standardize(mean, std)(x)
    assert out.dtype == torch.bfloat16
    # torch's twin, batch norm in eval mode with var = std**2, computes in float32 and rounds once: so do we
    want = F.batch_norm(x, mean.bfloat16(), (std**2).bfloat16(), training=False, eps=0.0)
    torch.testing.assert_close(out, want, rtol=2**-7, atol=2**-7)
    assert S.Standardize(mean, std)(x.double()).dtype == torch.float64


def test_standardize_and_bottleneck_check_their_input() -> None:
    std = S.Standardize(torch.tensor([0.5]), torch.tensor([0.25]))
    with pytest.raises(TypeError, match=r"x must be a floating-point torch\.Tensor"):
        std(torch.ones(1, 1, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, H, W\)"):
        std(torch.ones(1, 3, 2, 2))
    with pytest.raises(ValueError, match="x must be on the statistics' device cpu"):
        std(torch.ones(1, 1, 2, 2, device="meta"))
    with pytest.raises(ValueError, match="mean and std must be on one device"):
        S.Standardize(torch.tensor([0.5]), torch.tensor([0.25], device="meta"))
    block = S.Bottleneck(8, 4, stride=2)
    before = block.bn1.running_mean.clone()
    with pytest.raises(ValueError, match="x must give more than one value per channel"):
        block(torch.randn(1, 8, 2, 2))
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor of the weights' dtype torch.float32"):
        block(torch.randn(2, 8, 4, 4, dtype=torch.float64))
    assert torch.equal(block.bn1.running_mean, before)                      # nothing updated on a rejected call


@pytest.mark.parametrize(("call", "exc", "match"), [
    (lambda: S.resnet50(10, device=0), TypeError, r"device must be a str, torch.device or None \(got int 0\)"),
    (lambda: S.resnet50(10, device="gpu"), ValueError, r"device must name a torch device"),
    (lambda: S.resnet50(10, device="cuda:99"), ValueError, "device must be available on this machine"),
    (lambda: S.resnet50(2**64, device="meta"), ValueError, r"num_classes must be <= 2147483647"),
    (lambda: S.Bottleneck(8, 4, stride=0), ValueError, r"stride must be >= 1 \(got 0\)"),
    (lambda: S.Bottleneck(8.0, 4), TypeError, r"in_ch must be an int \(got float 8.0\)"),
    (lambda: S.augment_images(images() * 2, S.StackConfig(), generator=gen()), ValueError,
     r"x must hold images in \[0, 1\]"),
    (lambda: S.augment_images(images().expand(-1, 2, -1, -1), S.StackConfig.nothing_on(), generator=gen()),
     ValueError, r"x must have 1 or 3 channels"),
    (lambda: S.augment_images(images().to("meta"), S.StackConfig(), generator=gen()), ValueError,
     "x must hold data to be augmented"),
    (lambda: S.mix_batch(images(), torch.eye(16, device="meta"), S.StackConfig(), generator=gen()), ValueError,
     "x and targets must be on one device"),
])
def test_contract_errors(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()


def test_rejected_augmentation_draws_nothing() -> None:
    g = gen()
    state = g.get_state()
    with pytest.raises(ValueError, match="x must"):
        S.augment_images(images() + 1, S.StackConfig(), generator=g)
    assert torch.equal(g.get_state(), state)
