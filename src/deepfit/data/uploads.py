"""Pictures and sound sent as bytes (an HTTP upload), decoded in memory as the model was trained:
never written to disk, never under a name the sender chose."""

from __future__ import annotations

import io
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np

from deepfit.data.audio import AUDIO_SUFFIXES
from deepfit.data.clips import MAX_RATE, MIN_RATE, Clips
from deepfit.data.images import IMAGE_SUFFIXES, MAX_PIXELS, decode_picture, quiet_pillow_size_warning
from deepfit.errors import InvalidInputError, short_reason


class UnsupportedFileType(InvalidInputError):
    """A file of a kind the model does not take (HTTP 415)."""


class UploadTooLarge(InvalidInputError):
    """An upload over one of the server's budgets: pixels of a picture or of a request, seconds or
    samples of sound (HTTP 413). Checked from the files' headers, before anything is decoded."""


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



def suffix_of(name: str) -> str:
    return PurePath(name or "").suffix.lower()


def picture_size(payload: bytes, name: str) -> tuple[int, int]:
    """(width, height) of one uploaded picture, from its header alone: nothing is decoded."""
    from PIL import Image

    _check_suffix(name, IMAGE_SUFFIXES, "pictures")
    quiet_pillow_size_warning()
    if not payload:
        raise InvalidInputError(f"{name}: the file is empty (0 bytes).")
    try:
        with Image.open(io.BytesIO(payload)) as image:
            return image.size
    except Image.UnidentifiedImageError:
        raise InvalidInputError(f"{name}: not a readable picture (its bytes match no picture format "
                                f"Pillow reads: {', '.join(IMAGE_SUFFIXES)}).") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise InvalidInputError(f"{name}: not a readable picture ({short_reason(error)}).") from None


def picture_from_bytes(payload: bytes, name: str, size: tuple[int, int], channels: int) -> np.ndarray:
    """One upload as a (H, W, C) uint8 picture at `size` (height, width) and `channels`. The caller has
    read its header with `picture_size` and checked it against its budget."""
    array, why = decode_picture(io.BytesIO(payload), size, channels)
    if array is None:
        raise InvalidInputError(f"{name}: {why}.")
    return array


def clip_length(payload: bytes, name: str) -> tuple[int, int]:
    """(frames, sample rate) of one uploaded sound file, from its header alone."""
    with _opened_clip(payload, name) as (_, frames, rate):
        return frames, rate


def clip_from_bytes(payload: bytes, name: str, max_seconds: float) -> tuple[np.ndarray, int]:
    """One upload as (mono float32 waveform, its sample rate), cut to `max_seconds`."""
    with _opened_clip(payload, name) as (sound, frames, rate):
        samples = sound.read(frames=int(min(frames, max_seconds * rate)), dtype="float32", always_2d=True)
    if len(samples) == 0:
        raise InvalidInputError(f"{name}: holds no samples.")
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    return np.nan_to_num(mono, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32), rate


@contextmanager
def _opened_clip(payload: bytes, name: str):
    """(the open sound file, its frames, its sample rate), its header checked; every libsndfile error,
    opening or reading, becomes one line naming the file."""
    import soundfile

    _check_suffix(name, AUDIO_SUFFIXES, "sound files")
    if not payload:
        raise InvalidInputError(f"{name}: the file is empty (0 bytes).")
    try:
        with soundfile.SoundFile(io.BytesIO(payload)) as sound:
            frames, rate = int(sound.frames), int(sound.samplerate)
            if frames <= 0 or rate <= 0:
                raise InvalidInputError(f"{name}: holds no samples (0 frames).")
            if not MIN_RATE <= rate <= MAX_RATE:
                raise InvalidInputError(f"{name}: its header says {rate} samples per second; deepfit reads "
                                        f"{MIN_RATE} to {MAX_RATE}.")
            yield sound, frames, rate
    except InvalidInputError:
        raise
    except (OSError, RuntimeError, ValueError) as error:  # LibsndfileError is a RuntimeError
        raise InvalidInputError(f"{name}: not a readable sound file ({short_reason(error)}).") from None


def _check_suffix(name: str, suffixes, noun: str) -> None:
    if suffix_of(name) not in suffixes:
        raise UnsupportedFileType(f"{name or 'the upload'}: this model takes {noun} ({', '.join(suffixes)}); got a "
                                  f"{suffix_of(name) or 'file without a suffix'}.")


# ------------------------------------------------------------------ within a budget
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
    import soxr  # resampling: loaded with the first sound upload

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
