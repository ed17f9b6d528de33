"""`deepfit train DATA`: fit a classifier, hold out a test split, write the model and its metrics."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from deepfit.cli import cli
from deepfit.cli.inputs import data_kind, picture_options, skip_bad_option, with_options
from deepfit.cli.options import (CHECKPOINT_NAME, check_run_folder, check_writable, choose_target, delimiter_option,
                                 encoding_option, parse_delimiter, remove_half_written, write_json)
from deepfit.errors import InvalidInputError

MODELS = ("deep", "cnn", "mlp", "logistic", "perceptron")


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--target", help="Column holding the labels (default: a column named label/target/class/y).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="Folder for model.deepfit and metrics.json  [default: runs/<data name>]")
@click.option("--model", "model_kind", type=click.Choice(MODELS), default="deep", show_default=True,
              help="deep: DeepClassifier (a CNN for pictures, an MLP for tables); cnn or mlp to choose; "
                   "logistic and perceptron: the beginner's linear models.")
@click.option("--hidden-layers", type=click.IntRange(0), default=3, show_default=True)
@click.option("--width", type=click.IntRange(1), default=256, show_default=True, help="Units per hidden layer.")
@click.option("--max-epochs", type=click.IntRange(1), default=None,
              help="Passes over the data (default: about 3,000 steps' worth for deep models).")
@click.option("--batch-size", default="auto", show_default=True, help="Rows per step, or 'auto'.")
@click.option("--learning-rate", type=click.FloatRange(0, min_open=True), default=None,
              help="Peak learning rate (default: 5e-3 deep on pictures, 2e-3 deep otherwise, 0.05 logistic, "
                   "1 perceptron).")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True)
@click.option("--patience", type=click.IntRange(1), default=None,
              help="Epochs without improvement before early stopping (default: 15).")
@click.option("--validation-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.1,
              show_default=True, help="Share of the training rows used for early stopping.")
@click.option("--early-stopping/--no-early-stopping", default=None,
              help="Hold out --validation-fraction of the training rows and keep the epoch that did best on them "
                   "(default: on for tables of under 1,500 rows, off for larger ones, pictures and sound).")
@click.option("--ensemble-size", type=click.IntRange(1, 256), default=None,
              help="Tables: MLPs sharing their hidden layers, whose mean answers (default: 8 for 1-3 hidden layers).")
@click.option("--label-smoothing", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Share of each label spread over the other classes in the loss (default: 0.1 for tables, else 0).")
@click.option("--numeric-scaling", type=click.Choice(["robust", "standard"]), default=None,
              help="Tables: median/IQR with a smooth clip of outliers (robust, the default) or mean/std (standard).")
@click.option("--test-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.2, show_default=True,
              help="Share of the rows held out to measure the model (0: train on everything).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: same seed, same model.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--from", "transfer_from", type=click.Path(path_type=Path),
              help="Transfer learning: start from this model (.deepfit, or a ResNet-18/34/50 .pth/.safetensors "
                   "state_dict), keeping every layer but the output head.")
@click.option("--freeze", is_flag=True, help="With --from: train only the new output head.")
@click.option("--augment", type=click.Choice(["auto", "none", "shift", "shift+flip", "affine", "affine+flip"]),
              default="auto", show_default=True,
              help="Augmentation of training pictures: shifts, or small turns, scalings and shifts (affine); auto: "
                   "affine, with flips only where they make sense. Sound: shifts in time.")
@with_options(picture_options)
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
@click.option("--quiet", is_flag=True, help="No progress bar.")
@delimiter_option
@encoding_option
def train(data, target, out_dir, model_kind, hidden_layers, width, max_epochs, batch_size, learning_rate,
          dropout, patience, validation_fraction, early_stopping, ensemble_size, label_smoothing, numeric_scaling,
          test_fraction, seed, device, transfer_from,
          freeze, augment, image_size, channels, sample_rate, window_seconds, skip_bad, overwrite, resume,
          checkpoint_every, devices, quiet, delimiter, encoding):
    """Train a classifier on DATA: a table (CSV, TSV or Parquet) with a label column, pictures (a
    folder with one sub-folder per class, a CSV of path,label, or MNIST's IDX files) or sound clips
    (WAV, FLAC, OGG, AU, AIFF, MP3 in one sub-folder per class, or a CSV of path,label).

    The test split keeps every piece of one recording on one side (GTZAN's blues.00042.3.wav
    belongs to blues.00042), for sound files and for tables with a column of file names.

    Under torchrun (or with --devices N) every process reads DATA and trains on its share of each
    batch; only rank 0 writes the checkpoint, the model and metrics.json."""
    from deepfit.training.checkpoints import run_files
    from deepfit.training import distributed

    out_dir = out_dir or Path("runs") / data.stem
    model_path = out_dir / "model.deepfit"
    checkpoint = out_dir / CHECKPOINT_NAME
    check_run_folder(model_path, checkpoint, overwrite, resume)
    writer = distributed.main_process()
    if writer:
        check_writable(out_dir)  # before minutes of training, not after
    if devices is not None and not distributed.launched():
        from deepfit.cli import ARGUMENTS
        from deepfit.training.launch import run_processes, without_devices

        return run_processes(devices, without_devices(ARGUMENTS))
    if writer:
        remove_half_written(out_dir)
    if freeze and transfer_from is None:
        raise InvalidInputError("--freeze keeps the layers of a model given with --from; pass --from MODEL too.")
    source = _transfer_source(transfer_from)
    kind, groups = data_kind(data), None
    _warn_about_unused_options(kind, {"--image-size": image_size, "--channels": channels},
                               {"--sample-rate": sample_rate, "--window-seconds": window_seconds})
    if kind == "audio":
        features, labels, target = _read_training_sound(data, sample_rate, skip_bad, source)
        groups = features.recordings
    elif kind == "image":
        features, labels, target = _read_training_pictures(data, image_size, channels, skip_bad, source)
    else:
        features, labels, target, groups = _read_training_table(data, target, delimiter, encoding)
    options = dict(hidden_layers=hidden_layers, width=width, max_epochs=max_epochs, batch_size=batch_size,
                   learning_rate=learning_rate, dropout=dropout, patience=patience,
                   validation_fraction=validation_fraction, early_stopping=early_stopping,
                   ensemble_size=ensemble_size, label_smoothing=label_smoothing, numeric_scaling=numeric_scaling)
    pictures = dict(augment=augment, transfer_from=source, freeze=freeze)
    if kind == "audio":
        pictures.update(window_seconds=window_seconds, sample_rate=features.sample_rate)
    estimator = _make_estimator(model_kind, options, pictures, seed, device, not quiet)
    train_rows, test_rows = _test_split(labels, test_fraction, seed, data, groups)
    if not resume and writer:  # a fresh start (--overwrite): no earlier run's checkpoint may be taken for this one's
        for old in run_files(checkpoint):
            old.unlink(missing_ok=True)
    try:
        estimator.fit(_rows(features, train_rows), labels[train_rows], checkpoint=checkpoint, resume=resume,
                      checkpoint_every=checkpoint_every)
    except InvalidInputError as error:
        raise InvalidInputError(f"{data}: {error}") from None
    finally:
        distributed.stop()
    if not writer:
        return None  # rank 0 writes the model and the metrics
    metrics = {"data": str(data), "target": str(target), "model": model_kind,
               "n_train": int(len(train_rows)), "n_test": int(len(test_rows)),
               "classes": [c.item() if hasattr(c, "item") else c for c in estimator.classes_],
               "training": estimator.training_summary_, "history": estimator.history_}
    if len(test_rows):
        from deepfit.evaluation.metrics import classification_metrics

        test_features, test_labels = _rows(features, test_rows), labels[test_rows]
        probabilities = estimator.predict_proba(test_features) if hasattr(estimator, "predict_proba") else None
        metrics["test"] = classification_metrics(test_labels, estimator.predict(test_features), probabilities,
                                                 estimator.classes_)
    metadata = {"target": str(target), "trained_on": str(data)}
    if transfer_from is not None:
        metadata["transferred_from"] = str(transfer_from)
    if groups is not None and kind == "table":  # tables of pieces: remember the recordings, as sound models do
        from deepfit.data.splits import recording_digests

        estimator.training_recordings_ = recording_digests(groups[train_rows])
    estimator.transfer_from = None  # the source was read; the saved model stands on its own
    estimator.save(model_path, metadata=metadata)
    write_json(out_dir / "metrics.json", metrics)
    for finished in run_files(checkpoint):
        finished.unlink(missing_ok=True)  # the run is finished; the model holds what the checkpoints held
    if "test" in metrics:
        click.echo(f"test accuracy: {metrics['test']['accuracy']:.4f} on {len(test_rows)} held-out rows")
    click.echo(f"model written to {model_path}")


def _warn_about_unused_options(kind: str, picture_only: dict, sound_only: dict) -> None:
    unused = {**(picture_only if kind != "image" else {}), **(sound_only if kind != "audio" else {})}
    given = [name for name, value in unused.items() if value is not None]
    if given:
        what = {"audio": "sound", "image": "pictures", "table": "a table"}[kind]
        click.echo(f"warning: {', '.join(given)} {'does' if len(given) == 1 else 'do'} not apply to {what}; ignored.",
                   err=True)


def _read_training_table(data: Path, target, delimiter, encoding):
    from deepfit.data.tabular import read_table, split_target

    frame = read_table(data, delimiter=parse_delimiter(delimiter), encoding=encoding)
    target = choose_target(frame, target, data)
    features, labels = split_target(frame, target, data)
    groups = None
    column = file_name_column(features)
    if column is not None:  # e.g. GTZAN's features CSV: a name per clip, not a feature
        from deepfit.data.audio import recording_of

        groups = np.array([recording_of(name) for name in features[column].astype(str)], dtype=object)
        features = features.drop(columns=[column])
        pieces = len(groups) - len(set(groups))
        click.echo(f"column {column!r} names the files the rows describe: it is left out of the features"
                   + (f", and the {len(groups)} rows come from {len(set(groups))} recordings, each kept on one "
                      f"side of the test split" if pieces else ""), err=True)
    return features, labels, target, groups


def file_name_column(frame):
    """The column that names a file per row (values ending in a sound or picture suffix), or None."""
    from deepfit.data.audio import AUDIO_SUFFIXES
    from deepfit.data.images import IMAGE_SUFFIXES

    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind in "OU" or str(values.dtype) in ("string", "str"):
            names = values.dropna().astype(str).str.lower()
            if len(names) and names.str.endswith(AUDIO_SUFFIXES + IMAGE_SUFFIXES).mean() > 0.9:
                return column
    return None


def _read_training_pictures(data: Path, image_size, channels, skip_bad: bool, source):
    from deepfit.data.images import read_images

    size = image_size
    if source is not None and hasattr(source, "encoder_"):  # read at the size the source model takes
        if source.encoder_.kind != "image":
            raise InvalidInputError(f"{data}: holds pictures, but the model given with --from was trained on "
                                    "a table; transfer from a picture model.")
        size, channels = (source.encoder_.height, source.encoder_.width), source.encoder_.channels
    elif source is not None:
        channels = 3  # ImageNet ResNet weights take colour
    pictures = read_images(data, size=size, channels=None if channels is None else int(channels),
                           skip_bad=skip_bad, labelled=True)
    click.echo(f"read {len(pictures.paths)} pictures of {pictures.images.shape[1]}x{pictures.images.shape[2]} "
               f"pixels, {pictures.images.shape[3]} channel(s), from {data}", err=True)
    return pictures.images, pictures.labels, "label"


def _read_training_sound(data: Path, sample_rate, skip_bad: bool, source):
    from deepfit.data.audio import read_audio

    if source is not None and hasattr(source, "encoder_"):  # read at the rate the source model takes
        if source.encoder_.kind != "audio":
            raise InvalidInputError(f"{data}: holds sound, but the model given with --from was not trained on "
                                    "sound; transfer from a sound model.")
        sample_rate = source.encoder_.sample_rate
    elif source is not None:
        raise InvalidInputError(f"{data}: holds sound; --from takes a sound model (.deepfit) here, not "
                                "ImageNet picture weights.")
    sounds = read_audio(data, sample_rate=sample_rate, skip_bad=skip_bad, labelled=True)
    clips = sounds.clips
    durations = clips.durations()
    recordings = len(set(clips.recordings))
    click.echo(f"read {len(clips)} sound clips ({durations.sum() / 60:.1f} minutes, {durations.min():.2f} to "
               f"{durations.max():.2f} s each, {recordings} recordings) at {clips.sample_rate} Hz from {data}",
               err=True)
    return clips, sounds.labels, "label"


def _transfer_source(path):
    """A .deepfit source is loaded once here (its picture size decides how to read DATA); a ResNet
    state_dict is read by the estimator."""
    if path is None:
        return None
    from deepfit.estimators.transfer import STATE_DICT_SUFFIXES

    if path.suffix.lower() in STATE_DICT_SUFFIXES:
        return str(path)
    import deepfit

    return deepfit.load(path)


def _rows(features, rows):
    return features.iloc[rows] if hasattr(features, "iloc") else features[rows]


def _make_estimator(kind: str, options: dict, pictures: dict, seed: int, device: str, verbose: bool):
    from deepfit import DeepClassifier, LogisticRegression, Perceptron

    given = {k: v for k, v in options.items() if v is not None}
    batch_size = given.pop("batch_size")
    if batch_size != "auto":
        if not str(batch_size).isdigit() or int(batch_size) < 1:
            raise InvalidInputError(f"--batch-size must be a positive whole number or 'auto', got {batch_size!r}.")
        given["batch_size"] = int(batch_size)
    common = dict(random_state=seed, device=device, verbose=verbose)
    if kind in ("deep", "cnn", "mlp"):
        return DeepClassifier(**given, **pictures, model="auto" if kind == "deep" else kind, **common)
    if pictures["transfer_from"] is not None:
        raise InvalidInputError(f"--from works with the deep models; --model {kind} has no hidden layers to reuse.")
    linear = {k: given[k] for k in ("max_epochs", "learning_rate", "batch_size") if k in given}
    return (LogisticRegression if kind == "logistic" else Perceptron)(**linear, **common)


def _test_split(labels: np.ndarray, fraction: float, seed: int, source, groups=None):
    """Rows to train on and rows held out, stratified by class; whole recordings at a time with `groups`."""
    rows = np.arange(len(labels))
    if fraction == 0:
        return rows, rows[:0]
    from deepfit.data.splits import grouped_split

    as_text = labels.astype(str)  # one type for mixed labels, for counting and stratifying alike
    held = grouped_split(as_text, rows if groups is None else groups, fraction, seed, min_per_class=1)
    if held is None or (~held).sum() < 2:
        what = "rows" if groups is None else "recordings"
        raise InvalidInputError(f"{source}: {len(set(rows if groups is None else groups))} {what} are too few to "
                                f"hold out {fraction:.0%} for testing with every class in it; add more or pass "
                                "--test-fraction 0.")
    return rows[~held], rows[held]
