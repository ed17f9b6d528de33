"""Tables: rows of numeric and categorical columns (a DataFrame or a 2-D array), sent as JSON rows."""

from __future__ import annotations

import numpy as np

from deepfit.data.kinds.base import ExportInput, Kind, TrainingDefaults, Words
from deepfit.data.near_copies import rows_view

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet")


class TableKind(Kind):
    name = "table"
    words = Words(data="a table", files="table rows", one="row")
    suffixes = TABLE_SUFFIXES
    takes_files = False
    served_as = "rows"
    predict_batch = 4096
    columns = True
    models = ("auto", "mlp")
    # Every table holds out a validation split and stops early; one whose held-out loss (or, on 400 held-out rows
    # or more, accuracy) still reaches a new best past a quarter of the schedule is clean enough to want all of
    # it, and is trained again on every row for the whole schedule (deepfit.estimators.refit). On the small,
    # noisy tables of our suite early stopping was 2-8 points more accurate; on the held-out tables
    # (compare_tables_suite.py --suite heldout) it took noisy tables of 4,000-10,000 rows from below logistic
    # regression to level with boosting (credit +3.7, telecom churn +2.7, caravan +1.6 points), the suite's
    # clean ones unchanged. About 3,000 steps let the schedule anneal. Training sets of 1,500 rows or more learn
    # at 4e-3: 0.2 points more accurate on the suite's nine over five splits (phoneme +1.1), where 1e-3 lost
    # 0.5 and 8e-3 lost magic 0.6; smaller ones stay at 2e-3 (4e-3 cost German credit 4 points there).
    # A step of twice the rows costs little more than one (bfloat16 products of a few hundred rows are mostly
    # fixed cost), so tables take batches for 25 steps an epoch (up to 256 rows) in the epochs that 50 would
    # give, at a rate sqrt(2) larger: seven of the suite's tables fit in 0.67-0.89 of the time, accuracy the
    # same (-0.01 points over 45 fits; at the old rate phoneme lost 0.65 on every split). Past 256 rows (2,048
    # through 8 members) a step's time grows with its rows: magic and nursery at 512 saved nothing.
    defaults = TrainingDefaults(label_smoothing=0.1, learning_rate=2e-3, smallest_batch=32, steps=3000,
                                max_epochs=200, early_stopping=True, large_learning_rate=4e-3, large_rate_from=1500,
                                refit_after=0.25, batch_growth=2, grown_batch_limit=256)

    @property
    def encoder_type(self) -> type:
        from deepfit.data.encoder import TableEncoder  # pandas: loaded with a model, not for `deepfit --help`

        return TableEncoder

    def recognises(self, X) -> bool:
        return True  # what is neither pictures nor sound is read as a table (and validated as one)

    def join(self, parts: list):
        if hasattr(parts[0], "iloc"):
            import pandas as pd  # as the encoder

            return pd.concat(parts, ignore_index=True)
        return np.concatenate(parts)

    def fit_encoder(self, X, *, standardize: bool = True, scaling: str = "standard", **_) -> tuple:
        return self.encoder_type.fit(X, standardize=standardize, scaling=scaling), None

    def describe(self, X) -> str:
        return f"{len(X)} rows of {X.shape[1]} columns"

    def shallow_features(self, train, test) -> tuple:
        """Categories one-hot and gaps filled, as deepfit's own Encoder does."""
        encoder = self.encoder_type.fit(train)
        return encoder.transform(train), encoder.transform(test)

    def near_copy_view(self, X, like=None):
        return rows_view(self, X, like)

    def input_description(self, encoder) -> dict:
        return {"rows": {"columns": [
            {"name": c.name, "type": c.type, **({"categories": list(c.categories)} if c.type == "categorical" else {})}
            for c in encoder.columns]}}

    def export_input(self, encoder) -> ExportInput:
        """Numbers only: raw features, scaled inside the graph. With categories: the encoded rows."""
        import torch

        categorical = [c.name for c in encoder.columns if c.type != "numeric"]
        if categorical:
            width = encoder.n_features_out
            notes = (f"Categorical column(s) {', '.join(map(repr, categorical[:5]))} cannot be encoded inside the "
                     f"file: it takes the encoded rows, float32 [N, {width}] (standardised numbers, missing-value "
                     "indicators, one-hot categories), as deepfit's TableEncoder makes them (in the .encoder.json "
                     "beside it).",)
            return ExportInput(torch.zeros((2, width), dtype=torch.float32), "encoded",
                               f"float32 encoded rows [N, {width}]", notes)
        names = encoder.feature_names
        shown = ", ".join(map(str, names[:6])) + (", ..." if len(names) > 6 else "")
        return ExportInput(torch.zeros((2, len(names)), dtype=torch.float32), "features",
                           f"float32 features [N, {len(names)}] in training order ({shown}); NaN for missing; "
                           "scaling is inside", raw=True, scaling=encoder.numeric_arrays())

    def sample_inputs(self, encoder, n: int, rng: np.random.Generator):
        """Rows around the training statistics, some missing, every category and an unseen one."""
        columns = {}
        for column in encoder.columns:
            if column.type == "numeric":
                values = column.mean + column.scale * rng.standard_normal(n)
                if column.missing_indicator:
                    values[rng.random(n) < 0.2] = np.nan
            else:
                choices = list(column.categories) + [None]
                values = np.array([choices[i] for i in rng.integers(0, len(choices), n)], dtype=object)
            columns[column.name] = values
        import pandas as pd  # as the encoder (above)

        frame = pd.DataFrame(columns)
        return frame if encoder.from_frame else frame.to_numpy(dtype=np.float64)

    def exported_inputs(self, encoder, examples, raw: bool):
        if raw:
            values = examples.to_numpy(dtype=np.float32) if hasattr(examples, "to_numpy") else examples
            return np.ascontiguousarray(values, dtype=np.float32)
        return encoder.transform(examples).astype(np.float32)


TABLE = TableKind()
