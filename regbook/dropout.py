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

from regbook._checks import (
    check_bool,
    check_fits_dtype,
    check_float_tensor,
    check_in_range,
    check_optional_generator,
    check_same_device,
    check_same_shape,
)

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


def _scaled_keep_probability(keep_prob: float | None, drop_prob: float | None, dtype: torch.dtype) -> float:
    """:func:`keep_probability`, and a scale :math:`1/q` that stays finite in ``dtype`` (a tiny ``keep_prob``
    would turn every survivor into inf, and ``0 * inf`` into NaN)."""
    q = keep_probability(keep_prob=keep_prob, drop_prob=drop_prob)
    check_fits_dtype("1/keep_prob" if keep_prob is not None else "1/(1 - drop_prob)", 1.0 / q, dtype)
    return q


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

    The mask is drawn in row-major order whatever ``like``'s memory layout, so
    a non-contiguous ``like`` gets the same mask as a contiguous copy.

    Args:
        like: A non-empty floating :class:`torch.Tensor` with finite entries (or a
            meta tensor); the mask takes its shape, dtype and device.
        keep_prob: Keep probability :math:`q \in (0, 1]` (give this or ``drop_prob``).
        drop_prob: Drop probability :math:`1 - q \in [0, 1)`.
        generator: A :class:`torch.Generator` on ``like``'s device type, the source
            of randomness; ``None`` means torch's default generator.

    Returns:
        A new contiguous tensor of zeros and ones with the shape, dtype and device
        of ``like``. Mutates only ``generator`` (or the default generator), by the draw.

    Raises:
        ValueError: See :func:`keep_probability`; also if ``like`` is empty or not
            finite, or ``generator`` is on another device type.
        TypeError: If ``like`` is not a floating tensor or ``generator`` not a
            :class:`torch.Generator`.

    Shape:
        Same as ``like``.

    >>> m = dropout_mask(torch.zeros(10_000), keep_prob=0.8, generator=torch.Generator().manual_seed(0))
    >>> set(m.unique().tolist()) <= {0.0, 1.0}, 0.78 < m.mean().item() < 0.82
    (True, True)
    """
    check_float_tensor("like", like)
    q = keep_probability(keep_prob=keep_prob, drop_prob=drop_prob)
    check_optional_generator("generator", generator, like)
    return torch.empty_like(like, memory_format=torch.contiguous_format).bernoulli_(q, generator=generator)


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
        h: Activations, a non-empty floating :class:`torch.Tensor` with finite
            entries, any shape, dtype and device (meta too).
        mask: Keep-mask :class:`torch.Tensor` of the same shape on the same device,
            entries 0 or 1 (bool or numeric).
        keep_prob: Keep probability :math:`q \in (0, 1]` (give this or ``drop_prob``),
            with :math:`1/q` representable in ``h``'s dtype.
        drop_prob: Drop probability :math:`1 - q \in [0, 1)`.

    Returns:
        :math:`h \odot m / q`, a new tensor of ``h``'s shape, dtype and device
        (the values of ``torch.ops.aten.native_dropout_backward(h, mask, 1/q)``).
        Nothing is mutated.

    Raises:
        ValueError: If the shapes or devices differ, the mask has entries other
            than 0 and 1, ``h`` is empty or not finite, or the probabilities are
            invalid (see :func:`keep_probability`; also a :math:`1/q` that
            overflows ``h``'s dtype).
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
    check_same_device("mask", mask, "h", h)
    if not mask.is_meta and not bool(((mask == 0) | (mask == 1)).all()):
        bad = mask[(mask != 0) & (mask != 1)].flatten()[0].item()
        raise ValueError(f"mask must contain only 0 and 1 (got {bad!r})")
    q = _scaled_keep_probability(keep_prob, drop_prob, h.dtype)
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
        h: Activations, a non-empty floating :class:`torch.Tensor` with finite
            entries, any shape, dtype and device (meta too).
        keep_prob: Keep probability :math:`q \in (0, 1]` (give this or ``drop_prob``),
            with :math:`1/q` representable in ``h``'s dtype.
        drop_prob: Drop probability :math:`1 - q \in [0, 1)`, as in ``nn.Dropout(p)``.
        training: ``True`` samples a mask and rescales; ``False`` returns ``h`` unchanged.
        generator: A :class:`torch.Generator` on ``h``'s device type, the source of
            randomness; ``None`` means torch's default generator.

    Returns:
        A new tensor in training (``h``'s shape, dtype and device; the values of
        :func:`torch.nn.functional.dropout` drawn from the same generator state);
        the input tensor itself in evaluation (as torch does). In training the
        mask is drawn in row-major order whatever ``h``'s memory layout. Mutates
        only ``generator`` (or the default generator), by the draw, in training.

    Raises:
        ValueError: See :func:`keep_probability` (also a :math:`1/q` that overflows
            ``h``'s dtype); also if ``h`` is empty or not finite, or ``generator``
            is on another device type.
        TypeError: If ``h`` is not a floating tensor, ``training`` is not a bool or
            ``generator`` not a :class:`torch.Generator`.

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
    q = _scaled_keep_probability(keep_prob, drop_prob, h.dtype)
    training = check_bool("training", training)
    check_optional_generator("generator", generator, h)
    # dropout-start
    if not training:
        return h                                                   # evaluation: h, untouched
    mask = torch.empty_like(h, memory_format=torch.contiguous_format)
    mask.bernoulli_(q, generator=generator)                        # m_i ~ Bernoulli(q)
    return h * (mask / q)                                          # (h ⊙ m) / q
    # dropout-end


class Dropout(nn.Module):
    r"""Inverted dropout as a layer, with :class:`torch.nn.Dropout`'s names and modes.

    ``p`` is the **drop** probability, as in torch; survivors are scaled by
    :math:`1/(1-p)`. Whether it drops is decided by ``self.training``, which
    ``model.train()`` and ``model.eval()`` set, and never by grad mode.
    ``p = 1`` drops everything and returns zeros in training, as torch does.

    Args:
        p: Drop probability in :math:`[0, 1]`, a real number (kept as a float).
        generator: A :class:`torch.Generator`, the source of randomness (kept, not
            copied: each training-mode call advances it); ``None`` means torch's
            default generator.

    Raises:
        TypeError: If ``p`` is not a real number or ``generator`` not a
            :class:`torch.Generator` or ``None``.
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
        self.generator = check_optional_generator("generator", generator)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """Drop and rescale in training mode; identity in evaluation mode.

        Args:
            input: A non-empty floating :class:`torch.Tensor` with finite entries,
                any shape, dtype and device (meta too); the module's generator
                must be on its device type.

        Returns:
            In training, a new tensor with :class:`torch.nn.Dropout`'s values for
            the same generator state (zeros for ``p = 1``); in evaluation, ``input``
            itself. Mutates only the generator, by the draw, in training.

        Raises:
            TypeError: If ``input`` is not a floating tensor.
            ValueError: If ``input`` is empty or not finite, or the generator is on
                another device type.
        """
        check_float_tensor("input", input)
        check_optional_generator("generator", self.generator, input)
        # layer-start
        if not self.training:             # set by model.eval(), never by torch.no_grad()
            return input
        if self.p == 1.0:                 # nothing survives; torch returns zeros
            return input * 0.0
        return dropout(input, drop_prob=self.p, training=True, generator=self.generator)
        # layer-end

    def extra_repr(self) -> str:
        return f"p={self.p}"
