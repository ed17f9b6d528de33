"""What the studio makes of finished runs: an ONNX export beside the model (checked against it, as
`deepfit export` checks), and runs compared: their curves in one picture, settings and results side
by side (`deepfit runs compare`)."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from deepfit.errors import InvalidInputError
from deepfit.evaluation.report_plots import plot_runs
from deepfit.runs.comparison import compared, curves


def export_onnx(folder: Path) -> dict:
    from deepfit.estimators import load
    from deepfit.export import export_model

    model_path = Path(folder) / "model.deepfit"
    if not model_path.is_file():
        raise InvalidInputError(f"run {Path(folder).name!r} has no model yet; export it when it has finished.")
    result = export_model(load(model_path), Path(folder) / "model.onnx", "onnx")
    return {"file": "model.onnx", "max_difference": result.max_difference, "notes": list(result.notes),
            "encoder_file": result.encoder_path.name if result.encoder_path else None}


def compare_runs(folders: list[Path]) -> dict:
    if len(folders) < 2:
        raise InvalidInputError("choose two runs or more to compare.")
    comparison = compared(folders)
    names = [f"{Path(f).parent.name}/{Path(f).name}" for f in comparison["folders"]]
    with tempfile.TemporaryDirectory() as scratch:
        png = plot_runs(curves(comparison["folders"], names), Path(scratch) / "curves.png").read_bytes()
    return {**comparison, "runs": names, "folders": None,
            "plot": "data:image/png;base64," + base64.b64encode(png).decode()}
