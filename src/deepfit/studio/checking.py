"""`deepfit check` for a studio project: its findings (imbalance, too few examples, duplicates, likely
mislabels, unreadable files), with each example named by its place in the project (class/file) so
the page can show it, and the counts per class."""

from __future__ import annotations

import warnings
from pathlib import Path

from deepfit.data.labelled import read_labelled
from deepfit.evaluation.data_check import check_data


def check_project(project) -> dict:
    source, options = project.training_source()
    target = options[1] if options[:1] == ["--target"] else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        examples = read_labelled(source, target=target, skip_bad=True)
    report = check_data(examples.X, examples.y, names=examples.names, groups=examples.groups,
                        skipped=examples.skipped)
    found = report.to_dict()
    found["text"] = report.format(limit=8)
    return _relative(found, str(Path(project.examples).absolute()) + "/", str(project.examples) + "/")


def _relative(value, *prefixes: str):
    """Every string in `value` that names a file of the project, as class/file."""
    if isinstance(value, str):
        for prefix in prefixes:
            value = value.replace(prefix, "")
        return value
    if isinstance(value, dict):
        return {key: _relative(item, *prefixes) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_relative(item, *prefixes) for item in value]
    return value
