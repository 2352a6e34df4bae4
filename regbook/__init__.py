"""regbook: the code behind *Regularization in Deep Learning*, an executable textbook.

Every number in the book is computed by a function of this package at build
time. Modules share stems with the chapters and tests that use them:

* :mod:`regbook.penalties` -- L2, L1, weight decay.
* :mod:`regbook.early_stopping` -- early stopping.
* :mod:`regbook.double_descent` -- double descent.
* :mod:`regbook.augmentation` -- data augmentation.
* :mod:`regbook.mixup` -- Mixup and CutMix.
* :mod:`regbook.label_smoothing` -- label smoothing.
* :mod:`regbook.dropout` -- dropout.
* :mod:`regbook.batchnorm` -- BatchNorm (and lab 6b).
* :mod:`regbook.norms` -- LayerNorm, RMSNorm, GroupNorm.
* :mod:`regbook.prenorm` -- pre-norm and post-norm blocks.
* :mod:`regbook.stack` -- the full stack (and lab 6a).
* :mod:`regbook.cifar` -- CIFAR-10 reader.
* :mod:`regbook.models` -- seeded initialisation shared by the experiments.
* :mod:`regbook.perf` -- from-scratch kernels timed against torch's.
* :mod:`regbook.data` -- offline data.
* :mod:`regbook.plotting` -- figure style.
"""

import importlib
from types import ModuleType

__all__ = [
    "augmentation",
    "batchnorm",
    "cifar",
    "data",
    "double_descent",
    "dropout",
    "early_stopping",
    "label_smoothing",
    "mixup",
    "models",
    "norms",
    "penalties",
    "perf",
    "plotting",
    "prenorm",
    "stack",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> ModuleType:
    """Import a submodule on first use: ``import regbook`` stays cheap (no torch),
    and ``regbook.dropout`` works without importing it first."""
    if name in __all__:
        return importlib.import_module(f"regbook.{name}")
    raise AttributeError(f"module 'regbook' has no attribute {name!r}")
