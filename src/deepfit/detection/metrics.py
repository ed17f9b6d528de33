"""How good the boxes are: each found box matched to a true one at IoU >= 0.5 (best scores first,
one box per object), then precision, recall and average precision (the area under the precision-
recall curve, every point interpolated, as PASCAL VOC from 2010 and COCO compute it)."""

from __future__ import annotations

import numpy as np

from deepfit.detection.scan import iou_matrix


def detection_metrics(found: list[list[dict]], truth: list[list[dict]], iou: float = 0.5) -> dict:
    """`found` and `truth`: per picture, boxes as dicts with x, y, width, height (and score, label
    for found ones; label for true ones, matched only to their own label when both have one)."""
    if len(found) != len(truth):
        raise ValueError(f"{len(found)} pictures of boxes found, {len(truth)} of true boxes")
    scores, hits = [], []
    for boxes, objects in zip(found, truth):
        boxes = sorted(boxes, key=lambda box: -box["score"])
        taken = np.zeros(len(objects), dtype=bool)
        overlaps = iou_matrix(_xywh(boxes), _xywh(objects)) if boxes and objects else np.zeros((len(boxes), 0))
        for i, box in enumerate(boxes):
            same = np.array([_same_label(box, obj) for obj in objects], dtype=bool)
            candidates = np.where(~taken & same, overlaps[i], -1.0) if objects else np.zeros(0)
            best = int(np.argmax(candidates)) if len(candidates) else -1
            hit = best >= 0 and candidates[best] >= iou
            if hit:
                taken[best] = True
            scores.append(box["score"])
            hits.append(hit)
    n_true = sum(len(objects) for objects in truth)
    order = np.argsort(-np.array(scores), kind="stable")
    hits = np.array(hits, dtype=bool)[order]
    true_positives = int(hits.sum())
    return {"pictures": len(truth), "objects": n_true, "boxes": len(hits), "true_positives": true_positives,
            "precision": true_positives / len(hits) if len(hits) else 1.0,
            "recall": true_positives / n_true if n_true else 1.0,
            "average_precision": average_precision(hits, n_true), "iou": iou}


def average_precision(hits_best_first: np.ndarray, n_true: int) -> float:
    """Area under the interpolated precision-recall curve of boxes sorted best first.

    >>> average_precision(np.array([True, False, True]), 2)
    0.8333333333333333
    """
    if n_true == 0:
        return 1.0 if not len(hits_best_first) else 0.0
    cumulative = np.cumsum(hits_best_first)
    precision = cumulative / np.arange(1, len(hits_best_first) + 1)
    recall = cumulative / n_true
    precision = np.maximum.accumulate(np.r_[precision, 0.0][::-1])[::-1]  # the best precision at this recall or more
    recall = np.r_[0.0, recall]
    return float(np.sum((recall[1:] - recall[:-1]) * precision[:-1]))


def _xywh(boxes) -> np.ndarray:
    return np.array([[b["x"], b["y"], b["width"], b["height"]] for b in boxes], dtype=np.float64).reshape(-1, 4)


def _same_label(box: dict, obj: dict) -> bool:
    return "label" not in obj or "label" not in box or box["label"] == obj["label"]
