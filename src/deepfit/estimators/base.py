"""What the three estimators share: validate -> encode (TableEncoder) -> build a network by name ->
train with the one loop -> keep the module; predicting, saving and scikit-learn's contract.

Subclasses say which network (`_architecture`) and how to train it (`_loop_settings`,
`_callbacks`); `__init__` only stores arguments, fitted state ends in `_`.
"""

from __future__ import annotations

import hashlib
import time
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval
from sklearn.utils._param_validation import InvalidParameterError as _SklearnParameterError
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_random_state, column_or_1d, validate_data

from deepfit import models
from deepfit.data import kinds
from deepfit.data.clips import Clips
from deepfit.data.encoder import TableEncoder
from deepfit.data.splits import grouped_split
from deepfit.errors import InvalidInputError, InvalidParameterError, NotFittedError
from deepfit.estimators import saved
from deepfit.modelfile import write_model
from deepfit.runs.fitting import fit_in_run_folder
from deepfit.training import callbacks as cb
from deepfit.training import distributed
from deepfit.training.checkpoints import start_run
from deepfit.training.devices import resolve_device, training_precision
from deepfit.training.loop import LoopSettings, TensorData, train

PREDICT_CHUNK_ROWS = 65_536


class NetworkClassifier(ClassifierMixin, BaseEstimator):
    """What the three estimators share; subclasses say which network and how to train it."""

    _parameter_constraints: dict = {
        "max_epochs": [Interval(Integral, 1, None, closed="left"), None],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "device": [str],
        "verbose": ["boolean"],
    }

    # ----------------------------------------------------------------- fitting
    def fit(self, X, y, *, callbacks=(), checkpoint=None, resume: bool = False, checkpoint_every: float = 300.0,
            run_dir=None, test_data=None, log=()):
        """Learn from the rows of `X` (array or DataFrame) and their labels `y`.

        `callbacks` are extra `deepfit.training.callbacks.Callback`s, called after the built-in ones
        (a callback may set ``state.stop = True`` to end training after the current epoch).

        `checkpoint` (a path) keeps the whole training state there, written atomically at the end of
        every epoch and every `checkpoint_every` seconds inside one; after a crash, the same call with
        ``resume=True`` continues from it and ends with the weights an uninterrupted run would have.

        `run_dir` (a folder) makes it a run `deepfit runs` finds (`deepfit.runs.fitting`); `test_data`
        ``(X_test, y_test)`` adds test metrics and a report, `log` trackers ("tensorboard", "mlflow").
        """
        if run_dir is not None:
            return fit_in_run_folder(self, X, y, run_dir, test_data=test_data, callbacks=callbacks, resume=resume,
                                     checkpoint_every=checkpoint_every, trackers=log)
        if test_data is not None or log:
            raise InvalidInputError("test_data and log keep a run folder's records; pass run_dir too.")
        self._check_parameters()
        X, y = self._validated_training_data(X, y)
        self.classes_, y_index = _classes_and_indices(y)
        self.encoder_ = self._fit_encoder(X)
        encoded, y_index, groups = self._encoded_training_data(X, y_index)
        self.device_ = distributed.local_device(resolve_device(self.device))
        ranks = distributed.start(self.device_)  # under torchrun: join the others
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        seed = distributed.main_value(seed, self.device_)  # one seed for all ranks: one split, one order
        self._learn_from_data(encoded, y_index, seed)
        self.architecture_ = self._architecture(encoded.shape[1], len(self.classes_))
        data, n_validation = self._tensor_data(encoded, y_index, seed, groups)
        settings = self._loop_settings(len(data.y), seed)
        checkpointing = None
        if checkpoint is not None:
            checkpointing = start_run(checkpoint, checkpoint_every, resume,
                                      self._run_fingerprint(encoded, y_index, seed, n_validation, settings))
        started = time.perf_counter()
        # Our own seed for initialisation and dropout, without touching the caller's global RNG.
        cuda = [self.device_] if self.device_.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed)
            self.module_ = self._initial_module().to(self.device_)
            state = self._train(data, settings, n_validation > 0, list(callbacks), checkpointing)
        self.history_ = state.history
        self.n_iter_ = state.epoch
        self.training_summary_ = {
            "epochs": state.epoch, "stop_reason": state.stop_reason or "reached max_epochs",
            "seconds": round(time.perf_counter() - started, 3), "device": str(self.device_),
            "n_train": len(data.y), "n_validation": n_validation,
            "batch_size": settings.batch_size, "final_learning_rate": state.optimizer.lr, "seed": seed,
            "precision": training_precision(self.device_, settings.precision)}
        if ranks.active:
            self.training_summary_.update(processes=ranks.world, backend=ranks.backend)
        held_out = [row for row in state.history if "val_loss" in row]  # a refit's epochs have none
        if n_validation and held_out:
            best = min(held_out, key=lambda row: row["val_loss"])
            self.training_summary_.update(best_epoch=best["epoch"], val_loss=best["val_loss"],
                                          val_accuracy=best["val_accuracy"])
        return self

    def _fit_encoder(self, X):
        return TableEncoder.fit(X, standardize=self._standardizes_inputs(), scaling=self._numeric_scaling())

    def _encoded_training_data(self, X, y_index: np.ndarray):
        """(encoded rows, their class indices, their groups or None): rows of one group (the windows of
        one recording) stay on one side of the validation split."""
        return self.encoder_.transform(X), y_index, None

    def _encoded_for_prediction(self, X):
        """(encoded rows, the example each row belongs to, or None when rows are examples)."""
        return self.encoder_.transform(X), None

    def _learn_from_data(self, encoded, y_index: np.ndarray, seed: int) -> None:
        """A hook for choices that depend on the encoded training data (none for the linear models)."""

    def _initial_module(self) -> torch.nn.Module:
        return models.build(self.architecture_)

    def _train(self, data: TensorData, settings: LoopSettings, validating: bool, callbacks: list, checkpointing=None):
        return train(self.module_, data, settings, [*self._callbacks(settings, validating), *callbacks], checkpointing)

    def _run_fingerprint(self, encoded, y_index: np.ndarray, seed: int, n_validation: int,
                         settings: LoopSettings) -> str:
        """What makes two runs the same run: the estimator, its parameters, what "auto" made of them
        (another deepfit may make other batches), the data and the seed."""
        digest = hashlib.blake2b(digest_size=16)
        resolved = (settings.max_epochs, settings.batch_size, settings.learning_rate)
        digest.update(f"{type(self).__name__}|{sorted(self.get_params().items())!r}|{resolved}|{seed}|"
                      f"{n_validation}|{getattr(encoded, 'shape', len(encoded))}".encode())
        if isinstance(encoded, np.ndarray):
            step = max(1, len(encoded) // 256)
            digest.update(np.ascontiguousarray(encoded[::step]).tobytes())
        digest.update(np.ascontiguousarray(y_index).tobytes())
        return digest.hexdigest()

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
        try:
            check_classification_targets(y)
        except ValueError as error:
            raise InvalidInputError(f"the labels are not classes ({error}); give one class label per row, all "
                                    "text or all whole numbers.") from None
        return X, y

    def _validated_features(self, X, reset: bool):
        if isinstance(X, Clips):
            raise InvalidInputError(f"{type(self).__name__} takes a table; for sound use DeepClassifier (it learns "
                                    "from spectrograms), or a table of per-clip features "
                                    "(deepfit.data.clip_features.clip_feature_table).")
        if getattr(X, "ndim", 2) > 2:
            raise InvalidInputError(f"{type(self).__name__} takes a table (a 2-D array or DataFrame), got an array "
                                    f"of shape {X.shape}. For pictures use DeepClassifier, or flatten them with "
                                    "X.reshape(len(X), -1).")
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if len(X) == 0:
                raise InvalidInputError("the table has no rows; pass at least one.")
            return X
        try:
            return validate_data(self, X, reset=reset, dtype=[np.float32, np.float64],
                                 ensure_all_finite="allow-nan", ensure_min_samples=1)
        except InvalidInputError:
            raise
        except ValueError as error:  # scikit-learn's own message (checks match it), as deepfit's error type
            raise InvalidInputError(str(error)) from None

    def _tensor_data(self, encoded: np.ndarray, y_index: np.ndarray, seed: int, groups=None):
        """Everything on the device once; a stratified validation split (by group, when there are groups)
        when there is enough data."""
        x = torch.as_tensor(encoded, dtype=None if encoded.dtype == np.uint8 else torch.float32, device=self.device_)
        y = torch.as_tensor(y_index, dtype=torch.long, device=self.device_)
        validation_rows = _validation_rows(y_index, self._validation_fraction(len(y_index)), seed, groups)
        if validation_rows is None:
            return TensorData(x, y), 0
        keep = np.ones(len(y_index), dtype=bool)
        keep[validation_rows] = False
        train_index = torch.as_tensor(np.flatnonzero(keep), device=self.device_)
        val_index = torch.as_tensor(validation_rows, device=self.device_)
        return TensorData(x[train_index], y[train_index], x[val_index], y[val_index]), len(validation_rows)

    def _validation_fraction(self, n_rows: int) -> float:
        return 0.0

    def _standardizes_inputs(self) -> bool:
        return True

    def _numeric_scaling(self) -> str:
        """How a table's numbers are scaled: "standard" (the textbook models) or "robust"."""
        return "standard"

    def _callbacks(self, settings: LoopSettings, validating: bool) -> list:
        return [cb.ProgressBar(type(self).__name__)] if self.verbose and distributed.current().main else []

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
        scores = self._scores(X)  # first: it raises NotFittedError before module_ is looked up
        return _probabilities(self.module_.output, scores)

    def predict(self, X) -> np.ndarray:
        """The predicted label of every row of `X`, from `classes_`."""
        return self._labels(self._scores(X))

    def predict_with_proba(self, X) -> tuple[np.ndarray, np.ndarray | None]:
        """(predict(X), predict_proba(X)) from one pass of the network; None for the probabilities of
        a model without them (the perceptron). What batch prediction and the server use."""
        scores = self._scores(X)
        probabilities = _probabilities(self.module_.output, scores) if self._has_probabilities() else None
        return self._labels(scores), probabilities

    def _labels(self, scores: np.ndarray) -> np.ndarray:
        if scores.shape[1] == 1:
            index = (scores[:, 0] >= self._decision_threshold()).astype(np.intp)
        else:
            index = scores.argmax(axis=1)
        return self.classes_[index]

    def _decision_threshold(self) -> float:
        return 0.0

    def _scores(self, X) -> np.ndarray:
        """The output layer's scores as float64, computed in chunks so memory stays bounded."""
        return self._run_network(X, lambda inputs: self.module_(inputs))

    def _run_network(self, X, network) -> np.ndarray:
        """`network` applied to the encoded rows of `X` in chunks (memory stays bounded), as float64;
        outputs of rows that belong to one example (windows of one clip) are averaged."""
        encoded, example_of_row = self._encoded_inputs(X)
        return pool_rows(self._run_encoded(encoded, network), example_of_row)

    def _encoded_inputs(self, X):
        self._check_fitted()
        if (not _is_plain_float_matrix(X, getattr(self, "n_features_in_", None))
                or hasattr(self, "feature_names_in_")):
            X = self._validated_features(X, reset=False)
        return self._encoded_for_prediction(X)

    def _run_encoded(self, encoded: np.ndarray, network) -> np.ndarray:
        chunk, order = self._chunk_rows(encoded), self._prediction_order(encoded)
        rows = encoded if order is None else encoded[order]
        with torch.inference_mode():
            chunks = [_forward(network, rows[i:i + chunk], self.device_) for i in range(0, max(1, len(rows)), chunk)]
        outputs = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        if order is None:
            return outputs
        restored = np.empty_like(outputs)
        restored[order] = outputs
        return restored

    def _prediction_order(self, encoded: np.ndarray) -> np.ndarray | None:
        """An order of the rows that puts alike ones in one chunk (texts of similar length), or None."""
        return None

    def _chunk_rows(self, encoded: np.ndarray) -> int:
        """Rows the network is given at once when predicting: memory stays bounded however many come."""
        return PREDICT_CHUNK_ROWS if encoded.ndim == 2 else max(16, 2**22 // max(1, encoded[0].size))

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
        return write_model(path, saved.network_header(self, metadata), self.module_.state_dict())

    @classmethod
    def from_model_file(cls, path, header: dict, tensors: dict):
        """The estimator a model file holds (`deepfit.load` calls this; nothing is unpickled)."""
        return saved.restore_network_classifier(cls, kinds.encoder_from_dict, path, header, tensors)


def _forward(network, encoded: np.ndarray, device) -> np.ndarray:
    array = np.ascontiguousarray(encoded, dtype=np.uint8 if encoded.dtype == np.uint8 else np.float32)
    inputs = torch.from_numpy(array if array.flags.writeable else array.copy())  # a picture read by np.asarray(Image)
    if device.type != "cpu":
        inputs = inputs.to(device)
    return network(inputs).float().cpu().numpy().astype(np.float64)


def pool_rows(outputs: np.ndarray, example_of_row) -> np.ndarray:
    """The mean of the rows of each example (`example_of_row` sorted, as encoders give it); as is when None.

    >>> pool_rows(np.array([[1.0], [3.0], [5.0]]), np.array([0, 0, 1])).tolist()
    [[2.0], [5.0]]
    """
    if example_of_row is None:
        return outputs
    starts = np.flatnonzero(np.r_[True, example_of_row[1:] != example_of_row[:-1]])
    counts = np.diff(np.r_[starts, len(example_of_row)])
    return np.add.reduceat(outputs, starts, axis=0) / counts[:, None]


def _is_plain_float_matrix(X, n_features: int) -> bool:
    """A 2-D float array of the right width needs none of scikit-learn's conversions (the fast path)."""
    return (type(X) is np.ndarray and X.ndim == 2 and X.dtype in (np.float32, np.float64)
            and X.shape[1] == n_features and X.shape[0] > 0)


UNANSWERABLE = "holds values too large for the model to compute with (beyond float32's range once scaled)"


def unanswerable_rows(probabilities) -> np.ndarray:
    """Positions whose probabilities came out NaN or infinite: inputs far outside float32's range
    (the network computes in float32), which callers refuse with `UNANSWERABLE`."""
    if probabilities is None:
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(~np.isfinite(probabilities).all(axis=1))


def _probabilities(output: str, scores: np.ndarray) -> np.ndarray:
    """Scores to class probabilities, as `MLP.probabilities` computes them, in NumPy float64."""
    if output == "softmax":
        with np.errstate(invalid="ignore"):  # scores overflowed to infinity give NaN, which callers refuse
            exponentials = np.exp(scores - scores.max(axis=1, keepdims=True))
        return exponentials / exponentials.sum(axis=1, keepdims=True)
    positive = 1 / (1 + np.exp(-scores[:, 0])) if output == "sigmoid" else (scores[:, 0] >= 0).astype(np.float64)
    return np.stack([1 - positive, positive], axis=1)


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


def _validation_rows(y_index: np.ndarray, fraction: float, seed: int, groups=None):
    """Rows held out for early stopping, stratified by class, whole groups at a time; None when too
    few to be useful."""
    if groups is None:
        groups = np.arange(len(y_index))

    held_out = grouped_split(y_index, groups, fraction, seed)
    return None if held_out is None else np.flatnonzero(held_out)
