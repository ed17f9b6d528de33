"""Training on two CPU processes with DistributedDataParallel (gloo), started the way users start it:
`deepfit train --devices 2` and `torchrun --nproc_per_node 2 -m deepfit train`. Every run has a
bounded timeout, so a hang fails the test instead of stalling the suite."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from reliability import record

import deepfit
from deepfit.runs.record import read_epochs, read_run

RUN = ["--max-epochs", "12", "--batch-size", "128", "--dropout", "0.1", "--seed", "3", "--quiet", "--no-report"]
TIMEOUT = 240  # seconds; a run here takes about 20
# What a finished run leaves (its report left out: run_cli's --no-report): no checkpoint.
RUN_FILES = ["epochs.jsonl", "metrics.json", "model.deepfit", "run.json"]


def run_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if not path.name.endswith(".png"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ddp-runs")


@pytest.fixture(scope="module")
def two_processes(digits_csv, runs) -> Path:
    out = runs / "two"
    result = run_cli("train", digits_csv, "--out", out, "--devices", "2", *RUN, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.slow
def test_two_processes_write_one_model_as_good_as_one_process(digits_csv, runs, two_processes):
    one = runs / "one"
    result = run_cli("train", digits_csv, "--out", one, *RUN, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr

    assert run_files(two_processes) == RUN_FILES
    assert [row["epoch"] for row in read_epochs(two_processes)] == list(range(1, 13))  # rank 0 writes, once
    assert read_run(two_processes)["status"] == "finished"
    metrics = json.loads((two_processes / "metrics.json").read_text())
    assert metrics["training"]["processes"] == 2 and metrics["training"]["backend"] == "gloo"
    assert metrics["training"]["batch_size"] == 128  # the effective batch: 64 rows a rank
    single = json.loads((one / "metrics.json").read_text())
    # 360 held-out rows: a standard error of about 1 point near 96%; within noise is within 3 points.
    assert abs(metrics["test"]["accuracy"] - single["test"]["accuracy"]) <= 0.03
    assert metrics["test"]["accuracy"] > 0.9
    assert len(metrics["history"]) == len(single["history"]) == 12
    # The training loss is every rank's rows, not rank 0's: it tracks the single process's epoch by epoch.
    np.testing.assert_allclose([row["train_loss"] for row in metrics["history"]],
                               [row["train_loss"] for row in single["history"]], rtol=0.25)
    model = deepfit.load(two_processes / "model.deepfit")
    frame = pd.read_csv(digits_csv)
    assert (model.predict(frame.drop(columns="label")) == frame["label"]).mean() > 0.95


@pytest.mark.slow
def test_resume_after_one_rank_is_killed_ends_with_the_uninterrupted_model(digits_csv, runs, two_processes):
    out = runs / "killed"
    env = {**os.environ, "DEEPFIT_TEST_RUN": out.name}
    command = [sys.executable, "-m", "deepfit", "train", str(digits_csv), "--out", str(out), "--devices", "2",
               "--checkpoint-every", "0", *RUN]  # a checkpoint before every batch: the kill lands mid-epoch
    started = time.monotonic()
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        checkpoint = out / "checkpoint.safetensors"
        while not checkpoint.exists():
            assert run.poll() is None and time.monotonic() - started < TIMEOUT, run.stderr.read()
            time.sleep(0.05)
        time.sleep(1.0)
        rank_one = _process_with(env_entries=[f"DEEPFIT_TEST_RUN={out.name}", "RANK=1"])
        os.kill(rank_one, signal.SIGKILL)
        _, stderr = run.communicate(timeout=TIMEOUT)
    finally:
        run.kill()
    assert run.returncode == 1
    assert [line for line in stderr.splitlines() if line.startswith("error")] == [
        "error: the process of rank 1 was stopped by SIGKILL, and the others with it. A run with --resume "
        "continues from the last checkpoint."]
    assert "Traceback" not in stderr
    assert not (out / "model.deepfit").exists()

    # Resumed by torchrun itself, as on a cluster.
    resumed = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                              "-m", "deepfit", "train", str(digits_csv), "--out", str(out), "--resume", *RUN],
                             capture_output=True, text=True, timeout=TIMEOUT, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert resumed.returncode == 0, resumed.stderr
    assert run_files(out) == RUN_FILES
    assert read_run(out)["status"] == "finished" and read_run(out)["resumed"] is True
    assert [row["step_index"] for row in read_epochs(out)] == list(range(1, 13))
    frame = pd.read_csv(digits_csv).drop(columns="label")
    expected = deepfit.load(two_processes / "model.deepfit").predict_proba(frame)
    # Every rank's generators (dropout here) come back: the same model as the run that was never stopped.
    np.testing.assert_array_equal(deepfit.load(out / "model.deepfit").predict_proba(frame), expected)
    record("kills: one rank of two under torchrun", killed=1, resumed_exactly=1)


@pytest.mark.slow
@pytest.mark.parametrize("processes", ["2", "1"])
def test_bad_data_on_launched_processes_is_one_line_and_exit_code_2(tmp_path, processes):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,x\n3,4\n5,6,y\n")
    result = run_cli("train", bad, "--out", tmp_path / "out", "--devices", processes, "--quiet", timeout=TIMEOUT)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: ") and "bad.csv" in errors[0], result.stderr
    assert not (tmp_path / "out").exists()


def test_zero_devices_is_refused_before_anything_starts(digits_csv, tmp_path):
    result = run_cli("train", digits_csv, "--out", tmp_path / "out", "--devices", "0", timeout=60)
    assert result.returncode == 2 and "--devices" in result.stderr
    assert not (tmp_path / "out").exists()


SCRIPT = """
import atexit, json, os, sys
import torch.distributed as dist
from sklearn.datasets import load_digits
from deepfit import DeepClassifier

def at_exit():  # registered first, so it runs last: after deepfit's own exit handler
    with open(os.path.join(sys.argv[1], "exit" + os.environ["RANK"] + ".txt"), "w") as out:
        out.write("joined" if dist.is_initialized() else "left")

atexit.register(at_exit)
X, y = load_digits(return_X_y=True)
model = DeepClassifier(max_epochs=2, early_stopping=True).fit(X, y)  # random_state=None: a seed of its own
with open(os.path.join(sys.argv[1], "rank" + os.environ["RANK"] + ".json"), "w") as out:
    json.dump(model.training_summary_, out)
"""


@pytest.mark.slow
def test_a_script_under_torchrun_trains_every_rank_on_one_split_and_order(tmp_path):
    """Without a random_state each process would draw its own seed: its own validation rows and epoch
    order, silently training some rows twice and others never. Rank 0's seed is used by all."""
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             str(script), str(tmp_path)], capture_output=True, text=True, timeout=TIMEOUT,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    summaries = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert summaries[0]["processes"] == summaries[1]["processes"] == 2
    assert summaries[0]["seed"] == summaries[1]["seed"]
    assert summaries[0]["val_loss"] == summaries[1]["val_loss"]  # summed over both ranks' shares
    # The script never leaves the process group; deepfit does, before Python shuts down. Left to the
    # interpreter's end, gloo's threads abort the process (SIGABRT) in some runs.
    assert [(tmp_path / f"exit{rank}.txt").read_text() for rank in (0, 1)] == ["left", "left"]


def _process_with(env_entries: list[str]) -> int:
    """The process whose environment holds every one of `env_entries`."""
    wanted = [entry.encode() for entry in env_entries]
    for proc in Path("/proc").iterdir():
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if all(entry in environ for entry in wanted):
            return int(proc.name)
    raise AssertionError(f"no process with {env_entries}")


def test_the_launcher_says_once_why_the_run_stopped_whichever_rank_stopped_first(tmp_path, capsys):
    from types import SimpleNamespace as Failure

    from deepfit.training.launch import _report

    (tmp_path / "1.txt").write_text("2\nerror: rank 1: data.csv: row 3 is short")
    # Rank 1 refused the data first; rank 0 was stopped before it could say so: rank 1's line, once.
    assert _report({1: Failure(exitcode=2, timestamp=1), 0: Failure(exitcode=-15, timestamp=2)}, tmp_path) == 2
    assert capsys.readouterr().err.strip() == "error: rank 1: data.csv: row 3 is short"
    # Rank 0 said it too, but was stopped before its exit was seen (the launcher only saw rank 1 fail): rank 0's.
    (tmp_path / "0.txt").write_text("2\nerror: data.csv: row 3 is short")
    assert _report({1: Failure(exitcode=3, timestamp=1)}, tmp_path) == 2  # rank 0's line, with its own code
    assert capsys.readouterr().err.strip() == "error: data.csv: row 3 is short"
    # A rank killed: named, whatever the others' "lost my peer" (exit code 1) came first.
    assert _report({0: Failure(exitcode=1, timestamp=1), 1: Failure(exitcode=-9, timestamp=2)}, tmp_path) == 1
    assert "rank 1 was stopped by SIGKILL" in capsys.readouterr().err
