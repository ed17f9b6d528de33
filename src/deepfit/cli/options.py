"""Options shared by several commands, and the small steps every command takes the same way."""

from __future__ import annotations

import click

from deepfit.errors import InvalidInputError

LIKELY_TARGET_NAMES = ("label", "target", "class", "y")

delimiter_option = click.option("--delimiter", default=None, metavar="CHAR",
                                help="Column separator of a CSV (guessed from the header if not given).")
text_option = click.option("--text", "text_column", help="Texts in a table: the column holding them (default: the "
                           "one column of long, varied strings).")
encoding_option = click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of a CSV.")


def server_options(function):
    """--host, --port, --token and --max-body-mb, as `serve` and `studio` take them."""
    for option in reversed((
            click.option("--host", default="127.0.0.1", show_default=True,
                         help="Address to listen on; 0.0.0.0 opens it to the network (use --token then)."),
            click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True),
            click.option("--token", envvar="DEEPFIT_TOKEN", help="Require 'Authorization: Bearer TOKEN' on every API "
                         "request (the page asks for it), or set DEEPFIT_TOKEN, which keeps it out of the process "
                         "list."),
            click.option("--max-body-mb", type=click.FloatRange(0.001, 4096), default=16, show_default=True,
                         help="Refuse request bodies larger than this (HTTP 413)."))):
        function = option(function)
    return function


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
