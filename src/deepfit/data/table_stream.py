"""Reading a large table a chunk at a time, for prediction: memory stays flat however many rows.

Each chunk is a DataFrame whose index is the 0-based data row (row 1 of the file is index 0), so
every message names the row a person would look for. Rows with the wrong number of values are
not padded or dropped silently: they are returned with the reason, for the caller to refuse or report.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from deepfit.data.tabular import EXTRA_MISSING_MARKERS, guess_delimiter
from deepfit.errors import InvalidInputError, no_such_path


def count_rows(path) -> int:
    """Data rows in a CSV, counted by line ends (for a progress bar; quoted line breaks overcount)."""
    lines, last = 0, b"\n"
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            lines += block.count(b"\n")
            last = block[-1:]
    return max(0, lines + (last != b"\n") - 1)


def table_columns(path, delimiter: str | None = None, encoding: str = "utf-8") -> list[str]:
    """The column names of a CSV, TSV or Parquet table, from its header alone ([] when unreadable:
    reading it for real says why)."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet

            return list(pyarrow.parquet.read_schema(path).names)
        with open(path, encoding=encoding, newline="") as handle:
            line = handle.readline().lstrip("\ufeff")
        return next(csv.reader([line], delimiter=delimiter or guess_delimiter(line, path), skipinitialspace=True))
    except (OSError, UnicodeDecodeError, LookupError, InvalidInputError, csv.Error, StopIteration):
        return []
    except Exception:  # noqa: BLE001  (pyarrow's own errors on a damaged file: the reader will say why)
        return []


def iter_table_chunks(path, *, rows: int = 10_000, delimiter: str | None = None, encoding: str = "utf-8",
                      text_columns=()):
    """Yield ``(chunk, bad)`` per `rows` data rows: the readable rows as a DataFrame (index: row - 1)
    and ``[(row, why), ...]`` for rows whose number of values differs from the header's.
    `text_columns` are read as text in every chunk (a model's categorical columns: "07" stays "07")."""
    path = Path(path)
    if not path.is_file():
        raise no_such_path(path, "file")
    with open(path, encoding=encoding, newline="", errors="strict") as handle:
        try:
            header_line = handle.readline().lstrip("\ufeff")
            if not header_line.strip():
                raise InvalidInputError(f"{path}: the file is empty. A table needs a header line and rows.")
            delimiter = delimiter or guess_delimiter(header_line, path)
            header = next(csv.reader([header_line], delimiter=delimiter, skipinitialspace=True))
            reader = csv.reader(handle, delimiter=delimiter, skipinitialspace=True)
            pending, bad, row_number, first = [], [], 0, 1
            for values in reader:
                if not values:
                    continue  # a blank line, as pandas skips it
                row_number += 1
                if len(values) != len(header):
                    bad.append((row_number, f"has {len(values)} values, but the header has {len(header)} columns"))
                else:
                    pending.append((row_number, values))
                if row_number - first + 1 >= rows:
                    yield _frame(header, pending, delimiter, text_columns), bad
                    pending, bad, first = [], [], row_number + 1
            if pending or bad:
                yield _frame(header, pending, delimiter, text_columns), bad
        except UnicodeDecodeError as error:
            found = error.object[error.start:error.start + 4]
            raise InvalidInputError(f"{path}: holds bytes that are not valid {encoding} ({found!r}) near data row "
                                    f"{row_number + 1}. Save the file as UTF-8, or pass its encoding, e.g. "
                                    "--encoding latin-1.") from None
        except csv.Error as error:
            raise InvalidInputError(f"{path}: data row {row_number + 1} cannot be read as CSV ({error}).") from None
        except LookupError:
            raise InvalidInputError(f"unknown text encoding {encoding!r}; use e.g. utf-8 or latin-1.") from None


def _frame(header: list[str], rows: list, delimiter: str, text_columns) -> pd.DataFrame:
    """Rows of text as pandas would read them (numbers as numbers, '?' and '' as missing)."""
    if not rows:
        return pd.DataFrame(columns=header)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(values for _, values in rows)
    buffer.seek(0)
    text = {name: str for name in text_columns if name in header}
    frame = pd.read_csv(buffer, sep=delimiter, na_values=EXTRA_MISSING_MARKERS, skipinitialspace=True, dtype=text)
    frame.index = pd.Index([number - 1 for number, _ in rows])
    return frame


FLOAT32_MAX = 3.4e38


def unusable_rows(encoder, frame: pd.DataFrame) -> list[tuple[int, str]]:
    """``(row, why)`` for rows a table model cannot take: text, infinity or a number beyond float32 in a
    numeric column."""
    found = {}
    for position, column in enumerate(encoder.columns):
        # a model trained on an array knows its columns by position; one trained on a frame, by name
        name = column.name if encoder.from_frame else (frame.columns[position] if position < frame.shape[1] else None)
        if column.type != "numeric" or name is None or name not in frame.columns:
            continue
        series = frame[name]
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        for position in np.flatnonzero(np.isnan(values) & series.notna().to_numpy()):
            found.setdefault(int(frame.index[position]) + 1,
                             f"column {column.name!r} holds {series.iloc[position]!r}, not a number")
        for position in np.flatnonzero(np.isinf(values)):
            found.setdefault(int(frame.index[position]) + 1, f"column {column.name!r} is infinite")
        for position in np.flatnonzero(np.abs(np.nan_to_num(values, posinf=0, neginf=0)) > FLOAT32_MAX):
            found.setdefault(int(frame.index[position]) + 1, f"column {column.name!r} holds {values[position]:.3g}, "
                             "too large for the model's float32 numbers")
    return sorted(found.items())
