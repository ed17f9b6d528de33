"""`deepfit studio`: make, watch and compare classifiers in the browser, on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

from pathlib import Path

import click

from deepfit.cli import cli
from deepfit.cli.options import server_options
from deepfit.cli.serve import run_server


@cli.command()
@click.option("--runs", "root", type=click.Path(path_type=Path, file_okay=False), default=Path("studio"),
              show_default=True, help="Folder of the studio's projects and their runs (made if missing).")
@server_options
def studio(root, host, port, token, max_body_mb):
    """A local web app to make a classifier with no code: make a project (pictures, sound, a table or
    texts), add classes and examples (drop files, draw, record, or name a folder), check the data,
    train and watch the curves live (with Cancel), read the report, try the model and download it or
    its ONNX export. Projects and runs are plain folders under --runs: `deepfit runs` lists them, and a
    run interrupted by a kill is found again and can be resumed."""
    from deepfit.studio import create_studio

    app = create_studio(root, token=token or None, max_body_bytes=int(max_body_mb * 1024 * 1024))
    run_server(app, host, port, token, "the studio", f"deepfit studio on http://{host}:{port}/ with projects in {root}")
