r"""Early stopping: keep the checkpoint with the best validation loss, stop when it stops improving.

Training longer walks the weights further from their small initial values,
so the number of epochs acts as a capacity knob. :class:`EarlyStopping`
turns that knob automatically: it remembers the best validation loss seen
so far (and, if given a model, a copy of its weights), counts the epochs
without improvement, and says *stop* once that count reaches ``patience``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import torch
from torch import nn

from regbook._checks import check_in_range, check_int, check_nonnegative, check_positive
from regbook.data import Split, digits, flip_labels

__all__ = ["EarlyStopping", "EarlyStoppingRun", "early_stopping_curve"]


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
        self.patience = check_int("patience", patience, minimum=1)
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
        self.epoch += 1
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss = float(val_loss)
            self.best_epoch = self.epoch
            self.bad_epochs = 0
            if model is not None:
                self._best_state = copy.deepcopy(model.state_dict())
        else:
            self.bad_epochs += 1
        return self.should_stop

    def restore_best(self, model: nn.Module) -> None:
        """Load the weights saved at the best epoch into ``model``."""
        if self._best_state is None:
            raise RuntimeError("restore_best() needs a model passed to step() on an improving epoch first")
        model.load_state_dict(self._best_state)


@dataclass
class EarlyStoppingRun:
    """Per-epoch record of :func:`early_stopping_curve` (epochs are 1-based)."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    weight_norm: list[float] = field(default_factory=list)
    best_epoch: int = 0
    stop_epoch: int = 0
    restored_val_loss: float = math.nan
    final_val_loss: float = math.nan
    restored_test_accuracy: float = math.nan
    final_test_accuracy: float = math.nan


def early_stopping_curve(
    *,
    n_train: int = 300,
    label_noise: float = 0.3,
    hidden: int = 256,
    epochs: int = 300,
    lr: float = 1e-3,
    patience: int = 20,
    seed: int = 0,
) -> EarlyStoppingRun:
    """Train a one-hidden-layer MLP on few, noisy digits until it memorises them.

    scikit-learn's 8×8 digits (no download) are split, with a seeded
    permutation, into ``n_train`` training images, 400 validation images
    and the rest for test. A fraction ``label_noise`` of the *training*
    labels is replaced by a random other class (validation and test stay
    clean), so memorising the training set hurts. Full-batch Adam runs for
    all ``epochs`` to show the whole curve; an :class:`EarlyStopping`
    watches the validation loss, and the epoch at which it first says stop
    is recorded. The network is then restored to the best checkpoint.

    Returns:
        An :class:`EarlyStoppingRun`.
    """
    n_train = check_int("n_train", n_train, minimum=20)
    if n_train > 1797 - 400 - 100:
        raise ValueError(f"n_train must be <= 1297 to leave validation and test data (got {n_train})")
    label_noise = check_in_range("label_noise", label_noise, 0.0, 1.0, high_inclusive=False)
    hidden = check_int("hidden", hidden, minimum=1)
    epochs = check_int("epochs", epochs, minimum=1)
    lr = check_positive("lr", lr)
    patience = check_int("patience", patience, minimum=1)
    check_int("seed", seed)

    train, val, test = digits(n_train, 400, seed=seed)
    gen = torch.Generator().manual_seed(seed + 1)
    y_tr = flip_labels(train.y, label_noise, num_classes=10, generator=gen)

    torch.manual_seed(seed)  # nn.Linear's initialisation uses the global generator
    model = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    stopper = EarlyStopping(patience)
    run = EarlyStoppingRun()

    def evaluate(split: Split) -> tuple[float, float]:
        model.eval()
        with torch.no_grad():
            logits = model(split.x)
            return loss_fn(logits, split.y).item(), (logits.argmax(1) == split.y).float().mean().item()

    for _ in range(epochs):
        model.train()
        opt.zero_grad()
        loss = loss_fn(model(train.x), y_tr)
        loss.backward()
        opt.step()
        val_loss, _ = evaluate(val)
        run.train_loss.append(loss.item())
        run.val_loss.append(val_loss)
        run.weight_norm.append(torch.cat([p.detach().flatten() for p in model.parameters()]).norm().item())
        if stopper.step(val_loss, model) and run.stop_epoch == 0:
            run.stop_epoch = stopper.epoch
    run.final_val_loss = run.val_loss[-1]
    _, run.final_test_accuracy = evaluate(test)
    stopper.restore_best(model)
    run.best_epoch = stopper.best_epoch
    run.restored_val_loss, _ = evaluate(val)
    _, run.restored_test_accuracy = evaluate(test)
    return run
