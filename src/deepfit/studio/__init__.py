"""deepfit studio: make, watch and compare classifiers in the browser. Projects and runs are plain
folders (`projects`), training runs one job at a time in its own process (`jobs`), and a finished
model is tried through the same API `deepfit serve` gives (`trying`)."""

from deepfit.studio.app import create_studio

__all__ = ["create_studio"]
