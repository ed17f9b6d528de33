"""Numbers that the robustness tests measure, kept for the README's reliability table: each test
records its own under a name in test-artifacts/reliability.json (or $DEEPFIT_SCREENSHOT_DIR's)."""

from __future__ import annotations

import json
import os
import threading

from browser import SCREENSHOTS

_LOCK = threading.Lock()


def record(name: str, **values) -> None:
    path = SCREENSHOTS / "reliability.json"
    with _LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            numbers = json.loads(path.read_text())
        except (OSError, ValueError):
            numbers = {}
        numbers[name] = values
        partial = path.with_name(f".reliability.{os.getpid()}.json")
        partial.write_text(json.dumps(numbers, indent=1, sort_keys=True))
        os.replace(partial, path)
