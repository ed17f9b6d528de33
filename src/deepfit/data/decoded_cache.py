"""The on-disk cache of decoded files: one ``.npy`` per set of files and reading settings (pictures:
size and channels, as uint8; sound: the sample rate, as float32).

The key is a hash of every file's resolved path, size and modification time, so a changed, added
or removed file gives a new key. Large sets are memory-mapped when read back. A cache that cannot
be written or read only costs decoding again.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np

from deepfit.atomic import write_atomically

LARGE_CACHE_BYTES = 512 * 2**20  # above this a cached set is memory-mapped rather than read into memory
CACHE_VERSION = 1


def cache_folder() -> Path:
    """Where decoded files are kept: $DEEPFIT_CACHE_DIR, else $XDG_CACHE_HOME/deepfit, else ~/.cache/deepfit."""
    if os.environ.get("DEEPFIT_CACHE_DIR"):
        return Path(os.environ["DEEPFIT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "deepfit"


def cache_file_for(paths, *settings, folder: str = "images") -> Path | None:
    digest = hashlib.sha256(json.dumps([CACHE_VERSION, *[list(s) if isinstance(s, tuple) else s
                                                         for s in settings]]).encode())
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            return None
        digest.update(f"\0{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return cache_folder() / folder / f"{digest.hexdigest()[:32]}.npy"


def load_cached(cache_file: Path, shape, dtype=np.uint8):
    try:
        large = cache_file.stat().st_size > LARGE_CACHE_BYTES
        images = np.load(cache_file, mmap_mode="r" if large else None, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if (shape is not None and images.shape != shape) or images.dtype != dtype:
        return None
    return images


def store_cached(cache_file: Path, images: np.ndarray) -> None:
    """Best effort: a cache that cannot be written only costs decoding again next time."""
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.save(buffer, images, allow_pickle=False)
        write_atomically(cache_file, buffer.getbuffer())
    except OSError:
        pass
