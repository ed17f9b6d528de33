"""The command line, run as a user runs it: real files in, real files out, one-line errors."""

import json

import pandas as pd
import pytest
from conftest import mixed_table, run_cli

import deepfit


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    data = folder / "animals.csv"
    mixed_table(300).to_csv(data, index=False)
    result = run_cli("train", data, "--target", "label", "--out", folder / "run", "--seed", "0", "--quiet",
                     cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder, data, result


@pytest.mark.slow
def test_train_writes_model_and_metrics_and_prints_test_accuracy(trained):
    folder, _, result = trained
    assert (folder / "run" / "model.deepfit").is_file()
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    assert metrics["n_test"] == 60 and metrics["n_train"] == 240
    assert metrics["test"]["accuracy"] > 0.8
    assert f"test accuracy: {metrics['test']['accuracy']:.4f}" in result.stdout


@pytest.mark.slow
def test_predict_writes_label_and_one_probability_column_per_class(trained, tmp_path):
    folder, data, _ = trained
    out = tmp_path / "predictions.csv"
    result = run_cli("predict", folder / "run" / "model.deepfit", data, "-o", out)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
    assert list(table.columns) == ["prediction", "probability_drop", "probability_keep"]
    assert len(table) == 300
    assert set(table["prediction"]) <= {"drop", "keep"}
    assert ((table["probability_drop"] + table["probability_keep"]) - 1).abs().max() < 1e-5


@pytest.mark.slow
def test_evaluate_prints_report_and_json(trained):
    folder, data, _ = trained
    text = run_cli("evaluate", folder / "run" / "model.deepfit", data)
    assert text.returncode == 0, text.stderr
    assert "accuracy" in text.stdout and "confusion matrix" in text.stdout and "precision" in text.stdout
    as_json = run_cli("evaluate", folder / "run" / "model.deepfit", data, "--target", "label", "--json")
    result = json.loads(as_json.stdout)
    assert 0.8 < result["accuracy"] <= 1
    assert result["confusion_matrix"]["labels"] == ["drop", "keep"]
    assert set(result["per_class"]) == {"drop", "keep"}
    assert 0.5 < result["roc_auc"] <= 1 and 0 <= result["expected_calibration_error"] < 0.5
    assert "ROC AUC" in text.stdout and "calibration error" in text.stdout


@pytest.mark.slow
def test_train_refuses_to_overwrite_a_model_unless_told(trained):
    folder, data, _ = trained
    model = folder / "run" / "model.deepfit"
    before = model.read_bytes()
    refused = run_cli("train", data, "--target", "label", "--out", folder / "run", "--quiet")
    assert refused.returncode == 2 and "already exists; pass --overwrite" in refused.stderr
    assert model.read_bytes() == before


@pytest.mark.slow
def test_demo_trains_a_cnn_on_digit_pictures_and_shows_its_mistakes(tmp_path, browser):
    from browser import console_errors, page_problems, save_screenshot

    result = run_cli("demo", "--out", tmp_path / "demo")
    assert result.returncode == 0, result.stderr
    accuracy = float(result.stdout.split("test accuracy: ")[1].split()[0])
    assert accuracy >= 0.97
    model = deepfit.load(tmp_path / "demo" / "model.deepfit")
    assert model.architecture_["name"] == "cnn" and model.encoder_.height == model.encoder_.width == 8
    assert json.loads((tmp_path / "demo" / "metrics.json").read_text())["test"]["accuracy"] == pytest.approx(
        accuracy, abs=1e-4)
    assert "epoch" in result.stderr  # the progress bar
    assert "What next" in result.stdout and "deepfit serve" in result.stdout and "report.html" in result.stdout
    browser.get((tmp_path / "demo" / "report.html").as_uri())
    assert f"{accuracy:.4f}" in browser.page_source and "Most confidently wrong" in browser.page_source
    thumbnails = browser.find_elements("css selector", ".gallery .example img")   # the wrong digits, enlarged
    assert thumbnails and all(browser.execute_script("return arguments[0].naturalWidth", t) >= 96 for t in thumbnails)
    assert page_problems(browser) == [] and console_errors(browser) == []
    save_screenshot(browser, "demo-report")


# ------------------------------------------------------------------------------ errors
def _write(path, content, mode="w"):
    if mode == "wb":
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


BAD_TABLES = {
    "empty": ("", "the file is empty"),
    "header-only": ("a,b,label\n", "has a header but no data rows"),
    "ragged": ("a,b,label\n1,2,x\n3,4\n5,6,y\n", "row 2 (line 3) has 2 values, but the header has 3 columns"),
    "non-numeric": ("a,b,label\n" + "".join(f"{i},{i},{'x' if i % 2 else 'y'}\n" for i in range(30))
                    + "oops,1,x\n", "column 'a', row 31: 'oops' is not a number"),
    "one-class": ("a,b,label\n1,2,x\n3,4,x\n5,6,x\n", "only one class ('x'); a classifier needs at least two"),
    "no-target": ("a,b,c\n1,2,x\n3,4,y\n", "has no column 'label'"),
    "missing-label": ("a,b,label\n1,2,x\n3,4,\n5,6,y\n", "have no value in the label column 'label' (row 2)"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", BAD_TABLES)
def test_bad_tables_get_one_line_exit_2_and_no_output(tmp_path, name):
    content, message = BAD_TABLES[name]
    data = _write(tmp_path / f"{name}.csv", content)
    result = run_cli("train", data, "--target", "label", "--out", tmp_path / "out", "--quiet")
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert str(data.name) in errors[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_non_utf8_bytes_are_located_and_an_encoding_suggested(tmp_path):
    data = _write(tmp_path / "latin.csv", "name,label\ncaf\xe9,x\nbar,y\n".encode("latin-1"), "wb")
    result = run_cli("train", data, "--target", "label", "--quiet", cwd=tmp_path)
    assert result.returncode == 2
    assert "line 2 has bytes that are not valid utf-8" in result.stderr and "--encoding latin-1" in result.stderr
    latin = run_cli("train", data, "--target", "label", "--encoding", "latin-1", "--test-fraction", "0",
                    "--max-epochs", "2", "--quiet", cwd=tmp_path)
    assert latin.returncode == 0, latin.stderr


def test_help_and_version_start_without_loading_torch_or_scikit_learn():
    # They take seconds to import; a user asking for --help, or the library for its version, waits for neither.
    import subprocess
    import sys

    probe = ("import sys; from deepfit.cli import main; main(['--help']); import deepfit; deepfit.__version__; "
             "print(sorted({'torch', 'sklearn'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "train" in result.stdout and result.stdout.splitlines()[-1] == "[]", result.stdout


@pytest.mark.slow
def test_missing_file_and_invalid_options(tmp_path):
    missing = run_cli("train", tmp_path / "nothere.csv")
    assert missing.returncode == 2 and "nothere.csv: no such file" in missing.stderr
    data = _write(tmp_path / "t.csv", "a,label\n1,x\n2,y\n")
    for option, message in [(["--width", "0"], "'--width'"), (["--batch-size", "many"], "--batch-size must be"),
                            (["--model", "tree"], "'--model'"), (["--test-fraction", "1.5"], "'--test-fraction'")]:
        result = run_cli("train", data, "--target", "label", *option, cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_file_that_is_not_a_model(tmp_path):
    fake = _write(tmp_path / "model.deepfit", "just text")
    data = _write(tmp_path / "t.csv", "a,label\n1,x\n")
    result = run_cli("predict", fake, data)
    assert result.returncode == 2 and "not a deepfit model file" in result.stderr


@pytest.mark.slow
def test_predict_with_different_columns_names_the_missing_one(trained, tmp_path):
    folder, _, _ = trained
    data = _write(tmp_path / "other.csv", "size,colour,height\n1,red,3\n")
    out = tmp_path / "p.csv"
    result = run_cli("predict", folder / "run" / "model.deepfit", data, "-o", out)
    assert result.returncode == 2 and "lacks column 'weight'" in result.stderr
    assert not out.exists()


@pytest.mark.slow
def test_predict_ignores_extra_columns_with_a_warning(trained, tmp_path):
    folder, _, _ = trained
    data = _write(tmp_path / "extra.csv", "id,size,colour,weight\n7,10,red,50\n")
    result = run_cli("predict", folder / "run" / "model.deepfit", data)
    assert result.returncode == 0 and "ignoring column(s) the model was not trained on: id" in result.stderr
    assert result.stdout.splitlines()[0].startswith("prediction,")


@pytest.mark.slow
def test_text_in_a_mostly_text_column_becomes_categorical_with_a_note(tmp_path):
    rows = "".join(f"{'7' if i % 5 == 0 else 'abc'[i % 3]},{i % 2}\n" for i in range(60))
    data = _write(tmp_path / "mixed.csv", "code,label\n" + rows)
    result = run_cli("train", data, "--target", "label", "--max-epochs", "2", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "column 'code' mixes numbers and text; treating it as categorical" in result.stderr
