"""`export_model(estimator, path, format)`: the model as an ONNX or TorchScript file that takes raw
inputs where the format can express the preprocessing, checked against the original before it is
kept (maximum absolute difference of probabilities at most `TOLERANCE`).

Where preprocessing cannot be expressed (categorical columns, the spectrograms of sound), the file
takes the encoded inputs and the encoder is written beside it as JSON, and the result says so.
"""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from deepfit.atomic import replaced_atomically, write_atomically
from deepfit.data import kinds
from deepfit.errors import DeepfitError, InvalidInputError
from deepfit.export.wrappers import Exported, TableScaling
from deepfit.json_values import plain

TOLERANCE = 1e-5
FORMATS = ("onnx", "torchscript")
OPSET = 17


class ExportError(DeepfitError):
    """The exported file does not answer as the model does; nothing was kept."""

@dataclass
class ExportResult:
    path: Path
    format: str
    input_name: str
    input_description: str
    max_difference: float
    encoder_path: Path | None = None
    notes: list[str] = field(default_factory=list)


def export_model(estimator, path, format: str = "onnx") -> ExportResult:
    """Write `estimator` (fitted, or a .deepfit path) to `path` as `format` ("onnx" or "torchscript")."""
    if format not in FORMATS:
        raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}, got {format!r}.")
    if not hasattr(estimator, "classes_"):
        from deepfit.estimators import load

        estimator = load(estimator)
    path = Path(path)
    module, example, input_name, description, notes, raw, varying = _graph(estimator)
    threshold = getattr(estimator, "threshold", 0.5)
    if len(estimator.classes_) == 2 and threshold != 0.5:
        notes.append(f"This model labels a row {estimator.classes_[1]!r} when its probability is at least "
                     f"{threshold:g}, not at the most probable class: apply that threshold to the file's output.")

    with replaced_atomically(path) as temporary:
        if format == "onnx":
            _write_onnx(module, example, input_name, temporary, varying)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # TorchScript is deprecated upstream but still loads everywhere
                traced = torch.jit.trace(module, example, check_trace=False)
                traced.save(str(temporary))
        difference = _parity(estimator, temporary, format, input_name, raw)  # before the file is kept
        if not difference <= TOLERANCE:
            raise ExportError(f"{path}: the exported model differs from the original by {difference:.2e} in "
                              f"probability (more than {TOLERANCE:g}); nothing was written. Please report this.")
    encoder_path = None
    stale = path.with_name(path.name + ".encoder.json")
    if raw:
        stale.unlink(missing_ok=True)  # an earlier export's encoder would describe another input
    else:
        encoder_path = stale
        write_atomically(encoder_path, json.dumps({
            "classes": [plain(c) for c in estimator.classes_], "encoder": estimator.encoder_.to_dict(),
            "input": description, "notes": notes}, indent=2).encode())
    return ExportResult(path, format, input_name, description, difference, encoder_path, notes)


def _graph(estimator):
    """(module, example input, input name, description, notes, takes raw inputs?, varying axes), as the
    kind says."""
    network = copy.deepcopy(estimator.module_).float().eval().cpu()  # the estimator keeps its own, where it is
    encoder = estimator.encoder_
    spec = kinds.of(encoder).export_input(encoder)
    before = TableScaling(*spec.scaling) if spec.scaling is not None else None
    module = Exported(network, network.output, before, pool_windows=spec.pool_windows).eval()
    return module, spec.example, spec.name, spec.description, list(spec.notes), spec.raw, spec.varying


def _write_onnx(module, example, input_name: str, path: Path, varying: tuple = ()) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter is deprecated upstream; its files are not
        torch.onnx.export(module, (example,), str(path), dynamo=False, input_names=[input_name],
                          output_names=["probabilities"], opset_version=OPSET,
                          dynamic_axes={input_name: {0: "n", **dict(varying)}, "probabilities": {0: "n"}})


def _parity(estimator, path: Path, format: str, input_name: str, raw: bool) -> float:
    """The largest difference between the exported file's probabilities and the estimator's, on
    sample inputs made from what the encoder knows (ranges, categories, sizes)."""
    from deepfit.export.parity import exported_runner, reference_and_inputs

    run = exported_runner(path, format, input_name)
    reference, inputs = reference_and_inputs(estimator, raw)
    produced = np.concatenate([run(batch) for batch in inputs]) if isinstance(inputs, list) else run(inputs)
    return float(np.abs(produced.astype(np.float64) - reference).max())
