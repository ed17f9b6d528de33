"""The HTTP API of a detector: the same service as a classifier's (`/health`, `/model`, the page at
`/`, bearer token, size limit, one-line 4xx errors), where `POST /predict` takes pictures of any size
and answers their boxes: ``{"predictions": [{"file", "width", "height", "boxes": [{x, y, width,
height, score, label}]}]}``."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, File, Query, UploadFile

from deepfit.errors import InvalidInputError
from deepfit.json_values import plain
from deepfit.serving.app import MAX_FILES, service_app

MAX_REQUEST_PIXELS = 100_000_000  # decoded, per request: a small compressed body can unpack to gigabytes


def create_detection_app(detector, *, token: str | None, max_body_bytes: int) -> FastAPI:
    model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deepfit-detector")  # one at a time
    served = {"requests": 0, "pictures": 0}

    @asynccontextmanager
    async def lifespan(_app):
        yield
        model_thread.shutdown(wait=True)

    app, guard = service_app(
        "deepfit detector", f"Boxes around {', '.join(map(str, detector.classes_))} in pictures.",
        lifespan=lifespan, token=token, max_body_bytes=max_body_bytes, health=lambda: dict(served),
        describe=lambda: detector_description(detector), described="What the detector takes and answers")

    @app.post("/predict", summary="Find the objects in each uploaded picture", tags=["model"],
              dependencies=[Depends(guard)])
    async def predict(files: list[UploadFile] = File(..., description="one or more pictures, any size from the "
                                                                        "window up"),
                      threshold: float | None = Query(None, gt=0, lt=1, description="probability to report a box")
                      ) -> dict:
        from deepfit.data.uploads import picture_from_bytes

        if len(files) > MAX_FILES:
            raise InvalidInputError(f"{len(files)} files in one request; send at most {MAX_FILES}.")
        named = [(upload.filename or f"file {i + 1}", await upload.read()) for i, upload in enumerate(files)]

        def decode_and_detect():  # off the event loop: decoding a large picture takes a while too
            pictures, pixels = [], 0
            for name, payload in named:
                pictures.append(picture_from_bytes(payload, name, None, detector.channels_))
                pixels += pictures[-1].shape[0] * pictures[-1].shape[1]
                if pixels > MAX_REQUEST_PIXELS:
                    raise InvalidInputError(f"{name}: the pictures of this request hold more than "
                                            f"{MAX_REQUEST_PIXELS // 1_000_000} megapixels together; send fewer per "
                                            "request, or smaller ones.")
            return pictures, detector.detect(pictures, threshold=threshold, names=[name for name, _ in named])

        pictures, boxes = await asyncio.get_running_loop().run_in_executor(model_thread, decode_and_detect)
        served["requests"] += 1
        served["pictures"] += len(pictures)
        return {"predictions": [{"file": name, "width": picture.shape[1], "height": picture.shape[0], "boxes": found}
                                for (name, _), picture, found in zip(named, pictures, boxes)]}

    return app


def detector_description(detector) -> dict:
    from deepfit.data.images import IMAGE_SUFFIXES

    return {"estimator": type(detector).__name__, "kind": "detector", "classes": [plain(c) for c in detector.classes_],
            "input": {"files": {"window": [detector.window_[1], detector.window_[0]], "channels": detector.channels_,
                                "suffixes": list(IMAGE_SUFFIXES)}},
            "threshold": detector.threshold_, "training": detector.training_summary_,
            "metadata": getattr(detector, "metadata_", {})}
