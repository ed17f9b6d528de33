"""`deepfit export`: ONNX run by onnxruntime and TorchScript loaded by torch give the model's own
probabilities from raw inputs; what cannot be inside the file is said and written beside it."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime
import pytest
import torch
from conftest import mixed_table, run_cli
from sklearn.datasets import load_digits

from deepfit import Clips, DeepClassifier
from deepfit.data.synthetic_sound import genres
from deepfit.export import ExportError, export_model


def onnx_run(path, name, inputs):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["probabilities"], {name: inputs})[0]


@pytest.fixture(scope="module")
def digits_model():
    X, y = load_digits(return_X_y=True)
    X = X.copy()
    X[::5, 10] = np.nan  # missing values: the file must impute them as deepfit does
    return DeepClassifier(random_state=0, max_epochs=5).fit(X[:1500], y[:1500]), X[1500:]


def test_onnx_takes_raw_table_features_with_missing_values(digits_model, tmp_path):
    model, X_test = digits_model
    result = export_model(model, tmp_path / "digits.onnx")
    produced = onnx_run(tmp_path / "digits.onnx", "features", X_test.astype(np.float32))
    assert np.abs(produced - model.predict_proba(X_test)).max() <= 1e-5
    assert (model.classes_[produced.argmax(axis=1)] == model.predict(X_test)).all()
    assert result.max_difference <= 1e-5 and result.encoder_path is None


def test_onnx_scales_far_outliers_as_deepfit_does(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_cauchy((400, 4))  # tails tens to hundreds of interquartile ranges out, both sides
    y = (X[:, 0] + np.sign(X[:, 1]) > 0).astype(int)
    model = DeepClassifier(random_state=0, max_epochs=3).fit(X[:300], y[:300])
    export_model(model, tmp_path / "tails.onnx")
    produced = onnx_run(tmp_path / "tails.onnx", "features", X[300:].astype(np.float32))
    assert np.abs(X[300:]).max() > 100
    assert np.abs(produced - model.predict_proba(X[300:])).max() <= 1e-5


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_torchscript_gives_the_same_probabilities(digits_model, tmp_path):
    model, X_test = digits_model
    export_model(model, tmp_path / "digits.pt", "torchscript")
    loaded = torch.jit.load(str(tmp_path / "digits.pt"))
    with torch.inference_mode():
        produced = loaded(torch.from_numpy(X_test.astype(np.float32))).numpy()
    assert np.abs(produced - model.predict_proba(X_test)).max() <= 1e-5


def test_onnx_takes_uint8_pictures(tmp_path):
    digits = load_digits()
    pictures = (digits.images * 16).clip(0, 255).astype(np.uint8)
    model = DeepClassifier(random_state=0, max_epochs=2).fit(pictures[:600], digits.target[:600])
    export_model(model, tmp_path / "pictures.onnx")
    test = pictures[600:700]
    produced = onnx_run(tmp_path / "pictures.onnx", "pixels", test[:, None, :, :])  # N, C, H, W
    assert np.abs(produced - model.predict_proba(test)).max() <= 1e-5


@pytest.mark.slow
def test_categorical_tables_take_encoded_rows_and_get_the_encoder_beside(tmp_path):
    frame = mixed_table(300)
    model = DeepClassifier(random_state=0, max_epochs=10).fit(frame.drop(columns="label"), frame["label"])
    model.save(tmp_path / "mixed.deepfit")
    result = run_cli("export", tmp_path / "mixed.deepfit")
    assert result.returncode == 0, result.stderr
    assert "cannot be encoded inside the file" in result.stderr and "'colour'" in result.stderr
    sidecar = json.loads((tmp_path / "mixed.onnx.encoder.json").read_text())
    assert sidecar["classes"] == ["drop", "keep"] and sidecar["encoder"]["kind"] == "table"
    features = frame.drop(columns="label").iloc[:50]
    encoded = model.encoder_.transform(features).astype(np.float32)
    produced = onnx_run(tmp_path / "mixed.onnx", "encoded", encoded)
    assert np.abs(produced - model.predict_proba(features)).max() <= 1e-5


def test_sound_takes_the_windows_of_one_clip(tmp_path):
    waveforms, labels = genres(per_class=5, rate=8000, seconds=(1.0, 4.0), seed=1)
    clips = Clips(waveforms, 8000)
    model = DeepClassifier(random_state=0, max_epochs=2, window_seconds=1.0).fit(clips, labels)
    result = export_model(model, tmp_path / "sound.onnx")
    assert result.encoder_path.is_file() and "ONE clip" in result.notes[0]
    windows, clip_of_window = model.encoder_.encode(clips[:6])
    produced = np.concatenate([onnx_run(tmp_path / "sound.onnx", "windows", windows[clip_of_window == i])
                               for i in range(6)])
    assert np.abs(produced - model.predict_proba(clips[:6])).max() <= 1e-5


class _Disagreeing(DeepClassifier):
    """A model whose own answers differ from its network's: what a broken export would look like."""

    def predict_proba(self, X):
        return np.roll(super().predict_proba(X), 1, axis=1)


def test_an_export_that_disagrees_is_refused_and_nothing_is_kept(digits_model, tmp_path):
    model, _ = digits_model
    broken = _Disagreeing(random_state=0, max_epochs=1).fit(np.nan_to_num(load_digits().data[:300]),
                                                            load_digits().target[:300])
    with pytest.raises(ExportError, match="differs from the original"):
        export_model(broken, tmp_path / "broken.onnx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_the_command_refuses_a_missing_model(tmp_path):
    result = run_cli("export", tmp_path / "none.deepfit", "--format", "torchscript")
    assert result.returncode == 2 and "none.deepfit" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_moved_threshold_is_noted_and_the_export_leaves_the_model_as_it_was(tmp_path):
    from deepfit import LogisticRegression

    X, y = load_digits(return_X_y=True)
    model = LogisticRegression(threshold=0.3, max_epochs=5, random_state=0).fit(X, y % 2)
    before = model.predict_proba(X[:20])
    result = export_model(model, tmp_path / "logistic.onnx")
    assert any("at least 0.3" in note for note in result.notes)
    assert np.array_equal(model.predict_proba(X[:20]), before) and model.module_.training is False
    refused = run_cli("export", tmp_path / "logistic.onnx", "--format", "onnx", "-o", tmp_path / "logistic.onnx")
    assert refused.returncode == 2
