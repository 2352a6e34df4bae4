"""Tests for regbook.stack: the full regularization recipe and lab 6a's sweep.

Expected values come from the lecture's slide, hand arithmetic, or a training
loop written here with torch's own pieces (``F.cross_entropy``,
``torch.optim.AdamW``) -- never from regbook.stack itself.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from regbook import stack as S
from regbook.cifar import write_cifar_batches
from regbook.data import Split, digits


def as_images(split: Split) -> Split:
    return Split(split.x.reshape(-1, 1, 8, 8), split.y)


@pytest.fixture(scope="module")
def small_digits() -> tuple[Split, Split, Split]:
    tr, va, te = digits(120, 60, seed=0)
    return as_images(tr), as_images(va), as_images(te)


TINY = S.StackConfig.nothing_on(width=4, epochs=2, batch_size=32)


# --- The lecture's slide, by hand -------------------------------------------

def test_defaults_are_the_lecture_stack() -> None:
    # Lecture lines 976-990: AdamW(weight_decay=0.05), RandAugment(num_ops=2, magnitude=9),
    # RandomErasing(p=0.25), CrossEntropyLoss(label_smoothing=0.1), ResNet50(dropout=0.0) with BN.
    cfg = S.StackConfig()
    assert (cfg.weight_decay, cfg.label_smoothing) == (0.05, 0.1)
    assert (cfg.randaugment_ops, cfg.randaugment_magnitude) == (2, 9)
    assert cfg.random_erasing == 0.25
    assert (cfg.dropout, cfg.norm) == (0.0, "batch")
    assert cfg.mix_prob > 0 and cfg.patience > 0          # "conditional" Mixup, checkpoint on val


def test_nothing_on_switches_every_regularizer_off() -> None:
    cfg = S.StackConfig.nothing_on(epochs=3)
    assert (cfg.norm, cfg.dropout, cfg.weight_decay, cfg.randaugment_ops) == ("none", 0.0, 0.0, 0)
    assert (cfg.random_erasing, cfg.mix_prob, cfg.label_smoothing, cfg.patience) == (0.0, 0.0, 0.0, 0)
    assert cfg.epochs == 3


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_cnn_parameter_count_by_hand() -> None:
    # convs followed by BN have no bias. stem conv 1->16: 16*1*9 = 144; BN(16): 2*16 = 32;
    # conv 16->32: 32*16*9 = 4608; BN(32): 64; one pooling stage (8 -> 4), then linear 32->10: 32*10 + 10 = 330.
    # 144 + 32 + 4608 + 64 + 330 = 5178
    net = S.build_model(S.StackConfig(), (1, 8, 8), generator=torch.Generator().manual_seed(0))
    assert n_params(net) == 5178
    # without norm the convs keep their biases: (144 + 16) + (4608 + 32) + 330 = 5130
    plain = S.build_model(S.StackConfig.nothing_on(), (1, 8, 8), generator=torch.Generator().manual_seed(0))
    assert n_params(plain) == 5130


def test_mlp_parameter_count_by_hand() -> None:
    # 64*128 = 8192; BN 256; 128*128 = 16384; BN 256; 128*10 + 10 = 1290 -> 26378
    cfg = S.StackConfig(arch="mlp", width=128)
    assert n_params(S.build_model(cfg, (1, 8, 8), generator=torch.Generator().manual_seed(0))) == 26378
    # LayerNorm has the same 2*128 parameters as BatchNorm1d
    cfg = replace(cfg, norm="layer")
    assert n_params(S.build_model(cfg, (1, 8, 8), generator=torch.Generator().manual_seed(0))) == 26378


def test_cnn_stages_on_cifar_sized_images() -> None:
    # 32 -> 16 -> 8 -> 4: three pooling stages, channels 8 -> 16 -> 32 -> 32 (capped at 4 * width = 32)
    net = S.build_model(S.StackConfig(width=8), (3, 32, 32), generator=torch.Generator().manual_seed(0))
    assert sum(isinstance(m, nn.MaxPool2d) for m in net.modules()) == 3
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 16, 32, 32]
    assert tuple(net(torch.zeros(2, 3, 32, 32)).shape) == (2, 10)


def test_initialisation_has_torch_default_bounds() -> None:
    # kaiming_uniform with a = sqrt(5): bound = sqrt(6 / ((1 + 5) * fan_in)) = 1 / sqrt(fan_in);
    # torch's default bias bound is also 1 / sqrt(fan_in).  Stem conv: fan_in = 1*3*3 = 9 -> 1/3.
    net = S.build_model(S.StackConfig(), (1, 8, 8), generator=torch.Generator().manual_seed(0))
    conv = next(m for m in net.modules() if isinstance(m, nn.Conv2d))
    assert conv.weight.abs().max().item() <= 1 / 3 and conv.bias is None
    assert conv.weight.abs().max().item() > 0.8 / 3          # 144 uniform draws fill the range
    # std of U(-b, b) is b / sqrt(3); with b = 1/3 that is 0.19245
    lin = net[-1]
    fan_in = lin.weight.shape[1]
    assert lin.weight.std().item() == pytest.approx(1 / math.sqrt(fan_in) / math.sqrt(3), rel=0.15)


def test_same_generator_seed_same_weights() -> None:
    a = S.build_model(S.StackConfig(), (1, 8, 8), generator=torch.Generator().manual_seed(3))
    b = S.build_model(S.StackConfig(), (1, 8, 8), generator=torch.Generator().manual_seed(3))
    c = S.build_model(S.StackConfig(), (1, 8, 8), generator=torch.Generator().manual_seed(4))
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters(), strict=True):
        assert torch.equal(pa, pb)
        if pa.ndim > 1:
            assert not torch.equal(pa, pc)


def test_standardize_by_hand() -> None:
    # (1 - 0.5) / 0.25 = 2;  (0 - 0.5) / 0.25 = -2
    layer = S.Standardize(torch.tensor([0.5]), torch.tensor([0.25]))
    assert layer(torch.tensor([[[[1.0, 0.0]]]])).tolist() == [[[[2.0, -2.0]]]]


def hand_result() -> S.SweepResult:
    grid = S.SweepGrid(weight_decay=(0.0, 0.05, 0.5), randaugment=(False, True), label_smoothing=(0.0, 0.1))
    # val accuracies [wd][ra][ls]; test = val - 0.01
    val = torch.tensor([[[0.90, 0.92], [0.80, 0.84]],
                        [[0.91, 0.95], [0.82, 0.86]],
                        [[0.88, 0.90], [0.70, 0.74]]], dtype=torch.float64)
    return S.SweepResult(grid=grid, base=S.StackConfig(), seed=0, val_accuracy=val,
                         test_accuracy=val - 0.01, best_epoch=torch.ones(3, 2, 2, dtype=torch.long))


def test_marginals_by_hand() -> None:
    res = hand_result()
    # weight decay 0: (0.90 + 0.92 + 0.80 + 0.84) / 4 = 0.865; 0.05: (0.91+0.95+0.82+0.86)/4 = 0.885;
    # 0.5: (0.88 + 0.90 + 0.70 + 0.74) / 4 = 0.805
    assert res.marginal("weight_decay", metric="val") == pytest.approx([0.865, 0.885, 0.805])
    # RA off: (0.90+0.92+0.91+0.95+0.88+0.90)/6 = 5.46/6 = 0.91; on: (0.80+0.84+0.82+0.86+0.70+0.74)/6 = 0.7933
    assert res.marginal("randaugment", metric="val") == pytest.approx([0.91, 4.76 / 6])
    # LS 0: (0.90+0.80+0.91+0.82+0.88+0.70)/6 = 5.01/6; LS 0.1: (0.92+0.84+0.95+0.86+0.90+0.74)/6 = 5.21/6
    assert res.marginal("label_smoothing") == pytest.approx([5.01 / 6 - 0.01, 5.21 / 6 - 0.01])


def test_best_by_hand() -> None:
    best = hand_result().best()
    # the largest val accuracy, 0.95, is at wd = 0.05, RA off, LS 0.1
    assert best == {"weight_decay": 0.05, "randaugment": False, "label_smoothing": 0.1,
                    "val_accuracy": pytest.approx(0.95), "test_accuracy": pytest.approx(0.94)}


# --- Parity with a training loop written with torch's own pieces -------------

def test_one_full_batch_epoch_matches_a_torch_loop(small_digits) -> None:
    tr, va, _ = small_digits
    cfg = S.StackConfig.nothing_on(norm="batch", weight_decay=0.05, label_smoothing=0.1, lr=1e-2,
                                   epochs=3, batch_size=len(tr.y))
    got = S.train(cfg, tr, va, seed=2)
    # The documented contract: initial weights come from torch.Generator().manual_seed(5 * seed).
    net = S.build_model(cfg, (1, 8, 8), generator=torch.Generator().manual_seed(10))
    mean, std = tr.x.mean(dim=(0, 2, 3)).reshape(1, -1, 1, 1), tr.x.std(dim=(0, 2, 3)).reshape(1, -1, 1, 1)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=0.05)
    val_losses = []
    for _ in range(3):
        net.train()
        loss = F.cross_entropy(net((tr.x - mean) / std), tr.y, label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        net.eval()
        with torch.no_grad():
            val_losses.append(F.cross_entropy(net((va.x - mean) / std), va.y).item())
    torch.testing.assert_close(torch.tensor(got.val_loss), torch.tensor(val_losses))
    assert got.model is not None
    for p_got, p_ref in zip(got.model[1].parameters(), net.parameters(), strict=True):
        torch.testing.assert_close(p_got, p_ref)


def test_returned_model_takes_raw_images(small_digits) -> None:
    tr, va, te = small_digits
    res = S.train(TINY, tr, va, test_data=te, seed=0)
    with torch.no_grad():
        acc = (res.model(te.x).argmax(1) == te.y).double().mean().item()
    assert acc == pytest.approx(res.test_accuracy)


# --- Behaviour of the loop ----------------------------------------------------

def test_train_is_deterministic_with_everything_on(small_digits) -> None:
    tr, va, te = small_digits
    cfg = S.StackConfig(width=4, epochs=2, batch_size=32, mix_prob=1.0, dropout=0.2)
    a = S.train(cfg, tr, va, test_data=te, seed=1)
    b = S.train(cfg, tr, va, test_data=te, seed=1)
    assert a.train_loss == b.train_loss and a.val_loss == b.val_loss and a.test_accuracy == b.test_accuracy
    c = S.train(cfg, tr, va, test_data=te, seed=2)
    assert c.train_loss != a.train_loss


@pytest.mark.parametrize("cutmix_prob", [0.0, 1.0])
def test_mixed_batches_train(small_digits, cutmix_prob) -> None:
    tr, va, _ = small_digits
    cfg = S.StackConfig.nothing_on(width=4, epochs=2, batch_size=32, mix_prob=1.0, cutmix_prob=cutmix_prob)
    res = S.train(cfg, tr, va, seed=0)
    assert all(math.isfinite(v) for v in res.train_loss)
    # a mixed batch's loss differs from the plain loss of the same run
    plain = S.train(replace(cfg, mix_prob=0.0), tr, va, seed=0)
    assert res.train_loss[0] != plain.train_loss[0]


def test_early_stopping_restores_the_best_epoch(small_digits) -> None:
    tr, va, _ = small_digits
    cfg = S.StackConfig.nothing_on(width=8, epochs=40, batch_size=16, lr=0.05, patience=2)
    res = S.train(cfg, tr, va, seed=0)
    best = min(range(len(res.val_loss)), key=res.val_loss.__getitem__) + 1
    assert res.best_epoch == best
    assert res.final_val_loss == res.val_loss[best - 1]        # the best weights are back
    assert res.epochs_run < 40 and res.epochs_run == best + 2   # stopped after 2 bad epochs


def test_without_early_stopping_the_last_epoch_is_kept(small_digits) -> None:
    tr, va, _ = small_digits
    res = S.train(TINY, tr, va, seed=0)
    assert res.epochs_run == res.best_epoch == 2
    assert res.final_val_loss == res.val_loss[-1]


def test_a_last_batch_of_one_joins_the_previous_one(small_digits) -> None:
    tr, va, _ = small_digits
    # 120 = 7 * 17 + 1: without the fold, BatchNorm1d would see a batch of one and raise
    cfg = S.StackConfig.nothing_on(arch="mlp", norm="batch", width=8, epochs=1, batch_size=17)
    assert math.isfinite(S.train(cfg, tr, va, seed=0).train_loss[0])


def test_device_argument_accepts_torch_device(small_digits) -> None:
    tr, va, _ = small_digits
    a = S.train(TINY, tr, va, seed=0, device=torch.device("cpu"))
    b = S.train(TINY, tr, va, seed=0, device="cpu")
    assert a.val_loss == b.val_loss


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda(small_digits) -> None:  # pragma: no cover - only where a GPU is present
    tr, va, te = small_digits
    cfg = S.StackConfig(width=4, epochs=2, batch_size=32, mix_prob=1.0, dropout=0.2)
    res = S.train(cfg, tr, va, test_data=te, seed=0, device="cuda")
    assert next(res.model.parameters()).device.type == "cuda"
    assert 0.0 <= res.test_accuracy <= 1.0


# --- Properties ---------------------------------------------------------------

@settings(max_examples=25)
@given(arch=st.sampled_from(S.ARCHS), norm=st.sampled_from(S.NORMS), c=st.sampled_from([1, 3]),
       h=st.integers(1, 12), w=st.integers(1, 12), width=st.integers(1, 6), n=st.integers(2, 4))
def test_build_model_maps_images_to_logits(arch, norm, c, h, w, width, n) -> None:
    cfg = S.StackConfig(arch=arch, norm=norm, width=width, num_classes=3, dropout=0.5)
    net = S.build_model(cfg, (c, h, w), generator=torch.Generator().manual_seed(0))
    out = net(torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(1)))
    assert tuple(out.shape) == (n, 3) and bool(torch.isfinite(out).all())


@given(st.lists(st.floats(0, 1), min_size=12, max_size=12), st.sampled_from(["weight_decay", "randaugment",
                                                                              "label_smoothing"]))
def test_marginals_average_to_the_grid_mean(values, knob) -> None:
    res = hand_result()
    res.val_accuracy = torch.tensor(values, dtype=torch.float64).reshape(3, 2, 2)
    marg = res.marginal(knob, metric="val")
    # a balanced grid: the mean of the marginal means is the grand mean
    assert sum(marg) / len(marg) == pytest.approx(sum(values) / 12, abs=1e-12)
    assert res.best()["val_accuracy"] == max(values)


# --- Lab 6a, small --------------------------------------------------------------

@pytest.fixture(scope="module")
def lab_data() -> tuple[Split, Split, Split]:
    return tuple(as_images(s) for s in digits(200, 200, seed=0))


def test_sweep_grid_is_deterministic_and_beats_chance(lab_data) -> None:
    grid = S.SweepGrid(weight_decay=(0.0,), randaugment=(False, True), label_smoothing=(0.0, 0.1))
    base = S.StackConfig(width=16, epochs=20, lr=1e-2, patience=0, mix_prob=0.0, random_erasing=0.0)
    res = S.sweep(grid, lab_data, base=base, seed=0)
    assert tuple(res.test_accuracy.shape) == (1, 2, 2)
    assert bool((res.test_accuracy > 0.5).all())             # chance is 0.1
    # re-running one cell through train() gives the identical number
    cell = S.train(replace(base, weight_decay=0.0, randaugment_ops=2, label_smoothing=0.1), *lab_data[:2],
                   test_data=lab_data[2], seed=0)
    assert cell.test_accuracy == res.test_accuracy[0, 1, 1].item()
    # the effect the lab page shows, at a small size: RandAugment at magnitude 9 costs accuracy on 8x8 digits
    assert res.marginal("randaugment")[0] > res.marginal("randaugment")[1] + 0.05


def test_cifar10_sweep_on_a_tiny_generated_folder(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    train_imgs = torch.randint(0, 256, (30, 3, 32, 32), generator=g, dtype=torch.uint8)
    test_imgs = torch.randint(0, 256, (10, 3, 32, 32), generator=g, dtype=torch.uint8)
    write_cifar_batches(tmp_path, train_imgs, [i % 10 for i in range(30)], test_imgs, list(range(10)))
    grid = S.SweepGrid(weight_decay=(0.0,), randaugment=(False, True), label_smoothing=(0.1,))
    base = S.StackConfig(width=4, epochs=1, batch_size=8, mix_prob=0.5)
    res = S.cifar10_sweep(tmp_path, grid, base=base, n_train=20, n_val=10, n_test=10, seed=0)
    assert tuple(res.val_accuracy.shape) == (1, 2, 1)
    assert bool(((res.test_accuracy >= 0) & (res.test_accuracy <= 1)).all())
    # the 10 test images have 10 different labels, so accuracies are multiples of 1/10
    assert torch.allclose(res.test_accuracy * 10, (res.test_accuracy * 10).round())
    again = S.cifar10_sweep(tmp_path, grid, base=base, n_train=20, n_val=10, n_test=10, seed=0)
    assert torch.equal(res.val_accuracy, again.val_accuracy)


def test_cifar10_sweep_default_device_is_usable(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (10, 3, 32, 32), generator=g, dtype=torch.uint8)
    write_cifar_batches(tmp_path, imgs, list(range(10)), imgs, list(range(10)))
    grid = S.SweepGrid(weight_decay=(0.0,), randaugment=(False,), label_smoothing=(0.0,))
    res = S.cifar10_sweep(tmp_path, grid, base=TINY, n_train=6, n_val=4, n_test=4)  # device=None: auto
    assert res.val_accuracy.shape == (1, 1, 1)


# --- One test per error message -------------------------------------------------

@pytest.mark.parametrize(("field", "value", "exc", "match"), [
    ("arch", "resnet", ValueError, r"arch must be one of \('cnn', 'mlp'\) \(got 'resnet'\)"),
    ("width", 0, ValueError, r"width must be >= 1 \(got 0\)"),
    ("width", 2.0, TypeError, r"width must be an int \(got float 2.0\)"),
    ("norm", "instance", ValueError, r"norm must be one of"),
    ("dropout", 1.0, ValueError, r"dropout must be in \[0.0, 1.0\) \(got 1.0\)"),
    ("lr", 0.0, ValueError, r"lr must be > 0 \(got 0.0\)"),
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
def test_config_rejects_bad_fields(field, value, exc, match) -> None:
    with pytest.raises(exc, match=match):
        S.StackConfig(**{field: value})


def test_build_model_errors() -> None:
    g = torch.Generator()
    with pytest.raises(TypeError, match="config must be a StackConfig"):
        S.build_model({"arch": "cnn"}, (1, 8, 8), generator=g)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
        S.build_model(S.StackConfig(), (1, 8, 8), generator=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"in_shape must be \(C, H, W\)"):
        S.build_model(S.StackConfig(), (8, 8), generator=g)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"in_shape\[0\] must be >= 1 \(got 0\)"):
        S.build_model(S.StackConfig(), (0, 8, 8), generator=g)


def test_standardize_errors() -> None:
    with pytest.raises(ValueError, match="std must be > 0 in every channel"):
        S.Standardize(torch.tensor([0.5]), torch.tensor([0.0]))
    with pytest.raises(ValueError, match="mean and std must have the same shape"):
        S.Standardize(torch.tensor([0.5, 0.5]), torch.tensor([1.0]))


def test_train_rejects_flat_digits(small_digits) -> None:
    tr, va, _ = small_digits
    flat = Split(tr.x.reshape(len(tr.y), 64), tr.y)
    with pytest.raises(ValueError, match=r"train_data.x must be 4-D \(got 2-D, shape \(120, 64\)\)"):
        S.train(TINY, flat, va)


def test_train_errors(small_digits) -> None:
    tr, va, te = small_digits
    with pytest.raises(TypeError, match="config must be a StackConfig"):
        S.train("stack", tr, va)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"val_data must be a regbook.data.Split \(got tuple\)"):
        S.train(TINY, tr, (va.x, va.y))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"train_data\.x must have a floating-point dtype"):
        S.train(TINY, Split((tr.x * 16).to(torch.uint8), tr.y), va)
    with pytest.raises(TypeError, match=r"train_data\.y must be a 1-D int64 tensor"):
        S.train(TINY, Split(tr.x, tr.y.int()), va)
    with pytest.raises(ValueError, match=r"train_data.x and train_data.y must have the same length \(got 120 and 11"):
        S.train(TINY, Split(tr.x, tr.y[:-1]), va)
    with pytest.raises(ValueError, match=r"test_data.y must hold class indices in \[0, 9\] \(got 0..10\)"):
        S.train(TINY, tr, va, test_data=Split(te.x, torch.where(te.y == 9, 10, te.y)))
    with pytest.raises(ValueError, match=r"train_data must hold at least 2 images \(got 1\)"):
        S.train(TINY, Split(tr.x[:1], tr.y[:1]), va)
    with pytest.raises(ValueError, match=r"val_data.x must have images of shape \(1, 8, 8\) like train_data.x"):
        S.train(TINY, tr, Split(va.x[:, :, :4], va.y))
    with pytest.raises(ValueError, match=r"seed must be >= 0 \(got -1\)"):
        S.train(TINY, tr, va, seed=-1)


def test_device_errors(small_digits) -> None:
    tr, va, _ = small_digits
    with pytest.raises(TypeError, match=r"device must be a str or torch\.device"):
        S.train(TINY, tr, va, device=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="device must name a torch device such as 'cpu' or 'cuda'"):
        S.train(TINY, tr, va, device="gpu0")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown where no GPU is present")
def test_missing_cuda_is_reported(small_digits) -> None:
    tr, va, _ = small_digits
    with pytest.raises(ValueError, match="device must be available on this machine"):
        S.train(TINY, tr, va, device="cuda")


def test_sweep_grid_errors() -> None:
    with pytest.raises(ValueError, match=r"weight_decay must be a non-empty tuple \(got \[0.0\]\)"):
        S.SweepGrid(weight_decay=[0.0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"label_smoothing must be a non-empty tuple \(got \(\)\)"):
        S.SweepGrid(label_smoothing=())
    with pytest.raises(ValueError, match=r"weight_decay must be >= 0 \(got -1.0\)"):
        S.SweepGrid(weight_decay=(0.0, -1.0))
    with pytest.raises(TypeError, match=r"randaugment must hold bools \(got int 0\)"):
        S.SweepGrid(randaugment=(0, 1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0.0, 1.0\) \(got 1.0\)"):
        S.SweepGrid(label_smoothing=(0.0, 1.0))


def test_sweep_errors(small_digits) -> None:
    with pytest.raises(TypeError, match="grid must be a SweepGrid"):
        S.sweep({"weight_decay": (0.0,)}, small_digits)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"data must be a tuple \(train, val, test\)"):
        S.sweep(S.SweepGrid(), small_digits[:2])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="base must be a StackConfig"):
        S.sweep(S.SweepGrid(), small_digits, base={"epochs": 1})  # type: ignore[arg-type]


def test_marginal_errors() -> None:
    with pytest.raises(ValueError, match="knob must be one of"):
        hand_result().marginal("dropout")
    with pytest.raises(ValueError, match="metric must be one of"):
        hand_result().marginal("randaugment", metric="train")


def test_cifar10_sweep_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="path must be a CIFAR-10 python folder"):
        S.cifar10_sweep(tmp_path, n_train=5, n_val=5, n_test=5)
    with pytest.raises(ValueError, match=r"n_train \+ n_val must be <= 50000 \(got 50001\)"):
        S.cifar10_sweep(tmp_path, n_train=50000, n_val=1)
    with pytest.raises(ValueError, match=r"n_test must be <= 10000 \(got 10001\)"):
        S.cifar10_sweep(tmp_path, n_test=10001)
    with pytest.raises(ValueError, match=r"n_val must be >= 1 \(got 0\)"):
        S.cifar10_sweep(tmp_path, n_val=0)
    imgs = torch.zeros(10, 3, 32, 32, dtype=torch.uint8)
    write_cifar_batches(tmp_path, imgs, [0] * 10, imgs, [0] * 10)
    with pytest.raises(ValueError, match=r"n_train \+ n_val must be <= the 10 training images"):
        S.cifar10_sweep(tmp_path, n_train=8, n_val=5, n_test=5)


# --- The chapter's experiments, small --------------------------------------------

@pytest.fixture(scope="module")
def stack_data() -> tuple[Split, Split, Split]:
    return tuple(as_images(s) for s in digits(200, 300, seed=0))


def test_stack_without_randaugment_beats_nothing_on(stack_data) -> None:
    # one seed of the chapter's comparison, with fewer epochs
    cfgs = {"nothing on": S.StackConfig.nothing_on(epochs=40, lr=1e-2),
            "everything on": S.StackConfig(epochs=40, lr=1e-2, patience=10),
            "no RandAugment": S.StackConfig(epochs=40, lr=1e-2, patience=10, randaugment_ops=0)}
    cmp = S.compare(cfgs, stack_data, seeds=(0,))
    plain, full, no_ra = (cmp.test_accuracy(k)[0] for k in cfgs)
    assert min(plain, full, no_ra) > 0.8                      # chance is 0.1
    assert cmp.train_accuracy("nothing on")[0] > 0.97         # nothing on memorises the 200 images
    assert no_ra > plain + 0.02 and no_ra > full + 0.02       # RandAugment at M = 9 is what costs


def test_lab_cells_with_randaugment_on() -> None:
    # lab 6a's cells with RandAugment on, at the lab's size: weight decay 0 / 0.5, label smoothing 0 / 0.1
    data = tuple(as_images(s) for s in digits(300, 300, seed=0))
    base = S.StackConfig(epochs=30, lr=1e-2, patience=0, mix_prob=0.0, random_erasing=0.0)
    grid = S.SweepGrid(weight_decay=(0.0, 0.5), randaugment=(True,), label_smoothing=(0.0, 0.1))
    acc = S.sweep(grid, data, base=base, seed=0).test_accuracy[:, 0, :]
    assert bool((acc[:, 1] > acc[:, 0]).all())              # label smoothing helps at both decays
    assert acc[1, 1] > acc[1, 0] + 0.02                       # most where the model struggles
    assert bool((acc[1] < acc[0] - 0.03).all())               # weight decay 0.5 is too much


def test_compare_errors(small_digits) -> None:
    with pytest.raises(TypeError, match="configs must be a dict mapping names to StackConfig"):
        S.compare({"a": 1}, small_digits)  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="configs must not be empty"):
        S.compare({}, small_digits)
    with pytest.raises(TypeError, match=r"data must be a tuple \(train, val, test\)"):
        S.compare({"a": TINY}, list(small_digits))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"seeds must be a non-empty tuple of ints \(got \(\)\)"):
        S.compare({"a": TINY}, small_digits, seeds=())
    cmp = S.compare({"a": TINY}, small_digits, seeds=(0,))
    with pytest.raises(ValueError, match=r"name must be one of \('a',\) \(got 'b'\)"):
        cmp.test_accuracy("b")
