"""The book's chapters, in reading order: the one list that the landing page, the
API page, the claims ledger and this package's docstring all read.

No torch here: Sphinx imports this module to lay out the book.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CHAPTERS", "REFERENCE_MODULES", "Chapter", "api_modules", "stems"]


@dataclass(frozen=True)
class Chapter:
    """One page of the book that teaches.

    Attributes:
        stem: The page's file stem (``book/<stem>.md``) and the stem of its
            claims file (``book/claims/<stem>.toml``).
        title: Short title for the plan table.
        session: The lecture session it belongs to (or ``"Notebooks"`` for the labs).
        part: The lecture's part number(s) (``"6a"`` for a notebook; ``""`` for none).
        modules: The ``regbook`` modules a student reads beside it (op modules first,
            then its experiments module).
    """

    stem: str
    title: str
    session: str
    part: str
    modules: tuple[str, ...]

    def __post_init__(self) -> None:
        for name in ("stem", "title", "session", "part"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a str (got {type(getattr(self, name)).__name__})")
        if not self.stem.isidentifier():
            raise ValueError(f"stem must be a file stem such as 'dropout' (got {self.stem!r})")
        if not isinstance(self.modules, tuple) or not all(isinstance(m, str) and m for m in self.modules):
            raise TypeError(f"modules must be a tuple of module names (got {self.modules!r})")


S1, S2, LABS = "1 · classical and data-centric", "2 · architectural", "Notebooks"

CHAPTERS: tuple[Chapter, ...] = (
    Chapter("double_descent", "Double descent", S1, "1", ("double_descent", "experiments.double_descent")),
    Chapter("penalties", "L2, L1, weight decay, early stopping", S1, "2",
            ("penalties", "early_stopping", "experiments.penalties")),
    Chapter("augmentation", "Data augmentation", S1, "3", ("augmentation", "experiments.augmentation")),
    Chapter("mixup", "Mixup and CutMix", S1, "4", ("mixup", "experiments.mixup")),
    Chapter("label_smoothing", "Label smoothing", S1, "5", ("label_smoothing", "experiments.label_smoothing")),
    Chapter("dropout", "Dropout", S2, "6", ("dropout", "experiments.dropout")),
    Chapter("batchnorm", "BatchNorm", S2, "7", ("batchnorm", "experiments.batchnorm")),
    Chapter("norms", "LayerNorm, RMSNorm (and GroupNorm)", S2, "8–9", ("norms", "experiments.norms")),
    Chapter("prenorm", "Pre-norm vs post-norm", S2, "10", ("prenorm", "experiments.prenorm")),
    Chapter("stack", "Putting it together", S2, "", ("stack", "experiments.stack")),
    Chapter("lab_6a_sweep", "The regularization-stack sweep", LABS, "6a", ("cifar",)),
    Chapter("lab_6b_batchnorm", "BatchNorm forward and backward by hand", LABS, "6b", ()),
)

#: Modules every chapter leans on, listed after the chapters' own on the API page.
REFERENCE_MODULES: tuple[str, ...] = (
    "experiments.harness", "experiments.stats", "experiments.performance", "perf", "data", "plotting",
    "chapters",
)


def stems() -> list[str]:
    """Chapter stems in reading order."""
    return [c.stem for c in CHAPTERS]


def api_modules() -> list[str]:
    """Every documented module, chapters' first (in reading order), then the shared ones."""
    out: list[str] = []
    for m in [m for c in CHAPTERS for m in c.modules] + list(REFERENCE_MODULES):
        if m not in out:
            out.append(m)
    return out
