"""What a run folder tells about its run, beside the model: ``run.json`` (the settings, the data's
fingerprint, the versions, when it started and ended, how it stands, the final metrics) and
``epochs.jsonl`` (one line per epoch, written as the epoch ends, so that a run can be watched and
an interrupted one still shows its curve).

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> record = RunRecord(folder, kind="table", data="iris.csv", settings={"max_epochs": 3},
...                    fingerprint="f00d")
>>> record.start()  # when training begins
>>> read_run(folder)["status"]
'running'
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import time
import warnings
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from deepfit.atomic import write_atomically
from deepfit.json_values import plain

RUN_NAME = "run.json"
EPOCHS_NAME = "epochs.jsonl"
REPORT_NAME = "report.html"
STATUSES = ("running", "finished", "failed", "cancelled")
TRACKERS = ("tensorboard", "mlflow")  # what `--log` can follow (`deepfit.runs.trackers`)


class RunRecord:
    """The run.json and epochs.jsonl of one run folder, kept as the run goes."""

    def __init__(self, folder, *, kind: str, data: str, settings: dict, fingerprint: str, name: str | None = None,
                 writer: bool = True, resumed: bool = False):
        self.folder = Path(folder)
        self.values = {"name": name or self.folder.name, "kind": kind, "data": data, "fingerprint": fingerprint,
                       "settings": {key: _setting(value) for key, value in settings.items()}}
        self._clock = time.perf_counter()
        self.followers = []  # trackers (`deepfit.runs.trackers`), closed with the run's final values
        self.started, self.resumed = not writer, resumed  # a rank that does not write never starts it
        self.writer = writer

    def start(self, *, resumed: bool | None = None) -> None:
        """run.json says the run is going (with this process, to tell a live run from a killed one);
        a fresh run starts an empty epochs.jsonl, a resumed one keeps what its earlier part wrote.
        Called when training begins (`epoch_log`): data refused before then leave no run behind."""
        if self.started:
            return
        self.started = True
        resumed = self.resumed if resumed is None else resumed
        self.folder.mkdir(parents=True, exist_ok=True)
        earlier = read_run(self.folder) if resumed else {}
        self.values.update(status="running", started=earlier.get("started") or now(), pid=os.getpid(),
                           host=socket.gethostname(), versions=versions(), resumed=resumed)
        self.values["earlier_seconds"] = earlier.get("wall_seconds", 0) if resumed else 0
        if not resumed:
            (self.folder / EPOCHS_NAME).unlink(missing_ok=True)
        self._write()

    def epoch_log(self):
        """A training callback that starts the record when training begins and appends each epoch's
        row to epochs.jsonl."""
        from deepfit.runs.epoch_log import EpochLog  # torch: not for `deepfit runs`

        return EpochLog(self.folder / EPOCHS_NAME, self.start)

    def finish(self, metrics: dict | None = None) -> None:
        self._end("finished", metrics=_final_metrics(metrics or {}))

    def fail(self, reason: str, status: str = "failed") -> None:
        self._end(status, reason=reason)

    def _end(self, status: str, **more) -> None:
        seconds = self.values.pop("earlier_seconds", 0) + time.perf_counter() - self._clock
        self.values.update(status=status, ended=now(), wall_seconds=round(seconds, 3), **more)
        if self.started and self.writer:  # not when refused before training began, nor on another rank
            self._write()
        for follower in self.followers:
            try:
                follower.close(self.values)
            except Exception as error:  # a tracker's failure is reported, and loses nothing of the run
                warnings.warn(f"{type(follower).__name__} could not log the end of the run: {error}", stacklevel=2)

    def _write(self) -> None:
        write_atomically(self.folder / RUN_NAME, (json.dumps(self.values, indent=2, default=str) + "\n").encode())


def read_run(folder) -> dict:
    """run.json of `folder` ({} when there is none or it cannot be read)."""
    try:
        return json.loads((Path(folder) / RUN_NAME).read_text())
    except (OSError, ValueError):
        return {}


def read_epochs(folder) -> list[dict]:
    """The rows of epochs.jsonl, one per epoch (a resumed run's rewritten epochs: the last row wins;
    a line cut short by a kill is left out)."""
    rows = {}
    try:
        lines = (Path(folder) / EPOCHS_NAME).read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            row = json.loads(line)
            rows[int(row["step_index"])] = row
        except (ValueError, KeyError, TypeError):
            continue
    return [rows[index] for index in sorted(rows)]


def set_status(folder, status: str, reason: str = "") -> None:
    """Change the status in a run's run.json from outside the run (the studio cancelling it)."""
    values = read_run(folder)
    if values:
        values.update(status=status, ended=now(), **({"reason": reason} if reason else {}))
        write_atomically(Path(folder) / RUN_NAME, (json.dumps(values, indent=2, default=str) + "\n").encode())


def fingerprint(X, y) -> str:
    """A short digest of the training examples and labels: two runs on the same data share it.
    Tables by their values, arrays by their bytes, lists of texts or paths by their strings."""
    digest = hashlib.blake2b(digest_size=8)
    if hasattr(X, "columns"):
        import pandas as pd

        digest.update(repr(list(X.columns)).encode())
        digest.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    elif isinstance(X, np.ndarray) and X.dtype != object:
        digest.update(repr((X.shape, str(X.dtype))).encode())
        digest.update(np.ascontiguousarray(X).tobytes())
    else:  # texts, paths, or pieces of sound (Clips: their waveforms)
        for item in getattr(X, "waveforms", X):
            digest.update(item.tobytes() if isinstance(item, np.ndarray) else str(item).encode() + b"\x1f")
    digest.update("\x1f".join(map(str, np.asarray(y).tolist())).encode())
    return digest.hexdigest()


def versions() -> dict:
    found = {"python": platform.python_version()}
    for package in ("deepfit", "torch", "numpy", "scikit-learn", "pandas"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _setting(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return plain(value)
    return str(value)


def _final_metrics(metrics: dict) -> dict:
    """The numbers a list of runs shows: the test split's accuracy and loss when there is one, else
    the validation rows' best."""
    test, training = metrics.get("test") or {}, metrics.get("training") or {}
    final = {name: plain(test[name]) for name in ("accuracy", "balanced_accuracy", "log_loss", "macro_f1")
             if name in test}
    if "accuracy" not in final and training.get("val_accuracy") is not None:
        final["val_accuracy"] = plain(training["val_accuracy"])
    for name in ("epochs", "seconds", "n_train"):
        if name in training:
            final[name] = plain(training[name])
    return final
