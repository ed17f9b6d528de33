"""Concurrent requests answered together: requests that arrive while the model is busy are joined
into one batch, run once on the device, and split again. An idle server answers a request at once
(no waiting for company, unless `max_wait_seconds` asks for it); under load, batches form by
themselves from what queued up during the previous run.

One worker thread runs the model, so requests never compete for it; a batch whose inputs the model
refuses is run again request by request, so one bad request cannot fail the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from deepfit.data import kinds


@dataclass
class Counters:
    requests: int = 0
    batches: int = 0
    largest_batch: int = 0


class Batcher:
    def __init__(self, estimator, *, max_batch: int = 256, max_wait_seconds: float = 0.0):
        self.estimator = estimator
        self.max_batch, self.max_wait = max_batch, max_wait_seconds
        self.counters = Counters()
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deepfit-model")

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.estimator = None  # a stopped server lets go of its model

    async def predict(self, inputs) -> tuple[np.ndarray, np.ndarray | None]:
        """(labels, probabilities) for `inputs` (a DataFrame or array of rows, pictures, or Clips)."""
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((inputs, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0][0])
            deadline = loop.time() + self.max_wait
            while size < self.max_batch:
                if not self._queue.empty():
                    item = self._queue.get_nowait()
                elif self.max_wait > 0 and loop.time() < deadline:
                    try:
                        item = await asyncio.wait_for(self._queue.get(), deadline - loop.time())
                    except asyncio.TimeoutError:
                        break
                else:
                    break
                batch.append(item)
                size += len(item[0])
            await self._answer(loop, batch, size)

    async def _answer(self, loop, batch: list, size: int) -> None:
        self.counters.requests += len(batch)
        self.counters.batches += 1
        self.counters.largest_batch = max(self.counters.largest_batch, size)
        try:
            labels, probabilities = await loop.run_in_executor(self._executor, self._predict,
                                                               _join([inputs for inputs, _ in batch]))
        except Exception:  # noqa: BLE001  (one request's bad input: answer each request on its own)
            for inputs, future in batch:
                await self._answer_one(loop, inputs, future)
            return
        start = 0
        for inputs, future in batch:
            end = start + len(inputs)
            if not future.done():
                future.set_result((labels[start:end], None if probabilities is None else probabilities[start:end]))
            start = end

    async def _answer_one(self, loop, inputs, future) -> None:
        try:
            result = await loop.run_in_executor(self._executor, self._predict, inputs)
        except Exception as error:  # noqa: BLE001  (handed to the request that sent it)
            if not future.done():
                future.set_exception(error)
            return
        if not future.done():
            future.set_result(result)

    def _predict(self, inputs):
        with warnings.catch_warnings():
            # rows arrive as one array in training order; a model fitted on a DataFrame would warn that
            # the array has no column names (the server has already matched them by name)
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            if hasattr(self.estimator, "predict_with_proba"):
                return self.estimator.predict_with_proba(inputs)
            return self.estimator.predict(inputs), None


def _join(parts: list):
    """One batch from the inputs of several requests, all of one kind."""
    return parts[0] if len(parts) == 1 else kinds.for_data(parts[0]).join(parts)
