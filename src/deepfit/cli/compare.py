"""`deepfit compare DATA`: deep vs shallow on the user's own data, as learning curves."""

from __future__ import annotations

import json
from pathlib import Path

import click

from deepfit.cli import cli
from deepfit.cli.options import delimiter_option, encoding_option, parse_delimiter, text_option
from deepfit.data import kinds
from deepfit.data.labelled import read_labelled
from deepfit.errors import InvalidInputError
from deepfit.evaluation.compare import compare as run_comparison


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--target", help="Column holding the labels (default: a column named label/target/class/y).")
@click.option("--fractions", default="0.1,0.25,0.5,1", show_default=True,
              help="Shares of the training split to train on, comma-separated.")
@click.option("--test-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.2,
              show_default=True, help="Share of the rows held out to score every model.")
@click.option("--plot", type=click.Path(path_type=Path), help="Write the learning curves to this PNG.")
@click.option("--json", "as_json", is_flag=True, help="Print the table (fraction, model, accuracy, fit seconds) as JSON.")
@click.option("--seed", type=int, default=0, show_default=True)
@text_option
@delimiter_option
@encoding_option
def compare(data, target, fractions, test_fraction, plot, as_json, seed, text_column, delimiter, encoding):
    """Train deepfit and scikit-learn's shallow models (logistic regression, gradient boosting,
    k-nearest neighbours; for texts TF-IDF with a linear SVM or logistic regression, and naive Bayes) on
    growing shares of DATA's training split, score them on the same held-out rows, and say which to
    use. DATA: a table with a label column, pictures, or texts."""
    try:
        shares = sorted({float(part) for part in fractions.split(",") if part.strip()})
    except ValueError:
        raise InvalidInputError(f"--fractions takes numbers between 0 and 1 separated by commas, got {fractions!r}.") \
            from None
    if not shares or not all(0 < share <= 1 for share in shares):
        raise InvalidInputError(f"--fractions must lie between 0 (excluded) and 1, got {fractions!r}.")
    kind = kinds.for_source(data, text_column)
    if kind.no_shallow:
        raise InvalidInputError(f"{data}: holds {kind.words.data}, {kind.no_shallow}.")
    labelled = read_labelled(data, target=target, delimiter=parse_delimiter(delimiter), encoding=encoding,
                             text_column=text_column)
    for note in labelled.notes:
        click.echo(f"note: {note}", err=True)
    result = run_comparison(labelled.X, labelled.y, fractions=shares, test_fraction=test_fraction, seed=seed,
                            groups=labelled.groups)
    if as_json:
        click.echo(json.dumps({"n_test": result.n_test, "rows": result.rows, "advice": result.advice()}, indent=2))
    else:
        click.echo(f"{'fraction':>8}  {'rows':>6}  {'model':<22}{'accuracy':>9}{'fit s':>8}")
        for row in result.rows:
            click.echo(f"{row['fraction']:>8.0%}  {row['n_train']:>6}  {row['model']:<22}{row['accuracy']:>9.3f}"
                       f"{row['fit_seconds']:>8.2f}")
        click.echo("\n" + result.advice())
    if plot is not None:
        click.echo(f"learning curves written to {result.plot(plot)}", err=True)
