"""A fitted estimator <-> the header and tensors of its model file.

`modelfile` reads and writes bytes; this module says what a network classifier puts in the header
and how it comes back. Each estimator class registers its reader with `modelfile.register`, so
`deepfit.load` finds the class by the name the header carries, and `modelfile` imports no estimator.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from deepfit import __version__, models
from deepfit.errors import ModelFileError
from deepfit.training.devices import resolve_device

READ_ERRORS = (KeyError, TypeError, ValueError, RuntimeError, AttributeError)


def common_header(estimator, metadata: dict | None, params: dict) -> dict:
    """What every estimator's header starts with: versions, name, parameters, metadata."""
    return {"deepfit_version": __version__, "estimator": type(estimator).__name__,
            "params": {k: v for k, v in params.items() if json_safe(v)},
            "metadata": {**getattr(estimator, "metadata_", {}), **(metadata or {})}}


def network_header(estimator, metadata: dict | None = None) -> dict:
    """The header of a fitted network classifier (DeepClassifier, LogisticRegression, Perceptron)."""
    classes = estimator.classes_
    return {
        **common_header(estimator, metadata, estimator.get_params()),
        "classes": classes.tolist(),
        "classes_dtype": classes.dtype.str if classes.dtype != object else "object",
        "n_features_in": int(estimator.n_features_in_) if hasattr(estimator, "n_features_in_") else None,
        "feature_names_in": (estimator.feature_names_in_.tolist()
                             if hasattr(estimator, "feature_names_in_") else None),
        "encoder": estimator.encoder_.to_dict(),
        "architecture": estimator.architecture_,
        "training": finite({"summary": estimator.training_summary_, "history": estimator.history_,
                            **({"recordings": estimator.training_recordings_}
                               if getattr(estimator, "training_recordings_", None) else {})}),
    }


def restore_network_classifier(cls, encoder_from_dict, path, header: dict, tensors: dict):
    """The estimator of class `cls` a model file holds; `encoder_from_dict` rebuilds its Encoder."""
    try:
        estimator = cls(**header["params"])
        dtype = header["classes_dtype"]
        estimator.classes_ = np.array(header["classes"], dtype=object if dtype == "object" else dtype)
        if header.get("n_features_in") is not None:
            estimator.n_features_in_ = int(header["n_features_in"])
        if header.get("feature_names_in") is not None:
            estimator.feature_names_in_ = np.array(header["feature_names_in"], dtype=object)
        estimator.encoder_ = encoder_from_dict(header["encoder"])
        estimator.architecture_ = dict(header["architecture"])
        module = build_module(estimator.architecture_, tensors)
        estimator.history_ = header["training"]["history"]
        estimator.training_summary_ = header["training"]["summary"]
        estimator.n_iter_ = int(estimator.training_summary_.get("epochs", 0))
        estimator.metadata_ = dict(header.get("metadata") or {})
        if header["training"].get("recordings"):
            estimator.training_recordings_ = [str(r) for r in header["training"]["recordings"]]
    except READ_ERRORS as error:
        raise damaged(path, "model", error) from None
    place_module(estimator, module)
    return estimator


def build_module(architecture: dict, tensors: dict) -> torch.nn.Module:
    """The network an architecture names, with the file's weights; refuses an architecture bigger
    than the weights stored (a tampered header could ask for terabytes)."""
    stored = sum(t.numel() for t in tensors.values())
    if models.parameter_count(architecture) != stored:
        raise ValueError(f"the architecture needs {models.parameter_count(architecture)} weights, "
                         f"the file holds {stored}")
    module = models.build(architecture)
    module.load_state_dict(tensors, strict=True)
    return module


def place_module(estimator, module: torch.nn.Module) -> None:
    """Put the loaded network on the estimator's device (the CPU when that device is not here)."""
    try:
        estimator.device_ = resolve_device(estimator.device)
    except Exception:
        estimator.device_ = torch.device("cpu")  # trained on a GPU, loaded where there is none
    estimator.module_ = module.to(estimator.device_).eval()


def damaged(path, what: str, error: BaseException) -> ModelFileError:
    return ModelFileError(f"{path}: the {what} header does not match its weights or is incomplete "
                          f"({type(error).__name__}: {str(error)[:200]}). The file is damaged or was "
                          "altered; train or copy it again.")


def json_safe(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def finite(value):
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value
