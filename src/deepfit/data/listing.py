"""Listing labelled files: a folder with one sub-folder per class, a folder of unlabelled files, or a
CSV of ``path,label``; and the one rule for unreadable files (refuse, or skip with a warning).

Shared by the picture and the sound readers, which differ only in the suffixes they look for.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from deepfit.errors import DataWarning, InvalidInputError, no_such_path

PATH_COLUMNS = ("path", "file", "filename", "image", "audio", "file_path")
LABEL_COLUMNS = ("label", "class", "target", "y", "genre")
MAX_LIST_COLUMNS = 5  # a CSV listing files: path, label, and perhaps a fold or a speaker


def list_source(source, suffixes: tuple[str, ...], noun: str, *, labelled: bool | None, example: str,
                groups: tuple[str, ...] = (), listings: tuple[str, ...] = (".csv", ".tsv", ".txt")):
    """(files, labels or None, groups or None, origin) from a list of files, a CSV listing them (a file
    whose suffix is one of `listings`), a folder (of class sub-folders, or not) or one file;
    `labelled=True` refuses a source without labels (`example` shows the layout that has them)."""
    if isinstance(source, (list, tuple)):
        paths, labels, group_values, origin = [Path(p) for p in source], None, None, "the files given"
    else:
        source, origin = Path(source), str(source)
        if not source.exists():
            raise no_such_path(source)
        if source.suffix.lower() in listings:
            paths, labels, group_values = list_csv(source, noun, groups)
        elif source.is_dir():
            (paths, labels), group_values = list_folder(source, suffixes, noun), None
        else:
            paths, labels, group_values = [source], None, None
    if labelled and labels is None:
        raise InvalidInputError(f"{origin}: the {noun} have no labels. Put them in one sub-folder per class "
                                f"({example}) or list them in a CSV of path,label.")
    return paths, labels, group_values, origin


def list_folder(folder: Path, suffixes: tuple[str, ...], noun: str):
    """(files, labels): labels from class sub-folders, or None for a folder of unlabelled files."""
    entries = sorted(folder.iterdir())
    class_dirs = [d for d in entries if d.is_dir() and not d.name.startswith(".")]
    if class_dirs:
        paths, labels = [], []
        for class_dir in class_dirs:
            files = files_in(class_dir, suffixes)
            paths += files
            labels += [class_dir.name] * len(files)
        if not paths:
            raise InvalidInputError(f"{folder}: its sub-folders hold no {noun} ({', '.join(suffixes)}). "
                                    f"Put the {noun} of each class in its own sub-folder.")
        loose = [p for p in entries if p.is_file() and p.suffix.lower() in suffixes]
        if loose:
            warnings.warn(f"{folder}: left out {len(loose)} {noun} that are not in a class sub-folder (first: "
                          f"{loose[0].name}); move them into the sub-folder of their class.", DataWarning,
                          stacklevel=4)
        return paths, np.array(labels, dtype=object)
    files = files_in(folder, suffixes)
    if not files:
        others = sorted({p.suffix.lower() or p.name for p in entries if p.is_file()})
        found = f" (found: {', '.join(others[:8])})" if others else " (it is empty)"
        raise InvalidInputError(f"{folder}: no {noun}{found}. Expected one sub-folder per class holding "
                                f"{', '.join(suffixes[:6])} files.")
    return files, None


def files_in(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith("."))


def list_csv(path: Path, noun: str, groups: tuple[str, ...] = ()):
    """(files, labels or None, groups or None) from a CSV with a path column and, optionally, a label
    column and a column named like one of `groups` (e.g. the recording each sound file is cut from)."""
    from deepfit.data.tabular import read_table

    frame = read_table(path)
    names = {str(c).lower(): c for c in frame.columns}
    path_column = next((names[n] for n in PATH_COLUMNS if n in names), None)
    if path_column is None:
        raise InvalidInputError(f"{path}: needs a column named path (the {noun} files) and one named label; "
                                f"it has {', '.join(map(str, frame.columns[:8]))}.")
    label_column = next((names[n] for n in LABEL_COLUMNS if n in names), None)
    if frame[path_column].isna().any():
        row = int(np.flatnonzero(frame[path_column].isna())[0]) + 1
        raise InvalidInputError(f"{path}: row {row} has no file in column {path_column!r}.")
    paths = [p if p.is_absolute() else path.parent / p for p in map(Path, frame[path_column].astype(str))]
    labels = None
    if label_column is not None:
        if frame[label_column].isna().any():
            row = int(np.flatnonzero(frame[label_column].isna())[0]) + 1
            raise InvalidInputError(f"{path}: row {row} has no label in column {label_column!r}; give every "
                                    "file a label.")
        labels = frame[label_column].to_numpy()
    group_column = next((names[n] for n in groups if n in names), None)
    group_values = None
    if group_column is not None:
        group_values = frame[group_column].astype(str).to_numpy(dtype=object)
    return paths, labels, group_values


def refuse_or_skip(bad: list[tuple[str, str]], skip_bad: bool, total: int, origin: str, noun: str,
                   unit: str = "files") -> None:
    """Refuse the set naming the first bad file (or row: `unit`), or (skip_bad) warn that the bad ones
    are left out."""
    if not bad:
        return
    if not skip_bad:
        first, why = bad[0]
        more = f" ({len(bad) - 1} more {unit} have problems)" if len(bad) > 1 else ""
        raise InvalidInputError(f"{first}: {why}{more}. Remove or replace it, or pass --skip-bad "
                                f"(skip_bad=True) to leave unreadable {noun} out.")
    warnings.warn(f"{origin}: skipped {len(bad)} of {total} {unit} that are not readable {noun}, "
                  f"first {bad[0][0]} ({bad[0][1]}).", DataWarning, stacklevel=3)


def listed_suffix(path: Path, suffixes: tuple[str, ...], max_columns: int = MAX_LIST_COLUMNS) -> str:
    """The suffix (one of `suffixes`) of the files a CSV's path column lists ('' for an ordinary table)."""
    if path.suffix.lower() not in (".csv", ".tsv", ".txt") or not path.is_file():
        return ""
    import pandas as pd  # loaded only for a CSV

    try:
        head = pd.read_csv(path, nrows=5, sep=None, engine="python")
    except Exception:  # not a readable table: the table reader will say why
        return ""
    names = {str(c).lower(): c for c in head.columns}
    column = next((names[n] for n in PATH_COLUMNS if n in names), None)
    if column is None:
        return ""
    files = [Path(p) for p in head[column].dropna().astype(str)]
    known = [f.suffix.lower() for f in files if f.suffix.lower() in suffixes]
    if not known:
        return ""
    # Files that are there, or a short listing: read them. Many columns naming files that are not
    # there: a table of features computed per file (GTZAN's features_30_sec.csv).
    there = any((f if f.is_absolute() else path.parent / f).is_file() for f in files)
    return known[0] if there or len(head.columns) <= max_columns else ""
