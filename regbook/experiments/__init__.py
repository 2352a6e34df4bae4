"""The book's experiments: one module per chapter, all built on :mod:`regbook.experiments.harness`.

* :mod:`regbook.experiments.stats` -- mean, 95% interval and claim status over seeds (no torch).
* :mod:`regbook.experiments.harness` -- seeds trained together: streams, data, model, loop, metrics, timing.

The chapter modules share their stem with the chapter that runs them
(:data:`regbook.chapters.CHAPTERS` lists them in book order). Every
experiment takes ``seeds`` (default :data:`regbook.experiments.stats.BOOK_SEEDS`)
and returns per-seed values; the chapter reports them as intervals.
"""

import importlib
from types import ModuleType


def __getattr__(name: str) -> ModuleType:
    """Import a chapter's experiment module on first use (``import regbook.experiments`` stays cheap)."""
    try:
        return importlib.import_module(f"regbook.experiments.{name}")
    except ModuleNotFoundError as err:
        if err.name == f"regbook.experiments.{name}":
            raise AttributeError(f"module 'regbook.experiments' has no attribute {name!r}") from None
        raise
