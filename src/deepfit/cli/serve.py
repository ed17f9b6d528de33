"""`deepfit serve MODEL`: the model's HTTP API and a page to try it, on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import click

from deepfit.cli import cli
from deepfit.cli.options import server_options
from deepfit.data.uploads import UploadBudget


@cli.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@server_options
@click.option("--max-batch", type=click.IntRange(1, 65536), default=256, show_default=True,
              help="Most examples joined into one batch from concurrent requests.")
@click.option("--max-picture-mp", type=click.FloatRange(0.001, 100), default=50, show_default=True,
              help="Refuse an uploaded picture of more megapixels than this (HTTP 413), from its header; "
              "at most 100.")
@click.option("--max-request-mp", type=click.FloatRange(0.001, 10000), default=100, show_default=True,
              help="Refuse a request whose pictures hold more megapixels together (HTTP 413).")
def serve(model_path, host, port, token, max_body_mb, max_batch, max_picture_mp, max_request_mp):
    """Answer predictions for MODEL over HTTP: GET /health, GET /model, POST /predict (JSON rows for
    table models, file uploads for picture and sound models and for detectors, which answer boxes),
    a page at / to try it, and the OpenAPI schema at /openapi.json. Concurrent requests are batched
    together. Uploads are measured from their headers and refused over the budgets before anything
    is decoded, then decoded off the event loop."""
    from deepfit.serving import create_app

    budget = UploadBudget(picture_pixels=int(max_picture_mp * 1e6), request_pixels=int(max_request_mp * 1e6))
    app = create_app(model_path, token=token or None, max_body_bytes=int(max_body_mb * 1024 * 1024),
                     max_batch=max_batch, budget=budget)
    run_server(app, host, port, token, "the model", f"serving {model_path} on http://{host}:{port}/")


def run_server(app, host: str, port: int, token, what: str, started: str) -> None:
    """Serve `app` with uvicorn until Ctrl+C, warning first when it listens beyond this machine without a token."""
    import uvicorn

    if not is_loopback(host) and not token:
        click.echo(f"warning: listening on {host} without --token: anyone who can reach this machine can use "
                   f"{what}.", err=True)
    click.echo(f"{started} (Ctrl+C stops)", err=True)
    uvicorn.run(app, host=host, port=port, log_level=os.environ.get("DEEPFIT_LOG_LEVEL", "warning"),
                access_log=False)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
