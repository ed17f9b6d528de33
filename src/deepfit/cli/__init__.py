"""The `deepfit` command: parse, call the library, turn its errors into one line and exit code 2."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings

import click

from deepfit.atomic import write_atomically
from deepfit.errors import DeepfitError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL_ERROR = 3


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="deepfit")
def cli() -> None:
    """deepfit: labelled examples in, a trained deep-learning classifier out."""


ARGUMENTS: list[str] = []  # this invocation's command line (`train --devices N` runs it again on N ranks)


def main(argv=None) -> int:
    """Entry point of the console script; returns the exit code."""
    from deepfit.cli import (  # noqa: F401  (registers the commands)
        check,
        compare,
        demo,
        detect,
        evaluate,
        export,
        features,
        predict,
        runs,
        serve,
        studio,
        train,
    )

    ARGUMENTS[:] = sys.argv[1:] if argv is None else list(argv)
    warnings.showwarning = _show_warning
    rank = int(os.environ.get("RANK", "0")) if int(os.environ.get("WORLD_SIZE", "1")) > 1 else None
    try:
        with _silenced(bool(rank)):  # under torchrun, rank 0 speaks for the run
            status = cli.main(args=argv, prog_name="deepfit", standalone_mode=False)
    except DeepfitError as error:
        _say(f"error: {f'rank {rank}: ' if rank else ''}{error}", rank, EXIT_BAD_INPUT)
        return EXIT_BAD_INPUT
    except click.exceptions.Abort:
        click.echo("error: interrupted.", err=True)
        return 130
    except click.ClickException as error:
        if not rank:
            click.echo(f"error: {error.format_message()} (see 'deepfit --help')", err=True)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        click.echo("error: interrupted; nothing was written.", err=True)
        return 130
    except Exception as error:  # a bug, not the user's mistake: its own exit code, never 1 (check's "problems")
        if os.environ.get("DEEPFIT_DEBUG"):
            raise
        if rank is not None and _lost_another_rank(error):
            return 1
        where = f"rank {rank}: " if rank else ""
        _say(f"internal error: {where}{type(error).__name__}: {error}. This is a bug in deepfit; please report it "
             "with the command you ran (DEEPFIT_DEBUG=1 shows the traceback).", rank, EXIT_INTERNAL_ERROR,
             every_rank=True)
        return EXIT_INTERNAL_ERROR
    return status if isinstance(status, int) else 0  # `deepfit check` returns 1 when it lists problems


def _say(line: str, rank: int | None, code: int, every_rank: bool = False) -> None:
    """The error line of this process, and its exit `code`. Under `train --devices` every rank leaves
    both for the launcher, which prints one line (rank 0's where it got that far: ranks race to refuse
    the same data); under torchrun, rank 0 of each machine prints it (another machine's files may
    differ), or every rank for a bug (it may be one rank's); alone, it is printed."""
    launcher = os.environ.get("DEEPFIT_LAUNCHER", "")
    if os.path.isdir(launcher):
        try:  # atomically: the launcher reads a whole line or none
            write_atomically(os.path.join(launcher, f"{os.environ.get('RANK', '0')}.txt"), f"{code}\n{line}".encode())
            return
        except OSError:
            pass  # said here instead
    if not rank or every_rank or os.environ.get("LOCAL_RANK") == "0":
        click.echo(line, err=True)


def _lost_another_rank(error: Exception) -> bool:
    """Under torchrun, another rank has stopped and this one's collective failed: said in one line
    (by the launcher of `train --devices`, which names the rank that stopped)."""
    from deepfit.training.distributed import lost_peer

    if not lost_peer(error):
        return False
    if not os.environ.get("DEEPFIT_LAUNCHER"):
        click.echo(f"error: rank {os.environ.get('RANK')}: another process of the run has stopped "
                   f"({str(error).splitlines()[0][:200]}); rerun with --resume to continue from the last checkpoint.",
                   err=True)
    return True


def _silenced(quiet: bool):
    """Nothing printed by the command (progress, warnings, notes) when `quiet`."""
    if not quiet:
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
    return stack


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"warning: {message}", err=True)


def run() -> None:
    sys.exit(main())
