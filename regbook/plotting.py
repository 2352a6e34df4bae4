"""One figure style for the whole book.

Chapters call :func:`use_book_style` once in a hidden first cell, so every
figure is drawn for the width it is shown at and reads in both colour modes:

* **size**: 7 inches wide, the width of the text column on a desktop (672 px
  at 1280 px), so one point of type is 1.33 px on screen; no text is set
  below 9 pt (12 px on a desktop);
* **vector**: figures are SVG with real text, so a phone reader can zoom in
  without blur, and the printed edition is sharp;
* **palette**: Okabe and Ito's colour-blind-safe colours (:data:`COLORS`);
* **dark mode**: drawn black on white; the site shows an inverted,
  hue-preserving variant in dark mode (``regbook.css``), so lines keep their
  hues and the figure's ground matches the page instead of glaring white.
  Photographs are exempt (``:figclass: photo``).
"""

from __future__ import annotations

import html
import json
import platform
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["COLORS", "MIN_FONT", "SCRIPT_SCALE", "WIDTH", "Timing", "provenance", "stamp", "use_book_style",
           "widget_html"]

#: Okabe & Ito's colour-blind-safe palette (blue, orange, bluish green, vermillion,
#: reddish purple, sky blue, grey, yellow), in the order figures use it.
COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#7F7F7F", "#F0E442")

#: Width of a figure in inches, the text column on a 1280 px desktop (672 px at 96 px/in).
WIDTH = 7.0
#: Smallest type in a figure in points (12 px on a desktop).
MIN_FONT = 9.0
#: Size of sub- and superscripts relative to their text in figures, 0.7 in matplotlib. With 0.85, the
#: exponents of 10 pt tick labels are 8.5 pt, 11 px on a desktop.
SCRIPT_SCALE = 0.85


def use_book_style() -> None:
    """Set matplotlib's rcParams for the book's figures (idempotent)."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(
        {
            "figure.figsize": (WIDTH, 3.8),
            "figure.dpi": 96,
            "figure.constrained_layout.use": True,
            "savefig.bbox": "standard",  # keep the drawn width: type sizes then map to screen pixels
            "figure.facecolor": "white",
            "savefig.facecolor": "white",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": cycler(color=list(COLORS)),
            "font.size": 11,
            "axes.titlesize": 11,
            "axes.labelsize": 11,
            "xtick.labelsize": 10,
            "ytick.labelsize": 10,
            "legend.fontsize": 10,
            "legend.title_fontsize": 10,
            "figure.titlesize": 12,
            "legend.frameon": False,
            "image.cmap": "viridis",
            "svg.fonttype": "none",  # real text in the SVG: searchable, selectable, small
            "svg.hashsalt": "regbook",  # stable ids: two builds write the same file
        }
    )
    # Sub- and superscripts (the exponents of log-axis ticks, w_1 in labels): matplotlib draws them at
    # 0.7 of the text's size, 7 pt for 10 pt ticks, 9 px on a desktop. At SCRIPT_SCALE they keep 11 px.
    # The ratio is a module constant of matplotlib's math layout (no rcParam exists for it).
    from matplotlib import _mathtext

    if not hasattr(_mathtext, "SHRINK_FACTOR"):  # pragma: no cover - a matplotlib that moved it
        raise RuntimeError("matplotlib._mathtext.SHRINK_FACTOR is gone: update use_book_style")
    _mathtext.SHRINK_FACTOR = SCRIPT_SCALE
    try:  # inside a kernel: show figures as SVG
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg")  # type: ignore[no-untyped-call]
    except ImportError:  # pragma: no cover - matplotlib-inline ships with ipykernel
        pass


def provenance(*, seed: int | None, seconds: float | None = None) -> str:
    """One line saying how an executed figure was made.

    Args:
        seed: The seed of the run behind the figure (``None`` if it is deterministic).
        seconds: Wall-clock time of the run, if measured.

    Returns:
        A short string such as ``"seed 0 · 1.2 s · torch 2.13.0 · numpy 2.1.0 · Python 3.11"``.

    Raises:
        TypeError: If ``seed`` is not an int or None, or ``seconds`` not a real number.
        ValueError: If ``seed`` is outside ``[0, 2**63 - 1]`` or ``seconds`` negative or not finite.

    Example:
        >>> provenance(seed=3).startswith("seed 3 · torch ")
        True
    """
    from regbook._checks import check_nonnegative, check_seed

    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int or None (got {type(seed).__name__} {seed!r})")
        check_seed("seed", seed)
    if seconds is not None:
        seconds = check_nonnegative("seconds", seconds)
    import numpy
    import torch

    parts = ["deterministic" if seed is None else f"seed {seed}"]
    if seconds is not None:
        parts.append(f"{seconds:.1f} s")
    parts += [f"torch {torch.__version__.split('+')[0]}", f"numpy {numpy.__version__}",
              f"Python {platform.python_version()}"]
    return " · ".join(parts)


def stamp(fig: Figure, *, seed: int | None, seconds: float | None = None) -> Figure:
    """Write :func:`provenance` in small grey type in the figure's bottom-right corner.

    Every executed figure of the book carries this stamp, so a reader can tell
    which seed and which versions produced it. Returns ``fig`` for chaining.
    Mutates ``fig`` (adds one text artist) after validating every argument.

    Raises:
        TypeError, ValueError: As :func:`provenance`; TypeError if ``fig`` is not a matplotlib Figure.
    """
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure (got {type(fig).__name__})")
    text = provenance(seed=seed, seconds=seconds)
    fig.text(0.995, 0.003, text, ha="right", va="bottom", fontsize=MIN_FONT, color="#6b6b6b")
    return fig


class Timing:
    """A machine-dependent measurement, for gluing: ``glue("timing_x", Timing(0.0123))``.

    In prose, ``{glue}`timing_x``` shows ``12.3 ms`` marked as a timing (HTML
    class ``timing`` and a stopwatch sign), so readers and checks know it will
    differ on another machine; ``{glue:text}`` gives the plain text. Glue keys
    of timings start with ``timing_``; they are never asserted and are exempt
    from the two-builds-agree check.

    Args:
        seconds: The measured time, a finite number ``>= 0``.
        ratio: Show a dimensionless ratio (``"3.1×"``) instead of a time.

    Raises:
        TypeError: If ``seconds`` is not a real number or ``ratio`` not a bool.
        ValueError: If ``seconds`` is negative or not finite.

    Example:
        >>> str(Timing(0.0123)), str(Timing(3.14159, ratio=True))
        ('12.3 ms', '3.1×')
        >>> Timing(2.0)._repr_html_()
        '<span class="timing" title="measured on the machine that built this page">2.00 s</span>'
    """

    def __init__(self, seconds: float, *, ratio: bool = False) -> None:
        from regbook._checks import check_bool, check_nonnegative

        self.seconds = check_nonnegative("seconds", seconds)
        self.ratio = check_bool("ratio", ratio)

    def __str__(self) -> str:
        s = self.seconds
        if self.ratio:
            return f"{s:.1f}×"
        if s >= 1:
            return f"{s:.2f} s"
        if s >= 1e-3:
            return f"{s * 1e3:.1f} ms"
        return f"{s * 1e6:.0f} µs"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        title = "measured on the machine that built this page"
        return f'<span class="timing" title="{title}">{html.escape(str(self))}</span>'


def widget_html(name: str, data: Mapping[str, object], *, fallback: str) -> str:
    """Markup for a kernel-free interactive figure, fed by data from an executed cell.

    A chapter's cell displays ``IPython.display.HTML(widget_html(...))``. The
    page then carries the data as JSON; the matching script in
    ``book/_static/widgets/<name>.js`` finds ``.rb-widget[data-widget=name]``,
    reads the JSON, builds the controls and hides the fallback text. Without
    JavaScript the reader sees ``fallback`` (and the chapter's static figure).

    Args:
        name: The widget's name, lowercase letters, digits and dashes.
        data: JSON-serialisable data (numbers, strings, lists, dicts).
        fallback: Plain text shown where the widget cannot run.

    Returns:
        An HTML fragment.

    Raises:
        ValueError: If ``name`` is not lowercase-and-dashes or ``data`` is not JSON-serialisable.

    Example:
        >>> widget_html("demo", {"x": [1, 2]}, fallback="static").count('data-widget="demo"')
        1
    """
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9-]*", name):
        raise ValueError(f"name must be lowercase letters, digits and dashes (got {name!r})")
    if not isinstance(data, Mapping):
        raise TypeError(f"data must be a mapping (got {type(data).__name__})")
    if not isinstance(fallback, str):
        raise TypeError(f"fallback must be a str (got {type(fallback).__name__})")
    try:
        payload = json.dumps(data, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"data must be JSON-serialisable with finite numbers ({err})") from None
    payload = payload.replace("</", "<\\/")  # never close the script tag early
    return (
        f'<div class="rb-widget" data-widget="{name}">'
        f'<script type="application/json" class="rb-widget-data">{payload}</script>'
        f'<p class="rb-widget-fallback">{html.escape(fallback)}</p></div>'
    )
