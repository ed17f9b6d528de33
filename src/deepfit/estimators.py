"""The estimators: DeepClassifier, and the beginner's Perceptron and LogisticRegression.

All three follow scikit-learn's contract (keyword-only `__init__` that only stores arguments,
fitted state ending in `_`, `fit`/`predict`/`predict_proba`/`score`, usable in pipelines) and
share one path: validate -> encode (TableEncoder) -> build a network by name -> train with the
one loop -> keep the module. They differ only in their network and training presets.
"""

from __future__ import annotations

import math
import time
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils._param_validation import InvalidParameterError as _SklearnParameterError
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_random_state, column_or_1d, validate_data

from deepfit import models
from deepfit.data.encoder import TableEncoder
from deepfit.errors import InvalidInputError, InvalidParameterError, NotFittedError
from deepfit.modelfile import save_estimator
from deepfit.models.mlp import RESIDUAL_FROM
from deepfit.training import callbacks as cb
from deepfit.training.devices import resolve_device
from deepfit.training.loop import LoopSettings, TensorData, train

PREDICT_CHUNK_ROWS = 65_536
AUTO_STEPS = 3000


class _NetworkClassifier(ClassifierMixin, BaseEstimator):
    """What the three estimators share; subclasses say which network and how to train it."""

    _parameter_constraints: dict = {
        "max_epochs": [Interval(Integral, 1, None, closed="left"), None],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "device": [str],
        "verbose": ["boolean"],
    }

    # ----------------------------------------------------------------- fitting
    def fit(self, X, y):
        """Learn from the rows of `X` (array or DataFrame) and their labels `y`."""
        self._check_parameters()
        X, y = self._validated_training_data(X, y)
        self.classes_, y_index = _classes_and_indices(y)
        self.encoder_ = TableEncoder.fit(X, standardize=self._standardizes_inputs())
        encoded = self.encoder_.transform(X)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        self.device_ = resolve_device(self.device)
        torch.manual_seed(seed)
        self.architecture_ = self._architecture(encoded.shape[1], len(self.classes_))
        self.module_ = models.build(self.architecture_).to(self.device_)
        data, n_validation = self._tensor_data(encoded, y_index, seed)
        settings = self._loop_settings(len(data.y), seed)
        started = time.perf_counter()
        state = train(self.module_, data, settings, self._callbacks(settings, n_validation > 0))
        self.history_ = state.history
        self.n_iter_ = state.epoch
        self.training_summary_ = {
            "epochs": state.epoch, "stop_reason": state.stop_reason or "reached max_epochs",
            "seconds": round(time.perf_counter() - started, 3), "device": str(self.device_),
            "n_train": len(data.y), "n_validation": n_validation,
            "batch_size": settings.batch_size, "final_learning_rate": state.optimizer.lr}
        if n_validation:
            best = min(state.history, key=lambda row: row["val_loss"])
            self.training_summary_.update(best_epoch=best["epoch"], val_loss=best["val_loss"],
                                          val_accuracy=best["val_accuracy"])
        return self

    def _check_parameters(self) -> None:
        try:
            self._validate_params()
        except _SklearnParameterError as error:
            raise InvalidParameterError(str(error)) from None

    def _validated_training_data(self, X, y):
        if y is None:
            raise InvalidInputError(f"{type(self).__name__} requires y to be passed, but the target y is None. "
                                    "Pass the labels as fit(X, y).")
        X = self._validated_features(X, reset=True)
        y = column_or_1d(np.asarray(y) if not hasattr(y, "shape") else y, warn=True)
        if len(y) != len(X):
            raise InvalidInputError(f"X has {len(X)} rows but y has {len(y)} labels; give one label per row.")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise InvalidInputError("Input y contains NaN or infinity; every row needs a label.")
        if y.dtype.kind == "O" and pd.isna(y).any():
            raise InvalidInputError("Input y contains NaN (a missing label); every row needs a label.")
        check_classification_targets(y)
        return X, y

    def _validated_features(self, X, reset: bool):
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if len(X) == 0:
                raise InvalidInputError("the table has no rows; pass at least one.")
            return X
        return validate_data(self, X, reset=reset, dtype=[np.float32, np.float64],
                             ensure_all_finite="allow-nan", ensure_min_samples=1)

    def _tensor_data(self, encoded: np.ndarray, y_index: np.ndarray, seed: int):
        """Everything on the device once; a stratified validation split when there is enough data."""
        x = torch.as_tensor(encoded, dtype=torch.float32, device=self.device_)
        y = torch.as_tensor(y_index, dtype=torch.long, device=self.device_)
        validation_rows = _validation_rows(y_index, self._validation_fraction(), seed)
        if validation_rows is None:
            return TensorData(x, y), 0
        keep = np.ones(len(y_index), dtype=bool)
        keep[validation_rows] = False
        train_index = torch.as_tensor(np.flatnonzero(keep), device=self.device_)
        val_index = torch.as_tensor(validation_rows, device=self.device_)
        return TensorData(x[train_index], y[train_index], x[val_index], y[val_index]), len(validation_rows)

    def _validation_fraction(self) -> float:
        return 0.0

    def _standardizes_inputs(self) -> bool:
        return True

    def _callbacks(self, settings: LoopSettings, validating: bool) -> list:
        return [cb.ProgressBar(type(self).__name__)] if self.verbose else []

    # -------------------------------------------------------------- predicting
    def decision_function(self, X) -> np.ndarray:
        """The output layer's raw scores: one per row for two classes, one per class otherwise."""
        scores = self._scores(X)
        if scores.shape[1] == 1:
            return scores[:, 0]
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def _has_probabilities(self) -> bool:
        return True

    @available_if(lambda self: self._has_probabilities())
    def predict_proba(self, X) -> np.ndarray:
        """Probability of each class (columns in `classes_` order) for every row of `X`."""
        scores = torch.from_numpy(self._scores(X))
        return self.module_.probabilities(scores).numpy()

    def predict(self, X) -> np.ndarray:
        """The predicted label of every row of `X`, from `classes_`."""
        scores = self._scores(X)
        if scores.shape[1] == 1:
            index = (scores[:, 0] >= self._decision_threshold()).astype(np.intp)
        else:
            index = scores.argmax(axis=1)
        return self.classes_[index]

    def _decision_threshold(self) -> float:
        return 0.0

    def _scores(self, X) -> np.ndarray:
        self._check_fitted()
        X = self._validated_features(X, reset=False)
        encoded = self.encoder_.transform(X)
        module = self.module_.eval()
        with torch.inference_mode():
            if len(encoded) <= PREDICT_CHUNK_ROWS:
                return _forward(module, encoded, self.device_)
            return np.concatenate([_forward(module, encoded[i:i + PREDICT_CHUNK_ROWS], self.device_)
                                   for i in range(0, len(encoded), PREDICT_CHUNK_ROWS)])

    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                                 "appropriate arguments before using this estimator.")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # --------------------------------------------------------------- saving
    def save(self, path, *, metadata: dict | None = None):
        """Write the fitted model to one `.deepfit` file (JSON header + safetensors weights), atomically.

        `metadata` (JSON-safe) is kept in the header and comes back as `metadata_` after `deepfit.load`.
        """
        self._check_fitted()
        return save_estimator(self, path, metadata=metadata)


def _forward(module, encoded: np.ndarray, device) -> np.ndarray:
    inputs = torch.from_numpy(np.ascontiguousarray(encoded, dtype=np.float32))
    if device.type != "cpu":
        inputs = inputs.to(device)
    return module(inputs).double().cpu().numpy()


def _classes_and_indices(y: np.ndarray):
    try:
        classes, indices = np.unique(y, return_inverse=True)
    except TypeError:
        raise InvalidInputError("the labels mix types (e.g. numbers and text); make them all one type.") from None
    if len(classes) < 2:
        raise InvalidInputError(
            f"the labels hold only one class ({classes[0]!r}); a classifier needs at least two. "
            "Add examples of another class.")
    return classes, indices


def _validation_rows(y_index: np.ndarray, fraction: float, seed: int):
    """Rows held out for early stopping, stratified by class; None when too few to be useful."""
    n_classes = int(y_index.max()) + 1
    n_validation = math.ceil(fraction * len(y_index))
    if fraction == 0 or n_validation < 2 * n_classes or len(y_index) - n_validation < 2 * n_classes:
        return None
    from sklearn.model_selection import train_test_split

    counts = np.bincount(y_index)
    stratify = y_index if counts.min() >= 2 else None
    _, validation = train_test_split(np.arange(len(y_index)), test_size=n_validation,
                                     random_state=seed, stratify=stratify)
    return np.sort(validation)


class DeepClassifier(_NetworkClassifier):
    """A deep neural network classifier for tables (numeric and categorical columns).

    Input layer -> `hidden_layers` hidden layers of `width` units (a plain ReLU stack when shallow,
    residual blocks with layer normalisation from 4 layers on, so any depth from 0 to 150 and
    beyond trains) -> softmax output. Trained with AdamW and a warm-up then cosine learning-rate
    schedule over the whole run; optionally early stopping on a validation split, restoring the
    best weights.

    Parameters
    ----------
    hidden_layers : int, default=3
        Number of hidden layers; 0 gives (multinomial) logistic regression.
    width : int, default=256
        Units per hidden layer.
    max_epochs : int or None, default=None
        Passes over the training data. None: enough for about 3,000 optimizer steps (10 to 200
        epochs), which is what the tables we tried needed for the schedule to anneal.
    batch_size : int or "auto", default="auto"
        Rows per gradient step; "auto" scales it with the data (32 to 512).
    learning_rate : float, default=2e-3
        Peak learning rate of AdamW.
    early_stopping : bool, default=False
        Hold out `validation_fraction` of the rows, stop when their loss has not improved for
        `patience` epochs, and keep the best weights. Off by default: on the tables we tried,
        the full annealed schedule on all rows was more accurate.
    validation_fraction : float, default=0.1
        Share of the training rows held out for early stopping.
    patience : int, default=15
        Epochs without improvement before stopping.
    dropout : float, default=0.0
        Dropout rate after each hidden layer (costs about 30% of CPU training speed).
    weight_decay : float, default=1e-4
        Decoupled weight decay of AdamW.
    random_state : int, RandomState or None, default=None
        Seed for weight initialisation, splits and shuffling; an int gives identical results.
    device : str, default="auto"
        "auto" (CUDA, then Apple MPS, then CPU), "cpu", "cuda", "cuda:N" or "mps".
    verbose : bool, default=False
        Show a progress bar while training.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = DeepClassifier(max_epochs=20, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **_NetworkClassifier._parameter_constraints,
        "hidden_layers": [Interval(Integral, 0, None, closed="left")],
        "width": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, *, hidden_layers=3, width=256, max_epochs=None, batch_size="auto",
                 learning_rate=2e-3, early_stopping=False, validation_fraction=0.1, patience=15,
                 dropout=0.0, weight_decay=1e-4, random_state=None, device="auto", verbose=False):
        self.hidden_layers = hidden_layers
        self.width = width
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _architecture(self, n_inputs: int, n_classes: int) -> dict:
        return {"name": "mlp", "n_inputs": n_inputs, "n_outputs": n_classes, "hidden_layers": self.hidden_layers,
                "width": self.width, "dropout": self.dropout, "residual": self.hidden_layers >= RESIDUAL_FROM}

    def _validation_fraction(self) -> float:
        return self.validation_fraction if self.early_stopping else 0.0

    def _loop_settings(self, n_rows: int, seed: int) -> LoopSettings:
        batch_size = self.batch_size
        if batch_size == "auto":
            # About 50 steps an epoch on small tables; 512 rows a step (where the CPU is efficient) on big ones.
            batch_size = int(min(512, max(32, 2 ** round(math.log2(max(1, n_rows / 50))))))
        max_epochs = self.max_epochs
        if max_epochs is None:
            # Enough epochs for about 3,000 optimizer steps: what the data sets we tried needed to anneal.
            steps_per_epoch = math.ceil(n_rows / batch_size)
            max_epochs = int(min(200, max(10, round(AUTO_STEPS / steps_per_epoch))))
        return LoopSettings(max_epochs=max_epochs, batch_size=batch_size,
                            learning_rate=self.learning_rate, weight_decay=self.weight_decay, seed=seed)

    def _callbacks(self, settings: LoopSettings, validating: bool) -> list:
        schedule = [cb.WarmupCosineSchedule(settings.learning_rate)]
        stopping = [cb.EarlyStopping(patience=self.patience)] if validating else []
        return schedule + stopping + super()._callbacks(settings, validating)


class _LinearModel(_NetworkClassifier):
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
        **_NetworkClassifier._parameter_constraints,
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
                            learning_rate=self.learning_rate, loss=loss, seed=seed)

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
    random_state, device, verbose : as in DeepClassifier.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[2, 3], [1, 4], [-1, -3], [-4, -5]]); y = np.array([1, 1, 0, 0])
    >>> Perceptron(random_state=0).fit(X, y).predict(X).tolist()
    [1, 1, 0, 0]
    """

    _parameter_constraints: dict = {
        **_NetworkClassifier._parameter_constraints,
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, max_epochs=100, learning_rate=1.0, batch_size=32, random_state=None,
                 device="auto", verbose=False):
        self.max_epochs = max_epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _has_probabilities(self) -> bool:
        return False

    def _standardizes_inputs(self) -> bool:
        return False  # the textbook rule works on the raw inputs, and so do its weights

    def _architecture(self, n_inputs: int, n_classes: int) -> dict:
        return {"name": "perceptron", "n_inputs": n_inputs, "n_outputs": 1 if n_classes == 2 else n_classes}

    def _loop_settings(self, n_rows: int, seed: int) -> LoopSettings:
        return LoopSettings(max_epochs=self.max_epochs, batch_size=self.batch_size,
                            learning_rate=self.learning_rate, loss="perceptron", optimizer="sgd", seed=seed)

    def _callbacks(self, settings: LoopSettings, validating: bool) -> list:
        return [cb.StopWhenPerfect()] + super()._callbacks(settings, validating)
