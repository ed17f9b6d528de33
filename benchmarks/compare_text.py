"""deepfit's default text classifier against the models a user would build today with scikit-learn.

    benchmarks/.venv/bin/python benchmarks/compare_text.py                     # every model, every set
    benchmarks/.venv/bin/python benchmarks/compare_text.py --models deepfit --sets rt_polarity
    benchmarks/.venv/bin/python benchmarks/compare_text.py --set model='"cnn"'  # a deepfit variant
    benchmarks/.venv/bin/python benchmarks/compare_text.py --train-size 400 --results /tmp/n400.json
                                                          # fewer training texts (stratified), same test

Protocol: the official split where one exists (TREC: 5,452 train, 500 test questions), else 5 stratified
80/20 splits (seeds 0-4); every model with its defaults (random_state set to the split's seed); accuracy
on the held-out texts and the wall time of `fit` alone. Each (model, set) runs in a fresh subprocess; a fit
past its time budget ends that model on that set, and the table says so.

Sets (../shared/datasets, read by its load.py):
  trec_qc          question type, 6 classes, 5,952 short questions (official split; 5 seeds of each model)
  rt_polarity      sentiment of 10,662 one-sentence movie-review snippets
  subjectivity     subjective or objective, 10,000 sentences
  review_polarity  sentiment of 2,000 full movie reviews (about 700 words each)

Models:
  deepfit       DeepClassifier() with no arguments, given the list of texts
  tfidf_svm     TfidfVectorizer(word 1-2-grams, sublinear tf) + TfidfVectorizer(char_wb 2-5-grams, sublinear
                tf), side by side, + LinearSVC()
  tfidf_logreg  the same features + LogisticRegression(max_iter=1000)
  nb            CountVectorizer(word 1-2-grams) + MultinomialNB()

Results are merged into benchmarks/results/text.json. Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from suite import ablation_report, cell, planned_runs, record, run_worker, summarise  # benchmarks/suite.py

HERE = Path(__file__).resolve().parent
DATASETS = HERE.parent.parent / "shared" / "datasets"
RESULTS = HERE / "results" / "text.json"
SETS = ["trec_qc", "rt_polarity", "subjectivity", "review_polarity"]
MODELS = ["deepfit", "tfidf_svm", "tfidf_logreg", "nb"]
SHALLOW = ["tfidf_svm", "tfidf_logreg", "nb"]
BUDGET = 300.0  # seconds per fit
TREC_TRAIN = 5452  # the official split: the first 5,452 questions train, the last 500 test
ABLATION: dict = {}


def load_set(name: str):
    """(texts, labels, how to split): "official" or ("fraction", test share)."""
    import numpy as np

    sys.path.insert(0, str(DATASETS))
    import load  # the suite's own loaders

    X, y, _ = getattr(load, name)()
    return np.asarray(X, dtype=object), np.asarray(y), "official" if name == "trec_qc" else ("fraction", 0.2)


def split(y, how, seed: int):
    import numpy as np
    from sklearn.model_selection import StratifiedShuffleSplit

    if how == "official":
        return np.arange(TREC_TRAIN), np.arange(TREC_TRAIN, len(y))
    return next(StratifiedShuffleSplit(n_splits=1, test_size=how[1], random_state=seed).split(y, y))


def make_model(name: str, seed: int, params: dict):
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union

    def tfidf():
        return make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                          TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True))

    if name == "deepfit":
        import deepfit

        return deepfit.DeepClassifier(random_state=seed, **params)
    if name == "tfidf_svm":
        from sklearn.svm import LinearSVC

        return make_pipeline(tfidf(), LinearSVC(random_state=seed))
    if name == "tfidf_logreg":
        from sklearn.linear_model import LogisticRegression

        return make_pipeline(tfidf(), LogisticRegression(max_iter=1000))
    if name == "nb":
        from sklearn.naive_bayes import MultinomialNB

        return make_pipeline(CountVectorizer(ngram_range=(1, 2)), MultinomialNB())
    raise ValueError(name)


def fewer(train, y, size: int, seed: int):
    """`size` of the training rows, stratified by class (all of them when size is 0)."""
    from sklearn.model_selection import train_test_split

    if not size or size >= len(train):
        return train
    return train_test_split(train, train_size=size, stratify=y[train], random_state=seed)[0]


def worker(model: str, name: str, seeds: list[int], params: dict, size: int = 0) -> None:
    import warnings

    import numpy as np

    warnings.filterwarnings("ignore")
    X, y, how = load_set(name)
    for seed in seeds:
        train, test = split(y, how, seed)
        train = fewer(train, y, size, seed)
        estimator = make_model(model, seed, params)
        texts = list(X[train]) if model == "deepfit" else X[train]
        started = time.perf_counter()
        estimator.fit(texts, y[train])
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        predicted = np.asarray(estimator.predict(list(X[test]) if model == "deepfit" else X[test]))
        per_second = len(test) / (time.perf_counter() - started)
        print(json.dumps({"seed": seed, "accuracy": float(np.mean(predicted == y[test])), "seconds": seconds,
                          "predicted_per_second": per_second}), flush=True)


def run_model(model: str, name: str, seeds: list[int], params: dict, size: int = 0) -> dict:
    command = [sys.executable, __file__, "--worker", model.split("[")[0], name, json.dumps(seeds), json.dumps(params),
               str(size)]
    return run_worker(command, len(seeds), BUDGET, single_blas_thread=model != "deepfit" and "[" not in model)


def report(results: dict, models: list[str]) -> str:
    """Accuracy mean ± sd and mean fit time per model and set; deepfit against the best baseline."""
    lines = ["| set | " + " | ".join(models) + " | deepfit vs best baseline |", "|---" * (len(models) + 2) + "|"]
    for name in SETS:
        entries = {m: results.get(m, {}).get(name) for m in models}
        summaries = {m: s for m, s in ((m, summarise(e)) for m, e in entries.items() if e) if s}
        shallow = [m for m in SHALLOW if m in summaries]
        verdict = "-"
        if "deepfit" in summaries and shallow:
            best = max(shallow, key=lambda m: summaries[m]["mean"])
            ours, theirs = summaries["deepfit"], summaries[best]
            gap = ours["mean"] - theirs["mean"]
            sd = max(ours["sd"], theirs["sd"])
            standing = "above" if gap >= 0 else "within 1 sd" if gap >= -sd else "**below**"
            verdict = f"{100 * gap:+.1f} pts vs {best} ({standing})"
        lines.append(f"| {name} | " + " | ".join(cell(entries[m]) for m in models) + f" | {verdict} |")
    return "\n".join(lines)


def prediction_speed(results: dict) -> str:
    rates = [s["predicted_per_second"] for entry in results.get("deepfit", {}).values()
             for s in entry.get("splits", []) if "predicted_per_second" in s]
    return f"deepfit predicts {min(rates):,.0f} to {max(rates):,.0f} texts/s (held-out sets, one batch)" if rates else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--train-size", type=int, default=0, metavar="N",
                        help="train on N texts of each training split (stratified); give --results another file")
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--sets", nargs="+", default=SETS, choices=SETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--set", nargs="+", default=[], metavar="NAME=VALUE",
                        help="DeepClassifier parameters (JSON values) for a variant, stored as deepfit[NAME=VALUE]")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    args.ablation = False
    if args.worker:
        model, name, seeds, params, size = args.worker
        return worker(model, name, json.loads(seeds), json.loads(params), int(size))
    results = json.loads(args.results.read_text()) if args.results.exists() else {}
    for name in args.sets:
        for model, params in planned_runs(args, ABLATION):
            record(results, args.results, name, model, run_model(model, name, args.seeds, params, args.train_size))
    print(report(results, [m for m in MODELS if m in results]))
    print(prediction_speed(results))
    if any(m.startswith("deepfit[") for m in results):
        print(ablation_report(results, "sets"))


if __name__ == "__main__":
    main()
