"""`deepfit runs [DIR]`: every run under DIR, one line each; `deepfit runs compare A B ...`: their
curves overlaid in a PNG, their settings and results side by side."""

from __future__ import annotations

import json
from pathlib import Path

import click

from deepfit.cli import cli
from deepfit.errors import InvalidInputError, no_such_path
from deepfit.evaluation.report_plots import plot_runs
from deepfit.runs.comparison import compared, curves, side_by_side
from deepfit.runs.listing import find_runs, summary, table


@cli.command(context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1, metavar="[DIR] | compare RUN RUN...")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.option("--plot", type=click.Path(path_type=Path, dir_okay=False), default=Path("runs-compare.png"),
              show_default=True, help="compare: where to write the PNG of the runs' curves.")
@click.option("--all-settings", is_flag=True, help="compare: show every setting, not only those that differ.")
def runs(args, as_json, plot, all_settings):
    """List the runs under DIR (default: runs): name, kind, data, status, accuracy, seconds, when.
    Every `deepfit train`, `fit(..., run_dir=...)` and studio run leaves one. A run killed while
    training shows as interrupted: `deepfit train ... --resume --out FOLDER` continues it.

    `deepfit runs compare RUN RUN ...` overlays the runs' loss and accuracy curves in --plot and
    prints their settings (those that differ) and results side by side."""
    if args and args[0] == "compare":
        return _compare(args[1:], as_json, plot, all_settings)
    if len(args) > 1:
        raise InvalidInputError(f"deepfit runs takes one folder, got {len(args)}; to compare runs: "
                                "deepfit runs compare RUN RUN ...")
    _list(Path(args[0]) if args else Path("runs"), as_json)


def _list(root: Path, as_json: bool) -> None:
    if not root.exists():
        raise no_such_path(root, "folder of runs")
    rows = sorted((summary(folder, root) for folder in find_runs(root)), key=lambda row: row["when"] or "")  # oldest first
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
    elif not rows:
        click.echo(f"no runs under {root}: `deepfit train DATA --out {root}/NAME` leaves one.", err=True)
    else:
        click.echo(table(rows))


def _compare(folders, as_json: bool, plot: Path, everything: bool) -> None:
    if len(folders) < 2:
        raise InvalidInputError("deepfit runs compare takes two runs or more: deepfit runs compare runs/a runs/b")
    for folder in folders:
        if not Path(folder).exists():
            raise no_such_path(folder, "run folder")
    comparison = compared(folders, everything)
    written = plot_runs(curves(comparison["folders"], comparison["runs"]), plot)
    if as_json:
        click.echo(json.dumps({**comparison, "plot": str(written)}, indent=2, default=str))
        return
    click.echo(side_by_side(comparison))
    click.echo(f"curves written to {written}", err=True)
