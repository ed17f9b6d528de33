"""Pictures for detection, each at its own size: reading them, and cutting windows out of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from deepfit.data.images import IMAGE_SUFFIXES, MAX_PIXELS
from deepfit.data.listing import files_in, list_source
from deepfit.errors import InvalidInputError


def read_pictures(source, channels: int | None = None, *, what: str = "pictures", classes: bool = False):
    """(pictures as uint8 [H, W, C] arrays at their own sizes, their files, labels or None). With
    `classes`, a folder's sub-folders are classes; without, every picture under it counts.
    `channels` 1 or 3 converts; None keeps grey as 1 channel when every picture is grey, colour otherwise."""
    from PIL import Image

    if isinstance(source, (str, Path)) and Path(source).is_dir() and not any(
            path.suffix.lower() in IMAGE_SUFFIXES for path in Path(source).rglob("*")):
        raise InvalidInputError(f"{source}: holds no {what} (pictures: {', '.join(IMAGE_SUFFIXES[:4])}, ...); "
                                "put some there.")
    if not classes and isinstance(source, (str, Path)) and Path(source).is_dir():
        paths, labels = files_in(Path(source), IMAGE_SUFFIXES), None
    else:
        paths, labels, _, _ = list_source(source, IMAGE_SUFFIXES, what, labelled=None,
                                          example="faces/0001.png, faces/0002.png")
    images = []
    for path in paths:
        try:
            with Image.open(path) as image:
                if image.size[0] * image.size[1] > MAX_PIXELS:
                    raise InvalidInputError(f"{path}: {image.size[0]} x {image.size[1]} pixels is larger than "
                                            f"the {MAX_PIXELS // 1_000_000} megapixels deepfit reads; shrink it first.")
                grey = image.mode in ("1", "L", "LA", "I", "I;16", "F")
                images.append((np.array(image.convert("L" if grey else "RGB"), dtype=np.uint8), grey))
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
            raise InvalidInputError(f"{path}: not a readable picture ({str(error).splitlines()[0][:120]}); "
                                    "remove or replace it.") from None
    if channels is None:
        channels = 1 if all(grey for _, grey in images) else 3
    return [as_channels(image, channels) for image, _ in images], [str(p) for p in paths], labels


def as_channels(picture: np.ndarray, channels: int) -> np.ndarray:
    """An [H, W] or [H, W, C] uint8 picture as [H, W, channels] (grey <-> colour as PIL converts)."""
    picture = np.asarray(picture)
    if picture.ndim == 2:
        picture = picture[:, :, None]
    if picture.dtype != np.uint8:
        raise InvalidInputError(f"pictures must be uint8 (0..255), got {picture.dtype}; convert with "
                                ".astype(np.uint8) after scaling.")
    if picture.shape[2] == channels:
        return np.ascontiguousarray(picture)
    if channels == 3:
        return np.repeat(picture[:, :, :1], 3, axis=2)
    weights = np.array([0.299, 0.587, 0.114])  # ITU-R 601, PIL's "L"
    return (picture[:, :, :3] @ weights).round().clip(0, 255).astype(np.uint8)[:, :, None]


def to_tensor(picture: np.ndarray, device) -> torch.Tensor:
    """[H, W, C] uint8 -> [1, C, H, W] float32 on `device` (pixel values kept, 0..255)."""
    return torch.tensor(picture, device=device).permute(2, 0, 1)[None].float()  # a copy: read-only arrays too


def resized(picture: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """[1, C, H, W] at (height, width), bilinear with antialiasing when shrinking."""
    if picture.shape[2:] == (height, width):
        return picture
    shrinking = height < picture.shape[2] or width < picture.shape[3]
    return torch.nn.functional.interpolate(picture, size=(height, width), mode="bilinear", align_corners=False,
                                           antialias=shrinking)


def windows_at(picture: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor, window) -> torch.Tensor:
    """The windows of [1, C, H, W] `picture` whose top-left corners are (rows[i], columns[i]), as
    [N, C, h, w], in one gather."""
    height, width = window
    r = rows[:, None] + torch.arange(height, device=picture.device)      # [N, h]
    c = columns[:, None] + torch.arange(width, device=picture.device)    # [N, w]
    patches = picture[0][:, r[:, :, None], c[:, None, :]]               # [C, N, h, w]
    return patches.permute(1, 0, 2, 3)


def random_windows(pictures: list[np.ndarray], count: int, window, generator: np.random.Generator,
                   device) -> torch.Tensor:
    """`count` windows cut from `pictures` at random places and scales (from the window's size up
    to the whole picture), resized to the window: background examples. [N, C, h, w] float."""
    height, width = window
    per_picture = np.bincount(generator.integers(0, len(pictures), count), minlength=len(pictures))
    cut = []
    for picture, wanted in zip(pictures, per_picture):
        if wanted == 0:
            continue
        tensor = to_tensor(picture, device)
        largest = min(picture.shape[0] / height, picture.shape[1] / width)
        # A few scales per picture; each a shrunken copy from which windows are gathered at once.
        scales = np.exp(generator.uniform(0, np.log(largest), min(wanted, 4))) if largest > 1 else np.ones(1)
        for scale, share in zip(scales, np.array_split(np.arange(wanted), len(scales))):
            level = resized(tensor, max(height, round(picture.shape[0] / scale)),
                            max(width, round(picture.shape[1] / scale)))
            rows = torch.as_tensor(generator.integers(0, level.shape[2] - height + 1, len(share)), device=device)
            columns = torch.as_tensor(generator.integers(0, level.shape[3] - width + 1, len(share)), device=device)
            cut.append(windows_at(level, rows, columns, window))
    return torch.cat(cut)


def check_patch_sizes(patches: list[np.ndarray], names: list[str], window=None) -> tuple[int, int]:
    """The positives' (height, width): every patch the same size, and the window's when one is given
    (an int, or (height, width)); one line naming the first patch that is not."""
    if not patches:
        raise InvalidInputError("there are no positive patches; give at least one picture of the object, "
                                "cropped to the window.")
    if window is not None:
        given, window = window, (window, window) if np.ndim(window) == 0 else tuple(window)
        if len(window) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1
                                       for v in window):
            raise InvalidInputError(f"window={given!r}: give the window's size in pixels, as one whole number "
                                    "or (height, width).")
    height, width = (int(v) for v in (window or patches[0].shape[:2]))
    for patch, name in zip(patches, names):
        if patch.shape[:2] != (height, width):
            wanted = "the window" if window else f"the first positive ({names[0]})"
            raise InvalidInputError(f"{name}: is {patch.shape[1]}x{patch.shape[0]} pixels but {wanted} is "
                                    f"{width}x{height}; crop or resize every positive to the window's size"
                                    + ("" if window else ", or give the window's size to say which is meant") + ".")
    return height, width


def check_large_enough(pictures: list[np.ndarray], names: list[str], window, what: str) -> None:
    """Refuse a picture smaller than the window, naming it."""
    height, width = window
    for picture, name in zip(pictures, names):
        if picture.shape[0] < height or picture.shape[1] < width:
            raise InvalidInputError(f"{name}: is {picture.shape[1]}x{picture.shape[0]} pixels, smaller than the "
                                    f"detector's {width}x{height} window; {what}")


def off_scale(patches: torch.Tensor, background: torch.Tensor, generator: np.random.Generator) -> torch.Tensor:
    """Background examples made from object patches: each one seen much closer (a part of it fills
    the window) or much farther (it fills half the window, on `background`): what a window at the
    wrong level of the pyramid sees. They teach the detector the object's size, so a face yields one
    box, not one per part of it. One batched resampling, no per-patch work."""
    n = len(patches)
    closer = generator.random(n) < 0.5
    scale = np.where(closer, generator.uniform(0.45, 0.65, n), generator.uniform(1.7, 2.5, n))  # of the window seen
    room = np.abs(1 - scale)  # how far the seen region may move and stay on (or keep the patch in) the window
    shift = generator.uniform(-1, 1, (n, 2)) * room[:, None]
    theta = np.zeros((n, 2, 3))
    theta[:, 0, 0] = theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    theta = torch.as_tensor(theta, dtype=patches.dtype, device=patches.device)
    grid = torch.nn.functional.affine_grid(theta, list(patches.shape), align_corners=False)
    seen = torch.nn.functional.grid_sample(patches, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    inside = torch.nn.functional.grid_sample(torch.ones_like(patches[:, :1]), grid, mode="bilinear",
                                             padding_mode="zeros", align_corners=False)
    return seen + (1 - inside) * background
