"""Finding windows in a picture: an image pyramid, one fully-convolutional pass per level, a score
threshold, and non-maximum suppression.

::

    for each scale s = 1/min_size*window, then / scale_step, ... while the picture still holds a window:
        level = the picture resized by s
        scores = softmax(network.score_map(level))      # every window position, stride pixels apart
        keep windows whose best object class scores >= threshold; map them back to the picture
    non-maximum suppression per class: of boxes overlapping by more than `overlap` (IoU), keep the best
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from deepfit.detection.pictures import resized, to_tensor, windows_at
from deepfit.errors import InvalidInputError

MAX_LEVEL_PIXELS = 64_000_000  # the largest pyramid level scanned (an enlarged picture's)
CONTAINED = 0.8  # a weaker box this much inside a kept one (a part of the object, or the object in a
                 # larger window) goes too, whatever their IoU: as dlib's detectors suppress

@dataclass(frozen=True)
class ScanSettings:
    threshold: float = 0.5       # a window's probability of holding an object, to keep it
    overlap: float = 0.3         # IoU above which the weaker of two boxes of one class is dropped
    scale_step: float = 1.2      # between pyramid levels
    min_size: int | None = None  # the smallest object to find, in pixels of its shorter side (None: the window)
    max_boxes: int = 2_000       # candidates per picture kept for suppression, best first


@dataclass
class Candidates:
    """Windows of one picture: boxes [N, 4] (x, y, width, height in the picture's pixels), their
    object-class probabilities, class indices (1.. : 0 is background), and where each came from."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray
    levels: np.ndarray      # pyramid level index
    corners: np.ndarray     # [N, 2] (row, column) of the window in its level


def pyramid_scales(height: int, width: int, window, settings: ScanSettings) -> list[float]:
    """The scales at which the picture is resized so that objects of min_size and up fill one window.

    >>> [round(s, 3) for s in pyramid_scales(60, 60, (24, 24), ScanSettings(scale_step=2.0))]
    [1.0, 0.5]
    """
    first = min(window) / settings.min_size if settings.min_size else 1.0
    if height * width * first ** 2 > MAX_LEVEL_PIXELS:
        raise InvalidInputError(f"a {width}x{height} picture enlarged {first:.3g} times, to find objects of "
                                f"{settings.min_size} pixels with a {min(window)}-pixel window, is more than "
                                f"{MAX_LEVEL_PIXELS // 1_000_000} megapixels; raise min_size or shrink the picture.")
    scales, scale = [], first
    while height * scale >= window[0] - 1e-9 and width * scale >= window[1] - 1e-9 and len(scales) < 64:
        scales.append(scale)
        scale /= settings.scale_step
    return scales


@torch.inference_mode()
def scan(network, picture: np.ndarray, window, settings: ScanSettings, device, *,
         keep_levels: bool = False) -> tuple[Candidates, list[torch.Tensor]]:
    """Every window of `picture` ([H, W, C] uint8) scoring at least the threshold, before suppression;
    with `keep_levels`, the resized levels too (to cut the windows out again)."""
    height, width = picture.shape[:2]
    tensor = to_tensor(picture, device)
    stride = network.stride
    found, levels = [], []
    for index, scale in enumerate(pyramid_scales(height, width, window, settings)):
        level = resized(tensor, max(window[0], round(height * scale)), max(window[1], round(width * scale)))
        if keep_levels:
            levels.append(level)
        probabilities = torch.softmax(network.score_map(level).float(), dim=1)[0, 1:]  # [classes, rows, cols]
        best, best_class = probabilities.max(dim=0)
        rows, columns = torch.nonzero(best >= settings.threshold, as_tuple=True)
        if len(rows) == 0:
            continue
        scores = best[rows, columns]
        x_scale, y_scale = level.shape[3] / width, level.shape[2] / height
        boxes = torch.stack([columns * stride / x_scale, rows * stride / y_scale,
                             torch.full_like(scores, window[1] / x_scale), torch.full_like(scores, window[0] / y_scale)],
                            dim=1)
        found.append((boxes, scores, best_class[rows, columns] + 1, torch.full_like(rows, index),
                      torch.stack([rows * stride, columns * stride], dim=1)))
    if not found:
        empty = np.zeros((0, 4))
        return Candidates(empty, np.zeros(0), np.zeros(0, int), np.zeros(0, int), np.zeros((0, 2), int)), levels
    boxes, scores, classes, level_of, corners = (torch.cat(parts).cpu().numpy() for parts in zip(*found))
    order = np.argsort(-scores, kind="stable")[:settings.max_boxes]
    return Candidates(boxes[order].astype(np.float64), scores[order].astype(np.float64), classes[order],
                      level_of[order], corners[order]), levels


def suppress(candidates: Candidates, overlap: float) -> np.ndarray:
    """Indices of the boxes non-maximum suppression keeps, per class, best first."""
    kept = []
    for label in np.unique(candidates.classes):
        members = np.flatnonzero(candidates.classes == label)  # already best first
        members = members[np.argsort(-candidates.scores[members], kind="stable")]
        boxes = candidates.boxes[members]
        overlaps = iou_matrix(boxes, boxes)
        covered = covered_matrix(boxes, boxes)
        alive = np.ones(len(members), dtype=bool)
        for i in range(len(members)):  # one vector operation per kept box
            if alive[i]:
                alive[i + 1:] &= (overlaps[i, i + 1:] <= overlap) & (covered[i, i + 1:] < CONTAINED)
        kept.extend(members[alive])
    kept = np.array(kept, dtype=np.intp)
    return kept[np.argsort(-candidates.scores[kept], kind="stable")]


def covered_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How much of the smaller of each pair of boxes lies inside the other (0..1).

    >>> covered_matrix(np.array([[0, 0, 10, 10]]), np.array([[2, 2, 4, 4], [5, 0, 10, 10]])).tolist()
    [[1.0, 0.5]]
    """
    inter = _intersection(a, b)
    smaller = np.minimum((a[:, 2] * a[:, 3])[:, None], (b[:, 2] * b[:, 3])[None, :])
    return np.where(smaller > 0, inter / np.maximum(smaller, 1e-12), 0.0)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of `a` with every box of `b` (x, y, width, height).

    >>> iou_matrix(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 10, 10], [20, 20, 5, 5]])).round(3).tolist()
    [[0.333, 0.0]]
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    inter = _intersection(a, b)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def _intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    left = np.maximum(a[:, None, 0], b[None, :, 0])
    top = np.maximum(a[:, None, 1], b[None, :, 1])
    right = np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
    bottom = np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
    return np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)


def windows_of(candidates: Candidates, chosen: np.ndarray, levels: list[torch.Tensor], window) -> torch.Tensor:
    """The window-sized patches the network saw for the `chosen` candidates, in their order: [N, C, h, w]."""
    patches = torch.empty((len(chosen), levels[0].shape[1], *window), device=levels[0].device)
    for level_index in np.unique(candidates.levels[chosen]):
        places = np.flatnonzero(candidates.levels[chosen] == level_index)
        corners = torch.as_tensor(candidates.corners[chosen[places]], device=patches.device)
        patches[torch.as_tensor(places, device=patches.device)] = windows_at(
            levels[int(level_index)], corners[:, 0], corners[:, 1], window)
    return patches


def sliding_loop(network, picture: np.ndarray, window, settings: ScanSettings, device, batch: int = 512):
    """The plain way, for comparison: cut every window at every level and classify the crops, a batch
    at a time. The same candidates as `scan`, at many times the cost."""
    height, width = picture.shape[:2]
    tensor = to_tensor(picture, device)
    stride = network.stride
    boxes, scores = [], []
    for scale in pyramid_scales(height, width, window, settings):
        level = resized(tensor, max(window[0], round(height * scale)), max(window[1], round(width * scale)))
        rows = torch.arange(0, level.shape[2] - window[0] + 1, stride, device=device)
        columns = torch.arange(0, level.shape[3] - window[1] + 1, stride, device=device)
        grid_rows, grid_columns = (g.reshape(-1) for g in torch.meshgrid(rows, columns, indexing="ij"))
        x_scale, y_scale = level.shape[3] / width, level.shape[2] / height
        for start in range(0, len(grid_rows), batch):
            r, c = grid_rows[start:start + batch], grid_columns[start:start + batch]
            with torch.inference_mode():
                probabilities = torch.softmax(network(windows_at(level, r, c, window)).float(), dim=1)[:, 1:]
            best = probabilities.max(dim=1).values
            hit = best >= settings.threshold
            size = torch.ones_like(best[hit])
            boxes.append(torch.stack([c[hit] / x_scale, r[hit] / y_scale, size * window[1] / x_scale,
                                      size * window[0] / y_scale], dim=1).cpu().numpy())
            scores.append(best[hit].cpu().numpy())
    return np.concatenate(boxes).reshape(-1, 4), np.concatenate(scores)


def rounded_box(box, score: float, label) -> dict:
    x, y, w, h = (float(v) for v in box)
    return {"x": round(x, 1), "y": round(y, 1), "width": round(w, 1), "height": round(h, 1),
            "score": round(float(score), 4), "label": label if not isinstance(label, np.generic) else label.item()}
