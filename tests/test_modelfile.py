"""The model file: round trips exactly, refuses everything else, never runs what is inside."""

import json
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import mixed_table

import deepfit
from deepfit import DeepClassifier, LogisticRegression, Perceptron
from deepfit.errors import ModelFileError, OutputError
from deepfit.modelfile import FORMAT_VERSION, read_model, write_model


@pytest.fixture
def fitted(blobs):
    X, y = blobs
    return DeepClassifier(hidden_layers=2, width=16, max_epochs=5, random_state=0).fit(X, y), X


@pytest.mark.parametrize("estimator", [DeepClassifier(hidden_layers=5, width=8, max_epochs=3),
                                       LogisticRegression(max_epochs=3), Perceptron(max_epochs=3)],
                         ids=["deep", "logistic", "perceptron"])
def test_save_and_load_give_identical_predictions(tmp_path, blobs, estimator):
    X, y = blobs
    labels = np.array(["a", "b", "c"])[y]
    estimator.set_params(random_state=0).fit(X, labels)
    path = estimator.save(tmp_path / "model.deepfit")
    loaded = deepfit.load(path)
    assert type(loaded) is type(estimator)
    assert loaded.get_params() == estimator.get_params()
    assert np.array_equal(loaded.predict(X), estimator.predict(X))
    assert np.array_equal(loaded.decision_function(X), estimator.decision_function(X))
    assert loaded.classes_.tolist() == ["a", "b", "c"]


def test_round_trip_keeps_the_encoder_and_feature_names(tmp_path):
    frame = mixed_table(120)
    features = frame.drop(columns="label")
    model = DeepClassifier(max_epochs=3, random_state=0).fit(features, frame["label"])
    loaded = deepfit.load(model.save(tmp_path / "m.deepfit", metadata={"target": "label"}))
    assert loaded.feature_names_in_.tolist() == ["size", "colour", "weight"]
    assert loaded.metadata_ == {"target": "label"}
    assert np.array_equal(loaded.predict_proba(features), model.predict_proba(features))


def test_numeric_classes_keep_their_type(tmp_path, fitted):
    model, X = fitted
    loaded = deepfit.load(model.save(tmp_path / "m.deepfit"))
    assert loaded.classes_.dtype == model.classes_.dtype
    assert loaded.predict(X).dtype == model.predict(X).dtype


def test_header_is_readable_json_with_version_classes_and_architecture(tmp_path, fitted):
    model, _ = fitted
    header, tensors = read_model(model.save(tmp_path / "m.deepfit"))
    assert header["estimator"] == "DeepClassifier"
    assert header["architecture"]["hidden_layers"] == 2
    assert header["classes"] == [0, 1, 2]
    assert header["training"]["summary"]["epochs"] == 5
    assert all(isinstance(t, torch.Tensor) for t in tensors.values())


class Payload:
    """Unpickling this creates a marker file: proof that code in a file ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.deepfit"
    path.write_bytes(pickle.dumps(Payload(str(marker))))
    with pytest.raises(ModelFileError, match="is a Python pickle, not a deepfit model file"):
        deepfit.load(path)
    assert not marker.exists()


def test_a_torch_save_archive_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.deepfit"
    torch.save({"weights": torch.zeros(2), "payload": Payload(str(marker))}, path)
    with pytest.raises(ModelFileError, match="zip archive"):
        deepfit.load(path)
    assert not marker.exists()


@pytest.mark.parametrize("cut", [0, 4, 20, -10])
def test_empty_and_truncated_files_are_refused(tmp_path, fitted, cut):
    model, _ = fitted
    data = model.save(tmp_path / "m.deepfit").read_bytes()
    broken = tmp_path / "broken.deepfit"
    broken.write_bytes(data[:cut] if cut >= 0 else data[:cut])
    with pytest.raises(ModelFileError, match="empty|too short|truncated|damaged|not a deepfit"):
        deepfit.load(broken)


def _rewrite_header(path, change):
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    change(header)
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data[8 + length:])


def test_a_newer_format_version_is_refused_with_upgrade_advice(tmp_path, fitted):
    model, _ = fitted
    path = model.save(tmp_path / "m.deepfit")
    _rewrite_header(path, lambda h: h["__metadata__"].update(format_version=str(FORMAT_VERSION + 1)))
    with pytest.raises(ModelFileError, match="newer deepfit.*Upgrade deepfit"):
        deepfit.load(path)


@pytest.mark.parametrize("tamper", [
    lambda d: d.update(estimator="os.system"),
    lambda d: d["architecture"].update(width=10**9),
    lambda d: d["architecture"].update(name="__import__"),
    lambda d: d.pop("classes"),
], ids=["estimator", "huge-width", "architecture-name", "no-classes"])
def test_a_tampered_header_is_refused(tmp_path, fitted, tamper):
    model, _ = fitted
    path = model.save(tmp_path / "m.deepfit")

    def change(header):
        ours = json.loads(header["__metadata__"]["deepfit"])
        tamper(ours)
        header["__metadata__"]["deepfit"] = json.dumps(ours)

    _rewrite_header(path, change)
    with pytest.raises(ModelFileError, match="damaged or was altered"):
        deepfit.load(path)


def test_a_plain_safetensors_file_is_not_taken_for_a_model(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "weights.safetensors"
    save_file({"w": torch.zeros(3)}, path)
    with pytest.raises(ModelFileError, match="safetensors file but not a deepfit model"):
        deepfit.load(path)


def test_a_failed_save_leaves_the_earlier_file_intact(tmp_path, fitted, monkeypatch):
    model, _ = fitted
    path = model.save(tmp_path / "m.deepfit")
    before = path.read_bytes()

    def disk_full(descriptor):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OutputError, match="No space left on device.*unchanged"):
        write_model(path, {"anything": 1}, {"w": torch.zeros(1000)})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.deepfit"]  # no temporary file left behind


def test_saving_into_a_path_under_a_file_is_a_clear_error(tmp_path, fitted):
    model, _ = fitted
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write here"):
        model.save(blocker / "m.deepfit")


def test_unfitted_estimator_cannot_be_saved(tmp_path):
    with pytest.raises(deepfit.errors.NotFittedError):
        DeepClassifier().save(tmp_path / "m.deepfit")


LEGACY = Path(__file__).parent / "fixtures" / "legacy"


def _legacy_inputs():
    """The inputs the legacy models' answers were recorded on (made as tests/fixtures/legacy was)."""
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"size": rng.normal(size=60), "colour": rng.choice(["red", "blue", "green"], 60)})
    pictures = (load_digits().images[:5] * 16).astype(np.uint8)
    waves = [np.sin(2 * np.pi * f * np.arange(4000) / 8000).astype(np.float32) for f in (300, 600) * 2]
    return {"table": frame.head(5), "picture": pictures, "sound": deepfit.Clips(waves, 8000)}


@pytest.mark.parametrize("name", ["table", "picture", "sound"])
def test_model_files_written_before_kinds_were_objects_still_load_and_answer_the_same(name):
    # Written by deepfit at commit de87583, before the model file became a leaf with a registry.
    expected = json.loads((LEGACY / "expected.json").read_text())[name]
    model = deepfit.load(LEGACY / f"{name}.deepfit")
    X = _legacy_inputs()[name]
    assert [str(v) for v in model.predict(X)] == expected["labels"]
    np.testing.assert_allclose(model.predict_proba(X), expected["probabilities"], atol=1e-5)
