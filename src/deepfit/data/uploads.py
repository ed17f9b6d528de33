"""Pictures and sound sent as bytes (an HTTP upload), decoded in memory as the model was trained:
never written to disk, never under a name the sender chose."""

from __future__ import annotations

import io
from contextlib import contextmanager
from pathlib import PurePath

import numpy as np

from deepfit.errors import InvalidInputError, short_reason


MIN_RATE, MAX_RATE = 1000, 192_000  # as deepfit.Clips takes them


class UnsupportedFileType(InvalidInputError):
    """A file of a kind the model does not take (HTTP 415)."""


class UploadTooLarge(InvalidInputError):
    """An upload over one of the server's budgets: pixels of a picture or of a request, seconds or
    samples of sound (HTTP 413). Checked from the files' headers, before anything is decoded."""


def suffix_of(name: str) -> str:
    return PurePath(name or "").suffix.lower()


def picture_size(payload: bytes, name: str) -> tuple[int, int]:
    """(width, height) of one uploaded picture, from its header alone: nothing is decoded."""
    from PIL import Image

    from deepfit.data.images import IMAGE_SUFFIXES, quiet_pillow_size_warning

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
    from deepfit.data.images import decode_picture

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

    from deepfit.data.audio import AUDIO_SUFFIXES

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
