"""`deepfit predict MODEL INPUTS... -o out.csv|out.jsonl`: one row out per input, streamed in batches
(`deepfit.streaming`): memory stays flat however many inputs. A bad row or file stops the run with its
name (nothing is written), or with --skip-bad gets an output row with an `error` instead of a
prediction: never silently dropped.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path

import click

from deepfit.atomic import open_atomically
from deepfit.cli import cli
from deepfit.cli.options import delimiter_option, encoding_option, parse_delimiter
from deepfit.cli.prediction_writer import PredictionWriter
from deepfit.data import kinds


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
    from tqdm import tqdm

    from deepfit.cli.inputs import load_classifier
    from deepfit.streaming import stream_predictions

    estimator = load_classifier(model_path)
    _note_label_column(estimator, inputs, parse_delimiter(delimiter), encoding)
    fmt = output_format or ("jsonl" if output is not None and output.suffix.lower() in (".jsonl", ".ndjson")
                            else "csv")
    stream = stream_predictions(estimator, inputs, batch_size=batch_size, skip_bad=skip_bad,
                                delimiter=parse_delimiter(delimiter), encoding=encoding,
                                count=_shows_progress(output))
    key = "path" if stream.unit == "file" else "row" if skip_bad else None
    target = open_atomically(output, "w", encoding="utf-8", newline="") if output else nullcontext(sys.stdout)
    written = errors = 0
    with target as handle, tqdm(total=stream.total, unit=stream.unit, file=sys.stderr, leave=False,
                                dynamic_ncols=True, disable=not _shows_progress(output)) as progress:
        writer = PredictionWriter(handle, fmt, estimator.classes_, key=key, with_error=skip_bad,
                                  probabilities=hasattr(estimator, "predict_proba"))
        for batch in stream:
            writer.write(batch.keys, batch.labels, batch.probabilities, batch.errors)
            written += len(batch.keys)
            errors += sum(error is not None for error in batch.errors) if batch.errors is not None else 0
            progress.update(len(batch.keys))
    if errors:
        click.echo(f"warning: {errors} of {written} inputs could not be used; their rows carry the reason in the "
                   "'error' column.", err=True)
    if output is not None:
        click.echo(f"{written} predictions written to {output}", err=True)


def _note_label_column(estimator, inputs, delimiter, encoding) -> None:
    """Say so when a table still holds the column the model predicts: it is left out, not used."""
    target = getattr(estimator, "metadata_", {}).get("target")
    if target is None or len(inputs) != 1 or kinds.of(estimator).takes_files or not Path(inputs[0]).is_file():
        return
    from deepfit.data.table_stream import table_columns

    if target in table_columns(Path(inputs[0]), delimiter, encoding):
        click.echo(f"note: {inputs[0]}: column {target!r} holds the labels the model was trained to predict; it is "
                   "left out, and each row's prediction is made from the other columns.", err=True)


def _shows_progress(output) -> bool:
    """A bar when writing a file, or when standard error is a terminal (not when piping stdout)."""
    return output is not None or sys.stderr.isatty()
