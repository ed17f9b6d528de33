"""deepfit's spectrogram CNN against shallow models on the same sound, and what the decode cache saves.

    .venv/bin/python benchmarks/compare_sound.py             # both sets, seeds 0 1 2
    .venv/bin/python benchmarks/compare_sound.py --quick     # one seed
    .venv/bin/python benchmarks/compare_sound.py --precision-check   # deepfit in float32 and "auto", seeds 0 1

For each set and seed, the clips are split 75/25 *by recording* (stratified); then
- deepfit's `DeepClassifier()` with no arguments learns from the log-mel spectrograms;
- scikit-learn's LogisticRegression learns from the very same spectrogram windows (deepfit's fitted
  Encoder: levelled, standardised per band), each clip's window probabilities averaged;
- LogisticRegression and HistGradientBoosting learn from the GTZAN-style per-clip feature table
  (`deepfit.data.clip_features`: MFCCs, spectral shape, tempo; the shallow route most tutorials take).

The sets are made by `deepfit.data.synthetic_sound` (nothing is downloaded): four "genres" (OGG
Vorbis at 22,050 Hz, read at 16 kHz; 2-6 s, each recording cut into two pieces as GTZAN's are) and
ten spoken "digits" by eight voices (WAV at 8 kHz, well under a second), and 100 genre "songs" of
30 s in AU files at 22,050 Hz, as GTZAN's are (ten windows a song, pooled). Reading is timed twice: the
first read decodes and resamples every file, the second comes from deepfit's cache; training then works on the spectrograms in memory.
Keras' ``audio_dataset_from_directory`` needs TensorFlow, which cannot be installed beside our
PyTorch build, so no peer library is timed here.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from deepfit import DeepClassifier, read_audio
from deepfit.data.clip_features import clip_feature_table
from deepfit.data.splits import grouped_split
from deepfit.data.synthetic_sound import genres, words, write_clips
from deepfit.estimators.base import pool_rows

RESULTS = Path(__file__).parent / "results" / "sound.json"
PRECISION_RESULTS = Path(__file__).parent / "results" / "sound-bfloat16-2026-12-02.json"


def make_sets(root: Path, seed: int) -> dict:
    waveforms, labels = genres(per_class=30, rate=22050, seconds=(2.0, 6.0), seed=seed)
    write_clips(root / "genres", waveforms, labels, 22050, pieces=2, suffix=".ogg")
    waveforms, labels, _ = words(speakers=8, takes=4, rate=8000, seed=seed)
    write_clips(root / "words", waveforms, labels, 8000)
    waveforms, labels = genres(per_class=25, rate=22050, seconds=(29.0, 31.0), seed=seed + 100)
    write_clips(root / "songs", waveforms, labels, 22050, suffix=".au")  # GTZAN's length and format
    return {"genres: 4 classes, OGG 22 kHz, 2-6 s in 2 pieces": root / "genres",
            "spoken words: 10 classes, 8 voices, WAV 8 kHz": root / "words",
            "genres: 4 classes, AU 22 kHz, 30 s songs": root / "songs"}


def timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def run_set(folder: Path, seed: int) -> dict:
    (sounds, first_read) = timed(lambda: read_audio(folder))
    _, cached_read = timed(lambda: read_audio(folder))
    clips, labels = sounds.clips, sounds.labels
    held = grouped_split(labels.astype(str), clips.recordings, 0.25, seed)
    train, test = np.flatnonzero(~held), np.flatnonzero(held)
    row = {"clips": len(clips), "recordings": len(set(clips.recordings)), "seconds_of_sound": float(clips.durations().sum()),
           "read_first_s": first_read, "read_cached_s": cached_read}

    cnn, row["deepfit_fit_s"] = timed(lambda: DeepClassifier(random_state=seed).fit(clips[train], labels[train]))
    row["deepfit"] = cnn.score(clips[test], labels[test])
    row["epochs"] = cnn.training_summary_["epochs"]
    row["epoch_s"] = cnn.training_summary_["seconds"] / row["epochs"]
    row["windows"] = cnn.training_summary_["n_train"]
    (windows, of_clip), row["encode_s"] = timed(lambda: cnn.encoder_.encode(clips[train]))

    def spectrogram_logistic():
        model = LogisticRegression(max_iter=2000).fit(windows.reshape(len(windows), -1), labels[train][of_clip])
        test_windows, of_test_clip = cnn.encoder_.encode(clips[test])
        pooled = pool_rows(model.predict_proba(test_windows.reshape(len(test_windows), -1)), of_test_clip)
        return float(np.mean(model.classes_[pooled.argmax(1)] == labels[test]))

    row["logistic_on_spectrograms"], row["logistic_on_spectrograms_s"] = timed(spectrogram_logistic)
    table, row["feature_table_s"] = timed(lambda: clip_feature_table(clips))
    features = table.drop(columns=["filename"]).to_numpy()
    for name, model in (("logistic_on_features", make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))),
                        ("boosting_on_features", HistGradientBoostingClassifier(random_state=seed))):
        fitted, row[f"{name}_s"] = timed(lambda model=model: model.fit(features[train], labels[train]))
        row[name] = float(fitted.score(features[test], labels[test]))
    return row


def precision_check(seeds: list[int], path: Path) -> None:
    """deepfit alone on the short genres and the spoken words, trained in float32 and with precision="auto"
    (bfloat16 where the CPU has it natively): accuracy and fit time of each, on the same splits."""
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for seed in seeds:
            for name, folder in list(make_sets(Path(scratch) / f"seed{seed}", seed).items())[:2]:
                sounds = read_audio(folder)
                clips, labels = sounds.clips, sounds.labels
                held = grouped_split(labels.astype(str), clips.recordings, 0.25, seed)
                train, test = np.flatnonzero(~held), np.flatnonzero(held)
                for precision in ("float32", "auto"):
                    started = time.perf_counter()
                    model = DeepClassifier(random_state=seed, precision=precision).fit(clips[train], labels[train])
                    seconds = time.perf_counter() - started
                    rows.append({"set": name, "seed": seed, "precision": model.training_summary_["precision"],
                                 "seconds": round(seconds, 1), "accuracy": round(model.score(clips[test], labels[test]), 4)})
                    print(json.dumps(rows[-1]), flush=True)
    path.write_text(json.dumps(rows, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed instead of three")
    parser.add_argument("--precision-check", action="store_true", help="deepfit in float32 and 'auto', seeds 0 1")
    parser.add_argument("--precision-results", type=Path, default=PRECISION_RESULTS,
                        help="where --precision-check writes its rows")
    args = parser.parse_args()
    if args.precision_check:
        return precision_check([0, 1], args.precision_results)
    seeds = [0] if args.quick else [0, 1, 2]
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["DEEPFIT_CACHE_DIR"] = str(Path(scratch) / "cache")  # a cold cache for the first read
        for seed in seeds:
            for name, folder in make_sets(Path(scratch) / f"seed{seed}", seed).items():
                row = run_set(folder, seed)
                results.setdefault(name, []).append(row)
                print(f"{name} | seed {seed} | deepfit {row['deepfit']:.3f} ({row['deepfit_fit_s']:.1f} s, "
                      f"{row['epochs']} epochs of {row['windows']} windows, {row['epoch_s']:.2f} s each) | logistic on spectrograms "
                      f"{row['logistic_on_spectrograms']:.3f} | features: logistic {row['logistic_on_features']:.3f}"
                      f", boosting {row['boosting_on_features']:.3f} | read {row['read_first_s']:.2f} s, cached "
                      f"{row['read_cached_s']:.2f} s", flush=True)
    print(f"\n{'set':<46}{'deepfit':>9}{'logistic':>10}{'feat. log.':>11}{'feat. boost':>12}"
          f"{'first read s':>13}{'cached s':>10}")
    for name, rows in results.items():
        mean = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}
        print(f"{name:<46}{mean['deepfit']:>9.3f}{mean['logistic_on_spectrograms']:>10.3f}"
              f"{mean['logistic_on_features']:>11.3f}{mean['boosting_on_features']:>12.3f}"
              f"{mean['read_first_s']:>13.2f}{mean['read_cached_s']:>10.2f}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()
