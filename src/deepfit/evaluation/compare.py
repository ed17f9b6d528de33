"""Deep vs shallow on the user's own data: learning curves of deepfit's network and scikit-learn's
shallow models, trained on growing shares of one training split and scored on one held-out split.

Deep learning beats shallow learning only with enough data; this shows where that happens (or does
not) on a given table or set of pictures, instead of asserting it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from deepfit.data import kinds
from deepfit.data.splits import grouped_split
from deepfit.errors import InvalidInputError
from deepfit.evaluation.plots import pyplot, save_figure

FRACTIONS = (0.1, 0.25, 0.5, 1.0)
FLAT_WITHIN = 0.01  # a curve has flattened once it is within a point of its best


@dataclass
class Comparison:
    """One row per (fraction, model): training rows, held-out accuracy, seconds to fit."""

    rows: list = field(default_factory=list)
    n_test: int = 0

    def best(self, fraction: float = 1.0) -> dict:
        return max((r for r in self.rows if r["fraction"] == fraction), key=lambda r: r["accuracy"])

    def curve(self, model: str) -> list[dict]:
        return sorted((r for r in self.rows if r["model"] == model), key=lambda r: r["fraction"])

    def advice(self) -> str:
        """One paragraph: which model to use, by how much, and where each curve flattens."""
        largest = max(r["fraction"] for r in self.rows)
        best = self.best(largest)
        deep = next(r for r in self.curve("deepfit") if r["fraction"] == largest)
        shallow = max((r for r in self.rows if r["fraction"] == largest and r["model"] != "deepfit"),
                      key=lambda r: r["accuracy"])
        gap = deep["accuracy"] - shallow["accuracy"]
        if gap > FLAT_WITHIN:
            verdict = (f"Use deepfit: with all {deep['n_train']} training rows it scores {deep['accuracy']:.3f}, "
                       f"{gap * 100:.1f} points above the best shallow model ({shallow['model']}, "
                       f"{shallow['accuracy']:.3f}).")
        elif gap < -FLAT_WITHIN:
            verdict = (f"Use {shallow['model']}: it scores {shallow['accuracy']:.3f} with all {shallow['n_train']} "
                       f"training rows, {-gap * 100:.1f} points above deepfit ({deep['accuracy']:.3f}); this data "
                       "does not (yet) reward a deep network.")
        else:
            verdict = (f"deepfit ({deep['accuracy']:.3f}) and {shallow['model']} ({shallow['accuracy']:.3f}) are within "
                       f"a point of each other with all {deep['n_train']} training rows; the shallow model is the "
                       f"cheaper choice ({shallow['fit_seconds']:.2f} s to fit vs {deep['fit_seconds']:.2f} s).")
        flattening = []
        for model in dict.fromkeys(r["model"] for r in self.rows):
            curve = self.curve(model)
            top = max(r["accuracy"] for r in curve)
            first = next(r for r in curve if r["accuracy"] >= top - FLAT_WITHIN)
            rising = curve[-1]["accuracy"] - curve[-2]["accuracy"] if len(curve) > 1 else 0.0
            state = "still rising: more data should help" if rising > FLAT_WITHIN else \
                f"flat from {first['n_train']} rows ({first['fraction']:.0%})"
            flattening.append(f"{model} {state}")
        return f"{verdict} Curves: {'; '.join(flattening)}. Held-out rows: {self.n_test}. Best overall: " \
               f"{best['model']} ({best['accuracy']:.3f})."

    def plot(self, path):
        """Accuracy against training-set size, one line per model, to a PNG."""
        plt = pyplot()
        figure, axes = plt.subplots(figsize=(6.5, 4.5))
        for model in dict.fromkeys(r["model"] for r in self.rows):
            curve = self.curve(model)
            axes.plot([r["n_train"] for r in curve], [r["accuracy"] for r in curve], "o-", label=model,
                      linewidth=2.5 if model == "deepfit" else 1.5)
        axes.set(xscale="log", xlabel="training rows (log scale)", ylabel="held-out accuracy",
                 title=f"deep vs shallow: learning curves ({self.n_test} held-out rows)")
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right", fontsize=9)
        return save_figure(figure, path)


def compare(X, y, *, fractions=FRACTIONS, test_fraction: float = 0.2, seed: int = 0, groups=None) -> Comparison:
    """Train deepfit's `DeepClassifier()` and the shallow models on growing `fractions` of a training
    split (nested, stratified) and score all on the same held-out split (whole groups at a time)."""
    from deepfit import DeepClassifier

    y = np.asarray(y)
    rows = np.arange(len(y))
    held = grouped_split(y.astype(str), rows if groups is None else np.asarray(groups), test_fraction, seed,
                         min_per_class=1)
    if held is None:
        raise InvalidInputError(f"{len(y)} rows are too few to hold out {test_fraction:.0%} with every class in it.")
    train, test = rows[~held], rows[held]
    order, kind = _stratified_order(y[train], seed), kinds.for_data(X)
    take = (lambda data, index: data.iloc[index]) if hasattr(X, "iloc") else (lambda data, index: data[index])
    comparison = Comparison(n_test=len(test))
    for fraction in sorted(fractions):
        subset = train[np.sort(order[:max(2, int(round(fraction * len(train))))])]
        if len(np.unique(y[subset])) < 2:
            continue
        flat_train, flat_test = kind.shallow_features(take(X, subset), take(X, test))
        models = {"deepfit": (DeepClassifier(random_state=seed), take(X, subset), take(X, test)),
                  **{name: (model, flat_train, flat_test) for name, model in kind.shallow_models(seed).items()}}
        for name, (model, train_inputs, test_inputs) in models.items():
            started = time.perf_counter()
            model.fit(train_inputs, y[subset])
            seconds = time.perf_counter() - started
            accuracy = float(np.mean(model.predict(test_inputs) == y[test]))
            comparison.rows.append({"fraction": fraction, "n_train": int(len(subset)), "model": name,
                                    "accuracy": accuracy, "fit_seconds": round(seconds, 3)})
    return comparison


def _stratified_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """A permutation whose every prefix holds the classes in about their overall shares."""
    rng = np.random.default_rng(seed)
    keys = np.empty(len(labels))
    labels = labels.astype(str)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        keys[rng.permutation(members)] = (np.arange(len(members)) + rng.random()) / len(members)
    return np.argsort(keys, kind="stable")
