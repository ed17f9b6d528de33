"""Sliding-window detection: the fully-convolutional pyramid scan against a plain loop over crops,
and what hard-negative mining buys, on faces pasted into cluttered scenes.

    .venv/bin/python benchmarks/detect_speed.py

Speed: the same trained detector scans the same pictures both ways: `scan` (one pass of the patch
CNN over each pyramid level) and `sliding_loop` (every window at every level cut out and classified,
512 crops a batch: the plain way, already batched). Both give the same candidate windows (checked),
so the boxes after suppression are the same. Quality: precision, recall and average precision at
IoU 0.5 on 50 scenes, for one training round (random background only) and for two (the false
alarms of the first added as background), each at the threshold it fitted when training (6 of the
30 negative pictures and a tenth of the faces held back for it).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from deepfit import SlidingWindowDetector
from deepfit.data.synthetic import clutter, face_patches, face_scene
from deepfit.detection.metrics import detection_metrics
from deepfit.detection.scan import ScanSettings, scan, sliding_loop

RESULTS = Path(__file__).parent / "results" / "detection.json"


def main() -> None:
    positives = face_patches(300, 24, seed=0)
    rng = np.random.default_rng(5)
    negatives = [clutter(120, 160, rng) for _ in range(30)]
    rng = np.random.default_rng(9)
    scenes = [face_scene(120, 160, rng, int(rng.integers(1, 4))) for _ in range(50)]
    results = {"device": f"CPU, {torch.get_num_threads()} threads", "quality": [], "speed": []}
    detectors = {}
    for rounds in (1, 2):
        started = time.perf_counter()
        detector = SlidingWindowDetector(rounds=rounds, random_state=0).fit(positives, negatives)
        seconds = time.perf_counter() - started
        found = detector.detect([scene for scene, _ in scenes])
        metrics = detection_metrics(found, [boxes for _, boxes in scenes])
        row = {"rounds": rounds, "fit_seconds": round(seconds, 1), **{k: metrics[k] for k in (
            "objects", "boxes", "precision", "recall", "average_precision")},
            "false_alarms_on_negatives": [r["false_alarms_after"] for r in detector.training_summary_["rounds"]],
            "threshold": detector.training_summary_["threshold"]}
        results["quality"].append(row)
        detectors[rounds] = detector
        print(f"{rounds} round(s): precision {row['precision']:.3f}, recall {row['recall']:.3f}, AP@0.5 "
              f"{row['average_precision']:.3f} on {row['objects']} faces in 50 scenes at the fitted threshold "
              f"{detector.threshold_:.3f}; false alarms on the 24 negative pictures trained on after each round "
              f"{row['false_alarms_on_negatives']}; fit {seconds:.1f} s", flush=True)

    detector = detectors[2]
    settings = ScanSettings(threshold=detector.threshold_)
    for height, width, count in ((120, 160, 20), (480, 640, 4)):
        pictures = [face_scene(height, width, np.random.default_rng(i), 3)[0][:, :, None] for i in range(count)]
        timings = {}
        for name, method in (("scan", _scan), ("loop", _loop)):
            method(detector, pictures[0], settings)  # warm up
            started = time.perf_counter()
            outputs = [method(detector, picture, settings) for picture in pictures]
            timings[name] = (time.perf_counter() - started) / count
            timings[name + "_boxes"] = outputs
        for (a_boxes, a_scores), (b_boxes, b_scores) in zip(timings["scan_boxes"], timings["loop_boxes"]):
            a, b = np.lexsort(a_boxes.T[::-1]), np.lexsort(b_boxes.T[::-1])
            assert len(a) == len(b) and np.allclose(a_boxes[a], b_boxes[b], atol=1e-6), "the two scans disagree"
            assert np.allclose(a_scores[a], b_scores[b], atol=1e-4)
        windows = sum(_window_count(detector, picture, settings) for picture in pictures) // count
        row = {"picture": f"{width}x{height}", "windows": windows, "scan_ms": round(timings["scan"] * 1000, 1),
               "loop_ms": round(timings["loop"] * 1000, 1), "ratio": round(timings["loop"] / timings["scan"], 1)}
        results["speed"].append(row)
        print(f"{width}x{height}: {windows} windows over the pyramid; fully convolutional {row['scan_ms']} ms, loop "
              f"over crops {row['loop_ms']} ms a picture: x{row['ratio']} faster, the same boxes", flush=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"written to {RESULTS}")


def _scan(detector, picture, settings):
    candidates, _ = scan(detector.module_, picture, detector.window_, settings, detector.device_)
    return candidates.boxes, candidates.scores


def _loop(detector, picture, settings):
    return sliding_loop(detector.module_, picture, detector.window_, settings, detector.device_)


def _window_count(detector, picture, settings) -> int:
    from deepfit.detection.scan import pyramid_scales

    height, width = picture.shape[:2]
    stride, (h, w) = detector.module_.stride, detector.window_
    return sum(((round(height * s) - h) // stride + 1) * ((round(width * s) - w) // stride + 1)
               for s in pyramid_scales(height, width, detector.window_, settings))


if __name__ == "__main__":
    main()
