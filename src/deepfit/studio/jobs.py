"""Training jobs of the studio: one at a time, the others queued, each `deepfit train` in a process of
its own. A process of its own means Cancel stops it at once (its checkpoint stays), the studio's memory
does not grow with the runs it has made, and a run outlives a studio that is killed: restarted, the
studio finds it running (and follows it) or interrupted (and resumes it from its checkpoint)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from deepfit.atomic import write_atomically
from deepfit.runs.listing import summary
from deepfit.runs.record import now, set_status

STUDIO_FILE = "studio.json"    # in a run folder: the command that trains it, and why it failed
LOG_FILE = "train.log"         # what `deepfit train` said
WAITING = ("queued", "starting")
STOP_SECONDS = 10              # after Cancel, a run that has not stopped is killed


@dataclass
class Job:
    folder: Path
    arguments: list[str]
    state: str = "queued"          # queued, starting (reading data), running, then done
    process: asyncio.subprocess.Process | None = None
    cancelled: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Trainer:
    """The queue of training jobs and the one worker that runs them in turn."""

    def __init__(self):
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self.jobs: dict[Path, Job] = {}
        self.worker: asyncio.Task | None = None

    def start(self) -> None:
        self.worker = asyncio.get_running_loop().create_task(self._work())

    async def stop(self) -> None:
        """On shutdown the running job's process is left to finish; the restarted studio finds it."""
        if self.worker is not None:
            self.worker.cancel()

    def submit(self, folder: Path, arguments: list[str], *, resume: bool = False) -> Job:
        """Queue `deepfit train ARGUMENTS --out FOLDER`; the arguments are kept in the run folder so the
        run can be resumed as it was started."""
        folder.mkdir(parents=True, exist_ok=True)
        if not resume:
            _write(folder / STUDIO_FILE, {"arguments": arguments, "queued": now()})
        job = Job(folder, arguments + ["--out", str(folder)] + (["--resume"] if resume else []))
        self.jobs[folder] = job
        self.queue.put_nowait(job)
        return job

    def cancel(self, folder: Path) -> bool:
        job = self.jobs.get(folder)
        if job is None or job.done.is_set():
            return False
        job.cancelled = True
        if job.process is not None and job.process.returncode is None:
            job.process.send_signal(signal.SIGINT)  # deepfit train marks its run cancelled and stops
            asyncio.get_running_loop().call_later(STOP_SECONDS, _kill, job.process)
        return True

    def state_of(self, folder: Path) -> str | None:
        job = self.jobs.get(folder)
        return None if job is None or job.done.is_set() else job.state

    async def _work(self) -> None:
        while True:
            job = await self.queue.get()
            if job.cancelled:
                _record_failure(job.folder, "cancelled before it started", "cancelled")
            else:
                await self._run(job)
            job.done.set()
            self.jobs.pop(job.folder, None)

    async def _run(self, job: Job) -> None:
        job.state = "starting"
        with open(job.folder / LOG_FILE, "ab") as log:
            job.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "deepfit", "train", *job.arguments, "--quiet", stdout=log, stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
            job.state = "running"
            try:
                code = await job.process.wait()
            except asyncio.CancelledError:  # the studio stops: the run goes on without it
                raise
        if job.cancelled:
            set_status(job.folder, "cancelled", "cancelled in the studio")
            _record_failure(job.folder, "cancelled in the studio", "cancelled")
        elif code != 0:
            _record_failure(job.folder, _last_error(job.folder / LOG_FILE) or f"deepfit train stopped (exit {code})")


def describe_run(folder: Path, trainer: Trainer) -> dict:
    """A run as the studio shows it: its status (queued and starting from the queue, the rest from
    run.json, a failure before training from studio.json), why it stopped, and its final metrics."""
    row, studio = summary(folder), read_studio_file(folder)
    waiting = trainer.state_of(folder)
    has_run = (folder / "run.json").exists()
    if waiting == "queued":
        status = "queued"
    elif waiting:  # its process is there until it has written everything (a resumed run's run.json is the old one)
        status = "running" if has_run and row["status"] in ("running", "finished") else "starting"
    elif has_run:
        status = row["status"]
    else:
        status = studio.get("status", "failed" if studio.get("error") else "queued")
    return {"name": folder.name, "status": status, "error": studio.get("error") if status != "finished" else None,
            "metrics": row["metrics"], "seconds": row["seconds"], "when": row["when"] or studio.get("queued"),
            "has_model": (folder / "model.deepfit").is_file(), "has_report": (folder / "report.html").is_file(),
            "settings": row["settings"]}


def _kill(process) -> None:
    if process.returncode is None:
        process.kill()


def _record_failure(folder: Path, reason: str, status: str = "failed") -> None:
    data = read_studio_file(folder)
    data.update(error=reason, status=status, ended=now())
    _write(folder / STUDIO_FILE, data)


def read_studio_file(folder: Path) -> dict:
    try:
        return json.loads((Path(folder) / STUDIO_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _last_error(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    errors = [line.split(":", 1)[1].strip() for line in lines if line.startswith(("error:", "internal error:"))]
    return errors[-1] if errors else ""


def _write(path: Path, data: dict) -> None:
    write_atomically(path, (json.dumps(data, indent=2) + "\n").encode())
