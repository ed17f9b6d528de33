"""Music-genre classification: a CNN over log-mel spectrograms against hand-made per-clip features.

    python examples/music_genres.py                   # makes four genres of clips in runs/genres/clips
    python examples/music_genres.py --data genres/    # GTZAN's layout: genres/blues/blues.00000.wav, ...

What it shows, step by step:

1. clips are read from genre folders (any length; mono; one sample rate; each clip's loudness levelled);
2. the data are split *by recording*: GTZAN-style pieces of one song (``rock.00012.3.wav``) all go to
   training or all to testing -- a random split of pieces lets the model recognise the song instead of
   the genre, and published genre results are inflated exactly this way;
3. deepfit's spectrogram CNN (defaults) learns from the spectrograms; each clip's windows are pooled
   into one prediction;
4. the same spectrograms go to a shallow model (logistic regression), and the GTZAN-style table of
   per-clip features (MFCCs, spectral centroid, tempo, ...) goes through the table path, beside it;
5. the model is saved, loaded and used on a file, as ``deepfit predict`` does.

The same from the command line:

    deepfit train runs/genres/clips --out runs/genres/run
    deepfit train runs/genres/features.csv --out runs/genres/table-run
"""

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from deepfit import DeepClassifier, load, read_audio
from deepfit.data.clip_features import clip_feature_table
from deepfit.data.splits import grouped_split
from deepfit.data.synthetic_sound import genres, write_clips
from deepfit.estimators.base import pool_rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a folder with one sub-folder of sound files per genre")
    parser.add_argument("--out", type=Path, default=Path("runs/genres"))
    parser.add_argument("--per-class", type=int, default=40, help="recordings per genre to make (no --data)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    folder = args.data
    if folder is None:
        folder = args.out / "clips"
        waveforms, labels = genres(per_class=args.per_class, rate=16000, seconds=(4.0, 8.0), seed=args.seed)
        write_clips(folder, waveforms, labels, 16000, pieces=2)  # each recording cut in two, as GTZAN's pieces
    sounds = read_audio(folder, labelled=True)
    clips, labels = sounds.clips, sounds.labels
    print(f"{len(clips)} clips from {len(set(clips.recordings))} recordings, {clips.sample_rate} Hz, "
          f"{clips.durations().sum() / 60:.1f} minutes, genres: {', '.join(sorted(set(labels)))}")

    held_out = grouped_split(labels.astype(str), clips.recordings, 0.25, args.seed)
    train, test = np.flatnonzero(~held_out), np.flatnonzero(held_out)
    shared = set(clips.recordings[train]) & set(clips.recordings[test])
    print(f"split by recording: {len(train)} clips to train, {len(test)} to test, {len(shared)} recordings on both sides")

    rows = []
    started = time.perf_counter()
    cnn = DeepClassifier(random_state=args.seed).fit(clips[train], labels[train])
    rows.append(("spectrogram CNN (deepfit defaults)", cnn.score(clips[test], labels[test]),
                 time.perf_counter() - started))
    print(f"  the CNN hears {cnn.encoder_.describe()}")

    started = time.perf_counter()  # a shallow model on the very same spectrogram windows
    windows, clip_of_window = cnn.encoder_.encode(clips[train])
    shallow = LogisticRegression(max_iter=2000).fit(windows.reshape(len(windows), -1), labels[train][clip_of_window])
    test_windows, clip_of_test_window = cnn.encoder_.encode(clips[test])
    pooled = pool_rows(shallow.predict_proba(test_windows.reshape(len(test_windows), -1)), clip_of_test_window)
    rows.append(("logistic regression on the spectrograms", float(np.mean(shallow.classes_[pooled.argmax(1)]
                                                                         == labels[test])),
                 time.perf_counter() - started))

    table = clip_feature_table(clips, labels)  # GTZAN's features_30_sec.csv, for these clips
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "features.csv", index=False)
    features = table.drop(columns=["filename", "label"])
    for name, model in (("deepfit on the per-clip feature table", DeepClassifier(random_state=args.seed)),
                        ("logistic regression on the feature table", _scaled_logistic())):
        started = time.perf_counter()
        model.fit(features.iloc[train], labels[train])
        rows.append((name, model.score(features.iloc[test], labels[test]), time.perf_counter() - started))

    print(f"\n{'model':<44}{'test accuracy':>14}{'fit s':>8}")
    for name, accuracy, seconds in rows:
        print(f"{name:<44}{accuracy:>14.3f}{seconds:>8.1f}")

    path = cnn.save(args.out / "genres.deepfit")
    again = load(path)
    one = clips[test[:1]]
    print(f"\nsaved to {path}; loaded again, it calls {one.paths[0]} "
          f"{again.predict(one)[0]!r} (true genre: {labels[test[0]]!r})")


def _scaled_logistic():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


if __name__ == "__main__":
    main()
