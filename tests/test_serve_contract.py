"""The OpenAPI schema is the contract the server keeps: schemathesis (pinned in requirements-dev.txt)
runs every check, with positive and negative data, a fixed seed and a fixed number of examples,
over real HTTP against a table, a picture, a sound and a detector server, and finds no failure."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import mixed_table, write_digit_pictures
from live_server import LiveServer
from reliability import record

import deepfit
from deepfit import Clips, DeepClassifier, SlidingWindowDetector
from deepfit.data.synthetic import clutter, face_patches
from deepfit.data.synthetic_sound import genres
from deepfit.serving import create_app

SEED, EXAMPLES = 7, 150
# Random bytes are a valid "binary" file by the schema, but no picture or sound file: the upload routes
# answer them with the documented 415 (no suffix the model takes) or 422 (cannot be decoded). A schema
# cannot say "a PNG"; every other check, and every status and body, is held to the schema.
UPLOAD_REFUSALS = ["2xx", "401", "413", "415", "422"]
NEGATIVE_REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]


def schemathesis(url: str, tmp_path: Path, uploads: bool) -> tuple[subprocess.CompletedProcess, dict]:
    config = tmp_path / "schemathesis.toml"
    lines = ["[checks.negative_data_rejection]", f"expected-statuses = {json.dumps(NEGATIVE_REFUSALS)}"]
    if uploads:
        lines += ["[checks.positive_data_acceptance]", f"expected-statuses = {json.dumps(UPLOAD_REFUSALS)}"]
    config.write_text("\n".join(lines) + "\n")
    report = tmp_path / "report.json"
    command = [str(Path(sys.executable).with_name("st")), "--config-file", str(config), "run", f"{url}/openapi.json",
               "--checks", "all", "--mode", "all", "--seed", str(SEED), "--max-examples", str(EXAMPLES),
               "--workers", "1", "--generation-database", "none", "--no-color", "--request-timeout", "60",
               "--report", "ndjson", "--report-ndjson-path", str(report)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    return result, _counts(result.stdout)


def _counts(output: str) -> dict:
    operations = re.search(r"Tested: (\d+)", output)
    cases = re.search(r"(\d+) generated", output)
    return {"operations": int(operations.group(1)) if operations else 0, "cases": int(cases.group(1)) if cases else 0}


def _assert_no_failures(result, counts: dict, operations: int, server: str) -> None:
    summary = result.stdout[-3000:]
    record(f"schemathesis {server}", **counts, failed=result.returncode != 0)
    assert result.returncode == 0, summary
    assert "No issues found" in result.stdout or " passed" in summary, summary
    assert counts["operations"] == operations and counts["cases"] >= 3 * operations, summary


@pytest.mark.slow
def test_a_table_server_keeps_its_schema(tmp_path):
    frame = mixed_table(300)
    model = DeepClassifier(random_state=0, max_epochs=5).fit(frame.drop(columns="label"), frame["label"])
    with LiveServer(create_app(model)) as server:
        result, counts = schemathesis(server.url, tmp_path, uploads=False)
    _assert_no_failures(result, counts, operations=3, server="table")


@pytest.mark.slow
def test_a_picture_server_keeps_its_schema(tmp_path):
    write_digit_pictures(tmp_path / "pictures", digits=[0, 1], per_class=10)
    pictures = deepfit.read_images(tmp_path / "pictures")
    model = DeepClassifier(random_state=0, max_epochs=2).fit(pictures.images, pictures.labels)
    with LiveServer(create_app(model)) as server:
        result, counts = schemathesis(server.url, tmp_path, uploads=True)
    _assert_no_failures(result, counts, operations=3, server="picture")


@pytest.mark.slow
def test_a_sound_server_keeps_its_schema(tmp_path):
    waveforms, labels = genres(per_class=4, rate=8000, seconds=(1.0, 1.2), seed=1)
    model = DeepClassifier(random_state=0, max_epochs=2).fit(Clips(waveforms, 8000), labels)
    with LiveServer(create_app(model)) as server:
        result, counts = schemathesis(server.url, tmp_path, uploads=True)
    _assert_no_failures(result, counts, operations=3, server="sound")


@pytest.mark.slow
def test_a_detector_server_keeps_its_schema(tmp_path):
    rng = np.random.default_rng(0)
    detector = SlidingWindowDetector(rounds=1, max_epochs=2, random_state=0).fit(
        face_patches(60, 24, seed=0), [clutter(60, 80, rng) for _ in range(6)])
    with LiveServer(create_app(detector)) as server:
        result, counts = schemathesis(server.url, tmp_path, uploads=True)
    _assert_no_failures(result, counts, operations=3, server="detector")
