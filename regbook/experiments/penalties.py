r"""The penalties chapter's experiments: L2 against decoupled decay, L1 against L2 sparsity, early stopping, over seeds.

* :func:`l2_vs_decay_gap` -- "L2 in the loss" against "decoupled weight decay"
  on seeded linear regressions, one problem per seed, all seeds in one
  stacked parameter (SGD and Adam are elementwise, so the seeds never mix).
* :func:`decay_coefficients` -- how strongly each optimizer decays weights whose
  gradients differ in scale, after a random gradient history per seed.
* :func:`l1_l2_sparsity` -- softmax regression on the digits with an L1 and an
  L2 penalty (:func:`regbook.penalties.proximal_gradient`), one subsample per
  seed, all seeds in one stacked weight tensor.
* :func:`early_stopping_curve` -- a one-hidden-layer MLP on few, noisy digits,
  trained by the harness (:func:`~regbook.experiments.harness.fit`) past its
  best epoch; :class:`regbook.early_stopping.EarlyStopping` replays each seed's
  validation losses to say when it would have stopped.

Every function takes ``seeds`` (default
:data:`~regbook.experiments.stats.BOOK_SEEDS`) and returns one value per seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from regbook._checks import (
    check_choice,
    check_count,
    check_float_tensor,
    check_in_range,
    check_int,
    check_nonnegative,
    check_positive,
)
from regbook.data import flip_labels
from regbook.early_stopping import EarlyStopping
from regbook.experiments import harness as H
from regbook.experiments.stats import BOOK_SEEDS
from regbook.penalties import AdamState, adam_step, l2_penalty, proximal_gradient, sgd_step, weight_decay_step

__all__ = [
    "EarlyStoppingResult",
    "SparsityResult",
    "decay_coefficients",
    "early_stopping_curve",
    "l1_l2_sparsity",
    "l2_vs_decay_gap",
]

NUM_CLASSES = 10


def _seed_list(seeds: Sequence[int]) -> tuple[int, ...]:
    if isinstance(seeds, int | str | bytes) or not isinstance(seeds, Sequence) or len(seeds) == 0:
        raise ValueError(f"seeds must be a non-empty sequence of ints (got {seeds!r})")
    out = tuple(check_int(f"seeds[{i}]", s, minimum=0) for i, s in enumerate(seeds))
    if len(set(out)) != len(out):
        raise ValueError(f"seeds must be distinct (got {list(out)})")
    return out


# ---------------------------------------------------------------------------
# L2 in the loss against decoupled weight decay
# ---------------------------------------------------------------------------


def _regression_problems(seeds: Sequence[int], n: int = 64, d: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """One seeded linear regression per seed (from its ``data`` stream): ``x`` (k, n, d), ``y`` (k, n), float64."""
    xs, ys = [], []
    for s in seeds:
        gen = H.seed_streams(s).data
        x = torch.randn(n, d, generator=gen, dtype=torch.float64)
        w_true = torch.randn(d, generator=gen, dtype=torch.float64)
        xs.append(x)
        ys.append(x @ w_true + 0.5 * torch.randn(n, generator=gen, dtype=torch.float64))
    return torch.stack(xs), torch.stack(ys)


def l2_vs_decay_gap(
    optimizer: str,
    *,
    lam: float = 0.1,
    lr: float = 0.01,
    steps: int = 200,
    seeds: Sequence[int] = BOOK_SEEDS,
) -> list[float]:
    r"""Per seed, the largest gap between "L2 in the loss" and "decoupled weight decay" over a run.

    Each seed fits its own linear regression (64 samples, 8 weights,
    float64) twice from :math:`w = 0`:

    * **L2 in the loss**: autograd on :math:`\text{MSE}/2 + \frac{\lambda}{2}\lVert w\rVert^2`
      (:func:`~regbook.penalties.l2_penalty`), stepped by :class:`torch.optim.SGD`
      or :class:`torch.optim.Adam` with no weight decay;
    * **decoupled decay**: autograd on the data loss only, stepped by
      :func:`~regbook.penalties.weight_decay_step` (SGD) or :class:`torch.optim.AdamW`.

    The ``k`` seeds' weights form one ``(k, 8)`` parameter; each seed's loss
    depends only on its own row and the optimizers act elementwise.

    Args:
        optimizer: ``"sgd"`` or ``"adam"``.
        lam: Penalty / decay strength :math:`\lambda > 0`.
        lr: Learning rate :math:`\eta > 0`.
        steps: Optimizer steps, ``>= 1``.
        seeds: Distinct seeds ``>= 0``.

    Returns:
        Per seed, :math:`\max_t \lVert w^{\text{L2}}_t - w^{\text{decay}}_t \rVert_\infty`:
        rounding-level for SGD, large for Adam.

    Example:
        >>> max(l2_vs_decay_gap("sgd", steps=20, seeds=[7, 8])) < 1e-12
        True
    """
    check_choice("optimizer", optimizer, ("sgd", "adam"))
    lam = check_positive("lam", lam)
    lr = check_positive("lr", lr)
    if lr * lam >= 1.0:
        raise ValueError(f"lr * lam must be < 1 so the decay factor stays positive (got lr={lr}, lam={lam})")
    steps = check_count("steps", steps)
    seed_list = _seed_list(seeds)
    x, y = _regression_problems(seed_list)

    def data_loss(w: torch.Tensor) -> torch.Tensor:   # summed over seeds: each seed's gradient is its own
        return 0.5 * ((torch.einsum("knd,kd->kn", x, w) - y) ** 2).mean(-1).sum()

    w_l2 = torch.zeros(x.shape[0], x.shape[2], dtype=torch.float64, requires_grad=True)
    w_dec = torch.zeros_like(w_l2, requires_grad=True)
    opt_dec: torch.optim.Optimizer | None = None
    if optimizer == "sgd":
        opt_l2: torch.optim.Optimizer = torch.optim.SGD([w_l2], lr=lr)
    else:
        opt_l2 = torch.optim.Adam([w_l2], lr=lr)
        opt_dec = torch.optim.AdamW([w_dec], lr=lr, weight_decay=lam)

    gap = torch.zeros(x.shape[0], dtype=torch.float64)
    for _ in range(steps):
        opt_l2.zero_grad()
        (data_loss(w_l2) + l2_penalty(w_l2, lam)).backward()
        opt_l2.step()
        if opt_dec is None:
            (g,) = torch.autograd.grad(data_loss(w_dec), w_dec)
            with torch.no_grad():
                w_dec.copy_(weight_decay_step(w_dec.detach(), g, lr=lr, weight_decay=lam))
        else:
            opt_dec.zero_grad()
            data_loss(w_dec).backward()
            opt_dec.step()
        if not bool(torch.isfinite(w_l2).all() and torch.isfinite(w_dec).all()):
            raise ValueError(f"lr = {lr} made the weights diverge; take a smaller lr")
        gap = torch.maximum(gap, (w_l2 - w_dec).detach().abs().amax(-1))
    out: list[float] = gap.tolist()
    return out


def decay_coefficients(
    grad_scales: Sequence[float],
    *,
    lam: float = 0.01,
    lr: float = 1e-3,
    history: int = 200,
    seeds: Sequence[int] = BOOK_SEEDS,
) -> dict[str, list[list[float]]]:
    r"""How strongly each optimizer decays weights whose gradients differ in scale, per seed.

    For each seed, Adam's moments are first filled with ``history`` noisy
    gradients :math:`g_i = s_i\,\xi`, :math:`\xi \sim \mathcal N(0, 1)` (the
    seed's ``data`` stream), one scale :math:`s_i` per weight. Then, from that
    same state, the same weights :math:`w = 1` and the same next gradient, one
    step is taken with and without :math:`\lambda`. The *effective decay
    coefficient* of weight :math:`i` is the extra distance the regulariser
    moved it, in units of :math:`\eta w_i`:

    .. math:: \lambda_{\text{eff}, i} = \frac{w_i^{(\lambda=0)} - w_i^{(\lambda)}}{\eta\, w_i}.

    It equals :math:`\lambda` for SGD with L2, for decoupled SGD decay and for
    AdamW, whatever the gradient scale; for Adam + L2 it shrinks as the
    gradient scale grows.

    Returns:
        ``{"sgd_l2", "sgd_decay", "adam_l2", "adamw"}`` -> one list per seed of one
        coefficient per entry of ``grad_scales``.

    Example:
        >>> c = decay_coefficients([0.01, 100.0], history=20, seeds=[7, 8])
        >>> [round(v, 6) for v in c["adamw"][0]], c["adam_l2"][1][0] > c["adam_l2"][1][1]
        ([0.01, 0.01], True)
    """
    if isinstance(grad_scales, str | bytes) or not isinstance(grad_scales, Sequence) or len(grad_scales) == 0:
        raise ValueError("grad_scales must be a non-empty sequence (got 0 scales)")
    scales = torch.tensor([check_positive(f"grad_scales[{i}]", s) for i, s in enumerate(grad_scales)],
                          dtype=torch.float64)
    lam = check_positive("lam", lam)
    lr = check_positive("lr", lr)
    if lr * lam >= 1.0:
        raise ValueError(f"lr * lam must be < 1 so the decay factor stays positive (got lr={lr}, lam={lam})")
    history = check_count("history", history)
    seed_list = _seed_list(seeds)
    gens = [H.seed_streams(s).data for s in seed_list]

    def draw() -> torch.Tensor:   # (k, S): one row of gradients per seed, from its own stream
        return torch.stack([scales * torch.randn(scales.shape, generator=g, dtype=torch.float64) for g in gens])

    w = torch.ones(len(seed_list), len(scales), dtype=torch.float64)
    state = AdamState.zeros_like(w)
    for _ in range(history):
        _, state = adam_step(w, draw(), state, lr=lr)
    g = draw()

    def coef(plain: torch.Tensor, reg: torch.Tensor) -> list[list[float]]:
        out: list[list[float]] = ((plain - reg) / (lr * w)).tolist()
        return out

    adam_plain, _ = adam_step(w, g, state, lr=lr)
    adam_l2, _ = adam_step(w, g, state, lr=lr, weight_decay=lam)
    adamw, _ = adam_step(w, g, state, lr=lr, weight_decay=lam, decoupled=True)
    sgd_plain = sgd_step(w, g, lr=lr)
    return {
        "sgd_l2": coef(sgd_plain, sgd_step(w, g, lr=lr, l2=lam)),
        "sgd_decay": coef(sgd_plain, weight_decay_step(w, g, lr=lr, weight_decay=lam)),
        "adam_l2": coef(adam_plain, adam_l2),
        "adamw": coef(adam_plain, adamw),
    }


# ---------------------------------------------------------------------------
# Sparsity: L1 against L2 on a softmax regression
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SparsityResult:
    """Softmax regressions on the digits with an L1 and an L2 penalty, one per seed.

    Per-seed lists are in the order of :attr:`seeds`; ``[penalty]`` is ``"l1"`` or ``"l2"`` (those that were run).

    Attributes:
        seeds: The seeds.
        lam: Penalty strength per penalty.
        n_train: Training digits per seed.
        steps: Proximal-gradient iterations.
        n_weights: Per seed, pixel weights that can be non-zero (10 per pixel not constant on its training split).
        zeros: Per penalty, per seed, pixel weights exactly 0 (among :attr:`n_weights`).
        zero_fraction: ``zeros / n_weights``.
        train_accuracy: Per penalty, per seed.
        test_accuracy: Per penalty, per seed (the digits not trained on).
        weights: Per penalty, ``(k, 64, 10)`` float32 pixel weights (0 for constant pixels).
    """

    seeds: tuple[int, ...]
    lam: dict[str, float]
    n_train: int
    steps: int
    n_weights: list[int]
    zeros: dict[str, list[int]]
    zero_fraction: dict[str, list[float]]
    train_accuracy: dict[str, list[float]]
    test_accuracy: dict[str, list[float]]
    weights: dict[str, torch.Tensor]


def l1_l2_sparsity(
    *,
    lam_l1: float = 0.005,
    lam_l2: float = 0.02,
    n_train: int = 500,
    steps: int = 500,
    lr: float = 0.5,
    penalties: Sequence[str] = ("l1", "l2"),
    seeds: Sequence[int] = BOOK_SEEDS,
) -> SparsityResult:
    r"""Fit softmax regression on the 8×8 digits with an L1 and with an L2 penalty, for every seed.

    Seed ``s`` draws its own ``n_train`` training digits
    (:func:`~regbook.experiments.harness.digit_splits`); the others are its
    test digits. Pixels are standardised with the training split's mean and
    standard deviation; pixels constant on that split are set to 0 and left
    out of every count (their weights would stay 0 under any penalty and
    flatter L2). Both fits start from zero and run ``steps`` iterations of
    :func:`~regbook.penalties.proximal_gradient` with step ``lr``, the bias
    unpenalised; the ``k`` seeds' weights form one ``(k, 65, 10)`` tensor and
    the objective is the sum of the seeds' mean cross-entropies, so each seed
    gets its own gradient. Float32 throughout. Zeros are counted exactly (``w == 0``), not with a tolerance.
    ``penalties`` picks which of the two fits to run (both by default).

    Raises:
        TypeError, ValueError: If an argument is out of range (named in the message).

    Example:
        >>> r = l1_l2_sparsity(n_train=200, steps=30, seeds=[7, 8])
        >>> r.zeros["l2"], all(z > 0 for z in r.zeros["l1"])
        ([0, 0], True)
    """
    lam_l1 = check_nonnegative("lam_l1", lam_l1)
    lam_l2 = check_nonnegative("lam_l2", lam_l2)
    n_train = check_int("n_train", n_train, minimum=20)
    if n_train > 1700:
        raise ValueError(f"n_train must be <= 1700 to leave a test split (got {n_train})")
    steps = check_count("steps", steps)
    lr = check_positive("lr", lr)
    if isinstance(penalties, str | bytes) or not isinstance(penalties, Sequence) or not penalties \
            or any(p not in ("l1", "l2") for p in penalties):
        raise ValueError(f"penalties must be a non-empty sequence of 'l1' and 'l2' (got {penalties!r})")
    seed_list = _seed_list(seeds)
    train, _, test = H.digit_splits(n_train, 0, seed_list)
    x_tr, x_te = train.x, test.x                                                # float32
    mean, std = x_tr.mean(1, keepdim=True), x_tr.std(1, keepdim=True)
    varying = std > 0                                                           # (k, 1, 64)
    scale = torch.where(varying, std, torch.ones_like(std))
    x_tr = torch.where(varying, (x_tr - mean) / scale, torch.zeros_like(x_tr))
    x_te = torch.where(varying, (x_te - mean) / scale, torch.zeros_like(x_te))
    k, d = len(seed_list), x_tr.shape[-1]
    x_tr1 = torch.cat([x_tr, torch.ones(k, x_tr.shape[1], 1)], -1)
    x_te1 = torch.cat([x_te, torch.ones(k, x_te.shape[1], 1)], -1)
    mask = torch.ones(k, d + 1, NUM_CLASSES, dtype=torch.bool)
    mask[:, -1] = False                                                         # the bias row
    pixel_mask = varying.squeeze(1)                                             # (k, 64)

    target = train.y.unsqueeze(-1)                                              # (k, n, 1)

    def loss_fn(w: torch.Tensor) -> torch.Tensor:   # the seeds' mean cross-entropies, summed
        logp = torch.bmm(x_tr1, w).log_softmax(-1)                              # (k, n, C)
        return -logp.gather(-1, target).mean(1).sum()

    lams = {p: lam for p, lam in (("l1", lam_l1), ("l2", lam_l2)) if p in penalties}
    zeros, frac, tr_acc, te_acc, weights = {}, {}, {}, {}, {}
    n_weights = (pixel_mask.sum(-1) * NUM_CLASSES).tolist()
    for penalty, lam in lams.items():
        w = proximal_gradient(loss_fn, torch.zeros(k, d + 1, NUM_CLASSES),
                              penalty=penalty, lam=lam, lr=lr, steps=steps, mask=mask)  # type: ignore[arg-type]
        pix = w[:, :-1]                                                         # (k, 64, C)
        z = ((pix == 0) & pixel_mask.unsqueeze(-1)).sum((-2, -1))
        zeros[penalty] = z.tolist()
        frac[penalty] = (z / torch.tensor(n_weights)).tolist()
        tr_acc[penalty] = H.accuracy(x_tr1 @ w, train.y).tolist()
        te_acc[penalty] = H.accuracy(x_te1 @ w, test.y).tolist()
        weights[penalty] = pix.detach()
    return SparsityResult(seeds=seed_list, lam=lams, n_train=n_train, steps=steps, n_weights=n_weights,
                          zeros=zeros, zero_fraction=frac, train_accuracy=tr_acc, test_accuracy=te_acc,
                          weights=weights)


# ---------------------------------------------------------------------------
# Early stopping
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EarlyStoppingResult:
    """Per-epoch curves and per-seed outcomes of :func:`early_stopping_curve` (epochs are 1-based).

    Curves are float64 tensors of shape ``(epochs, k)``; per-seed outcomes are lists in the order of :attr:`seeds`.

    Attributes:
        seeds: The seeds.
        n_train: Training digits per seed.
        n_val: Validation digits per seed.
        label_noise: Fraction of training labels replaced by a wrong class.
        hidden: Hidden units.
        epochs: Full-batch Adam epochs (one step each).
        lr: Adam's learning rate.
        patience: Patience of the replayed :class:`~regbook.early_stopping.EarlyStopping`.
        train_loss: Training cross-entropy on the noisy labels (at each step, before the update).
        val_loss: Validation cross-entropy (clean labels) after each epoch.
        weight_norm: :math:`\\lVert\\theta\\rVert_2` of all of a seed's weights and biases after each epoch.
        best_epoch: Epoch with the lowest validation loss (its weights are the ones restored).
        stop_epoch: Epoch at which :class:`~regbook.early_stopping.EarlyStopping` with ``patience``
            first says stop (0 if it never does).
        restored_test_accuracy: Test accuracy of the restored best-epoch weights.
        final_test_accuracy: Test accuracy after the last epoch.
        restored_val_loss: Validation loss of the restored weights.
    """

    seeds: tuple[int, ...]
    n_train: int
    n_val: int
    label_noise: float
    hidden: int
    epochs: int
    lr: float
    patience: int
    train_loss: torch.Tensor
    val_loss: torch.Tensor
    weight_norm: torch.Tensor
    best_epoch: list[int]
    stop_epoch: list[int]
    restored_test_accuracy: list[float]
    final_test_accuracy: list[float]
    restored_val_loss: list[float]

    def at_best(self, curve: torch.Tensor) -> list[float]:
        """Per seed, a curve's value at that seed's best epoch; ``curve`` is ``(epochs, k)`` like :attr:`val_loss`."""
        check_float_tensor("curve", curve, ndim=2)
        if curve.is_meta or tuple(curve.shape) != (self.epochs, len(self.seeds)):
            raise ValueError(f"curve must be an (epochs, k) = {(self.epochs, len(self.seeds))} tensor with values "
                             f"(got {tuple(curve.shape)}{', meta' if curve.is_meta else ''})")
        values = curve.detach()
        out: list[float] = [float(values[e - 1, i]) for i, e in enumerate(self.best_epoch)]
        return out


def early_stopping_curve(
    *,
    n_train: int = 300,
    n_val: int = 400,
    label_noise: float = 0.3,
    hidden: int = 128,
    epochs: int = 300,
    lr: float = 1e-3,
    patience: int = 20,
    seeds: Sequence[int] = BOOK_SEEDS,
) -> EarlyStoppingResult:
    """Train a one-hidden-layer MLP on few, noisy digits past the point where it starts to memorise them.

    Seed ``s`` draws its own ``n_train`` training digits, ``n_val`` validation
    digits and test digits (the rest) (:func:`~regbook.experiments.harness.digit_splits`);
    a fraction ``label_noise`` of its *training* labels is replaced by a wrong
    class (from its ``data`` stream; validation and test stay clean). The
    ``k`` seeds' networks (64 → ``hidden`` → 10, the harness's initialisation)
    train together with full-batch Adam for all ``epochs``
    (:func:`~regbook.experiments.harness.fit`), recording the validation
    loss, test accuracy and weight norm after every epoch, and keeping each
    seed's best-validation weights, which are restored at the end. Each seed's
    validation losses are then replayed through
    :class:`~regbook.early_stopping.EarlyStopping` to find where ``patience``
    epochs without improvement would have stopped it.

    Raises:
        TypeError, ValueError: If an argument is out of range (named in the message).

    Example:
        >>> r = early_stopping_curve(n_train=100, n_val=100, epochs=5, patience=2, seeds=[7, 8])
        >>> tuple(r.val_loss.shape), len(r.best_epoch)
        ((5, 2), 2)
    """
    n_train = check_int("n_train", n_train, minimum=20)
    n_val = check_int("n_val", n_val, minimum=10)
    if n_train + n_val > 1797 - 100:
        raise ValueError(f"n_train + n_val must be <= 1697 to leave 100 test digits (got {n_train + n_val})")
    label_noise = check_in_range("label_noise", label_noise, 0.0, 1.0, high_inclusive=False)
    hidden = check_count("hidden", hidden)
    epochs = check_count("epochs", epochs)
    lr = check_positive("lr", lr)
    patience = check_count("patience", patience)
    seed_list = _seed_list(seeds)

    train, val, test = H.digit_splits(n_train, n_val, seed_list)
    streams = [H.seed_streams(s) for s in seed_list]
    noisy = torch.stack([flip_labels(train.y[i], label_noise, num_classes=NUM_CLASSES, generator=s.data)
                         for i, s in enumerate(streams)])
    model = H.build_mlp(64, [hidden], NUM_CLASSES, streams=streams)

    def record(m: torch.nn.Module, step: int) -> dict[str, torch.Tensor]:
        norm_sq = sum(p.detach().double().pow(2).flatten(1).sum(-1) for p in m.parameters())
        out = {"weight_norm": torch.as_tensor(norm_sq).sqrt()}
        if step == epochs:   # full batch: one step per epoch; the last epoch's weights, before the restore
            out["test_accuracy"] = H.accuracy(m(test.x), test.y)
        return out

    fit = H.fit(model, H.SeedSplit(train.x, noisy), streams=streams, num_classes=NUM_CLASSES, epochs=epochs,
                optimizer="adam", lr=lr, val=val, patience=epochs + 1, record=record, record_every=1)
    val_loss = torch.stack(fit.val_loss)                                        # (epochs, k)
    final = fit.curve("test_accuracy")[-1]
    restored = H.evaluate(model, test)["accuracy"]
    stop = []
    for i in range(len(seed_list)):
        stopper = EarlyStopping(patience)
        stop.append(next((e for e, v in enumerate(val_loss[:, i].tolist(), 1) if stopper.step(v)), 0))
    assert fit.best_epoch is not None
    return EarlyStoppingResult(
        seeds=seed_list, n_train=n_train, n_val=n_val, label_noise=label_noise, hidden=hidden, epochs=epochs,
        lr=lr, patience=patience,
        train_loss=fit.curve("train_loss"), val_loss=val_loss, weight_norm=fit.curve("weight_norm"),
        best_epoch=fit.best_epoch.tolist(), stop_epoch=stop,
        restored_test_accuracy=restored.tolist(), final_test_accuracy=final.tolist(),
        restored_val_loss=H.evaluate(model, val)["nll"].tolist(),
    )
