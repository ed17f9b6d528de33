"""MNIST's IDX format: a magic number (type and dimensions), big-endian sizes, then the raw values."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from deepfit.errors import InvalidInputError

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def is_idx_name(name: str) -> bool:
    return "idx" in name and ("ubyte" in name or name.endswith((".idx", ".idx.gz")))


def read_idx(path) -> np.ndarray:
    """Read an IDX file (MNIST's format, gzipped or not) into an array, checking its header."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise InvalidInputError(f"{path}: a damaged gzip file ({error}). Download it again.") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise InvalidInputError(f"{path}: not an IDX file (the first bytes are not an IDX header).")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise InvalidInputError(f"{path}: the IDX header is cut short; the file is truncated.")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise InvalidInputError(f"{path}: the header promises {expected} bytes of data for shape {shape}, "
                                f"the file holds {len(raw) - header}; it is truncated or damaged.")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))
