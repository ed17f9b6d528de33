"""`deepfit predict MODEL INPUTS... -o out.csv|out.jsonl`: one row out per input, streamed in batches.

Tables are read a chunk of rows at a time, files a batch at a time, and each batch's predictions are
written before the next is read: memory stays flat however many inputs. A bad row or file stops the
run with its name (nothing is written), or with --skip-bad gets an output row with an `error`
instead of a prediction: never silently dropped.
"""

from __future__ import annotations

import glob
import sys
import warnings
from contextlib import nullcontext
from pathlib import Path

import click
import numpy as np
import pandas as pd

from deepfit.cli import cli
from deepfit.cli.options import delimiter_option, encoding_option, parse_delimiter
from deepfit.cli.prediction_writer import PredictionWriter
from deepfit.errors import InvalidInputError

TABLE_BATCH, PICTURE_BATCH, SOUND_BATCH = 4096, 256, 32
GLOB_CHARACTERS = set("*?[")


@cli.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="File to write: .csv, or .jsonl for one JSON object per line (default: standard output).")
@click.option("--format", "output_format", type=click.Choice(["csv", "jsonl"]),
              help="Output format (default: from the output's suffix, else csv).")
@click.option("--batch-size", type=click.IntRange(1), help="Rows or files per batch (default: 4,096 rows, "
              "256 pictures, 32 sound files).")
@click.option("--skip-bad", is_flag=True, help="Give a bad row or file an output row with an 'error' column "
              "instead of stopping (with a count on standard error).")
@delimiter_option
@encoding_option
def predict(model_path, inputs, output, output_format, batch_size, skip_bad, delimiter, encoding):
    """Predict a label and each class's probability for every row of a table, or every picture or
    sound file in INPUTS (folders, files, quoted globs such as 'photos/**/*.jpg', or CSVs listing
    files), with the model in MODEL. A sound file gets one prediction, pooled over its windows."""
    from deepfit.cli.inputs import load_classifier

    estimator = load_classifier(model_path)
    kind = estimator.encoder_.kind
    fmt = output_format or ("jsonl" if output is not None and output.suffix.lower() in (".jsonl", ".ndjson")
                            else "csv")
    if kind in ("image", "audio"):
        paths = expand_inputs(inputs, kind)
        batches, total, unit = _file_batches(estimator, paths, batch_size, skip_bad), len(paths), "file"
        key = "path"
    else:
        if len(inputs) != 1:
            raise InvalidInputError(f"a table model predicts one table at a time; got {len(inputs)} inputs.")
        batches, total = _table_batches(estimator, Path(inputs[0]), batch_size, skip_bad, delimiter, encoding,
                                        count=_shows_progress(output))
        unit, key = "row", "row" if skip_bad else None
    from deepfit.atomic import open_atomically
    from tqdm import tqdm

    target = open_atomically(output, "w", encoding="utf-8", newline="") if output else nullcontext(sys.stdout)
    written = errors = 0
    with target as handle, tqdm(total=total, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True,
                                disable=not _shows_progress(output)) as progress:
        writer = PredictionWriter(handle, fmt, estimator.classes_, key=key, with_error=skip_bad,
                                  probabilities=hasattr(estimator, "predict_proba"))
        for keys, labels, probabilities, row_errors in batches:
            writer.write(keys, labels, probabilities, row_errors)
            written += len(keys)
            errors += sum(error is not None for error in row_errors) if row_errors is not None else 0
            progress.update(len(keys))
    if errors:
        click.echo(f"warning: {errors} of {written} inputs could not be used; their rows carry the reason in the "
                   "'error' column.", err=True)
    if output is not None:
        click.echo(f"{written} predictions written to {output}", err=True)


# ------------------------------------------------------------------------------------ tables
def _shows_progress(output) -> bool:
    """A bar when writing a file, or when standard error is a terminal (not when piping stdout)."""
    return output is not None or sys.stderr.isatty()


def _table_batches(estimator, path: Path, batch_size, skip_bad: bool, delimiter, encoding, count: bool = True):
    """(batches, total rows): CSVs streamed in chunks; Parquet read whole (one batch)."""
    from deepfit.data.table_stream import count_rows, iter_table_chunks

    if path.suffix.lower() in (".parquet", ".pq"):
        from deepfit.data.tabular import read_table

        frame = read_table(path).reset_index(drop=True)  # rows numbered by position, whatever index was stored
        return _predict_table_chunks(estimator, [(frame, [])], path, skip_bad), len(frame)
    text_columns = [c.name for c in getattr(estimator.encoder_, "columns", []) if c.type == "categorical"]
    chunks = iter_table_chunks(path, rows=batch_size or TABLE_BATCH, delimiter=parse_delimiter(delimiter),
                               encoding=encoding, text_columns=text_columns)
    total = count_rows(path) if count and path.is_file() else None  # one quick pass, for the bar's length
    return _predict_table_chunks(estimator, chunks, path, skip_bad), total


def _predict_table_chunks(estimator, chunks, source: Path, skip_bad: bool):
    from deepfit.data.table_stream import unusable_rows

    for number, (frame, ragged) in enumerate(chunks):
        features = model_columns(estimator, frame, source, warn=number == 0) if len(frame) else frame
        bad = dict(ragged)
        if len(frame):
            bad.update(unusable_rows(estimator.encoder_, frame))
        _refuse_unless(skip_bad, bad, lambda row: f"{source}: row {row}")
        good = ~np.isin(frame.index.to_numpy(dtype=np.int64) + 1, np.fromiter(bad, dtype=np.int64, count=len(bad)))
        good_rows = frame.index.to_numpy(dtype=np.int64)[good] + 1
        labels, probabilities = _run(estimator, _take(features, good), source) if good.any() else (None, None)
        labels, probabilities, good_rows = _drop_unanswerable(labels, probabilities, good_rows, bad, skip_bad,
                                                              lambda row: f"{source}: row {row}")
        rows = np.concatenate([good_rows, np.array(sorted(set(bad) - set(good_rows.tolist())), dtype=np.int64)])
        order = np.argsort(rows, kind="stable")
        yield (rows[order].tolist(), *_spread(labels, probabilities, len(good_rows), len(rows), order, estimator),
               _errors(rows[order], bad) if skip_bad else None)


def _refuse_unless(skip_bad: bool, bad: dict, where) -> None:
    if bad and not skip_bad:
        key, why = min(bad.items())
        raise InvalidInputError(f"{where(key)} {why}. Fix it, or pass --skip-bad to give it an error row instead of a "
                                "prediction.")


def _drop_unanswerable(labels, probabilities, keys, bad: dict, skip_bad: bool, where):
    """Inputs whose probabilities came out NaN or infinite (values far outside float32's range) are
    bad inputs too: refused, or (skip_bad) moved to `bad` with the reason."""
    from deepfit.estimators.base import UNANSWERABLE, unanswerable_rows

    broken = unanswerable_rows(probabilities)
    if not len(broken):
        return labels, probabilities, keys
    new = {key: UNANSWERABLE for key in np.asarray(keys, dtype=object)[broken].tolist()}
    _refuse_unless(skip_bad, new, where)
    bad.update(new)
    keep = np.ones(len(keys), dtype=bool)
    keep[broken] = False
    return labels[keep], probabilities[keep], np.asarray(keys)[keep]


def _take(features, mask: np.ndarray):
    return features[mask] if isinstance(features, np.ndarray) else features.loc[mask]


def model_columns(estimator, frame: pd.DataFrame, source, warn: bool = True) -> pd.DataFrame:
    """The columns the model was trained on, in training order; the label column and extras dropped."""
    expected = estimator.encoder_.feature_names
    if not estimator.encoder_.from_frame:  # trained on an array: columns are matched by position
        if frame.shape[1] != len(expected):
            raise InvalidInputError(f"{source}: has {frame.shape[1]} columns, but the model was trained on "
                                    f"{len(expected)}. Pass a table with the same columns as in training.")
        return frame.to_numpy()
    missing = [name for name in expected if name not in frame.columns]
    if missing:
        shown = ", ".join(repr(name) for name in missing[:5])
        raise InvalidInputError(f"{source}: lacks column {shown}, which the model was trained on. Add "
                                f"{'it' if len(missing) == 1 else 'them'} with the same name as in training.")
    target = estimator.metadata_.get("target") if hasattr(estimator, "metadata_") else None
    extra = [str(name) for name in frame.columns if name not in expected and str(name) != target]
    if extra and warn:
        click.echo(f"warning: {source}: ignoring column(s) the model was not trained on: {', '.join(extra[:5])}",
                   err=True)
    return frame[expected]


# ------------------------------------------------------------------------------------ files
def expand_inputs(inputs, kind: str) -> list[Path]:
    """Every file named by INPUTS, in order: folders searched recursively, globs expanded, CSVs of
    paths read; a name that matches nothing is an error."""
    from deepfit.data.audio import AUDIO_SUFFIXES
    from deepfit.data.images import IMAGE_SUFFIXES
    from deepfit.data.listing import files_in, list_csv

    suffixes = AUDIO_SUFFIXES if kind == "audio" else IMAGE_SUFFIXES
    noun = "sound files" if kind == "audio" else "pictures"
    paths: list[Path] = []
    for item in inputs:
        if GLOB_CHARACTERS & set(item) and not Path(item).exists():
            matched = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not matched:
                raise InvalidInputError(f"{item}: no file matches this pattern. Check the path.")
            paths += matched
            continue
        path = Path(item)
        if not path.exists():
            raise InvalidInputError(f"{path}: no such file or folder. Check the path.")
        if path.is_dir():
            found = files_in(path, suffixes)
            if not found:
                raise InvalidInputError(f"{path}: holds no {noun} ({', '.join(suffixes[:4])}, ...).")
            paths += found
        elif path.suffix.lower() in (".csv", ".tsv", ".txt"):
            paths += list_csv(path, noun)[0]
        else:
            paths.append(path)
    return paths


def _file_batches(estimator, paths: list[Path], batch_size, skip_bad: bool):
    encoder = estimator.encoder_
    size = batch_size or (SOUND_BATCH if encoder.kind == "audio" else PICTURE_BATCH)
    for start in range(0, len(paths), size):
        batch = [str(p) for p in paths[start:start + size]]
        inputs, kept, bad_files = _read_files(encoder, batch)
        bad = dict(bad_files)
        _refuse_unless(skip_bad, bad, lambda file: f"{file}:")
        labels, probabilities = _run(estimator, inputs, "the files given") if kept else (None, None)
        labels, probabilities, kept_keys = _drop_unanswerable(labels, probabilities, kept, bad, skip_bad,
                                                              lambda file: f"{file}:")
        kept = list(kept_keys)
        failed = [p for p in batch if p in bad]
        position = {p: i for i, p in enumerate(batch)}
        order = np.argsort([position[p] for p in kept] + [position[p] for p in failed], kind="stable")
        keys = np.array(kept + failed, dtype=object)[order].tolist()
        yield (keys, *_spread(labels, probabilities, len(kept), len(kept) + len(failed), order, estimator),
               [bad.get(k) for k in keys] if skip_bad else None)


def _read_files(encoder, batch: list[str]):
    """(inputs, files read, [(file, why), ...]) of one batch, read as the model was trained."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unreadable files are reported per row, not as a warning
        try:
            if encoder.kind == "audio":
                from deepfit.data.audio import read_audio

                sounds = read_audio(batch, sample_rate=encoder.sample_rate, skip_bad=True, labelled=False,
                                    cache=False)
                return sounds.clips, [str(p) for p in sounds.paths], [(str(f), w) for f, w in sounds.skipped]
            from deepfit.data.images import read_images

            pictures = read_images(batch, size=(encoder.height, encoder.width), channels=encoder.channels,
                                   skip_bad=True, labelled=False, cache=False)
            return pictures.images, [str(p) for p in pictures.paths], [(str(f), w) for f, w in pictures.skipped]
        except InvalidInputError as error:  # the batch as a whole was refused: read its files one by one
            if len(batch) == 1:
                return None, [], [(batch[0], str(error).split(": ", 1)[-1].rstrip("."))]
            results = [_read_files(encoder, [path]) for path in batch]
            good = [(inputs, kept[0]) for inputs, kept, _ in results if kept]
            return (_joined([inputs for inputs, _ in good]) if good else None, [path for _, path in good],
                    [item for _, _, bad in results for item in bad])


def _joined(parts: list):
    """Inputs of several single-file reads as one batch (pictures stacked, clips listed)."""
    from deepfit.data.audio import Clips

    if isinstance(parts[0], Clips):
        return Clips.concatenate(parts)
    return np.concatenate(parts)


# ------------------------------------------------------------------------------------ shared
def _run(estimator, inputs, source):
    try:
        labels, probabilities = estimator.predict_with_proba(inputs)
    except InvalidInputError as error:
        raise InvalidInputError(f"{source}: {error}") from None
    return np.asarray(labels), probabilities


def _spread(labels, probabilities, n_good: int, n_all: int, order: np.ndarray, estimator):
    """Labels and probabilities of the good inputs (first `n_good` places), blanks for the bad ones,
    put in input order."""
    full_labels = np.empty(n_all, dtype=object)
    if n_good:
        full_labels[:n_good] = labels
    full_probabilities = None
    if probabilities is not None or (n_good == 0 and hasattr(estimator, "predict_proba")):
        full_probabilities = np.full((n_all, len(estimator.classes_)), np.nan)
        if n_good:
            full_probabilities[:n_good] = probabilities
        full_probabilities = full_probabilities[order]
    return full_labels[order], full_probabilities


def _errors(rows: np.ndarray, bad: dict) -> list:
    return [bad.get(int(row)) for row in rows]
