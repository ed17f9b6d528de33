"""The Encoder for sound: clips -> normalised log-mel spectrogram windows, saved with the model.

Every clip goes the same way, in training, prediction and serving:

1. resampled (soxr) to the encoder's rate, if it comes at another;
2. loudness normalised: scaled to one RMS level (recordings of a class can differ 30-fold in level);
3. a log-mel spectrogram: a short-time Fourier transform (Hann window of about 32 ms, half of it
   between frames), power through librosa's mel filterbank, in decibels with a floor at -80 dB;
4. cut into windows of `window_frames` frames: a short clip is padded with silence, a long one
   gives several windows, evenly spaced from its start to its end, whose predictions are pooled;
5. each mel band standardised with the mean and spread fitted on the training windows.

The window is chosen from the training clips, unless given: as long as nine clips in ten (so most
clips are one window), at most `MAX_WINDOW_SECONDS`. The rate is the clips', at most 16 kHz.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import torch

from deepfit.data.audio import DEFAULT_MAX_RATE, SILENCE_RMS, rms
from deepfit.data.clips import Clips, check_rate
from deepfit.errors import InvalidInputError

TARGET_RMS = 0.1              # -20 dBFS: every clip is scaled to this level
FLOOR_DB = -80.0              # quieter mel bins are clipped here (and padding is this silence)
MAX_WINDOW_SECONDS = 3.0      # long clips are cut into windows of at most this length
MIN_WINDOW_FRAMES = 8
STATISTICS_WINDOWS = 4_000    # training windows used to measure each band's mean and spread


@dataclass
class AudioEncoder:
    """Waveforms -> (N windows, 1, n_mels, window_frames) float32, plus which clip each window is from."""

    sample_rate: int
    n_fft: int
    hop_length: int
    n_mels: int
    window_frames: int
    band_mean: list
    band_std: list
    kind: str = "audio"

    def __post_init__(self):
        _filterbank(self.sample_rate, self.n_fft, self.n_mels)  # made now, not in a server's first requests
        _hann(self.n_fft)

    @classmethod
    def fit(cls, clips: Clips, *, sample_rate: int | None = None, window_seconds: float | None = None
            ) -> AudioEncoder:
        """Settings from the clips' rate (at most 16 kHz unless `sample_rate` is given) and lengths (unless
        `window_seconds` is given); band statistics from their spectrograms."""
        return cls.fit_encode(clips, sample_rate=sample_rate, window_seconds=window_seconds)[0]

    @classmethod
    def fit_encode(cls, clips: Clips, *, sample_rate: int | None = None, window_seconds: float | None = None):
        """(encoder, windows, clip_index): `fit`, and the training clips encoded on the way."""
        rate = check_rate(sample_rate) if sample_rate is not None else min(clips.sample_rate, DEFAULT_MAX_RATE)
        n_fft = 2 ** max(6, round(math.log2(0.032 * rate)))   # 512 at 16 kHz, 256 at 8 kHz
        n_mels = 64 if rate >= 16_000 else 40
        hop = n_fft // 2
        frames_per_second = rate / hop
        if window_seconds is not None:
            window = max(MIN_WINDOW_FRAMES, round(window_seconds * frames_per_second) + 1)
        else:
            typical = float(np.percentile(clips.durations(), 90)) if len(clips) else 1.0
            window = int(np.clip(round(typical * frames_per_second) + 1, MIN_WINDOW_FRAMES,
                                 round(MAX_WINDOW_SECONDS * frames_per_second) + 1))
        encoder = cls(rate, n_fft, hop, n_mels, window, [0.0] * n_mels, [1.0] * n_mels)
        windows, clip_index = encoder._windows(clips)
        rows = np.random.default_rng(0).permutation(len(windows))[:STATISTICS_WINDOWS]
        sample = windows[np.sort(rows), 0].astype(np.float64)           # (n, mels, frames)
        encoder.band_mean = sample.mean(axis=(0, 2)).round(6).tolist()
        encoder.band_std = np.maximum(sample.std(axis=(0, 2)), 1e-3).round(6).tolist()
        return encoder, encoder._standardise(windows), clip_index

    # ------------------------------------------------------------ transforming
    def encode(self, clips) -> tuple[np.ndarray, np.ndarray]:
        """(windows, clip_index): normalised spectrogram windows and the clip each one comes from."""
        windows, clip_index = self._windows(self.check(clips))
        return self._standardise(windows), clip_index

    def _standardise(self, windows: np.ndarray) -> np.ndarray:
        windows -= np.asarray(self.band_mean, dtype=np.float32)[:, None]
        windows /= np.asarray(self.band_std, dtype=np.float32)[:, None]
        return windows

    @property
    def silence(self) -> np.ndarray:
        """What silence becomes in each band after standardising (what short clips are padded with)."""
        return (FLOOR_DB - np.asarray(self.band_mean)) / np.asarray(self.band_std)

    def transform(self, clips) -> np.ndarray:
        return self.encode(clips)[0]

    def check(self, clips) -> Clips:
        if not isinstance(clips, Clips):
            raise InvalidInputError(f"this model takes sound ({self.describe()}): pass deepfit.Clips(waveforms, "
                                    f"sample_rate) or deepfit.read_audio(...).clips; got "
                                    f"{getattr(clips, 'shape', type(clips).__name__)}.")
        if len(clips) == 0:
            raise InvalidInputError("no clips were given; pass at least one.")
        return clips

    def spectrogram(self, waveform: np.ndarray, rate: int) -> np.ndarray:
        """One clip's log-mel spectrogram (n_mels, frames), in dB, after resampling and loudness levelling."""
        if rate != self.sample_rate and len(waveform):
            import soxr

            waveform = soxr.resample(waveform, rate, self.sample_rate, quality="HQ").astype(np.float32)
        level = rms(waveform)
        if level >= SILENCE_RMS:
            waveform = waveform * np.float32(TARGET_RMS / level)
        signal = torch.tensor(waveform, dtype=torch.float32)  # a copy: cached clips are read-only maps
        if len(signal) < self.n_fft:  # too short for one frame: pad with silence
            signal = torch.nn.functional.pad(signal, (0, self.n_fft - len(signal)))
        with torch.inference_mode():
            spectrum = torch.stft(signal, self.n_fft, self.hop_length, window=_hann(self.n_fft), center=True,
                                  pad_mode="constant", return_complex=True)
            power = spectrum.real.square() + spectrum.imag.square()       # (bins, frames)
            mel = _filterbank(self.sample_rate, self.n_fft, self.n_mels) @ power
            decibels = 10 * torch.log10(mel.clamp_min(10 ** (FLOOR_DB / 10)))
        return decibels.numpy()

    def _windows(self, clips: Clips) -> tuple[np.ndarray, np.ndarray]:
        """Every clip's spectrogram cut into windows of `window_frames` (padded with silence)."""
        frames = self.window_frames
        spectrograms = [self.spectrogram(w, clips.sample_rate) for w in clips.waveforms]
        counts = [1 if s.shape[1] <= frames else math.ceil((s.shape[1] - frames) / frames) + 1 for s in spectrograms]
        windows = np.full((sum(counts), 1, self.n_mels, frames), FLOOR_DB, dtype=np.float32)
        position = 0
        for spectrogram, count in zip(spectrograms, counts):
            length = spectrogram.shape[1]
            if length <= frames:
                windows[position, 0, :, :length] = spectrogram
            else:
                starts = np.linspace(0, length - frames, count).round().astype(np.intp)
                views = np.lib.stride_tricks.sliding_window_view(spectrogram, frames, axis=1)  # (mels, n, frames)
                windows[position:position + count, 0] = views[:, starts].transpose(1, 0, 2)
            position += count
        return windows, np.repeat(np.arange(len(counts)), counts)

    # ----------------------------------------------------------------- shape
    @property
    def height(self) -> int:
        return self.n_mels

    @property
    def width(self) -> int:
        return self.window_frames

    @property
    def channels(self) -> int:
        return 1

    @property
    def n_inputs(self) -> int:
        return self.n_mels * self.window_frames

    @property
    def window_seconds(self) -> float:
        return (self.window_frames - 1) * self.hop_length / self.sample_rate

    def describe(self) -> str:
        return (f"sound at {self.sample_rate} Hz, {self.window_seconds:.2f} s windows of {self.n_mels} mel bands "
                f"x {self.window_frames} frames")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> AudioEncoder:
        settings = {k: data[k] for k in ("sample_rate", "n_fft", "hop_length", "n_mels", "window_frames",
                                         "band_mean", "band_std")}
        rate, n_fft, hop, n_mels, frames = (int(settings[k]) for k in list(settings)[:5])
        if not (1000 <= rate <= 192_000 and 16 <= n_fft <= 65_536 and 1 <= hop <= n_fft and 1 <= n_mels <= 512
                and 1 <= frames <= 100_000 and len(settings["band_mean"]) == len(settings["band_std"]) == n_mels):
            raise ValueError("the sound settings in the header are out of range")  # checked before any allocation
        return cls(rate, n_fft, hop, n_mels, frames, [float(v) for v in settings["band_mean"]],
                   [float(v) for v in settings["band_std"]])


@lru_cache(maxsize=8)
def _filterbank(rate: int, n_fft: int, n_mels: int) -> torch.Tensor:
    """librosa's (Slaney) mel filterbank, (n_mels, n_fft // 2 + 1)."""
    import librosa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa warns of empty filters at low rates; they stay zero
        bank = librosa.filters.mel(sr=rate, n_fft=n_fft, n_mels=n_mels, fmin=0.0, fmax=rate / 2)
    return torch.from_numpy(bank.astype(np.float32))


@lru_cache(maxsize=8)
def _hann(n_fft: int) -> torch.Tensor:
    return torch.hann_window(n_fft)
