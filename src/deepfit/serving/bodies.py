"""JSON request bodies (a table's rows, texts) parsed and validated a slice at a time, so that a large or
malformed body does not hold the server's event loop.

FastAPI parses a declared JSON body on the event loop: a 5 MB body of 10,000 rows held it for about
0.35 s (json.loads alone 0.19 s), and one whose 200,000 fields were all misnamed for 1.1 s, while
`/health` waited. Here the body is parsed by pydantic-core's JSON parser (about 5 ms a megabyte; the
one call that cannot be cut) and its list is validated 500 items at a time, stopping at the first slice
with a problem; the caller runs this on a worker thread for large bodies, where the Python between the
slices lets the event loop in (and builds large answers there too). The route declares the body's schema for OpenAPI with `documented_body`.
"""

from __future__ import annotations

import email.message

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

SLICE = 500  # items validated in one call
INLINE_BYTES = 64 * 1024  # bodies this small are parsed on the event loop: well under a millisecond


def validated_items(model: type[BaseModel], key: str, body: bytes, content_type: str | None,
                    max_items: int) -> list:
    """The items of `key` in a JSON body that `model` describes (``{key: [item, ...]}``), each validated
    as `model` says; RequestValidationError (pydantic's problems, located in the body) when not."""
    document = _document(body, content_type)
    items = document.get(key) if isinstance(document, dict) else None
    if not isinstance(items, list) or not items:  # the wrong shape, or no items: as the model says
        try:
            model.model_validate(document if not isinstance(items, list) else {key: items})
        except ValidationError as error:
            raise RequestValidationError(error.errors()) from None
        raise RequestValidationError([{"type": "missing", "loc": (key,), "msg": "Field required"}])
    if len(items) > max_items:
        raise RequestValidationError([{"type": "too_long", "loc": (key,), "input": None,
                                       "msg": f"List should have at most {max_items} items, not {len(items)}"}])
    validated = []
    for start in range(0, len(items), SLICE):
        try:
            validated.extend(getattr(model.model_validate({key: items[start:start + SLICE]}), key))
        except ValidationError as error:
            raise RequestValidationError([_shifted(problem, start) for problem in error.errors()]) from None
    return validated


def _document(body: bytes, content_type: str | None):
    """The parsed JSON document; a body sent as another type is refused, saying to send JSON."""
    if not body:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required"}])
    if content_type:
        message = email.message.Message()
        message["content-type"] = content_type
        subtype = message.get_content_subtype()
        if message.get_content_maintype() != "application" or not (subtype == "json" or subtype.endswith("+json")):
            raise RequestValidationError([{"type": "model_attributes_type", "loc": ("body",),
                                           "msg": f"the body is sent as {message.get_content_type()}; send JSON "
                                                  "(Content-Type: application/json)"}])
    try:
        return from_json(body)
    except ValueError:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error"}]) from None


def _shifted(problem: dict, start: int) -> dict:
    """A problem of a slice, located in the whole list."""
    loc = tuple(problem.get("loc", ()))
    if len(loc) >= 2 and isinstance(loc[1], int):
        loc = (loc[0], loc[1] + start, *loc[2:])
    return {**problem, "loc": loc}


def documented_body(app: FastAPI, path: str, model: type[BaseModel]) -> None:
    """Declare `model` as the JSON body of ``POST path`` in the app's OpenAPI schema, its models among the
    schema's components, as FastAPI declares a body it parses itself."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        reference = "#/components/schemas/{model}"
        body = model.model_json_schema(by_alias=True, ref_template=reference)
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(body.pop("$defs", {}))
        schemas[model.__name__] = body
        schema["paths"][path]["post"]["requestBody"] = {
            "required": True, "content": {"application/json": {"schema": {"$ref": reference.format(model=model.__name__)}}}}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
