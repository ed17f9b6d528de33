"""For users who already have a tracker: `--log tensorboard` writes TensorBoard event files into the
run folder (``tensorboard/``), and `--log mlflow` logs the run to MLflow: to ``MLFLOW_TRACKING_URI``
when it is set, else to a local store in ``mlruns/`` where deepfit runs (MLflow's own default place).
Each uses the project's own package, an optional extra that deepfit does not need to run:
``pip install 'deepfit[tensorboard]'`` or ``'deepfit[mlflow]'``."""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path

from deepfit.errors import InvalidInputError
from deepfit.runs.record import TRACKERS
from deepfit.training import distributed
from deepfit.training.callbacks import Callback

METRICS = ("train_loss", "val_loss", "val_accuracy", "learning_rate")


class TensorBoardLog(Callback):
    """Each epoch's losses, accuracy and learning rate as scalars, the settings as text."""

    def __init__(self, folder: Path, values: dict):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise _missing("tensorboard") from None
        self.writer = SummaryWriter(log_dir=str(Path(folder) / "tensorboard"))
        settings = "\n".join(f"| {key} | {value} |" for key, value in values.get("settings", {}).items())
        self.writer.add_text("settings", "| setting | value |\n|---|---|\n" + settings)
        self.step = 0

    def on_epoch_end(self, state) -> None:
        self.step += 1
        for name in METRICS:
            value = state.history[-1].get(name) if state.history else None
            if value is not None:
                self.writer.add_scalar(name, value, self.step)
        self.writer.flush()

    def close(self, values: dict) -> None:
        for name, value in (values.get("metrics") or {}).items():
            self.writer.add_scalar(f"final/{name}", value, self.step)
        self.writer.close()


class MlflowLog(Callback):
    """An MLflow run named as the run folder: its settings as parameters, the data's fingerprint as a
    tag, each epoch's numbers as metrics, and the final ones when it ends."""

    def __init__(self, folder: Path, values: dict):
        try:
            import mlflow
        except ImportError:
            raise _missing("mlflow") from None
        self.mlflow, self.step = mlflow, 0
        if not os.environ.get("MLFLOW_TRACKING_URI"):
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # a local store, as the issue of --log asks
            mlflow.set_tracking_uri(Path("mlruns").absolute().as_uri())
        mlflow.set_experiment("deepfit")
        self.run = mlflow.start_run(run_name=values.get("name") or Path(folder).name)
        mlflow.log_params({key: str(value)[:500] for key, value in values.get("settings", {}).items()})
        mlflow.set_tags({"deepfit.kind": values.get("kind"), "deepfit.data": values.get("data"),
                         "deepfit.fingerprint": values.get("fingerprint"), "deepfit.run_folder": str(folder)})

    def on_epoch_end(self, state) -> None:
        self.step += 1
        row = state.history[-1] if state.history else {}
        self.mlflow.log_metrics({name: row[name] for name in METRICS if row.get(name) is not None}, step=self.step)

    def close(self, values: dict) -> None:
        final = {f"final_{name}": value for name, value in (values.get("metrics") or {}).items()
                 if isinstance(value, (int, float))}
        if final:
            self.mlflow.log_metrics(final, step=self.step)
        self.mlflow.end_run(status="FINISHED" if values.get("status") == "finished" else "FAILED")


def require(names) -> None:
    """Refuse, before any data is read, a tracker whose package is not installed."""
    for name in dict.fromkeys(names):
        if name not in TRACKERS:
            raise InvalidInputError(f"--log {name}: deepfit logs to {' or '.join(TRACKERS)}.")
        if find_spec(name) is None:
            raise _missing(name)


def tracker_callbacks(names, folder, values: dict) -> list:
    """The trackers named (each at most once), started; none on the ranks that do not write."""
    unknown = [name for name in names if name not in TRACKERS]
    if unknown:
        raise InvalidInputError(f"--log {unknown[0]}: deepfit logs to {' or '.join(TRACKERS)}.")
    if not distributed.main_process():
        return []
    made = {"tensorboard": TensorBoardLog, "mlflow": MlflowLog}
    return [made[name](Path(folder), values) for name in dict.fromkeys(names)]


def _missing(package: str) -> InvalidInputError:
    return InvalidInputError(f"--log {package} needs the {package} package, which deepfit does not install "
                             f"itself: pip install 'deepfit[{package}]'.")
