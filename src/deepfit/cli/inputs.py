"""How every command reads its DATA argument: a table, or pictures (folders, a CSV of files, IDX)."""

from __future__ import annotations

from pathlib import Path

import click

from deepfit.data.images import IMAGE_SUFFIXES, is_image_source

PATH_COLUMNS = ("path", "file", "filename", "image", "file_path")

picture_options = [
    click.option("--image-size", type=click.IntRange(1, 4096), default=None,
                 help="Resize pictures to this many pixels square (default: chosen from the data)."),
    click.option("--channels", type=click.Choice(["1", "3"]), default=None,
                 help="Read every picture as greyscale (1) or colour (3) (default: as the pictures are)."),
]
skip_bad_option = click.option("--skip-bad", is_flag=True,
                               help="Leave out pictures that cannot be read (with a warning) instead of stopping.")


def with_options(options):
    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command
    return decorate


def is_picture_data(path: Path) -> bool:
    """A folder, a picture, an IDX file, or a CSV whose path column lists picture files."""
    if is_image_source(path):
        return True
    if path.suffix.lower() not in (".csv", ".tsv", ".txt") or not path.is_file():
        return False
    import pandas as pd

    try:
        head = pd.read_csv(path, nrows=5, sep=None, engine="python")
    except Exception:  # not a readable table: the table reader will say why
        return False
    names = {str(c).lower(): c for c in head.columns}
    column = next((names[n] for n in PATH_COLUMNS if n in names), None)
    return column is not None and head[column].astype(str).str.lower().str.endswith(IMAGE_SUFFIXES).any()


def read_pictures_for(estimator, data: Path, *, labelled: bool, skip_bad: bool):
    """Pictures read at the size and channels `estimator` was trained on."""
    from deepfit.data.images import read_images

    encoder = estimator.encoder_
    return read_images(data, size=(encoder.height, encoder.width), channels=encoder.channels,
                       skip_bad=skip_bad, labelled=labelled)
