"""How every command reads its DATA argument: a table, pictures (folders, a CSV of files, IDX) or sound
(folders of sound files, a CSV of files)."""

from __future__ import annotations

from pathlib import Path

import click

from deepfit.data.audio import AUDIO_SUFFIXES, is_audio_source
from deepfit.data.images import IMAGE_SUFFIXES, is_image_source
from deepfit.data.listing import PATH_COLUMNS
from deepfit.errors import InvalidInputError

MAX_LIST_COLUMNS = 5  # a CSV listing files: path, label, and perhaps a fold or a speaker

picture_options = [
    click.option("--image-size", type=click.IntRange(1, 4096), default=None,
                 help="Resize pictures to this many pixels square (default: chosen from the data)."),
    click.option("--channels", type=click.Choice(["1", "3"]), default=None,
                 help="Read every picture as greyscale (1) or colour (3) (default: as the pictures are)."),
    click.option("--sample-rate", type=click.IntRange(1000, 192_000), default=None,
                 help="Resample sound to this many samples per second (default: the files' rate, at most 16000)."),
]
skip_bad_option = click.option("--skip-bad", is_flag=True,
                               help="Leave out pictures or sound files that cannot be read (with a warning) "
                                    "instead of stopping.")


def with_options(options):
    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command
    return decorate


def data_kind(path: Path) -> str:
    """"audio", "image" or "table": sound files (a folder of them, one, or a CSV listing them), pictures
    (likewise, or IDX files), or else a table -- a CSV with a column naming files that are not beside
    it and many other columns (GTZAN's features_30_sec.csv) is a table of features."""
    if is_audio_source(path):
        return "audio"
    if is_image_source(path):
        return "image"
    listed = _listed_suffix(path)
    return "audio" if listed in AUDIO_SUFFIXES else "image" if listed in IMAGE_SUFFIXES else "table"


def _listed_suffix(path: Path) -> str:
    """The suffix of the files a CSV's path column lists ('' for an ordinary table)."""
    if path.suffix.lower() not in (".csv", ".tsv", ".txt") or not path.is_file():
        return ""
    import pandas as pd

    try:
        head = pd.read_csv(path, nrows=5, sep=None, engine="python")
    except Exception:  # not a readable table: the table reader will say why
        return ""
    names = {str(c).lower(): c for c in head.columns}
    column = next((names[n] for n in PATH_COLUMNS if n in names), None)
    if column is None:
        return ""
    files = [Path(p) for p in head[column].dropna().astype(str)]
    known = [f.suffix.lower() for f in files if f.suffix.lower() in AUDIO_SUFFIXES + IMAGE_SUFFIXES]
    if not known:
        return ""
    # Files that are there, or a short listing: read them. Many columns naming files that are not
    # there: a table of features computed per file (GTZAN's features_30_sec.csv).
    there = any((f if f.is_absolute() else path.parent / f).is_file() for f in files)
    return known[0] if there or len(head.columns) <= MAX_LIST_COLUMNS else ""


def read_examples_for(estimator, data: Path, *, labelled: bool, skip_bad: bool):
    """(inputs, labels or None, paths) of pictures or sound, read as `estimator` was trained on them."""
    encoder = estimator.encoder_
    if encoder.kind == "audio":
        from deepfit.data.audio import read_audio

        sounds = read_audio(data, sample_rate=encoder.sample_rate, skip_bad=skip_bad, labelled=labelled)
        return sounds.clips, sounds.labels, sounds.paths
    from deepfit.data.images import read_images

    pictures = read_images(data, size=(encoder.height, encoder.width), channels=encoder.channels,
                           skip_bad=skip_bad, labelled=labelled)
    return pictures.images, pictures.labels, pictures.paths


def table_row_names(rows: int) -> list[str]:
    """Rows as a person finds them in the file: row 1 is line 2, under the header."""
    return [f"row {i} (line {i + 1})" for i in range(1, rows + 1)]


def display_names(paths, data: Path) -> list[str]:
    """Files named as the user knows them: from the folder they gave (3/moved.png), else as listed."""
    folder = (data if data.is_dir() else data.parent).resolve()
    named = []
    for path in paths:
        try:
            named.append(str(Path(path).resolve().relative_to(folder)))
        except ValueError:
            named.append(str(path))
    return named


def load_classifier(path: Path):
    """The classifier in MODEL; a detector is refused with what to use instead."""
    import deepfit

    model = deepfit.load(path)
    if isinstance(model, deepfit.SlidingWindowDetector):
        raise InvalidInputError(f"{path}: is a detector; find objects with 'deepfit detect {path} PICTURES -o "
                                "boxes.json' (or serve it with 'deepfit serve').")
    return model
