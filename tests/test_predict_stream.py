"""`deepfit predict` streams: tables by chunks, files by batches; CSV or JSON Lines; every input gets a
row; bad rows and files are refused with their name, or kept as error rows with --skip-bad."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import mixed_table, run_cli, write_digit_pictures

import deepfit
from deepfit import DeepClassifier


@pytest.fixture(scope="module")
def table_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stream")
    frame = mixed_table(400)
    model = DeepClassifier(random_state=0, max_epochs=20).fit(frame.drop(columns="label"), frame["label"])
    model.save(folder / "m.deepfit", metadata={"target": "label"})
    frame.to_csv(folder / "rows.csv", index=False)
    return folder, frame


@pytest.mark.slow
def test_chunks_give_the_same_answers_as_one_call(table_model):
    folder, frame = table_model
    result = run_cli("predict", folder / "m.deepfit", folder / "rows.csv", "-o", folder / "out.csv",
                     "--batch-size", "64")
    assert result.returncode == 0, result.stderr
    written = pd.read_csv(folder / "out.csv")
    model = deepfit.load(folder / "m.deepfit")
    features = frame.drop(columns="label")
    assert (written["prediction"] == model.predict(features)).all() and len(written) == len(frame)
    assert np.allclose(written[["probability_drop", "probability_keep"]], model.predict_proba(features), atol=1e-6)
    assert "400 predictions written" in result.stderr


@pytest.mark.slow
def test_json_lines_hold_label_and_probabilities_per_row(table_model):
    folder, frame = table_model
    result = run_cli("predict", folder / "m.deepfit", folder / "rows.csv", "-o", folder / "out.jsonl")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (folder / "out.jsonl").read_text().splitlines()]
    model = deepfit.load(folder / "m.deepfit")
    assert [r["label"] for r in records] == model.predict(frame.drop(columns="label")).tolist()
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-6 for r in records)


def _damaged_copy(folder):
    lines = (folder / "rows.csv").read_text().splitlines()
    lines[5] += ",7"                                        # row 5: one value too many
    first = lines[9].split(",", 1)
    lines[9] = "abc," + first[1]                            # row 9: text in the numeric column 'size'
    lines[300] = "inf," + lines[300].split(",", 1)[1]       # row 300: infinity
    (folder / "damaged.csv").write_text("\n".join(lines) + "\n")
    return folder / "damaged.csv"


@pytest.mark.slow
def test_a_bad_row_is_refused_by_name_and_nothing_is_written(table_model):
    folder, _ = table_model
    damaged = _damaged_copy(folder)
    (folder / "kept.csv").write_text("an earlier result\n")
    result = run_cli("predict", folder / "m.deepfit", damaged, "-o", folder / "kept.csv", "--batch-size", "100")
    assert result.returncode == 2
    assert "row 5 has 5 values, but the header has 4 columns" in result.stderr
    assert "Traceback" not in result.stderr
    assert (folder / "kept.csv").read_text() == "an earlier result\n"
    assert not [p for p in folder.iterdir() if p.name.startswith(".kept.csv")], "no temporary file is left"


@pytest.mark.slow
def test_skip_bad_keeps_every_row_and_says_why(table_model):
    folder, _ = table_model
    damaged = _damaged_copy(folder)
    result = run_cli("predict", folder / "m.deepfit", damaged, "-o", folder / "skipped.csv", "--skip-bad",
                     "--batch-size", "100")
    assert result.returncode == 0, result.stderr
    written = pd.read_csv(folder / "skipped.csv")
    assert written["row"].tolist() == list(range(1, 401))
    errors = written.set_index("row")["error"].dropna()
    assert errors.index.tolist() == [5, 9, 300]
    assert "'abc', not a number" in errors[9] and "infinite" in errors[300]
    assert written.loc[written["row"] == 9, "prediction"].isna().all()
    assert "3 of 400 inputs could not be used" in result.stderr
    good = written[written["error"].isna()]
    expected = deepfit.load(folder / "m.deepfit").predict(table_model[1].drop(columns="label").iloc[good["row"] - 1])
    assert (good["prediction"].to_numpy() == expected).all()  # the others still line up with their rows


@pytest.mark.slow
def test_skip_bad_works_for_a_model_trained_on_an_array(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    model = DeepClassifier(random_state=0, max_epochs=5).fit(X, (X[:, 0] > 0).astype(int))
    model.save(tmp_path / "array.deepfit")
    frame = pd.DataFrame(X[:20], columns=["a", "b", "c"]).astype(object)
    frame.iloc[4, 1] = "oops"
    frame.iloc[7, 2] = 1e300  # finite, but far beyond float32 once scaled
    frame.to_csv(tmp_path / "rows.csv", index=False)
    result = run_cli("predict", tmp_path / "array.deepfit", tmp_path / "rows.csv", "--skip-bad",
                     "-o", tmp_path / "out.csv")
    assert result.returncode == 0, result.stderr
    errors = pd.read_csv(tmp_path / "out.csv").set_index("row")["error"].dropna()
    assert errors.index.tolist() == [5, 8] and "'oops'" in errors[5] and "too large" in errors[8]
    refused = run_cli("predict", tmp_path / "array.deepfit", tmp_path / "rows.csv")
    assert refused.returncode == 2 and "row 5" in refused.stderr


@pytest.mark.slow
def test_pictures_from_folders_globs_and_files_with_a_broken_one(tmp_path):
    write_digit_pictures(tmp_path / "pics", per_class=6)
    (tmp_path / "pics" / "3" / "broken.png").write_text("not a picture")
    trained = run_cli("train", tmp_path / "pics", "--out", tmp_path / "run", "--max-epochs", "3", "--skip-bad")
    assert trained.returncode == 0, trained.stderr
    model = tmp_path / "run" / "model.deepfit"
    refused = run_cli("predict", model, tmp_path / "pics", "-o", tmp_path / "p.csv")
    assert refused.returncode == 2 and "broken.png" in refused.stderr and not (tmp_path / "p.csv").exists()
    result = run_cli("predict", model, str(tmp_path / "pics" / "**" / "*.png"), tmp_path / "pics" / "1" / "1_0.png",
                     "-o", tmp_path / "p.csv", "--skip-bad", "--batch-size", "16")
    assert result.returncode == 0, result.stderr
    written = pd.read_csv(tmp_path / "p.csv")
    assert len(written) == 62  # 60 pictures, the broken file, and 1_0.png named twice
    broken = written[written["path"].str.endswith("broken.png")]
    assert len(broken) == 1 and "not a readable picture" in broken["error"].iloc[0]
    good = written.dropna(subset=["prediction"])
    pictures = deepfit.read_images(good["path"].tolist(), size=(16, 16), channels=1)
    expected = deepfit.load(model).predict(pictures.images).astype(str)
    assert (good["prediction"].astype(int).astype(str).to_numpy() == expected).all()


@pytest.mark.slow
def test_a_glob_that_matches_nothing_is_a_clear_error(tmp_path, table_model):
    write_digit_pictures(tmp_path / "pics", digits=[0, 1], per_class=4)
    run_cli("train", tmp_path / "pics", "--out", tmp_path / "run", "--max-epochs", "1")
    result = run_cli("predict", tmp_path / "run" / "model.deepfit", str(tmp_path / "nowhere" / "*.png"))
    assert result.returncode == 2 and "no file matches this pattern" in result.stderr


def _peak_kilobytes(*args) -> int:
    """Peak resident memory of one `deepfit` run in a fresh process."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    env = {**os.environ, "MALLOC_ARENA_MAX": "2"}  # glibc's per-thread arenas make peaks vary by +-40 MB
    done = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "deepfit", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


@pytest.mark.slow
def test_memory_stays_flat_with_ten_times_the_rows(table_model):
    folder, frame = table_model
    features = frame.drop(columns="label")
    small, large = folder / "small.csv", folder / "large.csv"
    pd.concat([features] * 50, ignore_index=True).to_csv(small, index=False)     # 20,000 rows
    pd.concat([features] * 500, ignore_index=True).to_csv(large, index=False)    # 200,000 rows
    run = ("predict", folder / "m.deepfit", "--batch-size", "2000", "-o")
    before = _peak_kilobytes(*run, folder / "small.out.csv", small)
    after = _peak_kilobytes(*run, folder / "large.out.csv", large)
    with open(folder / "large.out.csv") as written:
        assert sum(1 for _ in written) == 200_001
    assert after - before < 20_000, f"peak memory grew by {(after - before) / 1000:.0f} MB for 10x the rows"
