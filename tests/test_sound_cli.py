"""The command line on sound: train, evaluate, predict on folders of clips and on a per-clip feature
table, honest test splits, and bad files (exit code 2, one line, no model written)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile
from conftest import REPO, run_cli

from deepfit.data.synthetic_sound import genres, write_clips

RATE = 8000


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """GTZAN's layout: genre folders of recordings cut into 3 pieces each; a separate test folder."""
    root = tmp_path_factory.mktemp("sound")
    waveforms, labels = genres(per_class=10, rate=RATE, seconds=(2.4, 3.0), seed=5)
    write_clips(root / "train", waveforms, labels, RATE, pieces=3)
    more, more_labels = genres(per_class=4, rate=RATE, seconds=(1.0, 2.0), seed=6)
    write_clips(root / "test", more, more_labels, RATE, suffix=".flac", first=1000)  # other recordings
    result = run_cli("train", root / "train", "--out", root / "run", "--quiet")
    assert result.returncode == 0, result.stderr
    return root, result


@pytest.mark.slow
def test_train_on_genre_folders_reports_clips_recordings_and_accuracy(trained):
    root, result = trained
    assert "read 120 sound clips" in result.stderr and "40 recordings" in result.stderr
    metrics = json.loads((root / "run" / "metrics.json").read_text())
    assert metrics["classes"] == ["beat", "drone", "melody", "static"]
    assert metrics["n_test"] % 3 == 0  # whole recordings: three pieces each
    assert metrics["test"]["accuracy"] >= 0.8


@pytest.mark.slow
def test_evaluate_on_new_recordings_without_a_leak_warning(trained):
    root, _ = trained
    result = run_cli("evaluate", root / "run" / "model.deepfit", root / "test", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n_samples"] == 16 and report["accuracy"] >= 0.8
    assert "recordings the model was trained on" not in result.stderr


@pytest.mark.slow
def test_evaluate_on_pieces_of_training_recordings_warns(trained):
    root, _ = trained
    result = run_cli("evaluate", root / "run" / "model.deepfit", root / "train")
    assert result.returncode == 0, result.stderr
    assert "warning:" in result.stderr and "recordings the model was trained on" in result.stderr


@pytest.mark.slow
def test_predict_gives_one_row_per_file(trained):
    root, _ = trained
    out = root / "predictions.csv"
    result = run_cli("predict", root / "run" / "model.deepfit", root / "test" / "drone", "-o", out)
    assert result.returncode == 0, result.stderr
    import pandas as pd

    table = pd.read_csv(out)
    assert len(table) == 4 and table["path"].str.endswith(".flac").all()
    assert (table["prediction"] == "drone").mean() >= 0.75
    assert np.allclose(table.filter(like="probability_").sum(axis=1), 1, atol=1e-4)


@pytest.mark.slow
def test_a_per_clip_feature_table_goes_through_the_table_path(trained, tmp_path):
    from deepfit import read_audio
    from deepfit.data.clip_features import clip_feature_table

    root, _ = trained
    sounds = read_audio(root / "train")
    table = clip_feature_table(sounds.clips, sounds.labels)
    assert {"filename", "length", "chroma_stft_mean", "mfcc20_var", "tempo", "label"} <= set(table.columns)
    table.to_csv(tmp_path / "features_3_sec.csv", index=False)
    result = run_cli("train", tmp_path / "features_3_sec.csv", "--out", tmp_path / "run", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "120 rows come from 40 recordings" in result.stderr  # pieces kept together in the test split
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["n_test"] % 3 == 0 and metrics["test"]["accuracy"] >= 0.7
    again = run_cli("evaluate", tmp_path / "run" / "model.deepfit", tmp_path / "features_3_sec.csv")
    assert again.returncode == 0, again.stderr
    assert "come from recordings the model was trained on" in again.stderr  # its own training pieces
    refused = run_cli("compare", root / "train")   # clips of many lengths: shallow models need the table
    assert refused.returncode == 2 and "clip_feature_table" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.parametrize("name, content, message", [
    ("notes.wav", b"this is a text file, not sound\n" * 20, "not a readable sound file"),
    ("empty.wav", b"", "the file is empty"),
])
def test_a_bad_file_stops_training_with_one_line_and_no_model(tmp_path, name, content, message):
    write_clips(tmp_path / "clips", [np.sin(np.arange(RATE) / 5).astype(np.float32)] * 4, ["a", "a", "b", "b"], RATE)
    (tmp_path / "clips" / "b" / name).write_bytes(content)
    result = run_cli("train", tmp_path / "clips", "--out", tmp_path / "run", "--quiet")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and name in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()


@pytest.mark.slow
def test_skip_bad_leaves_the_bad_file_out(tmp_path):
    rng = np.random.default_rng(0)
    waveforms = [np.sin(np.arange(RATE) * f).astype(np.float32) for f in rng.uniform(0.05, 0.1, 6)] + \
                [rng.standard_normal(RATE).astype(np.float32) * 0.1 for _ in range(6)]
    write_clips(tmp_path / "clips", waveforms, ["tone"] * 6 + ["noise"] * 6, RATE)
    (tmp_path / "clips" / "tone" / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    result = run_cli("train", tmp_path / "clips", "--out", tmp_path / "run", "--quiet", "--skip-bad",
                     "--test-fraction", "0", "--max-epochs", "2", "--image-size", "32")
    assert result.returncode == 0, result.stderr
    assert "warning:" in result.stderr and "broken.wav" in result.stderr
    assert "--image-size does not apply to sound" in result.stderr
    assert (tmp_path / "run" / "model.deepfit").exists()


@pytest.mark.slow
def test_music_genres_example_runs_end_to_end(tmp_path):
    result = run_cli_example("music_genres.py", "--per-class", "8", "--out", tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "spectrogram CNN" in result.stdout and "logistic regression" in result.stdout
    assert (tmp_path / "features.csv").exists() and (tmp_path / "genres.deepfit").exists()


def run_cli_example(script, *args, timeout=600):
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, str(REPO / "examples" / script), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "MPLBACKEND": "Agg"})


@pytest.mark.slow
def test_a_sound_file_given_alone_is_predicted(trained, tmp_path):
    root, _ = trained
    soundfile.write(tmp_path / "one.ogg", genres(per_class=1, rate=RATE, seed=9)[0][0], RATE)
    result = run_cli("predict", root / "run" / "model.deepfit", tmp_path / "one.ogg")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].split(",")[1] in {"beat", "drone", "melody", "static"}


@pytest.mark.slow
def test_features_gives_one_row_per_clip_and_a_layer_plot(trained, tmp_path):
    root, _ = trained
    result = run_cli("features", root / "run" / "model.deepfit", root / "test", "-o", tmp_path / "f.npy",
                     "--plot", tmp_path / "layers.png")
    assert result.returncode == 0, result.stderr
    assert np.load(tmp_path / "f.npy").shape[0] == 16 and (tmp_path / "layers.png").stat().st_size > 10_000
    assert "linear probe accuracy" in result.stdout
