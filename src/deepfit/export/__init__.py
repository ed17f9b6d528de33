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

from deepfit.errors import DeepfitError, InvalidInputError
from deepfit.export.parity import sample_inputs
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
        from deepfit.modelfile import load

        estimator = load(estimator)
    path = Path(path)
    module, example, input_name, description, notes, raw = _graph(estimator)
    threshold = getattr(estimator, "threshold", 0.5)
    if len(estimator.classes_) == 2 and threshold != 0.5:
        notes.append(f"This model labels a row {estimator.classes_[1]!r} when its probability is at least "
                     f"{threshold:g}, not at the most probable class: apply that threshold to the file's output.")
    from deepfit.atomic import replaced_atomically

    with replaced_atomically(path) as temporary:
        if format == "onnx":
            _write_onnx(module, example, input_name, temporary)
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
        from deepfit.atomic import write_atomically

        write_atomically(encoder_path, json.dumps({
            "classes": [plain(c) for c in estimator.classes_], "encoder": estimator.encoder_.to_dict(),
            "input": description, "notes": notes}, indent=2).encode())
    return ExportResult(path, format, input_name, description, difference, encoder_path, notes)


def _graph(estimator):
    """(module, example input, input name, description, notes, takes raw inputs?)."""
    network = copy.deepcopy(estimator.module_).float().eval().cpu()  # the estimator keeps its own, where it is
    output = network.output
    encoder = estimator.encoder_
    if encoder.kind == "image":
        example = torch.zeros((2, encoder.channels, encoder.height, encoder.width), dtype=torch.uint8)
        description = (f"uint8 pictures [N, {encoder.channels}, {encoder.height}, {encoder.width}] (N, C, H, W) at the "
                       "model's size; normalisation is inside")
        return Exported(network, output).eval(), example, "pixels", description, [], True
    if encoder.kind == "audio":
        example = torch.zeros((2, 1, encoder.n_mels, encoder.window_frames), dtype=torch.float32)
        notes = ["The log-mel spectrogram cannot be expressed in the file: it takes the standardised spectrogram "
                 f"windows of ONE clip, float32 [W, 1, {encoder.n_mels}, {encoder.window_frames}], as "
                 "deepfit's AudioEncoder makes them (settings in the .encoder.json beside it), and gives that "
                 "clip's probabilities [1, K] from the mean of its windows' scores."]
        return (Exported(network, output, pool_windows=True).eval(), example, "windows",
                f"float32 spectrogram windows of one clip [W, 1, {encoder.n_mels}, {encoder.window_frames}]",
                notes, False)
    categorical = [c.name for c in encoder.columns if c.type != "numeric"]
    if categorical:
        width = encoder.transform(sample_inputs(estimator, 1)).shape[1]
        notes = [f"Categorical column(s) {', '.join(map(repr, categorical[:5]))} cannot be encoded inside the file: "
                 f"it takes the encoded rows, float32 [N, {width}] (standardised numbers, missing-value "
                 "indicators, one-hot categories), as deepfit's TableEncoder makes them (in the .encoder.json "
                 "beside it)."]
        example = torch.zeros((2, width), dtype=torch.float32)
        return Exported(network, output).eval(), example, "encoded", f"float32 encoded rows [N, {width}]", notes, False
    mean, scale, clip, indicators = encoder.numeric_arrays()
    names = ", ".join(map(str, encoder.feature_names[:6])) + (", ..." if len(encoder.feature_names) > 6 else "")
    example = torch.zeros((2, len(encoder.feature_names)), dtype=torch.float32)
    description = (f"float32 features [N, {len(encoder.feature_names)}] in training order ({names}); NaN for "
                   "missing; scaling is inside")
    return Exported(network, output, TableScaling(mean, scale, clip, indicators)).eval(), example, "features", \
        description, [], True


def _write_onnx(module, example, input_name: str, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter is deprecated upstream; its files are not
        torch.onnx.export(module, (example,), str(path), dynamo=False, input_names=[input_name],
                          output_names=["probabilities"], opset_version=OPSET,
                          dynamic_axes={input_name: {0: "n"}, "probabilities": {0: "n"}})


def _parity(estimator, path: Path, format: str, input_name: str, raw: bool) -> float:
    """The largest difference between the exported file's probabilities and the estimator's, on
    sample inputs made from what the encoder knows (ranges, categories, sizes)."""
    from deepfit.export.parity import exported_runner, reference_and_inputs

    run = exported_runner(path, format, input_name)
    reference, inputs = reference_and_inputs(estimator, raw)
    produced = np.concatenate([run(batch) for batch in inputs]) if isinstance(inputs, list) else run(inputs)
    return float(np.abs(produced.astype(np.float64) - reference).max())
