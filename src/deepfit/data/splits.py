"""Honest splits: held-out rows chosen whole groups at a time (every window of one recording, every
piece of one song on one side), stratified by class where every class has groups to spare."""

from __future__ import annotations

import hashlib
import math
import warnings

import numpy as np

from deepfit.errors import DataWarning

MAX_RECORDINGS_KEPT = 200_000  # recordings a model remembers (hashed) to spot leaks into test data


def grouped_split(labels: np.ndarray, groups: np.ndarray, fraction: float, seed: int,
                  min_per_class: int = 2) -> np.ndarray | None:
    """A boolean mask of the rows held out: about `fraction` of the groups, stratified by the class of
    each group. None when either side would get fewer than `min_per_class` groups per class.

    >>> labels = np.array([0, 0, 0, 0, 1, 1, 1, 1] * 5)
    >>> groups = np.repeat(np.arange(20), 2)          # two windows per recording
    >>> held = grouped_split(labels, groups, 0.2, seed=0)
    >>> held.sum(), len(set(groups[held]) & set(groups[~held]))
    (np.int64(8), 0)
    """
    labels = np.asarray(labels)
    unique_groups, first_row, group_of_row = np.unique(np.asarray(groups), return_index=True, return_inverse=True)
    group_labels = np.unique(labels, return_inverse=True)[1][first_row]
    n_groups, n_classes = len(unique_groups), int(group_labels.max()) + 1
    n_held = math.ceil(fraction * n_groups)
    if fraction <= 0 or n_held < min_per_class * n_classes or n_groups - n_held < min_per_class * n_classes:
        return None
    from sklearn.model_selection import train_test_split

    stratify = group_labels if np.bincount(group_labels).min() >= 2 else None
    _, held_groups = train_test_split(np.arange(n_groups), test_size=n_held, random_state=seed, stratify=stratify)
    held = np.zeros(n_groups, dtype=bool)
    held[held_groups] = True
    return held[group_of_row]


def shared_groups(first, second) -> list[str]:
    """The groups (recordings) found in both `first` and `second`: pieces of one recording on both sides."""
    return sorted(set(map(str, first)) & set(map(str, second)))


def recording_digests(recordings) -> list[str]:
    """Short hashes of the recordings trained on, kept with the model (names never leave the machine
    in the clear); empty when there are too many to keep."""
    unique = sorted({hashlib.sha1(str(r).encode()).hexdigest()[:12] for r in recordings})
    return unique if len(unique) <= MAX_RECORDINGS_KEPT else []


def warn_if_recordings_leak(estimator, recordings, source: str = "") -> int:
    """Warn when examples come from recordings the model was trained on; returns how many do.

    Published genre results are inflated exactly this way: pieces of one song in training and test.
    """
    trained = set(getattr(estimator, "training_recordings_", None) or ())
    if not trained:
        return 0
    digests = [hashlib.sha1(str(r).encode()).hexdigest()[:12] for r in recordings]
    leaked = [str(r) for r, d in zip(recordings, digests) if d in trained]
    if leaked:
        where = f"{source}: " if source else ""
        warnings.warn(f"{where}{len(leaked)} of {len(digests)} examples come from recordings the model was trained "
                      f"on (first: {leaked[0]}); pieces of one recording on both sides make accuracy read higher "
                      "than on new recordings. Test on recordings the model has not heard.", DataWarning,
                      stacklevel=3)
    return len(leaked)
