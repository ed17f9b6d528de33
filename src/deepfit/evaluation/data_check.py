"""Problems in training data, found before any training: class imbalance, classes with too few
examples, exact and near duplicates (also between a training and a test set), one example with two
labels, corrupt files, constant or empty columns, and examples whose label a cross-validated model
confidently disagrees with (confident learning, as cleanlab does it).

>>> # report = deepfit.check_data(X, y); print(report.format())
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from deepfit.data import kinds
from deepfit.data.audio_encoder import AudioEncoder
from deepfit.data.encoder import TableEncoder
from deepfit.data.image_encoder import as_channels_last, resize_batch
from deepfit.errors import InvalidInputError
from deepfit.evaluation import similarity
from deepfit.json_values import plain

MIN_PER_CLASS = 10          # fewer examples than this in a class: too few to learn it and to test it
IMBALANCE_RATIO = 3.0       # the largest class this many times the smallest: imbalanced
PICTURE_SIMILARITY = 0.99   # cosine of 16x16 grey thumbnails at or above which two pictures are near copies
SOUND_SIMILARITY = 0.995    # cosine of coarse log-mel spectrograms for two clips
TABLE_TOLERANCE = 0.01      # rows within 1% of a standard deviation in every column are near copies
MISLABEL_CONFIDENCE = 0.8   # the other class's cross-validated probability, at least
THUMBNAIL = (16, 16)


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


# ------------------------------------------------------------------------------------ summaries
@dataclass
class _View:
    """What the checks compare: exact keys, near-copy search, features for the cross-validated model."""

    kind: str
    keys: np.ndarray
    vectors: np.ndarray | None      # unit vectors (pictures, sound) or standardised rows (tables)
    features: np.ndarray | None
    shape: tuple = ()
    encoder: object = None          # fitted on the training set; a test set is encoded with it
    columns: list | None = None     # the table columns the encoder takes
    dtypes: object = None           # every training column and its type (tables)
    similarity: float | None = None  # near copies correlate at least this much (None: rows close in every column)
    similar_what: str = ""           # what is correlated, for the message

    @property
    def near_rule(self) -> str:
        if self.similarity is None:
            return ("every column within 1% of its standard deviation, found by rounding, so a few such pairs can "
                    "be missed")
        return f"{self.similar_what} correlate at least {self.similarity}"

    def comparable(self, other: _View) -> bool:
        return self.kind == other.kind and self.shape == other.shape

    def near_pairs(self, other: _View | None = None) -> np.ndarray:
        if self.vectors is None or (other is not None and (other.vectors is None or
                                                           other.vectors.shape[1] != self.vectors.shape[1])):
            return np.empty((0, 2), dtype=int)
        if self.similarity is None:  # rows: close in every column
            pairs = similarity.close_rows(self.vectors if other is None else other.vectors, TABLE_TOLERANCE,
                                          None if other is None else self.vectors)
            return pairs if other is None else pairs[:, ::-1]  # (training row, test row)
        return similarity.similar_pairs(self.vectors, self.similarity, None if other is None else other.vectors)


def _summaries(X, report: DataCheck | None, like: _View | None = None) -> _View:
    """The training set's view (`like` None), or a test set's, encoded as the training set was."""
    view = _VIEWS.get(kinds.for_data(X).name, _table_view)
    return view(X, report, like)


def _table_view(X, report: DataCheck | None, like: _View | None = None) -> _View:
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X), columns=[
        f"x{i}" for i in range(np.asarray(X).shape[1])])
    empty = [str(c) for c in frame.columns if frame[c].isna().all()]
    constant = [str(c) for c in frame.columns if str(c) not in empty and frame[c].nunique(dropna=False) <= 1]
    if report is not None and empty:
        report.findings.append(Finding("empty_columns", f"{_n(len(empty), 'column')} with no values at all; drop "
                                       f"{'it' if len(empty) == 1 else 'them'}.",
                                       [{"column": c} for c in empty]))
    if report is not None and constant:
        report.findings.append(Finding("constant_columns", f"{_n(len(constant), 'column')} with one value in every "
                                       "row, which cannot tell classes apart; drop "
                                       f"{'it' if len(constant) == 1 else 'them'}.",
                                       [{"column": c, "value": plain(frame[c].iloc[0])} for c in constant]))
    if like is not None:
        return _test_table_view(frame, like)
    keys = similarity.exact_keys(frame)
    kept = frame.drop(columns=[c for c in frame.columns if str(c) in empty + constant])
    if kept.shape[1] == 0:
        return _View("table", keys, None, None, (frame.shape[1],))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checks above say it better than the encoder's warnings
        encoder = TableEncoder.fit(kept, standardize=True)
        encoded = encoder.transform(kept)
    return _View("table", keys, encoded, encoded, (frame.shape[1],), encoder, list(kept.columns), frame.dtypes)


def _test_table_view(frame: pd.DataFrame, like: _View) -> _View:
    """A test table lined up with the training table: by name, or by position when it has the same
    number of unnamed columns; values in the training columns' types, so equal rows hash equal."""
    training = like.dtypes
    if list(frame.columns) != list(training.index) and frame.shape[1] == len(training) and not set(
            map(str, frame.columns)) & set(map(str, training.index)):
        frame = frame.set_axis(training.index, axis=1)
    if any(c not in frame.columns for c in training.index):
        raise_for = [str(c) for c in training.index if c not in frame.columns][:3]
        from deepfit.errors import InvalidInputError

        raise InvalidInputError(f"the test table lacks column {', '.join(map(repr, raise_for))} of the training "
                                "table; give both sets the same columns.")
    frame = frame[list(training.index)]
    # a column that does not convert simply hashes differently: no copies found there
    with contextlib.suppress(TypeError, ValueError):
        frame = frame.astype(training.to_dict())
    keys = similarity.exact_keys(frame)
    if like.encoder is None:
        return _View("table", keys, None, None, (frame.shape[1],))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        encoded = like.encoder.transform(frame[like.columns])
    return _View("table", keys, encoded, encoded, (frame.shape[1],))


def _picture_view(X, report=None, like=None) -> _View:
    pictures = as_channels_last(X)
    grey = resize_batch(pictures, THUMBNAIL, 1).astype(np.float32)
    small = resize_batch(pictures, THUMBNAIL, min(pictures.shape[3], 3)).astype(np.float32)
    return _View("image", similarity.exact_keys(pictures), similarity.unit_rows(grey),
                 small.reshape(len(small), -1), pictures.shape[1:], similarity=PICTURE_SIMILARITY,
                 similar_what="16x16 grey thumbnails")


def _sound_view(clips, report=None, like: _View | None = None) -> _View:
    encoder = like.encoder if like is not None and like.encoder is not None else AudioEncoder.fit(clips)
    spectrograms = [encoder.spectrogram(np.asarray(w, dtype=np.float32), clips.sample_rate) for w in clips.waveforms]
    coarse = np.stack([_resample_frames(s, 32) for s in spectrograms])
    summary = np.stack([np.concatenate([s.mean(axis=1), s.std(axis=1)]) for s in spectrograms])
    return _View("audio", similarity.exact_keys(list(clips.waveforms)), similarity.unit_rows(coarse), summary,
                 (clips.sample_rate,), encoder, similarity=SOUND_SIMILARITY, similar_what="coarse spectrograms")


# Each kind's view of its examples for the checks, by kind name; a kind not listed is read as a table.
_VIEWS = {kinds.PICTURES.name: _picture_view, kinds.SOUND.name: _sound_view}


def _resample_frames(spectrogram: np.ndarray, frames: int) -> np.ndarray:
    """(bands, any frames) -> (bands, `frames`) by linear interpolation along time."""
    old = np.linspace(0, 1, spectrogram.shape[1])
    new = np.linspace(0, 1, frames)
    return np.stack([np.interp(new, old, band) for band in spectrogram])


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
