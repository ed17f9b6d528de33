"""Serving a trained model over HTTP: the FastAPI application, request batching, body limits, a page."""

from deepfit.serving.app import create_app

__all__ = ["create_app"]
