"""`deepfit check DATA [--test TEST]`: problems in training data, before any training."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import click
import numpy as np

from deepfit.cli import cli
from deepfit.cli.inputs import data_kind, display_names, table_row_names
from deepfit.cli.options import delimiter_option, encoding_option
from deepfit.errors import InvalidInputError

EXIT_PROBLEMS = 1


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--test", "test_data", type=click.Path(path_type=Path),
              help="A test set to search for copies of DATA's examples (a leak that inflates test scores).")
@click.option("--target", help="Column holding the labels, for tables (default: label/target/class/y).")
@click.option("--json", "as_json", is_flag=True, help="Print every finding as one JSON object.")
@click.option("--limit", type=click.IntRange(1), default=10, show_default=True,
              help="Examples listed per problem (--json lists all).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the cross-validation folds.")
@delimiter_option
@encoding_option
def check(data, test_data, target, as_json, limit, seed, delimiter, encoding):
    """Look for problems in labelled DATA (a table, or pictures or sound files in one sub-folder per
    class) before training: class imbalance, classes with too few examples, exact and near duplicates,
    one example with two labels, corrupt files, constant or empty columns, and examples whose label a
    cross-validated model confidently disagrees with. Each is listed with its file or row.

    Exit status: 0 when nothing is found, 1 when problems are listed, 2 when DATA cannot be read."""
    from deepfit.evaluation.data_check import check_data

    kind = data_kind(data)
    examples = _read(data, kind, target, delimiter, encoding, like=None)
    test = None
    if test_data is not None:
        if data_kind(test_data) != kind:
            raise InvalidInputError(f"{test_data}: holds {data_kind(test_data)} data but {data} holds {kind}; give a "
                                    "test set of the same kind.")
        test_examples = _read(test_data, kind, target or examples["target"], delimiter, encoding, like=examples)
        test = (test_examples["X"], test_examples["y"], test_examples["names"])
    report = check_data(examples["X"], examples["y"], names=examples["names"], test=test, groups=examples["groups"],
                        skipped=examples["skipped"], seed=seed)
    if as_json:
        click.echo(json.dumps({"data": str(data), **report.to_dict()}, indent=2, default=str))
    else:
        click.echo(f"{data}: " + report.format(limit))
    return 0 if report.ok else EXIT_PROBLEMS


def _read(data: Path, kind: str, target, delimiter, encoding, like) -> dict:
    """X, y, names, groups and skipped files of one data set; a test set (`like`) is read as the
    training set was (same picture size and channels, same sample rate, same target column)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unreadable files are findings here, not warnings
        if kind == "image":
            from deepfit.data.images import read_images

            shape = None if like is None else like["X"].shape[1:]
            pictures = read_images(data, size=None if shape is None else shape[:2],
                                   channels=None if shape is None else shape[2], skip_bad=True, labelled=True)
            return {"X": pictures.images, "y": pictures.labels, "names": display_names(pictures.paths, data),
                    "groups": None, "skipped": _relative_pairs(pictures.skipped, data), "target": None}
        if kind == "audio":
            from deepfit.data.audio import read_audio

            rate = None if like is None else like["X"].sample_rate
            sounds = read_audio(data, sample_rate=rate, skip_bad=True, labelled=True)
            return {"X": sounds.clips, "y": sounds.labels, "names": display_names(sounds.paths, data),
                    "groups": np.asarray(sounds.clips.recordings, dtype=object),
                    "skipped": _relative_pairs(sounds.skipped, data), "target": None}
    from deepfit.cli.options import choose_target, parse_delimiter
    from deepfit.cli.train import file_name_column
    from deepfit.data.audio import recording_of
    from deepfit.data.tabular import read_table, split_target

    frame = read_table(data, delimiter=parse_delimiter(delimiter), encoding=encoding)
    target = choose_target(frame, target, data)
    features, labels = split_target(frame, target, data)
    groups, column = None, file_name_column(features)
    if column is not None:  # a table of pieces of recordings: their files name them, and group the folds
        groups = np.array([recording_of(name) for name in features[column].astype(str)], dtype=object)
        features = features.drop(columns=[column])
    names = table_row_names(len(features))
    return {"X": features, "y": np.asarray(labels), "names": names, "groups": groups, "skipped": [], "target": target}



def _relative_pairs(pairs, data: Path) -> list[tuple[str, str]]:
    return list(zip(display_names([p for p, _ in pairs], data), [why for _, why in pairs]))
