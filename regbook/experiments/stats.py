r"""Effects over seeds: the mean, a 95% interval, and the status the ledger gives a claim.

Every measured effect in the book is a list of per-seed values (one training
run per seed, each seed drawing its own initialisation, data order and, where
the experiment subsamples data, its own subsample). :func:`estimate` turns
them into an :class:`Estimate`: the mean, a two-sided 95% **Student-t**
interval :math:`\bar x \pm t_{0.975,\,n-1}\, s/\sqrt n` (``s`` the sample
standard deviation) and ``n``. :func:`claim_status` is the one rule that
turns an interval into a claim's status; the claims ledger and the chapters
both call it.

This module imports neither torch nor numpy, so the Sphinx process (the
claims ledger) can use it cheaply.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BOOK_SEEDS",
    "CONFIDENCE",
    "MIME",
    "Estimate",
    "claim_status",
    "estimate",
    "paired",
    "t_quantile",
]

#: The seeds every chapter trains with. Tests use other seeds (``tests/conftest.py``).
BOOK_SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)
#: Coverage of every interval in the book.
CONFIDENCE = 0.95
#: The MIME type under which a glued :class:`Estimate` carries its numbers.
MIME = "application/vnd.regbook.estimate+json"

Direction = Literal["+", "-"]
Status = Literal["reproduced", "not-reproduced", "inconclusive"]


def t_quantile(p: float, df: int) -> float:
    """The ``p``-quantile of Student's t distribution with ``df`` degrees of freedom.

    Computed by bisection on the regularized incomplete beta function
    (``math.lgamma`` and a continued fraction), so no SciPy is needed.

    Args:
        p: Probability in ``(0, 1)``.
        df: Degrees of freedom, ``>= 1``.

    Raises:
        ValueError: If ``p`` is outside ``(0, 1)`` or ``df < 1``.

    Example:
        >>> round(t_quantile(0.975, 4), 3)  # the textbook table's 2.776
        2.776
    """
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 < p < 1.0:
        raise ValueError(f"p must be a probability in (0, 1) (got {p!r})")
    if isinstance(df, bool) or not isinstance(df, int) or df < 1:
        raise ValueError(f"df must be an int >= 1 (got {df!r})")
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _t_cdf(t: float, df: int) -> float:
    x = df / (df + t * t)
    tail = 0.5 * _betainc(0.5 * df, 0.5, x)
    return 1.0 - tail if t > 0 else tail


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) (Numerical Recipes' continued fraction)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - _betainc(b, a, 1.0 - x)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return front * h / a


@dataclass(frozen=True)
class Estimate:
    """A per-seed quantity summarised: mean, 95% Student-t interval ``[lo, hi]``, ``n`` seeds.

    Attributes:
        mean: Mean over seeds.
        lo: Lower end of the 95% t interval.
        hi: Upper end.
        n: Number of seeds (independent runs).
        values: The per-seed values, in seed order.
        unit: A short unit for display (``"pts"``, ``""``, ...).
        scale: Display multiplier (``100`` shows a fraction as points).
        digits: Decimals shown.

    Its text form (what ``glue`` shows) is ``"+2.5 pts [1.1, 3.9], 5 seeds"``.

    Example:
        >>> e = estimate([0.01, 0.02, 0.03, 0.04, 0.05], unit="pts", scale=100, digits=1)
        >>> str(e)
        '+3.0 pts [1.0, 5.0], 5 seeds'
        >>> claim_status(e, "+"), claim_status(e, "-")
        ('reproduced', 'not-reproduced')
    """

    mean: float
    lo: float
    hi: float
    n: int
    values: tuple[float, ...]
    unit: str = ""
    scale: float = 1.0
    digits: int = 2

    @property
    def half_width(self) -> float:
        """Half the interval's width."""
        return 0.5 * (self.hi - self.lo)

    def excludes_zero(self) -> bool:
        """Whether the whole interval lies on one side of zero."""
        return self.lo > 0 or self.hi < 0

    def text(self, *, signed: bool = True) -> str:
        """``"+2.5 pts [1.1, 3.9], 5 seeds"`` (``signed=False``: no ``+`` on the mean)."""
        s, d = self.scale, self.digits
        mean = f"{self.mean * s:+.{d}f}" if signed else f"{self.mean * s:.{d}f}"
        unit = f" {self.unit}" if self.unit else ""
        return f"{mean}{unit} [{self.lo * s:.{d}f}, {self.hi * s:.{d}f}], {self.n} seeds"

    def short(self) -> str:
        """``"2.5 ± 1.4"``: mean and half-width, in display units."""
        s, d = self.scale, self.digits
        return f"{self.mean * s:.{d}f} ± {self.half_width * s:.{d}f}"

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return self.text()

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, object]:
        """Text for the page, and the numbers behind it for the claims ledger.

        The numbers travel under ``application/vnd.regbook.estimate+json`` (a ``+json``
        type, so a notebook stays valid when myst-nb's glue prefixes it).
        """
        return {"text/plain": self.text(), MIME: self.to_json()}

    def to_json(self) -> dict[str, object]:
        """The numbers: mean, lo, hi, n, per-seed values, and the display settings."""
        return {"mean": self.mean, "lo": self.lo, "hi": self.hi, "n": self.n, "values": list(self.values),
                "unit": self.unit, "scale": self.scale, "digits": self.digits}


def estimate(values: Iterable[float], *, unit: str = "", scale: float = 1.0, digits: int = 2) -> Estimate:
    r"""Mean and 95% Student-t interval of per-seed ``values``.

    .. math:: \bar x \pm t_{0.975,\,n-1}\,\frac{s}{\sqrt n},\qquad s^2 = \frac{1}{n-1}\sum_i (x_i-\bar x)^2

    Args:
        values: One finite number per seed; at least 2.
        unit: Display unit (text only).
        scale: Display multiplier (text only), ``> 0``.
        digits: Decimals in the text, ``>= 0``.

    Returns:
        An :class:`Estimate`.

    Raises:
        TypeError: If a value is not a real number.
        ValueError: If fewer than 2 values are given, one is not finite, or
            ``scale``/``digits`` are out of range.

    Example:
        >>> e = estimate([1.0, 2.0, 3.0])  # mean 2, s = 1, t(0.975, 2) = 4.303
        >>> round(e.lo, 3), round(e.hi, 3)
        (-0.484, 4.484)
    """
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise TypeError(f"values must be a sequence of numbers (got {type(values).__name__})")
    xs: list[float] = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or (not isinstance(v, int | float) and not hasattr(v, "__float__")):
            raise TypeError(f"values[{i}] must be a real number (got {type(v).__name__})")
        f = float(v)
        if not math.isfinite(f):
            raise ValueError(f"values[{i}] must be finite (got {f})")
        xs.append(f)
    if len(xs) < 2:
        raise ValueError(f"values must hold at least 2 seeds for an interval (got {len(xs)})")
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
        raise ValueError(f"scale must be a number > 0 (got {scale!r})")
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 0:
        raise ValueError(f"digits must be an int >= 0 (got {digits!r})")
    if not isinstance(unit, str):
        raise TypeError(f"unit must be a str (got {type(unit).__name__})")
    n = len(xs)
    mean = math.fsum(xs) / n
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_quantile(0.5 + CONFIDENCE / 2, n - 1) * sd / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n, tuple(xs), unit, float(scale), digits)


def claim_status(effect: Estimate, direction: Direction) -> Status:
    """The ledger's one rule: what an interval says about a claim.

    ``direction`` is the sign the lecture predicts for the effect (``"+"``:
    the effect is positive; ``"-"``: negative).

    * ``"reproduced"``: the interval excludes zero on the lecture's side;
    * ``"not-reproduced"``: it excludes zero on the other side;
    * ``"inconclusive"``: it contains zero.

    Raises:
        TypeError: If ``effect`` is not an :class:`Estimate`.
        ValueError: If ``direction`` is not ``"+"`` or ``"-"``.

    Example:
        >>> claim_status(estimate([-1.0, 0.5, 1.0]), "+")
        'inconclusive'
    """
    if not isinstance(effect, Estimate):
        raise TypeError(f"effect must be an Estimate (got {type(effect).__name__})")
    if direction not in ("+", "-"):
        raise ValueError(f"direction must be one of '+', '-' (got {direction!r})")
    if not effect.excludes_zero():
        return "inconclusive"
    positive = effect.lo > 0
    return "reproduced" if positive == (direction == "+") else "not-reproduced"


def paired(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """Per-seed differences ``a[i] - b[i]`` (the same seed under two settings).

    Raises:
        TypeError: If ``a`` or ``b`` is not a sequence of real numbers.
        ValueError: If the lengths differ.
    """
    for name, seq in (("a", a), ("b", b)):
        if isinstance(seq, str | bytes) or not isinstance(seq, Sequence):
            raise TypeError(f"{name} must be a sequence of numbers (got {type(seq).__name__})")
        for i, v in enumerate(seq):
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise TypeError(f"{name}[{i}] must be a real number (got {type(v).__name__})")
    if len(a) != len(b):
        raise ValueError(f"a and b must hold one value per seed each (got {len(a)} and {len(b)})")
    return [float(x) - float(y) for x, y in zip(a, b, strict=True)]
