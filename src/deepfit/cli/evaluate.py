"""`deepfit evaluate MODEL DATA`: how well the model labels data with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import click

from deepfit.cli import cli
from deepfit.cli.inputs import display_names, read_examples_for, skip_bad_option, table_row_names
from deepfit.cli.options import choose_target, delimiter_option, encoding_option, parse_delimiter
from deepfit.cli.predict import model_columns
from deepfit.cli.train import file_name_column
from deepfit.errors import InvalidInputError


@cli.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--target", help="Column holding the true labels (default: the one used in training).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
@click.option("--report", "report_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write an HTML report here (self-contained: opens offline), with its plots as PNG "
                   "files beside it.")
@skip_bad_option
@delimiter_option
@encoding_option
def evaluate(model_path, data, target, as_json, report_path, skip_bad, delimiter, encoding):
    """Accuracy, balanced accuracy, macro-F1, log-loss, calibration error, ROC AUC (two classes),
    per-class precision/recall/F1 and the confusion matrix of MODEL on DATA (a table, or pictures or
    sound files in one sub-folder per class). --report adds training curves, a reliability diagram and
    the examples the model got most confidently wrong. For sound, a warning when DATA holds pieces of
    recordings the model was trained on."""
    from deepfit.cli.inputs import load_classifier
    from deepfit.data.splits import warn_if_recordings_leak
    from deepfit.evaluation.metrics import format_report
    from deepfit.evaluation.report import evaluate as evaluate_model

    estimator = load_classifier(model_path)
    if estimator.encoder_.kind in ("image", "audio"):
        features, labels, paths = read_examples_for(estimator, data, labelled=True, skip_bad=skip_bad)
        names = display_names(paths, data)
        if estimator.encoder_.kind == "audio":
            warn_if_recordings_leak(estimator, features.recordings, str(data))
    else:
        features, labels = _labelled_table(estimator, data, target, delimiter, encoding)
        names = table_row_names(len(features))
    try:
        evaluation = evaluate_model(estimator, features, labels, names)
    except InvalidInputError as error:
        raise InvalidInputError(f"{data}: {error}") from None
    if report_path is not None:
        written = evaluation.write_report(report_path, title=f"{model_path.name} on {data.name}")
        click.echo(f"report written to {written} (plots beside it as PNG files)", err=True)
    result = evaluation.metrics
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


