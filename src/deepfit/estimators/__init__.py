"""The estimators, with scikit-learn's contract: DeepClassifier, and the beginner's Perceptron and
LogisticRegression. All three share one path (base.py) and differ in their network and presets.
SlidingWindowDetector finds objects in pictures with a patch CNN (detector.py)."""

from deepfit import modelfile
from deepfit.estimators.deep import DeepClassifier
from deepfit.estimators.detector import SlidingWindowDetector
from deepfit.estimators.linear import LogisticRegression, Perceptron

__all__ = ["DeepClassifier", "LogisticRegression", "Perceptron", "SlidingWindowDetector", "load"]

for _estimator in (DeepClassifier, LogisticRegression, Perceptron, SlidingWindowDetector):
    modelfile.register(_estimator.__name__, _estimator.from_model_file)


def load(path):
    """Load an estimator saved with `save` (or `deepfit train`), ready to predict.

    Reading parses JSON and copies tensor bytes; nothing in the file is unpickled or executed.
    The header names the estimator's class, which rebuilds itself from it (`from_model_file`).
    """
    return modelfile.load(path)
