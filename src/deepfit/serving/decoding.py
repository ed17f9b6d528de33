"""Uploaded pictures and sound, decoded off the event loop and within budgets.

A small compressed file can unpack to gigabytes (a 194 KB PNG holds 100 megapixels of 16-bit grey),
so every request is first measured from its files' headers, and refused with 413 naming the limit
when it is over a budget; nothing is decoded then. What passes is decoded in a small pool of worker
threads, never on the event loop, so `/health` and other requests are answered meanwhile. When more
requests wait for that pool than it can take, the next one is refused with 503 and ``Retry-After``
rather than queued without end.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from deepfit.data.images import MAX_PIXELS
from deepfit.data.uploads import UploadTooLarge, clip_from_bytes, clip_length, picture_from_bytes, picture_size
from deepfit.errors import DeepfitError

DECODE_WORKERS = 2
MAX_WAITING = 16  # requests waiting for a decode worker before more are refused with 503


@dataclass(frozen=True)
class UploadBudget:
    """What one request may ask the server to decode. Memory while decoding stays under about
    `DECODE_WORKERS` x 5 bytes x `picture_pixels` for pictures (Pillow holds colour as 4 bytes a
    pixel, plus the picture resized), and 4 bytes x `request_samples` per request for sound."""

    picture_pixels: int = 50_000_000     # one picture (a 48-megapixel phone photo passes)
    request_pixels: int = 100_000_000    # all the pictures of one request together
    clip_seconds: float = 600.0          # one sound file is cut after this
    request_seconds: float = 1800.0      # all the sound of one request, after cutting
    request_samples: int = 50_000_000    # decoded samples of one request (200 MB of float32)


class ServerBusy(DeepfitError):
    """Too many requests are waiting to be decoded (HTTP 503, with Retry-After)."""


class Decoder:
    """A bounded pool of decoding threads, shared by the requests of one server."""

    def __init__(self, workers: int = DECODE_WORKERS, max_waiting: int = MAX_WAITING):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deepfit-decode")
        self._capacity, self._taken = workers + max_waiting, 0

    async def run(self, function, *args):
        """`function(*args)` on a decoding thread; ServerBusy when the pool and its queue are full."""
        if self._taken >= self._capacity:
            raise ServerBusy(f"the server is decoding {self._taken} requests' uploads already; retry in a moment, "
                             "or send fewer files at once.")
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


def check_pictures(payloads: list[tuple[str, bytes]], budget: UploadBudget) -> list[tuple[int, int]]:
    """Every picture's (width, height) from its header, refused (UploadTooLarge) over a budget."""
    sizes, total, limit = [], 0, min(budget.picture_pixels, MAX_PIXELS)
    for name, payload in payloads:
        width, height = picture_size(payload, name)
        if width * height > limit:
            raise UploadTooLarge(f"{name}: {width} x {height} pixels is more than the {_mega(limit)} "
                                 "megapixels a picture may hold on this server; shrink it first.")
        total += width * height
        if total > budget.request_pixels:
            raise UploadTooLarge(f"{name}: the pictures of this request hold more than "
                                 f"{_mega(budget.request_pixels)} megapixels together; send fewer per request, "
                                 "or smaller ones.")
        sizes.append((width, height))
    return sizes


def decode_pictures(payloads, size: tuple[int, int] | None, channels: int, budget: UploadBudget) -> list[np.ndarray]:
    """The pictures as (H, W, C) uint8 arrays at `size` (None: their own), after `check_pictures`."""
    sizes = check_pictures(payloads, budget)
    return [picture_from_bytes(payload, name, size or (height, width), channels)
            for (name, payload), (width, height) in zip(payloads, sizes)]


def check_clips(payloads: list[tuple[str, bytes]], budget: UploadBudget) -> None:
    """Refuse (UploadTooLarge) sound files that together, each cut at `clip_seconds`, last longer
    than `request_seconds` or hold more than `request_samples` samples, from their headers."""
    seconds, samples = 0.0, 0
    for name, payload in payloads:
        frames, rate = clip_length(payload, name)
        kept = int(min(frames, budget.clip_seconds * rate))
        seconds, samples = seconds + kept / rate, samples + kept
        if seconds > budget.request_seconds:
            raise UploadTooLarge(f"{name}: the files of this request last more than {budget.request_seconds:g} "
                                 "seconds together; send fewer per request.")
        if samples > budget.request_samples:
            raise UploadTooLarge(f"{name}: the files of this request hold more than {_mega(budget.request_samples)} "
                                 "million samples together; send fewer per request, or shorter ones.")


def decode_clips(payloads, sample_rate: int, budget: UploadBudget):
    """The sound files as one Clips at `sample_rate` (resampled where needed), after `check_clips`."""
    import soxr

    from deepfit.data.audio import Clips

    check_clips(payloads, budget)
    waveforms = []
    for name, payload in payloads:
        waveform, rate = clip_from_bytes(payload, name, budget.clip_seconds)
        if rate != sample_rate:
            waveform = soxr.resample(waveform, rate, sample_rate, quality="HQ").astype(np.float32)
        waveforms.append(waveform)
    return Clips(waveforms, sample_rate)


def _mega(count: float) -> str:
    return f"{count / 1e6:g}"
