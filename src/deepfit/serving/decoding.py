"""Uploaded pictures and sound, decoded off the event loop and within budgets.

A small compressed file can unpack to gigabytes (a 194 KB PNG holds 100 megapixels of 16-bit grey),
so every request is first measured from its files' headers, and refused with 413 naming the limit
when it is over its `UploadBudget` (`deepfit.data.uploads`); nothing is decoded then. What passes
is decoded in a small pool of worker threads, never on the event loop, so `/health` and other requests are answered meanwhile. When more
requests wait for that pool than it can take, the next one is refused with 503 and ``Retry-After``
rather than queued without end.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from deepfit.errors import DeepfitError

DECODE_WORKERS = 2
MAX_WAITING = 16  # requests waiting for a decode worker before more are refused with 503


class ServerBusy(DeepfitError):
    """Too many requests are waiting to be decoded (HTTP 503, with Retry-After)."""


class Decoder:
    """A bounded pool of decoding threads, shared by the requests of one server."""

    def __init__(self, workers: int = DECODE_WORKERS, max_waiting: int = MAX_WAITING):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deepfit-decode")
        self._capacity, self._taken = workers + max_waiting, 0

    async def run(self, function, *args):
        """`function(*args)` on a decoding thread (a kind's `decode_uploads`, a large JSON body's parsing);
        ServerBusy when the pool and its queue are full."""
        if self._taken >= self._capacity:
            raise ServerBusy(f"the server is decoding {self._taken} requests' uploads or bodies already; retry in a "
                             "moment, or send fewer files or rows at once.")
        self._taken += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)
        finally:
            self._taken -= 1

    @property
    def taken(self) -> int:
        """Requests being decoded or waiting for a worker now."""
        return self._taken

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
