"""`Clips`: sound in memory, the way waveforms reach the estimators, the encoder and the server.

Mono float32 waveforms of any lengths at one sample rate, with the recording each comes from (pieces
of one recording share it, and every split keeps a recording on one side).
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np

from deepfit.errors import DataWarning, InvalidInputError

MIN_RATE, MAX_RATE = 1000, 192_000
MIN_SAMPLES = 16     # a 2-D array with fewer columns than this is not a set of clips, one per row
MAX_SECONDS = 600.0  # longer files are cut to their first ten minutes, with a warning


class Clips:
    """Sound clips in memory: mono waveforms (1-D float arrays of any lengths) at one sample rate.

    The way to give sound to `DeepClassifier.fit` / `predict`:

    >>> import numpy as np
    >>> clips = Clips([np.zeros(8000), np.ones(4000)], sample_rate=8000)
    >>> len(clips), clips.durations().tolist()
    (2, [1.0, 0.5])

    A 2-D array holds equal-length clips, one per row. `recordings` names the recording each clip
    comes from (pieces of one recording share it); by default every clip is its own recording, known
    by its file or, for arrays, by its samples.
    """

    def __init__(self, waveforms, sample_rate: int, *, recordings=None, paths=None):
        if isinstance(waveforms, np.ndarray) and waveforms.ndim == 1 and waveforms.dtype != object:
            raise InvalidInputError("Clips takes a list of waveforms (or a 2-D array, one clip per row); for "
                                    "one clip pass [waveform].")
        if isinstance(waveforms, np.ndarray) and waveforms.ndim == 2 and waveforms.shape[1] < MIN_SAMPLES:
            raise InvalidInputError(f"Clips got an array of shape {waveforms.shape}: {waveforms.shape[0]} clips of "
                                    f"{waveforms.shape[1]} samples. Each row is one clip; for one clip pass "
                                    "[waveform.ravel()], for (samples, channels) pass [waveform].")
        self.sample_rate = check_rate(sample_rate)
        self.waveforms = [_as_waveform(w, i) for i, w in enumerate(waveforms)]
        long = [i for i, w in enumerate(self.waveforms) if len(w) > MAX_SECONDS * self.sample_rate]
        if long:
            warnings.warn(f"clip {long[0]} lasts {len(self.waveforms[long[0]]) / self.sample_rate / 60:.1f} minutes"
                          f"{f' ({len(long) - 1} more are that long)' if len(long) > 1 else ''}; a spectrogram of it "
                          "needs a lot of memory. Cut long recordings into clips.", DataWarning, stacklevel=2)
        self.paths = None if paths is None else [str(p) for p in paths]
        if recordings is None:  # a file is its own recording; an array is known by its samples
            recordings = self.paths if self.paths is not None else [
                "#" + hashlib.sha1(w.tobytes()).hexdigest()[:16] for w in self.waveforms]
        self.recordings = np.asarray([str(r) for r in recordings], dtype=object)
        for name, values in (("recordings", self.recordings), ("paths", self.paths)):
            if values is not None and len(values) != len(self.waveforms):
                raise InvalidInputError(f"Clips got {len(values)} {name} for {len(self.waveforms)} clips.")

    @classmethod
    def concatenate(cls, parts) -> Clips:
        """The clips of several `Clips` at one rate, in order, as one (for a batch)."""
        return cls([w for part in parts for w in part.waveforms], parts[0].sample_rate)

    def __len__(self) -> int:
        return len(self.waveforms)

    def __getitem__(self, rows) -> Clips:
        """The clips at `rows` (an index array, a boolean mask or a slice), as new Clips."""
        try:
            index = np.atleast_1d(np.arange(len(self))[rows])
        except IndexError as error:
            raise InvalidInputError(f"cannot select those clips from {len(self)} clips ({error}).") from None
        return Clips([self.waveforms[i] for i in index], self.sample_rate, recordings=self.recordings[index],
                     paths=None if self.paths is None else [self.paths[i] for i in index])

    @property
    def shape(self) -> tuple[int]:
        return (len(self),)  # what scikit-learn's splitters and `len`-checks look at

    def durations(self) -> np.ndarray:
        """Each clip's length in seconds."""
        return np.array([len(w) for w in self.waveforms], dtype=np.float64) / self.sample_rate

    def names(self) -> list[str]:
        """How to name each clip in a message: its file, or its position."""
        return self.paths if self.paths is not None else [f"clip {i}" for i in range(len(self))]

    def __repr__(self) -> str:
        return f"Clips({len(self)} clips at {self.sample_rate} Hz)"


def check_rate(sample_rate) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or \
            not MIN_RATE <= sample_rate <= MAX_RATE:
        raise InvalidInputError(f"sample_rate must be a whole number of samples per second from {MIN_RATE} to "
                                f"{MAX_RATE}, got {sample_rate!r}.")
    return int(sample_rate)


def _as_waveform(waveform, index: int) -> np.ndarray:
    array = np.asarray(waveform)
    if array.dtype.kind not in "fiu":
        raise InvalidInputError(f"clip {index}: holds {array.dtype} values; a waveform is an array of numbers.")
    if array.dtype.kind == "u":  # unsigned PCM (8-bit WAV) is centred on the middle of its range
        middle = np.iinfo(array.dtype).max / 2 + 0.5
        array = (array.astype(np.float32) - middle) / middle
    elif array.dtype.kind == "i":  # signed PCM, as scipy.io.wavfile reads it: scale to -1..1
        array = array.astype(np.float32) / (np.iinfo(array.dtype).max + 1)
    array = array.astype(np.float32, copy=False)
    if array.ndim == 2:  # (samples, channels) as soundfile reads it: mix down to mono
        array = array.mean(axis=1 if array.shape[0] >= array.shape[1] else 0)
    if array.ndim != 1:
        raise InvalidInputError(f"clip {index}: a waveform is 1-D (or samples x channels), got shape {array.shape}.")
    if not np.isfinite(array).all():
        raise InvalidInputError(f"clip {index}: holds NaN or infinite samples; fix or drop the clip.")
    return array
