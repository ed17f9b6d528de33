"""The small state object through which the training loop and its callbacks talk."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from torch import nn


@dataclass
class TrainingState:
    """What a callback may read, and the two things it may change: `optimizer.lr` and `stop`."""

    module: nn.Module
    optimizer: object
    max_epochs: int
    steps_per_epoch: int
    epoch: int = 0                       # counts from 1 once the first epoch has begun
    step: int = 0                        # optimizer steps taken so far
    train_loss: float = math.nan
    val_loss: float | None = None
    val_accuracy: float | None = None
    history: list = field(default_factory=list)
    stop: bool = False
    stop_reason: str = ""

    @property
    def total_steps(self) -> int:
        return self.max_epochs * self.steps_per_epoch

    def record_epoch(self) -> dict:
        row = {"epoch": self.epoch, "train_loss": self.train_loss, "learning_rate": self.optimizer.lr}
        if self.val_loss is not None:
            row.update(val_loss=self.val_loss, val_accuracy=self.val_accuracy)
        self.history.append(row)
        return row
