"""Read labelled sound clips: class folders of WAV, FLAC, OGG, AU, AIFF or MP3 files, a CSV of
``path,label``, or a list of files, into `Clips` (`deepfit.data.clips`).

Every file's header is read before anything is decoded, so a bad file is named before training
starts, never in the middle of an epoch. Each clip is mixed down to mono and resampled (soxr) to one
rate: by default the highest rate among the files, at most 16 kHz (enough for speech and for the
bands that tell music genres apart). Decoded clips are cached on disk as float32 (keyed by the
files' names, sizes and modification times), so a second run decodes nothing.

Pieces of one recording (GTZAN's ``blues.00042.3.wav``, cut from ``blues.00042.wav``) share a
recording name (`recording_of`), and every split deepfit makes keeps a recording on one side.
"""

from __future__ import annotations

import os
import re
import struct
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepfit.data.clips import MAX_SECONDS, Clips, check_rate
from deepfit.data.decoded_cache import cache_file_for, load_cached, store_cached
from deepfit.data.images import IMAGE_SUFFIXES
from deepfit.data.listing import list_source, refuse_or_skip
from deepfit.errors import DataWarning, InvalidInputError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".au", ".snd", ".aiff", ".aif", ".mp3")
DEFAULT_MAX_RATE = 16_000
SILENCE_RMS = 1e-5   # quieter than this (about -100 dBFS) a clip holds nothing to learn from
RECORDING_COLUMNS = ("recording", "group", "src_file", "fsid", "speaker_take")  # a CSV's own recording names
_PIECE = re.compile(r"^(?P<recording>.*[._-]\d+)[._-]\d+$")  # "blues.00042.3" -> "blues.00042"


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
