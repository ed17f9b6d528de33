"""The HTTP contract in the OpenAPI schema: every error status a route can answer, with the error
body's schema, and the value types that table rows take. A schemathesis run checks the server
against it (tests/test_serve_contract.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, Strict

FLOAT32_MAX = 3.4028234663852886e38  # the largest finite float32: the network computes in float32


class Problem(BaseModel):
    where: str = Field(description="the place in the body, e.g. rows.0.size")
    problem: str


class ErrorBody(BaseModel):
    """Every error, whatever its status: one line that names the field or file, and the fix."""

    error: str = Field(description="what was wrong and how to fix it, in one line")
    details: list[Problem] | None = Field(None, description="each problem found in the body (at most 20)")


def _documented(descriptions: dict[int, str]) -> dict:
    return {status: {"model": ErrorBody, "description": text} for status, text in descriptions.items()}


_UNAUTHORISED = "A bearer token is required (the server was started with --token) and was missing or wrong."
_TOO_LARGE = "The body is over the server's size limit (--max-body-mb)"

_BUSY_PARSING = ("Bodies over 64 KiB are parsed on a small pool of threads, and more requests are waiting for it "
                 "than the server takes; retry after the Retry-After seconds.")

SERVICE_ERRORS = _documented({401: _UNAUTHORISED})
ROW_ERRORS = _documented({
    400: "The body is not valid JSON.",
    401: _UNAUTHORISED,
    413: _TOO_LARGE + ".",
    422: "The body has the wrong shape, a column is missing or has a value of the wrong type, or a value is "
         "one the model cannot compute with.",
    503: _BUSY_PARSING,
})
TEXT_ERRORS = _documented({
    400: "The body is not valid JSON.",
    401: _UNAUTHORISED,
    413: _TOO_LARGE + ".",
    422: "The body has the wrong shape (no texts, more than 10,000, or one that is not a string), or a text is "
         "empty: the message names it (texts.N).",
    503: _BUSY_PARSING,
})
FILE_ERRORS = _documented({
    400: "The multipart body cannot be parsed.",
    401: _UNAUTHORISED,
    413: _TOO_LARGE + ", or its files are over a budget: more than 256 files, or too many pixels (a picture "
         "or the request), seconds or samples of sound. The message names the limit.",
    415: "A file is not of a type the model takes (its suffix, or no suffix, names no picture or sound format).",
    422: "No files were sent, or a file cannot be decoded (empty, damaged, no samples): the message names it.",
    503: "More requests are waiting to be decoded than the server takes; retry after the Retry-After seconds.",
})


def float32_number():
    """A JSON number (never a boolean or a string) that float32 can hold: the schema states the range."""
    return Annotated[float, Strict(), Field(ge=-FLOAT32_MAX, le=FLOAT32_MAX, allow_inf_nan=False)]


def strict_category():
    """A category, given as text or as a number (never a boolean)."""
    return Annotated[str, Strict()] | Annotated[float, Strict(), Field(allow_inf_nan=False)]
