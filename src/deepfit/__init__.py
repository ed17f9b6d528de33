"""deepfit: labelled examples in, a trained deep-learning classifier out.

>>> from deepfit import DeepClassifier, Perceptron, LogisticRegression, load
"""

__version__ = "0.1.0"

from deepfit.estimators import DeepClassifier, LogisticRegression, Perceptron  # noqa: E402
from deepfit.modelfile import load  # noqa: E402
from deepfit.data.images import read_images  # noqa: E402
from deepfit.data.audio import Clips, read_audio  # noqa: E402
from deepfit.evaluation.report import evaluate  # noqa: E402
from deepfit.evaluation.data_check import check_data  # noqa: E402

from deepfit import errors  # noqa: E402

__all__ = ["Clips", "DeepClassifier", "check_data", "LogisticRegression", "Perceptron", "errors", "evaluate", "load", "read_audio", "read_images", "__version__"]
