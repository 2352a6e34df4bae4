r"""The dropout chapter's experiments (Hinton et al., 2012; Srivastava et al., 2014).

* :func:`ensemble_view` -- the evaluation (weight-scaled) network against
  Monte-Carlo averages of thinned networks, over seeds.
* :func:`overfitting` -- a wide MLP on few digits, with and without dropout,
  over seeds (paired: a seed's two runs share data and initial weights).
* :func:`geometric_mean_gap` -- exact enumeration of every mask of one softmax
  layer: a deterministic computation, not a seed experiment.

The MLPs are the harness's (:func:`~regbook.experiments.harness.build_mlp`
with ``dropout=`` / ``input_dropout=``, each seed's masks drawn from its own
``drop`` stream), trained by :func:`~regbook.experiments.harness.fit`, the
``k`` seeds together.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from regbook._checks import check_choice, check_count, check_in_range, check_int, check_seed, check_sequence
from regbook.dropout import keep_probability
from regbook.experiments import harness as H
from regbook.experiments.stats import BOOK_SEEDS

__all__ = [
    "EnsembleResult",
    "GeometricMeanResult",
    "OverfitResult",
    "ensemble_view",
    "geometric_mean_gap",
    "overfitting",
]


def _prob_metrics(probs: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-seed accuracy and NLL of averaged probabilities ``(k, n, C)``: the harness's metrics on their logs."""
    logp = probs.clamp_min(1e-300).log()
    return H.accuracy(logp, y), H.nll(logp, y)


@dataclass(frozen=True)
class EnsembleResult:
    """Outcome of :func:`ensemble_view` on each seed's test split; every list has one entry per seed.

    Attributes:
        seeds: The seeds.
        drop_prob: Drop probability used in training and for the thinned networks.
        n_train: Training digits per seed.
        hidden: Width of both hidden layers.
        epochs: Training epochs.
        n_test: Test digits per seed.
        train_accuracy: Accuracy of the evaluation network on its training split.
        eval_accuracy: Accuracy of the evaluation network (no mask, no scaling).
        eval_nll: Its mean negative log-likelihood.
        mc_accuracy: Per seed, the accuracy of the average of the first ``j`` thinned
            networks' softmax outputs, for ``j = 1 .. n_masks``.
        mc_nll: The same averages' NLL.
        single_accuracy: Per seed, the accuracy of each thinned network on its own.
        single_nll: Per seed, the NLL of each thinned network on its own.
    """

    seeds: tuple[int, ...]
    drop_prob: float
    n_train: int
    hidden: int
    epochs: int
    n_test: int
    train_accuracy: list[float]
    eval_accuracy: list[float]
    eval_nll: list[float]
    mc_accuracy: list[list[float]]
    mc_nll: list[list[float]]
    single_accuracy: list[list[float]]
    single_nll: list[list[float]]

    @property
    def n_masks(self) -> int:
        """Thinned networks per seed."""
        return len(self.mc_accuracy[0])

    def mean_single(self, metric: str) -> list[float]:
        """Per seed, the mean over the thinned networks of ``"accuracy"`` or ``"nll"``.

        Raises:
            ValueError: If ``metric`` is not ``"accuracy"`` or ``"nll"``.
        """
        check_choice("metric", metric, ("accuracy", "nll"))
        rows = {"accuracy": self.single_accuracy, "nll": self.single_nll}[metric]
        return [sum(r) / len(r) for r in rows]


def ensemble_view(
    *,
    n_train: int = 800,
    hidden: int = 128,
    drop_prob: float = 0.5,
    epochs: int = 20,
    batch_size: int = 50,
    lr: float = 1e-3,
    n_masks: int = 50,
    seeds: Sequence[int] = BOOK_SEEDS,
) -> EnsembleResult:
    r"""Weight scaling versus Monte-Carlo model averaging (Srivastava et al., 2014, sec. 7.5), over seeds.

    For every seed, a 64-``hidden``-``hidden``-10 ReLU MLP with dropout
    (``drop_prob``) after both hidden layers trains on the seed's ``n_train``
    digits (Adam, mini-batches of ``batch_size``, ``epochs`` epochs; the seeds
    together). On the seed's test split (all other digits) it then compares

    * the **evaluation** network: no mask, no scaling (inverted dropout's weight-scaling rule);
    * ``n_masks`` **thinned** networks, each a training-mode pass with its own
      masks (one per example and unit) over the whole test split;
    * their **Monte-Carlo average** :math:`\frac1j\sum_{i\le j}\operatorname{softmax}(f_i(x))`.

    Args:
        n_train: Training digits per seed, an int from 20 to 1700.
        hidden: Hidden width, an int in :math:`[1, 2^{31}-1]`.
        drop_prob: Drop probability in :math:`[0, 1)`.
        epochs: Epochs, an int in :math:`[1, 2^{31}-1]`.
        batch_size: Mini-batch size, an int in :math:`[1, 2^{31}-1]`.
        lr: Adam's learning rate in :math:`(0, 1]`.
        n_masks: Thinned networks per seed, an int in :math:`[1, 2^{31}-1]`.
        seeds: Seeds, a list or tuple of distinct ints ``>= 0``.

    Returns:
        An :class:`EnsembleResult`. Every argument is checked before any data is
        loaded or any network trained; all randomness comes from the seeds' own
        generators, so no global random state is read or changed.

    Raises:
        TypeError: If a setting has the wrong type (named in the message).
        ValueError: If a setting is out of range (named in the message).

    Example:
        >>> r = ensemble_view(n_train=100, hidden=16, epochs=2, n_masks=3, seeds=[7, 8])
        >>> len(r.eval_accuracy), r.n_masks, r.n_test
        (2, 3, 1697)
    """
    n_train = check_int("n_train", n_train, minimum=20)
    if n_train > 1700:
        raise ValueError(f"n_train must be <= 1700 to leave a test split (got {n_train})")
    hidden = check_count("hidden", hidden)
    drop_prob = check_in_range("drop_prob", drop_prob, 0.0, 1.0, high_inclusive=False)
    epochs = check_count("epochs", epochs)
    batch_size = check_count("batch_size", batch_size)
    lr = check_in_range("lr", lr, 0.0, 1.0, low_inclusive=False)
    n_masks = check_count("n_masks", n_masks)

    train, _, test = H.digit_splits(n_train, 0, seeds)
    streams = [H.seed_streams(s) for s in seeds]
    net = H.build_mlp(64, [hidden, hidden], 10, streams=streams, dropout=drop_prob)
    H.fit(net, train, streams=streams, num_classes=10, epochs=epochs, batch_size=batch_size, optimizer="adam", lr=lr)

    with torch.no_grad():
        net.eval()
        train_acc = H.accuracy(net(train.x), train.y)
        eval_logits = net(test.x)
        net.train()                                   # thinned networks: the masks of the seeds' drop streams
        total = torch.zeros(*test.y.shape, 10, dtype=torch.float64)
        mc_acc, mc_nll, one_acc, one_nll = [], [], [], []
        for j in range(1, n_masks + 1):
            probs = net(test.x).double().softmax(-1)
            acc, nll = _prob_metrics(probs, test.y)
            one_acc.append(acc)
            one_nll.append(nll)
            total += probs
            acc, nll = _prob_metrics(total / j, test.y)
            mc_acc.append(acc)
            mc_nll.append(nll)
        net.eval()

    def per_seed(rows: list[torch.Tensor]) -> list[list[float]]:
        return torch.stack(rows, dim=1).tolist()      # (k, n_masks)

    return EnsembleResult(
        seeds=tuple(int(s) for s in seeds),
        drop_prob=drop_prob,
        n_train=n_train,
        hidden=hidden,
        epochs=epochs,
        n_test=test.n,
        train_accuracy=train_acc.tolist(),
        eval_accuracy=H.accuracy(eval_logits, test.y).tolist(),
        eval_nll=H.nll(eval_logits, test.y).tolist(),
        mc_accuracy=per_seed(mc_acc),
        mc_nll=per_seed(mc_nll),
        single_accuracy=per_seed(one_acc),
        single_nll=per_seed(one_nll),
    )


@dataclass(frozen=True)
class OverfitResult:
    """Outcome of :func:`overfitting`: curves and final values per setting and seed.

    Lists are indexed ``[setting][seed]`` (curves ``[setting][seed][mark]``).

    Attributes:
        settings: ``(input_drop_prob, drop_prob)`` pairs, in the order trained.
        seeds: The seeds.
        n_train: Training digits per seed.
        hidden: Width of both hidden layers.
        steps: Checkpoints (optimizer steps) at which the curves were recorded.
        train_nll: Training NLL of the evaluation-mode network at each checkpoint.
        test_nll: Test NLL of the evaluation-mode network at each checkpoint.
        train_accuracy: Final training accuracy (evaluation mode).
        test_accuracy: Final test accuracy (evaluation mode).
    """

    settings: tuple[tuple[float, float], ...]
    seeds: tuple[int, ...]
    n_train: int
    hidden: int
    steps: list[int]
    train_nll: list[list[list[float]]]
    test_nll: list[list[list[float]]]
    train_accuracy: list[list[float]]
    test_accuracy: list[list[float]]

    def _setting(self, setting: object) -> int:
        return check_int("setting", setting, minimum=0, maximum=len(self.settings) - 1)

    def final_test_nll(self, setting: int) -> list[float]:
        """Per seed, the last recorded test NLL of ``settings[setting]``.

        Raises:
            TypeError: If ``setting`` is not an int.
            ValueError: If ``setting`` is not an index of :attr:`settings` (negative indices are refused).
        """
        return [c[-1] for c in self.test_nll[self._setting(setting)]]

    def nll_gap(self, setting: int) -> list[float]:
        """Per seed, the generalization gap in loss: final test NLL minus final training NLL.

        Raises:
            TypeError: If ``setting`` is not an int.
            ValueError: If ``setting`` is not an index of :attr:`settings` (negative indices are refused).
        """
        i = self._setting(setting)
        return [te[-1] - tr[-1] for te, tr in zip(self.test_nll[i], self.train_nll[i], strict=True)]

    def nll_rise(self, setting: int) -> list[float]:
        """Per seed, how far the final test NLL lies above the lowest one recorded.

        Raises:
            TypeError: If ``setting`` is not an int.
            ValueError: If ``setting`` is not an index of :attr:`settings` (negative indices are refused).
        """
        return [c[-1] - min(c) for c in self.test_nll[self._setting(setting)]]


def overfitting(
    *,
    n_train: int = 100,
    hidden: int = 128,
    settings: Sequence[tuple[float, float]] = ((0.0, 0.0), (0.2, 0.5)),
    steps: int = 200,
    lr: float = 1e-3,
    record_every: int = 25,
    seeds: Sequence[int] = BOOK_SEEDS,
) -> OverfitResult:
    r"""A wide MLP on few digits, with and without dropout (Srivastava et al., 2014), over seeds.

    For every ``(input_drop_prob, drop_prob)`` in ``settings``, the ``k``
    seeds' 64-``hidden``-``hidden``-10 ReLU MLPs train together, full batch,
    ``steps`` Adam steps on their ``n_train`` digits. The default dropout
    setting is the paper's for MNIST MLPs: 0.2 on the inputs, 0.5 after each
    hidden layer. A seed's runs share its data subsample and its initial
    weights, so per-seed differences between settings are paired. Losses are
    recorded in evaluation mode every ``record_every`` steps (and after the
    last) on the training split and on the test split (all other digits).

    Args:
        n_train: Training digits per seed, an int from 20 to 1700.
        hidden: Hidden width, an int in :math:`[1, 2^{31}-1]`.
        settings: A list or tuple of ``(input_drop_prob, drop_prob)`` pairs (each a
            list or tuple of two reals in :math:`[0, 1)`); at least one.
        steps: Full-batch Adam steps, an int in :math:`[1, 2^{31}-1]`.
        lr: Adam's learning rate in :math:`(0, 1]`.
        record_every: Steps between checkpoints, an int in :math:`[1, 2^{31}-1]`.
        seeds: Seeds, a list or tuple of distinct ints ``>= 0``.

    Returns:
        An :class:`OverfitResult`. Every argument is checked before any data is
        loaded or any network trained; all randomness comes from the seeds' own
        generators, so no global random state is read or changed.

    Raises:
        TypeError: If a setting has the wrong type (named in the message).
        ValueError: If a setting is out of range (named in the message).

    Example:
        >>> r = overfitting(n_train=50, hidden=16, steps=4, record_every=2, seeds=[7, 8])
        >>> r.steps, len(r.final_test_nll(1))
        ([2, 4], 2)
    """
    n_train = check_int("n_train", n_train, minimum=20)
    if n_train > 1700:
        raise ValueError(f"n_train must be <= 1700 to leave a test split (got {n_train})")
    hidden = check_count("hidden", hidden)
    setting_items = check_sequence("settings", settings, nonempty=False)
    if not setting_items:
        raise ValueError("settings must be a non-empty sequence of (input_drop_prob, drop_prob) pairs")
    pairs = tuple(_drop_pair(f"settings[{i}]", pair) for i, pair in enumerate(setting_items))
    steps = check_count("steps", steps)
    lr = check_in_range("lr", lr, 0.0, 1.0, low_inclusive=False)
    record_every = check_count("record_every", record_every)

    train, _, test = H.digit_splits(n_train, 0, seeds)

    def record(model: torch.nn.Module, step: int) -> dict[str, torch.Tensor]:
        return {"train_nll": H.nll(model(train.x), train.y), "test_nll": H.nll(model(test.x), test.y)}

    tr_nll, te_nll, tr_acc, te_acc = [], [], [], []
    marks: list[int] = []
    for p_in, p in pairs:
        streams = [H.seed_streams(s) for s in seeds]   # fresh: every setting starts from the same weights
        net = H.build_mlp(64, [hidden, hidden], 10, streams=streams, dropout=p, input_dropout=p_in)
        run = H.fit(net, train, streams=streams, num_classes=10, steps=steps, optimizer="adam", lr=lr,
                    record=record, record_every=record_every)
        marks = run.marks
        tr_nll.append(run.curve("train_nll").T.tolist())        # (k, marks)
        te_nll.append(run.curve("test_nll").T.tolist())
        tr_acc.append(H.evaluate(net, train)["accuracy"].tolist())
        te_acc.append(H.evaluate(net, test)["accuracy"].tolist())
    return OverfitResult(pairs, tuple(int(s) for s in seeds), n_train, hidden, marks, tr_nll, te_nll, tr_acc, te_acc)


def _drop_pair(name: str, pair: object) -> tuple[float, float]:
    """One ``(input_drop_prob, drop_prob)`` pair: a list or tuple of two reals in ``[0, 1)``."""
    items = check_sequence(name, pair)
    if len(items) != 2:
        raise ValueError(f"{name} must be a pair (input_drop_prob, drop_prob) (got {len(items)} items: {pair!r})")
    return (check_in_range(f"{name}[0]", items[0], 0.0, 1.0, high_inclusive=False),
            check_in_range(f"{name}[1]", items[1], 0.0, 1.0, high_inclusive=False))


@dataclass(frozen=True)
class GeometricMeanResult:
    """Outcome of :func:`geometric_mean_gap`.

    Attributes:
        n_masks: Number of masks enumerated, :math:`2^N`.
        geometric_gap: Largest difference between the eval softmax and the
            normalised, probability-weighted geometric mean over all masks.
        arithmetic_gap: Largest difference between the eval softmax and the
            probability-weighted arithmetic mean over all masks.
    """

    n_masks: int
    geometric_gap: float
    arithmetic_gap: float


def geometric_mean_gap(*, n_inputs: int = 10, n_classes: int = 3, keep_prob: float = 0.5,
                       seed: int = 0) -> GeometricMeanResult:
    r"""Enumerate all :math:`2^N` thinned versions of one softmax layer (deterministic: no training).

    For :math:`z(m) = W\,(x \odot m)/q + b`, the log-softmax is
    :math:`z(m) - \log\sum_k e^{z_k(m)}`, and the second term is the same for every
    class. So the probability-weighted geometric mean over all masks,
    renormalised, is :math:`\operatorname{softmax}(\mathbb E_m[z(m)]) = \operatorname{softmax}(Wx + b)`:
    exactly the eval-mode output (Hinton et al., 2012). The arithmetic mean is
    close but not equal. ``W``, ``b`` and ``x`` are standard normal (float64)
    from a generator seeded with ``seed``.

    Args:
        n_inputs: Units :math:`N`, an int from 1 to 16.
        n_classes: Classes, an int in :math:`[2, 2^{31}-1]`.
        keep_prob: Keep probability :math:`q \in (0, 1]`.
        seed: Seed of ``W``, ``b`` and ``x``, an int in :math:`[0, 2^{63}-1]`.

    Returns:
        A :class:`GeometricMeanResult`. The randomness comes from a private
        generator, so no global random state is read or changed.

    Raises:
        TypeError: If a setting has the wrong type.
        ValueError: If a setting is out of range (``n_inputs`` at most 16).

    Example:
        >>> r = geometric_mean_gap(n_inputs=4)
        >>> r.n_masks, r.geometric_gap < 1e-12
        (16, True)
    """
    n_inputs = check_int("n_inputs", n_inputs, minimum=1)
    if n_inputs > 16:
        raise ValueError(f"n_inputs must be <= 16 to enumerate 2**n_inputs masks (got {n_inputs})")
    n_classes = check_count("n_classes", n_classes, minimum=2)
    q = keep_probability(keep_prob=keep_prob)
    seed = check_seed("seed", seed)
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(n_classes, n_inputs, generator=gen, dtype=torch.float64)
    b = torch.randn(n_classes, generator=gen, dtype=torch.float64)
    x = torch.randn(n_inputs, generator=gen, dtype=torch.float64)
    masks = torch.tensor(list(itertools.product((0.0, 1.0), repeat=n_inputs)), dtype=torch.float64)
    kept = masks.sum(1)
    weight = q**kept * (1.0 - q) ** (n_inputs - kept)                  # P(mask)
    logp = torch.log_softmax((x * masks / q) @ w.T + b, dim=1)         # (2^N, classes)
    geo = torch.softmax((weight[:, None] * logp).sum(0), dim=0)        # normalised geometric mean
    arith = (weight[:, None] * logp.exp()).sum(0)                      # arithmetic mean
    eval_p = torch.softmax(w @ x + b, dim=0)                           # the evaluation network
    return GeometricMeanResult(
        n_masks=len(masks),
        geometric_gap=float((geo - eval_p).abs().max()),
        arithmetic_gap=float((arith - eval_p).abs().max()),
    )
