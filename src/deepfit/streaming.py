"""Prediction streamed over a large table or many files, batch by batch, in bounded memory.

`stream_predictions(model, inputs)` reads a table a chunk of rows at a time, or files a batch at a
time, and yields each batch's predictions before the next is read. A bad row or file stops the
stream with its name, or (``skip_bad=True``) gets an entry with the reason instead of a prediction:
never silently dropped. `deepfit predict` writes these batches to CSV or JSON lines; a Python user
iterates over them::

    from deepfit.streaming import stream_predictions

    for batch in stream_predictions(model, ["photos/"], skip_bad=True):
        print(batch.keys, batch.labels, batch.errors)
"""

from __future__ import annotations

import glob
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepfit.data import kinds
from deepfit.data.labelled import model_columns
from deepfit.data.listing import files_in, list_csv
from deepfit.data.table_stream import count_rows, iter_table_chunks, unusable_rows
from deepfit.errors import DataWarning, InvalidInputError, no_such_path
from deepfit.estimators.base import UNANSWERABLE, unanswerable_rows

GLOB_CHARACTERS = set("*?[")


@dataclass
class PredictionBatch:
    """One batch of answers, in input order: each input's key (a file, or a table's row number from 1),
    label and class probabilities (None and NaN for a bad input), and with ``skip_bad`` the reason each
    bad input could not be answered (None for the good ones)."""

    keys: list
    labels: np.ndarray
    probabilities: np.ndarray | None
    errors: list | None


@dataclass
class PredictionStream:
    """An iterable of `PredictionBatch`; `total` inputs when known (for a progress bar), each a `unit`."""

    batches: object
    total: int | None
    unit: str

    def __iter__(self):
        return iter(self.batches)


def stream_predictions(model, inputs, *, batch_size: int | None = None, skip_bad: bool = False,
                       delimiter: str | None = None, encoding: str = "utf-8", count: bool = True) -> PredictionStream:
    """Predictions of `model` for every row of one table (a path), or every file `inputs` names (folders,
    files, globs such as 'photos/**/*.jpg', CSVs listing files). `batch_size`: rows or files a batch
    (default: the kind's). `count`: count a table's rows first, for `total`."""
    kind = kinds.of(model)
    inputs = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    size = batch_size or kind.predict_batch
    column = getattr(model, "metadata_", {}).get("text_column")  # a table's column of text, named in training
    if len(inputs) == 1 and kind.table_of_examples(inputs[0]):
        return _texts_of_table(model, kind, Path(inputs[0]), size, skip_bad, delimiter, encoding, column)
    if kind.takes_files:
        paths = expand_inputs(inputs, kind)
        return PredictionStream(_file_batches(model, kind, paths, size, skip_bad), len(paths), "file")
    if len(inputs) != 1:
        raise InvalidInputError(f"a table model predicts one table at a time; got {len(inputs)} inputs.")
    return _table_stream(model, Path(inputs[0]), size, skip_bad, delimiter, encoding, count)


# ------------------------------------------------------------------------------------ tables
def _texts_of_table(model, kind, path: Path, size: int, skip_bad: bool, delimiter, encoding,
                    column) -> PredictionStream:
    """A table's column of texts (`column`, or the one there is), read whole (rows without text refused,
    or left out under skip_bad with a warning), then answered a batch at a time."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rows left out are reported on their own rows, not as a warning
        examples = kind.read(path, labelled=False, skip_bad=skip_bad, delimiter=delimiter, encoding=encoding,
                             text_column=column)
    bad = dict(zip(examples.skipped_rows, (why for _, why in examples.skipped)))
    text_of_row = {row: i for i, row in enumerate(examples.rows)}
    every_row = sorted([*examples.rows, *bad])

    def batches():
        for start in range(0, len(every_row), size):
            keys = every_row[start:start + size]
            good, failed = [k for k in keys if k not in bad], [k for k in keys if k in bad]
            labels, probabilities = _run(model, examples.X[[text_of_row[k] for k in good]], str(path)) if good \
                else (None, None)
            order = np.argsort(good + failed, kind="stable")  # keys are sorted: this puts each back in its place
            yield PredictionBatch(keys, *_spread(labels, probabilities, len(good), len(keys), order, model),
                                  [bad.get(k) for k in keys] if skip_bad else None)

    return PredictionStream(batches(), len(every_row), "row")


def _table_stream(model, path: Path, size: int, skip_bad: bool, delimiter, encoding, count: bool):
    """CSVs streamed in chunks; Parquet read whole (one batch)."""
    if path.suffix.lower() in (".parquet", ".pq"):
        from deepfit.data.tabular import read_table

        frame = read_table(path).reset_index(drop=True)  # rows numbered by position, whatever index was stored
        return PredictionStream(_table_batches(model, [(frame, [])], path, skip_bad), len(frame), "row")
    text_columns = [c.name for c in getattr(model.encoder_, "columns", []) if c.type == "categorical"]
    chunks = iter_table_chunks(path, rows=size, delimiter=delimiter, encoding=encoding, text_columns=text_columns)
    total = count_rows(path) if count and path.is_file() else None  # one quick pass, for the bar's length
    return PredictionStream(_table_batches(model, chunks, path, skip_bad), total, "row")


def _table_batches(model, chunks, source: Path, skip_bad: bool):
    for number, (frame, ragged) in enumerate(chunks):
        features, bad = frame, dict(ragged)
        if len(frame):
            features, ignored = model_columns(model, frame, source)
            if ignored and number == 0:
                warnings.warn(f"{source}: ignoring column(s) the model was not trained on: {', '.join(ignored[:5])}",
                              DataWarning, stacklevel=2)
            bad.update(unusable_rows(model.encoder_, frame))
        _refuse_unless(skip_bad, bad, lambda row: f"{source}: row {row}")
        good = ~np.isin(frame.index.to_numpy(dtype=np.int64) + 1, np.fromiter(bad, dtype=np.int64, count=len(bad)))
        good_rows = frame.index.to_numpy(dtype=np.int64)[good] + 1
        labels, probabilities = _run(model, _take(features, good), source) if good.any() else (None, None)
        labels, probabilities, good_rows = _drop_unanswerable(labels, probabilities, good_rows, bad, skip_bad,
                                                              lambda row: f"{source}: row {row}")
        rows = np.concatenate([good_rows, np.array(sorted(set(bad) - set(good_rows.tolist())), dtype=np.int64)])
        order = np.argsort(rows, kind="stable")
        yield PredictionBatch(rows[order].tolist(), *_spread(labels, probabilities, len(good_rows), len(rows), order,
                                                             model),
                              [bad.get(int(row)) for row in rows[order]] if skip_bad else None)


def _take(features, mask: np.ndarray):
    return features[mask] if isinstance(features, np.ndarray) else features.loc[mask]


# ------------------------------------------------------------------------------------ files
def expand_inputs(inputs, kind: kinds.Kind) -> list[Path]:
    """Every file of `kind` that `inputs` name, in order: folders searched recursively, globs expanded,
    CSVs of paths read; a name that matches nothing is an error."""
    paths: list[Path] = []
    for item in map(str, inputs):
        if GLOB_CHARACTERS & set(item) and not Path(item).exists():
            matched = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not matched:
                raise InvalidInputError(f"{item}: no file matches this pattern. Check the path.")
            paths += matched
            continue
        path = Path(item)
        if not path.exists():
            raise no_such_path(path)
        if path.is_dir():
            found = files_in(path, kind.suffixes)
            if not found:
                raise InvalidInputError(f"{path}: holds no {kind.words.files} ({', '.join(kind.suffixes[:4])}, ...).")
            paths += found
        elif path.suffix.lower() in (".csv", ".tsv", ".txt") and path.suffix.lower() not in kind.suffixes:
            paths += list_csv(path, kind.words.files)[0]   # a listing (a .txt is a text, for texts)
        else:
            paths.append(path)
    return paths


def _file_batches(model, kind: kinds.Kind, paths: list[Path], size: int, skip_bad: bool):
    for start in range(0, len(paths), size):
        batch = [str(p) for p in paths[start:start + size]]
        inputs, kept, bad_files = _read_files(kind, model.encoder_, batch)
        bad = dict(bad_files)
        _refuse_unless(skip_bad, bad, lambda file: f"{file}:")
        labels, probabilities = _run(model, inputs, "the files given") if kept else (None, None)
        labels, probabilities, kept_keys = _drop_unanswerable(labels, probabilities, kept, bad, skip_bad,
                                                              lambda file: f"{file}:")
        kept = list(kept_keys)
        failed = [p for p in batch if p in bad]
        position = {p: i for i, p in enumerate(batch)}
        order = np.argsort([position[p] for p in kept] + [position[p] for p in failed], kind="stable")
        keys = np.array(kept + failed, dtype=object)[order].tolist()
        yield PredictionBatch(keys, *_spread(labels, probabilities, len(kept), len(kept) + len(failed), order, model),
                              [bad.get(k) for k in keys] if skip_bad else None)


def _read_files(kind: kinds.Kind, encoder, batch: list[str]):
    """(inputs, files read, [(file, why), ...]) of one batch, read as the model was trained."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unreadable files are reported per input, not as a warning
        try:
            examples = kind.read(batch, labelled=False, skip_bad=True, cache=False, **kind.settings_of(encoder))
            return examples.X, [str(p) for p in examples.paths], [(str(f), w) for f, w in examples.skipped]
        except InvalidInputError as error:  # the batch as a whole was refused: read its files one by one
            if len(batch) == 1:
                return None, [], [(batch[0], str(error).split(": ", 1)[-1].rstrip("."))]
            results = [_read_files(kind, encoder, [path]) for path in batch]
            good = [(inputs, kept[0]) for inputs, kept, _ in results if kept]
            return (kind.join([inputs for inputs, _ in good]) if good else None, [path for _, path in good],
                    [item for _, _, bad in results for item in bad])


# ------------------------------------------------------------------------------------ shared
def _refuse_unless(skip_bad: bool, bad: dict, where) -> None:
    if bad and not skip_bad:
        key, why = min(bad.items())
        raise InvalidInputError(f"{where(key)} {why}. Fix it, or pass --skip-bad to give it an error row instead of a "
                                "prediction.")


def _drop_unanswerable(labels, probabilities, keys, bad: dict, skip_bad: bool, where):
    """Inputs whose probabilities came out NaN or infinite (values far outside float32's range) are
    bad inputs too: refused, or (skip_bad) moved to `bad` with the reason."""
    broken = unanswerable_rows(probabilities)
    if not len(broken):
        return labels, probabilities, keys
    new = {key: UNANSWERABLE for key in np.asarray(keys, dtype=object)[broken].tolist()}
    _refuse_unless(skip_bad, new, where)
    bad.update(new)
    keep = np.ones(len(keys), dtype=bool)
    keep[broken] = False
    return labels[keep], probabilities[keep], np.asarray(keys)[keep]


def _run(model, inputs, source):
    try:
        labels, probabilities = model.predict_with_proba(inputs)
    except InvalidInputError as error:
        raise InvalidInputError(f"{source}: {error}") from None
    return np.asarray(labels), probabilities


def _spread(labels, probabilities, n_good: int, n_all: int, order: np.ndarray, model):
    """Labels and probabilities of the good inputs (first `n_good` places), blanks for the bad ones,
    put in input order."""
    full_labels = np.empty(n_all, dtype=object)
    if n_good:
        full_labels[:n_good] = labels
    full_probabilities = None
    if probabilities is not None or (n_good == 0 and hasattr(model, "predict_proba")):
        full_probabilities = np.full((n_all, len(model.classes_)), np.nan)
        if n_good:
            full_probabilities[:n_good] = probabilities
        full_probabilities = full_probabilities[order]
    return full_labels[order], full_probabilities
