"""`deepfit check` and `deepfit.check_data`: planted problems are found and named by row or file;
clean data passes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli, write_digit_pictures
from sklearn.datasets import load_digits, load_wine

import deepfit
from deepfit import Clips
from deepfit.data.synthetic_sound import genres, write_clips


def findings(report) -> dict:
    return {finding.check: finding for finding in report.findings}


@pytest.fixture(scope="module")
def planted_table():
    """Digits with every kind of table problem planted at known rows."""
    X, y = load_digits(return_X_y=True)
    frame = pd.DataFrame(X[:1200], columns=[f"p{i}" for i in range(64)])
    labels = y[:1200].copy()
    flipped = np.random.default_rng(1).choice(1000, 10, replace=False)
    labels[flipped] = (labels[flipped] + 3) % 10
    frame["site"], frame["notes"] = "lab 1", np.nan
    copies = frame.iloc[[1000, 1001]]                       # rows 1200, 1201: exact copies
    clash = frame.iloc[[1002]]                              # row 1202: a copy with another label
    near = frame.iloc[[1003]].copy()
    near["p20"] += 0.01                                     # row 1203: a near copy
    frame = pd.concat([frame, copies, clash, near], ignore_index=True)
    labels = np.concatenate([labels, labels[[1000, 1001]], [(labels[1002] + 1) % 10], labels[[1003]]])
    return frame, labels, flipped


@pytest.mark.slow
def test_every_planted_table_problem_is_found_at_its_row(planted_table):
    frame, labels, flipped = planted_table
    test = frame.iloc[[50, 60]].copy()
    test.loc[test.index[1], "p30"] += 0.02                 # one copy of row 51, one near copy of row 61
    report = deepfit.check_data(frame, labels, test=(test, labels[[50, 60]], ["test 1", "test 2"]))
    found = findings(report)
    assert found["test_examples_in_training"].items == [
        {"test": "test 1", "training": ["row 51"], "exact": True},
        {"test": "test 2", "training": ["row 61"], "exact": False}]
    assert [item["column"] for item in found["empty_columns"].items] == ["notes"]
    assert "site" in [item["column"] for item in found["constant_columns"].items]
    groups = [set(item["examples"]) for item in found["exact_duplicates"].items]
    assert {"row 1001", "row 1201"} in groups and {"row 1002", "row 1202"} in groups
    assert [set(item["examples"]) for item in found["conflicting_labels"].items] == [{"row 1003", "row 1203"}]
    assert {"row 1004", "row 1204"} in [set(item["examples"]) for item in found["near_duplicates"].items]
    suspects = {int(item["example"].split()[1]) - 1 for item in found["suspected_mislabels"].items}
    caught = len(suspects & set(flipped.tolist()))
    assert caught >= 7, f"found {caught} of the 10 flipped labels"
    assert caught / len(suspects) >= 0.5, f"{len(suspects)} suspects for {caught} real ones"
    assert not report.ok and "row 1001 = row 1201" in report.format()


def test_a_test_array_is_lined_up_with_a_training_frame_and_names_are_optional():
    X, y = load_wine(return_X_y=True, as_frame=True)
    leaked = X.to_numpy()[[4, 9]].astype(np.float32).astype(float)  # as read back from another file
    leaked[1, 3] += 1e-4
    found = findings(deepfit.check_data(X, y, test=(leaked, y.to_numpy()[[4, 9]])))
    assert found["test_examples_in_training"].items == [
        {"test": "test row 1", "training": ["row 5"], "exact": False},
        {"test": "test row 2", "training": ["row 10"], "exact": False}]


def test_a_table_with_no_usable_column_is_checked_against_its_test_set():
    X = pd.DataFrame({"site": ["north"] * 30, "note": [np.nan] * 30})  # nothing to learn from; once, a crash
    y = np.array(["yes", "no"] * 15)
    found = findings(deepfit.check_data(X, y, test=(X.head(2), y[:2])))
    assert found["constant_columns"].items == [{"column": "site", "value": "north"}]
    assert found["empty_columns"].items == [{"column": "note"}]
    assert [item["test"] for item in found["test_examples_in_training"].items] == ["test row 1", "test row 2"]


def test_no_examples_is_a_clear_error():
    with pytest.raises(deepfit.errors.InvalidInputError, match="at least one example"):
        deepfit.check_data(np.empty((0, 3)), [])


def test_clean_data_passes(tmp_path):
    X, y = load_wine(return_X_y=True, as_frame=True)
    report = deepfit.check_data(X, y)
    assert report.ok, report.format()
    assert "No problems found." in report.format()


def test_imbalance_too_few_and_one_class_are_named():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(126, 3))
    y = np.array(["common"] * 100 + ["rare"] * 20 + ["tiny"] * 6)
    found = findings(deepfit.check_data(X, y))
    assert "'common' has 100 examples, 'tiny' 6" in found["class_imbalance"].message
    assert found["too_few_examples"].items == [{"class": "tiny", "count": 6}]
    assert "too_few_classes" in findings(deepfit.check_data(X, np.zeros(126)))


@pytest.mark.slow
def test_pictures_on_the_command_line(tmp_path):
    write_digit_pictures(tmp_path / "train", per_class=20)
    write_digit_pictures(tmp_path / "test", per_class=5, offset=20)
    shutil.copy(tmp_path / "train/3/3_0.png", tmp_path / "train/3/copy.png")
    shutil.copy(tmp_path / "train/4/4_1.png", tmp_path / "test/4/leak.png")
    (tmp_path / "train/5/broken.png").write_text("not a picture")
    result = run_cli("check", tmp_path / "train", "--test", tmp_path / "test", "--json")
    assert result.returncode == 1, result.stderr
    found = {f["check"]: f for f in json.loads(result.stdout)["findings"]}
    assert found["corrupt_files"]["items"][0]["file"] == "5/broken.png"
    assert found["exact_duplicates"]["items"][0]["examples"] == ["3/3_0.png", "3/copy.png"]
    assert found["test_examples_in_training"]["items"] == [{"test": "4/leak.png", "training": ["4/4_1.png"],
                                                            "exact": True}]
    printed = run_cli("check", tmp_path / "train", "--limit", "1")
    assert printed.returncode == 1 and "5/broken.png" in printed.stdout and "3/copy.png" in printed.stdout


@pytest.mark.slow
def test_a_clean_table_exits_zero_and_bad_input_two(tmp_path):
    X, y = load_wine(return_X_y=True, as_frame=True)
    X.assign(label=y).to_csv(tmp_path / "wine.csv", index=False)
    clean = run_cli("check", tmp_path / "wine.csv")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "No problems found." in clean.stdout
    missing = run_cli("check", tmp_path / "nothing.csv")
    assert missing.returncode == 2 and "nothing.csv" in missing.stderr and "Traceback" not in missing.stderr


def test_sound_copies_within_and_across_sets(tmp_path):
    waveforms, labels = genres(per_class=10, rate=8000, seconds=(1.0, 1.5), seed=2)
    quieter = waveforms[3] * 0.5 + np.random.default_rng(0).normal(0, 1e-4, len(waveforms[3])).astype(np.float32)
    clips = Clips(list(waveforms) + [waveforms[0], quieter], 8000)
    names = [f"clip{i}.wav" for i in range(len(clips))]
    every = np.concatenate([labels, labels[[0, 3]]])
    test = (Clips([waveforms[7]], 8000), labels[[7]], ["test0.wav"])
    found = findings(deepfit.check_data(clips, every, names=names, test=test))
    assert found["exact_duplicates"].items[0]["examples"] == ["clip0.wav", "clip40.wav"]
    assert ["clip3.wav", "clip41.wav"] in [item["examples"] for item in found["near_duplicates"].items]
    assert found["test_examples_in_training"].items[0]["training"] == ["clip7.wav"]


@pytest.mark.slow
def test_sound_folders_on_the_command_line(tmp_path):
    waveforms, labels = genres(per_class=6, rate=8000, seconds=(1.0, 1.2), seed=4)
    write_clips(tmp_path / "clips", list(waveforms) + [waveforms[0]], np.append(labels, labels[0]), 8000)
    (tmp_path / "clips" / "beat" / "empty.wav").write_bytes(b"")
    result = run_cli("check", tmp_path / "clips", "--json")
    assert result.returncode == 1, result.stderr
    found = {f["check"]: f for f in json.loads(result.stdout)["findings"]}
    assert found["corrupt_files"]["items"][0]["file"] == "beat/empty.wav"
    assert len(found["exact_duplicates"]["items"][0]["examples"]) == 2
    assert found["too_few_examples"]["items"][0]["count"] in (6, 7)
