"""Writing predictions as they come, batch by batch: CSV (a `prediction` column and one
`probability_<class>` column per class) or JSON Lines (`{"label": ..., "probabilities": {...}}`)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from deepfit.json_values import plain


class PredictionWriter:
    """`key` names each input ("path", "row", or None for tables in order); `with_error` adds an
    `error` column, empty for inputs that got a prediction."""

    def __init__(self, handle, fmt: str, classes, *, key: str | None, with_error: bool, probabilities: bool):
        self.handle, self.fmt, self.key, self.with_error = handle, fmt, key, with_error
        self.classes = [plain(c) for c in classes]
        self.probabilities = probabilities
        self.header_written = False

    def write(self, keys, labels, probabilities, errors) -> None:
        if self.fmt == "jsonl":
            self._write_jsonl(keys, labels, probabilities, errors)
        else:
            self._write_csv(keys, labels, probabilities, errors)

    def _write_csv(self, keys, labels, probabilities, errors) -> None:
        columns = {} if self.key is None else {self.key: keys}
        columns["prediction"] = labels
        if self.probabilities:
            block = np.full((len(keys), len(self.classes)), np.nan) if probabilities is None else probabilities
            for index, label in enumerate(self.classes):
                columns[f"probability_{label}"] = np.round(block[:, index], 6)
        if self.with_error:
            columns["error"] = errors if errors is not None else [None] * len(keys)
        pd.DataFrame(columns).to_csv(self.handle, index=False, header=not self.header_written, lineterminator="\n")
        self.header_written = True

    def _write_jsonl(self, keys, labels, probabilities, errors) -> None:
        lines = []
        for i, name in enumerate(keys):
            record = {} if self.key is None else {self.key: name}
            error = None if errors is None else errors[i]
            if error is None:
                record["label"] = plain(labels[i])
                if self.probabilities and probabilities is not None:
                    record["probabilities"] = dict(zip(map(str, self.classes), map(float, probabilities[i])))
            else:
                record.update(label=None, error=error)
            lines.append(json.dumps(record, allow_nan=False))
        self.handle.write("\n".join(lines) + "\n")
