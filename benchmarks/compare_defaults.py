"""Are DeepClassifier's defaults good across tables, not just one? Test accuracy, defaults only.

    .venv/bin/python benchmarks/compare_defaults.py [--seeds 3]

Every real table scikit-learn ships for classification (iris, wine, breast cancer, digits) and
synthetic ones of other shapes (noisy labels, many clusters, 26 classes), each split 75/25 with
several seeds; deepfit's DeepClassifier() against scikit-learn's MLPClassifier (standardised
inputs) and HistGradientBoostingClassifier, all with their defaults.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine, make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from deepfit import DeepClassifier

warnings.filterwarnings("ignore")

TABLES = {
    "iris (150 x 4, 3 classes)": lambda: load_iris(return_X_y=True),
    "wine (178 x 13, 3)": lambda: load_wine(return_X_y=True),
    "breast cancer (569 x 30, 2)": lambda: load_breast_cancer(return_X_y=True),
    "digits (1797 x 64, 10)": lambda: load_digits(return_X_y=True),
    "noisy labels (2000 x 20, 2)": lambda: make_classification(2000, 20, n_informative=5, flip_y=0.1,
                                                               random_state=1),
    "many clusters (5000 x 30, 5)": lambda: make_classification(5000, 30, n_informative=10, n_classes=5,
                                                                n_clusters_per_class=3, random_state=2),
    "letters-like (5000 x 16, 26)": lambda: make_classification(5000, 16, n_informative=12, n_redundant=2,
                                                                n_classes=26, n_clusters_per_class=2,
                                                                class_sep=1.5, random_state=0),
}
MODELS = {
    "deepfit": lambda seed: DeepClassifier(random_state=seed),
    "MLPClassifier": lambda seed: make_pipeline(StandardScaler(), MLPClassifier(random_state=seed)),
    "HistGradientBoosting": lambda seed: HistGradientBoostingClassifier(random_state=seed),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    print(f"{'table':30s} " + "".join(f"{name:>28s}" for name in MODELS))
    for table, load in TABLES.items():
        X, y = load()
        cells = []
        for make in MODELS.values():
            scores, seconds = [], []
            for seed in range(args.seeds):
                X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed,
                                                                    stratify=y)
                started = time.perf_counter()
                model = make(seed).fit(X_train, y_train)
                seconds.append(time.perf_counter() - started)
                scores.append(model.score(X_test, y_test))
            cells.append(f"{np.mean(scores):.3f} ±{np.std(scores):.3f} {np.mean(seconds):5.1f}s")
        print(f"{table:30s} " + "".join(f"{cell:>28s}" for cell in cells), flush=True)


if __name__ == "__main__":
    main()
