"""Small sound data sets made on the spot, for the examples and the tests (nothing is downloaded).

`genres`: four made-up "music genres" that differ the way real ones do, in timbre and in rhythm
over time, never in loudness (each clip's level is drawn over a 30-fold range):

- drone: a sustained chord of low tones that drifts slowly;
- melody: a tune of short notes, one pitch after another, with harmonics;
- beat: drum-like bursts of noise on a steady tempo, with a low thump;
- static: coloured noise (white, pink or brown) whose level wanders.

Every clip also carries background noise of a random colour, and clips have different lengths.

`words`: ten made-up spoken "digits" (vowels and hisses), said by several voices: the spoken-digit
project, like the Free Spoken Digit Dataset.
`write_clips` saves clips as files in class folders, optionally cut into pieces named as GTZAN's
3-second pieces are (``beat.00007.2.wav``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

GENRES = ("drone", "melody", "beat", "static")


def genres(per_class: int = 20, rate: int = 8000, seconds=(1.5, 3.0), seed: int = 0):
    """(waveforms, labels): `per_class` clips of each genre, float32 mono at `rate`."""
    rng = np.random.default_rng(seed)
    waveforms, labels = [], []
    for genre in GENRES:
        for _ in range(per_class):
            n = int(rng.uniform(*seconds) * rate)
            clip = _MAKERS[genre](rng, n, rate)
            clip = clip / (np.sqrt(np.mean(clip ** 2)) + 1e-9)
            clip = clip + _coloured_noise(rng, n, rng.choice([0.0, 1.0, 2.0])) * rng.uniform(0.05, 0.4)
            level = 0.3 * np.exp(rng.uniform(np.log(1 / 30), 0))  # 30-fold range of loudness
            waveforms.append((level * clip / (np.abs(clip).max() + 1e-9)).astype(np.float32))
            labels.append(genre)
    return waveforms, np.array(labels, dtype=object)


# Vowels by their first two formants (Hz, an adult speaker); "s" is a hiss, "t" a short burst.
_VOWELS = {"a": (730, 1090), "e": (530, 1840), "i": (270, 2290), "o": (570, 840), "u": (300, 870)}
WORDS = {"zero": "sio", "one": "ua", "two": "tu", "three": "sei", "four": "so", "five": "sai", "six": "sis",
         "seven": "see", "eight": "eit", "nine": "aia"}


def words(speakers: int = 8, takes: int = 4, rate: int = 8000, seed: int = 0):
    """(waveforms, labels, speaker of each clip): ten made-up spoken "digits", each a sequence of vowels
    and hisses, said by `speakers` voices (their own pitch, vocal-tract length and pace) `takes`
    times each, with the small changes between takes a real speaker makes, over background noise."""
    rng = np.random.default_rng(seed)
    voices = [(rng.uniform(90, 260), rng.uniform(0.85, 1.2), rng.uniform(0.8, 1.25)) for _ in range(speakers)]
    waveforms, labels, who = [], [], []
    for word, sounds in WORDS.items():
        for speaker, (pitch, tract, pace) in enumerate(voices):
            for _ in range(takes):
                parts = [_speech_sound(rng, sound, pitch * rng.uniform(0.95, 1.05), tract, pace, rate)
                         for sound in sounds]
                clip = np.concatenate([np.zeros(int(rng.uniform(0.02, 0.15) * rate)), *parts,
                                       np.zeros(int(rng.uniform(0.02, 0.15) * rate))])
                clip = clip / (np.abs(clip).max() + 1e-9)
                clip = clip + _coloured_noise(rng, len(clip), rng.choice([0.0, 1.0])) * rng.uniform(0.01, 0.08)
                level = 0.3 * np.exp(rng.uniform(np.log(1 / 30), 0))
                waveforms.append((level * clip / (np.abs(clip).max() + 1e-9)).astype(np.float32))
                labels.append(word)
                who.append(speaker)
    return waveforms, np.array(labels, dtype=object), np.array(who)


def _speech_sound(rng, sound: str, pitch: float, tract: float, pace: float, rate: int) -> np.ndarray:
    if sound in "st":
        n = int((0.14 if sound == "s" else 0.04) * pace * rng.uniform(0.85, 1.15) * rate)
        hiss = np.diff(rng.standard_normal(n + 1))  # differenced noise: most power high up
        return hiss * np.hanning(n) * (0.5 if sound == "s" else 1.0)
    n = int(0.16 * pace * rng.uniform(0.85, 1.15) * rate)
    t = np.arange(n) / rate
    first, second = (f * tract * rng.uniform(0.95, 1.05) for f in _VOWELS[sound])
    harmonics = np.arange(1, int(rate / 2 / pitch))
    frequencies = harmonics * pitch
    gains = (np.exp(-((frequencies - first) / 120) ** 2) + 0.7 * np.exp(-((frequencies - second) / 160) ** 2)
             + 0.02 / harmonics)
    voiced = np.sin(2 * np.pi * np.outer(t, frequencies) + rng.uniform(0, 6.3, len(harmonics))) @ gains
    return voiced * np.hanning(n)


def write_clips(folder, waveforms, labels, rate: int, *, suffix: str = ".wav", pieces: int = 1,
                first: int = 0) -> list[Path]:
    """Write clips into `folder/<label>/<label>.<number><suffix>`, numbered from `first`; with `pieces` > 1
    each clip is cut into that many pieces named ``<label>.<number>.<piece><suffix>``, as GTZAN's are."""
    import soundfile

    written = []
    for number, (waveform, label) in enumerate(zip(waveforms, labels), start=first):
        target = Path(folder) / str(label)
        target.mkdir(parents=True, exist_ok=True)
        parts = np.array_split(waveform, pieces) if pieces > 1 else [waveform]
        for piece, part in enumerate(parts):
            name = f"{label}.{number:05d}" + (f".{piece}" if pieces > 1 else "") + suffix
            soundfile.write(target / name, part, rate)
            written.append(target / name)
    return written


def _drone(rng, n, rate):
    t = np.arange(n) / rate
    root = rng.uniform(90, 220)
    drift = 1 + 0.01 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t)
    return sum(np.sin(2 * np.pi * root * ratio * drift * t + rng.uniform(0, 6.3)) / (k + 1)
               for k, ratio in enumerate((1.0, 1.25, 1.5, 2.0)))


def _melody(rng, n, rate):
    out = np.zeros(n)
    position = 0
    while position < n:
        length = int(rng.uniform(0.08, 0.25) * rate)
        t = np.arange(min(length, n - position)) / rate
        pitch = 220 * 2 ** (rng.integers(0, 24) / 12)
        envelope = np.minimum(1, t * 200) * np.exp(-t * rng.uniform(3, 10))
        note = sum(np.sin(2 * np.pi * pitch * h * t) / h for h in (1, 2, 3))
        out[position:position + len(t)] = envelope * note
        position += length
    return out


def _beat(rng, n, rate):
    out = 0.05 * rng.standard_normal(n)
    period = int(60 / rng.uniform(90, 160) * rate)
    hit = int(0.12 * rate)
    t = np.arange(hit) / rate
    for start in range(int(rng.uniform(0, period)), n, period):
        stop = min(n, start + hit)
        burst = rng.standard_normal(stop - start) * np.exp(-t[:stop - start] * 40)
        thump = np.sin(2 * np.pi * 60 * t[:stop - start]) * np.exp(-t[:stop - start] * 20)
        out[start:stop] += burst + 2 * thump
    return out


def _static(rng, n, rate):
    noise = _coloured_noise(rng, n, rng.choice([0.0, 1.0, 2.0]))
    t = np.arange(n) / rate
    return noise * (1 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t + rng.uniform(0, 6.3)))


def _coloured_noise(rng, n, exponent: float) -> np.ndarray:
    """Noise whose power falls as 1/f**exponent: white (0), pink (1), brown (2)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    frequencies = np.arange(len(spectrum))
    frequencies[0] = 1
    noise = np.fft.irfft(spectrum / frequencies ** (exponent / 2), n)
    return noise / (noise.std() + 1e-12)


_MAKERS = {"drone": _drone, "melody": _melody, "beat": _beat, "static": _static}
