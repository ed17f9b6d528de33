"""Read labelled sound clips: class folders of WAV, FLAC, OGG, AU, AIFF or MP3 files, a CSV of
``path,label``, or a list of files; and `Clips`, the way waveforms in memory reach the estimators.

Every file's header is read before anything is decoded, so a bad file is named before training
starts, never in the middle of an epoch. Each clip is mixed down to mono and resampled (soxr) to one
rate: by default the highest rate among the files, at most 16 kHz (enough for speech and for the
bands that tell music genres apart). Decoded clips are cached on disk as float32 (keyed by the
files' names, sizes and modification times), so a second run decodes nothing.

Pieces of one recording (GTZAN's ``blues.00042.3.wav``, cut from ``blues.00042.wav``) share a
recording name (`recording_of`), and every split deepfit makes keeps a recording on one side.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepfit.data.decoded_cache import cache_file_for, load_cached, store_cached
from deepfit.data.encoder import DataWarning
from deepfit.data.listing import list_source, refuse_or_skip
from deepfit.errors import InvalidInputError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".au", ".snd", ".aiff", ".aif", ".mp3")
DEFAULT_MAX_RATE = 16_000
MIN_RATE, MAX_RATE = 1000, 192_000
MIN_SAMPLES = 16     # a 2-D array with fewer columns than this is not a set of clips, one per row
MAX_SECONDS = 600.0  # longer files are cut to their first ten minutes, with a warning
SILENCE_RMS = 1e-5   # quieter than this (about -100 dBFS) a clip holds nothing to learn from
RECORDING_COLUMNS = ("recording", "group", "src_file", "fsid", "speaker_take")  # a CSV's own recording names
_PIECE = re.compile(r"^(?P<recording>.*[._-]\d+)[._-]\d+$")  # "blues.00042.3" -> "blues.00042"


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
    def concatenate(cls, parts) -> "Clips":
        """The clips of several `Clips` at one rate, in order, as one (for a batch)."""
        return cls([w for part in parts for w in part.waveforms], parts[0].sample_rate)

    def __len__(self) -> int:
        return len(self.waveforms)

    def __getitem__(self, rows) -> "Clips":
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


@dataclass
class SoundSet:
    """Clips read from files, with their labels (None when unlabelled) and the files left out."""

    clips: Clips
    labels: np.ndarray | None
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return self.clips.paths


def is_audio_source(path) -> bool:
    """Whether `path` is a sound file, or a folder whose first picture or sound file (in class
    sub-folders or not) is sound."""
    from deepfit.data.images import IMAGE_SUFFIXES

    path = Path(path)
    if path.is_file():
        return path.suffix.lower() in AUDIO_SUFFIXES
    if not path.is_dir():
        return False
    for _, folders, files in os.walk(path):  # in name order, stopping at the first such file
        folders.sort()
        for name in sorted(files):
            suffix = os.path.splitext(name)[1].lower()
            if suffix in AUDIO_SUFFIXES + IMAGE_SUFFIXES and not name.startswith("."):
                return suffix in AUDIO_SUFFIXES
    return False


def recording_of(path) -> str:
    """The recording a file belongs to: its folder and its name without a trailing piece number
    (the folder, so that rock/1.wav and jazz/1.wav are two recordings; train/ and test/ folders of
    the same classes share names, so a piece in each is one recording on both sides).

    >>> recording_of("train/blues/blues.00042.3.wav"), recording_of("test/blues/blues.00042.wav")
    ('blues/blues.00042', 'blues/blues.00042')
    >>> recording_of("digits/0_jackson_12.wav")  # spoken digit, speaker, take: a recording of its own
    'digits/0_jackson_12'
    """
    path = Path(path)
    match = _PIECE.match(path.stem)
    return f"{path.parent.name}/{match.group('recording') if match else path.stem}"


def read_audio(source, *, sample_rate: int | None = None, skip_bad: bool = False, labelled: bool | None = None,
               max_seconds: float = MAX_SECONDS, cache: bool = True) -> SoundSet:
    """Read sound clips from a class-folder tree, a folder of unlabelled files, a CSV of ``path,label``,
    one file, or a list of files: mono, resampled to `sample_rate` (default: chosen from the files).

    `skip_bad` leaves out unreadable files (listed in ``skipped``) instead of refusing the set;
    `labelled=True` requires labels. Files longer than `max_seconds` are cut, with a warning.
    """
    paths, labels, recordings, origin = list_source(source, AUDIO_SUFFIXES, "sound files", labelled=labelled,
                                                    example="clips/rock/1.wav, clips/jazz/2.wav",
                                                    groups=RECORDING_COLUMNS)
    with ThreadPoolExecutor(max_workers=min(16, (os.cpu_count() or 1) * 2)) as pool:
        probes = list(pool.map(_probe, paths))
    bad = [(str(path), why) for path, (probe, why) in zip(paths, probes) if probe is None]
    refuse_or_skip(bad, skip_bad, len(paths), origin, "sound files")
    keep = [i for i, (probe, _) in enumerate(probes) if probe is not None]
    if not keep:
        raise InvalidInputError(f"{origin}: none of the {len(paths)} files could be read as sound.")
    paths, probes = [paths[i] for i in keep], [probes[i][0] for i in keep]
    labels = None if labels is None else labels[keep]
    recordings = None if recordings is None else recordings[keep]
    rate = _choose_rate(probes, sample_rate)
    _warn_about(paths, probes, max_seconds)
    waveforms, failures = _decode_all(paths, probes, rate, max_seconds, cache)
    if failures:
        refuse_or_skip(failures, skip_bad, len(paths), origin, "sound files")
        failed = {path for path, _ in failures}
        keep = [i for i, path in enumerate(paths) if str(path) not in failed]
        paths, waveforms = [paths[i] for i in keep], [waveforms[i] for i in keep]
        labels = None if labels is None else labels[keep]
        recordings = None if recordings is None else recordings[keep]
        bad = bad + failures
    if recordings is None:
        recordings = [recording_of(p) for p in paths]
    clips = Clips(waveforms, rate, recordings=recordings, paths=[str(p) for p in paths])
    warn_if_silent(clips)
    return SoundSet(clips, labels, bad)


def warn_if_silent(clips: Clips) -> None:
    """A warning naming the silent clips among `clips`: they hold nothing to learn from."""
    quiet = [name for name, w in zip(clips.names(), clips.waveforms) if rms(w) < SILENCE_RMS]
    if quiet:
        warnings.warn(f"{quiet[0]}: is silent{f' (and {len(quiet) - 1} more clips)' if len(quiet) > 1 else ''}; it "
                      "holds nothing to learn from. Check the recording, or remove it.", DataWarning, stacklevel=3)


# ------------------------------------------------------------------------------------ checking
@dataclass
class _Probe:
    frames: int
    rate: int
    channels: int
    truncated_from: int = 0  # frames the header promised, when the file holds fewer


def _probe(path: Path):
    """Read one file's header: its length, rate and channels, or why it cannot be used."""
    import soundfile

    try:
        if path.stat().st_size == 0:
            return None, "the file is empty (0 bytes)"
        info = soundfile.info(str(path))
    except (OSError, RuntimeError, ValueError) as error:  # LibsndfileError is a RuntimeError
        reason = str(error).split(": ", 1)[-1].splitlines()[0][:120]
        return None, f"not a readable sound file ({reason})"
    if info.frames <= 0 or info.samplerate <= 0:
        return None, "holds no samples (0 frames)"
    promised = _wav_promised_frames(path, info.channels) if path.suffix.lower() == ".wav" else 0
    return _Probe(int(info.frames), int(info.samplerate), int(info.channels),
                  promised if promised > info.frames else 0), None


def _wav_promised_frames(path: Path, channels: int) -> int:
    """The frames a WAV file's data chunk says it holds (0 if unknown): more than it has when truncated."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return 0
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return 0
    position, block_align = 12, 0
    while position + 8 <= len(head):
        chunk, size = head[position:position + 4], struct.unpack("<I", head[position + 4:position + 8])[0]
        if chunk == b"fmt " and position + 22 <= len(head):
            block_align = struct.unpack("<H", head[position + 20:position + 22])[0]
        if chunk == b"data":  # 0 or all ones: written by a stream that could not go back to fill it in
            return size // block_align if block_align and 0 < size < 0xFFFFFF00 else 0
        position += 8 + size + (size & 1)
    return 0


def _choose_rate(probes, sample_rate) -> int:
    if sample_rate is not None:
        return check_rate(sample_rate)
    return min(DEFAULT_MAX_RATE, max(p.rate for p in probes))


def _warn_about(paths, probes, max_seconds: float) -> None:
    truncated = [(p, probe) for p, probe in zip(paths, probes) if probe.truncated_from]
    if truncated:
        path, probe = truncated[0]
        warnings.warn(f"{path}: is truncated (its header promises {probe.truncated_from / probe.rate:.2f} s, the "
                      f"file holds {probe.frames / probe.rate:.2f} s); using what is there"
                      f"{f' ({len(truncated) - 1} more files are truncated)' if len(truncated) > 1 else ''}.",
                      DataWarning, stacklevel=3)
    long = [(p, probe) for p, probe in zip(paths, probes) if probe.frames / probe.rate > max_seconds]
    if long:
        path, probe = long[0]
        warnings.warn(f"{path}: lasts {probe.frames / probe.rate / 60:.1f} minutes; deepfit reads its first "
                      f"{max_seconds / 60:g} minutes (max_seconds). Cut long recordings into clips to use all of "
                      f"them{f' ({len(long) - 1} more files are that long)' if len(long) > 1 else ''}.",
                      DataWarning, stacklevel=3)


# ------------------------------------------------------------------------------------ decoding
def _decode(path: Path, probe: _Probe, rate: int, max_seconds: float) -> np.ndarray:
    """One file as a mono float32 waveform at `rate`."""
    import soundfile
    import soxr

    frames = min(probe.frames, int(max_seconds * probe.rate))
    samples, _ = soundfile.read(str(path), frames=frames, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    mono = np.nan_to_num(mono, nan=0.0, posinf=0.0, neginf=0.0)
    if probe.rate != rate and len(mono):
        mono = soxr.resample(mono, probe.rate, rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def _decode_all(paths, probes, rate: int, max_seconds: float, cache: bool):
    """(waveforms, failures): every file decoded (in threads: libsndfile and soxr release the GIL), or
    read from the cache; a file that fails gives None and a (file, why) failure."""
    cache_file = cache_file_for(paths, rate, max_seconds, folder="audio") if cache else None
    offsets_file = cache_file.with_suffix(".offsets.npy") if cache_file is not None else None
    if cache_file is not None and cache_file.exists() and offsets_file.exists():
        samples = load_cached(cache_file, None, dtype=np.float32)
        offsets = load_cached(offsets_file, (len(paths) + 1,), dtype=np.int64)
        if samples is not None and offsets is not None and offsets[-1] == len(samples):
            return [samples[offsets[i]:offsets[i + 1]] for i in range(len(paths))], []
    failures = []

    def decode(index):
        try:
            return _decode(paths[index], probes[index], rate, max_seconds)
        except (OSError, RuntimeError, ValueError) as error:
            failures.append((str(paths[index]), f"cannot be decoded ({str(error).splitlines()[0][:120]})"))
            return None

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        waveforms = list(pool.map(decode, range(len(paths))))
    if failures:
        return waveforms, sorted(failures)
    if cache_file is not None:
        offsets = np.concatenate([[0], np.cumsum([len(w) for w in waveforms])]).astype(np.int64)
        store_cached(offsets_file, offsets)
        store_cached(cache_file, np.concatenate(waveforms) if waveforms else np.zeros(0, np.float32))
    return waveforms, []


def rms(waveform: np.ndarray) -> float:
    """Root-mean-square level of a waveform (0 for an empty one)."""
    return float(np.sqrt(np.mean(np.square(waveform, dtype=np.float64)))) if len(waveform) else 0.0
