"""`deepfit evaluate MODEL DATA`: how well the model labels data with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import click

from deepfit.cli import cli
from deepfit.cli.inputs import read_labelled_for, skip_bad_option
from deepfit.cli.options import delimiter_option, encoding_option
from deepfit.data.splits import warn_if_recordings_leak
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
    from deepfit.evaluation.metrics import format_report
    from deepfit.evaluation.report import evaluate as evaluate_model

    estimator = load_classifier(model_path)
    labelled = read_labelled_for(estimator, data, target, delimiter, encoding, skip_bad)
    if labelled.groups is not None:  # pieces of recordings (sound, GTZAN's features_3_sec.csv): seen in training?
        warn_if_recordings_leak(estimator, labelled.groups, str(data))
    features, labels, names = labelled.X, labelled.y, labelled.names
    try:
        evaluation = evaluate_model(estimator, features, labels, names)
    except InvalidInputError as error:
        raise InvalidInputError(f"{data}: {error}") from None
    if report_path is not None:
        written = evaluation.write_report(report_path, title=f"{model_path.name} on {data.name}")
        click.echo(f"report written to {written} (plots beside it as PNG files)", err=True)
    result = evaluation.metrics
    click.echo(json.dumps(result, indent=2) if as_json else format_report(result))
