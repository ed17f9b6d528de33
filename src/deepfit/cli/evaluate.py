"""`deepfit evaluate MODEL DATA`: how well the model labels data with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import click

from deepfit.cli import cli
from deepfit.cli.inputs import read_examples_for, skip_bad_option
from deepfit.cli.options import choose_target, delimiter_option, encoding_option, parse_delimiter
from deepfit.cli.predict import model_columns
from deepfit.cli.train import file_name_column
from deepfit.errors import InvalidInputError


@cli.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--target", help="Column holding the true labels (default: the one used in training).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
@skip_bad_option
@delimiter_option
@encoding_option
def evaluate(model_path, data, target, as_json, skip_bad, delimiter, encoding):
    """Accuracy, per-class precision/recall/F1 and the confusion matrix of MODEL on DATA (a table, or
    pictures or sound files in one sub-folder per class). For sound, a warning when DATA holds pieces
    of recordings the model was trained on."""
    import deepfit
    from deepfit.data.splits import warn_if_recordings_leak
    from deepfit.evaluation.metrics import classification_metrics, format_report

    estimator = deepfit.load(model_path)
    if estimator.encoder_.kind in ("image", "audio"):
        features, labels, _ = read_examples_for(estimator, data, labelled=True, skip_bad=skip_bad)
        if estimator.encoder_.kind == "audio":
            warn_if_recordings_leak(estimator, features.recordings, str(data))
    else:
        features, labels = _labelled_table(estimator, data, target, delimiter, encoding)
    labels = _as_model_labels(labels, estimator.classes_)
    try:
        predicted = estimator.predict(features)
        probabilities = estimator.predict_proba(features) if hasattr(estimator, "predict_proba") else None
    except InvalidInputError as error:
        raise InvalidInputError(f"{data}: {error}") from None
    result = classification_metrics(labels, predicted, probabilities, estimator.classes_)
    click.echo(json.dumps(result, indent=2) if as_json else format_report(result))


def _labelled_table(estimator, data, target, delimiter, encoding):
    from deepfit.data.tabular import read_table, split_target

    frame = read_table(data, delimiter=parse_delimiter(delimiter), encoding=encoding)
    target = target or estimator.metadata_.get("target") or choose_target(frame, None, data)
    features, labels = split_target(frame, target, data)
    names = file_name_column(features)
    if names is not None:  # a table of pieces (GTZAN's features_3_sec.csv): are they from training recordings?
        from deepfit.data.audio import recording_of
        from deepfit.data.splits import warn_if_recordings_leak

        warn_if_recordings_leak(estimator, [recording_of(name) for name in features[names].astype(str)], str(data))
        features = features.drop(columns=[names])
    return model_columns(estimator, features, data), labels


def _as_model_labels(labels, classes):
    """Read '3' as 3 when the model's classes are numbers, so a CSV's labels compare equal."""
    if classes.dtype.kind in "iuf" and labels.dtype.kind not in "iuf":
        try:
            return labels.astype(classes.dtype)
        except (TypeError, ValueError):
            return labels
    if classes.dtype.kind in "OU" and labels.dtype.kind not in "OU":
        return labels.astype(str).astype(object)  # vectorised, not a Python loop over rows
    return labels
