"""Read labelled pictures into one uint8 array: class folders, a CSV of path,label, MNIST's IDX files.

Every file is checked (opened, its size and colour mode read) before anything is decoded, so a
bad picture is named before training starts, never in the middle of an epoch. Decoded pictures are
cached on disk as one uint8 ``.npy`` per set of files and size (keyed by the files' names, sizes
and modification times), and memory-mapped when large: later epochs and later runs decode nothing.

The size is chosen from the data unless given: pictures that all share one size of at most
`MAX_AUTO_SIDE` pixels keep it; otherwise every picture is resized (squashed, not cropped, as
Keras' ``image_dataset_from_directory`` does) to a square of the median shorter side, between
`MIN_AUTO_SIDE` and `MAX_AUTO_SIDE`, rounded to a multiple of 8.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepfit.data.decoded_cache import cache_file_for, load_cached, store_cached
from deepfit.data.idx import is_idx_name, read_idx
from deepfit.data.image_encoder import resize_batch
from deepfit.data.listing import list_source, refuse_or_skip
from deepfit.errors import InvalidInputError, short_reason

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".pgm", ".ppm", ".pbm", ".pnm",
                  ".webp")
MAX_PIXELS = 100_000_000      # a picture larger than this is refused (a decompression bomb, or a mistake)
MIN_AUTO_SIDE, MAX_AUTO_SIDE = 16, 128
EIGHT_BIT_BAND_VALUES = 2_000_000  # pixels converted at once from 16-bit or float greyscale (16 MB of float64)
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


@dataclass
class ImageSet:
    """Pictures as one uint8 array (N, H, W, C), with their labels (None when unlabelled) and files."""

    images: np.ndarray
    labels: np.ndarray | None
    paths: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, why) left out under skip_bad


def is_image_source(path) -> bool:
    """Whether `path` names pictures (a folder of them, a picture, an IDX file) rather than a table."""
    path = Path(path)
    name = path.name.lower()
    return path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES or is_idx_name(name)


def read_images(source, *, size=None, channels: int | None = None, skip_bad: bool = False,
                labelled: bool | None = None, cache: bool = True) -> ImageSet:
    """Read pictures from a class-folder tree, a folder of unlabelled pictures, a CSV of
    ``path,label``, an IDX file (labels from the ``labels-idx1`` file beside it) or a list of files.

    `size` is an int or (height, width); `channels` 1 (greyscale) or 3 (colour) converts every
    picture; by default both are chosen from the data. `skip_bad` leaves out unreadable files
    (listed in ``skipped``) instead of refusing the set. `labelled=True` requires labels.
    """
    if not isinstance(source, (list, tuple)) and is_idx_name(Path(source).name.lower()) and Path(source).exists():
        return _read_idx_set(Path(source), size, channels, labelled)
    paths, labels, _, origin = list_source(source, IMAGE_SUFFIXES, "pictures", labelled=labelled,
                                           example="photos/cat/1.jpg, photos/dog/2.jpg")
    probes, bad = _probe_all(paths)
    refuse_or_skip(bad, skip_bad, len(paths), origin, "pictures")
    keep = [i for i, probe in enumerate(probes) if probe is not None]
    if not keep:
        raise InvalidInputError(f"{origin}: none of the {len(paths)} files could be read as a picture.")
    probes = [probes[i] for i in keep]
    paths = [paths[i] for i in keep]
    labels = None if labels is None else labels[keep]
    height, width = _choose_size(probes, size)
    channels = _choose_channels(probes, paths, channels)
    images, decode_bad = _decode_all(paths, probes, (height, width), channels, cache)
    if decode_bad:
        refuse_or_skip(decode_bad, skip_bad, len(paths), origin, "pictures")
        undecodable = {path for path, _ in decode_bad}
        ok = np.array([i for i, path in enumerate(paths) if str(path) not in undecodable], dtype=np.intp)
        images, paths = images[ok], [paths[i] for i in ok]
        labels = None if labels is None else labels[ok]
    return ImageSet(images, labels, [str(p) for p in paths], bad + decode_bad)


# ------------------------------------------------------------------------------------ checking
@dataclass
class _Probe:
    height: int
    width: int
    grey: bool


def _probe(path: Path):
    """Open one file's header: its size and colour mode, or why it cannot be used."""
    from PIL import Image

    try:
        if path.stat().st_size == 0:
            return None, "the file is empty (0 bytes)"
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                return None, (f"{width} x {height} pixels is larger than the {MAX_PIXELS // 1_000_000} megapixels "
                              "deepfit reads; shrink it first")
            return _Probe(height, width, _is_grey(image)), None
    except Image.DecompressionBombError:
        return None, "its declared size is too large to decode safely; shrink it first"
    except (OSError, SyntaxError, ValueError) as error:
        return None, f"not a readable picture ({str(error).splitlines()[0][:120]})"


def _is_grey(image) -> bool:
    if image.mode in _GREY_MODES:
        return True
    if image.mode == "P":
        palette = image.getpalette() or []
        return all(palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette) - 2, 3))
    return False


def _probe_all(paths):
    with ThreadPoolExecutor(max_workers=min(16, (os.cpu_count() or 1) * 2)) as pool:
        results = list(pool.map(_probe, paths))
    probes = [probe for probe, _ in results]
    bad = [(str(path), why) for path, (probe, why) in zip(paths, results) if probe is None]
    return probes, bad


def _choose_size(probes, size) -> tuple[int, int]:
    if size is not None:
        height, width = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        if not (1 <= int(height) <= 4096 and 1 <= int(width) <= 4096):
            raise InvalidInputError(f"image size must be between 1 and 4096 pixels, got {height} x {width}.")
        return int(height), int(width)
    shapes = {(p.height, p.width) for p in probes}
    if len(shapes) == 1:
        height, width = shapes.pop()
        if max(height, width) <= MAX_AUTO_SIDE:
            return height, width
    shorter = float(np.median([min(p.height, p.width) for p in probes]))
    side = int(np.clip(round(shorter / 8) * 8, MIN_AUTO_SIDE, MAX_AUTO_SIDE))
    return side, side


def _choose_channels(probes, paths, channels) -> int:
    if channels is not None:
        if channels not in (1, 3):
            raise InvalidInputError(f"channels must be 1 (greyscale) or 3 (colour), got {channels!r}.")
        return channels
    grey = np.array([p.grey for p in probes])
    if grey.all():
        return 1
    if not grey.any():
        return 3
    minority_is_grey = grey.sum() <= (~grey).sum()
    first = paths[int(np.flatnonzero(grey if minority_is_grey else ~grey)[0])]
    kind, others = ("greyscale", "colour") if minority_is_grey else ("colour", "greyscale")
    count = int((~grey).sum() if minority_is_grey else grey.sum())
    raise InvalidInputError(f"{first}: is {kind} but {count} other pictures are {others} (mixed channel "
                            "counts). Pass --channels 3 (channels=3) to read every picture in colour, or "
                            "--channels 1 for greyscale.")


# ------------------------------------------------------------------------------------ decoding
def decode_picture(path, size: tuple[int, int], channels: int):
    """(uint8 array (H, W, C) at `size` (height, width) and `channels`, None) or (None, why it cannot be
    decoded), for a path or a binary file object. JPEGs decode at a reduced scale when that suffices."""
    from PIL import Image

    quiet_pillow_size_warning()
    height, width = size
    try:
        with Image.open(path) as image:
            image.draft("L" if channels == 1 else "RGB", (width, height))  # JPEG: decode at a reduced scale
            image = _convert(image, channels)
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=3.0)
            array = np.asarray(image, dtype=np.uint8)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        return None, f"cannot be decoded ({short_reason(error)})"
    return (array[:, :, None] if array.ndim == 2 else array), None


def _convert(image, channels: int):
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit and float greyscale: scale to 0..255
        image = _eight_bit(image)
    if "A" in image.getbands() or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")  # transparent areas shown on white, as a viewer shows them
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return image.convert("L" if channels == 1 else "RGB")


@functools.cache
def quiet_pillow_size_warning() -> None:
    """deepfit checks every picture's size against its own limit (`MAX_PIXELS`) before decoding it;
    Pillow's warning for pictures above its 89 megapixels would only repeat that, on stderr, in the
    middle of a run. Pillow's limit is raised to ours (never lowered, and left off if a user turned it off)."""
    from PIL import Image

    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < MAX_PIXELS:
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def _eight_bit(image):
    """A 16-bit or float greyscale picture stretched to 0..255 as 8-bit ('L'), measured and converted one
    band of rows at a time: a 100-megapixel 16-bit picture needs 100 MB more, not gigabytes of float64,
    and no single call holds Python's lock for long (Pillow's own `getextrema` holds it for the whole
    picture, about 0.1 s at 100 megapixels, which stalled a server's other requests)."""
    from PIL import Image

    width, height = image.size
    band = max(1, EIGHT_BIT_BAND_VALUES // max(1, width))
    low, high = _finite_range(_bands(image, band))
    out = np.zeros((height, width), dtype=np.uint8)
    for top, values in _bands(image, band) if high > low else ():
        scaled = np.nan_to_num((values.astype(np.float64) - low) * (255.0 / (high - low)),
                               nan=0.0, posinf=255.0, neginf=0.0)
        out[top:top + len(values)] = np.clip(scaled, 0, 255).round().astype(np.uint8)
    return Image.fromarray(out, mode="L")


def _bands(image, band: int):
    """(first row, array of `band` rows) down the picture."""
    width, height = image.size
    for top in range(0, height, band):
        yield top, np.asarray(image.crop((0, top, width, min(height, top + band))))


def _finite_range(bands) -> tuple[float, float]:
    """The smallest and largest finite values over the bands; (0, 0) when there are none."""
    low, high = np.inf, -np.inf
    for _, values in bands:
        finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
        if finite.size:
            low, high = min(low, float(finite.min())), max(high, float(finite.max()))
    return (low, high) if low <= high else (0.0, 0.0)


def _decode_all(paths, probes, size, channels, cache: bool):
    shape = (len(paths), size[0], size[1], channels)
    cache_file = cache_file_for(paths, size, channels) if cache else None
    if cache_file is not None and cache_file.exists():
        cached = load_cached(cache_file, shape)
        if cached is not None:
            return cached, []
    images = np.empty(shape, dtype=np.uint8)
    bad = []

    def decode_into(index):
        array, why = decode_picture(paths[index], size, channels)
        if array is None:
            bad.append((str(paths[index]), why))
        else:
            images[index] = array

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # Pillow decodes without the GIL
        list(pool.map(decode_into, range(len(paths))))
    bad.sort()
    if cache_file is not None and not bad:
        store_cached(cache_file, images)
    return images, bad


# ------------------------------------------------------------------------------------ IDX (MNIST)
def _read_idx_set(path: Path, size, channels, labelled) -> ImageSet:
    images = read_idx(path)
    if images.ndim not in (3, 4):
        raise InvalidInputError(f"{path}: holds an array of shape {images.shape}, not pictures (N, H, W).")
    images = images[..., None] if images.ndim == 3 else images
    if images.dtype != np.uint8:
        raise InvalidInputError(f"{path}: holds {images.dtype} values; deepfit reads IDX pictures of bytes.")
    labels = None
    label_path = path.with_name(path.name.replace("images-idx3", "labels-idx1").replace("images.idx", "labels.idx"))
    if label_path != path and label_path.exists():
        labels = read_idx(label_path)
        if labels.shape != (len(images),):
            raise InvalidInputError(f"{label_path}: holds {labels.shape} labels for {len(images)} pictures in "
                                    f"{path.name}; they must be one label per picture.")
    elif labelled:
        raise InvalidInputError(f"{path}: no labels file beside it (expected {label_path.name}).")
    if size is not None or (channels is not None and channels != images.shape[3]):
        height, width = (size, size) if isinstance(size, int) else (size or images.shape[1:3])
        images = resize_batch(images, (height, width), channels or images.shape[3])
    name = path.name
    return ImageSet(images, labels, [f"{name}#{i}" for i in range(len(images))])
