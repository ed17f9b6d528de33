"""The ten mistakes a beginner makes most, each answered with what to do: one line, exit code 2 for
what cannot go on, a warning or a note for what can."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from PIL import Image

pytestmark = pytest.mark.slow  # every test runs the command line


@pytest.fixture(scope="module")
def census(tmp_path_factory):
    """A census-like table, its test file with labels written as the census test file writes them
    ('>50K.'), and a model trained on it."""
    root = tmp_path_factory.mktemp("census")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(20, 60, 300), "hours": rng.integers(10, 60, 300)})
    frame["income"] = np.where(frame.age + frame.hours > 80, ">50K", "<=50K")
    frame.to_csv(root / "adult.csv", index=False)
    dotted = frame.assign(income=frame["income"] + ".")
    dotted.to_csv(root / "adult_test.csv", index=False)
    frame.assign(income=np.where(np.arange(300) < 10, ">50K.", frame["income"])).to_csv(root / "mixed.csv",
                                                                                          index=False)
    trained = run_cli("train", root / "adult.csv", "--target", "income", "--out", root / "run", "--quiet",
                      "--max-epochs", "5")
    assert trained.returncode == 0, trained.stderr
    return root


def refused(result, *says):
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "Traceback" not in result.stderr and len(errors) == 1, result.stderr
    for words in says:
        assert words in result.stderr, result.stderr


def test_a_mistyped_target_names_the_column_meant(census):
    refused(run_cli("train", census / "adult.csv", "--target", "incme", "--out", census / "x"),
            "has no column 'incme'. Did you mean 'income'?")


def test_a_mistyped_path_names_the_file_meant(census):
    refused(run_cli("train", census / "adlt.csv", "--target", "income", "--out", census / "x"),
            "adlt.csv: no such file. Did you mean 'adult.csv'?")
    refused(run_cli("predict", census / "run" / "modl.deepfit", census / "adult.csv"),
            "Did you mean 'model.deepfit'?")


def test_test_labels_the_model_never_saw_are_named_with_the_ones_they_look_like(census):
    refused(run_cli("evaluate", census / "run" / "model.deepfit", census / "adult_test.csv"),
            "none of the test labels", "'>50K.' (", "like '>50K'", "relabel")
    some = run_cli("evaluate", census / "run" / "model.deepfit", census / "mixed.csv", "--json")
    assert some.returncode == 0, some.stderr   # most labels match: scored, with a warning naming the others
    assert "'>50K.' (10 rows, like '>50K')" in some.stderr and json.loads(some.stdout)["accuracy"] <= 0.97


def test_predicting_a_table_that_still_holds_the_labels_says_they_are_left_out(census):
    result = run_cli("predict", census / "run" / "model.deepfit", census / "adult.csv", "-o", census / "p.csv")
    assert result.returncode == 0, result.stderr
    assert "column 'income' holds the labels the model was trained to predict; it is left out" in result.stderr


def test_training_again_into_the_same_folder_says_how_to_keep_both(census):
    refused(run_cli("train", census / "adult.csv", "--target", "income", "--out", census / "run"),
            "already exists; pass --overwrite", "--out")


def test_a_model_given_the_wrong_kind_of_data_says_what_it_takes(census, tmp_path):
    for i in range(4):
        (tmp_path / "cats").mkdir(exist_ok=True)
        Image.fromarray(np.full((8, 8), 40 * i, dtype=np.uint8)).save(tmp_path / "cats" / f"{i}.png")
    refused(run_cli("evaluate", census / "run" / "model.deepfit", tmp_path), "holds pictures, but the model takes a table")


def test_pictures_without_class_folders_and_a_single_class_are_explained(tmp_path):
    for folder in ("flat", "one/cat"):
        (tmp_path / folder).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(np.full((8, 8), 40 * i, dtype=np.uint8)).save(tmp_path / folder / f"{i}.png")
    refused(run_cli("train", tmp_path / "flat", "--out", tmp_path / "a"), "have no labels",
            "one sub-folder per class")
    refused(run_cli("train", tmp_path / "one", "--out", tmp_path / "b"), "only one class ('cat')",
            "Add examples of another class")


@pytest.mark.slow
def test_a_class_with_fewer_than_five_examples_is_warned_about(census):
    frame = pd.read_csv(census / "adult.csv")
    small = pd.concat([frame[frame.income == ">50K"].head(3), frame[frame.income == "<=50K"].head(30)])
    small.to_csv(census / "small.csv", index=False)
    result = run_cli("train", census / "small.csv", "--target", "income", "--out", census / "small", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "few examples of '>50K' (3), fewer than 5 a class" in result.stderr and "Add examples" in result.stderr
    assert "A single label was found" not in result.stderr   # no library warning beside ours
