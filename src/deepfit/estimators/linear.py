"""The beginner's linear models: LogisticRegression and the Perceptron, networks with no hidden layer."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval

from deepfit.estimators.base import NetworkClassifier, pool_rows
from deepfit.training import callbacks as cb
from deepfit.training.loop import LoopSettings


class _LinearModel(NetworkClassifier):
    """A network with no hidden layer, whose weights read as scikit-learn's `coef_` and `intercept_`."""

    @property
    def coef_(self) -> np.ndarray:
        """The weights w in the units of the input columns, one row per output unit."""
        weight, _ = self._raw_space_weights()
        return weight

    @property
    def intercept_(self) -> np.ndarray:
        """The bias b in the units of the input columns, one per output unit."""
        _, bias = self._raw_space_weights()
        return bias

    def _raw_space_weights(self):
        # The network sees (x - mean) / scale, so w·that + b = (w / scale)·x + (b - w·(mean / scale)).
        self._check_fitted()
        columns = self.encoder_.columns
        if any(c.type != "numeric" or c.missing_indicator for c in columns):
            raise AttributeError("coef_ is only defined for numeric inputs without missing values.")
        mean = np.array([c.mean for c in columns])
        scale = np.array([c.scale for c in columns])
        weight = self.module_.head.weight.detach().cpu().double().numpy()
        bias = self.module_.head.bias.detach().cpu().double().numpy()
        return weight / scale, bias - (weight * (mean / scale)).sum(axis=1)

    def _scores(self, X) -> np.ndarray:
        """w·x + b for every row, in float64: a row's score is the same whichever rows come with it
        (a float32 matrix product sums in an order that depends on the batch's shape and the CPU; in
        float64 the differences are around 1e-16, far below any tolerance)."""
        encoded, example_of_row = self._encoded_inputs(X)
        if getattr(self.module_, "input", None) is not None:  # an input layer (embeddings): the network's way
            return pool_rows(self._run_encoded(encoded, self.module_), example_of_row)
        weight = self.module_.head.weight.detach().cpu().double().numpy()
        bias = self.module_.head.bias.detach().cpu().double().numpy()
        return pool_rows(np.asarray(encoded, dtype=np.float64) @ weight.T + bias, example_of_row)


class LogisticRegression(_LinearModel):
    """Logistic regression: a weighted sum plus bias through a sigmoid, trained on cross-entropy.

    Two classes: one output unit, p = sigmoid(w·x + b), binary cross-entropy, label 1 when
    p >= `threshold`. More classes: one unit per class and softmax. It is a network with no
    hidden layer, trained by the same loop as DeepClassifier.

    Parameters
    ----------
    threshold : float, default=0.5
        Probability of the second class (``classes_[1]``) at or above which it is predicted.
    max_epochs : int, default=100
    learning_rate : float, default=0.05
    batch_size : int, default=64
    random_state, device, verbose : as in DeepClassifier.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[2, 3], [1, 4], [-1, -3], [-4, -5]]); y = np.array([1, 1, 0, 0])
    >>> LogisticRegression(random_state=0).fit(X, y).predict([[3, 3], [-3, -3]]).tolist()
    [1, 0]
    """

    _parameter_constraints: dict = {
        **NetworkClassifier._parameter_constraints,
        "threshold": [Interval(Real, 0, 1, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, threshold=0.5, max_epochs=100, learning_rate=0.05, batch_size=64,
                 random_state=None, device="auto", verbose=False):
        self.threshold = threshold
        self.max_epochs = max_epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _architecture(self, n_inputs: int, n_classes: int) -> dict:
        return {"name": "logistic", "n_inputs": n_inputs, "n_outputs": 1 if n_classes == 2 else n_classes}

    def _loop_settings(self, n_rows: int, seed: int) -> LoopSettings:
        loss = "binary_cross_entropy" if len(self.classes_) == 2 else "cross_entropy"
        return LoopSettings(max_epochs=self.max_epochs, batch_size=self.batch_size,
                            learning_rate=self.learning_rate, loss=loss, seed=seed,
                            precision="float32")  # the textbook model, in exact arithmetic

    def _callbacks(self, settings: LoopSettings, validating: bool) -> list:
        return [cb.WarmupCosineSchedule(settings.learning_rate, warmup_fraction=0.0)] + \
            super()._callbacks(settings, validating)

    def _decision_threshold(self) -> float:
        return math.log(self.threshold / (1 - self.threshold))  # p >= t  <=>  score >= logit(t)


class Perceptron(_LinearModel):
    """Rosenblatt's perceptron: weighted sum plus bias, step activation, the perceptron rule.

    Predicts 1 when w·x + b >= 0, else 0; after each mistake w <- w + lr (label - prediction) x
    (summed over a batch). Several classes: one weighted sum per class, the largest wins.
    Training stops at the first epoch without a mistake. Step outputs are not probabilities, so
    there is no `predict_proba`; `decision_function` gives the weighted sums.

    Parameters
    ----------
    max_epochs : int, default=100
    learning_rate : float, default=1.0
    batch_size : int, default=32
        Examples whose updates are summed into one step; 1 is the textbook's one-at-a-time rule
        (slower: one Python step per example).
    standardize : bool, default=True
        Learn on standardised inputs (columns on very different scales otherwise leave the rule
        at chance, e.g. on the wine table); False applies the rule to the raw inputs, exactly as
        written by hand. `coef_` and `intercept_` are in the raw inputs' units either way.
    random_state, device, verbose : as in DeepClassifier.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[2, 3], [1, 4], [-1, -3], [-4, -5]]); y = np.array([1, 1, 0, 0])
    >>> Perceptron(random_state=0).fit(X, y).predict(X).tolist()
    [1, 1, 0, 0]
    """

    _parameter_constraints: dict = {
        **NetworkClassifier._parameter_constraints,
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "standardize": ["boolean"],
    }

    def __init__(self, *, max_epochs=100, learning_rate=1.0, batch_size=32, standardize=True,
                 random_state=None, device="auto", verbose=False):
        self.standardize = standardize
        self.max_epochs = max_epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _has_probabilities(self) -> bool:
        return False

    def _standardizes_inputs(self) -> bool:
        return self.standardize

    def _architecture(self, n_inputs: int, n_classes: int) -> dict:
        return {"name": "perceptron", "n_inputs": n_inputs, "n_outputs": 1 if n_classes == 2 else n_classes}

    def _loop_settings(self, n_rows: int, seed: int) -> LoopSettings:
        return LoopSettings(max_epochs=self.max_epochs, batch_size=self.batch_size,
                            learning_rate=self.learning_rate, loss="perceptron", optimizer="sgd", seed=seed,
                            precision="float32")

    def _callbacks(self, settings: LoopSettings, validating: bool) -> list:
        return [cb.StopWhenPerfect()] + super()._callbacks(settings, validating)
