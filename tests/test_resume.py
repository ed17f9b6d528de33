"""Crash-safe training: a run killed at any moment and resumed ends with the weights of a run that was
never stopped (on the CPU: identical predictions), and a run folder is never clobbered by surprise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import Crash, run_cli
from reliability import record
from sklearn.datasets import load_digits

import deepfit
from deepfit import DeepClassifier, LogisticRegression
from deepfit.data.kinds.table import TableKind


def crash_then_resume(make, X, y, step: int, tmp_path, every: float):
    path = tmp_path / f"run{step}.safetensors"
    with pytest.raises(KeyboardInterrupt):
        make().fit(X, y, checkpoint=path, checkpoint_every=every, callbacks=[Crash(step)])
    assert path.exists()
    return make().fit(X, y, checkpoint=path, resume=True)


@pytest.mark.slow
@pytest.mark.parametrize("step, every", [(300, 300.0), (130, 0.0)])  # at an epoch's end; inside an epoch
def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path, step, every):
    X, y = load_digits(return_X_y=True)

    def make():
        return DeepClassifier(random_state=0, max_epochs=12, dropout=0.1)  # dropout: the global RNG matters

    whole = make().fit(X, y)
    resumed = crash_then_resume(make, X, y, step, tmp_path, every)
    assert np.array_equal(resumed.predict_proba(X), whole.predict_proba(X))
    assert resumed.history_ == whole.history_ and resumed.n_iter_ == whole.n_iter_


@pytest.mark.slow
def test_early_stopping_and_augmentation_resume_exactly(tmp_path):
    digits = load_digits()
    pictures = (digits.images * 16).clip(0, 255).astype(np.uint8)[:600]
    labels = digits.target[:600]

    def make():  # validation with early stopping (best weights kept), and random shifts of pictures
        return DeepClassifier(random_state=0, max_epochs=8, early_stopping=True, validation_fraction=0.2, patience=2)

    whole = make().fit(pictures, labels)
    resumed = crash_then_resume(make, pictures, labels, 40, tmp_path, 0.0)
    assert np.array_equal(resumed.predict_proba(pictures), whole.predict_proba(pictures))
    assert resumed.training_summary_["best_epoch"] == whole.training_summary_["best_epoch"]


class CrashInSecondTraining(Crash):
    """Stops at a given step of the second run of the loop (a small table's refit on every row)."""

    def __init__(self, step: int):
        super().__init__(step)
        self.trainings = 0

    def on_train_begin(self, state) -> None:
        self.trainings += 1

    def on_batch_begin(self, state) -> None:
        if self.trainings == 2:
            super().on_batch_begin(state)


def test_a_small_table_killed_while_trained_again_on_every_row_resumes_exactly(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)  # a clean rule: early stopping's best epoch comes late, so it refits

    def make():
        return DeepClassifier(random_state=0, width=32, hidden_layers=1, dropout=0.1)

    whole = make().fit(X, y)
    assert "refit" in whole.training_summary_
    path = tmp_path / "run.safetensors"
    with pytest.raises(KeyboardInterrupt):
        make().fit(X, y, checkpoint=path, checkpoint_every=0.0, callbacks=[CrashInSecondTraining(500)])
    resumed = make().fit(X, y, checkpoint=path, resume=True)
    assert np.array_equal(resumed.predict_proba(X), whole.predict_proba(X))
    assert resumed.history_ == whole.history_ and resumed.training_summary_["refit"] == whole.training_summary_["refit"]


def test_a_checkpoint_of_another_run_or_a_damaged_one_is_refused(tmp_path):
    X, y = load_digits(return_X_y=True)
    path = tmp_path / "run.safetensors"
    with pytest.raises(KeyboardInterrupt):
        LogisticRegression(random_state=0, max_epochs=5).fit(X, y, checkpoint=path, callbacks=[Crash(60)])
    with pytest.raises(deepfit.errors.ModelFileError, match="other data or settings"):
        LogisticRegression(random_state=1, max_epochs=5).fit(X, y, checkpoint=path, resume=True)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(deepfit.errors.ModelFileError, match="not a readable deepfit checkpoint"):
        LogisticRegression(random_state=0, max_epochs=5).fit(X, y, checkpoint=path, resume=True)


def test_a_checkpoint_whose_auto_settings_came_out_otherwise_is_refused_not_resumed(tmp_path, monkeypatch):
    # Another deepfit may make other batches or rates of the same "auto" (this one doubled tables' batches):
    # resuming its checkpoint would mix two schedules, so it is refused like another run's.
    X, y = load_digits(return_X_y=True)
    path = tmp_path / "run.safetensors"

    def make():
        return DeepClassifier(random_state=0, max_epochs=2, width=32)

    with pytest.raises(KeyboardInterrupt):
        make().fit(X, y, checkpoint=path, checkpoint_every=0, callbacks=[Crash(5)])
    monkeypatch.setattr(TableKind, "defaults", replace(TableKind.defaults, batch_growth=1))
    with pytest.raises(deepfit.errors.ModelFileError, match="other data or settings"):
        make().fit(X, y, checkpoint=path, resume=True)
    monkeypatch.undo()
    assert make().fit(X, y, checkpoint=path, resume=True).training_summary_["epochs"] == 2


# ------------------------------------------------------------------------------------ the command
TRAIN = ("--max-epochs", "8", "--seed", "3", "--quiet", "--dropout", "0.1")


@pytest.mark.slow
def test_killed_at_random_moments_and_resumed_it_gives_the_uninterrupted_model(digits_csv, tmp_path):
    whole = run_cli("train", digits_csv, "--out", tmp_path / "whole", *TRAIN)
    assert whole.returncode == 0, whole.stderr
    X = pd.read_csv(digits_csv).drop(columns="label")
    expected = deepfit.load(tmp_path / "whole" / "model.deepfit").predict_proba(X)
    rng = np.random.default_rng(7)
    killed = 0
    for attempt in range(3):
        out = tmp_path / f"killed{attempt}"
        command = [sys.executable, "-m", "deepfit", "train", str(digits_csv), "--out", str(out), *TRAIN,
                   "--checkpoint-every", "0"]  # a checkpoint before every batch: kills land mid-write too
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.safetensors").exists() and process.poll() is None:
            assert time.monotonic() < deadline, "training never wrote a checkpoint"
            time.sleep(0.01)
        time.sleep(float(rng.uniform(0, 1.5)))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            killed += 1
        process.wait(timeout=60)
        if (out / "model.deepfit").exists():
            continue  # it finished before the kill: nothing to resume
        resumed = run_cli("train", digits_csv, "--out", out, *TRAIN, "--resume")
        assert resumed.returncode == 0, resumed.stderr
        produced = deepfit.load(out / "model.deepfit").predict_proba(X)
        assert np.array_equal(produced, expected), f"attempt {attempt}: differs by {np.abs(produced - expected).max()}"
        assert not (out / "checkpoint.safetensors").exists() and not list(out.glob(".checkpoint*"))
    record("kills: training at random moments", killed=killed, attempts=3)
    assert killed >= 2, "the kills came too late to test anything"


@pytest.mark.slow
def test_the_run_folder_is_never_clobbered_by_surprise(digits_csv, tmp_path):
    nothing = run_cli("train", digits_csv, "--out", tmp_path / "new", *TRAIN, "--resume")
    assert nothing.returncode == 2 and "holds no checkpoint to resume" in nothing.stderr
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "checkpoint.safetensors").write_bytes(b"an unfinished run")
    fresh = run_cli("train", digits_csv, "--out", tmp_path / "half", *TRAIN)
    assert fresh.returncode == 2 and "--resume to continue it, or --overwrite" in fresh.stderr
    restarted = run_cli("train", digits_csv, "--out", tmp_path / "half", *TRAIN, "--overwrite")
    assert restarted.returncode == 0, restarted.stderr
    again = run_cli("train", digits_csv, "--out", tmp_path / "half", *TRAIN)
    assert again.returncode == 2 and "already exists" in again.stderr


@pytest.mark.slow
def test_a_planted_pickle_as_checkpoint_is_refused_and_never_run(digits_csv, tmp_path):
    import pickle

    class Payload:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint.safetensors").write_bytes(pickle.dumps(Payload()))
    result = run_cli("train", digits_csv, "--out", tmp_path / "run", *TRAIN, "--resume")
    assert result.returncode == 2 and "not a readable deepfit checkpoint" in result.stderr
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("step", [8, 40])  # in the head's phase; in the fine-tuning
def test_transfer_learning_resumes_exactly_in_either_phase(tmp_path, step):
    X, y = load_digits(return_X_y=True)
    source = DeepClassifier(random_state=0, max_epochs=3).fit(X[y < 5], y[y < 5])

    def make():
        return DeepClassifier(random_state=0, max_epochs=6, transfer_from=source, dropout=0.1)

    new = y >= 5
    whole = make().fit(X[new], y[new])
    path = tmp_path / "run.safetensors"
    with pytest.raises(KeyboardInterrupt):
        make().fit(X[new], y[new], checkpoint=path, checkpoint_every=0.0, callbacks=[Crash(step)])
    resumed = make().fit(X[new], y[new], checkpoint=path, resume=True)
    assert np.array_equal(resumed.predict_proba(X[new]), whole.predict_proba(X[new]))
    assert resumed.history_ == whole.history_
