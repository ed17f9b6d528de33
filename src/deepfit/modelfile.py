"""The model file: one `.deepfit` file, safe to open whoever wrote it.

It is a safetensors file: an 8-byte length, a JSON header, then raw tensor bytes. The header's
``__metadata__`` holds ``format: "deepfit"``, ``format_version`` and ``deepfit``: our own JSON
(classes, encoder, architecture, training summary). Reading it parses JSON and copies bytes;
nothing in the file is ever unpickled or run. Writes are atomic: a temporary file in the same
folder, flushed to disk, then renamed over the target, so a failed save leaves any earlier file.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from deepfit.atomic import write_atomically
from deepfit.errors import ModelFileError

FORMAT_NAME = "deepfit"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 100 * 1024 * 1024


def write_model(path, header: dict, tensors: dict[str, torch.Tensor]) -> Path:
    """Write `header` and `tensors` to `path` atomically."""
    metadata = {"format": FORMAT_NAME, "format_version": str(FORMAT_VERSION),
                FORMAT_NAME: json.dumps(header, separators=(",", ":"), allow_nan=False)}
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in tensors.items()}
    return write_atomically(path, save_tensors(tensors, metadata=metadata))


def read_model(path) -> tuple[dict, dict[str, torch.Tensor]]:
    """Read a model file; refuse anything else with a message that says what it is instead."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file. Check the path (a trained model is "
                             "DIR/model.deepfit after 'deepfit train ... --out DIR').")
    data = path.read_bytes()
    metadata = _parse_metadata(path, data)
    try:
        header = json.loads(metadata[FORMAT_NAME])
        tensors = load_tensors(data)
    except (ValueError, SafetensorError) as error:
        raise ModelFileError(f"{path}: the model file is damaged ({error}). Train or copy it again.") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: the model header is not a JSON object. The file is damaged.")
    return header, tensors


def _parse_metadata(path: Path, data: bytes) -> dict:
    if not data:
        raise ModelFileError(f"{path}: the file is empty, not a deepfit model. Train a model with 'deepfit train'.")
    kind = _sniff_foreign(data)
    if kind:
        raise ModelFileError(f"{path}: is {kind}, not a deepfit model file; deepfit never unpickles "
                             "files. Save models with clf.save() or 'deepfit train'.")
    if len(data) < 8:
        raise ModelFileError(f"{path}: is {len(data)} bytes long, too short to be a deepfit model.")
    (header_length,) = struct.unpack("<Q", data[:8])
    if header_length > MAX_HEADER_BYTES or not data[8:9] == b"{":
        raise ModelFileError(f"{path}: is not a deepfit model file (no model header at its start).")
    if 8 + header_length > len(data):
        raise ModelFileError(f"{path}: the file is truncated ({len(data)} bytes, its header alone "
                             f"needs {8 + header_length}). Copy or train it again.")
    try:
        header = json.loads(data[8:8 + header_length])
    except (ValueError, UnicodeDecodeError):
        raise ModelFileError(f"{path}: its header is not valid JSON; the file is damaged.") from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path}: is a safetensors file but not a deepfit model (no deepfit header).")
    version = metadata.get("format_version", "")
    if not version.isdigit():
        raise ModelFileError(f"{path}: has an unreadable format version {version!r}; the file is damaged.")
    if int(version) > FORMAT_VERSION:
        raise ModelFileError(f"{path}: was written in model format version {version} by a newer deepfit; "
                             f"this deepfit reads version {FORMAT_VERSION}. Upgrade deepfit.")
    if FORMAT_NAME not in metadata:
        raise ModelFileError(f"{path}: has no deepfit header; the file is damaged.")
    return metadata


def _sniff_foreign(data: bytes) -> str:
    if data[:1] == b"\x80" and len(data) > 1 and data[1] <= 5:
        return "a Python pickle"
    if data[:4] == b"PK\x03\x04":
        return "a zip archive (as torch.save writes)"
    if data[:2] in (b"\x1f\x8b",):
        return "a gzip archive"
    return ""


# ------------------------------------------------------------------ estimators <-> files
def save_estimator(estimator, path, metadata: dict | None = None) -> Path:
    """Write a fitted deepfit estimator: its parameters, classes, encoder, architecture and weights."""
    from deepfit import __version__

    header = {
        "deepfit_version": __version__,
        "estimator": type(estimator).__name__,
        "params": {k: v for k, v in estimator.get_params().items() if _json_safe(v)},
        "classes": estimator.classes_.tolist(),
        "classes_dtype": estimator.classes_.dtype.str if estimator.classes_.dtype.kind != "O" else "object",
        "n_features_in": int(estimator.n_features_in_) if hasattr(estimator, "n_features_in_") else None,
        "feature_names_in": (estimator.feature_names_in_.tolist()
                             if hasattr(estimator, "feature_names_in_") else None),
        "encoder": estimator.encoder_.to_dict(),
        "architecture": estimator.architecture_,
        "training": _finite({"summary": estimator.training_summary_, "history": estimator.history_,
                             **({"recordings": estimator.training_recordings_}
                                if getattr(estimator, "training_recordings_", None) else {})}),
        "metadata": {**getattr(estimator, "metadata_", {}), **(metadata or {})},
    }
    return write_model(path, header, estimator.module_.state_dict())


def load(path):
    """Load an estimator saved with `save` (or `deepfit train`), ready to predict.

    Reading parses JSON and copies tensor bytes; nothing in the file is unpickled or executed.
    """
    import numpy as np

    from deepfit import models
    from deepfit.data.audio_encoder import AudioEncoder
    from deepfit.data.encoder import TableEncoder
    from deepfit.data.image_encoder import ImageEncoder
    from deepfit.estimators import DeepClassifier, LogisticRegression, Perceptron
    from deepfit.training.devices import resolve_device

    known = {cls.__name__: cls for cls in (DeepClassifier, LogisticRegression, Perceptron)}
    header, tensors = read_model(path)
    if header.get("estimator") == "SlidingWindowDetector":
        return _load_detector(path, header, tensors)
    try:
        estimator = known[header["estimator"]](**header["params"])
        classes_dtype = header["classes_dtype"]
        estimator.classes_ = np.array(header["classes"], dtype=object if classes_dtype == "object" else classes_dtype)
        if header.get("n_features_in") is not None:
            estimator.n_features_in_ = int(header["n_features_in"])
        if header.get("feature_names_in") is not None:
            estimator.feature_names_in_ = np.array(header["feature_names_in"], dtype=object)
        encoders = {"table": TableEncoder, "image": ImageEncoder, "audio": AudioEncoder}
        estimator.encoder_ = encoders[header["encoder"].get("kind", "table")].from_dict(header["encoder"])
        estimator.architecture_ = dict(header["architecture"])
        _check_size(estimator.architecture_, tensors)
        module = models.build(estimator.architecture_)
        module.load_state_dict(tensors, strict=True)
        estimator.history_ = header["training"]["history"]
        estimator.training_summary_ = header["training"]["summary"]
        estimator.n_iter_ = int(estimator.training_summary_.get("epochs", 0))
        estimator.metadata_ = dict(header.get("metadata") or {})
        if header["training"].get("recordings"):
            estimator.training_recordings_ = [str(r) for r in header["training"]["recordings"]]
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as error:
        raise ModelFileError(f"{path}: the model header does not match its weights or is incomplete "
                             f"({type(error).__name__}: {str(error)[:200]}). The file is damaged or was "
                             "altered; train or copy it again.") from None
    try:
        estimator.device_ = resolve_device(estimator.device)
    except Exception:
        estimator.device_ = torch.device("cpu")  # trained on a GPU, loaded where there is none
    estimator.module_ = module.to(estimator.device_).eval()
    return estimator


def _load_detector(path, header: dict, tensors: dict):
    from deepfit.estimators.detector import SlidingWindowDetector

    try:
        _check_size(dict(header["architecture"]), tensors)
        return SlidingWindowDetector.from_header(header, tensors)
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as error:
        raise ModelFileError(f"{path}: the detector's header does not match its weights or is incomplete "
                             f"({type(error).__name__}: {str(error)[:200]}). The file is damaged or was "
                             "altered; train or copy it again.") from None


def _check_size(architecture: dict, tensors: dict) -> None:
    """Refuse an architecture bigger than the weights stored (a tampered header could ask for terabytes)."""
    from deepfit.models import parameter_count

    stored = sum(t.numel() for t in tensors.values())
    if parameter_count(architecture) != stored:
        raise ValueError(f"the architecture needs {parameter_count(architecture)} weights, the file holds {stored}")


def _json_safe(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _finite(value):
    """JSON has no NaN or infinity: write them as null."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
