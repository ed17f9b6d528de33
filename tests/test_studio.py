"""deepfit studio over real HTTP on loopback: names that cannot leave the project folder, examples
read as the server reads uploads, one training job at a time, runs that survive a killed studio, and
memory that stays bounded over many train-and-delete cycles."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile
from conftest import write_digit_pictures
from live_server import LiveServer
from PIL import Image
from sklearn.datasets import load_iris

from deepfit.studio import create_studio


def png(value: int = 0, size: int = 12) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size), value, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def every_file(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def wait_until(check, timeout: float = 120, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"gave up after {timeout} s")


def run_of(client, project: str, run: str) -> dict:
    return client.get(f"/api/projects/{project}/runs/{run}").json()


@pytest.fixture
def studio(tmp_path):
    with LiveServer(create_studio(tmp_path / "studio")) as server, httpx.Client(base_url=server.url,
                                                                                   timeout=120) as client:
        yield client


def make_picture_project(client, name: str = "shapes", per_class: int = 6) -> None:
    assert client.post("/api/projects", json={"name": name, "kind": "pictures"}).status_code == 201
    for label, value in (("dark", 0), ("light", 255)):
        client.post(f"/api/projects/{name}/classes", json={"name": label})
        files = [("files", (f"{label}{i}.png", png(abs(value - 9 * i)), "image/png")) for i in range(per_class)]
        assert client.post(f"/api/projects/{name}/classes/{label}/files", files=files).status_code == 201


def test_names_from_the_page_never_reach_outside_the_project(studio, tmp_path):
    before = every_file(tmp_path)
    for bad in ("../escape", "..", "/etc", "a/b", ".hidden", "con", "a\\b", "", " ", "x" * 65):
        answer = studio.post("/api/projects", json={"name": bad, "kind": "pictures"})
        assert answer.status_code == 422 and "project name" in answer.json()["error"]
    make_picture_project(studio, per_class=1)
    for bad in ("../../escape", "..", "a/b", ".git"):
        answer = studio.post("/api/projects/shapes/classes", json={"name": bad})
        assert answer.status_code == 422 and "class name" in answer.json()["error"]
    sneaky = [("files", ("../../../../escape.png", png(), "image/png"))]
    assert studio.post("/api/projects/shapes/classes/dark/files", files=sneaky).status_code == 201
    for path in ("/api/projects/shapes/files/dark/..%2F..%2Fproject.json", "/api/projects/shapes/files/..%2F..%2F/x",
                 "/api/projects/..%2Fstudio/runs/run-001", "/api/projects/shapes/runs/..%2F..%2Fx/files/run.json",
                 "/api/projects/shapes/runs/run-001/files/..%2Fproject.json", "/try/shapes/..%2F..%2Fx/model"):
        assert studio.get(path).status_code == 404, path
    made = every_file(tmp_path) - before
    assert made and all((tmp_path / "studio" / "shapes") in path.parents for path in made)
    assert all(path.name == "project.json" or path.parent.parent.name == "examples" for path in made)


def test_examples_are_read_before_they_are_kept(studio, tmp_path):
    make_picture_project(studio, per_class=1)
    for name, payload, status in (("notes.txt", b"words", 415), ("broken.png", b"\x89PNG not really", 422),
                                  ("empty.png", b"", 422)):
        answer = studio.post("/api/projects/shapes/classes/dark/files", files=[("files", (name, payload, "x/y"))])
        assert answer.status_code == status and name in answer.json()["error"]
    too_big = [("files", ("huge.png", b"\x89PNG" + bytes(20 * 1024 * 1024), "image/png"))]
    assert studio.post("/api/projects/shapes/classes/dark/files", files=too_big).status_code == 413
    shapes = studio.get("/api/projects/shapes").json()
    assert [c["count"] for c in shapes["classes"]] == [1, 1]

    studio.post("/api/projects", json={"name": "noises", "kind": "sound"})
    studio.post("/api/projects/noises/classes", json={"name": "hum"})
    wav = io.BytesIO()
    soundfile.write(wav, np.sin(np.arange(8000) / 5).astype(np.float32), 8000, format="WAV")
    assert studio.post("/api/projects/noises/classes/hum/files",
                       files=[("files", ("hum.wav", wav.getvalue(), "audio/wav"))]).status_code == 201
    assert studio.post("/api/projects/noises/classes/hum/files",
                       files=[("files", ("fake.wav", b"RIFF....WAVE", "audio/wav"))]).status_code == 422


def test_training_refuses_what_cannot_train(studio):
    studio.post("/api/projects", json={"name": "lonely", "kind": "pictures"})
    studio.post("/api/projects/lonely/classes", json={"name": "only"})
    assert "has no examples" in studio.post("/api/projects/lonely/train", json={}).json()["error"]
    studio.post("/api/projects/lonely/classes/only/files", files=[("files", ("a.png", png(), "image/png"))])
    answer = studio.post("/api/projects/lonely/train", json={})
    assert answer.status_code == 422 and "at least two" in answer.json()["error"]
    studio.post("/api/projects", json={"name": "rows", "kind": "table"})
    assert "upload a table" in studio.post("/api/projects/rows/train", json={}).json()["error"]
    bad_csv = studio.post("/api/projects/rows/table", files={"file": ("one.csv", b"a\n1\n2\n", "text/csv")})
    assert bad_csv.status_code == 422 and "one.csv" in bad_csv.json()["error"]


@pytest.mark.slow
def test_one_job_trains_at_a_time_and_the_rest_queue(studio):
    make_picture_project(studio, per_class=8)
    settings = [{"max_epochs": 40}, {"max_epochs": 40, "batch_size": 4}, {"max_epochs": 40, "learning_rate": 0.01}]
    runs = [studio.post("/api/projects/shapes/train", json=given).json()["name"] for given in settings]
    assert runs == ["run-001", "run-002", "run-003"]
    seen = []

    def all_finished():  # every run's status from one request: one moment of the queue
        statuses = [run["status"] for run in studio.get("/api/projects/shapes").json()["runs"]]
        seen.append(statuses)
        return all(s in ("finished", "failed") for s in statuses)

    wait_until(all_finished, 300, every=0.1)
    assert all(sum(s in ("starting", "running") for s in statuses) <= 1 for statuses in seen)
    assert any(statuses[2] == "queued" for statuses in seen)
    assert [run_of(studio, "shapes", run)["status"] for run in runs] == ["finished"] * 3
    chosen = [run_of(studio, "shapes", run)["settings"] for run in runs]
    assert [(s["max_epochs"], s["batch_size"], s["learning_rate"]) for s in chosen] == [
        (40, "auto", "auto"), (40, 4, "auto"), (40, "auto", 0.01)]
    assert studio.post("/api/projects/shapes/train", json={"batch_size": 0}).status_code == 422


@pytest.mark.slow
def test_folders_on_disk_and_texts_become_examples_and_a_text_model_answers(studio, tmp_path):
    write_digit_pictures(tmp_path / "disk", digits=(3, 8), per_class=5)
    studio.post("/api/projects", json={"name": "digits", "kind": "pictures"})
    added = studio.post("/api/projects/digits/import", json={"path": str(tmp_path / "disk")}).json()["added"]
    assert added == {"3": 5, "8": 5}
    assert studio.post("/api/projects/digits/import", json={"path": str(tmp_path / "nowhere")}).status_code == 422

    studio.post("/api/projects", json={"name": "moods", "kind": "text"})
    for label, words in (("happy", "glad joy sunny smile"), ("sad", "grey tears gloomy loss")):
        studio.post("/api/projects/moods/classes", json={"name": label})
        texts = [f"{words} {word} day {i}" for i, word in enumerate(words.split() * 4)]
        assert studio.post(f"/api/projects/moods/classes/{label}/texts", json={"texts": texts}).status_code == 201
    assert studio.post("/api/projects/moods/classes/sad/texts", json={"texts": ["  "]}).status_code == 422
    run = studio.post("/api/projects/moods/train", json={"max_epochs": 60}).json()["name"]
    wait_until(lambda: run_of(studio, "moods", run)["status"] in ("finished", "failed"), 180)
    assert run_of(studio, "moods", run)["status"] == "finished"
    answer = studio.post(f"/try/moods/{run}/predict", json={"texts": ["such joy and smile"]}).json()
    assert answer["predictions"][0]["label"] == "happy"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_studio(root: Path, port: int, token: str | None = None) -> subprocess.Popen:
    env = {**os.environ, **({"DEEPFIT_TOKEN": token} if token else {})}
    process = subprocess.Popen([sys.executable, "-m", "deepfit", "studio", "--runs", str(root), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wait_until(lambda: _answers(f"http://127.0.0.1:{port}/health"), 60, every=0.1)
    return process


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def training_pids(root: Path) -> list[int]:
    runs = [json.loads(p.read_text()) for p in root.rglob("run.json")]
    return [run["pid"] for run in runs if run.get("status") == "running"]


@pytest.mark.slow
def test_a_studio_killed_while_training_lists_the_run_and_resumes_it(tmp_path):
    root, port = tmp_path / "studio", free_port()
    process = start_studio(root, port)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    try:
        make_picture_project(client, per_class=8)
        run = client.post("/api/projects/shapes/train", json={"max_epochs": 600}).json()["name"]
        wait_until(lambda: len(run_of(client, "shapes", run)["epochs"]) >= 3, 120, every=0.1)
        for pid in [process.pid, *training_pids(root)]:  # the machine goes down: studio and training alike
            os.kill(pid, signal.SIGKILL)
        process.wait()
        wait_until(lambda: not any(Path(f"/proc/{pid}").exists() and "Z" not in
                                   Path(f"/proc/{pid}/stat").read_text().split(")")[-1][:3]
                                   for pid in training_pids(root)), 30)
        process = start_studio(root, port)
        assert run_of(client, "shapes", run)["status"] == "interrupted"
        assert client.post(f"/api/projects/shapes/runs/{run}/resume").status_code == 202
        wait_until(lambda: run_of(client, "shapes", run)["status"] in ("finished", "failed"), 300)
        done = run_of(client, "shapes", run)
        assert done["status"] == "finished" and done["has_model"]
        assert [row["step_index"] for row in done["epochs"]] == list(range(1, 601))
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        client.close()


def resident_megabytes(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024


@pytest.mark.slow
def test_memory_stays_bounded_over_twenty_train_and_delete_cycles(tmp_path):
    frame = load_iris(as_frame=True).frame
    table = frame.to_csv(index=False).encode()
    root, port, token = tmp_path / "studio", free_port(), "s3cret"
    process = start_studio(root, port, token)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, headers={"Authorization": f"Bearer {token}"})
    row = {"rows": [frame.drop(columns="target").iloc[0].to_dict()]}
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/api/projects").status_code == 401
        client.post("/api/projects", json={"name": "iris", "kind": "table"})
        client.post("/api/projects/iris/table", files={"file": ("iris.csv", table, "text/csv")})
        sizes = []
        for _ in range(20):
            run = client.post("/api/projects/iris/train", json={"max_epochs": 3}).json()["name"]
            wait_until(lambda run=run: run_of(client, "iris", run)["status"] in ("finished", "failed"), 120, 0.1)
            assert client.post(f"/try/iris/{run}/predict", json=row).status_code == 200, run_of(client, "iris", run)
            assert client.delete(f"/api/projects/iris/runs/{run}").status_code == 200
            sizes.append(resident_megabytes(process.pid))
        print(f"studio memory over 20 cycles (MB): {[round(s) for s in sizes]}")
        assert sizes[-1] - sizes[4] < 5, sizes  # after warming up, no growth per cycle (a kept model: 0.5 MB each)
        assert not [p for p in (root / "iris").iterdir() if p.name.startswith("run-")]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        client.close()
