"""The `deepfit` command: parse, call the library, turn its errors into one line and exit code 2."""

from __future__ import annotations

import sys
import warnings

import click

from deepfit.errors import DeepfitError

EXIT_BAD_INPUT = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="deepfit")
def cli() -> None:
    """deepfit: labelled examples in, a trained deep-learning classifier out."""


def main(argv=None) -> int:
    """Entry point of the console script; returns the exit code."""
    from deepfit.cli import check, compare, demo, evaluate, features, predict, train  # noqa: F401  (registers the commands)

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
    return status if isinstance(status, int) else 0  # `deepfit check` returns 1 when it lists problems


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"warning: {message}", err=True)


def run() -> None:
    sys.exit(main())
