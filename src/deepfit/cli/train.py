"""`deepfit train DATA`: fit a classifier, hold out a test split, write the model and its metrics."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

import deepfit
from deepfit.cli import cli
from deepfit.cli.inputs import picture_options, skip_bad_option, with_options
from deepfit.cli.options import delimiter_option, encoding_option, parse_delimiter, text_option
from deepfit.data import kinds
from deepfit.data.labelled import read_labelled
from deepfit.data.splits import grouped_split, recording_digests
from deepfit.errors import InvalidInputError
from deepfit.run_folder import RunFolder
from deepfit.runs.fitting import recorded
from deepfit.runs.record import REPORT_NAME, TRACKERS
from deepfit.training.launch import run_processes, without_devices

MODELS = ("deep", "cnn", "mlp", "logistic", "perceptron")


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--target", help="Column holding the labels (default: a column named label/target/class/y).")
@text_option
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="Folder for model.deepfit and metrics.json  [default: runs/<data name>]")
@click.option("--model", "model_kind", type=click.Choice(MODELS), default="deep", show_default=True,
              help="deep: DeepClassifier (a CNN for pictures, an MLP for tables, a bag of words for texts, "
                   "with word order for many short texts); cnn or mlp to choose (cnn on texts: word order); "
                   "logistic and perceptron: the beginner's linear models.")
@click.option("--hidden-layers", type=click.IntRange(0), default=3, show_default=True)
@click.option("--width", type=click.IntRange(1), default=256, show_default=True, help="Units per hidden layer.")
@click.option("--max-epochs", type=click.IntRange(1), default=None,
              help="Passes over the data (default: about 3,000 steps' worth at about 50 steps an "
                   "epoch for deep models; tables of 1,100-9,000 rows take them in half the steps).")
@click.option("--batch-size", default="auto", show_default=True, help="Rows per step, or 'auto'.")
@click.option("--learning-rate", type=click.FloatRange(0, min_open=True), default=None,
              help="Peak learning rate (default: 5e-3 deep on pictures, 4e-3 deep on tables of 1,500 rows "
                   "or more with up to 3 hidden layers and in a small table's refit, 2e-3 deep otherwise, 0.05 "
                   "logistic, 1 perceptron; tables' rates times the square root of their batches' growth, "
                   "so 5.7e-3 on tables of 1,500 to about 9,000 rows).")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True)
@click.option("--patience", type=click.IntRange(1), default=None,
              help="Epochs without improvement before early stopping (default: 15).")
@click.option("--validation-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.1,
              show_default=True, help="Share of the training rows used for early stopping.")
@click.option("--early-stopping/--no-early-stopping", default=None,
              help="Hold out --validation-fraction of the training rows and keep the epoch that did best on them "
                   "(default: on for tables, off for pictures and sound; a table whose best epoch comes past a "
                   "quarter of the schedule is then trained again on every row).")
@click.option("--ensemble-size", type=click.IntRange(1, 256), default=None,
              help="Tables: MLPs sharing their hidden layers, whose mean answers (default: 8 for 1-3 hidden layers).")
@click.option("--label-smoothing", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Share of each label spread over the other classes in the loss (default: 0.1 for tables, else 0).")
@click.option("--numeric-scaling", type=click.Choice(["robust", "standard"]), default=None,
              help="Tables: median/IQR with a smooth clip of outliers (robust, the default) or mean/std (standard).")
@click.option("--numeric-embedding", type=click.Choice(["auto", "periodic", "none"]), default=None,
              help="Tables: also give the network each number as learned cosines of it (periodic; auto: for 1-3 "
                   "hidden layers).")
@click.option("--test-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.2, show_default=True,
              help="Share of the rows held out to measure the model (0: train on everything).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: same seed, same model.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--precision", type=click.Choice(["auto", "bfloat16", "float32"]), default="auto", show_default=True,
              help="Arithmetic of training steps; auto: bfloat16 mixed precision where the GPU or CPU computes it "
                   "natively (AVX512-BF16, AMX), else float32.")
@click.option("--from", "transfer_from", type=click.Path(path_type=Path),
              help="Transfer learning: start from this model (.deepfit, or a ResNet-18/34/50 .pth/.safetensors "
                   "state_dict), keeping every layer but the output head.")
@click.option("--freeze", is_flag=True, help="With --from: train only the new output head.")
@click.option("--augment", type=click.Choice(["auto", "none", "shift", "shift+flip", "affine", "affine+flip"]),
              default="auto", show_default=True,
              help="Augmentation of training pictures: shifts, or small turns, scalings and shifts (affine); auto: "
                   "affine, with flips only where they make sense. Sound: shifts in time.")
@with_options(picture_options)
@click.option("--vectors", type=click.Path(path_type=Path), default=None,
              help="Texts: start the word embeddings from this GloVe or fastText .vec text file of your own.")
@click.option("--window-seconds", type=click.FloatRange(0, 600, min_open=True), default=None,
              help="Sound: cut clips into windows this long (default: as long as nine clips in ten, at most 3).")
@skip_bad_option
@click.option("--overwrite", is_flag=True, help="Replace a model already in --out (or an unfinished run's checkpoint).")
@click.option("--resume", is_flag=True, help="Continue a run that was stopped (killed, crashed, out of power) from "
              "the checkpoint in --out; it ends with the model an uninterrupted run would have given.")
@click.option("--checkpoint-every", type=click.FloatRange(0), default=300, show_default=True,
              help="Seconds between checkpoints inside an epoch (one is written at every epoch's end too).")
@click.option("--devices", type=click.IntRange(1), default=None,
              help="Train on this many processes of this machine with DistributedDataParallel (one per GPU; "
                   "CPU processes where there is none), as torchrun --nproc_per_node N -m deepfit train ... does. "
                   "--batch-size stays the rows of one step over all of them.")
@click.option("--name", "run_name", default=None,
              help="What to call the run in `deepfit runs` and its report  [default: the --out folder's name]")
@click.option("--log", "trackers", multiple=True, type=click.Choice(TRACKERS),
              help="Also follow the run in a tracker you use: tensorboard (event files in --out/tensorboard) or "
                   "mlflow (MLFLOW_TRACKING_URI, else ./mlruns). Each needs its package: pip install 'deepfit[NAME]'.")
@click.option("--report/--no-report", default=True, show_default=True,
              help="Write report.html on the test split into --out.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@delimiter_option
@encoding_option
def train(data, target, text_column, out_dir, model_kind, hidden_layers, width, max_epochs, batch_size, learning_rate,
          dropout, patience, validation_fraction, early_stopping, ensemble_size, label_smoothing, numeric_scaling,
          numeric_embedding, test_fraction, seed, device, precision, transfer_from,
          freeze, augment, image_size, channels, sample_rate, vectors, window_seconds, skip_bad, overwrite, resume,
          checkpoint_every, devices, run_name, trackers, report, quiet, delimiter, encoding):
    """Train a classifier on DATA: a table (CSV, TSV or Parquet) with a label column, pictures (a
    folder with one sub-folder per class, a CSV of path,label, or MNIST's IDX files), sound clips
    (WAV, FLAC, OGG, AU, AIFF, MP3 in one sub-folder per class, or a CSV of path,label) or texts
    (.txt files in one sub-folder per class, or a table with a column of text: --text).

    The test split keeps every piece of one recording on one side (GTZAN's blues.00042.3.wav
    belongs to blues.00042), for sound files and for tables with a column of file names.

    Under torchrun (or with --devices N) every process reads DATA and trains on its share of each
    batch; only rank 0 writes the checkpoint, the model and metrics.json."""
    from deepfit.training import distributed

    run = RunFolder(out_dir or Path("runs") / data.stem)
    writer = distributed.main_process()
    run.prepare(overwrite=overwrite, resume=resume, writer=writer)
    if devices is not None and not distributed.launched():
        from deepfit.cli import ARGUMENTS

        return run_processes(devices, without_devices(ARGUMENTS))
    if trackers:
        from deepfit.runs.trackers import require  # torch: not for `deepfit --help`

        require(trackers)
    if freeze and transfer_from is None:
        raise InvalidInputError("--freeze keeps the layers of a model given with --from; pass --from MODEL too.")
    source = _transfer_source(transfer_from)
    labelled = _read_training_data(data, source, target, parse_delimiter(delimiter), encoding, skip_bad,
                                   {"--image-size": image_size, "--channels": channels, "--text": text_column,
                                    "--sample-rate": sample_rate, "--window-seconds": window_seconds,
                                    "--vectors": vectors})
    options = dict(hidden_layers=hidden_layers, width=width, max_epochs=max_epochs, batch_size=batch_size,
                   learning_rate=learning_rate, dropout=dropout, patience=patience,
                   validation_fraction=validation_fraction, early_stopping=early_stopping,
                   ensemble_size=ensemble_size, label_smoothing=label_smoothing, numeric_scaling=numeric_scaling,
                   numeric_embedding=numeric_embedding)
    deep_only = dict(augment=augment, transfer_from=source, freeze=freeze, precision=precision,
                     **labelled.kind.fit_parameters(labelled.X, {"window_seconds": window_seconds,
                                                                 "vectors": vectors}))
    estimator = _make_estimator(model_kind, options, deep_only, seed, device, not quiet)
    _warn_about_small_classes(labelled.y, data)
    train_rows, test_rows = _test_split(labelled.y, test_fraction, seed, data, labelled.groups)
    told = {"model": model_kind, "test_fraction": test_fraction, "transfer_from": transfer_from and str(transfer_from)}
    with recorded(run.path, estimator, labelled.X, labelled.y, data=str(data), resume=resume, settings=told,
                  writer=writer, name=run_name) as record:
        from deepfit.runs.trackers import tracker_callbacks  # torch: not for `deepfit --help`

        record.followers = tracker_callbacks(trackers, run.path, record.values)
        _fit(estimator, labelled, train_rows, run, resume, checkpoint_every, data,
             [record.epoch_log(), *record.followers])
        if writer:  # rank 0 writes the model, the metrics and the report
            metrics = _write_run(run, estimator, labelled, train_rows, test_rows, data, model_kind, transfer_from,
                                 (run_name or data.name) if report else None)
            record.finish(metrics)


def _read_training_data(data: Path, source, target, delimiter, encoding, skip_bad: bool, settings: dict):
    """DATA's labelled examples, read as a --from model's were (size, channels, sample rate) when there is one."""
    kind = kinds.for_source(data, settings["--text"])
    _warn_about_unused_options(kind, settings)
    like, read_settings = None, {SETTING_OF_OPTION[option]: value for option, value in settings.items()}
    if source is not None and hasattr(source, "encoder_"):
        if kinds.of(source) is not kind:
            raise InvalidInputError(f"{data}: holds {kind.words.data}, but the model given with --from was trained "
                                    f"on {kinds.of(source).words.data}; transfer from a model trained on "
                                    f"{kind.words.data}.")
        like = source.encoder_
    elif source is not None:  # ImageNet ResNet weights: they take pictures, in colour
        if kind is not kinds.PICTURES:
            raise InvalidInputError(f"{data}: holds {kind.words.data}; --from takes a model of the same kind "
                                    "(.deepfit) here, not ImageNet picture weights.")
        read_settings["channels"] = 3
    labelled = read_labelled(data, target=target, delimiter=delimiter, encoding=encoding, skip_bad=skip_bad,
                             like=like, **read_settings)
    for note in labelled.notes:
        click.echo(f"note: {note}", err=True)
    if kind.takes_files:
        click.echo(f"read {kind.describe(labelled.X)} from {data}", err=True)
    return labelled


# The options that say how examples are read or cut, and the setting each becomes.
SETTING_OF_OPTION = {"--image-size": "size", "--channels": "channels", "--sample-rate": "sample_rate",
                     "--window-seconds": "window_seconds", "--text": "text_column", "--vectors": "vectors"}


def _warn_about_unused_options(kind, settings: dict) -> None:
    applies = set(kind.read_settings) | set(kind.fit_settings)
    given = [name for name, value in settings.items() if value is not None and SETTING_OF_OPTION[name] not in applies]
    if given:
        click.echo(f"warning: {', '.join(given)} {'does' if len(given) == 1 else 'do'} not apply to "
                   f"{kind.words.data}; ignored.", err=True)


def _fit(estimator, labelled, train_rows, run, resume: bool, checkpoint_every: float, data, callbacks) -> None:
    from deepfit.training import distributed

    if not resume and distributed.main_process():  # a fresh start: no earlier run's checkpoint is taken for it
        run.forget_checkpoints()
    try:
        estimator.fit(_rows(labelled.X, train_rows), labelled.y[train_rows], checkpoint=run.checkpoint,
                      resume=resume, checkpoint_every=checkpoint_every, callbacks=callbacks)
    except InvalidInputError as error:
        raise InvalidInputError(f"{data}: {error}") from None
    finally:
        distributed.stop()


def _write_run(run, estimator, labelled, train_rows, test_rows, data, model_kind, transfer_from, report) -> dict:
    """The model, metrics.json (with the test split's scores), the report (titled `report`; None: no
    report), and no checkpoint left behind."""
    metrics = {"data": str(data), "target": str(labelled.target), "model": model_kind,
               "n_train": int(len(train_rows)), "n_test": int(len(test_rows)),
               "classes": [c.item() if hasattr(c, "item") else c for c in estimator.classes_],
               "training": estimator.training_summary_, "history": estimator.history_}
    if len(test_rows):
        metrics["test"] = _test_metrics(estimator, _rows(labelled.X, test_rows), labelled.y[test_rows],
                                        run.path / REPORT_NAME if report else None, f"{report}: held-out test split")
    metadata = {"target": str(labelled.target), "trained_on": str(data), **labelled.read_as}
    if transfer_from is not None:
        metadata["transferred_from"] = str(transfer_from)
    if labelled.groups is not None and not labelled.kind.pooled:  # tables of pieces: remember their recordings,
        # as sound models do
        estimator.training_recordings_ = recording_digests(labelled.groups[train_rows])
    estimator.transfer_from = None  # the source was read; the saved model stands on its own
    run.finish(estimator, metrics, metadata)
    if "test" in metrics:
        click.echo(f"test accuracy: {metrics['test']['accuracy']:.4f} on {len(test_rows)} held-out rows")
    click.echo(f"model written to {run.model}")
    return metrics


def _test_metrics(estimator, features, labels, report_path, title: str) -> dict:
    """The model's scores on the held-out rows, and the report of them at `report_path` (None: no report)."""
    if report_path is not None:
        from deepfit.evaluation.report import evaluate

        evaluation = evaluate(estimator, features, labels)
        evaluation.write_report(report_path, title=title)
        return evaluation.metrics
    from deepfit.evaluation.metrics import classification_metrics

    probabilities = estimator.predict_proba(features) if hasattr(estimator, "predict_proba") else None
    return classification_metrics(labels, estimator.predict(features), probabilities, estimator.classes_)


def _transfer_source(path):
    """A .deepfit source is loaded once here (its picture size decides how to read DATA); a ResNet
    state_dict is read by the estimator."""
    if path is None:
        return None
    from deepfit.estimators.transfer import STATE_DICT_SUFFIXES

    if path.suffix.lower() in STATE_DICT_SUFFIXES:
        return str(path)

    return deepfit.load(path)


def _rows(features, rows):
    return features.iloc[rows] if hasattr(features, "iloc") else features[rows]


def _make_estimator(model: str, options: dict, deep_only: dict, seed: int, device: str, verbose: bool):
    from deepfit import DeepClassifier, LogisticRegression, Perceptron

    given = {k: v for k, v in options.items() if v is not None}
    batch_size = given.pop("batch_size")
    if batch_size != "auto":
        if not str(batch_size).isdigit() or int(batch_size) < 1:
            raise InvalidInputError(f"--batch-size must be a positive whole number or 'auto', got {batch_size!r}.")
        given["batch_size"] = int(batch_size)
    common = dict(random_state=seed, device=device, verbose=verbose)
    if model in ("deep", "cnn", "mlp"):
        return DeepClassifier(**given, **deep_only, model="auto" if model == "deep" else model, **common)
    if deep_only["transfer_from"] is not None:
        raise InvalidInputError(f"--from works with the deep models; --model {model} has no hidden layers to reuse.")
    linear = {k: given[k] for k in ("max_epochs", "learning_rate", "batch_size") if k in given}
    return (LogisticRegression if model == "logistic" else Perceptron)(**linear, **common)


FEW_PER_CLASS = 5   # fewer examples of a class than this: a warning that says what to do


def _warn_about_small_classes(labels: np.ndarray, source) -> None:
    found, counts = np.unique(labels.astype(str), return_counts=True)
    few = [(str(label), int(count)) for label, count in zip(found, counts) if count < FEW_PER_CLASS]
    if few:
        named = ", ".join(f"{label!r} ({count})" for label, count in few[:5])
        click.echo(f"warning: {source}: few examples of {named}, fewer than {FEW_PER_CLASS} a class. The network can "
                   "hardly learn them, and the test split holds one or none, so its score says little. Add examples: "
                   "50 or more a class is a good start.", err=True)


def _test_split(labels: np.ndarray, fraction: float, seed: int, source, groups=None):
    """Rows to train on and rows held out, stratified by class; whole recordings at a time with `groups`."""
    rows = np.arange(len(labels))
    if fraction == 0:
        return rows, rows[:0]
    as_text = labels.astype(str)  # one type for mixed labels, for counting and stratifying alike
    held = grouped_split(as_text, rows if groups is None else groups, fraction, seed, min_per_class=1)
    if held is None or (~held).sum() < 2:
        what = "rows" if groups is None else "recordings"
        raise InvalidInputError(f"{source}: {len(set(rows if groups is None else groups))} {what} are too few to "
                                f"hold out {fraction:.0%} for testing with every class in it; add more or pass "
                                "--test-fraction 0.")
    return rows[~held], rows[held]
