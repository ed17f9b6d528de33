"""`deepfit serve`: real HTTP on loopback against table, picture and sound models; the same answers as
`deepfit.load(MODEL).predict`; 4xx for every bad request; batching; a token; the page in Chromium."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
import soundfile
from browser import LAPTOP, console_errors, page_problems, save_screenshot, texts_of
from conftest import mixed_table, write_digit_pictures
from live_server import LiveServer
from PIL import Image

import deepfit
from deepfit import Clips, DeepClassifier
from deepfit.data.synthetic_sound import genres
from deepfit.serving import create_app


@pytest.fixture(scope="module")
def table_model(tmp_path_factory):
    frame = mixed_table(300)
    model = DeepClassifier(random_state=0, max_epochs=15).fit(frame.drop(columns="label"), frame["label"])
    path = tmp_path_factory.mktemp("serve") / "table.deepfit"
    model.save(path)
    return path, frame.drop(columns="label")


@pytest.fixture(scope="module")
def table_server(table_model):
    with LiveServer(create_app(table_model[0], max_body_bytes=64 * 1024)) as server:
        yield server


@pytest.fixture(scope="module")
def picture_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("pictures")
    write_digit_pictures(root, digits=[0, 1, 7], per_class=15)
    pictures = deepfit.read_images(root)
    model = DeepClassifier(random_state=0, max_epochs=8).fit(pictures.images, pictures.labels)
    model.save(root / "pictures.deepfit")
    return root / "pictures.deepfit", root


@pytest.fixture(scope="module")
def picture_server(picture_model):
    with LiveServer(create_app(picture_model[0])) as server:
        yield server


def rows_of(frame):
    return json.loads(frame.to_json(orient="records"))  # NaN becomes null, as a client sends it


# ------------------------------------------------------------------------------------ tables
def test_health_model_and_schema(table_server, table_model):
    assert httpx.get(f"{table_server.url}/health").json()["status"] == "ok"
    described = httpx.get(f"{table_server.url}/model").json()
    assert described["classes"] == ["drop", "keep"] and described["kind"] == "table"
    assert [c["name"] for c in described["input"]["rows"]["columns"]] == ["size", "colour", "weight"]
    assert described["training"]["epochs"] == 15
    schema = httpx.get(f"{table_server.url}/openapi.json").json()
    assert "/predict" in schema["paths"]
    row_schema = json.dumps(schema["components"]["schemas"])
    assert '"colour"' in row_schema and '"weight"' in row_schema


def test_table_predictions_match_the_loaded_model(table_server, table_model):
    path, features = table_model
    sample = features.iloc[:40]
    answer = httpx.post(f"{table_server.url}/predict", json={"rows": rows_of(sample)})
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    model = deepfit.load(path)
    assert [p["label"] for p in predictions] == model.predict(sample).tolist()
    served = np.array([[p["probabilities"]["drop"], p["probabilities"]["keep"]] for p in predictions])
    assert np.abs(served - model.predict_proba(sample)).max() < 1e-6


@pytest.mark.parametrize("body, status, says", [
    (b'{"rows": [', 400, "not valid JSON"),
    (b'[1, 2]', 422, "body"),
    (b'{"rows": []}', 422, "at least 1"),
    (b'{"rows": [{"size": 3}]}', 422, "rows.0.colour: Field required"),
    (b'{"rows": [{"size": "big", "colour": "red", "weight": 1}]}', 422, "rows.0.size"),
    (b'{"rows": [{"size": Infinity, "colour": "red", "weight": 1}]}', 422, "finite"),
    (b'{"rows": "all"}', 422, "rows"),
])
def test_bad_bodies_get_a_4xx_that_says_what_is_wrong(table_server, body, status, says):
    answer = httpx.post(f"{table_server.url}/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    assert says in answer.json()["error"]


@pytest.mark.parametrize("value", [1e38, 3.4e38])
def test_numbers_float32_holds_are_answered_however_large(table_server, value):
    row = {"size": value, "colour": "red", "weight": -value}
    answer = httpx.post(f"{table_server.url}/predict", json={"rows": [row]})
    assert answer.status_code == 200, answer.text  # the table network's scaling clips far values smoothly
    assert all(np.isfinite(list(p["probabilities"].values())).all() for p in answer.json()["predictions"])


@pytest.mark.parametrize("value", [3.5e38, -1e300])
def test_numbers_beyond_float32_are_refused_as_the_schema_says(table_server, value):
    answer = httpx.post(f"{table_server.url}/predict", json={"rows": [{"size": 1.0, "colour": "red", "weight": value}]})
    assert answer.status_code == 422 and answer.json()["error"].startswith("rows.0.weight: is beyond float32's range")
    limits = httpx.get(f"{table_server.url}/openapi.json").json()["components"]["schemas"]["Row"]["properties"]
    assert limits["weight"]["anyOf"][0]["maximum"] == float(np.finfo(np.float32).max)


@pytest.mark.parametrize("value", ["true", '"1.5"', "[1]"])
def test_numbers_sent_as_booleans_or_text_are_refused(table_server, value):
    body = f'{{"rows": [{{"size": {value}, "colour": "red", "weight": 1}}]}}'.encode()
    answer = httpx.post(f"{table_server.url}/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["error"].startswith("rows.0.size: Input should be a valid number")


def test_a_body_over_the_limit_is_413(table_server):
    huge = {"rows": [{"size": 1.0, "colour": "red", "weight": 2.0}] * 5000}  # about 200 KB, limit 64 KB
    answer = httpx.post(f"{table_server.url}/predict", json=huge)
    assert answer.status_code == 413 and "limit" in answer.json()["error"]
    assert httpx.get(f"{table_server.url}/health").status_code == 200  # and the server carries on


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer(table_server, table_model):
    path, features = table_model
    model = deepfit.load(path)
    before = httpx.get(f"{table_server.url}/health").json()

    def ask(i):
        row = features.iloc[[i]]
        return i, httpx.post(f"{table_server.url}/predict", json={"rows": rows_of(row)}).json()

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(ask, range(64)))
    expected = model.predict(features.iloc[:64])
    assert [a["predictions"][0]["label"] for _, a in answers] == expected.tolist()
    after = httpx.get(f"{table_server.url}/health").json()
    assert after["requests"] - before["requests"] == 64


def test_requests_queued_together_run_as_one_batch_and_a_bad_one_spoils_nothing(table_model):
    import asyncio

    from deepfit.serving.batcher import Batcher

    path, features = table_model
    model = deepfit.load(path)

    async def scenario():
        batcher = Batcher(model)
        await batcher.start()
        good = [batcher.predict(features.iloc[[i]]) for i in range(20)]
        bad = batcher.predict(features.iloc[[0]].assign(size="huge"))  # text in a numeric column
        results = await asyncio.gather(*good, bad, return_exceptions=True)
        await batcher.stop()
        return results, batcher.counters

    results, counters = asyncio.run(scenario())
    assert [r[0][0] for r in results[:20]] == model.predict(features.iloc[:20]).tolist()
    assert isinstance(results[20], deepfit.errors.InvalidInputError) and "'huge'" in str(results[20])
    assert counters.requests == 21 and counters.largest_batch == 21  # all queued before the worker woke


def test_a_model_trained_on_an_array_serves_rows_by_position_and_keeps_large_offsets(tmp_path):
    rng = np.random.default_rng(0)
    X = np.column_stack([1e8 + rng.normal(size=300), rng.normal(size=300)])  # a column around 1e8
    y = (X[:, 0] - 1e8 + X[:, 1] > 0).astype(int)
    model = DeepClassifier(random_state=0, max_epochs=20).fit(X, y)
    with LiveServer(create_app(model)) as server:
        columns = [c["name"] for c in httpx.get(f"{server.url}/model").json()["input"]["rows"]["columns"]]
        rows = [dict(zip(map(str, columns), map(float, row))) for row in X[:50]]
        answer = httpx.post(f"{server.url}/predict", json={"rows": rows})
    assert answer.status_code == 200, answer.text
    served = np.array([[p["probabilities"]["0"], p["probabilities"]["1"]] for p in answer.json()["predictions"]])
    assert np.abs(served - model.predict_proba(X[:50])).max() < 1e-6
    assert model.score(X, y) > 0.9  # the detail around 1e8 was not rounded away


def test_a_body_streamed_without_length_is_cut_at_the_limit(table_server):
    def chunks():
        for _ in range(200):
            yield b"x" * 1024  # 200 KB, limit 64 KB, no Content-Length (chunked)

    answer = httpx.post(f"{table_server.url}/predict", content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 413


def test_a_token_is_required_when_set(table_model):
    with LiveServer(create_app(table_model[0], token="s3cret")) as server:
        assert httpx.get(f"{server.url}/health").status_code == 200
        refused = httpx.get(f"{server.url}/model")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert httpx.get(f"{server.url}/model", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(f"{server.url}/model", headers={"Authorization": "Bearer s3cret"}).status_code == 200


# ------------------------------------------------------------------------------------ files
def test_uploaded_pictures_get_the_loaded_models_answers(picture_server, picture_model):
    path, root = picture_model
    files = sorted((root / "7").glob("*.png"))[:3] + sorted((root / "0").glob("*.png"))[:2]
    upload = [("files", (f.name, f.read_bytes(), "image/png")) for f in files]
    answer = httpx.post(f"{picture_server.url}/predict", files=upload)
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    model = deepfit.load(path)
    pictures = deepfit.read_images([str(f) for f in files], size=(16, 16), channels=1)
    assert [p["label"] for p in predictions] == [str(v) for v in model.predict(pictures.images)]
    assert [p["file"] for p in predictions] == [f.name for f in files]
    served = np.array([[p["probabilities"][str(c)] for c in model.classes_] for p in predictions])
    assert np.abs(served - model.predict_proba(pictures.images)).max() < 1e-6


def test_bad_uploads_are_415_or_422(picture_server, picture_model):
    _, root = picture_model
    png = next((root / "1").glob("*.png")).read_bytes()
    cases = [([("files", ("notes.txt", b"hello", "text/plain"))], 415, "takes pictures"),
             ([("files", ("x.png", b"not a picture", "image/png"))], 422, "not a readable picture"),
             ([("files", ("empty.png", b"", "image/png"))], 422, "empty"),
             ([("files", ("../../etc/passwd.png", png[:40], "image/png"))], 422, "passwd.png")]
    for upload, status, says in cases:
        answer = httpx.post(f"{picture_server.url}/predict", files=upload)
        assert answer.status_code == status, answer.text
        assert says in answer.json()["error"]
    unique = f"deepfit-upload-{os.getpid()}-{time.time_ns()}"
    good = httpx.post(f"{picture_server.url}/predict", files=[("files", (f"../../{unique}.png", png, "image/png"))])
    assert good.status_code == 200 and good.json()["predictions"][0]["file"] == f"../../{unique}.png"
    import tempfile
    from pathlib import Path

    for folder in {Path.cwd(), Path(tempfile.gettempdir()), root, Path("/")}:
        assert not list(folder.glob(f"**/{unique}*" if folder == root else f"{unique}*")), "an upload was written"
    no_files = httpx.post(f"{picture_server.url}/predict", data={"other": "1"})
    assert no_files.status_code == 422 and "files" in no_files.json()["error"]


def test_sound_uploads_are_decoded_resampled_and_answered(tmp_path):
    waveforms, labels = genres(per_class=6, rate=8000, seconds=(1.0, 1.5), seed=3)
    model = DeepClassifier(random_state=0, max_epochs=3).fit(Clips(waveforms, 8000), labels)
    import soxr

    buffers = []
    for i in (0, 7, 13):
        buffer = io.BytesIO()  # sent at 16 kHz to a model of 8 kHz: the server resamples
        soundfile.write(buffer, soxr.resample(waveforms[i], 8000, 16000), 16000, format="WAV", subtype="PCM_16")
        buffers.append((f"clip{i}.wav", buffer.getvalue()))
    slow = io.BytesIO()
    soundfile.write(slow, np.zeros(100, np.float32), 8000, format="WAV")
    header = bytearray(slow.getvalue())
    header[24:28] = (1).to_bytes(4, "little")  # a header claiming 1 sample per second
    with LiveServer(create_app(model)) as server:
        answer = httpx.post(f"{server.url}/predict", files=[("files", (n, b, "audio/wav")) for n, b in buffers])
        refused = httpx.post(f"{server.url}/predict", files=[("files", ("slow.wav", bytes(header), "audio/wav"))])
    assert answer.status_code == 200, answer.text
    clips = Clips([soundfile.read(io.BytesIO(b), dtype="float32")[0] for _, b in buffers], 16000)
    assert [p["label"] for p in answer.json()["predictions"]] == model.predict(clips).tolist()
    assert refused.status_code == 422 and "samples per second" in refused.json()["error"]


# ------------------------------------------------------------------------------------ the command
@pytest.mark.slow
def test_the_command_binds_loopback_and_stops_cleanly(table_model):
    port = 18_000 + os.getpid() % 1000
    process = subprocess.Popen([sys.executable, "-m", "deepfit", "serve", str(table_model[0]), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not start: " + process.stderr.read())
        listening = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout
        assert f"127.0.0.1:{port}" in listening and f"0.0.0.0:{port}" not in listening
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    assert process.returncode in (0, -signal.SIGINT)


# ------------------------------------------------------------------------------------ the page
def test_the_page_predicts_a_table_row(browser, table_server, table_model):
    path, features = table_model
    browser.get(table_server.url + "/")
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 20).until(lambda d: d.find_elements("css selector", "#fields input"))
    row = features.iloc[3]
    browser.find_element("css selector", "[data-column='size']").send_keys(str(row["size"]))
    if isinstance(row["colour"], str):
        Select(browser.find_element("css selector", "[data-column='colour']")).select_by_value(row["colour"])
    if not np.isnan(row["weight"]):
        browser.find_element("css selector", "[data-column='weight']").send_keys(str(row["weight"]))
    browser.find_element("id", "predict-row").click()
    WebDriverWait(browser, 20).until(lambda d: d.find_elements("css selector", "#result .label"))
    shown = browser.find_element("css selector", "#result .label").text
    assert shown == str(deepfit.load(path).predict(features.iloc[[3]])[0])
    bars = browser.find_elements("css selector", "#result .bar")
    assert sorted(b.get_attribute("data-class") for b in bars) == ["drop", "keep"]
    assert console_errors(browser) == []
    save_screenshot(browser, "page-table")


def test_the_page_predicts_an_uploaded_picture(browser, picture_server, picture_model):
    path, root = picture_model
    picture = sorted((root / "7").glob("*.png"))[0]
    browser.get(picture_server.url + "/")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 20).until(lambda d: not d.find_element("id", "file-input").get_attribute("hidden"))
    browser.find_element("id", "files").send_keys(str(picture))
    WebDriverWait(browser, 20).until(lambda d: d.find_elements("css selector", "#result .label"))
    pictures = deepfit.read_images([str(picture)], size=(16, 16), channels=1)
    assert browser.find_element("css selector", "#result .label").text == str(
        deepfit.load(path).predict(pictures.images)[0])
    assert len(browser.find_elements("css selector", "#result .bar")) == 3
    thumbnail = browser.find_element("css selector", "#result img")
    assert browser.execute_script("return arguments[0].naturalWidth", thumbnail) == Image.open(picture).width
    save_screenshot(browser, "page-picture")


def _draw(browser, strokes):
    """Pointer strokes on the page's drawing pad, each a list of (x, y) in 0-1 of its size."""
    from selenium.webdriver.common.action_chains import ActionChains

    pad = browser.find_element("id", "pad")
    width, height = pad.size["width"], pad.size["height"]
    for stroke in strokes:
        actions = ActionChains(browser, duration=10)
        x, y = stroke[0]
        actions.move_to_element_with_offset(pad, int((x - 0.5) * width), int((y - 0.5) * height)).click_and_hold()
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
            actions.move_by_offset(int((x1 - x0) * width), int((y1 - y0) * height))
        actions.release().perform()


def _seen(browser) -> np.ndarray:
    """The pixels the page shrank the drawing to, as the model takes them: (1, H, W) grey uint8."""
    data = browser.execute_script("""const c = document.getElementById('seen');
        return [c.width, c.height, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)];""")
    width, height, rgba = data
    return np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[None, :, :, 0]


def _bars_match(browser, expected: dict, tolerance: float = 1e-3) -> bool:
    # read in one script: the page replaces its bars as answers arrive, so elements found one call
    # earlier can be gone by the next
    shown = browser.execute_script("""const bars = {};
        for (const bar of document.querySelectorAll('#result .bar')) bars[bar.dataset.class] = Number(bar.dataset.probability);
        return bars;""")
    return shown.keys() == expected.keys() and all(abs(shown[c] - expected[c]) <= tolerance for c in shown)


def test_the_page_answers_a_digit_drawn_with_the_pointer(browser, picture_server, picture_model):
    from selenium.webdriver.support.ui import WebDriverWait

    model = deepfit.load(picture_model[0])
    browser.get(picture_server.url + "/")
    WebDriverWait(browser, 20).until(lambda d: not d.find_element("id", "draw-panel").get_attribute("hidden"))
    assert browser.find_element("id", "seen-size").text == "16x16"
    circle = [(0.5 + 0.28 * np.sin(t), 0.5 - 0.36 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 24)]
    for strokes in ([[(0.5, 0.12), (0.5, 0.5), (0.5, 0.88)]], [circle]):   # a 1, then (after Clear) a 0
        browser.find_element("id", "clear").click()
        _draw(browser, strokes)
        seen = _seen(browser)
        assert seen.max() > 200 and seen.mean() < 128   # white strokes on black, as the digits were drawn
        # the answer follows the drawing, without a click: the bars are the model's on what it sees now
        expected = dict(zip(map(str, model.classes_), model.predict_proba(seen)[0]))
        WebDriverWait(browser, 20).until(lambda d, want=expected: _bars_match(d, want))
        assert browser.find_element("css selector", "#result .label").text == str(model.predict(seen)[0])
    browser.find_element("id", "camera-start").click()   # Chromium's made-up camera: a moving test pattern
    WebDriverWait(browser, 20).until(lambda d: d.execute_script("return document.getElementById('camera').videoWidth"))
    browser.find_element("id", "camera-take").click()
    WebDriverWait(browser, 20).until(lambda d: texts_of(d, "#result .file") == ["camera.png"])
    assert browser.find_element("css selector", "#result .label").text in {"0", "1", "7"}
    assert console_errors(browser) == []
    save_screenshot(browser, "page-draw")
    browser.set_window_size(390, 844)   # a phone
    try:
        assert page_problems(browser) == []
    finally:
        browser.set_window_size(*LAPTOP)


def test_the_page_records_from_the_microphone_for_a_sound_model(browser):
    from selenium.webdriver.support.ui import WebDriverWait

    waveforms, labels = genres(per_class=6, rate=8000, seconds=(1.0, 1.5), seed=3)
    model = DeepClassifier(random_state=0, max_epochs=3).fit(Clips(waveforms, 8000), labels)
    with LiveServer(create_app(model)) as server:
        browser.get(server.url + "/")
        WebDriverWait(browser, 20).until(lambda d: not d.find_element("id", "record-box").get_attribute("hidden"))
        assert browser.find_element("id", "draw-panel").get_attribute("hidden")   # no pad for sound
        browser.find_element("id", "record").click()   # Chromium's made-up microphone: a beep
        WebDriverWait(browser, 30).until(lambda d: texts_of(d, "#result .file") == ["recording.wav"])
        assert browser.find_element("css selector", "#result .label").text in set(labels)
        assert len(browser.find_elements("css selector", "#result .bar")) == len(set(labels))
        assert console_errors(browser) == []
