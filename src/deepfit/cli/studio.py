"""`deepfit studio`: make, watch and compare classifiers in the browser, on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import click

from deepfit.cli import cli
from deepfit.cli.options import server_options
from deepfit.cli.serve import is_loopback


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
    import uvicorn

    from deepfit.studio import create_studio

    app = create_studio(root, token=token or None, max_body_bytes=int(max_body_mb * 1024 * 1024))
    if not is_loopback(host) and not token:
        click.echo(f"warning: listening on {host} without --token: anyone who can reach this machine can use "
                   "the studio.", err=True)
    click.echo(f"deepfit studio on http://{host}:{port}/ with projects in {root} (Ctrl+C stops)", err=True)
    uvicorn.run(app, host=host, port=port, log_level=os.environ.get("DEEPFIT_LOG_LEVEL", "warning"),
                access_log=False)
