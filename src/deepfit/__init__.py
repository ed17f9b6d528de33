"""deepfit: labelled examples in, a trained deep-learning classifier out.

>>> from deepfit import DeepClassifier, Perceptron, LogisticRegression, load
"""

__version__ = "0.1.0"

from deepfit.estimators import DeepClassifier, LogisticRegression, Perceptron, SlidingWindowDetector  # noqa: E402
from deepfit.modelfile import load  # noqa: E402
from deepfit.data.images import read_images  # noqa: E402
from deepfit.data.audio import Clips, read_audio  # noqa: E402

from deepfit import errors  # noqa: E402

__all__ = ["Clips", "DeepClassifier", "check_data", "LogisticRegression", "Perceptron", "errors", "evaluate", "load", "read_audio", "read_images",
           "SlidingWindowDetector", "__version__"]


def __getattr__(name):
    """`deepfit.evaluate` and `deepfit.check_data`, imported when first used (they bring scikit-learn's
    metrics), so `import deepfit` and every command stay quick to start."""
    if name == "evaluate":
        from deepfit.evaluation.report import evaluate

        return evaluate
    if name == "check_data":
        from deepfit.evaluation.data_check import check_data

        return check_data
    raise AttributeError(f"module 'deepfit' has no attribute {name!r}")
