"""The detector's threshold, fitted when it trains: the lowest score at which its boxes are expected to be
right nine times in ten.

Some negative pictures (holding no object) and a tenth of the positive patches are held back from
training. The trained detector scans the held-back pictures (every box it reports there is a false
alarm) and scores the held-back patches (the share it would find: its recall), each moved by up to
half the scan's stride and scaled by up to half a pyramid step, as an object in a picture meets the
nearest window of the scan. Taking one object for
each picture the size of a negative one, the precision at a threshold t is

    recall(t) / (recall(t) + false alarms per picture(t))

and the threshold is the lowest t at which that reaches `TARGET_PRECISION`, or the most precise t when
none does, between 0.5 and 0.99: it only ever raises the threshold above the old fixed 0.5. A few
held-back pictures with no false alarm above 0.2 say little, and the false boxes on parts of an object
or at the wrong scale beside it, which a negative picture cannot show, were the commonest (a fitted
0.2 on the tests' scenes gave precision 0.61).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

TARGET_PRECISION = 0.9
LOWEST, HIGHEST = 0.5, 0.99


@dataclass
class FittedThreshold:
    value: float
    precision: float                 # estimated, as above
    recall: float                    # of the held-back positive patches
    false_alarms_per_picture: float  # on the held-back negative pictures
    held_back_positives: int
    held_back_negatives: int

    def to_dict(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def fit_threshold(positive_scores: np.ndarray, false_alarm_scores: np.ndarray, n_pictures: int,
                  target: float = TARGET_PRECISION) -> FittedThreshold:
    """The lowest threshold whose estimated precision reaches `target`.

    >>> round(fit_threshold(np.array([0.9, 0.8, 0.7, 0.3]), np.array([0.6, 0.4, 0.35, 0.2]), 2).value, 3)
    0.65
    """
    positives, alarms = np.sort(positive_scores), np.sort(false_alarm_scores)
    scores = np.unique(np.concatenate([positives, alarms, [LOWEST, 0.5, HIGHEST]]))
    # Halfway between neighbouring scores: a threshold never sits on a score it was fitted to.
    candidates = np.unique(np.clip((scores[1:] + scores[:-1]) / 2, LOWEST, HIGHEST))
    recall = 1 - np.searchsorted(positives, candidates, side="left") / max(1, len(positives))
    per_picture = (len(alarms) - np.searchsorted(alarms, candidates, side="left")) / max(1, n_pictures)
    found = recall + per_picture
    precision = np.divide(recall, found, out=np.ones_like(found), where=found > 0)
    reaching = np.flatnonzero(precision >= target)
    best = int(reaching[0]) if len(reaching) else int(np.argmax(precision))
    return FittedThreshold(float(candidates[best]), float(precision[best]), float(recall[best]),
                           float(per_picture[best]), len(positives), n_pictures)


def held_back(labels: np.ndarray, n_negatives: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions of the positive patches to hold back: a tenth of each class, none of a class of fewer
    than 10; positions of the negative pictures: a fifth, at least one when there are two or more).

    >>> patches, pictures = held_back(np.array(["face"] * 20 + ["sign"] * 5), 6, seed=0)
    >>> len(patches), len(pictures)
    (2, 1)
    """
    rng = np.random.default_rng(seed)
    patches = [rng.permutation(np.flatnonzero(labels == label))[:np.sum(labels == label) // 10]
               for label in np.unique(labels)]
    pictures = rng.permutation(n_negatives)[:max(1, n_negatives // 5)] if n_negatives >= 2 else np.zeros(0, int)
    return np.sort(np.concatenate(patches)).astype(np.intp), np.sort(pictures).astype(np.intp)
