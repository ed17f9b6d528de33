"""What `check` compares to find copies: each kind's view of its examples (`Kind.near_copy_view`).

A view holds an exact key per example (a hash of its bytes), vectors whose closeness makes two
examples near copies, and features for the cross-validated model that looks for mislabels. Pictures
are seen as small grey thumbnails, sound as coarse spectrograms, table rows as their standardised
encoding (`rows_view`, below, which also lines a test table up with the training table).
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field

import numpy as np

from deepfit.data import similarity
from deepfit.errors import InvalidInputError
from deepfit.json_values import plain

TABLE_TOLERANCE = 0.01  # rows within 1% of a standard deviation in every column are near copies


@dataclass
class NearCopyView:
    """Exact keys, near-copy vectors and model features of a set of examples."""

    source: object                  # the kind that made it: views of two kinds are never compared
    keys: np.ndarray
    vectors: np.ndarray | None      # unit vectors (pictures, sound) or standardised rows (tables)
    features: np.ndarray | None
    shape: tuple = ()
    encoder: object = None          # fitted on the training set; a test set is encoded with it
    similarity: float | None = None  # near copies correlate at least this much (None: rows close in every column)
    similar_what: str = ""           # what is correlated, for the message
    columns: list | None = None      # the table columns the encoder takes
    dtypes: object = None            # every training column and its type (tables)
    empty_columns: list = field(default_factory=list)     # columns with no value (tables), left out
    constant_columns: dict = field(default_factory=dict)  # columns with one value in every row, and it, left out

    @property
    def near_rule(self) -> str:
        if self.similarity is None:
            return ("every column within 1% of its standard deviation, found by rounding, so a few such pairs can "
                    "be missed")
        return f"{self.similar_what} correlate at least {self.similarity}"

    def comparable(self, other: NearCopyView) -> bool:
        return self.source is other.source and self.shape == other.shape

    def near_pairs(self, other: NearCopyView | None = None) -> np.ndarray:
        """Pairs of near copies: within this set, or (this set's example, `other`'s) across two."""
        if self.vectors is None or (other is not None and (other.vectors is None or
                                                           other.vectors.shape[1] != self.vectors.shape[1])):
            return np.empty((0, 2), dtype=int)
        if self.similarity is None:  # rows: close in every column
            pairs = similarity.close_rows(self.vectors if other is None else other.vectors, TABLE_TOLERANCE,
                                          None if other is None else self.vectors)
            return pairs if other is None else pairs[:, ::-1]  # (training row, test row)
        return similarity.similar_pairs(self.vectors, self.similarity, None if other is None else other.vectors)


def rows_view(source, X, like: NearCopyView | None = None) -> NearCopyView:
    """A table's view: its rows standardised, columns with no value or one value left out; a test
    table (`like`: the training table's view) encoded as the training table was."""
    import pandas as pd  # as the table's encoder

    from deepfit.data.encoder import TableEncoder

    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))  # columns by position, as the model's
    if like is not None:
        return _test_rows_view(frame, like)
    empty = [str(c) for c in frame.columns if frame[c].isna().all()]
    constant = {str(c): plain(frame[c].iloc[0]) for c in frame.columns
                if str(c) not in empty and frame[c].nunique(dropna=False) <= 1}
    view = NearCopyView(source, similarity.exact_keys(frame), None, None, (frame.shape[1],), dtypes=frame.dtypes,
                        empty_columns=empty, constant_columns=constant)
    kept = frame.drop(columns=[c for c in frame.columns if str(c) in empty or str(c) in constant])
    if kept.shape[1] == 0:
        return view
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # check's findings say it better than the encoder's warnings
        view.encoder = TableEncoder.fit(kept, standardize=True)
        view.vectors = view.features = view.encoder.transform(kept)
    view.columns = list(kept.columns)
    return view


def _test_rows_view(frame, like: NearCopyView) -> NearCopyView:
    """A test table lined up with the training table: by name, or by position when it has the same
    number of unnamed columns; values in the training columns' types, so equal rows hash equal."""
    training = like.dtypes
    if list(frame.columns) != list(training.index) and frame.shape[1] == len(training) and not set(
            map(str, frame.columns)) & set(map(str, training.index)):
        frame = frame.set_axis(training.index, axis=1)
    missing = [str(c) for c in training.index if c not in frame.columns][:3]
    if missing:
        raise InvalidInputError(f"the test table lacks column {', '.join(map(repr, missing))} of the training "
                                "table; give both sets the same columns.")
    frame = frame[list(training.index)]
    with contextlib.suppress(TypeError, ValueError):  # a column that does not convert hashes differently
        frame = frame.astype(training.to_dict())
    view = NearCopyView(like.source, similarity.exact_keys(frame), None, None, (frame.shape[1],))
    if like.encoder is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            view.vectors = view.features = like.encoder.transform(frame[like.columns])
    return view
