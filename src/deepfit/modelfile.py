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
from deepfit.errors import ModelFileError, did_you_mean

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
        beside = [entry.name for entry in path.parent.iterdir()] if path.parent.is_dir() else []
        raise ModelFileError(f"{path}: no such model file.{did_you_mean(path.name, beside) or ' Check the path.'} "
                             "A trained model is DIR/model.deepfit after 'deepfit train ... --out DIR'.")
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


# ------------------------------------------------------------------ names -> estimator classes
_READERS: dict = {}


def register(name: str, reader) -> None:
    """Let `load` rebuild the estimators named `name`: ``reader(path, header, tensors)`` returns one.
    Each estimator class registers itself where it is defined, so this module imports none."""
    _READERS[name] = reader


def load(path):
    """The estimator a model file holds, ready to predict (use `deepfit.load`, which registers them all).

    Reading parses JSON and copies tensor bytes; nothing in the file is unpickled or executed.
    """
    header, tensors = read_model(path)
    name = header.get("estimator")
    if name not in _READERS:
        known = ", ".join(sorted(_READERS)) or "none registered"
        raise ModelFileError(f"{path}: holds an estimator named {name!r}, which this deepfit cannot rebuild "
                             f"(it knows {known}). The file is damaged or was altered, or a newer deepfit wrote "
                             "it: upgrade deepfit, or train the model again.")
    return _READERS[name](path, header, tensors)
