"""Options shared by several commands, and the small steps every command takes the same way."""

from __future__ import annotations

import json
from pathlib import Path

import click

from deepfit.atomic import write_atomically
from deepfit.errors import InvalidInputError, OutputError

LIKELY_TARGET_NAMES = ("label", "target", "class", "y")
CHECKPOINT_NAME = "checkpoint.safetensors"  # in --out, while a run is unfinished

delimiter_option = click.option("--delimiter", default=None, metavar="CHAR",
                                help="Column separator of a CSV (guessed from the header if not given).")
encoding_option = click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of a CSV.")


def parse_delimiter(delimiter):
    if delimiter in ("\\t", "tab"):
        return "\t"
    if delimiter is not None and len(delimiter) != 1:
        raise InvalidInputError(f"--delimiter must be one character (or 'tab'), got {delimiter!r}.")
    return delimiter


def choose_target(frame, target, source) -> str:
    """The label column: the one named by --target, else an obvious one such as 'label'."""
    if target is not None:
        return target
    for name in frame.columns:
        if str(name).lower() in LIKELY_TARGET_NAMES:
            click.echo(f"note: using column {name!r} as the label (pass --target to choose another).", err=True)
            return name
    shown = ", ".join(repr(str(c)) for c in list(frame.columns)[:12])
    raise InvalidInputError(f"{source}: which column holds the labels? Pass --target COLUMN (columns: {shown}).")


def write_json(path: Path, data: dict) -> None:
    write_atomically(path, (json.dumps(data, indent=2, default=str) + "\n").encode())


def check_writable(folder: Path) -> None:
    """Fail before training, not after, when --out cannot be written; leave no folder behind (a run that
    fails later, on bad data, must not leave an empty one)."""
    import tempfile

    created = [parent for parent in [folder, *folder.parents] if not parent.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".deepfit-write-test-"):
            pass
    except OSError as error:
        raise OutputError(f"{folder}: cannot write here ({error.strerror}). Choose another folder with --out, "
                          "or check its permissions.") from None
    finally:
        for made in created:  # deepest first; the run makes them again when it writes
            try:
                made.rmdir()
            except OSError:
                break


def check_run_folder(model_path: Path, checkpoint: Path, overwrite: bool, resume: bool) -> None:
    """A finished model is never replaced unless asked; an unfinished run is resumed or restarted, by choice."""
    from deepfit.training.checkpoints import run_files

    unfinished = any(path.exists() for path in run_files(checkpoint))
    if resume:
        if not unfinished:
            finished = " (the run there has finished: model.deepfit is there)" if model_path.exists() else ""
            raise InvalidInputError(f"{checkpoint.parent}: holds no checkpoint to resume{finished}; start the run "
                                    "without --resume.")
        return
    if model_path.exists() and not overwrite:
        raise OutputError(f"{model_path} already exists; pass --overwrite to replace it, or choose "
                          "another folder with --out.")
    if unfinished and not overwrite:
        raise OutputError(f"{checkpoint.parent}: holds the checkpoint of a run that did not finish; pass --resume "
                          "to continue it, or --overwrite to start again.")


def remove_half_written(out_dir: Path) -> None:
    """Remove the temporary files of a run killed while it wrote its checkpoint or model."""
    for stale in [*out_dir.glob(f".{CHECKPOINT_NAME}*.tmp"), *out_dir.glob(".model.deepfit.*.tmp")]:
        stale.unlink(missing_ok=True)
