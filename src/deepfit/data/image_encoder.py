"""The Encoder for pictures: the size and channels the network was trained on, saved with the model.

Arrays arrive as (N, H, W) or (N, H, W, C) -- the layout of Pillow, Keras and `read_images` --
or channels first (N, C, H, W) as PyTorch holds them; uint8 or float. `transform` gives
(N, C, H, W) at the trained size, keeping uint8 as uint8 (a quarter of the memory of floats): the
network's first layer scales and normalises, so an exported model takes the same bytes.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np

from deepfit.errors import DataWarning, InvalidInputError

CHANNEL_COUNTS = (1, 3, 4)


@dataclass
class ImageEncoder:
    """Pictures -> (N, C, H, W) arrays of one size and channel count."""

    height: int
    width: int
    channels: int
    dtype: str  # "uint8" or "float32": what the network was trained on
    kind: str = "image"

    @classmethod
    def fit(cls, X, *, size=None, channels: int | None = None) -> ImageEncoder:
        images = as_channels_last(X)
        height, width = images.shape[1:3] if size is None else ((size, size) if np.isscalar(size) else size)
        channels = channels or (3 if images.shape[3] == 4 else images.shape[3])
        return cls(int(height), int(width), int(channels), "uint8" if images.dtype == np.uint8 else "float32")

    def transform(self, X) -> np.ndarray:
        """(N, C, H, W) at the trained size and channels; uint8 stays uint8."""
        images = as_channels_last(X)
        if images.dtype != np.uint8:
            images = images.astype(np.float32, copy=False)
            if self.dtype == "uint8" and images.size and float(images.max()) <= 1.0:
                warnings.warn("these pictures hold values from 0 to 1, but the model was trained on bytes (0 to "
                              "255); multiply them by 255 first.", DataWarning, stacklevel=4)
        if images.shape[1:] != (self.height, self.width, self.channels):
            images = resize_batch(images, (self.height, self.width), self.channels)
        return np.ascontiguousarray(images.transpose(0, 3, 1, 2))

    @property
    def n_inputs(self) -> int:
        return self.height * self.width * self.channels

    def describe(self) -> str:
        return f"{self.height}x{self.width} pictures, {self.channels} channel{'s' * (self.channels > 1)}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ImageEncoder:
        encoder = cls(**{k: data[k] for k in ("height", "width", "channels", "dtype")})
        if not (0 < encoder.height <= 4096 and 0 < encoder.width <= 4096 and encoder.channels in (1, 3)):
            raise ValueError(f"implausible picture settings {data}")
        return encoder


def is_image_array(X) -> bool:
    """Arrays of 3 or 4 dimensions are pictures; tables are 2-D."""
    return hasattr(X, "ndim") and hasattr(X, "shape") and X.ndim in (3, 4)


def as_channels_last(X) -> np.ndarray:
    """(N, H, W), (N, H, W, C) or (N, C, H, W) -> (N, H, W, C), refusing what cannot be pictures."""
    images = X.numpy() if hasattr(X, "numpy") and not isinstance(X, np.ndarray) else np.asarray(X)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise InvalidInputError(f"pictures must be an array of shape (N, H, W) or (N, H, W, C), got {images.shape}.")
    if images.shape[3] not in CHANNEL_COUNTS and images.shape[1] in CHANNEL_COUNTS:
        images = images.transpose(0, 2, 3, 1)  # channels first, as PyTorch holds them
    if images.shape[3] not in CHANNEL_COUNTS:
        raise InvalidInputError(f"pictures of shape {images.shape} have {images.shape[3]} channels; expected 1 "
                                "(greyscale), 3 (RGB) or 4 (RGBA) in the last axis.")
    if len(images) == 0 or images.shape[1] == 0 or images.shape[2] == 0:
        raise InvalidInputError(f"got an empty array of pictures, shape {images.shape}; pass at least one.")
    if images.dtype.kind not in "uif" or images.dtype.kind == "b":
        raise InvalidInputError(f"pictures must hold numbers (uint8 0..255 or floats), got dtype {images.dtype}.")
    if images.dtype.kind == "f" and not np.isfinite(images).all():
        bad = int(np.flatnonzero(~np.isfinite(images).reshape(len(images), -1).all(axis=1))[0])
        raise InvalidInputError(f"picture {bad} holds NaN or infinity; every pixel needs a value.")
    if images.dtype.kind in "iu" and images.dtype != np.uint8:
        images = images.astype(np.float32)
    return images


def resize_batch(images: np.ndarray, size: tuple[int, int], channels: int) -> np.ndarray:
    """Resize (N, H, W, C) pictures with antialiasing and convert channels (grey <-> RGB, drop alpha)."""
    import torch

    was_uint8 = images.dtype == np.uint8
    if images.shape[3] == 4:
        images = images[..., :3]
    if images.shape[3] == 3 and channels == 1:
        weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601 luma, as Pillow's "L"
        images = (images.astype(np.float32) @ weights)[..., None]
        images = images.round().clip(0, 255).astype(np.uint8) if was_uint8 else images
    elif images.shape[3] == 1 and channels == 3:
        images = np.repeat(images, 3, axis=3)
    if images.shape[1:3] == tuple(size):
        return images
    tensor = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    resized = torch.nn.functional.interpolate(tensor, size=tuple(size), mode="bilinear", antialias=True,
                                              align_corners=False).permute(0, 2, 3, 1).numpy()
    if was_uint8:
        return resized.round().clip(0, 255).astype(np.uint8)
    return resized.astype(np.float32)
