"""Inputs to check an export with, made from what the model's encoder knows (no training data is kept),
the original's answers on them, and a runner for the exported file (onnxruntime, or TorchScript)."""

from __future__ import annotations

import numpy as np
import pandas as pd

SAMPLES = 64


def sample_inputs(estimator, n: int = SAMPLES, seed: int = 0):
    """Examples the model could be given: table rows around the training statistics (some missing,
    every category), random pictures at the model's size, or noise clips for a sound model."""
    rng = np.random.default_rng(seed)
    encoder = estimator.encoder_
    if encoder.kind == "image":
        return rng.integers(0, 256, (n, encoder.height, encoder.width, encoder.channels), dtype=np.uint8)
    if encoder.kind == "audio":
        from deepfit.data.audio import Clips

        lengths = rng.uniform(0.5, 2.5, 4) * encoder.window_seconds * encoder.sample_rate
        return Clips([(0.1 * rng.standard_normal(int(k))).astype(np.float32) for k in lengths], encoder.sample_rate)
    columns = {}
    for column in encoder.columns:
        if column.type == "numeric":
            values = column.mean + column.scale * rng.standard_normal(n)
            if column.missing_indicator:
                values[rng.random(n) < 0.2] = np.nan
        else:
            choices = list(column.categories) + [None]
            values = np.array([choices[i] for i in rng.integers(0, len(choices), n)], dtype=object)
        columns[column.name] = values
    frame = pd.DataFrame(columns)
    return frame if encoder.from_frame else frame.to_numpy(dtype=np.float64)


def reference_and_inputs(estimator, raw: bool):
    """(the estimator's probabilities, what the exported file is given) on sample inputs."""
    examples = sample_inputs(estimator)
    reference = _probabilities(estimator, examples)
    encoder = estimator.encoder_
    if encoder.kind == "image":
        return reference, encoder.transform(examples)
    if encoder.kind == "audio":
        windows, clip_of_window = encoder.encode(examples)
        return reference, [windows[clip_of_window == i].astype(np.float32) for i in range(len(examples))]
    if raw:
        values = examples.to_numpy(dtype=np.float32) if isinstance(examples, pd.DataFrame) else examples
        return reference, np.ascontiguousarray(values, dtype=np.float32)
    return reference, encoder.transform(examples).astype(np.float32)


def exported_runner(path, format: str, input_name: str):
    """A function from a batch of inputs to the exported file's probabilities."""
    if format == "onnx":
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return lambda batch: session.run(["probabilities"], {input_name: batch})[0]
    import warnings

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
