"""`deepfit runs compare A B ...`: runs' settings and metrics side by side (only the settings that
differ, unless all are asked for), and their curves for one plot (`evaluation.report_plots.plot_runs`)."""

from __future__ import annotations

from pathlib import Path

from deepfit.errors import InvalidInputError
from deepfit.runs.listing import summary
from deepfit.runs.record import read_epochs, read_run


def compared(folders, everything: bool = False) -> dict:
    """{"runs": names, "settings": {setting: [value per run]}, "metrics": {metric: [value per run]}}."""
    runs = []
    for folder in folders:
        folder = Path(folder)
        if not read_run(folder) and not (folder / "metrics.json").exists():
            raise InvalidInputError(f"{folder}: not a run folder (no run.json); `deepfit runs` lists them.")
        runs.append(summary(folder))
    names = _unique_names(runs)
    keys = list(dict.fromkeys(key for run in runs for key in run["settings"]))
    settings = {key: [run["settings"].get(key) for run in runs] for key in keys}
    if not everything:
        settings = {key: values for key, values in settings.items() if len({repr(v) for v in values}) > 1}
    facts = {"status": [run["status"] for run in runs], "data": [run["data"] for run in runs],
             "fingerprint": [run["fingerprint"] for run in runs],
             "seconds": [None if run["seconds"] is None else round(run["seconds"], 1) for run in runs]}
    metric_names = list(dict.fromkeys(key for run in runs for key in run["metrics"]))
    metrics = {**facts, **{key: [run["metrics"].get(key) for run in runs] for key in metric_names}}
    return {"runs": names, "folders": [run["folder"] for run in runs], "settings": settings, "metrics": metrics}


def side_by_side(comparison: dict) -> str:
    """The comparison as a text table: a row per setting and metric, a column per run."""
    header = ["", *comparison["runs"]]
    rows = [["settings that differ" if comparison["settings"] else "settings: the same"]]
    rows += [[key, *(_shown(v) for v in values)] for key, values in comparison["settings"].items()]
    rows += [["results"]] + [[key, *(_shown(v, key) for v in values)] for key, values in comparison["metrics"].items()]
    widths = [max(len(str(row[i])) for row in [header, *rows] if i < len(row)) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in [header, *rows])


def curves(folders, names: list[str]) -> dict:
    """{name: the run's epochs.jsonl rows}, for `deepfit.evaluation.report_plots.plot_runs`."""
    return {name: read_epochs(folder) for folder, name in zip(folders, names)}


def _unique_names(runs: list[dict]) -> list[str]:
    names = [run["name"] for run in runs]
    if len(set(names)) == len(names):
        return names
    return [str(Path(run["folder"]).relative_to(Path(run["folder"]).parents[1])) for run in runs]


def _shown(value, key: str = "") -> str:
    if value is None:
        return "-"
    if key == "seconds":
        return f"{value:.1f}"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)
