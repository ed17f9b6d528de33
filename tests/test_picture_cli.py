"""The command line on pictures: train, evaluate, predict and features on folders, as a user runs them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REPO, run_cli, write_digit_pictures


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("pictures")
    write_digit_pictures(root / "train", digits=[0, 1, 7], per_class=20, size=12)
    write_digit_pictures(root / "test", digits=[0, 1, 7], per_class=8, size=12, offset=60)
    result = run_cli("train", root / "train", "--out", root / "run", "--quiet")
    assert result.returncode == 0, result.stderr
    return root, result


@pytest.mark.slow
def test_train_on_a_class_folder_writes_a_model_and_reports_accuracy(trained):
    root, result = trained
    assert "read 60 pictures of 12x12 pixels" in result.stderr
    metrics = json.loads((root / "run" / "metrics.json").read_text())
    assert metrics["classes"] == ["0", "1", "7"] and metrics["test"]["accuracy"] > 0.8


@pytest.mark.slow
def test_evaluate_a_test_folder_as_json(trained):
    root, _ = trained
    result = run_cli("evaluate", root / "run" / "model.deepfit", root / "test", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n_samples"] == 24 and report["accuracy"] > 0.8


@pytest.mark.slow
def test_predict_writes_one_row_per_file(trained):
    root, _ = trained
    out = root / "predictions.csv"
    result = run_cli("predict", root / "run" / "model.deepfit", root / "test" / "7", "-o", out)
    assert result.returncode == 0, result.stderr
    import pandas as pd

    table = pd.read_csv(out)
    assert len(table) == 8 and table["path"].str.endswith(".png").all()
    assert (table["prediction"].astype(str) == "7").mean() > 0.7
    probabilities = table[[c for c in table.columns if c.startswith("probability_")]].to_numpy()
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)


@pytest.mark.slow
def test_features_and_the_layer_plot(trained):
    root, _ = trained
    out = root / "features.npy"
    result = run_cli("features", root / "run" / "model.deepfit", root / "test", "-o", out, "--plot", root / "layers.png")
    assert result.returncode == 0, result.stderr
    features = np.load(out, allow_pickle=False)
    assert features.shape[0] == 24 and features.shape[1] > 8
    assert (root / "layers.png").read_bytes()[:4] == b"\x89PNG"
    assert "stage 1" in result.stdout and "input" in result.stdout


@pytest.mark.slow
def test_transfer_on_the_command_line(trained):
    root, _ = trained
    write_digit_pictures(root / "new", digits=[3, 8], per_class=10, size=12)
    result = run_cli("train", root / "new", "--from", root / "run" / "model.deepfit", "--freeze", "--out",
                     root / "new_run", "--max-epochs", "3", "--quiet", "--test-fraction", "0.2")
    assert result.returncode == 0, result.stderr
    import deepfit

    model = deepfit.load(root / "new_run" / "model.deepfit")
    assert list(model.classes_) == ["3", "8"]
    assert model.metadata_["transferred_from"].endswith("model.deepfit")


@pytest.mark.slow
@pytest.mark.parametrize("case", ["empty", "one_class", "non_pictures", "zero_byte", "freeze_without_from"])
def test_bad_picture_folders_exit_2_with_one_line_naming_the_file(tmp_path, case):
    data = tmp_path / "data"
    data.mkdir()
    extra = []
    if case == "one_class":
        write_digit_pictures(data, digits=[5], per_class=5, size=8)
    elif case == "non_pictures":
        (data / "notes.md").write_text("no pictures here")  # (a .txt would be read as a text)
    elif case == "zero_byte":
        write_digit_pictures(data, digits=[1, 2], per_class=3, size=8)
        (data / "2" / "empty.png").write_bytes(b"")
    elif case == "freeze_without_from":
        write_digit_pictures(data, digits=[1, 2], per_class=3, size=8)
        extra = ["--freeze"]
    result = run_cli("train", data, "--out", tmp_path / "run", "--quiet", *extra)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    expected = {"empty": "empty", "one_class": "only one class", "non_pictures": "no pictures",
                "zero_byte": "empty.png", "freeze_without_from": "--from"}[case]
    assert expected in lines[0]
    assert not (tmp_path / "run" / "model.deepfit").exists()


@pytest.mark.slow
def test_skip_bad_leaves_the_bad_file_out_with_a_warning(tmp_path):
    write_digit_pictures(tmp_path / "data", digits=[1, 2], per_class=6, size=8)
    (tmp_path / "data" / "1" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = run_cli("train", tmp_path / "data", "--out", tmp_path / "run", "--quiet", "--skip-bad",
                     "--max-epochs", "2")
    assert result.returncode == 0, result.stderr
    assert "warning:" in result.stderr and "broken.png" in result.stderr


@pytest.mark.parametrize("script, args, check", [
    ("digit_recognition.py", ["--limit", "300", "--max-epochs", "5"], lambda out: "convolutional network" in out),
    ("letter_classification.py", ["--per-class", "6", "--max-epochs", "3"], lambda out: "16-feature table" in out),
    ("face_recognition.py", ["--people", "3", "--per-person", "8", "--max-epochs", "3"],
     lambda out: "shift+flip" in out),
    ("elephants_vs_not.py", ["--per-class", "12", "--max-epochs", "3"], lambda out: "test accuracy" in out),
])
@pytest.mark.slow
def test_examples_run_end_to_end_on_small_data(tmp_path, script, args, check):
    import subprocess
    import sys

    extra = ["--out", str(tmp_path / "run")] if script == "elephants_vs_not.py" else []
    result = subprocess.run([sys.executable, str(REPO / "examples" / script), *args, *extra], capture_output=True,
                            text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert check(result.stdout), result.stdout
