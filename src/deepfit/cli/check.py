"""`deepfit check DATA [--test TEST]`: problems in training data, before any training."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import click

from deepfit.cli import cli
from deepfit.cli.options import delimiter_option, encoding_option, parse_delimiter, text_option
from deepfit.data import kinds
from deepfit.data.labelled import read_labelled
from deepfit.errors import InvalidInputError
from deepfit.evaluation.data_check import check_data

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
@text_option
@delimiter_option
@encoding_option
def check(data, test_data, target, as_json, limit, seed, text_column, delimiter, encoding):
    """Look for problems in labelled DATA (a table, or pictures or sound files in one sub-folder per
    class) before training: class imbalance, classes with too few examples, exact and near duplicates,
    one example with two labels, corrupt files, constant or empty columns, and examples whose label a
    cross-validated model confidently disagrees with. Each is listed with its file or row.

    Exit status: 0 when nothing is found, 1 when problems are listed, 2 when DATA cannot be read."""
    kind = kinds.for_source(data, text_column)
    examples = _read(data, target, delimiter, encoding, text_column=text_column)
    test = None
    if test_data is not None:
        test_kind = kinds.for_source(test_data, text_column)
        if test_kind is not kind:
            raise InvalidInputError(f"{test_data}: holds {test_kind.words.data} but {data} holds "
                                    f"{kind.words.data}; give a test set of the same kind.")
        test_examples = _read(test_data, target or examples.target, delimiter, encoding,
                              text_column=text_column, **kind.settings_like(examples.X))
        test = (test_examples.X, test_examples.y, test_examples.names)
    report = check_data(examples.X, examples.y, names=examples.names, test=test, groups=examples.groups,
                        skipped=examples.skipped, seed=seed)
    if as_json:
        click.echo(json.dumps({"data": str(data), **report.to_dict()}, indent=2, default=str))
    else:
        click.echo(f"{data}: " + report.format(limit))
    return 0 if report.ok else EXIT_PROBLEMS


def _read(data: Path, target, delimiter, encoding, **settings):
    """One labelled data set, unreadable files kept as findings (not warnings); a test set is read
    with the training set's `settings` (picture size and channels, sample rate) and target column."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        examples = read_labelled(data, target=target, delimiter=parse_delimiter(delimiter), encoding=encoding,
                                 skip_bad=True, **settings)
    for note in examples.notes:
        click.echo(f"note: {note}", err=True)
    return examples
