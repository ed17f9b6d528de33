"""The HTTP API of a trained model, on FastAPI: `GET /health`, `GET /model`, `POST /predict`, a page
at `/`, and the OpenAPI schema at `/openapi.json`.

Table models take ``{"rows": [{column: value, ...}, ...]}`` (the schema lists the columns), text
models ``{"texts": ["...", ...]}``, parsed a slice at a time and, over 64 KiB, off the event loop
(`deepfit.serving.bodies`); picture and sound models take a multipart upload of one or more files in
the field ``files``, decoded off the event loop within budgets (`deepfit.serving.decoding`). Bad input
is a 4xx with one clear message, never a 500: 400 malformed JSON, 422 a body of the wrong shape or
values the model cannot take, 413 a body over the size limit or uploads over a budget, 415 a file of
the wrong type, 401 a missing or wrong bearer token; 503 when too many requests wait to be decoded or
parsed. The OpenAPI schema documents each (`deepfit.serving.contract`).
"""

import hmac
import json
from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import Depends, FastAPI, File, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ConfigDict, Field, Strict, create_model
from starlette.exceptions import HTTPException as StarletteHTTPException

from deepfit.data import kinds
from deepfit.data.uploads import UnsupportedFileType, UploadBudget, UploadTooLarge
from deepfit.errors import DeepfitError, InvalidInputError
from deepfit.estimators.base import UNANSWERABLE, unanswerable_rows
from deepfit.json_values import plain
from deepfit.serving.batcher import Batcher
from deepfit.serving.bodies import INLINE_BYTES, documented_body, validated_items
from deepfit.serving.contract import (
    FILE_ERRORS,
    ROW_ERRORS,
    SERVICE_ERRORS,
    TEXT_ERRORS,
    float32_number,
    strict_category,
)
from deepfit.serving.decoding import DECODE_WORKERS, MAX_WAITING, Decoder, ServerBusy
from deepfit.serving.limits import BodySizeLimit

DEFAULT_MAX_BODY = 16 * 1024 * 1024
MAX_ROWS = 10_000
INLINE_ANSWERS = 1_000  # answers of more rows or texts are built off the event loop
MAX_FILES = 256
EXPECTED_BODY = {"rows": '{"rows": [{column: value, ...}]}', "texts": '{"texts": ["a text", ...]}'}


def create_app(model, *, token: str | None = None, max_body_bytes: int = DEFAULT_MAX_BODY,
               max_batch: int = 256, budget: UploadBudget | None = None, decode_workers: int = DECODE_WORKERS,
               max_waiting: int = MAX_WAITING) -> FastAPI:
    """The API for `model` (a fitted deepfit estimator or a .deepfit path). `budget` bounds what one
    request may ask to decode (pixels, seconds and samples of uploads); uploads are decoded by
    `decode_workers` threads, and a request finding `max_waiting` others already waiting gets 503."""
    if not hasattr(model, "classes_"):
        from deepfit.estimators import load

        model = load(model)
    budget = budget or UploadBudget()
    if not hasattr(model, "encoder_"):  # a SlidingWindowDetector
        from deepfit.serving.detection import create_detection_app

        return create_detection_app(model, token=token, max_body_bytes=max_body_bytes, budget=budget,
                                    decoder=Decoder(decode_workers, max_waiting))
    batcher, decoder = Batcher(model, max_batch=max_batch), Decoder(decode_workers, max_waiting)
    kind = kinds.of(model)
    files = kind.served_as == "files"

    @asynccontextmanager
    async def lifespan(_app):
        await batcher.start()
        yield
        await batcher.stop()
        decoder.shutdown()

    app, guard = service_app(
        "deepfit model", f"Predictions of a {type(model).__name__} over {kind.words.files}.",
        lifespan=lifespan, token=token, max_body_bytes=max_body_bytes,
        health=lambda: {"requests": batcher.counters.requests, "batches": batcher.counters.batches,
                        "largest_batch": batcher.counters.largest_batch,
                        **({"decoding": decoder.taken} if files else {})},
        describe=lambda: model_description(batcher.estimator), described="What the model takes and answers",
        expected=EXPECTED_BODY.get(kind.served_as, ""))
    app.state.batcher = batcher
    # The routes reach the model through the batcher, never by a reference of their own: FastAPI keeps
    # endpoint functions in caches that outlive the app, and a stopped batcher lets go of its model.
    if files:
        _add_file_route(app, batcher, guard, decoder, budget)
    elif kind.served_as == "texts":
        _add_text_route(app, batcher, guard, decoder)
    else:
        _add_table_route(app, batcher, guard, decoder)
    return app


def service_app(title: str, description: str, *, lifespan, token: str | None, max_body_bytes: int, health,
                describe, described: str, expected: str = ""):
    """What every deepfit server shares: the size limit, the bearer token, one-line errors, the page at
    `/`, `GET /health` (``status`` and the counters `health()` gives) and `GET /model` (`describe()`).
    `expected` is the JSON body `POST /predict` takes, as a malformed body's error says it. Returns the
    app and the token guard, for the caller's `POST /predict`."""
    app = FastAPI(title=title, version="1", lifespan=lifespan, docs_url=None, redoc_url=None, description=description)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    guard = bearer(token)
    add_error_handlers(app, expected)
    _add_page(app)

    @app.get("/health", summary="Is the server up", tags=["service"])
    async def health_route() -> dict:
        return {"status": "ok", **health()}

    @app.get("/model", summary=described, tags=["model"], dependencies=[Depends(guard)], responses=SERVICE_ERRORS)
    async def describe_route() -> dict:
        return describe()

    return app, guard


def _add_page(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(resources.files("deepfit.serving").joinpath("page.html").read_text(encoding="utf-8"),
                            headers={"Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                                     "style-src 'unsafe-inline'; script-src 'unsafe-inline'"})


# ------------------------------------------------------------------------------------ routes
def _add_table_route(app: FastAPI, batcher: Batcher, guard, decoder: Decoder) -> None:
    Rows = _rows_schema(batcher.estimator.encoder_)
    kinds = [(c.name, str(c.name), c.type == "numeric") for c in batcher.estimator.encoder_.columns]
    all_numeric = all(numeric for _, _, numeric in kinds)

    def table_of(body: bytes, content_type: str | None):
        rows = [row.model_dump(by_alias=True) for row in validated_items(Rows, "rows", body, content_type, MAX_ROWS)]
        if all_numeric:  # one float array in training order (None is NaN, missing): no DataFrame to build
            return np.array([[row[key] for _, key, _ in kinds] for row in rows], dtype=np.float64)
        return pd.DataFrame({name: np.array([row[key] for row in rows], dtype=np.float64 if numeric else object)
                             for name, key, numeric in kinds}, copy=False)

    @app.post("/predict", summary="Predict the label of each row", tags=["model"], dependencies=[Depends(guard)],
              responses=ROW_ERRORS)
    async def predict(request: Request) -> dict:
        inputs = await _parsed(request, table_of, decoder)
        labels, probabilities = await batcher.predict(inputs)
        _refuse_unanswerable(probabilities, "rows")
        return await _answer(batcher.estimator, labels, probabilities, decoder)

    documented_body(app, "/predict", Rows)


async def _answer(model, labels, probabilities, decoder: Decoder):
    """``{"predictions": [...]}``; a large answer is built and written as JSON on a decoding thread (10,000
    rows' answers are about 40 ms of Python, which would hold the event loop)."""
    if len(labels) <= INLINE_ANSWERS:
        return {"predictions": _predictions(model, labels, probabilities)}
    return await decoder.run(lambda: Response(_json_in_slices(_predictions(model, labels, probabilities)),
                                              media_type="application/json"))


def _json_in_slices(answers: list[dict]) -> bytes:
    """``{"predictions": answers}`` as JSON, written INLINE_ANSWERS at a time: one `json.dumps` of 10,000
    answers holds Python's lock for about 30 ms."""
    parts = (json.dumps(answers[start:start + INLINE_ANSWERS], separators=(",", ":"), allow_nan=False)[1:-1]
             for start in range(0, len(answers), INLINE_ANSWERS))
    return ('{"predictions":[' + ",".join(parts) + "]}").encode()


async def _parsed(request: Request, parse, decoder: Decoder):
    """`parse(body, content type)`: on the event loop for a small body, on a decoding thread for a large one."""
    body, content_type = await request.body(), request.headers.get("content-type")
    if len(body) <= INLINE_BYTES:
        return parse(body, content_type)
    return await decoder.run(parse, body, content_type)


def _add_text_route(app: FastAPI, batcher: Batcher, guard, decoder: Decoder) -> None:
    Texts = create_model("Texts", texts=(list[Annotated[str, Strict()]], Field(
        ..., min_length=1, max_length=MAX_ROWS, description="the texts to label, each with at least one word; "
        f"characters past {batcher.estimator.encoder_.max_chars:,} are not read")))

    def texts_of(body: bytes, content_type: str | None) -> np.ndarray:
        texts = validated_items(Texts, "texts", body, content_type, MAX_ROWS)
        empty = next((i for i, text in enumerate(texts) if not text.strip()), None)
        if empty is not None:
            raise InvalidInputError(f"texts.{empty}: the text is empty; send at least one word.")
        return np.asarray(texts, dtype=object)

    @app.post("/predict", summary="Predict the label of each text", tags=["model"], dependencies=[Depends(guard)],
              responses=TEXT_ERRORS)
    async def predict(request: Request) -> dict:
        labels, probabilities = await batcher.predict(await _parsed(request, texts_of, decoder))
        return await _answer(batcher.estimator, labels, probabilities, decoder)

    documented_body(app, "/predict", Texts)


def _add_file_route(app: FastAPI, batcher: Batcher, guard, decoder: Decoder, budget: UploadBudget) -> None:
    kind = kinds.of(batcher.estimator)
    noun = kind.words.files

    @app.post("/predict", summary=f"Predict the label of each uploaded file ({noun})", tags=["model"],
              dependencies=[Depends(guard)], responses=FILE_ERRORS)
    async def predict(files: list[UploadFile] = File(..., description=f"one or more {noun}")) -> dict:
        payloads = await read_uploads(files)
        inputs = await decoder.run(kind.decode_uploads, payloads, batcher.estimator.encoder_, budget)
        labels, probabilities = await batcher.predict(inputs)
        _refuse_unanswerable(probabilities, "files")
        answers = _predictions(batcher.estimator, labels, probabilities)
        for answer, (name, _) in zip(answers, payloads):
            answer["file"] = name
        return {"predictions": answers}


async def read_uploads(files: list[UploadFile]) -> list[tuple[str, bytes]]:
    """(name, bytes) of each uploaded file, at most `MAX_FILES` of them; a file sent without a name is
    called 'file N'."""
    if len(files) > MAX_FILES:
        raise UploadTooLarge(f"{len(files)} files in one request; send at most {MAX_FILES}.")
    return [(upload.filename or f"file {i + 1}", await upload.read()) for i, upload in enumerate(files)]


def model_description(model) -> dict:
    kind = kinds.of(model)
    return {"estimator": type(model).__name__, "kind": kind.name,
            "words": {"data": kind.words.data, "files": kind.words.files}, "classes": [plain(c) for c in model.classes_],
            "training": getattr(model, "training_summary_", {}), "metadata": getattr(model, "metadata_", {}),
            "input": kind.input_description(model.encoder_)}


def _refuse_unanswerable(probabilities, noun: str) -> None:
    """Values too large for the network's float32 give no probabilities: a 422 naming them, not a 500."""
    broken = unanswerable_rows(probabilities)
    if len(broken):
        raise InvalidInputError(f"{noun}.{int(broken[0])}: {UNANSWERABLE}; send values in the range it was trained on.")


def _predictions(model, labels, probabilities) -> list[dict]:
    classes = [str(plain(c)) for c in model.classes_]
    answers = []
    for i, label in enumerate(labels):
        answer: dict[str, Any] = {"label": plain(label)}
        if probabilities is not None:
            answer["probabilities"] = dict(zip(classes, (float(p) for p in probabilities[i])))
        answers.append(answer)
    return answers


def _rows_schema(encoder):
    """A request model naming every column: numbers within float32's range (or null for missing), and
    categories as text or numbers. Booleans and numbers written as text are refused, as the schema says."""
    fields = {}
    for index, column in enumerate(encoder.columns):
        kind = (float32_number() if column.type == "numeric" else strict_category()) | None
        fields[f"c{index}"] = (kind, Field(..., alias=str(column.name)))
    Row = create_model("Row", __config__=ConfigDict(extra="ignore", populate_by_name=False), **fields)
    return create_model("Rows", rows=(list[Row], Field(..., min_length=1, max_length=MAX_ROWS)))


# ------------------------------------------------------------------------------------ errors, auth
def add_error_handlers(app: FastAPI, expected: str) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_body(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        if any(p.get("type") == "json_invalid" for p in problems):
            return _error(400, "the body is not valid JSON" + (f"; send {expected}." if expected else "."))
        first = problems[0]
        return _error(422, f"{_where(first) or 'body'}: {_problem(first)}",
                      [{"where": _where(p) or "body", "problem": _problem(p)} for p in problems[:20]])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        response = _error(error.status_code, str(error.detail))
        response.headers.update(error.headers or {})
        return response

    @app.exception_handler(UnsupportedFileType)
    async def unsupported(_request: Request, error: UnsupportedFileType) -> JSONResponse:
        return _error(415, str(error))

    @app.exception_handler(UploadTooLarge)
    async def too_large(_request: Request, error: UploadTooLarge) -> JSONResponse:
        return _error(413, str(error))

    @app.exception_handler(ServerBusy)
    async def busy(_request: Request, error: ServerBusy) -> JSONResponse:
        response = _error(503, str(error))
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(DeepfitError)
    async def refused(_request: Request, error: DeepfitError) -> JSONResponse:
        return _error(422 if isinstance(error, InvalidInputError) else 400, str(error))


def _where(problem: dict) -> str:
    """The problem's place in the body: ``rows.3.colour`` (without pydantic's name for the member of a
    union that was tried, as in ``rows.3.colour.str``)."""
    parts = [str(part) for part in problem.get("loc", ()) if part != "body"]
    return ".".join(parts[:3] if parts[:1] == ["rows"] else parts)


def _problem(problem: dict) -> str:
    """Pydantic's words for one problem, with the value that was sent and the float32 limit said as a
    person would say it."""
    if problem.get("type") in ("less_than_equal", "greater_than_equal"):
        return "is beyond float32's range (about ±3.4e38), which the model computes in"
    given = problem.get("input")
    if problem.get("type") in ("float_type", "string_type") and isinstance(given, (bool, str)):
        return f"{problem.get('msg')}, not {json.dumps(given)[:40]}"
    return problem.get("msg", "is not valid")


def _error(status: int, message: str, details=None) -> JSONResponse:
    body = {"error": message}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status)


def bearer(token: str | None):
    async def check(request: Request) -> None:
        if token is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            from fastapi import HTTPException

            raise HTTPException(401, "a bearer token is required: send 'Authorization: Bearer <token>'.",
                                headers={"WWW-Authenticate": "Bearer"})
    return check
