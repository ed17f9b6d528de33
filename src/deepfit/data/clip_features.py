"""Per-clip feature tables, as shared for GTZAN (``features_30_sec.csv``): one row per clip of summary
numbers computed with librosa -- the mean and variance over time of chroma, RMS level, spectral
centroid, bandwidth and roll-off, zero-crossing rate, harmony and percussion, tempo, and 20 MFCCs.

Such a table goes through deepfit's table path unchanged (``deepfit train features.csv``), and sets
the shallow, hand-made-features approach beside a CNN that learns from the spectrogram itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from deepfit.data.clips import Clips

N_MFCC = 20


def clip_feature_table(clips: Clips, labels=None) -> pd.DataFrame:
    """One row per clip: ``filename`` (when the clips came from files), ``length`` in samples, the
    GTZAN-style features, and ``label`` when `labels` are given."""
    rows = [_features(waveform, clips.sample_rate) for waveform in clips.waveforms]
    table = pd.DataFrame(rows)
    table.insert(0, "length", [len(w) for w in clips.waveforms])
    if clips.paths is not None:
        table.insert(0, "filename", [p.replace("\\", "/").rsplit("/", 1)[-1] for p in clips.paths])
    if labels is not None:
        table["label"] = np.asarray(labels)
    return table


def _features(waveform: np.ndarray, rate: int) -> dict:
    import librosa

    y = waveform.astype(np.float32)
    if len(y) < 2048:
        y = np.pad(y, (0, 2048 - len(y)))
    hop = 512
    spectrum = np.abs(librosa.stft(y, n_fft=2048, hop_length=hop))
    harmonic, percussive = librosa.effects.hpss(y)
    measures = {
        "chroma_stft": librosa.feature.chroma_stft(S=spectrum ** 2, sr=rate, tuning=0.0),
        "rms": librosa.feature.rms(S=spectrum),
        "spectral_centroid": librosa.feature.spectral_centroid(S=spectrum, sr=rate),
        "spectral_bandwidth": librosa.feature.spectral_bandwidth(S=spectrum, sr=rate),
        "rolloff": librosa.feature.spectral_rolloff(S=spectrum, sr=rate),
        "zero_crossing_rate": librosa.feature.zero_crossing_rate(y, hop_length=hop),
        "harmony": harmonic,
        "perceptr": percussive,
    }
    row = {}
    for name, values in measures.items():
        row[f"{name}_mean"] = float(np.mean(values))
        row[f"{name}_var"] = float(np.var(values))
    onset = librosa.onset.onset_strength(y=y, sr=rate, hop_length=hop)
    row["tempo"] = float(np.atleast_1d(librosa.feature.tempo(onset_envelope=onset, sr=rate, hop_length=hop))[0])
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(librosa.feature.melspectrogram(S=spectrum ** 2, sr=rate)),
                                n_mfcc=N_MFCC)
    for index in range(N_MFCC):
        row[f"mfcc{index + 1}_mean"] = float(mfcc[index].mean())
        row[f"mfcc{index + 1}_var"] = float(mfcc[index].var())
    return row
