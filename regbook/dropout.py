r"""Inverted dropout, from scratch, with the two probability conventions kept apart.

During training every unit of a hidden activation :math:`h` is kept with
probability :math:`q` (the *keep probability*) and silenced otherwise; the
survivors are divided by :math:`q`:

.. math::

    m_i \sim \operatorname{Bernoulli}(q), \qquad
    h_{\text{drop}} = \frac{h \odot m}{q}, \qquad
    \mathbb E[h_{\text{drop}, i}] = q\cdot\frac{h_i}{q} + (1-q)\cdot 0 = h_i .

At evaluation time nothing is dropped and nothing is scaled: :math:`h` passes
through unchanged. Because the expectation is already right during training,
the network needs no correction at test time ("inverted" dropout).

Papers and lecture notes usually call the keep probability :math:`p`;
:class:`torch.nn.Dropout` calls the *drop* probability ``p``, so
:math:`q = 1 - p` and survivors are divided by :math:`1 - p`. The pure
functions here take **exactly one** of the keyword-only arguments
``keep_prob`` and ``drop_prob``, so the convention is written at every call
site and cannot be mixed up; the module :class:`Dropout` mirrors torch and
takes the drop probability ``p``.

Experiments (Srivastava et al., 2014): :func:`ensemble_view` compares the
weight-scaled (eval) network with Monte-Carlo averages of thinned networks;
:func:`overfitting` trains a wide MLP on few digits with and without dropout;
:func:`geometric_mean_gap` checks the exact ensemble identity of a softmax layer.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from regbook._checks import check_float_tensor, check_in_range, check_int, check_same_shape
from regbook.data import digits
from regbook.models import init_linear_

__all__ = [
    "Dropout",
    "EnsembleResult",
    "GeometricMeanResult",
    "OverfitRun",
    "apply_mask",
    "dropout",
    "dropout_mask",
    "ensemble_view",
    "geometric_mean_gap",
    "keep_probability",
    "overfitting",
]


# ---------------------------------------------------------------------------
# The two conventions
# ---------------------------------------------------------------------------


def keep_probability(*, keep_prob: float | None = None, drop_prob: float | None = None) -> float:
    r"""The keep probability :math:`q`, from exactly one of the two conventions.

    ``keep_prob`` is the math's :math:`q` (:math:`m_i \sim \operatorname{Bernoulli}(q)`);
    ``drop_prob`` is :class:`torch.nn.Dropout`'s ``p``, with :math:`q = 1 - p`.
    A keep probability of 0 (drop probability 1) is refused: nothing survives,
    and the scale :math:`1/q` does not exist.

    Args:
        keep_prob: Probability of keeping a unit, in :math:`(0, 1]`.
        drop_prob: Probability of dropping a unit, in :math:`[0, 1)`.

    Returns:
        :math:`q \in (0, 1]` as a float.

    Raises:
        ValueError: If both or neither are given, or the one given is out of range.
        TypeError: If it is not a real number.

    >>> keep_probability(keep_prob=0.8), keep_probability(drop_prob=0.5)
    (0.8, 0.5)
    """
    if (keep_prob is None) == (drop_prob is None):
        raise ValueError(
            "give exactly one of keep_prob (the math's p) and drop_prob (nn.Dropout's p) "
            f"(got keep_prob={keep_prob!r}, drop_prob={drop_prob!r})"
        )
    if keep_prob is not None:
        return check_in_range("keep_prob", keep_prob, 0.0, 1.0, low_inclusive=False)
    return 1.0 - check_in_range("drop_prob", drop_prob, 0.0, 1.0, high_inclusive=False)


def _check_training(training: object) -> bool:
    if not isinstance(training, bool):
        raise TypeError(f"training must be a bool (got {type(training).__name__} {training!r})")
    return training


# ---------------------------------------------------------------------------
# Masks and the dropout function
# ---------------------------------------------------------------------------


def dropout_mask(
    like: torch.Tensor,
    *,
    keep_prob: float | None = None,
    drop_prob: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""A Bernoulli keep-mask :math:`m_i \sim \operatorname{Bernoulli}(q)` shaped like ``like``.

    Args:
        like: Any floating tensor; the mask takes its shape, dtype and device.
        keep_prob: Keep probability :math:`q \in (0, 1]` (give this or ``drop_prob``).
        drop_prob: Drop probability :math:`1 - q \in [0, 1)`.
        generator: Source of randomness; ``None`` means torch's default generator.

    Returns:
        A tensor of zeros and ones with the shape and dtype of ``like``.

    Raises:
        ValueError: See :func:`keep_probability`.
        TypeError: If ``like`` is not a floating tensor.

    Shape:
        Same as ``like``.

    >>> m = dropout_mask(torch.zeros(10_000), keep_prob=0.8, generator=torch.Generator().manual_seed(0))
    >>> set(m.unique().tolist()) <= {0.0, 1.0}, 0.78 < m.mean().item() < 0.82
    (True, True)
    """
    check_float_tensor("like", like)
    q = keep_probability(keep_prob=keep_prob, drop_prob=drop_prob)
    return torch.empty_like(like).bernoulli_(q, generator=generator)


def apply_mask(
    h: torch.Tensor,
    mask: torch.Tensor,
    *,
    keep_prob: float | None = None,
    drop_prob: float | None = None,
) -> torch.Tensor:
    r"""Inverted dropout with a given mask: :math:`h_{\text{drop}} = (h \odot m) / q`.

    Computed as ``h * (m / q)``, so a surviving unit is multiplied by the float
    nearest to :math:`1/q`, exactly as :func:`torch.nn.functional.dropout` does.

    Args:
        h: Activations, floating point, any shape.
        mask: Keep-mask of the same shape, entries 0 or 1 (bool or numeric).
        keep_prob: Keep probability :math:`q \in (0, 1]` (give this or ``drop_prob``).
        drop_prob: Drop probability :math:`1 - q \in [0, 1)`.

    Returns:
        :math:`h \odot m / q`, a new tensor of ``h``'s shape and dtype.

    Raises:
        ValueError: If the shapes differ, the mask has entries other than 0 and 1,
            or the probabilities are invalid (see :func:`keep_probability`).
        TypeError: If ``h`` is not a floating tensor or ``mask`` is not a tensor.

    Shape:
        ``h`` and ``mask``: any shape, the same; output: the same.

    The lecture's worked example, keep probability 0.5 and mask [1, 0, 1, 0]:

    >>> h = torch.tensor([2.0, 1.5, 0.5, 3.0])
    >>> apply_mask(h, torch.tensor([1.0, 0.0, 1.0, 0.0]), keep_prob=0.5).tolist()
    [4.0, 0.0, 1.0, 0.0]
    """
    check_float_tensor("h", h)
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask must be a torch.Tensor (got {type(mask).__name__})")
    check_same_shape("h", h, "mask", mask)
    if not bool(((mask == 0) | (mask == 1)).all()):
        bad = mask[(mask != 0) & (mask != 1)].flatten()[0].item()
        raise ValueError(f"mask must contain only 0 and 1 (got {bad!r})")
    q = keep_probability(keep_prob=keep_prob, drop_prob=drop_prob)
    return h * (mask.to(h.dtype) / q)


def dropout(
    h: torch.Tensor,
    *,
    keep_prob: float | None = None,
    drop_prob: float | None = None,
    training: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Inverted dropout: :math:`h \odot m / q` in training, :math:`h` itself in evaluation.

    .. math::

        h_{\text{drop}} =
        \begin{cases}
          (h \odot m)/q,\ m_i \sim \operatorname{Bernoulli}(q) & \text{training}\\
          h & \text{evaluation}
        \end{cases}
        \qquad \mathbb E[h_{\text{drop}}] = h .

    The mode is an explicit argument (never guessed from grad mode), the
    probability must be named (``keep_prob=0.8`` and ``drop_prob=0.2`` are the
    same layer), and the randomness comes from ``generator``.

    Args:
        h: Activations, floating point, any shape.
        keep_prob: Keep probability :math:`q \in (0, 1]` (give this or ``drop_prob``).
        drop_prob: Drop probability :math:`1 - q \in [0, 1)`, as in ``nn.Dropout(p)``.
        training: ``True`` samples a mask and rescales; ``False`` returns ``h`` unchanged.
        generator: Source of randomness; ``None`` means torch's default generator.

    Returns:
        A new tensor in training; the input tensor itself in evaluation (as torch does).

    Raises:
        ValueError: See :func:`keep_probability`.
        TypeError: If ``h`` is not a floating tensor or ``training`` is not a bool.

    Shape:
        Output has the shape of ``h``; every unit gets its own mask entry.

    >>> h = torch.tensor([2.0, 1.5, 0.5, 3.0])
    >>> dropout(h, keep_prob=0.5, training=False).tolist()
    [2.0, 1.5, 0.5, 3.0]
    >>> out = dropout(h, keep_prob=0.5, training=True, generator=torch.Generator().manual_seed(0))
    >>> all(v in (0.0, 2 * x) for v, x in zip(out.tolist(), h.tolist()))
    True
    """
    check_float_tensor("h", h)
    q = keep_probability(keep_prob=keep_prob, drop_prob=drop_prob)
    if not _check_training(training):
        return h
    mask = torch.empty_like(h).bernoulli_(q, generator=generator)
    return h * (mask / q)


class Dropout(nn.Module):
    r"""Inverted dropout as a layer, with :class:`torch.nn.Dropout`'s names and modes.

    ``p`` is the **drop** probability, as in torch; survivors are scaled by
    :math:`1/(1-p)`. Whether it drops is decided by ``self.training``, which
    ``model.train()`` and ``model.eval()`` set, and never by grad mode.
    ``p = 1`` drops everything and returns zeros in training, as torch does.

    Args:
        p: Drop probability in :math:`[0, 1]`.
        generator: Source of randomness; ``None`` means torch's default generator.

    Raises:
        ValueError: If ``p`` is outside :math:`[0, 1]`.

    Shape:
        Input: any shape. Output: the same shape.

    >>> layer = Dropout(0.5).eval()
    >>> layer(torch.tensor([2.0, 1.5, 0.5, 3.0])).tolist()
    [2.0, 1.5, 0.5, 3.0]
    """

    def __init__(self, p: float = 0.5, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.p = check_in_range("p", p, 0.0, 1.0)
        self.generator = generator

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """Drop and rescale in training mode; identity in evaluation mode."""
        check_float_tensor("input", input)
        if not self.training:
            return input
        if self.p == 1.0:  # nothing survives; torch returns zeros
            return input * 0.0
        return dropout(input, drop_prob=self.p, training=True, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


# ---------------------------------------------------------------------------
# Experiments
# ---------------------------------------------------------------------------


def _mlp(
    hidden: Sequence[int], drop_prob: float, generator: torch.Generator, input_drop_prob: float = 0.0
) -> nn.Sequential:
    """64 -> hidden... -> 10 ReLU MLP, :class:`Dropout` on the input and after every hidden activation."""
    layers: list[nn.Module] = [Dropout(input_drop_prob, generator=generator)] if input_drop_prob else []
    width = 64
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU(), Dropout(drop_prob, generator=generator)]
        width = h
    layers.append(nn.Linear(width, 10))
    return init_linear_(nn.Sequential(*layers), generator=generator)


def _nll_acc(logits: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    nll = torch.nn.functional.cross_entropy(logits, y).item()
    return float(nll), float((logits.argmax(1) == y).double().mean())


def _prob_nll_acc(probs: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    p_true = probs[torch.arange(len(y)), y].clamp_min(1e-12)
    return float(-p_true.log().mean()), float((probs.argmax(1) == y).double().mean())


@dataclass(frozen=True)
class EnsembleResult:
    """Outcome of :func:`ensemble_view` on the test split.

    Attributes:
        drop_prob: Drop probability used in training and for the thinned networks.
        n_test: Number of test images.
        train_accuracy: Accuracy of the eval network on its training split.
        eval_accuracy: Accuracy of the weight-scaled (eval-mode) network.
        eval_nll: Its mean negative log-likelihood.
        mc_accuracy: Accuracy of the average of the first ``k`` thinned networks'
            softmax outputs, for ``k = 1 .. n_masks``.
        mc_nll: The same averages' NLL.
        single_accuracy: Accuracy of each thinned network on its own.
        single_nll: NLL of each thinned network on its own.
    """

    drop_prob: float
    n_test: int
    train_accuracy: float
    eval_accuracy: float
    eval_nll: float
    mc_accuracy: list[float]
    mc_nll: list[float]
    single_accuracy: list[float]
    single_nll: list[float]


def ensemble_view(
    *,
    n_train: int = 800,
    hidden: int = 128,
    drop_prob: float = 0.5,
    epochs: int = 30,
    batch_size: int = 50,
    lr: float = 1e-3,
    n_masks: int = 100,
    seed: int = 0,
) -> EnsembleResult:
    r"""Weight scaling versus Monte-Carlo model averaging (Srivastava et al., 2014, sec. 7.5).

    Trains a 64-``hidden``-``hidden``-10 ReLU MLP with :class:`Dropout`
    (``drop_prob``) after both hidden layers on ``n_train`` digits (Adam,
    mini-batches). On the test split (everything :func:`regbook.data.digits`
    does not use for training) it then compares

    * the **eval** network: no mask, no scaling (inverted dropout's weight-scaling rule);
    * ``n_masks`` **thinned** networks, each a training-mode pass with its own mask
      for the whole test set;
    * their **Monte-Carlo average** :math:`\frac1k\sum_{j\le k}\operatorname{softmax}(f_j(x))`.

    Returns:
        An :class:`EnsembleResult`.

    Raises:
        ValueError: If a setting is out of range.
    """
    n_train = check_int("n_train", n_train, minimum=20)
    hidden = check_int("hidden", hidden, minimum=1)
    drop_prob = check_in_range("drop_prob", drop_prob, 0.0, 1.0, high_inclusive=False)
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_in_range("lr", lr, 0.0, 1.0, low_inclusive=False)
    n_masks = check_int("n_masks", n_masks, minimum=1)
    check_int("seed", seed)

    gen = torch.Generator().manual_seed(seed)
    train, _, test = digits(n_train, 0, seed=seed)
    net = _mlp((hidden, hidden), drop_prob, gen)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(n_train, generator=gen)
        for i in range(0, n_train, batch_size):
            idx = perm[i : i + batch_size]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(train.x[idx]), train.y[idx]).backward()
            opt.step()

    with torch.no_grad():
        net.eval()
        _, train_acc = _nll_acc(net(train.x), train.y)
        eval_nll, eval_acc = _nll_acc(net(test.x), test.y)
        net.train()
        total = torch.zeros(len(test.y), 10)
        mc_acc, mc_nll, one_acc, one_nll = [], [], [], []
        for k in range(1, n_masks + 1):
            probs = net(test.x).softmax(1)
            nll, acc = _prob_nll_acc(probs, test.y)
            one_nll.append(nll)
            one_acc.append(acc)
            total += probs
            nll, acc = _prob_nll_acc(total / k, test.y)
            mc_nll.append(nll)
            mc_acc.append(acc)
    return EnsembleResult(drop_prob, len(test.y), train_acc, eval_acc, eval_nll, mc_acc, mc_nll, one_acc, one_nll)


@dataclass(frozen=True)
class OverfitRun:
    """One training run of :func:`overfitting`.

    Attributes:
        input_drop_prob: Drop probability on the input pixels (0 = none).
        drop_prob: Drop probability after each hidden layer (0 = none).
        seed: Seed of the data split, the initialisation and the masks.
        steps: Checkpoints (optimizer steps) at which the curves were recorded.
        train_nll: Training NLL of the eval-mode network at each checkpoint.
        test_nll: Test NLL of the eval-mode network at each checkpoint.
        train_accuracy: Final training accuracy (eval mode).
        test_accuracy: Final test accuracy (eval mode).
    """

    input_drop_prob: float
    drop_prob: float
    seed: int
    steps: list[int]
    train_nll: list[float]
    test_nll: list[float]
    train_accuracy: float
    test_accuracy: float

    @property
    def nll_gap(self) -> float:
        """The generalization gap in loss, final test NLL minus final training NLL."""
        return self.test_nll[-1] - self.train_nll[-1]

    @property
    def accuracy_gap(self) -> float:
        """Final training accuracy minus final test accuracy."""
        return self.train_accuracy - self.test_accuracy


def overfitting(
    *,
    n_train: int = 100,
    hidden: int = 256,
    settings: Sequence[tuple[float, float]] = ((0.0, 0.0), (0.2, 0.5)),
    seeds: Sequence[int] = (0, 1, 2),
    steps: int = 200,
    lr: float = 1e-3,
    record_every: int = 25,
) -> list[OverfitRun]:
    r"""A wide MLP on few digits, with and without dropout (Srivastava et al., 2014).

    For every seed and every ``(input_drop_prob, drop_prob)`` in ``settings``, a
    64-``hidden``-``hidden``-10 ReLU MLP is trained full-batch with Adam on
    ``n_train`` digits for ``steps`` steps. The default dropout setting is the
    paper's for MNIST MLPs: 0.2 on the inputs, 0.5 after each hidden layer.
    For a given seed every setting sees the same data and the same initial
    weights. Losses are recorded in eval mode every ``record_every`` steps on
    the training split and on the test split (all other digits).

    Returns:
        One :class:`OverfitRun` per (seed, setting), seeds outermost.

    Raises:
        ValueError: If a setting is out of range.
    """
    n_train = check_int("n_train", n_train, minimum=20)
    hidden = check_int("hidden", hidden, minimum=1)
    pairs = [
        (check_in_range("settings[i][0]", a, 0.0, 1.0, high_inclusive=False),
         check_in_range("settings[i][1]", b, 0.0, 1.0, high_inclusive=False))
        for a, b in settings
    ]
    seed_list = [check_int("seeds[i]", s) for s in seeds]
    if not pairs or not seed_list:
        raise ValueError(f"settings and seeds must not be empty (got {len(pairs)} and {len(seed_list)})")
    steps = check_int("steps", steps, minimum=1)
    lr = check_in_range("lr", lr, 0.0, 1.0, low_inclusive=False)
    record_every = check_int("record_every", record_every, minimum=1)

    runs = []
    for seed in seed_list:
        train, _, test = digits(n_train, 0, seed=seed)
        for p_in, p in pairs:
            gen = torch.Generator().manual_seed(seed)
            net = _mlp((hidden, hidden), p, gen, input_drop_prob=p_in)
            opt = torch.optim.Adam(net.parameters(), lr=lr)
            marks, tr_nll, te_nll = [], [], []
            for step in range(1, steps + 1):
                net.train()
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(train.x), train.y).backward()
                opt.step()
                if step % record_every == 0 or step == steps:
                    net.eval()
                    with torch.no_grad():
                        marks.append(step)
                        tr_nll.append(_nll_acc(net(train.x), train.y)[0])
                        te_nll.append(_nll_acc(net(test.x), test.y)[0])
            net.eval()
            with torch.no_grad():
                _, tr_acc = _nll_acc(net(train.x), train.y)
                _, te_acc = _nll_acc(net(test.x), test.y)
            runs.append(OverfitRun(p_in, p, seed, marks, tr_nll, te_nll, tr_acc, te_acc))
    return runs


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
    r"""Enumerate all :math:`2^N` thinned versions of one softmax layer.

    For :math:`z(m) = W\,(x \odot m)/q + b`, the log-softmax is
    :math:`z(m) - \log\sum_k e^{z_k(m)}`, and the second term is the same for every
    class. So the probability-weighted geometric mean over all masks,
    renormalised, is :math:`\operatorname{softmax}(\mathbb E_m[z(m)]) = \operatorname{softmax}(Wx + b)`:
    exactly the eval-mode output (Hinton et al., 2012). The arithmetic mean is
    close but not equal. Random ``W``, ``b``, ``x`` in float64.

    Returns:
        A :class:`GeometricMeanResult`.

    Raises:
        ValueError: If a setting is out of range (``n_inputs`` at most 16).
    """
    n_inputs = check_int("n_inputs", n_inputs, minimum=1)
    if n_inputs > 16:
        raise ValueError(f"n_inputs must be <= 16 to enumerate 2**n_inputs masks (got {n_inputs})")
    n_classes = check_int("n_classes", n_classes, minimum=2)
    q = keep_probability(keep_prob=keep_prob)
    check_int("seed", seed)
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(n_classes, n_inputs, generator=gen, dtype=torch.float64)
    b = torch.randn(n_classes, generator=gen, dtype=torch.float64)
    x = torch.randn(n_inputs, generator=gen, dtype=torch.float64)
    masks = torch.tensor(list(itertools.product((0.0, 1.0), repeat=n_inputs)), dtype=torch.float64)
    kept = masks.sum(1)
    weight = q**kept * (1.0 - q) ** (n_inputs - kept)  # P(mask)
    logp = torch.log_softmax((x * masks / q) @ w.T + b, dim=1)  # (2^N, classes)
    geo = torch.softmax((weight[:, None] * logp).sum(0), dim=0)
    arith = (weight[:, None] * logp.exp()).sum(0)
    eval_p = torch.softmax(w @ x + b, dim=0)
    return GeometricMeanResult(
        n_masks=len(masks),
        geometric_gap=float((geo - eval_p).abs().max()),
        arithmetic_gap=float((arith - eval_p).abs().max()),
    )
