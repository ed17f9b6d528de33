"""deepfit's picture defaults against a shallow model on small picture sets, in one run.

    .venv/bin/python benchmarks/compare_picture_defaults.py
    .venv/bin/python benchmarks/compare_picture_defaults.py --base-channels 16   # the narrower CNN

Each set is split 75/25 (stratified, random_state=0); deepfit's `DeepClassifier()` with no arguments
is set against scikit-learn's LogisticRegression on standardised pixels. The sets are scikit-learn's
digits and the pictures `deepfit.data.synthetic` draws (letters, made-up faces, elephant scenes).
"""

from __future__ import annotations

import argparse
import time

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import deepfit.models.cnn as cnn
from deepfit import DeepClassifier
from deepfit.data import synthetic


def picture_sets():
    digits = load_digits()
    return {
        "digits 8x8": (digits.images, digits.target),
        "letters 16x16": synthetic.letters(per_class=30, size=16, seed=0),
        "faces 32x32, 10 people": synthetic.faces(people=10, per_person=20, size=32, seed=0),
        "elephant or not 32x32x3": synthetic.elephants(per_class=100, size=32, seed=0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-channels", type=int, default=cnn.BASE_CHANNELS,
                        help=f"channels of the CNN's first stage (default {cnn.BASE_CHANNELS})")
    args = parser.parse_args()
    cnn.BASE_CHANNELS = args.base_channels
    print(f"{'set':26} {'train':>6} {'deepfit':>8} {'logistic':>9} {'deepfit s':>10}")
    for name, (X, y) in picture_sets().items():
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
        flat = lambda pictures: pictures.reshape(len(pictures), -1)
        shallow = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(flat(X_train), y_train)
        started = time.perf_counter()
        deep = DeepClassifier(random_state=0).fit(X_train, y_train)
        seconds = time.perf_counter() - started
        print(f"{name:26} {len(X_train):6d} {deep.score(X_test, y_test):8.3f} "
              f"{shallow.score(flat(X_test), y_test):9.3f} {seconds:10.1f}", flush=True)


if __name__ == "__main__":
    main()
