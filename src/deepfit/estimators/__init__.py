"""The estimators, with scikit-learn's contract: DeepClassifier, and the beginner's Perceptron and
LogisticRegression. All three share one path (base.py) and differ in their network and presets.
SlidingWindowDetector finds objects in pictures with a patch CNN (detector.py)."""

from deepfit.estimators.deep import DeepClassifier
from deepfit.estimators.detector import SlidingWindowDetector
from deepfit.estimators.linear import LogisticRegression, Perceptron

__all__ = ["DeepClassifier", "LogisticRegression", "Perceptron", "SlidingWindowDetector"]
