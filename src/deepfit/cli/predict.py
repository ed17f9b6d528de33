"""`deepfit predict MODEL DATA`: one row out per row in: the label and each class's probability."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import click
import numpy as np
import pandas as pd

from deepfit.cli import cli
from deepfit.cli.inputs import read_examples_for, skip_bad_option
from deepfit.cli.options import delimiter_option, encoding_option, parse_delimiter
from deepfit.errors import InvalidInputError


@cli.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="CSV to write (default: standard output).")
@skip_bad_option
@delimiter_option
@encoding_option
def predict(model_path, data, output, skip_bad, delimiter, encoding):
    """Predict a label for every row of DATA (a table), or every picture or sound file in DATA (a folder,
    a file, a CSV of paths), with the model in MODEL. A sound file gets one prediction, pooled over
    its windows."""
    import deepfit
    from deepfit.data.tabular import read_table
    from deepfit.modelfile import write_atomically

    estimator = deepfit.load(model_path)
    if estimator.encoder_.kind in ("image", "audio"):
        inputs, _, paths = read_examples_for(estimator, data, labelled=False, skip_bad=skip_bad)
        table = prediction_table(estimator, inputs, data)
        table.insert(0, "path", paths)
    else:
        frame = read_table(data, delimiter=parse_delimiter(delimiter), encoding=encoding)
        features = model_columns(estimator, frame, data)
        table = prediction_table(estimator, features, data)
    if output is None:
        table.to_csv(sys.stdout, index=False)
        return
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    write_atomically(output, buffer.getvalue().encode())
    click.echo(f"{len(table)} predictions written to {output}", err=True)


def model_columns(estimator, frame: pd.DataFrame, source) -> pd.DataFrame:
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
    if extra:
        click.echo(f"warning: {source}: ignoring column(s) the model was not trained on: {', '.join(extra[:5])}",
                   err=True)
    return frame[expected]


def prediction_table(estimator, features, source) -> pd.DataFrame:
    try:
        labels = estimator.predict(features)
        columns = {"prediction": labels}
        if hasattr(estimator, "predict_proba"):
            probabilities = estimator.predict_proba(features)
            for index, label in enumerate(estimator.classes_):
                columns[f"probability_{label}"] = np.round(probabilities[:, index], 6)
    except InvalidInputError as error:
        raise InvalidInputError(f"{source}: {error}") from None
    return pd.DataFrame(columns)
