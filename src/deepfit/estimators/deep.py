"""DeepClassifier: the deep network for tables, with defaults that hold across data sets."""

from __future__ import annotations

import math
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from deepfit.estimators.base import _NetworkClassifier
from deepfit.models.mlp import RESIDUAL_FROM
from deepfit.training import callbacks as cb
from deepfit.training.loop import LoopSettings

AUTO_STEPS = 3000


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
