"""regbook: the code behind *Regularization in Deep Learning*, an executable textbook.

Every number in the book is computed by a function of this package at build
time. Modules share stems with the chapters and tests that use them:

* :mod:`regbook.penalties` -- L2, L1, weight decay, AdamW (chapter *penalties*).
* :mod:`regbook.early_stopping` -- the early-stopping helper and experiment.
* :mod:`regbook.data` -- offline datasets (digits, sample photos) and label noise.
* :mod:`regbook.plotting` -- the book's figure style.
"""

from regbook import data, early_stopping, penalties, plotting

__all__ = ["data", "early_stopping", "penalties", "plotting"]
__version__ = "0.1.0"
