"""Read a table (CSV, TSV or Parquet) into a DataFrame, refusing bad files with a clear message.

Rows are numbered as a person counts them in a spreadsheet: the header is line 1, the first
data row is row 1 (line 2).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from deepfit.errors import InvalidInputError, did_you_mean, no_such_path

# '?' marks a missing value in many classic data sets (the UCI repository); pandas' own list
# already covers '', 'NA', 'N/A', 'NaN', 'null' and their variants.
EXTRA_MISSING_MARKERS = ["?"]
CANDIDATE_DELIMITERS = [",", ";", "\t", "|"]


def read_table(path, *, delimiter: str | None = None, encoding: str = "utf-8") -> pd.DataFrame:
    """Read a CSV/TSV (delimiter guessed from the header unless given) or a Parquet file.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("a,b,label\\n1,2,x\\n3,4,y\\n")
    >>> read_table(p).shape
    (2, 3)
    """
    path = Path(path)
    if not path.exists():
        raise no_such_path(path, "file")
    if path.is_dir():
        raise InvalidInputError(f"{path}: is a folder, but a table (.csv, .tsv, .parquet) was expected.")
    if path.suffix.lower() in (".parquet", ".pq"):
        return _read_parquet(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise InvalidInputError(f"{path}: the file is empty. A table needs a header line and at least one row.")
    text = _decode(path, raw, encoding)
    if delimiter is None:
        delimiter = guess_delimiter(text, path)
    _check_rows(path, text, delimiter)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, na_values=EXTRA_MISSING_MARKERS,
                            skipinitialspace=True)
    except (pd.errors.ParserError, ValueError) as error:
        raise InvalidInputError(f"{path}: cannot be read as a table ({error}).") from None
    if frame.empty:
        raise InvalidInputError(f"{path}: has a header but no data rows. Add at least one row.")
    _check_header(path, frame)
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401  (only to give a clear message when it is missing)
    except ImportError:
        raise InvalidInputError(
            f"{path}: reading Parquet needs pyarrow. Install it with 'pip install pyarrow', "
            "or save the table as CSV.") from None
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises many types for a damaged file
        raise InvalidInputError(f"{path}: cannot be read as Parquet ({error}).") from None
    if frame.empty:
        raise InvalidInputError(f"{path}: the table has no rows.")
    return frame


def _decode(path: Path, raw: bytes, encoding: str) -> str:
    try:
        return raw.decode(encoding).lstrip("\ufeff")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise InvalidInputError(
            f"{path}: line {line} has bytes that are not valid {encoding} "
            f"({raw[error.start:error.start + 4]!r}). Save the file as UTF-8, "
            "or pass its encoding, e.g. --encoding latin-1.") from None
    except LookupError:
        raise InvalidInputError(f"unknown text encoding {encoding!r}; use e.g. utf-8 or latin-1.") from None


def guess_delimiter(text: str, path: Path) -> str:
    header = text.split("\n", 1)[0]
    if path.suffix.lower() == ".tsv":
        return "\t"
    counts = {candidate: header.count(candidate) for candidate in CANDIDATE_DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _check_rows(path: Path, text: str, delimiter: str) -> None:
    """Find rows whose number of values differs from the header's (pandas pads short rows silently)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    try:
        header = next(reader)
        for line_index, row in enumerate(reader, start=2):
            if not row:
                continue  # blank lines are skipped, as pandas does
            if len(row) != len(header):
                raise InvalidInputError(
                    f"{path}: row {line_index - 1} (line {line_index}) has {len(row)} values, but the header "
                    f"has {len(header)} columns. Check the delimiter (pass --delimiter) or fix that row.")
    except csv.Error as error:
        raise InvalidInputError(f"{path}: line {reader.line_num} cannot be read as CSV ({error}).") from None


def _check_header(path: Path, frame: pd.DataFrame) -> None:
    names = [str(name) for name in frame.columns]
    unnamed = [i + 1 for i, name in enumerate(names) if name.startswith("Unnamed: ")]
    if unnamed:
        raise InvalidInputError(f"{path}: header column {unnamed[0]} has no name. Give every column a name.")
    duplicated = [name for name in names if "." in name and name.rsplit(".", 1)[0] in names
                  and name.rsplit(".", 1)[1].isdigit()]
    if duplicated:
        original = duplicated[0].rsplit(".", 1)[0]
        raise InvalidInputError(f"{path}: the header names column {original!r} more than once. "
                                "Give every column a different name.")


def split_target(frame: pd.DataFrame, target: str, source) -> tuple[pd.DataFrame, np.ndarray]:
    """Separate the label column `target` from the features, refusing rows without a label."""
    if target not in frame.columns:
        shown = ", ".join(repr(str(c)) for c in list(frame.columns)[:12])
        more = ", ..." if frame.shape[1] > 12 else ""
        raise InvalidInputError(
            f"{source}: has no column {target!r}.{did_you_mean(target, frame.columns)} Its columns are {shown}{more}; "
            "pass the label column with --target.")
    labels = frame[target]
    missing = np.flatnonzero(labels.isna().to_numpy())
    if missing.size:
        rows = ", ".join(str(i + 1) for i in missing[:5])
        raise InvalidInputError(
            f"{source}: {missing.size} row(s) have no value in the label column {target!r} "
            f"(row {rows}{', ...' if missing.size > 5 else ''}). Fill them in or remove those rows.")
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise InvalidInputError(f"{source}: has only the label column {target!r}; add feature columns.")
    return features, labels.to_numpy()
