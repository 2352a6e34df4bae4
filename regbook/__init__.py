"""regbook: the code behind *Regularization in Deep Learning*, an executable textbook.

Every number in the book is computed by a function of this package at build
time. Each chapter has its op modules (what a student reads beside it: the
from-scratch operations and their ``nn.Module``s) and one experiments module
in :mod:`regbook.experiments`; :data:`regbook.chapters.CHAPTERS` lists them
in reading order (the list below is generated from it).
"""

import importlib
from types import ModuleType

from regbook.chapters import CHAPTERS, REFERENCE_MODULES

__all__ = sorted({m.split(".")[0] for c in CHAPTERS for m in c.modules}
                 | {m.split(".")[0] for m in REFERENCE_MODULES})
__version__ = "0.1.0"

__doc__ = (__doc__ or "") + "\n" + "\n".join(
    f"* {c.title}: " + ", ".join(f":mod:`regbook.{m}`" for m in c.modules) for c in CHAPTERS if c.modules
) + "\n* Shared: " + ", ".join(f":mod:`regbook.{m}`" for m in REFERENCE_MODULES) + "\n"


def __getattr__(name: str) -> ModuleType:
    """Import a submodule on first use: ``import regbook`` stays cheap (no torch),
    and ``regbook.dropout`` works without importing it first."""
    if name in __all__:
        return importlib.import_module(f"regbook.{name}")
    raise AttributeError(f"module 'regbook' has no attribute {name!r}")
