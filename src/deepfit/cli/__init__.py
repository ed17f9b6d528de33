"""The `deepfit` command: parse, call the library, turn its errors into one line and exit code 2."""

from __future__ import annotations

import os
import sys
import warnings

import click

from deepfit.errors import DeepfitError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL_ERROR = 3


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="deepfit")
def cli() -> None:
    """deepfit: labelled examples in, a trained deep-learning classifier out."""


def main(argv=None) -> int:
    """Entry point of the console script; returns the exit code."""
    from deepfit.cli import check, compare, demo, evaluate, export, features, predict, serve, train  # noqa: F401, E501  (registers the commands)

    warnings.showwarning = _show_warning
    try:
        status = cli.main(args=argv, prog_name="deepfit", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("error: interrupted.", err=True)
        return 130
    except click.ClickException as error:
        click.echo(f"error: {error.format_message()} (see 'deepfit --help')", err=True)
        return EXIT_BAD_INPUT
    except DeepfitError as error:
        click.echo(f"error: {error}", err=True)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        click.echo("error: interrupted; nothing was written.", err=True)
        return 130
    except Exception as error:  # a bug, not the user's mistake: its own exit code, never 1 (check's "problems")
        if os.environ.get("DEEPFIT_DEBUG"):
            raise
        click.echo(f"internal error: {type(error).__name__}: {error}. This is a bug in deepfit; please report it "
                   "with the command you ran (DEEPFIT_DEBUG=1 shows the traceback).", err=True)
        return EXIT_INTERNAL_ERROR
    return status if isinstance(status, int) else 0  # `deepfit check` returns 1 when it lists problems


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"warning: {message}", err=True)


def run() -> None:
    sys.exit(main())
