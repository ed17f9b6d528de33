"""deepfit: labelled examples in, a trained deep-learning classifier out.

>>> from deepfit import DeepClassifier, Perceptron, LogisticRegression, load
"""

__version__ = "0.1.0"

import importlib

from deepfit import errors  # noqa: E402

__all__ = ["Clips", "DeepClassifier", "check_data", "LogisticRegression", "Perceptron", "errors", "evaluate", "load",
           "read_audio", "read_images", "SlidingWindowDetector", "__version__"]

# Where each public name lives. They are imported when first used, so the command line, which needs
# none of them to print its help or refuse a missing file, starts in a fraction of a second.
_LOCATIONS = {
    "DeepClassifier": "deepfit.estimators", "LogisticRegression": "deepfit.estimators",
    "Perceptron": "deepfit.estimators", "SlidingWindowDetector": "deepfit.estimators",
    "load": "deepfit.estimators", "read_images": "deepfit.data.images", "Clips": "deepfit.data.clips",
    "read_audio": "deepfit.data.audio", "evaluate": "deepfit.evaluation.report",
    "check_data": "deepfit.evaluation.data_check",
}


def __getattr__(name):
    if name not in _LOCATIONS:
        try:  # a subpackage, as `deepfit.training.callbacks` after `import deepfit`
            return importlib.import_module(f"deepfit.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"deepfit.{name}":
                raise
            raise AttributeError(f"module 'deepfit' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(_LOCATIONS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
