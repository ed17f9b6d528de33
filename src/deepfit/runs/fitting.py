"""Training that leaves a run folder: `recorded` keeps run.json and epochs.jsonl around a fit (the
CLI's and the API's), and `fit_in_run_folder` is ``fit(X, y, run_dir=...)`` of the estimators: the
model, metrics.json, the test accuracy when test rows are given, and a checkpoint to resume from
while it runs. (The HTML report is the evaluation's, a layer above the estimators: `deepfit train`
and the studio write it into their run folders; `deepfit evaluate MODEL DATA --report` writes one
for any model.)"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from deepfit.data import kinds
from deepfit.run_folder import RunFolder
from deepfit.runs.record import RunRecord, fingerprint


@contextmanager
def recorded(folder, estimator, X, y, *, data: str, resume: bool = False, settings: dict | None = None,
             writer: bool = True, name: str | None = None):
    """A RunRecord of `estimator` fitting (X, y), started when training begins (its `epoch_log` goes
    to the fit); an error or Ctrl+C after that marks the run failed or cancelled, with the reason, and
    goes on. `writer` is False on the ranks of torchrun that do not write."""
    given = {**estimator.get_params(deep=False), **(settings or {})}
    record = RunRecord(folder, kind=kinds.for_data(X).name, data=data, settings=given, fingerprint=fingerprint(X, y),
                       name=name, writer=writer, resumed=resume)
    try:
        yield record
    except KeyboardInterrupt:
        record.fail("stopped by the user (Ctrl+C); resume it with --resume", status="cancelled")
        raise
    except BaseException as error:
        record.fail(str(error).splitlines()[0] if str(error) else type(error).__name__)
        raise


def fit_in_run_folder(estimator, X, y, run_dir, *, test_data=None, callbacks=(), resume: bool = False,
                      checkpoint_every: float = 300.0, trackers=()):
    """``estimator.fit(X, y, run_dir=run_dir)``: the run's files in `run_dir` (a finished model there is
    replaced, atomically, once this run has finished); `test_data` (X_test, y_test) adds the test
    accuracy to its metrics."""
    from deepfit.runs.trackers import tracker_callbacks

    run = RunFolder(Path(run_dir))
    run.prepare(overwrite=True, resume=resume)
    if not resume:
        run.forget_checkpoints()
    with recorded(run.path, estimator, X, y, data=_described(X), resume=resume) as record:
        record.followers = tracker_callbacks(trackers, run.path, record.values)
        extra = [record.epoch_log(), *record.followers]
        estimator.fit(X, y, callbacks=[*callbacks, *extra], checkpoint=run.checkpoint, resume=resume,
                      checkpoint_every=checkpoint_every)
        metrics = {"training": estimator.training_summary_, "history": estimator.history_}
        if test_data is not None:
            metrics["test"] = {"accuracy": float(estimator.score(*test_data)), "n_test": len(test_data[1])}
        run.finish(estimator, metrics)
        record.finish(metrics)
    return estimator


def _described(X) -> str:
    shape = getattr(X, "shape", None)
    return f"{type(X).__name__} of shape {tuple(shape)}" if shape is not None else f"{len(X)} examples"
