"""A cap on request bodies, enforced before the application reads them: a declared Content-Length
over the cap is refused at once, and a body streamed without one is cut off as soon as it passes it."""

from __future__ import annotations

import asyncio
import json


class BodySizeLimit:
    """ASGI middleware: 413 for a body over `max_bytes`; the body is read (at most `max_bytes`) and
    handed on in the chunks it came in, so the application never holds more than the cap and parses a
    large body a chunk at a time, letting other requests through between chunks."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await self._refuse(send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await self._refuse(send)
            chunks.append(chunk)
            more = message.get("more_body", False)
        chunks.reverse()

        async def replay():
            if not chunks:
                return await receive()
            await asyncio.sleep(0)  # other requests are answered between chunks while this body is parsed
            chunk = chunks.pop()
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

        return await self.app(scope, replay, send)

    async def _refuse(self, send) -> None:
        message = json.dumps({"error": f"the request body is larger than the server's limit of "
                                       f"{self.max_bytes / 1024 / 1024:g} MiB; send less per request, or start "
                                       "the server with a larger --max-body-mb."}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(message)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": message})
