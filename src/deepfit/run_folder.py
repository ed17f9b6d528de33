"""The rules of a run folder, for every way a model is trained (`deepfit train`, `train-detector`,
and the Python user who wants the same guarantees).

A run folder holds ``model.deepfit`` and ``metrics.json`` when the run has finished, and the run's
checkpoints while it has not. A finished model is never replaced unless asked; an unfinished run is
resumed or restarted, by choice; a folder that cannot be written is refused before minutes of
training, not after; files half-written by a killed run are removed; and a finished run leaves no
checkpoint behind (the model holds what they held).

>>> import tempfile, pathlib
>>> run = RunFolder(pathlib.Path(tempfile.mkdtemp()) / "letters")
>>> run.prepare(overwrite=False, resume=False)
>>> run.model.name, run.checkpoint.name
('model.deepfit', 'checkpoint.safetensors')
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from deepfit.atomic import write_atomically
from deepfit.errors import InvalidInputError, OutputError

MODEL_NAME = "model.deepfit"
METRICS_NAME = "metrics.json"
CHECKPOINT_NAME = "checkpoint.safetensors"  # while a run is unfinished


@dataclass(frozen=True)
class RunFolder:
    path: Path

    @property
    def model(self) -> Path:
        return self.path / MODEL_NAME

    @property
    def metrics(self) -> Path:
        return self.path / METRICS_NAME

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT_NAME

    def prepare(self, *, overwrite: bool, resume: bool, writer: bool = True) -> None:
        """Check the folder before training: what is there may be replaced or resumed, and it can be
        written (`writer`: the process that writes, rank 0 under torchrun); remove half-written files."""
        self.check_existing(overwrite=overwrite, resume=resume)
        if writer:
            check_writable(self.path)
            for stale in [*self.path.glob(f".{CHECKPOINT_NAME}*.tmp"), *self.path.glob(f".{MODEL_NAME}.*.tmp")]:
                stale.unlink(missing_ok=True)

    def check_existing(self, *, overwrite: bool, resume: bool) -> None:
        """A finished model is never replaced unless asked; an unfinished run is resumed or restarted, by choice."""
        unfinished = any(path.exists() for path in self.checkpoints())
        if resume:
            if not unfinished:
                finished = " (the run there has finished: model.deepfit is there)" if self.model.exists() else ""
                raise InvalidInputError(f"{self.path}: holds no checkpoint to resume{finished}; start the run "
                                        "without --resume.")
            return
        if self.model.exists() and not overwrite:
            raise OutputError(f"{self.model} already exists; pass --overwrite to replace it, or choose "
                              "another folder with --out.")
        if unfinished and not overwrite:
            raise OutputError(f"{self.path}: holds the checkpoint of a run that did not finish; pass --resume "
                              "to continue it, or --overwrite to start again.")

    def checkpoints(self) -> list[Path]:
        """Every checkpoint file of the run (the loop's, and those of its phases or rounds)."""
        from deepfit.training.checkpoints import run_files  # torch: not for `deepfit --help`

        return run_files(self.checkpoint)

    def forget_checkpoints(self) -> None:
        """Remove the run's checkpoints: before a fresh start (an earlier run's are never taken for
        this one's), and after a finished run."""
        for path in self.checkpoints():
            path.unlink(missing_ok=True)

    def finish(self, estimator, metrics: dict, metadata: dict | None = None) -> None:
        """Save the model and metrics.json (each atomically), then remove the checkpoints."""
        estimator.save(self.model, metadata=metadata)
        write_json(self.metrics, metrics)
        self.forget_checkpoints()


def write_json(path: Path, data: dict) -> None:
    write_atomically(path, (json.dumps(data, indent=2, default=str) + "\n").encode())


def check_writable(folder: Path) -> None:
    """Fail before training, not after, when `folder` cannot be written; leave no folder behind (a run
    that fails later, on bad data, must not leave an empty one)."""
    created = [parent for parent in [folder, *folder.parents] if not parent.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".deepfit-write-test-"):
            pass
    except OSError as error:
        raise OutputError(f"{folder}: cannot write here ({error.strerror}). Choose another folder with --out, "
                          "or check its permissions.") from None
    finally:
        for made in created:  # deepest first; the run makes them again when it writes
            try:
                made.rmdir()
            except OSError:
                break
