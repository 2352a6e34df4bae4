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

The chapter's experiments (the ensemble view, overfitting, the exact
geometric-mean identity of a softmax layer) live in
:mod:`regbook.experiments.dropout`.
"""

from __future__ import annotations

import torch
from torch import nn

from regbook._checks import check_float_tensor, check_in_range, check_same_shape

__all__ = [
    "Dropout",
    "apply_mask",
    "dropout",
    "dropout_mask",
    "keep_probability",
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
    # convention-start
    if keep_prob is not None:                       # the math's p: keep with probability q
        return check_in_range("keep_prob", keep_prob, 0.0, 1.0, low_inclusive=False)
    # nn.Dropout's p: drop with probability p, so q = 1 - p
    return 1.0 - check_in_range("drop_prob", drop_prob, 0.0, 1.0, high_inclusive=False)
    # convention-end


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
    # dropout-start
    if not _check_training(training):
        return h                                                   # evaluation: h, untouched
    mask = torch.empty_like(h).bernoulli_(q, generator=generator)  # m_i ~ Bernoulli(q)
    return h * (mask / q)                                          # (h ⊙ m) / q
    # dropout-end


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
        # layer-start
        if not self.training:             # set by model.eval(), never by torch.no_grad()
            return input
        if self.p == 1.0:                 # nothing survives; torch returns zeros
            return input * 0.0
        return dropout(input, drop_prob=self.p, training=True, generator=self.generator)
        # layer-end

    def extra_repr(self) -> str:
        return f"p={self.p}"
