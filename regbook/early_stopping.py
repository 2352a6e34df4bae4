r"""Early stopping: keep the checkpoint with the best validation loss, stop when it stops improving.

Training longer walks the weights further from their small initial values,
so the number of epochs acts as a capacity knob. :class:`EarlyStopping`
turns that knob automatically: it remembers the best validation loss seen
so far (and, if given a model, a copy of its weights), counts the epochs
without improvement, and says *stop* once that count reaches ``patience``.

The chapter's experiment (a network trained past its best epoch, over seeds) is
:func:`regbook.experiments.penalties.early_stopping_curve`.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from regbook._checks import check_count, check_nonnegative

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Track validation loss; signal a stop after ``patience`` epochs without improvement.

    An epoch *improves* when ``val_loss < best_loss - min_delta``. A NaN
    validation loss never improves (it counts as a bad epoch).

    Args:
        patience: Bad epochs tolerated before stopping (``>= 1``).
        min_delta: Smallest decrease that counts as an improvement (``>= 0``).

    Attributes:
        best_loss: Lowest validation loss seen (``inf`` before the first call).
        best_epoch: 1-based epoch of ``best_loss`` (0 before the first call).
        epoch: Number of epochs reported so far.
        bad_epochs: Epochs since the last improvement.
        should_stop: ``True`` once ``bad_epochs >= patience``.

    Example (patience 2; the best epoch is the 3rd, two worse epochs follow):

    >>> stopper = EarlyStopping(patience=2)
    >>> [stopper.step(loss) for loss in [1.0, 0.8, 0.7, 0.72, 0.75]]
    [False, False, False, False, True]
    >>> stopper.best_epoch, stopper.best_loss
    (3, 0.7)
    """

    def __init__(self, patience: int, *, min_delta: float = 0.0) -> None:
        self.patience = check_count("patience", patience)
        self.min_delta = check_nonnegative("min_delta", min_delta)
        self.best_loss = math.inf
        self.best_epoch = 0
        self.epoch = 0
        self.bad_epochs = 0
        self._best_state: dict[str, torch.Tensor] | None = None

    @property
    def should_stop(self) -> bool:
        return self.bad_epochs >= self.patience

    def step(self, val_loss: float, model: nn.Module | None = None) -> bool:
        """Report one epoch's validation loss; return ``True`` when training should stop.

        If ``model`` is given and the epoch improves, a deep copy of its
        ``state_dict`` is kept for :meth:`restore_best`.
        """
        if isinstance(val_loss, bool) or not isinstance(val_loss, (int, float)):
            raise TypeError(f"val_loss must be a float (got {type(val_loss).__name__})")
        if model is not None and not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module or None (got {type(model).__name__})")
        self.epoch += 1
        # idea-start
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss = float(val_loss)
            self.best_epoch = self.epoch
            self.bad_epochs = 0
            if model is not None:
                self._best_state = copy.deepcopy(model.state_dict())
        else:
            self.bad_epochs += 1
        # idea-end
        return self.should_stop

    def restore_best(self, model: nn.Module) -> None:
        """Load the weights saved at the best epoch into ``model``.

        Raises:
            TypeError: If ``model`` is not an ``nn.Module``.
            RuntimeError: If no improving epoch was reported with a model.
        """
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module (got {type(model).__name__})")
        if self._best_state is None:
            raise RuntimeError("restore_best() needs a model passed to step() on an improving epoch first")
        model.load_state_dict(self._best_state)
