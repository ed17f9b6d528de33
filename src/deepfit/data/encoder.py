"""The Encoder: every preprocessing choice fitted once on the training data, saved in the model.

A table becomes one float32 matrix: numeric columns scaled (missing values set to the centre, plus
an indicator column where training data had gaps), categorical columns one-hot over their most
frequent values, with one extra slot for missing and unseen values.

Numbers are scaled one of two ways. ``standard``: (x - mean) / standard deviation, the textbook
choice the linear models keep. ``robust`` (the deep network's default): (x - median) / interquartile
range, then a smooth clip, z / sqrt(1 + (z / 3)^2), which leaves the bulk of a column as it is but
bends outliers and heavy tails towards +-3 (as RealMLP does, Holzmueller et al. 2024): one income of
1e9 or a sensor glitch no longer squeezes every other row of its column into a sliver near 0.

The same fitted state transforms training, prediction, serving and export inputs, so they cannot
drift apart.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from deepfit.errors import DataWarning, InvalidInputError

MAX_CATEGORIES = 64
SMOOTH_CLIP = 3.0  # robust scaling bends values beyond about this many interquartile ranges
SCALINGS = ("standard", "robust")
# A text column with a few non-numbers among mostly numbers is a typo, not a category.
NUMERIC_SHARE_FOR_TYPO = 0.9


@dataclass
class NumericColumn:
    name: str | int
    mean: float
    scale: float
    missing_indicator: bool
    type: str = "numeric"
    clip: float = 0.0  # the smooth clip's radius after scaling; 0: none (standard scaling, older model files)


@dataclass
class CategoricalColumn:
    name: str | int
    categories: list[str]
    type: str = "categorical"


@dataclass
class TableEncoder:
    """Turns a DataFrame or a numeric array into the float32 matrix the network sees.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"size": [1.0, 3.0], "colour": ["red", "blue"]})
    >>> encoder = TableEncoder.fit(frame)
    >>> encoder.transform(frame).round(2).tolist()
    [[-1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]]
    """

    columns: list = field(default_factory=list)
    from_frame: bool = True
    kind = "table"  # what `deepfit.load` dispatches on (pictures: "image")

    # ----------------------------------------------------------------- fitting
    @classmethod
    def fit(cls, X, *, standardize: bool = True, scaling: str = "standard") -> TableEncoder:
        """Learn the encoding from training data; `scaling` is "standard" or "robust" (module docstring);
        `standardize=False` keeps numbers as they are."""
        if scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {SCALINGS}, got {scaling!r}")
        scaling = scaling if standardize else None
        if isinstance(X, pd.DataFrame):
            columns = [_fit_column(name, X[name], scaling) for name in X.columns]
            return cls(columns=columns, from_frame=True)
        values = np.asarray(X, dtype=np.float64)
        columns = [_fit_numeric(index, values[:, index], scaling) for index in range(values.shape[1])]
        return cls(columns=columns, from_frame=False)

    @property
    def n_features_out(self) -> int:
        numeric = sum(1 + c.missing_indicator for c in self.columns if c.type == "numeric")
        return numeric + sum(len(c.categories) + 1 for c in self.columns if c.type == "categorical")

    @property
    def feature_names(self) -> list:
        return [c.name for c in self.columns]

    # ----------------------------------------------------------- transforming
    def transform(self, X) -> np.ndarray:
        """Encode `X`; a DataFrame is matched by column name, an array by position."""
        if isinstance(X, pd.DataFrame):
            return self._transform_frame(X)
        return self._transform_array(np.asarray(X, dtype=np.float64))

    def _transform_array(self, values: np.ndarray) -> np.ndarray:
        """Rows of numbers in training order, standardised in float64 (a column around 1e8 keeps its
        detail) and returned as float32, as the per-column path computes them."""
        if any(c.type != "numeric" for c in self.columns):
            raise InvalidInputError("this model was trained on a table with text columns; "
                                    "pass a DataFrame with the same columns, not an array.")
        mean, scale, clip, indicator_columns = self.numeric_arrays()
        encoded = smooth_clip((values - mean) / scale, clip).astype(np.float32)
        if np.isfinite(encoded.sum()):  # the common case, checked in one pass: nothing missing
            return encoded if not indicator_columns.size else np.concatenate(
                [encoded, np.zeros((len(values), indicator_columns.size), dtype=np.float32)], axis=1)
        _refuse_infinite(values, self.feature_names)
        if indicator_columns.size:
            missing = np.isnan(values[:, indicator_columns]).astype(np.float32)
            encoded = np.concatenate([encoded, missing], axis=1)
        return np.nan_to_num(encoded, nan=0.0, copy=False)

    def _transform_frame(self, frame: pd.DataFrame) -> np.ndarray:
        missing = [c.name for c in self.columns if c.name not in frame.columns]
        if missing:
            shown = ", ".join(repr(name) for name in missing[:5])
            raise InvalidInputError(
                f"column {shown} {'was' if len(missing) == 1 else 'were'} in the training data but "
                f"{'is' if len(missing) == 1 else 'are'} missing here. Add the column, with the same "
                "name as in training.")
        if all(c.type == "numeric" for c in self.columns):
            numbers = frame[[c.name for c in self.columns]]
            if all(dtype.kind in "iuf" for dtype in numbers.dtypes):  # one vectorised pass, not one per column
                return self._transform_array(numbers.to_numpy(dtype=np.float64, na_value=np.nan))
        numeric, indicators, categorical = [], [], []
        for column in self.columns:
            series = frame[column.name]
            if column.type == "categorical":
                categorical.append(_one_hot(series, column.categories))
                continue
            values = _numeric_values(series, column.name)
            numeric.append(smooth_clip((values - column.mean) / column.scale, column.clip or np.inf)[:, None])
            if column.missing_indicator:
                indicators.append(np.isnan(values)[:, None])
        blocks = numeric + indicators + categorical  # the layout _transform_array makes too
        if not blocks:
            return np.zeros((len(frame), 0), dtype=np.float32)
        with np.errstate(over="ignore"):  # beyond float32 becomes infinity, which prediction refuses by row
            encoded = np.concatenate([np.asarray(b, dtype=np.float32) for b in blocks], axis=1)
        return np.nan_to_num(encoded, nan=0.0, copy=False)

    def numeric_arrays(self):
        """(centre, scale, clip radius (inf: none), positions of the columns with a missing-value
        indicator) of an all-numeric table, as arrays: what export builds its graph from."""
        cached = getattr(self, "_cached_numeric", None)
        if cached is None:
            mean = np.array([c.mean for c in self.columns], dtype=np.float64)
            scale = np.array([c.scale for c in self.columns], dtype=np.float64)
            clip = np.array([c.clip or np.inf for c in self.columns], dtype=np.float64)
            indicator_columns = np.array([i for i, c in enumerate(self.columns) if c.missing_indicator],
                                         dtype=np.intp)
            cached = self._cached_numeric = (mean, scale, clip, indicator_columns)
        return cached

    # ---------------------------------------------------------- serialising
    def to_dict(self) -> dict:
        return {"kind": "table", "from_frame": self.from_frame,
                "columns": [asdict(column) for column in self.columns]}

    @classmethod
    def from_dict(cls, data: dict) -> TableEncoder:
        kinds = {"numeric": NumericColumn, "categorical": CategoricalColumn}
        columns = [kinds[entry["type"]](**entry) for entry in data["columns"]]
        return cls(columns=columns, from_frame=bool(data["from_frame"]))


def smooth_clip(scaled: np.ndarray, radius) -> np.ndarray:
    """z / sqrt(1 + (z / radius)^2): about z near 0, bending towards +-radius far out (radius inf: z).

    >>> smooth_clip(np.array([0.0, 1.0, 1e9]), 3.0).round(3).tolist()
    [0.0, 0.949, 3.0]
    """
    radius = np.broadcast_to(np.asarray(radius, dtype=np.float64), np.shape(scaled)[-1:] or ())
    finite = np.isfinite(radius)
    if not finite.any():
        return scaled
    bounded = np.where(finite, radius, 1.0)
    ratio = np.clip(scaled / bounded, -1e6, 1e6)  # far enough out to be +-radius, and no overflow squaring it
    return np.where(finite, bounded * ratio / np.sqrt(1 + ratio * ratio), scaled)


def _fit_column(name, series: pd.Series, scaling: str | None):
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        _refuse_infinite(values[:, None], [name])
        return _fit_numeric(name, values, scaling)
    if pd.api.types.is_datetime64_any_dtype(series):
        raise InvalidInputError(
            f"column {name!r} holds dates, which deepfit does not encode yet. Convert it to numbers "
            "(e.g. day of year, weekday) or drop it.")
    present = series.dropna()
    as_numbers = pd.to_numeric(present, errors="coerce")
    not_numbers = as_numbers.isna().to_numpy()
    if len(present) and not not_numbers.any():
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        return _fit_numeric(name, values, scaling)
    if len(present) and 1 - not_numbers.mean() >= NUMERIC_SHARE_FOR_TYPO:
        raise InvalidInputError(
            f"column {name!r}, row {_row_number(series, present.index[np.argmax(not_numbers)])}: "
            f"{present[not_numbers].iloc[0]!r} is not a number, "
            "but the other values in that column are. Fix the value, or leave it empty for missing.")
    if len(present) and not not_numbers.all():
        warnings.warn(f"column {name!r} mixes numbers and text; treating it as categorical.",
                      DataWarning, stacklevel=4)
    counts = present.astype(str).value_counts(sort=True)
    categories = sorted(counts.index[:MAX_CATEGORIES].tolist())
    return CategoricalColumn(name=_json_name(name), categories=categories)


def _fit_numeric(name, values: np.ndarray, scaling: str | None) -> NumericColumn:
    """A numeric column's centre and scale: mean and standard deviation (standard), median and
    interquartile range (robust; half the range where the quartiles coincide), or 0 and 1 (None)."""
    present = values[~np.isnan(values)]
    missing = bool(present.size < values.size)
    if not present.size or scaling is None:
        return NumericColumn(name=_json_name(name), mean=0.0, scale=1.0, missing_indicator=missing)
    if scaling == "standard":
        centre, spread, clip = float(present.mean()), float(present.std()), 0.0
    else:
        low, centre, high = np.quantile(present, [0.25, 0.5, 0.75])
        spread = high - low if high - low > 1e-12 else (present.max() - present.min()) / 2
        centre, spread, clip = float(centre), float(spread), SMOOTH_CLIP
    return NumericColumn(name=_json_name(name), mean=centre, scale=spread if spread > 1e-12 else 1.0,
                         missing_indicator=missing, clip=clip)


def _numeric_values(series: pd.Series, name) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(values) & series.notna().to_numpy()
        if bad.any():
            row = int(np.argmax(bad))
            raise InvalidInputError(
                f"column {name!r}, row {_row_number(series, series.index[row])}: {series.iloc[row]!r} is not "
                "a number, but the model "
                "was trained with numbers in this column. Fix the value, or leave it empty for missing.")
    _refuse_infinite(values[:, None], [name])
    return values


def _one_hot(series: pd.Series, categories: list[str]) -> np.ndarray:
    codes = pd.Index(categories).get_indexer(series.astype(str)).astype(np.intp)
    codes[(codes < 0) | series.isna().to_numpy()] = len(categories)  # missing and unseen share the last slot
    encoded = np.zeros((len(series), len(categories) + 1), dtype=np.float32)
    encoded[np.arange(len(series)), codes] = 1.0
    return encoded


def _refuse_infinite(values: np.ndarray, names) -> None:
    infinite = np.isinf(values)
    if infinite.any():
        row, column = np.argwhere(infinite)[0]
        raise InvalidInputError(
            f"column {names[column]!r}, row {row + 1} is infinite. Replace it with a finite number, "
            "or leave it empty for missing.")


def _row_number(series: pd.Series, label) -> int:
    """The 1-based row a person would look for: the index label of a default integer index (which
    survives taking a subset of rows), else the position."""
    if pd.api.types.is_integer_dtype(series.index):
        return int(label) + 1
    return int(series.index.get_loc(label)) + 1


def _json_name(name):
    return name if isinstance(name, (str, int)) and not isinstance(name, bool) else str(name)
