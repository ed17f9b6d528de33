"""MkDocs hook: before the site is built, run every script of docs/code/ (in a scratch folder, as a
reader would) and keep what it prints (docs/outputs/NAME.txt) and draws (docs/figures/). A script
that fails stops the build, so no page shows code that does not run."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent


def on_pre_build(config, **_) -> None:
    outputs, figures = DOCS / "outputs", DOCS / "figures"
    outputs.mkdir(exist_ok=True)
    figures.mkdir(exist_ok=True)
    for script in sorted((DOCS / "code").glob("*.py")):
        with tempfile.TemporaryDirectory() as scratch:
            done = subprocess.run([sys.executable, str(script)], cwd=scratch, capture_output=True, text=True,
                                  timeout=600, env={**os.environ, "FIGURES": str(figures), "MPLBACKEND": "Agg"})
        if done.returncode != 0:
            raise RuntimeError(f"docs/code/{script.name} failed:\n{done.stderr[-2000:]}")
        (outputs / f"{script.stem}.txt").write_text(done.stdout, encoding="utf-8")
