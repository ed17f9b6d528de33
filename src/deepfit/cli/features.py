"""`deepfit features MODEL DATA -o features.npy`: what the network learned, as numbers per example."""

from __future__ import annotations

import io
from pathlib import Path

import click
import numpy as np

from deepfit.atomic import write_atomically
from deepfit.cli import cli
from deepfit.cli.inputs import read_examples_for, skip_bad_option, warn_about_ignored
from deepfit.cli.options import delimiter_option, encoding_option, parse_delimiter
from deepfit.data import kinds
from deepfit.data.labelled import model_columns
from deepfit.errors import InvalidInputError


@cli.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="A .npy file for the features: one row per example, in the order of DATA.")
@click.option("--plot", type=click.Path(path_type=Path),
              help="Also write a PNG: each layer's features projected to 2-D, coloured by class (needs labels).")
@skip_bad_option
@delimiter_option
@encoding_option
def features(model_path, data, output, plot, skip_bad, delimiter, encoding):
    """Write each example's learned features (the last hidden layer, before the output layer)."""
    from deepfit.cli.inputs import load_classifier

    estimator = load_classifier(model_path)
    if not hasattr(estimator, "transform"):
        raise InvalidInputError(f"{model_path}: a {type(estimator).__name__} has no hidden layer to take features "
                                "from; use a model trained with --model deep.")
    labels, paths = None, None
    if kinds.of(estimator).takes_files:
        inputs, labels, paths = read_examples_for(estimator, data, labelled=False, skip_bad=skip_bad)
    else:
        from deepfit.data.tabular import read_table

        frame = read_table(data, delimiter=parse_delimiter(delimiter), encoding=encoding)
        target = estimator.metadata_.get("target")
        labels = frame[target].to_numpy() if target in frame.columns else None
        inputs, ignored = model_columns(estimator, frame, data)
        warn_about_ignored(data, ignored)
    try:
        learned = estimator.transform(inputs)
    except InvalidInputError as error:
        raise InvalidInputError(f"{data}: {error}") from None
    buffer = io.BytesIO()
    np.save(buffer, learned, allow_pickle=False)
    write_atomically(output, buffer.getvalue())
    if paths is not None:
        write_atomically(output.with_suffix(".paths.txt"), ("\n".join(paths) + "\n").encode())
    click.echo(f"{learned.shape[0]} x {learned.shape[1]} features written to {output}", err=True)
    if plot is not None:
        if labels is None:
            raise InvalidInputError(f"{data}: --plot colours the points by class, but DATA has no labels.")
        from deepfit.evaluation.layers import plot_layer_projections

        for row in plot_layer_projections(estimator, inputs, labels, plot):
            click.echo(f"{row['layer']:>16}: {row['width']:5d} numbers, linear probe accuracy {row['separation']:.3f}")
        click.echo(f"layer plot written to {plot}", err=True)
