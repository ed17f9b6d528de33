"""Inputs to check an export with, made from what the model's encoder knows (no training data is kept),
the original's answers on them, and a runner for the exported file (onnxruntime, or TorchScript)."""

from __future__ import annotations

import warnings

import numpy as np

from deepfit.data import kinds

SAMPLES = 64


def sample_inputs(estimator, n: int = SAMPLES, seed: int = 0):
    """Examples the model could be given (its kind makes them from what the encoder knows: table rows
    around the training statistics, random pictures at the model's size, noise clips for sound)."""
    return kinds.of(estimator).sample_inputs(estimator.encoder_, n, np.random.default_rng(seed))


def reference_and_inputs(estimator, raw: bool):
    """(the estimator's probabilities, what the exported file is given) on sample inputs."""
    examples = sample_inputs(estimator)
    reference = _probabilities(estimator, examples)
    return reference, kinds.of(estimator).exported_inputs(estimator.encoder_, examples, raw)


def exported_runner(path, format: str, input_name: str):
    """A function from a batch of inputs to the exported file's probabilities."""
    if format == "onnx":
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return lambda batch: session.run(["probabilities"], {input_name: batch})[0]

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated upstream, still loads
        module = torch.jit.load(str(path), map_location="cpu")
    module.eval()

    def run(batch):
        with torch.inference_mode():
            return module(torch.from_numpy(np.ascontiguousarray(batch))).numpy()
    return run


def _probabilities(estimator, examples) -> np.ndarray:
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(examples)
    decided = estimator.predict(examples)  # the perceptron: its step, as 0/1 per class
    return (np.asarray(estimator.classes_)[None, :] == decided[:, None]).astype(np.float64)
