"""One figure style for the whole book.

Chapters call :func:`use_book_style` once in a hidden first cell, so every
figure has the same size, fonts and colour-blind-safe palette, and an opaque
white background that stays readable in the site's dark mode.
"""

from __future__ import annotations

__all__ = ["COLORS", "use_book_style"]

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
