"""Sound: `Clips` (waveforms at one rate) or sound files, as log-mel spectrogram windows."""

from __future__ import annotations

import numpy as np

from deepfit.data import similarity
from deepfit.data.audio import AUDIO_SUFFIXES, is_audio_source, read_audio, warn_if_silent
from deepfit.data.clips import Clips
from deepfit.data.kinds.base import Examples, ExportInput, Kind, Shown, TrainingDefaults, Words
from deepfit.data.near_copies import NearCopyView
from deepfit.data.uploads import decode_clips
from deepfit.errors import InvalidInputError

SIMILARITY = 0.995   # cosine of coarse log-mel spectrograms at or above which two clips are near copies
SHOWN_SECONDS = 10   # the report shows and plays each clip up to this long


class SoundKind(Kind):
    name = "audio"
    words = Words(data="sound", files="sound files", one="sound file", shown="log-mel spectrogram")
    suffixes = AUDIO_SUFFIXES
    read_settings = ("sample_rate",)
    fit_settings = ("window_seconds",)
    grid = True
    pooled = True
    sliced = True
    no_shallow = ("whose examples differ in length; compare a table of per-clip features instead "
                  "(deepfit.data.clip_features.clip_feature_table)")
    predict_batch = 32
    mistakes_shown = 8  # fewer than pictures: each is a spectrogram and a player
    defaults = TrainingDefaults(label_smoothing=0.0, learning_rate=2e-3, smallest_batch=32, steps=1200,
                                max_epochs=50, shift_rows=False)
    seconds_per_slice = 1800  # clips are predicted half an hour of sound at a time (about 10 MB of windows)

    @property
    def encoder_type(self) -> type:
        from deepfit.data.audio_encoder import AudioEncoder  # torch: loaded with a model, not for `deepfit --help`

        return AudioEncoder

    def recognises(self, X) -> bool:
        return isinstance(X, Clips)

    def holds(self, path) -> bool:
        return is_audio_source(path)

    def read(self, source, *, labelled=True, skip_bad=False, cache=True, sample_rate=None) -> Examples:
        sounds = read_audio(source, sample_rate=sample_rate, skip_bad=skip_bad, labelled=labelled, cache=cache)
        return Examples(sounds.clips, sounds.labels, sounds.paths, sounds.skipped,
                        np.asarray(sounds.clips.recordings, dtype=object))

    def fit_parameters(self, X, given: dict) -> dict:
        """The window length asked for, and the rate the clips were read at (not resampled again)."""
        return {"window_seconds": given.get("window_seconds"), "sample_rate": X.sample_rate}

    def settings_of(self, encoder) -> dict:
        return {"sample_rate": encoder.sample_rate}

    def join(self, parts: list):
        return Clips.concatenate(parts)

    def settings_like(self, X) -> dict:
        return {"sample_rate": X.sample_rate}

    def describe(self, X) -> str:
        durations = X.durations()
        return (f"{len(X)} sound clips ({durations.sum() / 60:.1f} minutes, {durations.min():.2f} to "
                f"{durations.max():.2f} s each, {len(set(X.recordings))} recordings) at {X.sample_rate} Hz")

    def validate(self, X, encoder=None):
        if encoder is not None:
            return encoder.check(X)
        if len(X) == 0:
            raise InvalidInputError("no clips were given; pass at least one.")
        return X

    def fit_encoder(self, X, *, sample_rate=None, window_seconds=None, **_) -> tuple:
        """The encoder, and the training clips' windows made on the way (one pass over the sound)."""
        if X.paths is None:
            warn_if_silent(X)
        encoder, windows, clip_of_window = self.encoder_type.fit_encode(X, sample_rate=sample_rate,
                                                                        window_seconds=window_seconds)
        return encoder, (windows, clip_of_window)

    def encode(self, encoder, X) -> tuple:
        return encoder.encode(X)

    def groups_of(self, X):
        return X.recordings if isinstance(X, Clips) else None

    def check_augmentation(self, augment: str) -> None:
        if augment == "shift+flip":
            raise InvalidInputError("augment='shift+flip' does not suit sound (a clip played backwards is another "
                                    "sound); use 'shift' (in time) or 'none'.")
        if augment.startswith("affine"):
            raise InvalidInputError(f"augment='{augment}' does not suit sound (a spectrogram turned or scaled is "
                                    "another pitch); use 'shift' (in time) or 'none'.")

    def margin_fill(self, encoder):
        """Silence: a clip shifted in time starts or ends quiet."""
        import torch

        return torch.as_tensor(encoder.silence, dtype=torch.float32).reshape(1, 1, -1, 1)

    def default_network(self, encoder, n_classes: int, dropout: float) -> dict:
        """The CNN on spectrogram windows, with a stem stride that suits long, narrow inputs."""
        from deepfit.models.cnn import cnn_architecture, stem_stride_for_area  # torch: with a model only

        return cnn_architecture(encoder.height, encoder.width, encoder.channels, n_classes, dropout,
                                stem_stride=stem_stride_for_area(encoder.height, encoder.width))

    def prediction_slices(self, X) -> list:
        seconds = np.cumsum(X.durations())
        slice_of_clip = (seconds // self.seconds_per_slice).astype(np.intp)
        return np.split(np.arange(len(X)), np.flatnonzero(np.diff(slice_of_clip)) + 1)

    def near_copy_view(self, X, like=None) -> NearCopyView:
        encoder = like.encoder if like is not None and like.encoder is not None else self.encoder_type.fit(X)
        spectrograms = [encoder.spectrogram(np.asarray(w, dtype=np.float32), X.sample_rate) for w in X.waveforms]
        coarse = np.stack([_resample_frames(s, 32) for s in spectrograms])
        summary = np.stack([np.concatenate([s.mean(axis=1), s.std(axis=1)]) for s in spectrograms])
        return NearCopyView(self, similarity.exact_keys(list(X.waveforms)), similarity.unit_rows(coarse), summary,
                            (X.sample_rate,), encoder, similarity=SIMILARITY, similar_what="coarse spectrograms")

    def show_examples(self, inputs, encoder, indices) -> list[Shown]:
        """Each clip's log-mel spectrogram (in dB), and the clip to play."""
        rate, shown = inputs.sample_rate, []
        for index in indices:
            waveform = np.asarray(inputs.waveforms[index], dtype=np.float32)[:SHOWN_SECONDS * rate]
            shown.append(Shown(encoder.spectrogram(waveform, rate), values=True, sound=(waveform, rate)))
        return shown

    def input_description(self, encoder) -> dict:
        return {"files": {"sample_rate": encoder.sample_rate, "window_seconds": round(encoder.window_seconds, 3),
                          "suffixes": list(AUDIO_SUFFIXES)}}

    def decode_uploads(self, payloads, encoder, budget):
        return decode_clips(payloads, encoder.sample_rate, budget)

    def export_input(self, encoder) -> ExportInput:
        import torch

        shape = f"[W, 1, {encoder.n_mels}, {encoder.window_frames}]"
        notes = ("The log-mel spectrogram cannot be expressed in the file: it takes the standardised spectrogram "
                 f"windows of ONE clip, float32 {shape}, as deepfit's AudioEncoder makes them (settings in the "
                 ".encoder.json beside it), and gives that clip's probabilities [1, K] from the mean of its "
                 "windows' scores.",)
        return ExportInput(torch.zeros((2, 1, encoder.n_mels, encoder.window_frames), dtype=torch.float32),
                           "windows", f"float32 spectrogram windows of one clip {shape}", notes, pool_windows=True)

    def sample_inputs(self, encoder, n: int, rng: np.random.Generator):
        lengths = rng.uniform(0.5, 2.5, 4) * encoder.window_seconds * encoder.sample_rate
        return Clips([(0.1 * rng.standard_normal(int(k))).astype(np.float32) for k in lengths], encoder.sample_rate)

    def exported_inputs(self, encoder, examples, raw: bool):
        """One batch of windows per clip: the graph pools the windows it is given into one answer."""
        windows, clip_of_window = encoder.encode(examples)
        return [windows[clip_of_window == i].astype(np.float32) for i in range(len(examples))]


def _resample_frames(spectrogram: np.ndarray, frames: int) -> np.ndarray:
    """(bands, any frames) -> (bands, `frames`) by linear interpolation along time."""
    old = np.linspace(0, 1, spectrogram.shape[1])
    new = np.linspace(0, 1, frames)
    return np.stack([np.interp(new, old, band) for band in spectrogram])


SOUND = SoundKind()
