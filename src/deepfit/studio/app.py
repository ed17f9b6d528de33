"""The studio's HTTP side, on FastAPI: the page at `/` (plain HTML, CSS and JS from the package),
a JSON API under `/api` for projects, classes, examples, checks, runs and comparisons, training
progress as server-sent events, and `/try/<project>/<run>/` serving a finished model as `deepfit
serve` does. Errors are one line of JSON with a 4xx status, as the server's are."""

from __future__ import annotations

import asyncio
import json
import shutil
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import Body, Depends, FastAPI, File, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse

from deepfit.data.uploads import UploadBudget
from deepfit.errors import InvalidInputError
from deepfit.runs.record import read_epochs
from deepfit.serving.app import add_error_handlers, bearer, read_uploads
from deepfit.serving.decoding import Decoder
from deepfit.serving.limits import BodySizeLimit
from deepfit.studio.jobs import Trainer, describe_run
from deepfit.studio.names import safe_name
from deepfit.studio.projects import NotFound, Project, list_projects
from deepfit.studio.trying import ModelApps

DEFAULT_MAX_BODY = 16 * 1024 * 1024
STATIC = {"studio.js": "text/javascript", "studio.css": "text/css"}
RUN_FILES = {"model.deepfit", "model.onnx", "model.encoder.json", "report.html", "run.json", "metrics.json",
             "epochs.jsonl", "train.log"}
POLL_SECONDS = 0.3
PAGE_POLICY = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' data: blob:; "
               "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-src 'self'")


@dataclass
class Studio:
    root: Path
    trainer: Trainer
    decoder: Decoder
    budget: UploadBudget
    models: ModelApps

    def project(self, name: str) -> Project:
        return Project.open(self.root, name)

    def run_folder(self, project: str, run: str) -> Path:
        folder = self.project(project).folder / safe_name(run, "run")
        if not folder.is_dir() or not folder.name.startswith("run-"):
            raise NotFound(f"no run named {run!r} in project {project!r}.")
        return folder

    def runs(self, project: Project) -> list[dict]:
        folders = sorted(p for p in project.folder.glob("run-*") if p.is_dir())
        return [describe_run(folder, self.trainer) for folder in folders]


def create_studio(root, *, token: str | None = None, max_body_bytes: int = DEFAULT_MAX_BODY,
                  budget: UploadBudget | None = None) -> FastAPI:
    """The studio over the projects under `root` (made if missing)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    budget = budget or UploadBudget()
    studio = Studio(root, Trainer(), Decoder(), budget,
                    ModelApps(root, token=token, budget=budget, max_body_bytes=max_body_bytes))

    @asynccontextmanager
    async def lifespan(_app):
        studio.trainer.start()
        yield
        await studio.trainer.stop()
        await studio.models.close()
        studio.decoder.shutdown()

    app = FastAPI(title="deepfit studio", version="1", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    add_error_handlers(app, "")

    @app.exception_handler(NotFound)
    async def not_found(_request, error: NotFound) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=404)

    guard = [Depends(bearer(token))]
    _page_routes(app)
    _project_routes(app, studio, guard)
    _example_routes(app, studio, guard)
    _run_routes(app, studio, guard)
    app.mount("/try", studio.models)
    app.state.studio = studio
    return app


# ------------------------------------------------------------------------------------ the page
def _page_routes(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(_static("studio.html"), headers={"Content-Security-Policy": PAGE_POLICY})

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in STATIC:
            raise NotFound(f"no file {name!r}.")
        return Response(_static(name), media_type=STATIC[name])

    @app.get("/health", include_in_schema=False)
    async def health() -> dict:
        return {"status": "ok"}


def _static(name: str) -> str:
    return resources.files("deepfit.studio").joinpath("static", name).read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------ projects
def _project_routes(app: FastAPI, studio: Studio, guard) -> None:
    @app.get("/api/projects", dependencies=guard)
    async def projects() -> dict:
        return {"projects": list_projects(studio.root), "root": str(studio.root.absolute())}

    @app.post("/api/projects", dependencies=guard, status_code=201)
    async def create(name: Annotated[str, Body()], kind: Annotated[str, Body()]) -> dict:
        return Project.create(studio.root, name, kind).describe()

    @app.get("/api/projects/{project}", dependencies=guard)
    async def describe(project: str) -> dict:
        found = studio.project(project)
        return {**await asyncio.to_thread(found.describe), "runs": studio.runs(found)}

    @app.delete("/api/projects/{project}", dependencies=guard)
    async def delete(project: str) -> dict:
        found = studio.project(project)
        if any(run["status"] in ("queued", "starting", "running") for run in studio.runs(found)):
            raise InvalidInputError(f"project {project!r} is training; cancel its run first.")
        await studio.models.forget(found.folder)
        await asyncio.to_thread(shutil.rmtree, found.folder)
        return {"deleted": project}

    @app.get("/api/projects/{project}/check", dependencies=guard)
    async def check(project: str) -> dict:
        from deepfit.studio.checking import check_project

        return await studio.decoder.run(check_project, studio.project(project))


# ------------------------------------------------------------------------------------ examples
def _example_routes(app: FastAPI, studio: Studio, guard) -> None:
    @app.post("/api/projects/{project}/classes", dependencies=guard, status_code=201)
    async def add_class(project: str, name: Annotated[str, Body(embed=True)]) -> dict:
        studio.project(project).class_folder(name, create=True)
        return {"class": safe_name(name, "class")}

    @app.delete("/api/projects/{project}/classes/{name}", dependencies=guard)
    async def delete_class(project: str, name: str) -> dict:
        await asyncio.to_thread(studio.project(project).delete_class, name)
        return {"deleted": name}

    @app.post("/api/projects/{project}/classes/{name}/files", dependencies=guard, status_code=201)
    async def add_files(project: str, name: str, files: list[UploadFile] = File(...)) -> dict:
        found, payloads = studio.project(project), await read_uploads(files)
        return {"added": await studio.decoder.run(found.add_files, name, payloads, studio.budget)}

    @app.post("/api/projects/{project}/classes/{name}/texts", dependencies=guard, status_code=201)
    async def add_texts(project: str, name: str, texts: Annotated[list[str], Body(embed=True, min_length=1)]) -> dict:
        return {"added": await asyncio.to_thread(studio.project(project).add_texts, name, texts)}

    @app.post("/api/projects/{project}/import", dependencies=guard, status_code=201)
    async def import_folder(project: str, path: Annotated[str, Body()], name: Annotated[str | None, Body()] = None):
        found = studio.project(project)
        return {"added": await studio.decoder.run(found.import_folder, path, name, studio.budget)}

    @app.get("/api/projects/{project}/files/{name}/{file}", dependencies=guard)
    async def example(project: str, name: str, file: str) -> FileResponse:
        return FileResponse(studio.project(project).example_file(name, file))

    @app.post("/api/projects/{project}/table", dependencies=guard, status_code=201)
    async def table(project: str, file: UploadFile = File(...)) -> dict:
        found, payload = studio.project(project), await file.read()
        return await asyncio.to_thread(found.set_table, payload, file.filename or "table.csv")

    @app.put("/api/projects/{project}/target", dependencies=guard)
    async def target(project: str, column: Annotated[str, Body(embed=True)]) -> dict:
        found = studio.project(project)
        await asyncio.to_thread(found.set_target, column)
        return await asyncio.to_thread(found.table_preview)


# ------------------------------------------------------------------------------------ runs
def _run_routes(app: FastAPI, studio: Studio, guard) -> None:
    @app.post("/api/projects/{project}/train", dependencies=guard, status_code=202)
    async def train(project: str, max_epochs: Annotated[int | None, Body(ge=1, le=100_000)] = None,
                    batch_size: Annotated[int | None, Body(ge=1, le=65_536)] = None,
                    learning_rate: Annotated[float | None, Body(gt=0, le=10)] = None):
        """Queue a run of the project's examples; what is not given is deepfit train's default."""
        found = studio.project(project)
        source, options = await asyncio.to_thread(found.training_source)
        given = {"--max-epochs": max_epochs, "--batch-size": batch_size, "--learning-rate": learning_rate}
        options += [part for option, value in given.items() if value is not None for part in (option, str(value))]
        folder = _next_run(found)
        studio.trainer.submit(folder, [str(source), *options, "--name", f"{found.name} {folder.name}"])
        return describe_run(folder, studio.trainer)

    @app.get("/api/projects/{project}/runs/{run}", dependencies=guard)
    async def run_view(project: str, run: str) -> dict:
        folder = studio.run_folder(project, run)
        return {**describe_run(folder, studio.trainer), "epochs": read_epochs(folder)}

    @app.get("/api/projects/{project}/runs/{run}/events", dependencies=guard)
    async def events(project: str, run: str) -> StreamingResponse:
        folder = studio.run_folder(project, run)
        return StreamingResponse(_progress(folder, studio), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.post("/api/projects/{project}/runs/{run}/cancel", dependencies=guard)
    async def cancel(project: str, run: str) -> dict:
        folder = studio.run_folder(project, run)
        if not studio.trainer.cancel(folder):
            raise InvalidInputError(f"run {run!r} is not training; there is nothing to cancel.")
        return describe_run(folder, studio.trainer)

    @app.post("/api/projects/{project}/runs/{run}/resume", dependencies=guard, status_code=202)
    async def resume(project: str, run: str) -> dict:
        return _resume(studio, studio.run_folder(project, run))

    @app.delete("/api/projects/{project}/runs/{run}", dependencies=guard)
    async def delete_run(project: str, run: str) -> dict:
        folder = studio.run_folder(project, run)
        if studio.trainer.state_of(folder) or describe_run(folder, studio.trainer)["status"] == "running":
            raise InvalidInputError(f"run {run!r} is training; cancel it first.")
        await studio.models.forget(folder)
        await asyncio.to_thread(shutil.rmtree, folder)
        return {"deleted": run}

    _result_routes(app, studio, guard)


def _result_routes(app: FastAPI, studio: Studio, guard) -> None:
    @app.get("/api/projects/{project}/runs/{run}/files/{name}", dependencies=guard)
    async def run_file(project: str, run: str, name: str) -> FileResponse:
        path = studio.run_folder(project, run) / name
        if name not in RUN_FILES or not path.is_file():
            raise NotFound(f"run {run!r} has no file {name!r}.")
        download = name.startswith("model.")
        return FileResponse(path, filename=f"{project}-{run}-{name}" if download else None,
                            content_disposition_type="attachment" if download else "inline")

    @app.post("/api/projects/{project}/runs/{run}/export", dependencies=guard)
    async def export(project: str, run: str) -> dict:
        from deepfit.studio.results import export_onnx

        return await asyncio.to_thread(export_onnx, studio.run_folder(project, run))

    @app.get("/api/compare", dependencies=guard)
    async def compare(runs: str) -> dict:
        from deepfit.studio.results import compare_runs

        folders = [studio.run_folder(*_split_run(name)) for name in runs.split(",") if name]
        return await studio.decoder.run(compare_runs, folders)


def _next_run(project: Project) -> Path:
    numbers = [int(p.name[4:]) for p in project.folder.glob("run-*") if p.name[4:].isdigit()]
    folder = project.folder / f"run-{max(numbers, default=0) + 1:03d}"
    folder.mkdir()
    return folder


def _resume(studio: Studio, folder: Path) -> dict:
    from deepfit.studio.jobs import read_studio_file

    view = describe_run(folder, studio.trainer)
    arguments = read_studio_file(folder).get("arguments")
    if view["status"] not in ("interrupted", "cancelled") or not arguments or not any(folder.glob("checkpoint*")):
        raise InvalidInputError(f"run {folder.name!r} is {view['status']}: only an interrupted or cancelled run with "
                                "a checkpoint can be resumed.")
    studio.trainer.submit(folder, arguments, resume=True)
    return describe_run(folder, studio.trainer)


def _split_run(name: str) -> tuple[str, str]:
    project, _, run = name.partition("/")
    if not run:
        raise InvalidInputError(f"runs: {name!r} is not PROJECT/RUN; name each run to compare as project/run-001.")
    return project, run


async def _progress(folder: Path, studio: Studio):
    """Server-sent events: the run's status and each new epoch (with the time left) as they come, until
    the run ends; a comment every few seconds keeps the connection open meanwhile."""
    sent, last, quiet = 0, None, 0
    while True:
        view = describe_run(folder, studio.trainer)
        rows = read_epochs(folder)
        message = {"status": view["status"], "error": view["error"], "metrics": view["metrics"],
                   "epochs": rows[sent:], "seconds_left": _seconds_left(rows)}
        if message["epochs"] or (view["status"], view["error"]) != last:
            yield f"data: {json.dumps(message)}\n\n"
            sent, last, quiet = len(rows), (view["status"], view["error"]), 0
        elif (quiet := quiet + 1) % 30 == 0:
            yield ": still here\n\n"
        if view["status"] not in ("queued", "starting", "running"):
            return
        await asyncio.sleep(POLL_SECONDS)


def _seconds_left(rows: list[dict]) -> float | None:
    """At most this long to go: the mean epoch so far times the epochs left (early stopping may end it sooner)."""
    if not rows:
        return None
    last, first = rows[-1], rows[max(0, len(rows) - 6)]
    per_epoch = (last["seconds"] - first["seconds"]) / (last["epoch"] - first["epoch"]) \
        if last["epoch"] > first["epoch"] and last["seconds"] > first["seconds"] else last["seconds"] / last["epoch"]
    return round(per_epoch * max(0, last["max_epochs"] - last["epoch"]), 1)
