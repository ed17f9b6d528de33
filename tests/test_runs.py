"""Runs that can be found again: every `deepfit train` and `fit(..., run_dir=)` leaves a run folder
(settings, data fingerprint, metrics per epoch, final metrics, model, report, wall time, versions),
`deepfit runs` lists and compares them, and `--log` feeds the trackers users already have."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

import deepfit
from deepfit.runs.record import fingerprint, read_epochs, read_run


@pytest.fixture(scope="module")
def cancer_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    return path


def test_fit_with_run_dir_leaves_a_complete_run_folder(tmp_path):
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    model = deepfit.DeepClassifier(random_state=0, verbose=False)
    model.fit(X_train, y_train, run_dir=tmp_path / "run", test_data=(X_test, y_test))
    run = read_run(tmp_path / "run")
    assert run["status"] == "finished" and run["kind"] == "table"
    assert run["settings"]["hidden_layers"] == 3 and run["settings"]["random_state"] == 0
    assert run["fingerprint"] == fingerprint(X_train, y_train) != fingerprint(X_test, y_test)
    assert {"python", "torch", "numpy", "deepfit"} <= set(run["versions"]) and run["wall_seconds"] > 0
    assert run["metrics"]["accuracy"] == pytest.approx(model.score(X_test, y_test))
    epochs = read_epochs(tmp_path / "run")
    assert [row["epoch"] for row in epochs] == list(range(1, model.n_iter_ + 1))
    assert epochs[-1]["train_loss"] == pytest.approx(model.history_[-1]["train_loss"])
    assert not list((tmp_path / "run").glob("checkpoint*"))
    again = deepfit.load(tmp_path / "run" / "model.deepfit")
    np.testing.assert_array_equal(again.predict(X_test), model.predict(X_test))


def test_train_runs_and_compare_from_the_command_line(cancer_csv, tmp_path):
    for name, layers in (("wide", "3"), ("shallow", "1")):
        done = run_cli("train", cancer_csv, "--out", tmp_path / "runs" / name, "--hidden-layers", layers, "--quiet",
                       report=True)
        assert done.returncode == 0, done.stderr
    listed = run_cli("runs", tmp_path / "runs")
    assert listed.returncode == 0, listed.stderr
    header, *lines = listed.stdout.splitlines()
    assert header.split() == ["name", "kind", "data", "status", "accuracy", "seconds", "when"]
    assert sorted(line.split()[0] for line in lines) == ["shallow", "wide"]
    rows = {row["name"]: row for row in json.loads(run_cli("runs", tmp_path / "runs", "--json").stdout)}
    metrics = json.loads((tmp_path / "runs" / "wide" / "metrics.json").read_text())
    assert rows["wide"]["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    assert rows["wide"]["status"] == "finished" and rows["wide"]["fingerprint"] == rows["shallow"]["fingerprint"]
    report = (tmp_path / "runs" / "wide" / "report.html").read_text()
    assert "cancer.csv: held-out test split" in report and f"{metrics['test']['accuracy']:.4f}" in report

    plot = tmp_path / "both.png"
    compared = run_cli("runs", "compare", tmp_path / "runs" / "wide", tmp_path / "runs" / "shallow", "--plot", plot)
    assert compared.returncode == 0, compared.stderr
    differing = [line.split() for line in compared.stdout.splitlines() if line.startswith("hidden_layers")]
    assert differing == [["hidden_layers", "3", "1"]]
    assert "width" not in compared.stdout  # the same in both: left out unless --all-settings
    assert Image.open(plot).size[0] > 500

    for bad in (("runs", "compare", tmp_path / "runs" / "wide"), ("runs", tmp_path / "nowhere"),
                ("runs", "compare", tmp_path / "runs" / "wide", tmp_path)):
        refused = run_cli(*bad)
        assert refused.returncode == 2 and refused.stderr.startswith("error: ") and "Traceback" not in refused.stderr


@pytest.mark.slow
def test_a_killed_run_is_listed_as_interrupted_and_resumes_to_finished(cancer_csv, tmp_path):
    out = tmp_path / "runs" / "long"
    command = [sys.executable, "-m", "deepfit", "train", str(cancer_csv), "--out", str(out), "--max-epochs", "300",
               "--no-early-stopping", "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(read_epochs(out)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    rows = json.loads(run_cli("runs", tmp_path / "runs", "--json").stdout)
    assert [row["status"] for row in rows] == ["interrupted"]
    done = run_cli("train", cancer_csv, "--out", out, "--max-epochs", "300", "--no-early-stopping", "--quiet",
                   "--resume", timeout=600)
    assert done.returncode == 0, done.stderr
    run = read_run(out)
    assert run["status"] == "finished" and run["resumed"] is True
    assert [row["step_index"] for row in read_epochs(out)] == list(range(1, 301))


def test_ctrl_c_marks_the_run_cancelled(cancer_csv, tmp_path):
    out = tmp_path / "stopped"
    process = subprocess.Popen([sys.executable, "-m", "deepfit", "train", str(cancer_csv), "--out", str(out),
                                "--max-epochs", "5000", "--no-early-stopping", "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (read_epochs(out) and list(out.glob("checkpoint*"))) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, said = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in said
    run = read_run(out)
    assert run["status"] == "cancelled" and "--resume" in run["reason"]
    assert not (out / "model.deepfit").exists() and list(out.glob("checkpoint*"))


def test_log_tensorboard_writes_what_tensorboard_reads(cancer_csv, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    done = run_cli("train", cancer_csv, "--out", out, "--log", "tensorboard", "--quiet")
    assert done.returncode == 0, done.stderr
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    losses = [event.value for event in events.Scalars("train_loss")]
    assert losses == pytest.approx([row["train_loss"] for row in read_epochs(out)], rel=1e-6)
    accuracy = json.loads((out / "metrics.json").read_text())["test"]["accuracy"]
    assert events.Scalars("final/accuracy")[-1].value == pytest.approx(accuracy, rel=1e-6)


def test_log_mlflow_logs_to_a_local_store(cancer_csv, tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    env_uri = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        done = run_cli("train", cancer_csv, "--out", tmp_path / "run", "--log", "mlflow", "--hidden-layers", "2",
                       "--quiet", cwd=tmp_path)
    finally:
        if env_uri is not None:
            os.environ["MLFLOW_TRACKING_URI"] = env_uri
    assert done.returncode == 0, done.stderr
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient((tmp_path / "mlruns").as_uri())
    [experiment] = [e for e in client.search_experiments() if e.name == "deepfit"]
    [run] = client.search_runs([experiment.experiment_id])
    assert run.data.params["hidden_layers"] == "2" and run.info.status == "FINISHED"
    assert run.data.tags["deepfit.fingerprint"] == read_run(tmp_path / "run")["fingerprint"]
    history = client.get_metric_history(run.info.run_id, "train_loss")
    assert len(history) == len(read_epochs(tmp_path / "run"))
    accuracy = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]["accuracy"]
    assert run.data.metrics["final_accuracy"] == pytest.approx(accuracy)


def test_fingerprints_follow_the_data():
    X = np.arange(20.0).reshape(10, 2)
    y = np.array([0, 1] * 5)
    assert fingerprint(X, y) == fingerprint(X.copy(), y.copy())
    assert fingerprint(X, y) != fingerprint(X, y[::-1]) != fingerprint(X + 1, y)
    assert fingerprint(["a text", "another"], ["a", "b"]) != fingerprint(["a text", "other"], ["a", "b"])


@pytest.mark.parametrize("tracker", ["tensorboard", "mlflow"])
def test_a_tracker_that_is_not_installed_is_one_line_before_any_training(cancer_csv, tmp_path, tracker):
    hide = f"import sys; sys.modules[{tracker!r}] = None; from importlib import util; real = util.find_spec; " \
           f"util.find_spec = lambda name, *a: None if name == {tracker!r} else real(name, *a); " \
           "from deepfit.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", hide, "train", str(cancer_csv), "--out", str(tmp_path / "run"),
                           "--log", tracker], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (f"error: --log {tracker} needs the {tracker} package, which deepfit "
                                                    f"does not install itself: pip install 'deepfit[{tracker}]'.")
    assert not (tmp_path / "run").exists()
