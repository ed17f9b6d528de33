"""Early stopping, then training again on every row for tables clean enough to want the whole schedule.

A table first trains with a tenth of its rows held out, and stops when their loss has not improved for
`patience` epochs. On noisy tables (heart disease, German credit, credit scoring, telecom churn) the
held-out loss is best within a fifth of the schedule, and that early network is the best one. Where the
held-out loss was still improving past a quarter of the schedule (rule-like tables: car evaluation,
nursery, phoneme, image segments), the data want every step, and the held-out tenth is worth more as
training rows: the network is then trained again, from a new start, on every row for the whole schedule
(benchmarks/compare_tables_suite.py, --train-rows and --suite heldout; docs/benchmarks.md). On 400
held-out rows or more (`ACCURACY_ROWS`) a new best held-out accuracy counts as still improving too: wine
quality's loss can level off by epoch 10 while its accuracy climbs for 15 more, and the whole schedule
was 9 points more accurate on that split. On fewer rows one row's luck makes a new best (86 held-out
rows of an orange-juice table: trained again, 7.5 points lost), so there the loss alone decides.

The first phase does not train on once the answer is known: it ends at the first new best past a
quarter of the schedule (the same decision as waiting for early stopping's best epoch, in a fraction of
the time). Nor once there is nothing left to learn: when the held-out loss is
within `FLOOR_TOLERANCE` of the least that the label smoothing allows (`loss_floor`), every held-out
row is answered right and as confidently as the smoothed targets ask (banknote authentication, by
epoch 17 of 97), and that network is kept; it would otherwise creep down by 1e-4 an epoch and be
trained again for nothing. Nor is a network trained again whose held-out rows are all `learned` when
its first phase ends: every one answered right, at a loss within `LEARNED_TOLERANCE` of the floor
(nursery at epoch 21 of 81, whose loss creeps towards its floor for the whole first phase; the whole
schedule again on every row took 4.5 times as long for one test row in 12,960). For `train_phases`, so a
run stopped in either phase resumes to the same weights::

    phase 0: train on the rows kept; stop when the held-out loss has not improved for `patience`
             epochs, or is at its floor (the network is kept), or when it reaches a new low at or past
             `after` of the schedule
    phase 1: only in the last case, and unless the held-out rows are all `learned`: new weights, every
             row, the whole schedule (no held-out rows)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from deepfit.training.callbacks import Callback
from deepfit.training.loop import LoopSettings, TensorData
from deepfit.training.phases import Phase

FLOOR_TOLERANCE = 1e-3  # nats a row above the loss floor: the held-out rows are learned
LEARNED_TOLERANCE = 5e-3  # nats a row above the floor, every held-out row right: no need to train again
ACCURACY_ROWS = 400  # held-out rows from which a new best accuracy (in steps of 0.25 points or finer) counts


def loss_floor(n_classes: int, label_smoothing: float) -> float:
    """The least cross-entropy a row can have under label smoothing: the entropy of its smoothed target
    (the true class 1 - s + s/K, each other s/K); 0 without smoothing.

    >>> round(loss_floor(2, 0.1), 4), loss_floor(3, 0.0)
    (0.1985, 0.0)
    """
    if label_smoothing <= 0:
        return 0.0
    true, other = 1 - label_smoothing + label_smoothing / n_classes, label_smoothing / n_classes
    return -(true * math.log(true) + (n_classes - 1) * other * math.log(other))


@dataclass
class Refit:
    """What the second phase trains with: its settings (for every row), where it starts from (a
    function giving fresh weights), the share of the first phase's schedule its best epoch must reach,
    and the held-out loss's floor (`loss_floor`)."""

    settings: LoopSettings
    fresh_weights: Callable[[], dict]
    after: float
    floor: float = 0.0


def learned(row: dict, floor: float) -> bool:
    """A first phase's epoch (a `history` row) answered every held-out row right, at a held-out loss within
    LEARNED_TOLERANCE of `floor`.

    >>> learned({"val_loss": 0.2022, "val_accuracy": 1.0}, 0.1985), learned({"val_loss": 0.2022, "val_accuracy": 0.99}, 0.1985)
    (True, False)
    """
    return row["val_accuracy"] == 1.0 and row["val_loss"] <= floor + LEARNED_TOLERANCE


class AtFloor(Callback):
    """Stops training when the held-out loss is within FLOOR_TOLERANCE of `floor`: nothing left to learn."""

    def __init__(self, floor: float):
        self.floor = floor

    def on_epoch_end(self, state) -> None:
        if state.val_loss is not None and state.val_loss <= self.floor + FLOOR_TOLERANCE:
            state.stop = True
            state.stop_reason = (f"the held-out loss reached its floor ({state.val_loss:.4f}; the least it can be "
                                 f"with this label smoothing is {self.floor:.4f}) at epoch {state.epoch}: every "
                                 "held-out row is learned")


def last_best(history: list, accuracy: bool) -> tuple[int, str]:
    """The latest epoch of a first phase's `history` that set a best: its lowest held-out loss or, with
    `accuracy`, its first highest held-out accuracy if that came later; and what improved there.

    >>> rows = [{"epoch": 1, "val_loss": 0.9, "val_accuracy": 0.5}, {"epoch": 2, "val_loss": 0.95, "val_accuracy": 0.6}]
    >>> last_best(rows, accuracy=False), last_best(rows, accuracy=True)
    ((1, 'loss was still falling'), (2, 'accuracy was still rising'))
    """
    lowest = min(history, key=lambda row: row["val_loss"])["epoch"]
    highest = max(history, key=lambda row: row["val_accuracy"])["epoch"] if accuracy else 0
    return (highest, "accuracy was still rising") if highest > lowest else (lowest, "loss was still falling")


class StillImproving(Callback):
    """Stops training at the first new best held-out loss (with `accuracy`, or accuracy) at or after
    `from_epoch`. It keeps nothing but what the history holds, so a resumed run decides as an uninterrupted one."""

    def __init__(self, from_epoch: int, accuracy: bool = False):
        self.from_epoch, self.accuracy = from_epoch, accuracy

    def on_epoch_end(self, state) -> None:
        if state.epoch < self.from_epoch or state.val_loss is None:
            return
        held_out = [row for row in state.history if "val_loss" in row]
        epoch, improved = last_best(held_out, self.accuracy)
        if len(held_out) > 1 and epoch == state.epoch:
            state.stop = True
            state.stop_reason = (f"the held-out {improved} at epoch {state.epoch} of {state.max_epochs}: "
                                 "trained again on every row")


class RefitPhases:
    """The two phases; `callbacks_for(settings, validating)` gives a phase's callbacks. The last state's
    history holds both phases, epochs counted on."""

    count = 2

    def __init__(self, module, data: TensorData, settings: LoopSettings, refit: Refit, callbacks_for):
        self.module, self.data, self.settings, self.refit = module, data, settings, refit
        self.callbacks_for = callbacks_for
        self.first_history: list = []
        self.best_epoch = 0
        self.refitting = False
        self.improved = ""
        self.kept_learned = False
        self.lowest: dict = {}  # the first phase's epoch of lowest held-out loss
        self.from_epoch = max(1, math.ceil(refit.after * settings.max_epochs))
        self.accuracy = len(data.y_val) >= ACCURACY_ROWS

    def phase(self, index: int, *, restored: bool) -> Phase | None:
        if index == 0:
            deciding = [StillImproving(self.from_epoch, self.accuracy), AtFloor(self.refit.floor)]  # at the floor, its reason
            return Phase(self.data, self.settings, [*self.callbacks_for(self.settings, True), *deciding])
        if not self.refitting:
            return None
        if not restored:
            self.module.load_state_dict(self.refit.fresh_weights())
        every_row = TensorData(torch.cat([self.data.x, self.data.x_val]), torch.cat([self.data.y, self.data.y_val]))
        return Phase(every_row, self.refit.settings, self.callbacks_for(self.refit.settings, False))

    def finished(self, index: int, state) -> None:
        if index == 0:
            self._decide(state.history)
            if self.kept_learned:  # the first phase's own reason said it would train again
                state.stop_reason = self._kept_reason()
            return
        first_epochs = len(self.first_history)
        for row in state.history:
            row["epoch"] += first_epochs
        state.history = self.first_history + state.history
        state.epoch += first_epochs

    def _decide(self, first_history: list) -> None:
        """The first phase's history says whether the second runs: its last best epoch (`last_best`) is past
        `from_epoch`, its held-out loss never came down to the floor, and its lowest held-out loss's
        epoch did not have every held-out row `learned`."""
        self.first_history = first_history
        self.best_epoch, self.improved = last_best(first_history, self.accuracy)
        self.lowest = lowest = min(first_history, key=lambda row: row["val_loss"])
        still_improving = self.best_epoch >= self.from_epoch
        at_floor = lowest["val_loss"] <= self.refit.floor + FLOOR_TOLERANCE
        self.kept_learned = still_improving and not at_floor and learned(lowest, self.refit.floor)
        self.refitting = still_improving and not at_floor and not self.kept_learned

    def _kept_reason(self) -> str:
        lowest = self.lowest
        return (f"every held-out row is learned at epoch {lowest['epoch']} (all answered right, their loss "
                f"{lowest['val_loss']:.4f} within {LEARNED_TOLERANCE:g} of the least this label smoothing allows, "
                f"{self.refit.floor:.4f}): that network is kept, not trained again")

    def summary(self) -> dict:
        """What the second phase did, for the model's training summary (empty when it did not run)."""
        if not self.refitting:
            return {}
        return {"refit": {
            "reason": f"the held-out {self.improved} at epoch {self.best_epoch} of "
                      f"{self.settings.max_epochs}, past {self.refit.after:.0%} of the schedule: trained again "
                      "on every row",
            "first_epochs": len(self.first_history), "best_epoch": self.best_epoch,
            "n_train": len(self.data.y) + len(self.data.y_val), "epochs": self.refit.settings.max_epochs,
            "batch_size": self.refit.settings.batch_size, "learning_rate": self.refit.settings.learning_rate}}

    def stage(self) -> tuple[dict, dict]:
        return {}, {"first_history": self.first_history}

    def restore(self, tensors: dict, meta: dict) -> None:
        self._decide(meta["first_history"])
