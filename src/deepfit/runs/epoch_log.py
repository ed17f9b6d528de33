"""The training callback that starts a run's record when training begins, and writes its
epochs.jsonl: one line per epoch as it ends (its losses,
accuracy, learning rate, the seconds since the run began, and how many epochs there may be), so the
studio and `deepfit runs` can follow a run that is still going."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from deepfit.training import distributed
from deepfit.training.callbacks import Callback


class EpochLog(Callback):
    """Append each epoch's row to `path` (rank 0 only under torchrun). Phases of one run (a frozen
    start, then all layers) are counted on: `step_index` keeps growing."""

    def __init__(self, path: Path, begun=None):
        self.path, self.offset, self.phase_start, self.begun = Path(path), 0, None, begun
        self._clock = time.perf_counter()

    def on_train_begin(self, state) -> None:
        if self.begun is not None and distributed.main_process():
            self.begun()
        if self.phase_start is not None:  # a later phase of the same run
            self.offset = self.phase_start
        self.phase_start = self.offset

    def on_epoch_end(self, state) -> None:
        if not distributed.main_process():
            return
        row = state.history[-1] if state.history and state.history[-1].get("epoch") == state.epoch else {}
        line = {"step_index": self.offset + state.epoch, "epoch": state.epoch, "max_epochs": state.max_epochs,
                "seconds": round(time.perf_counter() - self._clock, 3)}
        line.update({key: _number(value) for key, value in row.items() if key != "epoch"})
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")

    def on_train_end(self, state) -> None:
        self.phase_start = self.offset + state.epoch


def _number(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
