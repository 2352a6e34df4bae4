"""The stack chapter's and lab 6a's experiments (regbook.experiments.stack), small, on the tests' own seeds.

Expected values come from a training loop written here with torch's own pieces
(``nn.Linear``, ``nn.BatchNorm1d``, ``F.cross_entropy(label_smoothing=...)``,
``torch.optim.AdamW``), from per-seed ``nn.Conv2d``/``nn.BatchNorm2d`` modules,
or from hand arithmetic -- never from regbook.experiments.stack itself. The
effect tests rerun the experiments at a small size with
``tests.conftest.TEST_SEEDS`` (never the book's seeds) and assert on intervals.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from regbook.cifar import write_cifar_batches
from regbook.experiments import harness as H
from regbook.experiments import stack as X
from regbook.experiments.stats import estimate
from regbook.stack import StackConfig
from tests.conftest import TEST_SEEDS

SEEDS2 = list(TEST_SEEDS[:2])


@pytest.fixture(scope="module")
def small() -> tuple[H.SeedSplit, H.SeedSplit, H.SeedSplit]:
    return X.digit_images(80, 40, SEEDS2)


TINY = StackConfig.nothing_on(width=8, epochs=2, batch_size=32)


# --- The recipe is the torch loop it claims to be ----------------------------------

def torch_mlp(net: nn.Module, i: int) -> nn.Sequential:
    """Seed i of the harness MLP (Linear-BN-ReLU, Linear-BN-ReLU, Linear) as plain torch modules, same weights."""
    seeded = [m for m in net.modules() if isinstance(m, (H.SeedLinear, H.SeedNorm))]
    ref = nn.Sequential(nn.Flatten(), nn.Linear(64, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(),
                        nn.Linear(128, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(), nn.Linear(128, 10))
    plain = [m for m in ref.modules() if isinstance(m, (nn.Linear, nn.BatchNorm1d))]
    with torch.no_grad():
        for s, p in zip(seeded, plain, strict=True):
            p.weight.copy_(s.weight[i].T if isinstance(s, H.SeedLinear) else s.weight[i, 0])
            if p.bias is not None and s.bias is not None:
                p.bias.copy_(s.bias[i, 0])
    return ref


def test_full_batch_recipe_matches_a_torch_loop(small) -> None:
    # Digits have pixels that are 0 in every training image; behind BatchNorm their weights' gradients are 0 up
    # to rounding, which Adam's g / sqrt(v) blows up to +-lr. A little noise makes every pixel informative.
    noise = torch.rand(small[0].x.shape, generator=torch.Generator().manual_seed(0))
    tr = H.SeedSplit(0.9 * small[0].x + 0.1 * noise, small[0].y)
    va = small[1]
    cfg = StackConfig.nothing_on(norm="batch", weight_decay=0.05, label_smoothing=0.1, lr=1e-2, epochs=3,
                                 batch_size=tr.n)
    run = X.train_stack(cfg, tr, va, seeds=SEEDS2)
    start = X.build_model(cfg, tr, streams=[H.seed_streams(s) for s in SEEDS2])[1]   # the same initial draws
    for i in range(2):
        ref = torch_mlp(start, i)
        x, y = tr.x[i], tr.y[i]
        mean, std = x.mean(), x.std()                                   # one channel: Normalize(MEAN, STD)
        opt = torch.optim.AdamW(ref.parameters(), lr=1e-2, weight_decay=0.05)
        val_losses = []
        for _ in range(3):
            ref.train()
            loss = F.cross_entropy(ref((x - mean) / std), y, label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            ref.eval()
            with torch.no_grad():
                val_losses.append(F.cross_entropy(ref((va.x[i] - mean) / std), va.y[i]).item())
        torch.testing.assert_close(run.val_loss[:, i], torch.tensor(val_losses, dtype=torch.float64),
                                   rtol=1e-5, atol=1e-6)
        got = torch_mlp(run.model.module[1], i)
        for a, b in zip(got.parameters(), ref.parameters(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)   # 1% of one Adam step (lr = 0.01)


def test_early_stopping_keeps_each_seeds_best_epoch(small) -> None:
    tr, va, _ = small
    cfg = StackConfig.nothing_on(width=16, epochs=40, batch_size=16, lr=0.05, patience=3)
    run = X.train_stack(cfg, tr, va, seeds=SEEDS2)
    epochs_run = run.val_loss.shape[0]
    assert epochs_run < 40
    for i in range(2):
        best = int(run.val_loss[:, i].argmin()) + 1
        assert int(run.best_epoch[i]) == best


def test_a_seed_trains_the_same_alone_or_among_others() -> None:
    cfg = StackConfig(width=16, epochs=2, batch_size=32, dropout=0.2, mix_prob=1.0)
    three = list(TEST_SEEDS[:3])
    tr, va, te = X.digit_images(60, 30, three)
    together = X.train_stack(cfg, tr, va, te, seeds=three)
    tr1, va1, te1 = X.digit_images(60, 30, three[2:])
    alone = X.train_stack(cfg, tr1, va1, te1, seeds=three[2:])
    assert together.test_nll is not None and alone.test_nll is not None
    assert together.test_nll[2].item() == pytest.approx(alone.test_nll[0].item(), rel=1e-5)


def test_augment_cache_changes_nothing(small) -> None:
    tr, va, te = small
    cfg = StackConfig(width=8, epochs=3, batch_size=32, random_erasing=0.5, mix_prob=0.0, patience=0)
    plain = X.train_stack(cfg, tr, va, te, seeds=SEEDS2)
    cache = X.AugmentCache()
    first = X.train_stack(cfg, tr, va, te, seeds=SEEDS2, augment_cache=cache)
    misses = cache.misses
    again = X.train_stack(replace(cfg, weight_decay=0.5), tr, va, te, seeds=SEEDS2, augment_cache=cache)
    assert cache.hits == misses > 0                          # the second run drew every batch from the cache
    other = X.train_stack(replace(cfg, weight_decay=0.5), tr, va, te, seeds=SEEDS2)
    assert torch.equal(plain.val_loss, first.val_loss) and torch.equal(again.val_loss, other.val_loss)


def test_augment_cache_is_bounded() -> None:
    cache = X.AugmentCache(max_bytes=0)
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    state = g.get_state()
    a = cache(x, StackConfig(), g)
    g.set_state(state)
    b = cache(x, StackConfig(), g)
    assert torch.equal(a, b) and cache.hits == 0 and cache.bytes == 0


# --- The grouped-convolution CNN -------------------------------------------------------

@pytest.mark.parametrize("norm", ["batch", "group", "layer", "none"])
def test_grouped_cnn_is_k_separate_cnns(norm: str) -> None:
    streams = [H.seed_streams(s) for s in SEEDS2]
    net = X.build_cnn((1, 8, 8), 4, 10, streams=streams, norm=norm)
    x = torch.rand(2, 5, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    out = net(x)
    convs = [m for m in net.features if isinstance(m, nn.Conv2d)]
    for i in range(2):
        h = x[i]
        for layer in net.features:
            if isinstance(layer, nn.Conv2d):
                n_out = layer.out_channels // 2
                w = layer.weight[i * n_out:(i + 1) * n_out]
                b = None if layer.bias is None else layer.bias[i * n_out:(i + 1) * n_out]
                h = F.conv2d(h, w, b, padding=1)
                c = n_out
            elif isinstance(layer, nn.BatchNorm2d):
                h = F.batch_norm(h, None, None, training=True, eps=layer.eps)
            elif isinstance(layer, nn.GroupNorm):
                per_seed = layer.num_groups // 2
                h = F.group_norm(h, per_seed, eps=layer.eps)
            else:
                h = layer(h)
        want = h.flatten(1) @ net.head.weight[i] + net.head.bias[i]
        torch.testing.assert_close(out[i], want, rtol=1e-5, atol=1e-5)
    assert len(convs) == 2 and c == 8                          # stem to 4 channels, one stage to 8 (8 -> 4 px)


def test_cnn_initialisation_is_the_books_policy() -> None:
    # U(-1/sqrt(n_in), 1/sqrt(n_in)): stem fan-in 1*3*3 = 9 -> bound 1/3, seed by seed from its init stream
    streams = [H.seed_streams(s) for s in SEEDS2]
    net = X.build_cnn((1, 8, 8), 16, 10, streams=streams, norm="none")
    stem = net.features[0]
    assert stem.weight.abs().max().item() <= 1 / 3 and stem.weight.abs().max().item() > 0.9 / 3
    again = X.build_cnn((1, 8, 8), 16, 10, streams=[H.seed_streams(s) for s in SEEDS2[1:]], norm="none")
    torch.testing.assert_close(again.features[0].weight, stem.weight[16:], rtol=0, atol=0)
    assert not torch.equal(stem.weight[:16], stem.weight[16:])


def test_cnn_parameters_by_hand(small) -> None:
    # per seed, width 16: conv 1->16: 144; BN 32; conv 16->32: 4608; BN 64; linear 32*10 + 10 = 330 -> 5178
    tr, _, _ = small
    run = X.train_stack(replace(TINY, arch="cnn", width=16, norm="batch"), tr, tr, seeds=SEEDS2)
    assert run.n_parameters == 5178


def test_mlp_parameters_by_hand(small) -> None:
    # 64*32 + BN 2*32 + 32*32 + BN 2*32 + 32*10 + 10 = 2048 + 64 + 1024 + 64 + 330 = 3530
    tr, _, _ = small
    assert X.train_stack(replace(TINY, width=32, norm="batch"), tr, tr, seeds=SEEDS2).n_parameters == 3530
    # without a norm the hidden layers keep their biases: 2048 + 32 + 1024 + 32 + 330 = 3466
    assert X.train_stack(replace(TINY, width=32), tr, tr, seeds=SEEDS2).n_parameters == 3466


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_dropout_is_built_in(small, arch: str) -> None:
    tr, _, _ = small
    streams = [H.seed_streams(s) for s in SEEDS2]
    for p, random in ((0.5, True), (0.0, False)):
        net = X.build_model(replace(TINY, arch=arch, width=8, dropout=p), tr, streams=streams)
        a, b = net(tr.x[:, :4]), net(tr.x[:, :4])           # training mode: fresh masks on every call
        assert (not torch.equal(a, b)) == random
        net.eval()
        assert torch.equal(net(tr.x[:, :4]), net(tr.x[:, :4]))


def test_cnn_trains_with_dropout_on_the_cpu_device_path(small) -> None:
    tr, va, te = small
    cfg = replace(TINY, arch="cnn", width=4, dropout=0.3, mix_prob=1.0, randaugment_ops=1)
    a = X.train_stack(cfg, tr, va, te, seeds=SEEDS2, device=torch.device("cpu"))
    b = X.train_stack(cfg, tr, va, te, seeds=SEEDS2, device="cpu")
    assert torch.equal(a.val_loss, b.val_loss)
    assert a.test_accuracy is not None and bool(((a.test_accuracy >= 0) & (a.test_accuracy <= 1)).all())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cnn_runs_on_cuda(small) -> None:  # pragma: no cover - only where a GPU is present
    tr, va, te = small
    cfg = replace(TINY, arch="cnn", width=4, dropout=0.3, mix_prob=1.0, randaugment_ops=1, patience=1)
    run = X.train_stack(cfg, tr, va, te, seeds=SEEDS2, device="cuda")
    assert next(run.model.parameters()).device.type == "cuda"
    cpu = X.train_stack(cfg, tr, va, te, seeds=SEEDS2, device="cpu")
    assert run.test_accuracy is not None and cpu.test_accuracy is not None
    assert (run.test_accuracy - cpu.test_accuracy).abs().max() < 0.2     # same draws; only rounding differs


# --- The chapter's comparison, small --------------------------------------------------

@pytest.fixture(scope="module")
def comparison() -> X.Comparison:
    # the chapter's recipes and training set, half its epochs and a third of its validation set
    return X.compare(X.recipes(epochs=30), n_train=200, n_val=100, seeds=TEST_SEEDS)


def test_stack_recipes_learn_and_memorise(comparison) -> None:
    for name in comparison.runs:
        assert min(comparison.test_accuracy(name)) > 0.8                    # chance is 0.1
        assert min(comparison.train_accuracy(name)) > 0.95                  # every recipe fits its 200 digits
    assert comparison.n_test == 1797 - 300


def test_stack_effects_are_small_either_way(comparison) -> None:
    # the chapter: no recipe's paired effect on test accuracy is as large as 5 points either way
    for name, base in [("everything on", "nothing on"), ("everything but RandAugment", "nothing on"),
                       ("everything on", "everything but RandAugment")]:
        e = estimate(comparison.effect(name, base))
        assert e.n == 5
        assert e.lo > -0.05 and e.hi < 0.05, (name, base, e)


def test_comparison_effect_is_paired_by_hand() -> None:
    def run(acc: list[float]) -> X.StackRun:
        t = torch.tensor(acc, dtype=torch.float64)
        return X.StackRun(config=TINY, seeds=(0, 1), train_accuracy=t, val_accuracy=t, test_accuracy=t,
                          test_nll=t, best_epoch=torch.ones(2, dtype=torch.long), val_loss=t[None],
                          n_parameters=1, model=nn.Identity())
    cmp = X.Comparison(seeds=(0, 1), n_train=1, n_val=1, n_test=1,
                       runs={"a": run([0.9, 0.8]), "b": run([0.7, 0.85])})
    assert cmp.effect("a", "b") == pytest.approx([0.2, -0.05])


# --- Lab 6a, small ----------------------------------------------------------------------

def hand_result() -> X.SweepResult:
    grid = X.SweepGrid(weight_decay=(0.0, 0.05, 0.5), randaugment=(False, True), label_smoothing=(0.0, 0.1))
    # seed 0's val accuracies [wd][ra][ls]; seed 1's are 0.02 lower everywhere except one cell; test = val - 0.01
    seed0 = torch.tensor([[[0.90, 0.92], [0.80, 0.84]],
                          [[0.91, 0.95], [0.82, 0.86]],
                          [[0.88, 0.90], [0.70, 0.74]]], dtype=torch.float64)
    seed1 = seed0 - 0.02
    seed1[0, 0, 1] = 0.96
    val = torch.stack([seed0, seed1], dim=-1)
    return X.SweepResult(grid=grid, base=StackConfig(), seeds=(0, 1), n_train=1, n_val=1, n_test=1,
                         val_accuracy=val, test_accuracy=val - 0.01)


def test_marginals_and_effects_by_hand() -> None:
    res = hand_result()
    # seed 0, weight decay 0: (0.90 + 0.92 + 0.80 + 0.84) / 4 = 0.865; 0.05: 0.885; 0.5: 0.805
    assert res.marginal("weight_decay", metric="val")[:, 0].tolist() == pytest.approx([0.865, 0.885, 0.805])
    # seed 1, weight decay 0: (0.88 + 0.96 + 0.78 + 0.82) / 4 = 0.86
    assert res.marginal("weight_decay", metric="val")[0, 1].item() == pytest.approx(0.86)
    # RandAugment off -> on, seed 0: (0.80+0.84+0.82+0.86+0.70+0.74)/6 - (0.90+0.92+0.91+0.95+0.88+0.90)/6
    ra0 = (4.76 - 5.46) / 6
    # seed 1: every cell 0.02 lower except (wd 0, RA off, LS 0.1), which is 0.96 instead of 0.90: off side +0.08
    ra1 = ((4.76 - 6 * 0.02) - (5.46 - 5 * 0.02 + 0.04)) / 6
    assert res.effect("randaugment", 1) == pytest.approx([ra0, ra1])
    assert res.effect("weight_decay", 2, frm=1, metric="val")[0] == pytest.approx(0.805 - 0.885)


def test_best_is_chosen_on_mean_validation_accuracy() -> None:
    best = hand_result().best()
    # mean val over the two seeds: (wd 0, off, 0.1): (0.92 + 0.96)/2 = 0.94; (wd 0.05, off, 0.1): (0.95+0.93)/2 = 0.94
    # a tie: the first in grid order wins
    assert best["index"] == (0, 0, 1)
    assert best["test_accuracy"] == pytest.approx([0.91, 0.95])


def test_sweep_cells_are_reruns_of_train_stack() -> None:
    grid = X.SweepGrid(weight_decay=(0.0,), randaugment=(False, True), label_smoothing=(0.1,))
    base = X.lab_base(epochs=3)
    res = X.sweep(grid, base=base, n_train=60, n_val=30, seeds=SEEDS2)
    assert tuple(res.test_accuracy.shape) == (1, 2, 1, 2) and res.n_test == 1797 - 90
    tr, va, te = X.digit_images(60, 30, SEEDS2)
    cell = X.train_stack(replace(base, weight_decay=0.0, randaugment_ops=2, label_smoothing=0.1), tr, va, te,
                         seeds=SEEDS2)
    assert cell.test_accuracy is not None
    assert torch.equal(cell.test_accuracy, res.test_accuracy[0, 1, 0])


def test_lab_sweep_small_effects() -> None:
    # the lab's grid without its strongest decay, at half its training set and a third of its epochs, on the
    # tests' seeds: every cell learns; no knob moves the mean accuracy by much either way (the lab: every
    # interval within a few points of zero); the lecture's decay 0.05 by less than 3 points.
    grid = X.SweepGrid(weight_decay=(0.0, 0.05))
    res = X.sweep(grid, base=X.lab_base(epochs=10), n_train=150, n_val=100, seeds=TEST_SEEDS)
    assert float(res.test_accuracy.min()) > 0.7
    wd = estimate(res.effect("weight_decay", 1))
    assert wd.n == 5 and wd.lo > -0.03 and wd.hi < 0.03, wd
    for knob in ("randaugment", "label_smoothing"):
        e = estimate(res.effect(knob, 1))
        assert e.lo > -0.05 and e.hi < 0.05, (knob, e)


def test_cifar10_sweep_on_a_tiny_generated_folder(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    train_imgs = torch.randint(0, 256, (30, 3, 32, 32), generator=g, dtype=torch.uint8)
    test_imgs = torch.randint(0, 256, (10, 3, 32, 32), generator=g, dtype=torch.uint8)
    write_cifar_batches(tmp_path, train_imgs, [i % 10 for i in range(30)], test_imgs, list(range(10)))
    grid = X.SweepGrid(weight_decay=(0.0,), randaugment=(False, True), label_smoothing=(0.1,))
    base = StackConfig(arch="cnn", width=4, epochs=1, batch_size=8, mix_prob=0.5, patience=0)
    res = X.cifar10_sweep(tmp_path, grid, base=base, n_train=20, n_val=10, n_test=10, seeds=SEEDS2, device="cpu")
    assert tuple(res.val_accuracy.shape) == (1, 2, 1, 2)
    # the 10 test images have 10 different labels, so accuracies are multiples of 1/10
    assert torch.allclose(res.test_accuracy * 10, (res.test_accuracy * 10).round())
    again = X.cifar10_sweep(tmp_path, grid, base=base, n_train=20, n_val=10, n_test=10, seeds=SEEDS2)
    assert torch.equal(res.val_accuracy, again.val_accuracy)      # device=None: the same numbers on the CPU


# --- One test per error message -------------------------------------------------------------

def test_train_stack_errors(small) -> None:
    tr, va, te = small
    flat = H.SeedSplit(tr.x.flatten(2), tr.y)
    with pytest.raises(ValueError, match=r"train.x must hold images \(k, n, C, H, W\) \(got shape \(2, 80, 64\)\)"):
        X.train_stack(TINY, flat, va, seeds=SEEDS2)
    with pytest.raises(TypeError, match="config must be a StackConfig"):
        X.train_stack("stack", tr, va, seeds=SEEDS2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"val must be a SeedSplit \(got tuple\)"):
        X.train_stack(TINY, tr, (va.x, va.y), seeds=SEEDS2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"train must hold one split per seed \(3\) \(got 2\)"):
        X.train_stack(TINY, tr, va, seeds=list(TEST_SEEDS[:3]))
    with pytest.raises(ValueError, match=r"seeds must be distinct"):
        X.train_stack(TINY, tr, va, seeds=[TEST_SEEDS[0]] * 2)
    with pytest.raises(TypeError, match="seeds must be a sequence of ints"):
        X.train_stack(TINY, tr, va, seeds=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"test.y must hold class indices in \[0, 9\]"):
        X.train_stack(TINY, tr, va, H.SeedSplit(te.x, torch.where(te.y == 9, 10, te.y)), seeds=SEEDS2)
    with pytest.raises(ValueError, match=r"val.x must have images of shape \(1, 8, 8\) like train.x"):
        X.train_stack(TINY, tr, H.SeedSplit(va.x[..., :4], va.y), seeds=SEEDS2)
    with pytest.raises(TypeError, match=r"device must be a str, torch.device or None"):
        X.train_stack(TINY, tr, va, seeds=SEEDS2, device=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="device must name a torch device such as 'cpu' or 'cuda'"):
        X.train_stack(TINY, tr, va, seeds=SEEDS2, device="gpu0")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown where no GPU is present")
def test_missing_cuda_is_reported(small) -> None:
    tr, va, _ = small
    with pytest.raises(ValueError, match="device must be available on this machine"):
        X.train_stack(TINY, tr, va, seeds=SEEDS2, device="cuda")


def test_build_cnn_errors() -> None:
    streams = [H.seed_streams(0)]
    with pytest.raises(ValueError, match=r"in_shape must be \(C, H, W\)"):
        X.build_cnn((8, 8), 4, 10, streams=streams)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"width must be >= 1 \(got 0\)"):
        X.build_cnn((1, 8, 8), 0, 10, streams=streams)
    with pytest.raises(TypeError, match="streams must be a non-empty sequence of Streams"):
        X.build_cnn((1, 8, 8), 4, 10, streams=[])
    with pytest.raises(ValueError, match="norm must be one of"):
        X.build_cnn((1, 8, 8), 4, 10, streams=streams, norm="rms")
    with pytest.raises(ValueError, match=r"x must have shape \(k=1, B, C=1, H, W\)"):
        X.build_cnn((1, 8, 8), 4, 10, streams=streams)(torch.zeros(2, 3, 1, 8, 8))


def test_compare_and_sweep_errors() -> None:
    with pytest.raises(TypeError, match="configs must be a dict mapping names to StackConfig"):
        X.compare({"a": 1})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="configs must not be empty"):
        X.compare({})
    with pytest.raises(TypeError, match="grid must be a SweepGrid"):
        X.sweep({"weight_decay": (0.0,)}, n_train=20, n_val=10, seeds=SEEDS2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="base must be a StackConfig"):
        X.sweep(base={"epochs": 1}, n_train=20, n_val=10, seeds=SEEDS2)  # type: ignore[arg-type]
    res = hand_result()
    with pytest.raises(ValueError, match="knob must be one of"):
        res.marginal("dropout")
    with pytest.raises(ValueError, match="metric must be one of"):
        res.marginal("randaugment", metric="train")
    with pytest.raises(ValueError, match=r"to must be an index in \[0, 1\] \(got 2\)"):
        res.effect("randaugment", 2)
    cmp = X.Comparison(seeds=(0,), n_train=1, n_val=1, n_test=1, runs={})
    with pytest.raises(ValueError, match=r"name must be one of \(\) \(got 'b'\)"):
        cmp.test_accuracy("b")


def test_sweep_grid_errors() -> None:
    with pytest.raises(ValueError, match=r"weight_decay must be a non-empty tuple \(got \[0.0\]\)"):
        X.SweepGrid(weight_decay=[0.0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"label_smoothing must be a non-empty tuple \(got \(\)\)"):
        X.SweepGrid(label_smoothing=())
    with pytest.raises(ValueError, match=r"weight_decay must be >= 0 \(got -1.0\)"):
        X.SweepGrid(weight_decay=(0.0, -1.0))
    with pytest.raises(TypeError, match=r"randaugment must hold bools \(got int 0\)"):
        X.SweepGrid(randaugment=(0, 1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0.0, 1.0\) \(got 1.0\)"):
        X.SweepGrid(label_smoothing=(0.0, 1.0))


def test_cifar10_sweep_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="path must be a CIFAR-10 python folder"):
        X.cifar10_sweep(tmp_path, n_train=5, n_val=5, n_test=5, device="cpu")
    with pytest.raises(ValueError, match=r"n_train \+ n_val must be <= 50000 \(got 50001\)"):
        X.cifar10_sweep(tmp_path, n_train=50000, n_val=1)
    with pytest.raises(ValueError, match=r"n_test must be <= 10000 \(got 10001\)"):
        X.cifar10_sweep(tmp_path, n_test=10001)
    with pytest.raises(ValueError, match=r"n_val must be >= 1 \(got 0\)"):
        X.cifar10_sweep(tmp_path, n_val=0)
    imgs = torch.zeros(10, 3, 32, 32, dtype=torch.uint8)
    write_cifar_batches(tmp_path, imgs, [0] * 10, imgs, [0] * 10)
    with pytest.raises(ValueError, match=r"n_train \+ n_val must be <= the 10 training images"):
        X.cifar10_sweep(tmp_path, n_train=8, n_val=5, n_test=5, device="cpu")


# --- Contracts: everything checked before anything trains; the dropout-mask flake ------------------------

def test_cnn_dropout_masks_never_read_uninitialised_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CNN used to pass torch.empty(...) to dropout_mask only for its shape; dropout_mask checks its input is
    # finite, so whenever the allocator handed back memory holding a NaN bit pattern the forward pass raised
    # "like must contain only finite values" (a test failure that went away on rerun). Make every float
    # torch.empty NaN-filled: the masks must not depend on it, and must be the seeds' own Bernoulli draws.
    net = X.build_cnn((1, 8, 8), 4, 10, streams=[H.seed_streams(s) for s in SEEDS2], dropout=0.5)
    ref = X.build_cnn((1, 8, 8), 4, 10, streams=[H.seed_streams(s) for s in SEEDS2], dropout=0.5)
    x = torch.rand(2, 3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    want = ref(x)
    real_empty = torch.empty

    def poisoned(*args: object, **kwargs: object) -> torch.Tensor:
        out = real_empty(*args, **kwargs)  # type: ignore[call-overload]
        return out.fill_(float("nan")) if out.is_floating_point() else out

    monkeypatch.setattr(torch, "empty", poisoned)
    got = net(x)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_cnn_dropout_is_the_seeds_own_bernoulli_masks() -> None:
    # seed i's features times Bernoulli(1 - p) draws from its own drop stream, scaled by 1 / (1 - p)
    streams = [H.seed_streams(s) for s in SEEDS2]
    net = X.build_cnn((1, 8, 8), 4, 10, streams=streams, dropout=0.25)
    x = torch.rand(2, 3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    gens = [H.seed_streams(s).drop for s in SEEDS2]
    h = net.features(x.transpose(0, 1).reshape(3, -1, 8, 8)).reshape(3, 2, net.channels).transpose(0, 1)
    masks = torch.stack([torch.zeros(3, net.channels).bernoulli_(0.75, generator=g) for g in gens])
    want = net.head(h * masks / 0.75)
    torch.testing.assert_close(net(x), want)


def test_a_nan_activation_passes_through_dropout_as_in_torch() -> None:
    net = X.build_cnn((1, 8, 8), 4, 10, streams=[H.seed_streams(s) for s in SEEDS2], norm="none", dropout=0.3)
    x = torch.rand(2, 3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    x[0, 0, 0, 0, 0] = float("nan")
    out = net(x)                                   # no ValueError half-way through a training step
    assert out[0, 0].isnan().all() and torch.isfinite(out[1]).all()


def _trained(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(X, "fit", lambda *a, **k: calls.append("fit"))
    monkeypatch.setattr(X, "digit_images", lambda *a, **k: calls.append("data"))
    return calls


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    ({"seeds": [TEST_SEEDS[0], 2**63]}, ValueError, r"seeds\[1\] must be <="),
    ({"seeds": [TEST_SEEDS[0], -1]}, ValueError, r"seeds\[1\] must be >= 0"),
    ({"seeds": [TEST_SEEDS[0], 1.5]}, TypeError, r"seeds\[1\] must be an int"),
    ({"seeds": 4}, TypeError, "seeds must be a sequence of ints"),
    ({"seeds": "12"}, TypeError, "seeds must be a sequence of ints"),
    ({"n_train": 0}, ValueError, r"n_train must be >= 1"),
    ({"n_val": 0}, ValueError, r"n_val must be >= 1"),
    ({"n_train": True}, TypeError, r"n_train must be an int"),
])
def test_compare_and_sweep_check_every_seed_before_any_data_or_training(monkeypatch, kwargs, exc, match) -> None:
    calls = _trained(monkeypatch)
    args = {"n_train": 20, "n_val": 10, "seeds": SEEDS2, **kwargs}
    with pytest.raises(exc, match=match):
        X.compare({"a": TINY}, **args)
    with pytest.raises(exc, match=match):
        X.sweep(X.SweepGrid(weight_decay=(0.0,)), base=X.lab_base(epochs=1), **args)
    assert calls == []


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    ({"seeds": [TEST_SEEDS[0], 2**63]}, ValueError, r"seeds\[1\] must be <="),
    ({"seeds": 4}, TypeError, "seeds must be a sequence of ints"),
    ({"device": 0}, TypeError, r"device must be a str, torch.device or None \(got int 0\)"),
    ({"device": "cuda:99"}, ValueError, "device must be available on this machine"),
    ({"device": "meta"}, ValueError, "device must hold data"),
    ({"grid": {"weight_decay": (0.0,)}}, TypeError, "grid must be a SweepGrid"),
    ({"base": {"epochs": 1}}, TypeError, "base must be a StackConfig"),
    ({"path": 1}, TypeError, r"path must be a str or os.PathLike path \(got int 1\)"),
])
def test_cifar10_sweep_checks_everything_before_reading_or_training(tmp_path, monkeypatch, kwargs, exc,
                                                                     match) -> None:
    calls = _trained(monkeypatch)
    monkeypatch.setattr("regbook.cifar.load_cifar10", lambda *a, **k: calls.append("read"))
    args = {"path": tmp_path, "n_train": 4, "n_val": 2, "n_test": 2, "seeds": SEEDS2, "device": "cpu", **kwargs}
    with pytest.raises(exc, match=match):
        X.cifar10_sweep(**args)
    assert calls == []


@pytest.mark.parametrize(("split", "match"), [
    ("nan", r"train.x must contain only finite values"),
    ("range", r"train.x must hold images in \[0, 1\]"),
    ("float64", r"train.x must be float32 \(got torch.float64\)"),
    ("empty", r"train must hold at least one example per seed"),
    ("meta", r"train must hold data on the CPU"),
])
def test_train_stack_refuses_bad_images_before_building_anything(small, monkeypatch, split, match) -> None:
    calls = _trained(monkeypatch)
    tr, va, _ = small
    x = {"nan": tr.x.clone().index_fill_(1, torch.tensor([0]), float("nan")), "range": tr.x * 2,
         "float64": tr.x.double(), "empty": tr.x[:, :0], "meta": tr.x.to("meta")}[split]
    bad = H.SeedSplit(x, tr.y[:, :0] if split == "empty" else tr.y)
    with pytest.raises((TypeError, ValueError), match=match):
        X.train_stack(TINY, bad, va, seeds=SEEDS2)
    assert calls == []


def test_train_stack_checks_the_cache_and_the_records_check_their_fields(small) -> None:
    tr, va, _ = small
    with pytest.raises(TypeError, match=r"augment_cache must be an AugmentCache or None \(got dict\)"):
        X.train_stack(TINY, tr, va, seeds=SEEDS2, augment_cache={})  # type: ignore[arg-type]
    t = torch.tensor([0.9, 0.8], dtype=torch.float64)
    ok = {"config": TINY, "seeds": (0, 1), "train_accuracy": t, "val_accuracy": t, "test_accuracy": None,
          "test_nll": None, "best_epoch": torch.ones(2, dtype=torch.long), "val_loss": t[None],
          "n_parameters": 1, "model": nn.Identity()}
    X.StackRun(**ok)
    with pytest.raises(ValueError, match=r"train_accuracy must hold values in \[0.0, 1.0\]"):
        X.StackRun(**{**ok, "train_accuracy": t * 2})
    with pytest.raises(TypeError, match=r"seeds must be a tuple of ints \(got list\)"):
        X.StackRun(**{**ok, "seeds": [0, 1]})
    cmp = X.Comparison(seeds=(0, 1), n_train=1, n_val=1, n_test=1, runs={"a": X.StackRun(**ok)})
    with pytest.raises(ValueError, match="name 'a' was trained without test data"):
        cmp.test_accuracy("a")
    with pytest.raises(ValueError, match=r"baseline must be one of \('a',\) \(got 'b'\)"):
        cmp.effect("a", "b", metric="train")
    with pytest.raises(ValueError, match=r"runs\['a'\] must be trained on the seeds \(0, 2\)"):
        X.Comparison(seeds=(0, 2), n_train=1, n_val=1, n_test=1, runs={"a": X.StackRun(**ok)})


def test_on_device_and_seed_cnn_check_their_arguments() -> None:
    with pytest.raises(TypeError, match=r"device must be a str or torch.device \(got int 0\)"):
        X.OnDevice(nn.Linear(2, 1), 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"module must be an nn\.Module"):
        X.OnDevice("linear", "cpu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="x must hold data to run on cpu"):
        X.OnDevice(nn.Linear(2, 1), "cpu")(torch.zeros(3, 2, device="meta"))
    meta = X.OnDevice(nn.Linear(2, 1), "meta")(torch.zeros(3, 2))
    assert meta.is_meta and tuple(meta.shape) == (3, 1)
    net = X.build_cnn((1, 8, 8), 4, 10, streams=[H.seed_streams(0)], dropout=0.5)
    state = net.drop_generators[0].get_state()
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor of the weights' dtype torch.float32"):
        net(torch.zeros(1, 2, 1, 8, 8, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"x must have shape \(k=1, B, C=1, H, W\)"):
        net(torch.zeros(1, 2, 3, 8, 8))
    with pytest.raises(ValueError, match="x must have more than one value per channel in training mode"):
        net(torch.zeros(1, 1, 1, 1, 1))
    assert torch.equal(net.drop_generators[0].get_state(), state)        # no mask drawn for a rejected call
    with pytest.raises(ValueError, match=r"drop_generators must hold one generator per seed \(1\) \(got 2\)"):
        X.SeedCNN(net.features, net.head, seeds=1, channels=net.channels, dropout=0.5,
                  drop_generators=[torch.Generator(), torch.Generator()])
    with pytest.raises(TypeError, match=r"in_shape must be a tuple \(C, H, W\) \(got int 8\)"):
        X.build_cnn(8, 4, 10, streams=[H.seed_streams(0)])  # type: ignore[arg-type]


def test_a_diverged_run_is_recorded_not_refused() -> None:
    t = torch.tensor([0.1, 0.1], dtype=torch.float64)
    run = X.StackRun(config=TINY, seeds=(0, 1), train_accuracy=t, val_accuracy=t, test_accuracy=t,
                     test_nll=torch.tensor([float("inf"), 2.0]), best_epoch=torch.ones(2, dtype=torch.long),
                     val_loss=torch.tensor([[float("nan"), 2.3]]), n_parameters=1, model=nn.Identity())
    assert run.val_loss.isnan().any()
    with pytest.raises(ValueError, match=r"val_loss must hold values in \[0.0, inf\]"):
        X.StackRun(**{**vars(run), "val_loss": torch.tensor([[-1.0, 2.3]])})
