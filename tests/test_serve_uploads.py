"""Hostile uploads: a 194 KB PNG that holds 100 megapixels of 16-bit grey, eighty of them in one
request, sound longer than a request may carry, garbage named as a picture, 5 MB of JSON rows. They are measured from
their headers and refused over the budgets, or decoded off the event loop in bounded memory, while
`/health` keeps answering; every error names the file, never a Python object."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile
from conftest import write_digit_pictures
from live_server import LiveServer
from PIL import Image
from reliability import record

import deepfit
from deepfit import Clips, DeepClassifier
from deepfit.data.synthetic_sound import genres
from deepfit.data.uploads import UploadBudget
from deepfit.serving import create_app
from deepfit.serving.decoding import Decoder, ServerBusy

BIG_SIDE = 9_999
MEMORY_BOUND_MB = 500  # the server's peak resident memory over its idle size while it takes these uploads


@pytest.fixture(scope="module")
def picture_model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("uploads")
    write_digit_pictures(root / "digits", digits=[0, 1], per_class=10)
    pictures = deepfit.read_images(root / "digits")
    DeepClassifier(random_state=0, max_epochs=2).fit(pictures.images, pictures.labels).save(root / "model.deepfit")
    return root / "model.deepfit"


@pytest.fixture(scope="module")
def big_png() -> bytes:
    """100 megapixels of 16-bit grey that compress to about 194 KB."""
    buffer = io.BytesIO()
    Image.new("I;16", (BIG_SIDE, BIG_SIDE)).save(buffer, "PNG")
    return buffer.getvalue()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _memory_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for process {pid}")


class HealthPoller(threading.Thread):
    """Asks GET /health over and over, from its own client, and keeps each answer's seconds."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.seconds, self.done = url, [], threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.done.is_set():
                started = time.perf_counter()
                assert client.get(f"{self.url}/health").status_code == 200
                self.seconds.append(time.perf_counter() - started)
                time.sleep(0.01)

    @classmethod
    def idle(cls, url: str, seconds: float = 1.0) -> HealthPoller:
        """A poller run for `seconds` while nothing else is asked: this machine's idle answers."""
        poller = cls(url)
        poller.start()
        time.sleep(seconds)
        poller.done.set()
        poller.join()
        return poller

    def p99(self) -> float:
        return float(np.quantile(self.seconds, 0.99))


def _served(model: Path, *options: str):
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "deepfit", "serve", str(model), "--port", str(port), *options],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"the server did not start: {process.communicate()[1][-2000:]}")


@pytest.mark.slow
def test_huge_pictures_neither_stall_the_server_nor_blow_its_memory(picture_model, big_png):
    process, url = _served(picture_model, "--max-picture-mp", "100")
    try:
        small = io.BytesIO()
        Image.new("L", (16, 16)).save(small, "PNG")
        assert httpx.post(f"{url}/predict", files=[("files", ("warm.png", small.getvalue()))]).status_code == 200
        idle_mb = _memory_mb(process.pid, "VmRSS")
        baseline = HealthPoller.idle(url)
        poller = HealthPoller(url)
        poller.start()
        one = httpx.post(f"{url}/predict", files=[("files", ("big.png", big_png, "image/png"))], timeout=120)
        many = httpx.post(f"{url}/predict", timeout=120,
                          files=[("files", (f"big{i}.png", big_png, "image/png")) for i in range(80)])
        poller.done.set()
        poller.join()
        peak_mb = _memory_mb(process.pid, "VmHWM")
    finally:
        process.terminate()
        process.communicate(timeout=30)
    record("hostile uploads", idle_mb=round(idle_mb), peak_mb=round(peak_mb), bound_mb=MEMORY_BOUND_MB,
           health_requests=len(poller.seconds), health_p99_ms=round(1000 * poller.p99(), 1),
           idle_health_p99_ms=round(1000 * baseline.p99(), 1), big_picture_status=one.status_code,
           eighty_pictures_status=many.status_code)
    assert one.status_code == 200, one.text  # decoded (shrunk to the model's 16 x 16) and answered
    assert many.status_code == 413 and "more than 100 megapixels together" in many.json()["error"], many.text
    assert many.json()["error"].startswith("big1.png: ")  # refused from the headers: the second file tips it over
    # /health answered all along: within 75 ms at the 99th percentile (or 5x this machine's idle p99 when
    # it is so loaded that even idle answers take longer). About 6 ms on 2 cores; 86-153 ms when the whole
    # picture's range was measured in one call that held Python's lock, and the 15 MB body parsed in one go.
    assert len(poller.seconds) >= 20 and poller.p99() < max(0.075, 5 * baseline.p99()), (poller.p99(), baseline.p99())
    assert peak_mb - idle_mb < MEMORY_BOUND_MB, (idle_mb, peak_mb)


def test_a_picture_over_the_servers_budget_is_refused_from_its_header(picture_model, big_png):
    with LiveServer(create_app(picture_model)) as server:  # the default budget: 50 megapixels a picture
        answer = httpx.post(f"{server.url}/predict", files=[("files", ("scan.png", big_png, "image/png"))])
    assert answer.status_code == 413
    assert answer.json()["error"] == ("scan.png: 9999 x 9999 pixels is more than the 50 megapixels a picture may "
                                      "hold on this server; shrink it first.")


@pytest.mark.parametrize("payload", [b"GIF89a but no more", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, b"plain text"])
def test_an_unreadable_upload_is_named_without_any_python_object(picture_model, payload):
    with LiveServer(create_app(picture_model)) as server:
        answer = httpx.post(f"{server.url}/predict", files=[("files", ("holiday.png", payload, "image/png"))])
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error.startswith("holiday.png: not a readable picture") and "0x" not in error and "<" not in error, error


def test_sound_over_the_request_budget_is_refused_before_decoding(tmp_path):
    waveforms, labels = genres(per_class=3, rate=8000, seconds=(1.0, 1.0), seed=0)
    model = DeepClassifier(random_state=0, max_epochs=1).fit(Clips(waveforms, 8000), labels)
    clips = []
    for i in range(3):
        buffer = io.BytesIO()
        soundfile.write(buffer, waveforms[i], 8000, format="WAV")
        clips.append(("files", (f"clip{i}.wav", buffer.getvalue(), "audio/wav")))
    with LiveServer(create_app(model, budget=UploadBudget(request_seconds=2.5))) as server:
        two = httpx.post(f"{server.url}/predict", files=clips[:2])
        three = httpx.post(f"{server.url}/predict", files=clips)
    assert two.status_code == 200, two.text
    assert three.status_code == 413
    assert three.json()["error"] == "clip2.wav: the files of this request last more than 2.5 seconds together; send " \
                                    "fewer per request."


def test_a_full_decoding_pool_refuses_more_work_instead_of_queueing_it():
    release = threading.Event()

    async def scenario():
        decoder = Decoder(workers=1, max_waiting=1)
        running = [asyncio.ensure_future(decoder.run(release.wait, 30)) for _ in range(2)]
        await asyncio.sleep(0.05)
        with pytest.raises(ServerBusy, match="retry in a moment"):
            await decoder.run(release.wait, 30)
        release.set()
        answers = await asyncio.gather(*running)
        after = await decoder.run(lambda: "free again")
        decoder.shutdown()
        return answers, after

    answers, after = asyncio.run(scenario())
    assert answers == [True, True] and after == "free again"


def test_a_busy_server_answers_503_with_retry_after(picture_model, big_png):
    upload = [("files", ("big.png", big_png, "image/png"))]
    budget = UploadBudget(picture_pixels=BIG_SIDE ** 2)
    with LiveServer(create_app(picture_model, budget=budget, decode_workers=1, max_waiting=0)) as server:
        with httpx.Client(timeout=120) as client:
            first = threading.Thread(target=lambda: client.post(f"{server.url}/predict", files=upload))
            first.start()  # a second or more of decoding, on the server's one decoding thread
            deadline = time.monotonic() + 60
            while httpx.get(f"{server.url}/health").json()["decoding"] == 0 and time.monotonic() < deadline:
                time.sleep(0.005)
            busy = httpx.post(f"{server.url}/predict", files=upload)
            first.join(120)
        after = httpx.post(f"{server.url}/predict", files=upload, timeout=120)
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1" and "retry" in busy.json()["error"]
    assert after.status_code == 200, after.text


@pytest.fixture(scope="module")
def table_model(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    features = {f"x{i}": rng.normal(size=300) for i in range(20)}
    labels = np.where(features["x0"] > 0, "up", "down")
    path = tmp_path_factory.mktemp("rows") / "model.deepfit"
    import pandas as pd

    DeepClassifier(random_state=0, max_epochs=2).fit(pd.DataFrame(features), labels).save(path)
    return path


def _rows(count: int, seed: int = 1, prefix: str = "x") -> list[dict]:
    values = np.random.default_rng(seed).normal(size=(count, 20))
    return [{f"{prefix}{i}": float(v) for i, v in enumerate(row)} for row in values]


@pytest.mark.slow
def test_a_large_or_misnamed_json_body_does_not_stall_the_server(table_model):
    """10,000 rows (5 MB) whose 200,000 fields are all misnamed held the event loop 1.1 s when FastAPI
    parsed and validated the body itself; now it is parsed off the loop, 500 rows at a time, and the
    10,000 answers are written there too."""
    process, url = _served(table_model)
    good, misnamed = json.dumps({"rows": _rows(10_000)}), json.dumps({"rows": _rows(10_000, prefix="col")})
    try:
        with httpx.Client(timeout=120, headers={"content-type": "application/json"}) as client:
            assert client.post(f"{url}/predict", content=good).status_code == 200  # warm: threads, first batch
            baseline = HealthPoller.idle(url)
            poller = HealthPoller(url)
            poller.start()
            answers = [client.post(f"{url}/predict", content=body) for body in (misnamed, good, misnamed)]
            poller.done.set()
            poller.join()
    finally:
        process.terminate()
        process.communicate(timeout=30)
    record("large json bodies", health_requests=len(poller.seconds), health_p99_ms=round(1000 * poller.p99(), 1),
           idle_health_p99_ms=round(1000 * baseline.p99(), 1))
    assert [answer.status_code for answer in answers] == [422, 200, 422]
    assert answers[0].json()["error"] == "rows.0.x0: Field required"
    assert len(answers[1].json()["predictions"]) == 10_000
    # About 25-30 ms on 2 cores: pydantic-core parsing the 5 MB in one call that holds Python's lock (the
    # answers are written in slices); 1.1-1.2 s before. The bound leaves a slower machine 5 times that.
    assert len(poller.seconds) >= 5 and poller.p99() < max(0.15, 5 * baseline.p99()), (poller.p99(), baseline.p99())


def test_a_large_body_is_validated_in_slices_that_name_the_row_and_answer_as_a_small_one(table_model):
    model = deepfit.load(table_model)
    rows = _rows(3_000, seed=2)
    with LiveServer(create_app(table_model)) as server:
        answer = httpx.post(f"{server.url}/predict", json={"rows": rows}, timeout=60)
        bad = [dict(row) for row in rows]
        del bad[1234]["x7"]
        bad[2999]["x3"] = "high"
        missing = httpx.post(f"{server.url}/predict", json={"rows": bad}, timeout=60)
        too_many = httpx.post(f"{server.url}/predict", json={"rows": rows * 4}, timeout=60)
        form = httpx.post(f"{server.url}/predict", data={"rows": "1"})
    assert answer.status_code == 200, answer.text
    import pandas as pd

    expected = model.predict(pd.DataFrame(rows))
    assert [p["label"] for p in answer.json()["predictions"]] == expected.tolist()
    assert missing.status_code == 422 and missing.json()["error"] == "rows.1234.x7: Field required"  # in its slice
    assert too_many.status_code == 422 and "at most 10000" in too_many.json()["error"] and "12000" in too_many.text
    assert form.status_code == 422 and "application/json" in form.json()["error"]
