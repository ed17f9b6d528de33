"""Pictures and sound sent as bytes (an HTTP upload), decoded in memory as the model was trained:
never written to disk, never under a name the sender chose."""

from __future__ import annotations

import io
from pathlib import PurePath

import numpy as np

from deepfit.errors import InvalidInputError


MIN_RATE, MAX_RATE = 1000, 192_000  # as deepfit.Clips takes them


class UnsupportedFileType(InvalidInputError):
    """A file of a kind the model does not take (HTTP 415)."""


def suffix_of(name: str) -> str:
    return PurePath(name or "").suffix.lower()


def picture_from_bytes(payload: bytes, name: str, size: tuple[int, int] | None, channels: int) -> np.ndarray:
    """One upload as a (H, W, C) uint8 picture at the model's size (None: its own) and channels."""
    from PIL import Image

    from deepfit.data.images import IMAGE_SUFFIXES, MAX_PIXELS, _decode

    _check_suffix(name, IMAGE_SUFFIXES, "pictures")
    if not payload:
        raise InvalidInputError(f"{name}: the file is empty (0 bytes).")
    try:
        with Image.open(io.BytesIO(payload)) as image:
            width, height = image.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise InvalidInputError(f"{name}: not a readable picture ({str(error).splitlines()[0][:120]}).") from None
    if width * height > MAX_PIXELS:
        raise InvalidInputError(f"{name}: {width} x {height} pixels is larger than the {MAX_PIXELS // 1_000_000} "
                                "megapixels deepfit reads; shrink it first.")
    array, why = _decode(io.BytesIO(payload), size or (height, width), channels)
    if array is None:
        raise InvalidInputError(f"{name}: {why}.")
    return array


def clip_from_bytes(payload: bytes, name: str, max_seconds: float) -> tuple[np.ndarray, int]:
    """One upload as (mono float32 waveform, its sample rate), cut to `max_seconds`."""
    import soundfile

    from deepfit.data.audio import AUDIO_SUFFIXES

    _check_suffix(name, AUDIO_SUFFIXES, "sound files")
    if not payload:
        raise InvalidInputError(f"{name}: the file is empty (0 bytes).")
    try:
        with soundfile.SoundFile(io.BytesIO(payload)) as sound:
            if sound.frames <= 0 or sound.samplerate <= 0:
                raise InvalidInputError(f"{name}: holds no samples (0 frames).")
            if not MIN_RATE <= sound.samplerate <= MAX_RATE:
                raise InvalidInputError(f"{name}: its header says {sound.samplerate} samples per second; deepfit "
                                        f"reads {MIN_RATE} to {MAX_RATE}.")
            samples = sound.read(frames=int(min(sound.frames, max_seconds * sound.samplerate)), dtype="float32",
                                 always_2d=True)
            rate = int(sound.samplerate)
    except (OSError, RuntimeError, ValueError) as error:  # LibsndfileError is a RuntimeError
        if isinstance(error, InvalidInputError):
            raise
        reason = str(error).split(": ", 1)[-1].splitlines()[0][:120]
        raise InvalidInputError(f"{name}: not a readable sound file ({reason}).") from None
    if len(samples) == 0:
        raise InvalidInputError(f"{name}: holds no samples.")
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    return np.nan_to_num(mono, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32), rate


def _check_suffix(name: str, suffixes, noun: str) -> None:
    if suffix_of(name) not in suffixes:
        raise UnsupportedFileType(f"{name or 'the upload'}: this model takes {noun} ({', '.join(suffixes)}); got a "
                                  f"{suffix_of(name) or 'file without a suffix'}.")
