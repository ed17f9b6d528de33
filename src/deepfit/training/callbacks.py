"""Callbacks: small objects the loop calls at named moments, passing the `TrainingState`.

The events, in order: ``on_train_begin``, then per epoch ``on_epoch_begin``, ``on_batch_begin``
(once per batch), ``on_epoch_end`` (after validation), and finally ``on_train_end``.
"""

from __future__ import annotations

import copy
import math

from deepfit.training.state import TrainingState

EVENTS = ("on_train_begin", "on_epoch_begin", "on_batch_begin", "on_epoch_end", "on_train_end")


class Callback:
    """Does nothing at every event; subclasses override the events they need."""

    def on_train_begin(self, state: TrainingState) -> None: ...
    def on_epoch_begin(self, state: TrainingState) -> None: ...
    def on_batch_begin(self, state: TrainingState) -> None: ...
    def on_epoch_end(self, state: TrainingState) -> None: ...
    def on_train_end(self, state: TrainingState) -> None: ...


class EarlyStopping(Callback):
    """Stop when the validation loss has not improved for `patience` epochs; restore the best weights.

    >>> from types import SimpleNamespace
    >>> stopper = EarlyStopping(patience=2)
    >>> state = SimpleNamespace(module=None, val_loss=1.0, epoch=1, stop=False, stop_reason="")
    >>> stopper.best_weights = {}; stopper.restore_best = False
    >>> for loss in [1.0, 0.5, 0.6, 0.7]:
    ...     state.val_loss = loss; stopper.on_epoch_end(state)
    >>> state.stop, stopper.best_loss
    (True, 0.5)
    """

    def __init__(self, patience: int = 10, min_delta: float = 1e-4, restore_best: bool = True):
        self.patience, self.min_delta, self.restore_best = patience, min_delta, restore_best
        self.best_loss = math.inf
        self.best_epoch = 0
        self.best_weights = None
        self.waited = 0

    def on_epoch_end(self, state) -> None:
        if state.val_loss is None:
            return
        if state.val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.waited = state.val_loss, state.epoch, 0
            if self.restore_best:
                self.best_weights = copy.deepcopy(state.module.state_dict())
            return
        self.waited += 1
        if self.waited >= self.patience:
            state.stop = True
            state.stop_reason = (f"validation loss has not improved for {self.patience} epochs "
                                 f"(best {self.best_loss:.4f} at epoch {self.best_epoch})")

    def on_train_end(self, state) -> None:
        if self.restore_best and self.best_weights is not None:
            state.module.load_state_dict(self.best_weights)

    def state_dict(self) -> tuple[dict, dict]:
        """(what JSON holds, the best weights as tensors): for a checkpoint."""
        meta = {"best_loss": self.best_loss, "best_epoch": self.best_epoch, "waited": self.waited,
                "has_best_weights": self.best_weights is not None}
        return meta, dict(self.best_weights or {})

    def load_state_dict(self, meta: dict, tensors: dict) -> None:
        self.best_loss, self.best_epoch, self.waited = meta["best_loss"], meta["best_epoch"], meta["waited"]
        self.best_weights = {k: v.clone() for k, v in tensors.items()} if meta["has_best_weights"] else None


class StopWhenPerfect(Callback):
    """Stop once an epoch has no training error (the perceptron's loss is its error rate)."""

    def on_epoch_end(self, state) -> None:
        if state.train_loss == 0:
            state.stop = True
            state.stop_reason = "every training example is classified correctly"


class WarmupCosineSchedule(Callback):
    """Learning rate rising linearly for `warmup_fraction` of all steps, then falling along a cosine.

    A preset of the general schedule: `warmup_fraction=0` is plain cosine decay.
    """

    def __init__(self, peak_lr: float, warmup_fraction: float = 0.05, final_fraction: float = 0.01):
        self.peak_lr, self.warmup_fraction, self.final_fraction = peak_lr, warmup_fraction, final_fraction

    def learning_rate(self, step: int, total_steps: int) -> float:
        warmup = max(1, int(self.warmup_fraction * total_steps))
        if step < warmup:
            return self.peak_lr * (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        floor = self.peak_lr * self.final_fraction
        return floor + (self.peak_lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    def on_batch_begin(self, state) -> None:
        state.optimizer.lr = self.learning_rate(state.step, state.total_steps)


class ProgressBar(Callback):
    """One progress bar over the epochs, with the latest losses, on stderr."""

    def __init__(self, description: str = "training"):
        self.description = description
        self.bar = None

    def on_train_begin(self, state) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=state.max_epochs, desc=self.description, unit="epoch", leave=True,
                        dynamic_ncols=True)

    def on_epoch_end(self, state) -> None:
        shown = {"loss": f"{state.train_loss:.4f}"}
        if state.val_loss is not None:
            shown.update(val_loss=f"{state.val_loss:.4f}", val_acc=f"{state.val_accuracy:.3f}")
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def on_train_end(self, state) -> None:
        if self.bar is not None:
            if state.stop_reason:
                self.bar.set_description(f"{self.description} (stopped early)")
            self.bar.close()
