"""One figure style for the whole book.

Chapters call :func:`use_book_style` once in a hidden first cell, so every
figure has the same size, fonts and colour-blind-safe palette, and an opaque
white background that stays readable in the site's dark mode.
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

__all__ = ["COLORS", "provenance", "stamp", "use_book_style", "widget_html"]

#: A colour-blind-safe cycle (seaborn's "deep" palette), in the order figures use it.
COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")


def use_book_style() -> None:
    """Set matplotlib's rcParams for the book's figures (idempotent)."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.bbox": "tight",
            "figure.facecolor": "white",
            "savefig.facecolor": "white",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": cycler(color=list(COLORS)),
            "font.size": 10,
            "legend.frameon": False,
            "image.cmap": "viridis",
        }
    )


def provenance(*, seed: int | None, seconds: float | None = None) -> str:
    """One line saying how an executed figure was made.

    Args:
        seed: The seed of the run behind the figure (``None`` if it is deterministic).
        seconds: Wall-clock time of the run, if measured.

    Returns:
        A short string such as ``"seed 0 · 1.2 s · torch 2.13.0 · numpy 2.1.0 · Python 3.11"``.

    Raises:
        TypeError: If ``seed`` is not an int or None.
        ValueError: If ``seconds`` is negative.

    Example:
        >>> provenance(seed=3).startswith("seed 3 · torch ")
        True
    """
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    if seconds is not None and not seconds >= 0:
        raise ValueError(f"seconds must be >= 0, got {seconds!r}")
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
    """
    text = provenance(seed=seed, seconds=seconds)
    fig.text(0.995, 0.003, text, ha="right", va="bottom", fontsize=6.5, color="#8c8c8c")
    return fig


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
