"""Pictures: arrays of shape (N, H, W), (N, H, W, C) or (N, C, H, W), or image files."""

from __future__ import annotations

import numpy as np

from deepfit.data import similarity
from deepfit.data.image_encoder import ImageEncoder, as_channels_last, is_image_array, resize_batch
from deepfit.data.images import IMAGE_SUFFIXES, is_image_source, read_images
from deepfit.data.kinds.base import Examples, ExportInput, Kind, Shown, TrainingDefaults, Words
from deepfit.data.near_copies import NearCopyView
from deepfit.data.uploads import decode_pictures
from deepfit.errors import InvalidInputError

SIMILARITY = 0.99   # cosine of 16x16 grey thumbnails at or above which two pictures are near copies
THUMBNAIL = (16, 16)


class PictureKind(Kind):
    name = "image"
    words = Words(data="pictures", files="pictures", one="picture")
    suffixes = IMAGE_SUFFIXES
    read_settings = ("size", "channels")
    grid = True
    predict_batch = 256
    # Small picture sets (benchmarks/compare_picture_suite.py) train best at 5e-3, with label smoothing,
    # brightness and contrast jittered by up to 50%, and batches of as few as 16.
    # and many epochs within a budget of pixels through the first stage (at most about 20 s on 2 cores).
    defaults = TrainingDefaults(label_smoothing=0.1, learning_rate=5e-3, smallest_batch=16, steps=1200,
                                max_epochs=300, pixel_passes=30e6, lighting=0.5, flips=True)
    base_channels = 16  # a narrower CNN than sound's: small picture sets overfit a wide one
    encoder_type = ImageEncoder

    def recognises(self, X) -> bool:
        return is_image_array(X)

    def holds(self, path) -> bool:
        return is_image_source(path)

    def read(self, source, *, labelled=True, skip_bad=False, cache=True, size=None, channels=None) -> Examples:
        pictures = read_images(source, size=size, channels=None if channels is None else int(channels),
                               skip_bad=skip_bad, labelled=labelled, cache=cache)
        return Examples(pictures.images, pictures.labels, pictures.paths, pictures.skipped)

    def settings_of(self, encoder) -> dict:
        return {"size": (encoder.height, encoder.width), "channels": encoder.channels}

    def settings_like(self, X) -> dict:
        return {"size": X.shape[1:3], "channels": X.shape[3]}

    def describe(self, X) -> str:
        return (f"{len(X)} pictures of {X.shape[1]}x{X.shape[2]} pixels, {X.shape[3]} "
                f"channel{'s' * (X.shape[3] > 1)}")

    def validate(self, X, encoder=None):
        if encoder is not None and not is_image_array(X):
            raise InvalidInputError(f"this model takes pictures ({encoder.describe()}) as an array of shape "
                                    f"(N, H, W) or (N, H, W, C); got {getattr(X, 'shape', type(X).__name__)}.")
        return as_channels_last(X)

    def fit_encoder(self, X, *, image_size=None, channels=None, **_) -> tuple:
        return ImageEncoder.fit(X, size=image_size, channels=channels), None

    def default_network(self, encoder, n_classes: int, dropout: float) -> dict:
        from deepfit.models.cnn import cnn_architecture  # torch: with a model, not for `deepfit --help`

        return cnn_architecture(encoder.height, encoder.width, encoder.channels, n_classes, dropout,
                                base_channels=self.base_channels)

    def near_copy_view(self, X, like=None) -> NearCopyView:
        pictures = as_channels_last(X)
        grey = resize_batch(pictures, THUMBNAIL, 1).astype(np.float32)
        small = resize_batch(pictures, THUMBNAIL, min(pictures.shape[3], 3)).astype(np.float32)
        return NearCopyView(self, similarity.exact_keys(pictures), similarity.unit_rows(grey),
                            small.reshape(len(small), -1), pictures.shape[1:], similarity=SIMILARITY,
                            similar_what="16x16 grey thumbnails")

    def shallow_features(self, train, test) -> tuple:
        """The pixels as one row of numbers each."""
        return tuple(np.asarray(X).reshape(len(X), -1).astype(np.float32) for X in (train, test))

    def show_examples(self, inputs, encoder, indices) -> list[Shown]:
        scale = byte_scale(inputs)
        return [Shown(shown_picture(inputs, index, scale)) for index in indices]

    def input_description(self, encoder) -> dict:
        return {"files": {"height": encoder.height, "width": encoder.width, "channels": encoder.channels,
                          "suffixes": list(IMAGE_SUFFIXES)}}

    def decode_uploads(self, payloads, encoder, budget):
        return np.stack(decode_pictures(payloads, (encoder.height, encoder.width), encoder.channels, budget))

    def export_input(self, encoder) -> ExportInput:
        import torch

        shape = f"[N, {encoder.channels}, {encoder.height}, {encoder.width}]"
        return ExportInput(torch.zeros((2, encoder.channels, encoder.height, encoder.width), dtype=torch.uint8),
                           "pixels", f"uint8 pictures {shape} (N, C, H, W) at the model's size; normalisation is "
                           "inside", raw=True)

    def sample_inputs(self, encoder, n: int, rng: np.random.Generator):
        return rng.integers(0, 256, (n, encoder.height, encoder.width, encoder.channels), dtype=np.uint8)

    def exported_inputs(self, encoder, examples, raw: bool):
        return encoder.transform(examples)


def byte_scale(inputs) -> float:
    """What turns the pictures' values into 0..255, judged on the whole set: bytes stay, floats in
    0..1 are multiplied by 255, any other range (0..16, say) is stretched to 0..255."""
    values = np.asarray(inputs)
    if values.dtype == np.uint8:
        return 1.0
    top = float(values.max()) if values.size else 1.0
    return 255.0 if top <= 1.0 else 255.0 / top if top > 0 else 1.0


def shown_picture(inputs, index: int, scale: float) -> np.ndarray:
    """One picture as (H, W) or (H, W, 3) uint8, whatever layout it was given in."""
    picture = as_channels_last(inputs[index:index + 1])[0]
    if picture.dtype != np.uint8:
        picture = (picture.astype(np.float32) * scale).clip(0, 255).round().astype(np.uint8)
    return picture[..., 0] if picture.shape[2] == 1 else picture[..., :3]


PICTURES = PictureKind()
