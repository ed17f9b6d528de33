"""Reading texts: a folder of ``.txt`` files (one sub-folder per class, the layout of scikit-learn's
`load_files` and Keras' `text_dataset_from_directory`), a list of such files, or a table (CSV, TSV,
Parquet) with a column of text beside its label column.

A file that is not text in the encoding given (UTF-8 unless told) or that is empty is named in one
line with the fix, or left out with a warning under ``skip_bad``; so is a table row without text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepfit.data.audio import AUDIO_SUFFIXES
from deepfit.data.images import IMAGE_SUFFIXES
from deepfit.data.listing import list_source, listed_suffix, refuse_or_skip
from deepfit.errors import InvalidInputError

TEXT_SUFFIXES = (".txt",)
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
TEXT_LENGTH = 20         # a column is text when its values are this many characters long on average ...
TEXT_WORDS = 3           # ... hold this many words on average ...
TEXT_DISTINCT = 0.5      # ... and at least this share of them differ
MAX_OTHER_COLUMNS = 3    # a table is a text set when, beside its text and label, it has at most this many columns
SNIFF_ROWS = 200


@dataclass
class TextSet:
    texts: list[str]
    labels: np.ndarray | None
    names: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    rows: list[int] | None = None  # read from a table: the row (from 1) of each text
    skipped_rows: list[int] = field(default_factory=list)  # and of each row left out


def is_text_source(path) -> bool:
    """A folder whose first picture, sound or text file is text; or a table holding columns of text
    and at most a label and `MAX_OTHER_COLUMNS` others."""
    path = Path(path)
    if path.is_dir():
        for _, folders, files in os.walk(path):  # in name order, stopping at the first such file
            folders.sort()
            for name in sorted(files):
                suffix = os.path.splitext(name)[1].lower()
                if suffix in AUDIO_SUFFIXES + IMAGE_SUFFIXES + TEXT_SUFFIXES and not name.startswith("."):
                    return suffix in TEXT_SUFFIXES
        return False
    if not path.is_file() or path.suffix.lower() not in TABLE_SUFFIXES:
        return False
    try:
        frame = _head_of(path)
    except Exception:  # not a readable table: the table reader will say why
        return False
    columns = text_columns(frame)  # several: reading asks which (--text COLUMN)
    return len(columns) >= 1 and frame.shape[1] <= len(columns) + 1 + MAX_OTHER_COLUMNS


def is_text_table(path) -> bool:
    """A table (CSV, TSV, Parquet) whose rows hold the texts, not a CSV listing .txt files; a .txt
    file is a text, never a table."""
    path = Path(path)
    return path.suffix.lower() in TABLE_SUFFIXES and path.is_file() and not listed_suffix(path, TEXT_SUFFIXES)


def _head_of(path: Path):
    import pandas as pd  # only for a table

    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path).head(SNIFF_ROWS)
    return pd.read_csv(path, nrows=SNIFF_ROWS, sep=None, engine="python")


def text_columns(frame) -> list:
    """The columns of long, varied strings with several words each."""
    found = []
    for column in frame.columns:
        values = frame[column].dropna()
        if not len(values) or not all(isinstance(v, str) for v in values):
            continue
        lengths = values.str.len()
        words = values.str.split().str.len()
        if lengths.mean() >= TEXT_LENGTH and words.mean() >= TEXT_WORDS and values.nunique() >= TEXT_DISTINCT * len(
                values):
            found.append(column)
    return found


def read_texts(source, *, labelled: bool | None = True, skip_bad: bool = False, text_column=None, target=None,
               encoding: str = "utf-8", delimiter: str | None = None) -> TextSet:
    """Texts (and labels) from a table with a text column, or from ``.txt`` files."""
    if not isinstance(source, (list, tuple)) and is_text_table(source):
        return _from_table(Path(source), labelled, skip_bad, text_column, target, encoding, delimiter)
    paths, labels, _, origin = list_source(source, TEXT_SUFFIXES, "texts", labelled=labelled,
                                           example="spam/1.txt, ham/2.txt", listings=(".csv", ".tsv"))
    texts, bad = [], []
    for path in paths:
        text, why = _read_file(path, encoding)
        texts.append(text)
        if why:
            bad.append((str(path), why))
    refuse_or_skip(bad, skip_bad, len(paths), origin, "texts")
    keep = [i for i, text in enumerate(texts) if text is not None and text.strip()]
    return TextSet([texts[i] for i in keep], None if labels is None else np.asarray(labels)[keep],
                   [str(paths[i]) for i in keep], bad)


def _read_file(path: Path, encoding: str) -> tuple[str | None, str]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        return None, f"cannot be read ({error.strerror})"
    if b"\x00" in raw[:8192]:
        return None, "holds binary data (NUL bytes), not text"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        return None, (f"is not {encoding} text (byte 0x{raw[error.start]:02x} at position {error.start}); pass "
                      "--encoding with its encoding (latin-1, cp1252, ...)")
    except LookupError:
        raise InvalidInputError(f"unknown text encoding {encoding!r}; use one Python knows, such as utf-8 or "
                                "latin-1.") from None
    if not text.strip():
        return None, "is empty"
    return text, ""


def _from_table(path: Path, labelled, skip_bad: bool, text_column, target, encoding, delimiter) -> TextSet:
    from deepfit.data.tabular import read_table  # pandas: only for a table

    frame = read_table(path, delimiter=delimiter, encoding=encoding)
    column = _text_column(frame, text_column, path)
    if target is None and labelled:
        target = next((c for c in frame.columns if str(c).lower() in ("label", "target", "class", "y")), None)
        if target is None:
            raise InvalidInputError(f"{path}: which column holds the labels? Pass --target COLUMN.")
    values = frame[column]
    names = [f"row {i} (line {i + 1})" for i in range(1, len(frame) + 1)]
    empty = [i for i, value in enumerate(values) if not isinstance(value, str) or not value.strip()]
    bad = [(names[i], "the text is empty") for i in empty]
    refuse_or_skip(bad, skip_bad, len(frame), str(path), "texts", unit="rows")
    keep = [i for i, value in enumerate(values) if isinstance(value, str) and value.strip()]
    labels = None if target is None or target not in frame.columns else frame[target].to_numpy()[keep]
    return TextSet([values.iloc[i] for i in keep], labels, [names[i] for i in keep], bad, [i + 1 for i in keep],
                   [i + 1 for i in empty])


def _text_column(frame, text_column, path: Path):
    if text_column is not None:
        if text_column not in frame.columns:
            raise InvalidInputError(f"{path}: has no column {text_column!r} (columns: "
                                    f"{', '.join(map(str, list(frame.columns)[:12]))}).")
        return text_column
    found = text_columns(frame)
    if len(found) != 1:
        which = "no column" if not found else f"{len(found)} columns ({', '.join(map(str, found))})"
        raise InvalidInputError(f"{path}: {which} of text found; name the text column with --text COLUMN.")
    return found[0]


def refuse_empty(texts) -> None:
    """Refuse a set holding an empty text, naming the first."""
    empty = [i for i, text in enumerate(texts) if not text.strip()]
    if empty:
        raise InvalidInputError(f"text {empty[0] + 1} is empty ({len(empty)} of {len(texts)} texts are); remove "
                                "empty texts, or pass --skip-bad to leave them out.")
