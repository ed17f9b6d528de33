"""Trying a run's model in the studio: under ``/try/<project>/<run>/`` the studio answers exactly as
`deepfit serve` of that model does (its page, ``model``, ``predict``: the same decoding within budgets,
batching and errors), because it is that app, started when first asked for. At most `KEPT` such apps
are kept; the oldest is stopped (its batcher and decoding threads) when another starts, and a deleted
run's is stopped at once."""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from contextlib import AsyncExitStack
from pathlib import Path

from deepfit.errors import InvalidInputError
from deepfit.studio.names import safe_name

KEPT = 2


class ModelApps:
    """ASGI app for ``/try``: finds the run's model under `root`, and hands the request to its app."""

    def __init__(self, root: Path, *, token: str | None, budget, max_body_bytes: int):
        self.root, self.token, self.budget, self.max_body_bytes = Path(root), token, budget, max_body_bytes
        self.apps: OrderedDict[Path, tuple[object, AsyncExitStack]] = OrderedDict()
        self.lock = asyncio.Lock()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        rest, mounted = scope["path"], scope.get("root_path", "")
        rest = rest[len(mounted):] if mounted and rest.startswith(mounted) else rest
        parts = rest.strip("/").split("/")
        if len(parts) == 2 and not rest.endswith("/"):  # the page's relative links need the slash
            return await _respond(send, 308, b"", [(b"location", (scope["path"] + "/").encode())])
        found = self._model_path(parts[:2]) if len(parts) >= 2 else None
        if found is None:
            return await _respond(send, 404, json.dumps({"error": "no trained model in that run; train it first, "
                                                                  "or choose a finished run."}).encode())
        app = await self._app(found)
        inner = "/" + "/".join(parts[2:])
        await app({**scope, "path": inner, "raw_path": inner.encode(), "root_path": ""}, receive, send)

    def _model_path(self, names: list[str]) -> Path | None:
        if len(names) != 2:
            return None
        try:
            project, run = safe_name(names[0], "project"), safe_name(names[1], "run")
        except InvalidInputError:
            return None
        path = self.root / project / run / "model.deepfit"
        return path if path.is_file() else None

    async def _app(self, path: Path):
        async with self.lock:
            if path in self.apps:
                self.apps.move_to_end(path)
                return self.apps[path][0]
            app = await asyncio.to_thread(self._create, path)
            stack = AsyncExitStack()
            await stack.enter_async_context(app.router.lifespan_context(app))
            self.apps[path] = (app, stack)
            while len(self.apps) > KEPT:
                _, (_, oldest) = self.apps.popitem(last=False)
                await oldest.aclose()
            return app

    def _create(self, path: Path):
        from deepfit.serving import create_app

        return create_app(path, token=self.token, budget=self.budget, max_body_bytes=self.max_body_bytes)

    async def forget(self, folder: Path) -> None:
        """Stop the apps of models under `folder` (a run or project being deleted)."""
        async with self.lock:
            for path in [p for p in self.apps if Path(folder) in p.parents]:
                _, stack = self.apps.pop(path)
                await stack.aclose()

    async def close(self) -> None:
        async with self.lock:
            while self.apps:
                _, (_, stack) = self.apps.popitem()
                await stack.aclose()


async def _respond(send, status: int, body: bytes, headers=()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})
