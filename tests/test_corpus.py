"""The corpus of bad inputs (tests/corpus, made by make_corpus.py): every file and request gets one
clear line naming it (exit code 2, or a 4xx), no traceback, no output written, no code run. And
property-based tests feed the readers generated junk."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_server import LiveServer
from reliability import record

import deepfit
from deepfit import Clips, DeepClassifier
from deepfit.cli import main
from deepfit.data.synthetic_sound import genres
from deepfit.errors import DeepfitError

CORPUS = Path(__file__).parent / "corpus"
MARKER = Path("/tmp/deepfit-corpus-pwned")


def corpus(folder: str) -> list[Path]:
    return sorted((CORPUS / folder).iterdir())


def run(capsys, *argv) -> tuple[int, str]:
    """The real command line, in this process (no interpreter start per file)."""
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def one_clear_line(error: str, name: str) -> None:
    assert "Traceback" not in error and "internal error" not in error, error
    lines = [line for line in error.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and name in lines[0], error


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus-models")
    from sklearn.datasets import load_digits

    images = (load_digits().images * 16).clip(0, 255).astype(np.uint8)
    DeepClassifier(random_state=0, max_epochs=1).fit(images[:200], load_digits().target[:200]).save(
        folder / "pictures.deepfit")
    waveforms, labels = genres(per_class=4, rate=8000, seconds=(1.0, 1.2))
    DeepClassifier(random_state=0, max_epochs=1).fit(Clips(waveforms, 8000), labels).save(folder / "sound.deepfit")
    table = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 7, "label": ["x", "y"] * 20})
    DeepClassifier(random_state=0, max_epochs=1).fit(table[["a", "b"]], table["label"]).save(folder / "table.deepfit")
    table.to_csv(folder / "table.csv", index=False)
    return folder


def test_the_corpus_holds_at_least_fifty_bad_inputs():
    requests = json.loads((CORPUS / "requests.json").read_text())
    files = {folder: len(corpus(folder)) for folder in ("pictures", "sounds", "tables", "models")}
    record("corpus", **files, requests=len(requests), hypothesis_examples=JUNK.max_examples * _hypothesis_tests())
    assert sum(files.values()) + len(requests) >= 50


def _hypothesis_tests() -> int:
    return sum(1 for value in globals().values() if getattr(value, "is_hypothesis_test", False))


@pytest.mark.parametrize("model, bad", [("pictures.deepfit", p) for p in corpus("pictures")]
                         + [("sound.deepfit", p) for p in corpus("sounds")], ids=lambda v: getattr(v, "name", v))
def test_bad_pictures_and_sounds(model, bad, models, capsys, tmp_path):
    code, error = run(capsys, "predict", models / model, bad, "-o", tmp_path / "out.csv")
    assert code == 2
    one_clear_line(error, bad.name)
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("bad", corpus("tables"), ids=lambda p: p.name)
def test_bad_tables(bad, capsys, tmp_path):
    code, error = run(capsys, "train", bad, "--out", tmp_path / "run", "--max-epochs", "1", "--quiet")
    assert code == 2, error
    one_clear_line(error, bad.name)
    assert not (tmp_path / "run" / "model.deepfit").exists()


@pytest.mark.parametrize("bad", corpus("models"), ids=lambda p: p.name)
def test_bad_model_files(bad, models, capsys, tmp_path):
    MARKER.unlink(missing_ok=True)
    code, error = run(capsys, "predict", bad, models / "table.csv", "-o", tmp_path / "out.csv")
    assert code == 2
    one_clear_line(error, bad.name)
    assert not MARKER.exists(), "a payload in the file ran"
    assert not (tmp_path / "out.csv").exists()


@pytest.fixture(scope="module")
def table_server(models):
    from deepfit.serving import create_app

    with LiveServer(create_app(models / "table.deepfit", max_body_bytes=1024 * 1024)) as server:
        yield server


@pytest.mark.parametrize("request_", json.loads((CORPUS / "requests.json").read_text()), ids=lambda r: r["name"])
def test_bad_requests(request_, table_server):
    content = request_.get("content")
    if "content_repeat" in request_:
        text, times = request_["content_repeat"]
        content = text * times
    answer = httpx.post(f"{table_server.url}/predict", content=content.encode(),
                        headers={"content-type": request_.get("content_type", "application/json")})
    assert answer.status_code == request_["status"], answer.text
    assert answer.json()["error"]


# ------------------------------------------------------------------------------------ generated junk
JUNK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@JUNK
@given(st.binary(max_size=2000))
def test_the_table_reader_takes_any_bytes(tmp_path, payload):
    from deepfit.data.tabular import read_table

    path = tmp_path / "junk.csv"
    path.write_bytes(payload)
    try:
        read_table(path)
    except DeepfitError as error:
        assert "junk.csv" in str(error)


@JUNK
@given(st.binary(max_size=2000), st.sampled_from([(deepfit.read_images, ".png"), (deepfit.read_images, ".jpg"),
                                                  (deepfit.read_images, ".gif"), (deepfit.read_images, ".webp"),
                                                  (deepfit.read_audio, ".wav"), (deepfit.read_audio, ".flac"),
                                                  (deepfit.read_audio, ".ogg"), (deepfit.read_audio, ".mp3")]))
def test_the_picture_and_sound_readers_take_any_bytes(tmp_path, payload, reader_and_suffix):
    reader, suffix = reader_and_suffix
    path = tmp_path / f"junk{suffix}"
    path.write_bytes(payload)
    try:
        reader([path], cache=False)
    except DeepfitError as error:
        assert "junk" in str(error)


@JUNK
@given(st.binary(max_size=2000))
def test_the_model_loader_takes_any_bytes(tmp_path, payload):
    path = tmp_path / "junk.deepfit"
    path.write_bytes(payload)
    with pytest.raises(DeepfitError, match="junk.deepfit"):
        deepfit.load(path)
