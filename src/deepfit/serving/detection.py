"""The HTTP API of a detector: the same service as a classifier's (`/health`, `/model`, the page at
`/`, bearer token, size limit, one-line 4xx errors), where `POST /predict` takes pictures of any size
and answers their boxes: ``{"predictions": [{"file", "width", "height", "boxes": [{x, y, width,
height, score, label}]}]}``."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, File, Query, UploadFile

from deepfit.data.images import IMAGE_SUFFIXES
from deepfit.data.uploads import UploadBudget, decode_pictures
from deepfit.json_values import plain
from deepfit.serving.app import read_uploads, service_app
from deepfit.serving.contract import FILE_ERRORS
from deepfit.serving.decoding import Decoder


def create_detection_app(detector, *, token: str | None, max_body_bytes: int, budget: UploadBudget,
                         decoder: Decoder) -> FastAPI:
    """The detector's API. Pictures are checked against `budget` from their headers, decoded at their
    own size by the decoding pool, then scanned on one model thread; a request's pictures are held
    in memory together, so `budget.request_pixels` bounds that memory (3 bytes a pixel)."""
    model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deepfit-detector")  # one at a time
    served = {"requests": 0, "pictures": 0}

    @asynccontextmanager
    async def lifespan(_app):
        yield
        decoder.shutdown()
        model_thread.shutdown(wait=True)

    app, guard = service_app(
        "deepfit detector", f"Boxes around {', '.join(map(str, detector.classes_))} in pictures.",
        lifespan=lifespan, token=token, max_body_bytes=max_body_bytes,
        health=lambda: {**served, "decoding": decoder.taken},
        describe=lambda: detector_description(detector), described="What the detector takes and answers")

    @app.post("/predict", summary="Find the objects in each uploaded picture", tags=["model"],
              dependencies=[Depends(guard)], responses=FILE_ERRORS)
    async def predict(files: list[UploadFile] = File(..., description="one or more pictures, any size from the "
                                                                        "window up"),
                      threshold: float | None = Query(None, gt=0, lt=1, description="probability to report a box")
                      ) -> dict:
        named = await read_uploads(files)
        pictures = await decoder.run(decode_pictures, named, None, detector.channels_, budget)
        boxes = await asyncio.get_running_loop().run_in_executor(
            model_thread, lambda: detector.detect(pictures, threshold=threshold, names=[name for name, _ in named]))
        served["requests"] += 1
        served["pictures"] += len(pictures)
        return {"predictions": [{"file": name, "width": picture.shape[1], "height": picture.shape[0], "boxes": found}
                                for (name, _), picture, found in zip(named, pictures, boxes)]}

    return app


def detector_description(detector) -> dict:
    return {"estimator": type(detector).__name__, "kind": "detector", "words": {"data": "pictures", "files": "pictures"},
            "classes": [plain(c) for c in detector.classes_],
            "input": {"files": {"window": [detector.window_[1], detector.window_[0]], "channels": detector.channels_,
                                "suffixes": list(IMAGE_SUFFIXES)}},
            "threshold": detector.threshold_, "training": detector.training_summary_,
            "metadata": getattr(detector, "metadata_", {})}
