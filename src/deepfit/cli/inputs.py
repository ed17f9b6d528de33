"""How every command reads its DATA argument: a table, pictures (folders, a CSV of files, IDX) or sound
(folders of sound files, a CSV of files)."""

from __future__ import annotations

from pathlib import Path

import click

import deepfit
from deepfit.cli.options import parse_delimiter
from deepfit.data import kinds
from deepfit.data.labelled import model_columns, read_labelled
from deepfit.errors import InvalidInputError

picture_options = [
    click.option("--image-size", type=click.IntRange(1, 4096), default=None,
                 help="Resize pictures to this many pixels square (default: chosen from the data)."),
    click.option("--channels", type=click.Choice(["1", "3"]), default=None,
                 help="Read every picture as greyscale (1) or colour (3) (default: as the pictures are)."),
    click.option("--sample-rate", type=click.IntRange(1000, 192_000), default=None,
                 help="Resample sound to this many samples per second (default: the files' rate, at most 16000)."),
]
skip_bad_option = click.option("--skip-bad", is_flag=True,
                               help="Leave out pictures or sound files that cannot be read (with a warning) "
                                    "instead of stopping.")


def with_options(options):
    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command
    return decorate


def read_labelled_for(estimator, data: Path, target, delimiter, encoding, skip_bad: bool):
    """DATA's labelled examples, read as `estimator`'s training data was (picture size, sample rate;
    a table's label column and the columns the model takes)."""
    kind = check_kind(estimator, data)
    labelled = read_labelled(data, target=target or estimator.metadata_.get("target"),
                             delimiter=parse_delimiter(delimiter), encoding=encoding, skip_bad=skip_bad,
                             like=estimator.encoder_ if kind.takes_files else None,
                             text_column=estimator.metadata_.get("text_column"))
    if not kind.takes_files:
        labelled.X, ignored = model_columns(estimator, labelled.X, data)
        warn_about_ignored(data, ignored)
    return labelled


def read_examples_for(estimator, data: Path, *, labelled: bool | None, skip_bad: bool):
    """(inputs, labels or None, paths) of files DATA names, read as `estimator`'s training data was."""
    kind = check_kind(estimator, data)
    column = {"text_column": estimator.metadata_["text_column"]} if "text_column" in estimator.metadata_ else {}
    examples = kind.read(data, labelled=labelled, skip_bad=skip_bad, **kind.settings_of(estimator.encoder_), **column)
    return examples.X, examples.labels, examples.paths


def check_kind(estimator, data: Path):
    """The model's kind. A table for a model of files, or files for a table model, is refused here;
    files of another kind are left to the model's reader, which says what it looked for."""
    kind, found = kinds.of(estimator), kinds.for_source(data, estimator.metadata_.get("text_column"))
    if found.takes_files != kind.takes_files:
        raise InvalidInputError(f"{data}: holds {found.words.data}, but the model takes {kind.words.data}; give it "
                                f"{kind.words.files}.")
    return kind


def warn_about_ignored(source, ignored: list[str]) -> None:
    if ignored:
        click.echo(f"warning: {source}: ignoring column(s) the model was not trained on: {', '.join(ignored[:5])}",
                   err=True)


def load_classifier(path: Path):
    """The classifier in MODEL; a detector is refused with what to use instead."""
    model = deepfit.load(path)
    if isinstance(model, deepfit.SlidingWindowDetector):
        raise InvalidInputError(f"{path}: is a detector; find objects with 'deepfit detect {path} PICTURES -o "
                                "boxes.json' (or serve it with 'deepfit serve').")
    return model
