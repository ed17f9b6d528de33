"""`deepfit train-detector POSITIVES NEGATIVES` and `deepfit detect MODEL PICTURES...`: where things are."""

from __future__ import annotations

import json
from pathlib import Path

import click

import deepfit
from deepfit.atomic import open_atomically
from deepfit.cli import cli
from deepfit.data.kinds import PICTURES
from deepfit.data.labelled import display_names
from deepfit.errors import InvalidInputError
from deepfit.run_folder import RunFolder, write_json


@cli.command("train-detector")
@click.argument("positives", type=click.Path(path_type=Path))
@click.argument("negatives", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Folder for model.deepfit and "
              "metrics.json  [default: runs/<positives name>-detector]")
@click.option("--window", default=None, metavar="WxH", help="The window's size, e.g. 24 or 32x24 (default: the "
              "positives' size, which they must all share).")
@click.option("--rounds", type=click.IntRange(1, 20), default=2, show_default=True,
              help="Training rounds; each after the first adds the false alarms found on NEGATIVES.")
@click.option("--label", default=None, help="The objects' name when POSITIVES has no class sub-folders "
              "[default: the folder's name].")
@click.option("--flip", type=click.Choice(["auto", "yes", "no"]), default="auto", show_default=True,
              help="Add mirrored positives (auto: when they look left-right symmetric, as faces do).")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Probability of an object at which a window is reported (and mined) [default: fitted on a "
                   "fifth of NEGATIVES and a tenth of POSITIVES held back, for 9 right boxes in 10].")
@click.option("--max-epochs", type=click.IntRange(1), default=None, help="Epochs of the first round (later "
              "rounds take half) [default: about 600 steps' worth].")
@click.option("--batch-size", default="auto", show_default=True)
@click.option("--learning-rate", type=click.FloatRange(0, min_open=True), default=2e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace a model already in --out (or an unfinished run's checkpoint).")
@click.option("--resume", is_flag=True, help="Continue a run that was stopped from the checkpoint in --out; it ends "
              "with the detector an uninterrupted run would have given.")
@click.option("--checkpoint-every", type=click.FloatRange(0), default=300, show_default=True,
              help="Seconds between checkpoints inside an epoch (one is written at every epoch's end too).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_detector(positives, negatives, out_dir, window, rounds, label, flip, threshold, max_epochs, batch_size,
                   learning_rate, seed, device, overwrite, resume, checkpoint_every, quiet):
    """Train a sliding-window detector: POSITIVES holds pictures of the object cropped to the window (one
    sub-folder per class for several kinds of object), NEGATIVES pictures holding none of them (any
    size from the window up), from which background windows and, after the first round, the
    detector's own false alarms are cut."""
    from deepfit import SlidingWindowDetector
    from deepfit.detection.pictures import check_large_enough, check_patch_sizes, read_pictures

    run = RunFolder(out_dir or Path("runs") / f"{positives.name}-detector")
    run.prepare(overwrite=overwrite, resume=resume)
    window = _parse_window(window)
    patches, positive_files, labels = read_pictures(positives, what="positive patches", classes=True)
    check_patch_sizes(patches, positive_files, window)  # said before training starts; fit checks the same
    background, negative_files, _ = read_pictures(negatives, channels=patches[0].shape[2], what="negative pictures")
    check_large_enough(background, negative_files, patches[0].shape[:2],
                       "give background pictures at least as large as the window.")
    click.echo(f"read {len(patches)} positive patches of {patches[0].shape[1]}x{patches[0].shape[0]} pixels and "
               f"{len(background)} negative pictures", err=True)
    detector = SlidingWindowDetector(
        window=window, rounds=rounds, label=label or positives.resolve().name, flip={"auto": "auto", "yes": True, "no": False}[flip],
        threshold="auto" if threshold is None else threshold, max_epochs=max_epochs,
        batch_size=_batch_size(batch_size), learning_rate=learning_rate,
        random_state=seed, device=device, verbose=not quiet)
    detector.fit(patches, background, labels, positive_names=positive_files, negative_names=negative_files,
                 checkpoint=run.checkpoint, resume=resume, checkpoint_every=checkpoint_every)
    metrics = {"positives": str(positives), "negatives": str(negatives), "classes": [str(c) for c in detector.classes_],
               "training": detector.training_summary_, "history": detector.history_}
    run.finish(detector, metrics, metadata={"positives": str(positives), "negatives": str(negatives)})
    for entry in detector.training_summary_["rounds"]:
        click.echo(f"round {entry['round']}: {entry['positives']} positives, {entry['background']} background "
                   f"windows ({entry['mined']} mined false alarms); then {entry['false_alarms_after']} false alarms "
                   f"on the {detector.training_summary_['negative_pictures']} negative pictures trained on", err=True)
    click.echo(describe_threshold(detector.training_summary_["threshold"]), err=True)
    click.echo(f"detector written to {run.model}")


def describe_threshold(fitted: dict) -> str:
    """One line on the threshold the detector reports boxes at, and how it was chosen."""
    if fitted.get("given"):
        return f"threshold {fitted['value']:g} (given)"
    if "why" in fitted:
        return f"threshold {fitted['value']:g}: not fitted, {fitted['why']}"
    return (f"threshold {fitted['value']:.3f}, fitted on {fitted['held_back_negatives']} held-back negative pictures "
            f"and {fitted['held_back_positives']} positives: recall {fitted['recall']:.3f}, "
            f"{fitted['false_alarms_per_picture']:.2f} false alarms a picture, estimated precision "
            f"{fitted['precision']:.3f} (--threshold to choose another)")


def _parse_window(window):
    if window is None:
        return None
    try:
        parts = [int(v) for v in window.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or min(parts) < 1:
        raise InvalidInputError(f"--window {window!r}: give the size in pixels as 24 or WIDTHxHEIGHT (32x24).")
    return (parts[0], parts[0]) if len(parts) == 1 else (parts[1], parts[0])  # (height, width)


def _batch_size(value: str):
    if value == "auto":
        return value
    if not value.isdigit() or int(value) < 1:
        raise InvalidInputError(f"--batch-size must be a positive whole number or 'auto', got {value!r}.")
    return int(value)


@cli.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Where to write the boxes (JSON).")
@click.option("--draw", "draw_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Also save each picture with its boxes drawn, in this folder.")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Probability of an object to report a box [default: the detector's, 0.5].")
@click.option("--overlap", type=click.FloatRange(0, 1), default=None,
              help="Non-maximum suppression: boxes of one class overlapping more than this (IoU) are merged "
                   "[default: 0.3].")
@click.option("--min-size", type=click.IntRange(1), default=None,
              help="The smallest object to look for, in pixels [default: the window's size]; smaller enlarges.")
@click.option("--truth", type=click.Path(path_type=Path, dir_okay=False),
              help="A JSON file of the true boxes ({file: [{x, y, width, height}, ...]}): adds precision, recall "
                   "and average precision at IoU 0.5.")
@click.option("--skip-bad", is_flag=True, help="Record an unreadable or too small picture with an 'error' and go on.")
def detect(model_path, inputs, output, draw_dir, threshold, overlap, min_size, truth, skip_bad):
    """Find objects in pictures (files, folders searched recursively, quoted globs, CSVs listing
    files) with a detector from 'deepfit train-detector'; write their boxes (x, y, width, height,
    score, label, in the picture's pixels) to a JSON file."""
    from deepfit.detection.pictures import read_pictures
    from deepfit.streaming import expand_inputs

    detector = deepfit.load(model_path)
    if not isinstance(detector, deepfit.SlidingWindowDetector):
        raise InvalidInputError(f"{model_path}: is a classifier, not a detector; use 'deepfit predict' with it, or "
                                "train a detector with 'deepfit train-detector'.")
    per_input = [expand_inputs([item], PICTURES) for item in inputs]
    paths = [path for listed in per_input for path in listed]
    names = [name for item, listed in zip(inputs, per_input) for name in display_names(listed, Path(item))]
    expected = _read_truth(truth, names) if truth is not None else None
    drawings = _drawing_paths(draw_dir, names, paths) if draw_dir is not None else None
    results, found, skipped = [], [], 0
    stderr = click.get_text_stream("stderr")
    with click.progressbar(length=len(paths), label="detecting", file=stderr if stderr.isatty() else None,
                           hidden=not stderr.isatty()) as bar:
        for path, name in zip(paths, names):
            bar.update(1)
            try:
                picture = read_pictures([path], channels=detector.channels_)[0][0]
                boxes = detector.detect([picture], threshold=threshold, overlap=overlap, min_size=min_size,
                                        names=[str(path)])[0]
            except InvalidInputError as error:
                if not skip_bad:
                    raise
                results.append({"file": name, "error": str(error)})
                found.append([])
                skipped += 1
                continue
            results.append({"file": name, "width": picture.shape[1], "height": picture.shape[0], "boxes": boxes})
            found.append(boxes)
            if drawings is not None:
                draw_boxes(picture, boxes, drawings[len(results) - 1])
    report = {"model": str(model_path), "window": list(detector.window_),
              "threshold": threshold or detector.threshold_, "pictures": results}
    if expected is not None:
        from deepfit.detection.metrics import detection_metrics

        report["evaluation"] = detection_metrics(found, expected)
    write_json(output, report)
    total = sum(len(boxes) for boxes in found)
    click.echo(f"{total} box(es) in {len(paths) - skipped} picture(s) written to {output}"
               + (f"; {skipped} skipped" if skipped else ""), err=True)
    if expected is not None:
        metrics = report["evaluation"]
        click.echo(f"precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f}, average precision "
                   f"{metrics['average_precision']:.3f} at IoU 0.5 ({metrics['objects']} true boxes)")


def _read_truth(path: Path, names: list[str]) -> list[list[dict]]:
    try:
        table = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise InvalidInputError(f"{path}: not a readable JSON file ({error}); give {{file: [boxes]}}.") from None
    if not isinstance(table, dict):
        raise InvalidInputError(f"{path}: must be a JSON object mapping each picture's file to its boxes.")
    by_name = {str(Path(k)): v for k, v in table.items()}
    truth = []
    for name in names:
        boxes = by_name.get(str(Path(name)), by_name.get(Path(name).name, []))
        for box in boxes:
            if not isinstance(box, dict) or not all(isinstance(box.get(k), (int, float)) for k in
                                                    ("x", "y", "width", "height")):
                raise InvalidInputError(f"{path}: the boxes of {name} need numbers x, y, width and height, got {box!r}.")
        truth.append(boxes)
    return truth


def _drawing_paths(folder: Path, names: list[str], inputs: list[Path]) -> list[Path]:
    """Where each picture's drawing goes: inside `folder` whatever the name (an absolute path or '..'
    stays inside), one file per picture (a second a.jpg becomes a-2.jpg), never over an input."""
    originals = {Path(path).resolve() for path in inputs}
    taken, paths = set(), []
    for name in names:
        parts = [part for part in Path(name).parts if part not in ("/", "..", ".") and not part.endswith(":\\")]
        target = folder.joinpath(*parts) if parts else folder / "picture.png"
        if target.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            target = target.with_suffix(".png")
        stem, number = target.stem, 1
        while target.resolve() in taken or target.resolve() in originals:
            number += 1
            target = target.with_name(f"{stem}-{number}{target.suffix}")
        taken.add(target.resolve())
        paths.append(target)
    return paths


def draw_boxes(picture, boxes: list[dict], path: Path) -> None:
    """Save `picture` with its boxes and their labels drawn on, atomically."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(picture[:, :, 0] if picture.shape[2] == 1 else picture).convert("RGB")
    draw = ImageDraw.Draw(image)
    palette = [(255, 64, 64), (64, 160, 255), (64, 220, 96), (255, 200, 0), (200, 80, 255)]
    labels = sorted({str(box["label"]) for box in boxes})
    for box in boxes:
        colour = palette[labels.index(str(box["label"])) % len(palette)]
        corners = [box["x"], box["y"], box["x"] + box["width"] - 1, box["y"] + box["height"] - 1]
        draw.rectangle(corners, outline=colour, width=max(1, round(min(image.size) / 150)))
        draw.text((box["x"] + 2, max(0, box["y"] - 11)), f"{box['label']} {box['score']:.2f}", fill=colour)
    with open_atomically(path, "wb") as handle:
        image.save(handle, format="JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG")
