"""Reading labelled data, for every command and for the library: one function, `read_labelled`.

DATA is a table with a label column, pictures, sound or texts in one sub-folder per class (or a CSV
of ``path,label``), or a table with a column of text; its kind is recognised (`deepfit.data.kinds.for_source`). Each example gets a name
as its user knows it (a file relative to DATA, a table row by its line), and the recording it comes
from where that matters (sound clips; a table whose rows name pieces of recordings), so that every
split keeps a recording on one side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepfit.data import kinds
from deepfit.data.audio import AUDIO_SUFFIXES, recording_of
from deepfit.data.images import IMAGE_SUFFIXES
from deepfit.errors import InvalidInputError

LIKELY_TARGET_NAMES = ("label", "target", "class", "y")
FILE_NAME_SHARE = 0.9  # a column is a file name per row when this share of its values end in a file suffix


@dataclass
class LabelledData:
    """Labelled examples of one kind, named for messages, with what the reader decided on the way."""

    kind: kinds.Kind
    X: object                                # DataFrame, picture array or Clips
    y: np.ndarray
    names: list[str]                         # each example as its user finds it
    groups: np.ndarray | None = None         # the recording of each example, where there are recordings
    skipped: list[tuple[str, str]] = field(default_factory=list)  # files left out under skip_bad, and why
    target: str | None = None                # a table's label column
    notes: list[str] = field(default_factory=list)  # choices made for the user (the label column, ...)
    read_as: dict = field(default_factory=dict)  # what a model must be told to read more such data (text_column)


def read_labelled(data, *, target=None, delimiter: str | None = None, encoding: str = "utf-8",
                  skip_bad: bool = False, like=None, **settings) -> LabelledData:
    """The labelled examples in `data`. A table's label column is `target`, else an obvious one
    ('label', 'target', ...). `like` (a fitted encoder) reads new data as a model's training data was
    read; otherwise `settings` the kind takes (``size``, ``channels``, ``sample_rate``) apply."""
    data = Path(data)
    kind = kinds.for_source(data, settings.get("text_column"))
    if not kind.takes_files:
        return _read_table(data, target, delimiter, encoding)
    offered = {"target": target, "delimiter": delimiter, "encoding": encoding, **settings}  # those it reads
    chosen = {name: value for name, value in offered.items() if name in kind.read_settings and value is not None}
    if like is not None:
        chosen.update(kind.settings_of(like))
    examples = kind.read(data, labelled=True, skip_bad=skip_bad, **chosen)
    skipped = list(zip(display_names([p for p, _ in examples.skipped], data), [w for _, w in examples.skipped]))
    return LabelledData(kind, examples.X, np.asarray(examples.labels), display_names(examples.paths, data),
                        examples.groups, skipped, target=target or "label",
                        read_as={k: v for k, v in chosen.items() if k == "text_column"})


def _read_table(data: Path, target, delimiter, encoding) -> LabelledData:
    from deepfit.data.tabular import read_table, split_target

    frame = read_table(data, delimiter=delimiter, encoding=encoding)
    target, notes = choose_target(frame, target, data)
    features, labels = split_target(frame, target, data)
    groups, column = None, file_name_column(features)
    if column is not None:  # e.g. GTZAN's features CSV: a name per clip, not a feature
        groups = np.array([recording_of(name) for name in features[column].astype(str)], dtype=object)
        features = features.drop(columns=[column])
        pieces = len(groups) - len(set(groups))
        notes.append(f"column {column!r} names the files the rows describe: it is left out of the features"
                     + (f", and the {len(groups)} rows come from {len(set(groups))} recordings, each kept on one "
                        "side of the test split" if pieces else ""))
    return LabelledData(kinds.TABLE, features, np.asarray(labels), table_row_names(len(features)), groups,
                        target=target, notes=notes)


def choose_target(frame, target, source) -> tuple[str, list[str]]:
    """The label column: `target`, else an obvious one such as 'label' (with a note saying so)."""
    if target is not None:
        return target, []
    for name in frame.columns:
        if str(name).lower() in LIKELY_TARGET_NAMES:
            return name, [f"using column {name!r} as the label (pass --target to choose another)."]
    shown = ", ".join(repr(str(c)) for c in list(frame.columns)[:12])
    raise InvalidInputError(f"{source}: which column holds the labels? Pass --target COLUMN (columns: {shown}).")


def file_name_column(frame):
    """The column that names a file per row (values ending in a sound or picture suffix), or None."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind in "OU" or str(values.dtype) in ("string", "str"):
            names = values.dropna().astype(str).str.lower()
            if len(names) and names.str.endswith(AUDIO_SUFFIXES + IMAGE_SUFFIXES).mean() > FILE_NAME_SHARE:
                return column
    return None


def model_columns(estimator, frame, source) -> tuple[object, list[str]]:
    """(the columns `estimator` was trained on, in training order; the other columns, ignored). The label
    column is dropped silently; a model trained on an array takes the columns by position."""
    expected = estimator.encoder_.feature_names
    if not estimator.encoder_.from_frame:  # trained on an array: columns are matched by position
        if frame.shape[1] != len(expected):
            raise InvalidInputError(f"{source}: has {frame.shape[1]} columns, but the model was trained on "
                                    f"{len(expected)}. Pass a table with the same columns as in training.")
        return frame.to_numpy(), []
    missing = [name for name in expected if name not in frame.columns]
    if missing:
        shown = ", ".join(repr(name) for name in missing[:5])
        raise InvalidInputError(f"{source}: lacks column {shown}, which the model was trained on. Add "
                                f"{'it' if len(missing) == 1 else 'them'} with the same name as in training.")
    target = getattr(estimator, "metadata_", {}).get("target")
    ignored = [str(name) for name in frame.columns if name not in expected and str(name) != target]
    return frame[expected], ignored


def table_row_names(rows: int) -> list[str]:
    """Rows as a person finds them in the file: row 1 is line 2, under the header."""
    return [f"row {i} (line {i + 1})" for i in range(1, rows + 1)]


def display_names(paths, data: Path) -> list[str]:
    """Files named as the user knows them: from the folder they gave (3/moved.png), else as listed."""
    folder = (data if data.is_dir() else data.parent).resolve()
    named = []
    for path in paths:
        try:
            named.append(str(Path(path).resolve().relative_to(folder)))
        except ValueError:
            named.append(str(path))
    return named
