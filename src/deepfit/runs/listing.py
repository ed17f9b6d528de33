"""Finding runs again: every folder under a root that holds a run.json (or, from before run.json,
a model.deepfit with its metrics.json), summed up in one row each, and how each stands: finished,
running (its process is alive), interrupted (killed: its checkpoint can be resumed), cancelled or
failed.

>>> find_runs("/nonexistent")
[]
"""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime
from pathlib import Path

from deepfit.run_folder import CHECKPOINT_NAME, METRICS_NAME, MODEL_NAME
from deepfit.runs.record import RUN_NAME, read_run

COLUMNS = ("name", "kind", "data", "status", "accuracy", "seconds", "when")
SKIPPED = {"tensorboard", "mlruns", ".git", "node_modules", "examples"}


def find_runs(root) -> list[Path]:
    """Run folders under `root` (or `root` itself), in the order of their paths."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(s for s in subfolders if s not in SKIPPED and not s.startswith("."))
        if RUN_NAME in files or (MODEL_NAME in files and METRICS_NAME in files):
            found.append(Path(folder))
    return found


def summary(folder, root=None) -> dict:
    """One row: name (the folder, below `root`), kind, data, status, accuracy, seconds, when; and the
    folder, settings and metrics for those who want more."""
    folder = Path(folder)
    run = read_run(folder) or _from_metrics(folder)
    metrics = run.get("metrics") or {}
    name = str(folder.relative_to(root)) if root is not None and folder != Path(root) else folder.name
    return {"name": name, "kind": run.get("kind"), "data": run.get("data"), "status": status(folder, run),
            "accuracy": metrics.get("accuracy", metrics.get("val_accuracy")), "seconds": run.get("wall_seconds"),
            "when": run.get("started"), "folder": str(folder), "fingerprint": run.get("fingerprint"),
            "settings": run.get("settings") or {}, "metrics": metrics}


def status(folder: Path, run: dict) -> str:
    """How the run stands: a "running" run whose process is gone was interrupted."""
    said = run.get("status", "finished")
    if said != "running" or _alive(run):
        return said
    return "interrupted" if (Path(folder) / CHECKPOINT_NAME).exists() else "failed"


def _alive(run: dict) -> bool:
    if run.get("host") != socket.gethostname():
        return True  # another machine's run: we cannot tell, so we believe it
    try:
        os.kill(int(run.get("pid", -1)), 0)
    except (OSError, ValueError):
        return False
    return _not_a_zombie(int(run["pid"]))


def _not_a_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _from_metrics(folder: Path) -> dict:
    """A run from before run.json: what its metrics.json says."""
    try:
        metrics = json.loads((folder / METRICS_NAME).read_text())
    except (OSError, ValueError):
        return {}
    test, training = metrics.get("test") or {}, metrics.get("training") or {}
    when = datetime.fromtimestamp((folder / METRICS_NAME).stat().st_mtime).astimezone().isoformat(timespec="seconds")
    return {"kind": None, "data": metrics.get("data"), "status": "finished", "started": when,
            "wall_seconds": training.get("seconds"), "settings": {"model": metrics.get("model")},
            "metrics": {key: test[key] for key in ("accuracy", "log_loss") if key in test}}


def table(rows: list[dict]) -> str:
    """The rows as a plain-text table, one run a line."""
    shown = [[_cell(column, row.get(column)) for column in COLUMNS] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in shown)) for i, column in enumerate(COLUMNS)]
    lines = ["  ".join(column.ljust(width) for column, width in zip(COLUMNS, widths))]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)) for line in shown]
    return "\n".join(line.rstrip() for line in lines)


def _cell(column: str, value) -> str:
    if value is None:
        return "-"
    if column == "accuracy":
        return f"{value:.4f}"
    if column == "seconds":
        return f"{value:.1f}"
    if column == "when":
        return str(value).replace("T", " ")[:16]
    if column == "data":
        text = str(value)
        return text if len(text) <= 40 else "…" + text[-39:]
    return str(value)
