"""deepfit's default table network against the strongest default learners, on the 13 real tables of the
development suite (../shared/datasets), under one protocol.

    benchmarks/.venv/bin/python benchmarks/compare_tables_suite.py               # every model, every table
    benchmarks/.venv/bin/python benchmarks/compare_tables_suite.py --models deepfit --tables banknote
    benchmarks/.venv/bin/python benchmarks/compare_tables_suite.py --ablation     # deepfit, ingredients removed
    benchmarks/.venv/bin/python benchmarks/compare_tables_suite.py --models deepfit --train-rows 1200 \
        --results /tmp/rows.json      # each training split cut to 1,200 rows: learning at a given size
    benchmarks/.venv/bin/python benchmarks/compare_tables_suite.py --suite heldout  # tables no default saw
    benchmarks/.venv/bin/python benchmarks/compare_tables_suite.py --suite fresh    # and a second such set

`--suite heldout` runs the same protocol on 15 other real tables (benchmarks/heldout.py), kept out of
every choice of a default: they say whether the defaults carry over to tables they were not chosen on.
`--suite fresh` runs 8 more (the same file's FRESH), added when the first set had been looked at.

Protocol: 5 stratified 80/20 splits (seeds 0-4); every model with its defaults (random_state set to the
split's seed where it has one); accuracy on the held-out fifth, and the wall time of `fit` alone. Each
(model, table) runs in a fresh subprocess, so no model inherits another's imports or threads. A fit that
runs past its time budget ends its model on that table: the splits already done are kept, and the table
says the model ran out of budget, never drops it silently.

Results are merged into benchmarks/results/tables-suite.json (one entry per model and table), so a run of
one model updates only that model's rows; the table printed at the end covers every model in the file.
Run it alone on the machine: every fit is timed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from heldout import FRESH, HELDOUT, load_heldout  # benchmarks/heldout.py
from heldout import TABLES as HELD_OUT_TABLES  # both held-out sets
from suite import (  # benchmarks/suite.py
    ablation_report,
    cell,
    planned_runs,
    record,
    run_worker,
    summarise,
    variants_report,
)

HERE = Path(__file__).resolve().parent
DATASETS = HERE.parent.parent / "shared" / "datasets"
RESULTS = HERE / "results" / "tables-suite.json"
HELDOUT_RESULTS = HERE / "results" / "tables-heldout.json"
TABLES = ["wine_quality", "bank_marketing", "image_segment", "magic_gamma", "car_evaluation", "banknote",
          "heart_cleveland", "spambase", "mushroom", "horse_colic", "german_credit", "nursery", "phoneme"]
SUITES = {"dev": TABLES, "heldout": list(HELDOUT), "fresh": list(FRESH)}
SUITE_RESULTS = {"dev": RESULTS, "heldout": HELDOUT_RESULTS, "fresh": HERE / "results" / "tables-fresh.json"}
MODELS = ["deepfit", "hgb", "lightgbm", "mlp", "logreg", "realmlp", "tabm"]
BUDGET = {"realmlp": 300.0, "tabm": 60.0}  # seconds per fit; others get DEFAULT_BUDGET
DEFAULT_BUDGET = 300.0
# Each deepfit ingredient switched off in turn (parameters of DeepClassifier).
ABLATION = {
    "standard scaling (mean/std), no clip": {"numeric_scaling": "standard"},
    "no periodic embeddings of the numbers": {"numeric_embedding": "none"},
    "float32 instead of bfloat16 mixed precision": {"precision": "float32"},
    "no label smoothing": {"label_smoothing": 0.0},
    "one MLP instead of an ensemble of 8": {"ensemble_size": 1},
    "no early stopping on small tables": {"early_stopping": False},
    "early stopping on every table": {"early_stopping": True},
}


# ------------------------------------------------------------------ worker
def load_table(name: str):
    if name in HELD_OUT_TABLES:
        return load_heldout(name)
    sys.path.insert(0, str(DATASETS))
    import load  # the suite's own loaders

    X, y, _ = load.DATASETS[name]()
    if name == "image_segment":
        X = X.drop(columns=["split"])  # which file a row came from, not a feature
    return X, y


def make_model(name: str, seed: int, params: dict, X):
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if name.startswith("deepfit"):
        import deepfit

        return deepfit.DeepClassifier(random_state=seed, **params)
    if name == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(random_state=seed)
    if name == "lightgbm":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(random_state=seed, verbose=-1)
    if name == "realmlp":
        from pytabkit import RealMLP_TD_Classifier

        return RealMLP_TD_Classifier(random_state=seed)
    if name == "tabm":
        from pytabkit import TabM_D_Classifier

        return TabM_D_Classifier(random_state=seed)
    numeric = [c for c in X.columns if X[c].dtype.kind in "iufb"]
    categorical = [c for c in X.columns if c not in numeric]
    encode = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), numeric),
        (make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), categorical))
    if name == "mlp":
        from sklearn.neural_network import MLPClassifier

        return make_pipeline(encode, MLPClassifier(random_state=seed))
    if name == "logreg":
        from sklearn.linear_model import LogisticRegression

        return make_pipeline(encode, LogisticRegression(max_iter=1000))
    raise SystemExit(f"unknown model {name!r}; known: {MODELS}")


def as_categories(X):
    """Text columns as pandas categories: how gradient boosting and pytabkit take categorical columns."""
    X = X.copy()
    for column in X.columns:
        if X[column].dtype.kind not in "iufb":
            X[column] = X[column].astype("category")
    return X


def fill_numbers(X_train, X_test):
    """Missing numbers set to the training rows' median (of 0 where a column has none)."""
    numeric = [c for c in X_train.columns if X_train[c].dtype.kind in "iufb"]
    medians = X_train[numeric].median().fillna(0)
    return X_train.fillna(medians), X_test.fillna(medians)


def worker(model: str, table: str, seeds: list[int], params: dict, train_rows: int) -> None:
    import warnings

    import numpy as np
    from sklearn.model_selection import StratifiedShuffleSplit

    warnings.filterwarnings("ignore")
    X, y = load_table(table)
    if model in ("hgb", "lightgbm", "realmlp", "tabm"):
        X = as_categories(X)
    if model == "lightgbm":  # it refuses names with JSON's special characters (spambase's "char_freq_;")
        X.columns = [f"column_{index}" for index in range(X.shape[1])]
    for seed in seeds:
        train, test = next(StratifiedShuffleSplit(n_splits=1, test_size=0.2, random_state=seed).split(X, y))
        if 0 < train_rows < len(train):  # a stratified share of the training fifths; the test fifth stays whole
            kept, _ = next(StratifiedShuffleSplit(n_splits=1, train_size=train_rows, random_state=seed)
                           .split(train, y[train]))
            train = train[kept]
        X_train, X_test = X.iloc[train], X.iloc[test]
        if model in ("realmlp", "tabm"):  # pytabkit refuses missing numbers: the training medians, as a user would
            X_train, X_test = fill_numbers(X_train, X_test)
        estimator = make_model(model, seed, params, X)
        started = time.perf_counter()
        estimator.fit(X_train, y[train])
        seconds = time.perf_counter() - started
        accuracy = float(np.mean(np.asarray(estimator.predict(X_test)).reshape(-1) == y[test]))
        print(json.dumps({"seed": seed, "accuracy": accuracy, "seconds": seconds}), flush=True)


# ------------------------------------------------------------------ parent
def run_model(model: str, table: str, seeds: list[int], params: dict, budget: float, train_rows: int = 0) -> dict:
    """Runs one model on one table's splits in a subprocess; a fit past `budget` seconds ends it."""
    command = [sys.executable, __file__, "--worker", model.split("[")[0], table, json.dumps(seeds), json.dumps(params),
               str(train_rows)]
    return run_worker(command, len(seeds), budget, single_blas_thread=model in ("logreg", "mlp"))


def report(results: dict, models: list[str], tables: list[str]) -> str:
    """The table: accuracy mean ± sd and mean fit time per model and table; deepfit's rank; suite means."""
    lines = ["| table | " + " | ".join(models) + " | deepfit's rank |", "|---" * (len(models) + 2) + "|"]
    ranks = {m: [] for m in models}
    means = {m: [] for m in models}
    for table in tables:
        cells, scores = [], {}
        for model in models:
            entry = results.get(model, {}).get(table)
            cells.append(cell(entry))
            summary = summarise(entry) if entry else None
            if summary is not None:
                scores[model] = summary["mean"]
        order = sorted(scores.values(), reverse=True)
        for model, score in scores.items():
            ranks[model].append(1 + order.index(score))
            means[model].append(score)
        rank = ranks["deepfit"][-1] if "deepfit" in scores else "-"
        lines.append(f"| {table} | " + " | ".join(cells) + f" | {rank} |")
    complete = {m for m in models if len(means[m]) == len(tables)}
    lines.append("| **mean accuracy** | " + " | ".join(
        f"{statistics.mean(means[m]):.4f}" if m in complete else f"({len(means[m])} tables)" for m in models) + " | |")
    lines.append("| **mean rank** | " + " | ".join(
        f"{statistics.mean(ranks[m]):.2f}" if m in complete else "-" for m in models) + " | |")
    lines.append("| **median fit time** | " + " | ".join(
        f"{median_seconds(results, m, tables):.2f} s" if m in complete else "-" for m in models) + " | |")
    return "\n".join(lines)


def median_seconds(results: dict, model: str, tables: list[str]) -> float:
    return statistics.median(summarise(results[model][t])["seconds"] for t in tables)


def targets(results: dict, tables: list[str]) -> list[str]:
    """The issue's targets for deepfit, each said as met or missed with its numbers."""
    def mean_of(model, table):
        summary = summarise(results.get(model, {}).get(table, {}))
        return summary["mean"] if summary else None

    said, near, below_linear = [], 0, []
    for table in tables:
        scores = {m: mean_of(m, table) for m in results if not m.startswith("deepfit[")}
        scores = {m: s for m, s in scores.items() if s is not None}
        if "deepfit" not in scores:
            return ["deepfit has not run on every table"]
        near += scores["deepfit"] >= max(scores.values()) - 0.005
        if "logreg" in scores and scores["deepfit"] < scores["logreg"] - 0.005:
            below_linear.append(f"{table} ({scores['deepfit']:.4f} vs {scores['logreg']:.4f})")
    goal = " (target: 11)" if tables == TABLES else ""
    said.append(f"within 0.5 points of the best model on {near} of {len(tables)} tables{goal}")
    said.append("more than 0.5 points below logistic regression on: " + (", ".join(below_linear) or "none"))
    return said


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--suite", choices=SUITES, default="dev",
                        help="dev: the 13 tables defaults are chosen on; heldout, fresh: 15 and 8 they never saw")
    parser.add_argument("--tables", nargs="+", choices=[*TABLES, *HELD_OUT_TABLES], help="default: the suite's")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--set", nargs="+", default=[], metavar="NAME=VALUE",
                        help="DeepClassifier parameters (JSON values) for a variant, stored as deepfit[NAME=VALUE]")
    parser.add_argument("--ablation", action="store_true", help="deepfit with each ingredient removed in turn")
    parser.add_argument("--results", type=Path, help="default: the suite's file in benchmarks/results")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--train-rows", type=int, default=0, metavar="N",
                        help="cut each training split to N rows (stratified; the test fifth stays whole); "
                             "the results need their own --results file")
    args = parser.parse_args()
    if args.worker:
        model, table, seeds, params, train_rows = args.worker
        return worker(model, table, json.loads(seeds), json.loads(params), int(train_rows))
    if args.train_rows and args.results is None:
        parser.error("--train-rows measures another protocol: give its own --results file")
    tables = SUITES[args.suite]
    args.tables = args.tables or tables
    args.results = args.results or SUITE_RESULTS[args.suite]
    results = json.loads(args.results.read_text()) if args.results.exists() else {}
    runs = planned_runs(args, ABLATION)
    for table in args.tables:
        for model, params in runs:  # interleaved: a slow minute of the machine hits every model alike
            entry = run_model(model, table, args.seeds, params, BUDGET.get(model, DEFAULT_BUDGET), args.train_rows)
            record(results, args.results, table, model, entry)
    plain = [m for m in MODELS if m in results]
    if not plain:  # variants only: a --train-rows file
        print(variants_report(results, tables))
        return
    print(report(results, plain, tables))
    for line in targets(results, tables):
        print("-", line)
    if any(m.startswith("deepfit[") for m in results):
        print(ablation_report(results, "tables"))


if __name__ == "__main__":
    main()
