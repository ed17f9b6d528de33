"""bfloat16 mixed precision: chosen where the device computes it natively, as accurate as float32 on a
real table, reported in the training summary; the textbook models keep exact arithmetic."""

import pytest
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from deepfit import DeepClassifier, LogisticRegression
from deepfit.training.devices import autocast, cpu_flags, native_bfloat16, training_precision


def test_auto_takes_bfloat16_only_where_the_cpu_has_it_natively():
    native = bool(cpu_flags() & {"avx512_bf16", "amx_bf16"}) and torch.backends.mkldnn.is_available()
    assert native_bfloat16(torch.device("cpu")) is native
    assert training_precision(torch.device("cpu")) == ("bfloat16" if native else "float32")
    assert training_precision(torch.device("cpu"), "float32") == "float32"
    assert training_precision(torch.device("mps"), "auto") == "float32"
    with pytest.raises(ValueError, match="precision must be one of"):
        training_precision(torch.device("cpu"), "float16")


def test_autocast_multiplies_in_bfloat16_only_when_asked():
    a, b = torch.randn(4, 8), torch.randn(8, 3)
    with autocast(torch.device("cpu"), "bfloat16"):
        assert (a @ b).dtype == torch.bfloat16
    with autocast(torch.device("cpu"), "float32"):
        assert (a @ b).dtype == torch.float32


def test_a_bfloat16_trained_table_network_is_as_accurate_and_answers_in_float32():
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    scores = {}
    for precision in ("float32", "bfloat16"):
        model = DeepClassifier(max_epochs=20, precision=precision, random_state=0).fit(X_train, y_train)
        assert model.training_summary_["precision"] == precision
        probabilities = torch.as_tensor(model.predict_proba(X_test))
        rounded = probabilities.to(torch.bfloat16).to(probabilities.dtype)
        assert (probabilities != rounded).float().mean() > 0.9  # answered in float32, not bfloat16's 3 digits
        scores[precision] = model.score(X_test, y_test)
    assert scores["float32"] >= 0.93 and abs(scores["bfloat16"] - scores["float32"]) <= 0.03


def test_the_textbook_models_keep_float32():
    X, y = load_breast_cancer(return_X_y=True)
    model = LogisticRegression(max_epochs=3).fit(X, y)
    assert model.training_summary_["precision"] == "float32"


def test_the_command_line_takes_the_precision_and_the_embedding_and_reports_them(tmp_path):
    import json

    import pandas as pd
    from conftest import run_cli

    import deepfit

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    table = tmp_path / "cancer.csv"
    pd.concat([X, y.rename("label")], axis=1).to_csv(table, index=False)
    for precision in ("float32", "bfloat16"):
        out = tmp_path / precision
        done = run_cli("train", table, "--out", out, "--max-epochs", "3", "--precision", precision,
                       "--numeric-embedding", "none" if precision == "float32" else "periodic", "--quiet")
        assert done.returncode == 0, done.stderr
        assert json.loads((out / "metrics.json").read_text())["training"]["precision"] == precision
        embedded = deepfit.load(out / "model.deepfit").architecture_.get("numeric_embedding", 0)
        assert embedded == (0 if precision == "float32" else X.shape[1])
    refused = run_cli("train", table, "--out", tmp_path / "half", "--precision", "half")
    assert refused.returncode == 2 and "half" in refused.stderr and "Traceback" not in refused.stderr
