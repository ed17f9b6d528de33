"""Sliding-window detection: faces pasted at known places and sizes onto cluttered scenes must be
found (precision, recall, average precision at IoU 0.5), the fully-convolutional scan must give the
boxes a loop over crops gives, and bad input must get one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
import torch
from conftest import run_cli
from PIL import Image
from reliability import record
from selenium.webdriver.support.ui import WebDriverWait

import deepfit
from deepfit import SlidingWindowDetector
from deepfit.data.synthetic import clutter, face_patches, face_scene
from deepfit.detection.metrics import detection_metrics
from deepfit.detection.scan import ScanSettings, scan, sliding_loop, suppress

WINDOW = 24


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("detection")
    for name in ("faces", "background", "scenes"):
        (root / name).mkdir()
    for i, patch in enumerate(face_patches(150, WINDOW, seed=0)):
        Image.fromarray(patch).save(root / "faces" / f"{i:04d}.png")
    rng = np.random.default_rng(5)
    for i in range(20):
        Image.fromarray(clutter(120, 160, rng)).save(root / "background" / f"{i:03d}.png")
    rng, truth = np.random.default_rng(9), {}
    for i in range(12):  # faces from 24 to 60 pixels: three octaves of the pyramid
        scene, boxes = face_scene(120, 160, rng, int(rng.integers(1, 4)), window=WINDOW)
        Image.fromarray(scene).save(root / "scenes" / f"{i:03d}.png")
        truth[f"{i:03d}.png"] = boxes
    (root / "truth.json").write_text(json.dumps(truth))
    return root


@pytest.fixture(scope="module")
def trained(folders):
    out = folders / "detector"
    result = run_cli("train-detector", folders / "faces", folders / "background", "--out", out, "--label", "face",
                     "--quiet")
    assert result.returncode == 0, result.stderr
    return out / "model.deepfit"


@pytest.fixture(scope="module")
def detected(folders, trained) -> dict:
    result = run_cli("detect", trained, folders / "scenes", "-o", folders / "boxes.json", "--draw",
                     folders / "drawn", "--truth", folders / "truth.json")
    assert result.returncode == 0, result.stderr
    return json.loads((folders / "boxes.json").read_text())


@pytest.mark.slow
def test_the_detector_finds_pasted_faces(folders, trained, detected):
    report = detected
    metrics = report["evaluation"]
    print(f"\nfaces pasted on {metrics['pictures']} scenes: precision {metrics['precision']:.3f}, recall "
          f"{metrics['recall']:.3f}, AP@0.5 {metrics['average_precision']:.3f} ({metrics['objects']} faces)")
    assert metrics["objects"] >= 20
    assert metrics["recall"] >= 0.9 and metrics["precision"] >= 0.8 and metrics["average_precision"] >= 0.9
    first = report["pictures"][0]
    assert first["file"] == "000.png" and (first["width"], first["height"]) == (160, 120)
    assert all(set(box) == {"x", "y", "width", "height", "score", "label"} for box in first["boxes"])
    assert {box["label"] for p in report["pictures"] for box in p["boxes"]} == {"face"}
    drawn = np.asarray(Image.open(folders / "drawn" / "000.png").convert("RGB")).astype(int)
    assert drawn.shape == (120, 160, 3)
    red = (drawn[:, :, 0] > 200) & (drawn[:, :, 1] < 90) & (drawn[:, :, 2] < 90)
    assert red.sum() > 40  # the boxes are drawn on a grey picture

    summary = json.loads((trained.parent / "metrics.json").read_text())["training"]
    first_round, second_round = summary["rounds"]
    # Hard-negative mining: the false alarms of round 1 became background examples of round 2.
    assert second_round["mined"] > 0 and second_round["background"] == first_round["background"] + second_round["mined"]
    assert second_round["false_alarms_after"] <= first_round["false_alarms_after"]


def test_the_saved_detector_answers_as_the_command_did(folders, trained, detected):
    detector = deepfit.load(trained)
    assert isinstance(detector, SlidingWindowDetector) and detector.window_ == (WINDOW, WINDOW)
    scene = np.asarray(Image.open(folders / "scenes" / "000.png"))
    assert detector.detect([scene])[0] == detected["pictures"][0]["boxes"]
    assert detector.predict_proba(face_patches(4, WINDOW, seed=99))[:, 1].min() > 0.5  # faces never seen


def test_the_threshold_is_fitted_on_held_back_pictures_stored_and_can_be_overridden(folders, trained):
    summary = json.loads((trained.parent / "metrics.json").read_text())["training"]
    fitted = summary["threshold"]
    # 20 negative pictures and 150 faces: a fifth and a tenth held back, the rest trained on.
    assert fitted["given"] is False and fitted["held_back_negatives"] == 4 and fitted["held_back_positives"] == 15
    assert summary["negative_pictures"] == 16
    assert fitted["precision"] >= 0.9 and fitted["recall"] >= 0.8 and 0.5 <= fitted["value"] <= 0.99
    detector = deepfit.load(trained)
    assert detector.threshold_ == pytest.approx(fitted["value"], abs=5e-5)  # metrics.json keeps 4 decimals
    scene = np.asarray(Image.open(folders / "scenes" / "000.png"))
    lenient, fitted_boxes = detector.detect([scene], threshold=0.06)[0], detector.detect([scene])[0]
    assert len(lenient) >= len(fitted_boxes)
    assert all(box["score"] >= fitted["value"] for box in fitted_boxes)


def test_a_given_threshold_is_kept_and_nothing_is_held_back():
    rng = np.random.default_rng(3)
    negatives = [clutter(60, 80, rng) for _ in range(5)]
    detector = SlidingWindowDetector(threshold=0.7, rounds=1, max_epochs=1, random_state=0).fit(
        face_patches(20, WINDOW, seed=1), negatives)
    assert detector.threshold_ == 0.7 and detector.training_summary_["negative_pictures"] == 5
    assert detector.training_summary_["threshold"] == {"value": 0.7, "given": True}


def test_min_size_looks_for_objects_smaller_than_the_window(trained):
    detector = deepfit.load(trained)
    scene, truth = face_scene(60, 80, np.random.default_rng(2), 2, window=16, largest=1.2)  # faces of 16 to 19 px
    with pytest.raises(deepfit.errors.InvalidInputError, match="smaller --min-size"):
        detector.detect([scene[:20, :20]])
    assert all(box["width"] >= WINDOW for box in detector.detect([scene])[0])
    found = detector.detect([scene], min_size=14)  # enlarged, so that a 16-pixel face fills the window
    assert min(box["width"] for box in found[0]) < WINDOW
    assert detection_metrics(found, [truth])["true_positives"] >= 1
    assert detector.detect([scene[:20, :20]], min_size=14) == [[]]  # large enough once enlarged
    with pytest.raises(deepfit.errors.InvalidInputError, match="megapixels; raise min_size"):
        detector.detect([np.zeros((2000, 2000), dtype=np.uint8)], min_size=2)  # 576 megapixels to scan


def test_mined_windows_come_best_first_whatever_their_pyramid_level():
    import torch

    from deepfit.detection.scan import Candidates, windows_of

    levels = [torch.arange(64.0).reshape(1, 1, 8, 8), 100 + torch.arange(36.0).reshape(1, 1, 6, 6)]
    candidates = Candidates(boxes=np.zeros((3, 4)), scores=np.array([0.9, 0.8, 0.7]), classes=np.ones(3, int),
                            levels=np.array([1, 0, 1]), corners=np.array([[2, 2], [0, 4], [0, 0]]))
    patches = windows_of(candidates, np.array([0, 1, 2]), levels, (2, 2))
    assert patches[:, 0, 0, 0].tolist() == [100 + 2 * 6 + 2, 4, 100]  # the top-left pixel of each, in order


@pytest.mark.slow
def test_drawings_never_replace_the_pictures_they_are_drawn_from(folders, trained, tmp_path):
    for name in ("one", "two"):  # two pictures of one name, from folders given by absolute pattern
        (tmp_path / "pictures" / name).mkdir(parents=True)
        (tmp_path / "pictures" / name / "same.png").write_bytes((folders / "scenes" / "000.png").read_bytes())
    before = (tmp_path / "pictures" / "one" / "same.png").read_bytes()
    pictures = tmp_path / "pictures"
    result = run_cli("detect", trained, pictures / "one" / "same.png", pictures / "two" / "same.png",
                     "-o", tmp_path / "b.json", "--draw", tmp_path / "drawn")
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in (tmp_path / "drawn").iterdir()) == ["same-2.png", "same.png"]
    # An absolute pattern names the pictures by their whole path: the drawings still land in --draw.
    result = run_cli("detect", trained, str(tmp_path / "pictures" / "*" / "same.png"), "-o", tmp_path / "c.json",
                     "--draw", tmp_path / "drawn-again")
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "drawn-again").rglob("same.png"))) == 2
    assert (tmp_path / "pictures" / "one" / "same.png").read_bytes() == before
    assert sorted(path.name for path in (tmp_path / "pictures" / "one").iterdir()) == ["same.png"]


def test_the_fully_convolutional_scan_gives_the_boxes_of_a_loop_over_crops():
    patches = face_patches(60, WINDOW, seed=3)
    rng = np.random.default_rng(0)
    detector = SlidingWindowDetector(rounds=1, max_epochs=3, random_state=0).fit(
        patches, [clutter(64, 80, rng) for _ in range(6)])
    scene, _ = face_scene(90, 120, np.random.default_rng(1), 2, window=WINDOW)
    settings = ScanSettings(threshold=0.3)
    candidates, _ = scan(detector.module_, scene[:, :, None], detector.window_, settings, detector.device_)
    boxes, scores = sliding_loop(detector.module_, scene[:, :, None], detector.window_, settings, detector.device_)
    assert len(candidates.scores) > 0 and len(boxes) == len(candidates.scores)
    order = np.lexsort((boxes[:, 1], boxes[:, 0], boxes[:, 2]))
    mine = np.lexsort((candidates.boxes[:, 1], candidates.boxes[:, 0], candidates.boxes[:, 2]))
    np.testing.assert_allclose(candidates.boxes[mine], boxes[order], atol=1e-6)
    np.testing.assert_allclose(candidates.scores[mine], scores[order], atol=1e-4)
    kept = suppress(candidates, 0.3)
    assert 0 < len(kept) < len(candidates.scores)


@pytest.mark.slow
def test_a_detector_killed_in_its_second_round_resumes_to_the_uninterrupted_detector(folders, trained, tmp_path):
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "deepfit", "train-detector", str(folders / "faces"), str(folders / "background"),
               "--out", str(out), "--label", "face", "--quiet"]  # as `trained` was made, which was never stopped
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not (out / "checkpoint.safetensors.stage").exists() and process.poll() is None:
        assert time.monotonic() < deadline, "training never reached its second round"
        time.sleep(0.01)
    time.sleep(1.5)  # some epochs into the second round
    process.kill()
    process.wait(timeout=60)
    assert not (out / "model.deepfit").exists(), "the run finished before it was killed: nothing was tested"
    # The unfinished run is neither taken over nor resumed unasked.
    refused = run_cli("train-detector", folders / "faces", folders / "background", "--out", out, "--label", "face")
    assert refused.returncode == 2 and "pass --resume to continue it, or --overwrite" in refused.stderr

    resumed = run_cli("train-detector", folders / "faces", folders / "background", "--out", out, "--label", "face",
                      "--quiet", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(path.name for path in out.iterdir()) == ["metrics.json", "model.deepfit"]
    expected = deepfit.load(trained).module_.state_dict()
    produced = deepfit.load(out / "model.deepfit").module_.state_dict()
    assert all(torch.equal(produced[name], expected[name]) for name in expected)  # the weights, bit for bit
    rounds = json.loads((out / "metrics.json").read_text())["training"]["rounds"]
    first = json.loads((trained.parent / "metrics.json").read_text())["training"]["rounds"]
    assert rounds[1]["mined"] > 0
    for key in ("mined", "background", "epochs", "train_loss", "false_alarms_after"):  # the summary, as if never stopped
        assert [r[key] for r in rounds] == [r[key] for r in first], key
    record("kills: a detector in its second round", killed=1, resumed_bit_for_bit=1)


def test_resuming_a_run_stopped_after_its_last_checkpoint_keeps_the_summary(tmp_path):
    # Stopped while the last round's false alarms were counted (the loop had nothing left to train): the
    # detector and its summary, losses included, are those of the finished run; nothing is NaN.
    patches, rng = face_patches(60, WINDOW, seed=1), np.random.default_rng(2)
    negatives = [clutter(60, 80, rng) for _ in range(6)]
    settings = dict(max_epochs=3, random_state=0)
    finished = SlidingWindowDetector(**settings).fit(patches, negatives, checkpoint=tmp_path / "run.safetensors")
    assert (tmp_path / "run.safetensors.stage").exists()  # the API leaves the files; the command line removes them
    resumed = SlidingWindowDetector(**settings).fit(patches, negatives, checkpoint=tmp_path / "run.safetensors",
                                                    resume=True)
    assert resumed.training_summary_["rounds"] == finished.training_summary_["rounds"]
    assert resumed.history_ == finished.history_
    assert all(torch.equal(a, b) for a, b in zip(resumed.module_.state_dict().values(),
                                                 finished.module_.state_dict().values()))
    with pytest.raises(deepfit.errors.ModelFileError, match="holds no checkpoint to resume"):
        SlidingWindowDetector(**settings).fit(patches, negatives, checkpoint=tmp_path / "none", resume=True)
    (tmp_path / "run.safetensors.stage").unlink()  # as if stopped in round 1: the loop's checkpoint alone
    with pytest.raises(deepfit.errors.ModelFileError, match="belongs to a run with other data or settings"):
        SlidingWindowDetector(max_epochs=2, random_state=0).fit(patches, negatives,
                                                                 checkpoint=tmp_path / "run.safetensors", resume=True)


@pytest.mark.slow
def test_bad_detector_input_gets_one_line_and_exit_code_2(folders, trained, tmp_path):
    (tmp_path / "small").mkdir()
    tiny = tmp_path / "small" / "tiny.png"
    Image.fromarray(np.zeros((20, 30), dtype=np.uint8)).save(tiny)
    Image.fromarray(clutter(120, 160, np.random.default_rng(0))).save(tmp_path / "small" / "large.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    odd = tmp_path / "odd"
    odd.mkdir()
    for i, size in enumerate([(24, 24), (24, 24), (30, 24)]):
        Image.fromarray(np.full(size[::-1], 128, dtype=np.uint8)).save(odd / f"{i}.png")
    cases = [
        (["detect", trained, tiny, "-o", tmp_path / "b.json"], "tiny.png: is 30x20 pixels, smaller than the detector's 24x24 window"),
        (["train-detector", empty, folders / "background", "--out", tmp_path / "d1"], "holds no positive patches"),
        (["train-detector", folders / "faces", folders / "background", "--window", "32", "--out", tmp_path / "d2"],
         "0000.png: is 24x24 pixels but the window is 32x32"),
        (["train-detector", odd, folders / "background", "--out", tmp_path / "d3"], "2.png: is 30x24 pixels but the first positive"),
        (["train-detector", folders / "faces", tmp_path / "small", "--out", tmp_path / "d4"],
         "tiny.png: is 30x20 pixels, smaller"),
        (["predict", trained, folders / "scenes", "-o", tmp_path / "p.csv"], "is a detector; find objects with 'deepfit detect"),
    ]
    for arguments, expected in cases:
        result = run_cli(*arguments)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2, (arguments, result.stderr)
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], (arguments, result.stderr)
    assert not (tmp_path / "b.json").exists() and not any((tmp_path / f"d{i}").exists() for i in range(1, 5))


@pytest.fixture(scope="module")
def detection_server(trained):
    from live_server import LiveServer

    from deepfit.serving import create_app

    with LiveServer(create_app(trained)) as server:
        yield server


def test_serve_answers_a_detector_with_boxes(folders, trained, detection_server):
    scene = folders / "scenes" / "001.png"
    described = httpx.get(detection_server.url + "/model").json()
    assert described["kind"] == "detector" and described["classes"] == ["face"]
    response = httpx.post(detection_server.url + "/predict", files=[("files", ("001.png", scene.read_bytes(), "image/png"))])
    assert response.status_code == 200, response.text
    answer = response.json()["predictions"][0]
    expected = deepfit.load(trained).detect([np.asarray(Image.open(scene))])[0]
    assert answer["file"] == "001.png" and answer["boxes"] == expected and len(expected) > 0
    tiny = Image.new("L", (12, 12))
    import io

    buffer = io.BytesIO()
    tiny.save(buffer, format="PNG")
    refused = httpx.post(detection_server.url + "/predict", files=[("files", ("tiny.png", buffer.getvalue(), "image/png"))])
    assert refused.status_code == 422 and "smaller than the detector's 24x24 window" in refused.json()["error"]


def test_the_page_draws_the_boxes_of_an_uploaded_picture(browser, folders, trained, detection_server):
    from browser import console_errors, save_screenshot

    scene = folders / "scenes" / "002.png"
    expected = deepfit.load(trained).detect([np.asarray(Image.open(scene))])[0]
    browser.get(detection_server.url + "/")
    WebDriverWait(browser, 20).until(lambda d: not d.find_element("id", "file-input").get_attribute("hidden"))
    browser.find_element("id", "files").send_keys(str(scene))
    WebDriverWait(browser, 20).until(lambda d: d.find_elements("css selector", "#result .label"))
    marks = browser.find_elements("css selector", "#result .found")
    assert len(marks) == len(expected) > 0
    picture = browser.find_element("css selector", "#result .frame img")
    shown_width = browser.execute_script("return arguments[0].getBoundingClientRect().width", picture)
    first = browser.execute_script("const r = arguments[0].getBoundingClientRect(), f = arguments[1]"
                                   ".getBoundingClientRect(); return [r.left - f.left, r.width]", marks[0], picture)
    scale = shown_width / 160
    assert first[0] == pytest.approx(expected[0]["x"] * scale, abs=2)
    assert first[1] == pytest.approx(expected[0]["width"] * scale, abs=2)
    assert console_errors(browser) == []
    save_screenshot(browser, "page-detector")


@pytest.mark.parametrize("given, expected", [(0.3, 0.3), ("auto", 0.5)])
def test_a_detector_file_from_before_the_fitted_threshold_loads_with_its_threshold(tmp_path, given, expected):
    from deepfit.modelfile import read_model, write_model

    rng = np.random.default_rng(4)
    detector = SlidingWindowDetector(threshold=0.7, rounds=1, max_epochs=1, random_state=0).fit(
        face_patches(20, WINDOW, seed=2), [clutter(60, 80, rng) for _ in range(3)])
    header, tensors = read_model(detector.save(tmp_path / "new.deepfit"))
    del header["threshold"]  # files written before the threshold was fitted have none
    header["params"]["threshold"] = given
    old = deepfit.load(write_model(tmp_path / "old.deepfit", header, tensors))
    assert old.threshold_ == expected
    scene, _ = face_scene(120, 160, np.random.default_rng(1), 2, window=WINDOW)
    assert all(box["score"] >= expected for box in old.detect([scene])[0])
