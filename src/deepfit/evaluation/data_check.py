"""Problems in training data, found before any training: class imbalance, classes with too few
examples, exact and near duplicates (also between a training and a test set), one example with two
labels, corrupt files, constant or empty columns, and examples whose label a cross-validated model
confidently disagrees with (confident learning, as cleanlab does it).

>>> # report = deepfit.check_data(X, y); print(report.format())
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from deepfit.data import kinds, similarity
from deepfit.data.near_copies import NearCopyView
from deepfit.errors import InvalidInputError

MIN_PER_CLASS = 10          # fewer examples than this in a class: too few to learn it and to test it
IMBALANCE_RATIO = 3.0       # the largest class this many times the smallest: imbalanced
MISLABEL_CONFIDENCE = 0.8   # the other class's cross-validated probability, at least


@dataclass
class Finding:
    """One kind of problem, a line that says what to do about it, and the examples it concerns."""

    check: str
    message: str
    items: list = field(default_factory=list)


@dataclass
class DataCheck:
    n_examples: int
    class_counts: dict
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict:
        return {"n_examples": self.n_examples, "class_counts": self.class_counts, "ok": self.ok,
                "findings": [asdict(f) for f in self.findings], "notes": self.notes}

    def format(self, limit: int = 10) -> str:
        """The findings as a person reads them: each problem, then up to `limit` of its examples."""
        counts = ", ".join(f"{label} {count}" for label, count in self.class_counts.items())
        lines = [f"{self.n_examples} examples in {len(self.class_counts)} classes ({counts})"]
        for finding in self.findings:
            lines += ["", f"{finding.check.replace('_', ' ')}: {finding.message}"]
            lines += [f"  {_describe(item)}" for item in finding.items[:limit]]
            if len(finding.items) > limit:
                lines.append(f"  ... and {len(finding.items) - limit} more (--json lists them all)")
        lines += ["", *self.notes] if self.notes else []
        lines += ["", "No problems found." if self.ok else f"{_n(len(self.findings), 'kind')} of problem found."]
        return "\n".join(lines)


def check_data(X, y, *, names=None, test=None, groups=None, skipped=(), seed: int = 0) -> DataCheck:
    """Look for problems in examples `X` (a table, pictures as an array, or `deepfit.Clips`) labelled `y`.

    `names` says what each example is called (its file, or its row); `test` is an optional
    ``(X_test, y_test[, names_test])`` searched for copies of training examples; `groups` (the
    recording of each clip) keeps a recording's pieces in one fold; `skipped` lists ``(file, why)`` of
    files that could not be read.
    """
    y = np.asarray(y)
    if len(y) == 0 or len(y) != len(X):
        raise InvalidInputError(f"got {len(X)} examples and {len(y)} labels; give at least one example, each with "
                                "a label.")
    names = [str(n) for n in names] if names is not None else [f"row {i + 1}" for i in range(len(y))]
    if test is not None and len(test) == 2:
        test = (*test, [f"test row {i + 1}" for i in range(len(test[1]))])
    labels, counts = np.unique(y.astype(str), return_counts=True)
    report = DataCheck(len(y), {str(label): int(count) for label, count in zip(labels, counts)})
    if skipped:
        report.findings.append(Finding("corrupt_files", f"{_n(len(skipped), 'file')} not readable, left out; replace "
                                       "or remove them.", [{"file": f, "why": why} for f, why in skipped]))
    _class_balance(report, labels, counts)
    view = _summaries(X, report)
    _duplicates(report, view, y, names)
    if test is not None:
        _copies_in_test(report, view, _summaries(test[0], None, like=view), names, [str(n) for n in test[2]])
    _suspected_mislabels(report, view.features, y, names, groups, seed)
    return report


# ------------------------------------------------------------------------------------ the checks
def _class_balance(report: DataCheck, labels, counts) -> None:
    if len(labels) < 2:
        report.findings.append(Finding("too_few_classes", f"every example is labelled {str(labels[0])!r}; a classifier "
                                       "needs examples of at least two classes."))
    few = [{"class": str(label), "count": int(count)} for label, count in zip(labels, counts) if count < MIN_PER_CLASS]
    if few:
        report.findings.append(Finding("too_few_examples", f"{_n(len(few), 'class', 'classes')} with fewer than "
                                       f"{MIN_PER_CLASS} examples: too few to learn them and to test them; collect more.", few))
    if len(labels) >= 2 and counts.max() >= IMBALANCE_RATIO * counts.min():
        large, small = str(labels[counts.argmax()]), str(labels[counts.argmin()])
        report.findings.append(Finding(
            "class_imbalance", f"{large!r} has {counts.max()} examples, {small!r} {counts.min()} "
            f"({counts.max() / counts.min():.1f} to 1). A model may learn to favour the large classes: collect "
            "more of the small ones, and judge it by balanced accuracy (deepfit evaluate prints it).",
            [{"class": str(label), "count": int(count)} for label, count in sorted(zip(labels, counts),
                                                                                   key=lambda lc: lc[1])]))


def _duplicates(report: DataCheck, view, y, names) -> None:
    exact = similarity.groups_of_equal(view.keys)
    conflicting = [g for g in exact if len(set(y[g].astype(str))) > 1]
    if exact:
        report.findings.append(Finding(
            "exact_duplicates", f"{_n(len(exact), 'example')} with more than one copy ({sum(map(len, exact))} copies in "
            "all); keep one of each, or they count twice in training and can leak into the test split.",
            [{"examples": [names[i] for i in g], "labels": [str(v) for v in y[g]]} for g in exact]))
    if conflicting:
        report.findings.append(Finding(
            "conflicting_labels", f"{_n(len(conflicting), 'example')} whose copies have different labels; at most one label "
            "can be right.", [{"examples": [names[i] for i in g], "labels": [str(v) for v in y[g]]}
                              for g in conflicting]))
    near = [g for g in similarity.clusters(view.near_pairs(), len(y)) if len(set(view.keys[g].tolist())) > 1]
    if near:
        report.findings.append(Finding(
            "near_duplicates", f"{_n(len(near), 'group')} of examples almost the same ({view.near_rule}); check that "
            "they are not one example saved twice.",
            [{"examples": [names[i] for i in g], "labels": [str(v) for v in y[g]]} for g in near]))


def _copies_in_test(report: DataCheck, train_view, test_view, names, test_names) -> None:
    shared = np.flatnonzero(np.isin(test_view.keys, train_view.keys)) if train_view.comparable(test_view) else []
    exact = {int(i) for i in shared}
    pairs = train_view.near_pairs(test_view)
    items = [{"test": test_names[i], "training": [names[j] for j in np.flatnonzero(train_view.keys == test_view.keys[i])],
              "exact": True} for i in sorted(exact)]
    near = {}
    for train_index, test_index in pairs:
        if int(test_index) not in exact:
            near.setdefault(int(test_index), []).append(names[int(train_index)])
    items += [{"test": test_names[i], "training": found, "exact": False} for i, found in sorted(near.items())]
    if items:
        report.findings.append(Finding(
            "test_examples_in_training", f"{_n(len(items), 'test example')} copied (or nearly) from training "
            "examples: the test score will be too high. Remove them from one of the two sets.", items))


def _suspected_mislabels(report: DataCheck, features, y, names, groups, seed: int) -> None:
    """Confident learning: a model's out-of-fold probabilities; an example is suspect when its own
    label's probability is below that class's average and another class is predicted with at least
    MISLABEL_CONFIDENCE (and above that class's average)."""
    if features is None or features.shape[1] == 0:
        return
    labels, y_index, counts = np.unique(y.astype(str), return_inverse=True, return_counts=True)
    usable = counts[y_index] >= 2
    if len(labels) < 2 or usable.sum() < 10 or (counts >= 2).sum() < 2:
        return
    groups = None if groups is None else np.asarray(groups)[usable]
    folds = int(min(5, counts[counts >= 2].min(), len(set(groups.tolist())) if groups is not None else 5))
    if folds < 2:
        report.notes.append("Mislabels were not looked for: the data come from fewer than two recordings.")
        return
    probabilities, accuracy = _out_of_fold_probabilities(features[usable], y_index[usable], groups, folds, seed)
    rows = np.flatnonzero(usable)
    given = y_index[usable]
    classes = np.unique(given)
    column = np.searchsorted(classes, given)
    own = probabilities[np.arange(len(rows)), column]
    thresholds = np.array([probabilities[column == c, c].mean() for c in range(len(classes))])
    others = np.where(probabilities >= thresholds, probabilities, -1.0)
    others[np.arange(len(rows)), column] = -1.0
    best = others.argmax(axis=1)
    best_probability = others[np.arange(len(rows)), best]
    suspect = (own < thresholds[column]) & (best_probability >= MISLABEL_CONFIDENCE)
    order = np.flatnonzero(suspect)[np.argsort(own[suspect], kind="stable")]
    report.notes.append(f"Suspected mislabels come from a logistic regression's {folds}-fold cross-validated "
                        f"predictions, right {accuracy:.0%} of the time on this data"
                        + ("; with a model this weak, treat them as hints." if accuracy < 0.8 else "."))
    if len(order):
        report.findings.append(Finding(
            "suspected_mislabels", f"{_n(len(order), 'example')} that look like another class to a model that did not train "
            "on them (least likely label first); check their labels.",
            [{"example": names[rows[i]], "label": str(labels[classes[column[i]]]),
              "looks_like": str(labels[classes[best[i]]]), "probability": round(float(best_probability[i]), 4),
              "probability_of_label": round(float(own[i]), 4)} for i in order]))


def _out_of_fold_probabilities(features, y_index, groups, folds: int, seed: int):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    splitter = (StratifiedGroupKFold(folds, shuffle=True, random_state=seed) if groups is not None
                else StratifiedKFold(folds, shuffle=True, random_state=seed))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)  # a fold missing a rare class
        probabilities = cross_val_predict(model, features, y_index, groups=groups, cv=splitter, method="predict_proba")
    accuracy = float((np.unique(y_index)[probabilities.argmax(axis=1)] == y_index).mean())
    return probabilities, accuracy


# ------------------------------------------------------------------------------------ the views
def _summaries(X, report: DataCheck | None, like: NearCopyView | None = None) -> NearCopyView:
    """The training set's view (`like` None), or a test set's, seen as the training set was; the
    training set's unusable columns become findings."""
    view = kinds.for_data(X).near_copy_view(X, like)
    if report is not None and view.empty_columns:
        empty = view.empty_columns
        report.findings.append(Finding("empty_columns", f"{_n(len(empty), 'column')} with no values at all; drop "
                                       f"{'it' if len(empty) == 1 else 'them'}.", [{"column": c} for c in empty]))
    if report is not None and view.constant_columns:
        constant = view.constant_columns
        report.findings.append(Finding("constant_columns", f"{_n(len(constant), 'column')} with one value in every "
                                       "row, which cannot tell classes apart; drop "
                                       f"{'it' if len(constant) == 1 else 'them'}.",
                                       [{"column": c, "value": value} for c, value in constant.items()]))
    return view


def _describe(item: dict) -> str:
    if "examples" in item:
        labels = item["labels"]
        same = len(set(labels)) == 1
        return " = ".join(item["examples"]) + (f"  (label {labels[0]})" if same else f"  (labels {', '.join(labels)})")
    if "test" in item:
        return f"test {item['test']} {'=' if item['exact'] else '≈'} training {', '.join(item['training'])}"
    if "looks_like" in item:
        return (f"{item['example']}: labelled {item['label']}, looks like {item['looks_like']} "
                f"({item['probability']:.2f}; its label {item['probability_of_label']:.2f})")
    if "file" in item:
        return f"{item['file']}: {item['why']}"
    if "class" in item:
        return f"{item['class']}: {item['count']} examples"
    if "value" in item:
        return f"{item['column']} (always {item['value']!r})"
    return ", ".join(f"{k} {v}" for k, v in item.items())


def _n(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
