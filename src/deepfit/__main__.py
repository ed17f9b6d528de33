"""`python -m deepfit ...` runs the command line (and is what torchrun starts)."""

from deepfit.cli import run

run()
