"""DeepClassifier: the deep network for tables, pictures and sound, with defaults that hold across data sets."""

from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions

from deepfit import models
from deepfit.data import kinds
from deepfit.data.splits import recording_digests, warn_if_recordings_leak
from deepfit.errors import InvalidInputError
from deepfit.estimators import schedule
from deepfit.estimators.base import NetworkClassifier, pool_rows
from deepfit.estimators.refit import Refit, RefitPhases, loss_floor
from deepfit.estimators.transfer import TransferPhases, load_body, transfer_source
from deepfit.models.mlp import RESIDUAL_FROM
from deepfit.training import augment as aug
from deepfit.training import callbacks as cb
from deepfit.training.loop import LoopSettings
from deepfit.training.phases import train_phases

# What "auto" means for each kind of input (steps, epochs, learning rate, label smoothing, early
# stopping, augmentation strength, the default network) is the kind's: `deepfit.data.kinds`.
AUTO_ENSEMBLE = 8  # members of a shallow table network
ENSEMBLE_CHUNK_VALUES = 2**19  # hidden activations per chunk when an ensemble predicts (2 MB of float32)
# Picture augmentation (augment="affine"): turns of up to 10 degrees, scalings of up to 10%, shifts of
# up to an eighth of a side.
AFFINE_DEGREES, AFFINE_SCALE, AFFINE_SHIFT = 10.0, 0.1, 0.125


class DeepClassifier(TransformerMixin, NetworkClassifier):
    """A deep neural network classifier for tables (numeric and categorical columns), pictures and sound.

    Pictures -- arrays of shape (N, H, W), (N, H, W, C) or (N, C, H, W), uint8 or float, e.g. from
    `deepfit.read_images` -- get a residual convolutional network sized to the picture (`model="auto"`),
    with batch normalisation and augmentation on the device: random shifts and changes of brightness
    and contrast always, left-right flips only when the classes look alike in a mirror (faces and
    photos, never digits or letters). A small set is seen many times (up to 300 epochs, within a
    budget of pixels through the first stage), at a learning rate of 5e-3, with label smoothing.

    Sound -- `deepfit.Clips` (waveforms and their sample rate), e.g. ``read_audio(folder).clips`` --
    becomes log-mel spectrograms (`deepfit.data.audio_encoder`), cut into windows; the same CNN
    learns from the windows (shifted in time as augmentation), and each clip's prediction pools the
    predictions of its windows. Every window of one recording stays on one side of the validation split.

    Tables: numbers scaled robustly (median and interquartile range, outliers bent back by a smooth
    clip), categories one-hot; input layer -> `hidden_layers` hidden layers of `width` units (a plain
    ReLU stack when shallow, residual blocks with layer normalisation from 4 layers on, so any depth
    from 0 to 150 and beyond trains) -> softmax output. A shallow table network is an ensemble of
    `ensemble_size` such MLPs sharing their hidden layers (`deepfit.models.ensemble`), whose mean
    probability is the answer, and it also sees each number as learned periodic embeddings (cosines
    of it, `deepfit.models.embeddings`). Trained with AdamW, label smoothing and a warm-up then cosine
    learning-rate schedule; a table holds out a tenth of its rows and stops early on their loss, keeping
    the best epoch, or trains again on every row when they show it wants the whole schedule.

    Parameters
    ----------
    hidden_layers : int, default=3
        Number of hidden layers; 0 gives (multinomial) logistic regression.
    width : int, default=256
        Units per hidden layer.
    max_epochs : int or None, default=None
        Passes over the training data. None: the epochs that about 3,000 optimizer steps take at
        about 50 steps an epoch (10 to 200 epochs), which is what the tables we tried needed for the
        schedule to anneal.
    batch_size : int or "auto", default="auto"
        Rows per gradient step; "auto" scales it with the data (32 to 512; 16 to 512 for pictures).
        Tables of about 1,100 to 9,000 rows, with 1-3 hidden layers, take twice those rows a step (up
        to 256), for the same epochs in half the steps: a bfloat16 step of twice the rows costs little
        more.
    learning_rate : float or "auto", default="auto"
        Peak learning rate of AdamW. "auto": 5e-3 for pictures trained from scratch (a small picture
        set needs fewer steps to fit at it); 4e-3 for tables of 1,500 training rows or more with up to
        3 hidden layers (and a table's refit on every row, under `early_stopping`); 2e-3 for smaller tables,
        deeper (residual) networks, sound and transfer learning. Tables' rates grow with the square root
        of their batches' growth (`batch_size`): 5.7e-3 on tables of 1,500 to about 9,000 rows.
    early_stopping : bool or "auto", default="auto"
        Hold out `validation_fraction` of the rows, stop when their loss has not improved for
        `patience` epochs, and keep the weights of the best epoch. "auto": on for tables (on noisy
        tables it was 2-8 points more accurate, and took tables we never tuned on from below logistic
        regression to level with boosting), off for pictures and sound. When a table's held-out loss is
        still falling past a quarter of the schedule (clean, rule-like tables), or, on 400 held-out rows
        or more, its held-out accuracy still rising, it is trained again from a new start on every row
        for the whole schedule at the larger tables' rate; `training_summary_["refit"]` says so. When its
        held-out loss comes within 1e-3 of the least that label smoothing allows (every held-out row
        learned), it stops there and keeps that network; nor is it trained again when, at the end of
        its first phase, every held-out row is answered right at a loss within 5e-3 of that least.
        No refit with `max_epochs` set.
    validation_fraction : float, default=0.1
        Share of the training rows held out for early stopping.
    patience : int, default=15
        Epochs without improvement before stopping.
    dropout : float, default=0.0
        Dropout rate after each hidden layer (costs about 30% of CPU training speed).
    weight_decay : float, default=1e-4
        Decoupled weight decay of AdamW.
    label_smoothing : float or "auto", default="auto"
        Share of each label's probability spread over the other classes in the loss; it keeps the
        network from growing ever more certain of the training rows. "auto": 0.1 for tables and
        pictures, 0 for sound and texts.
    ensemble_size : int or "auto", default="auto"
        Tables: how many MLPs share the hidden layers (TabM-mini); 1 is one plain MLP. "auto": 8 for
        a plain stack of 1 to 3 hidden layers, 1 for deeper (residual) networks and for pictures.
    numeric_scaling : {"robust", "standard"}, default="robust"
        Tables: "robust" centres numbers on the median, divides by the interquartile range and bends
        outliers back smoothly; "standard" is the textbook (x - mean) / standard deviation.
    numeric_embedding : {"auto", "periodic", "none"}, default="auto"
        Tables: "periodic" also gives the network each number as learned cosines of it
        (`deepfit.models.embeddings`), for jagged functions of one column (a price band, a threshold);
        "auto" does so for the shallow table ensemble (1-3 hidden layers), not for deep residual
        networks, which keep their plain inputs.
    model : {"auto", "mlp", "cnn"}, default="auto"
        "auto": a CNN for pictures, an MLP for tables; for texts the bag of words, word pairs and letter
        runs, with convolutions over the words beside it (word order) for 2,000 texts or more of at
        most 100 words on average. "mlp" on pictures flattens them (the beginner's MNIST network);
        "cnn" on texts always reads word order.
    image_size : int, (int, int) or None, default=None
        Resize pictures to this size; None keeps the size they come in.
    augment : {"auto", "none", "shift", "shift+flip", "affine", "affine+flip"}, default="auto"
        Augmentation of training pictures: "shift" moves them by up to an eighth of a side; "affine"
        also turns them by up to 10 degrees and scales them by up to 10%; "+flip" mirrors half of
        them left to right. Both change brightness and contrast by up to 50%. "auto": "shift", with
        flips when the data suggest it. Sound is shifted in time ("auto", "shift") or not at all
        ("none"); "affine" does not apply to it.
    window_seconds : float or None, default=None
        Sound: the length of the windows clips are cut into (shorter clips are padded); None: as
        long as nine training clips in ten, at most 3 s.
    sample_rate : int or None, default=None
        Sound: the rate clips are resampled to before their spectrograms; None: the clips' own
        rate, at most 16 kHz.
    vectors : path or None, default=None
        Texts: a word-vector file of your own in GloVe's or fastText's text format (``.txt``,
        ``.vec``). The word-order network's word embeddings start from its vectors, and the file's
        50,000 most frequent words join the vocabulary, so a word seen only there still has its
        vector. Implies reading word order.
    transfer_from : estimator, path or None, default=None
        Transfer learning: a fitted DeepClassifier, a ``.deepfit`` file, or a torchvision-layout
        ResNet-18/34/50 state_dict (``.pth`` or ``.safetensors``). Every layer but the output head is
        kept; a new head is fitted for these classes on the frozen layers (a twentieth of the epochs,
        at least one), then every layer is fine-tuned. The new data are encoded as the source's were.
    freeze : bool, default=False
        With `transfer_from`: train only the new head; the reused layers stay as they are.
    random_state : int, RandomState or None, default=None
        Seed for weight initialisation, splits and shuffling; an int gives identical results.
    device : str, default="auto"
        "auto" (CUDA, then Apple MPS, then CPU), "cpu", "cuda", "cuda:N" or "mps".
    precision : {"auto", "bfloat16", "float32"}, default="auto"
        Arithmetic of the training steps. "auto": bfloat16 mixed precision (bfloat16 matrix products,
        float32 weights and updates) where the device computes bfloat16 natively -- CUDA GPUs that
        support it, CPUs with AVX512-BF16 or AMX -- and float32 elsewhere. Predictions are always
        computed in float32; `training_summary_["precision"]` says which was used.
    verbose : bool, default=False
        Show a progress bar while training.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = DeepClassifier(random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **NetworkClassifier._parameter_constraints,
        "hidden_layers": [Interval(Integral, 0, None, closed="left")],
        "width": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "ensemble_size": [Interval(Integral, 1, 256, closed="both"), StrOptions({"auto"})],
        "numeric_scaling": [StrOptions({"robust", "standard"})],
        "numeric_embedding": [StrOptions({"auto", "periodic", "none"})],
        "precision": [StrOptions({"auto", "bfloat16", "float32"})],
        "model": [StrOptions({"auto", "mlp", "cnn"})],
        "image_size": [Interval(Integral, 1, 4096, closed="both"), tuple, list, None],
        "augment": [StrOptions({"auto", "none", "shift", "shift+flip", "affine", "affine+flip"})],
        "window_seconds": [Interval(Real, 0, 600, closed="right"), None],
        "sample_rate": [Interval(Integral, 1000, 192_000, closed="both"), None],
        "vectors": [str, os.PathLike, None],
        "transfer_from": "no_validation",
        "freeze": ["boolean"],
    }

    def __init__(self, *, hidden_layers=3, width=256, max_epochs=None, batch_size="auto",
                 learning_rate="auto", early_stopping="auto", validation_fraction=0.1, patience=15,
                 dropout=0.0, weight_decay=1e-4, label_smoothing="auto", ensemble_size="auto",
                 numeric_scaling="robust", numeric_embedding="auto", model="auto", image_size=None, augment="auto",
                 window_seconds=None, sample_rate=None, vectors=None, transfer_from=None, freeze=False,
                 random_state=None, device="auto", precision="auto", verbose=False):
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
        self.label_smoothing = label_smoothing
        self.ensemble_size = ensemble_size
        self.numeric_scaling = numeric_scaling
        self.numeric_embedding = numeric_embedding
        self.model = model
        self.image_size = image_size
        self.augment = augment
        self.window_seconds = window_seconds
        self.sample_rate = sample_rate
        self.vectors = vectors
        self.transfer_from = transfer_from
        self.freeze = freeze
        self.random_state = random_state
        self.device = device
        self.precision = precision
        self.verbose = verbose

    def fit(self, X, y, *, callbacks=(), checkpoint=None, resume: bool = False, checkpoint_every: float = 300.0,
            run_dir=None, test_data=None, log=()):
        self.__dict__.pop("training_recordings_", None)  # set again when the data are sound
        try:
            super().fit(X, y, callbacks=callbacks, checkpoint=checkpoint, resume=resume,
                        checkpoint_every=checkpoint_every, run_dir=run_dir, test_data=test_data, log=log)
            self.training_summary_.update(self.__dict__.get("_refit_summary", {}))
            return self
        finally:  # the transfer source's weights and the fitting statistics are not kept with the model
            for name in ("_source", "_input_statistics", "_training_encoding", "_refit_summary"):
                self.__dict__.pop(name, None)

    fit.__doc__ = NetworkClassifier.fit.__doc__

    # ------------------------------------------------------------------ inputs
    def _validated_features(self, X, reset: bool):
        """Checked examples of `X`, of the kind they are (fit) or of the model's kind (predict)."""
        given = kinds.for_data(X)
        kind = given if reset else self._kind()
        if given is not kind and given is not kinds.TABLE:  # a table's checks below say what else is wrong
            raise InvalidInputError(f"this model takes {kind.words.data}, not {given.words.data}.")
        if reset and self.model not in kind.models:
            needs = "pictures: an array of shape (N, H, W) or (N, H, W, C)" if self.model == "cnn" else "a table"
            raise InvalidInputError(f"model={self.model!r} needs {needs}; for {kind.words.data}, use "
                                    f"{' or '.join(map(repr, kind.models))}.")
        if kind is kinds.TABLE:  # scikit-learn's checks of a table, shared with the linear models
            return super()._validated_features(X, reset)
        if reset:
            for name in ("n_features_in_", "feature_names_in_"):
                self.__dict__.pop(name, None)
        return kind.validate(X, None if reset else self.encoder_)

    def _kind(self) -> kinds.Kind:
        return kinds.of(self.encoder_)

    def _fit_encoder(self, X):
        self._source = transfer_source(self.transfer_from) if self.transfer_from is not None else None
        kind = kinds.for_data(X)
        if self._source is not None and self._source.encoder is not None:
            trained_on = kinds.of(self._source.encoder)
            if trained_on is not kind:
                raise InvalidInputError(f"{self._source.description} was trained on {trained_on.words.data}; "
                                        f"transfer it to data of the same kind, not {kind.words.data}.")
            return self._source.encoder  # the new data are encoded as the source's were
        if self._source is not None and kind is not kinds.PICTURES:  # ImageNet weights: pictures only
            raise InvalidInputError(f"{self._source.description} holds picture weights (ImageNet-style, colour); "
                                    f"they cannot start a network for {kind.words.data}. Transfer from a "
                                    "deepfit model trained on the same kind of data.")
        kind.check_augmentation(self.augment)
        encoder, self._training_encoding = kind.fit_encoder(
            X, image_size=self.image_size, channels=3 if self._source is not None else None,  # ImageNet: colour
            sample_rate=self.sample_rate, window_seconds=self.window_seconds,
            standardize=self._standardizes_inputs(), scaling=self._numeric_scaling(), model=self.model,
            vectors=self.vectors)
        return encoder

    def _encoded_training_data(self, X, y_index):
        """Encoded rows, their classes, and their recordings where rows are windows of recordings."""
        stashed = self.__dict__.pop("_training_encoding", None)  # encoded while fitting the encoder
        rows, example_of_row = stashed if stashed is not None else self._kind().encode(self.encoder_, X)
        groups = self._kind().groups_of(X)
        if groups is not None:
            self.training_recordings_ = recording_digests(groups)
        if example_of_row is None:
            return rows, y_index, groups
        return rows, y_index[example_of_row], None if groups is None else groups[example_of_row]

    def _encoded_for_prediction(self, X):
        return self._kind().encode(self.encoder_, X)

    def _prediction_order(self, encoded: np.ndarray) -> np.ndarray | None:
        return self._kind().prediction_order(encoded)

    def _learn_from_data(self, encoded, y_index, seed) -> None:
        """What the input layer learns from the data (grids: each channel's mean and spread; texts: how
        rare each feature is), and the augmentation to use."""
        self.augmentation_ = "none"
        self._input_statistics = self._kind().input_statistics(encoded, seed)
        if encoded.ndim != 4:
            return
        if self.augment != "auto":
            self.augmentation_ = self.augment
        elif self._kind().defaults.flips and aug.flips_make_sense(encoded, y_index):
            self.augmentation_ = "shift+flip"
        else:
            self.augmentation_ = "shift"

    # ----------------------------------------------------------------- network
    def _architecture(self, n_inputs: int, n_classes: int) -> dict:
        if self._source is not None:
            architecture = {**self._source.architecture, "n_outputs": n_classes}
            if architecture["name"] == "resnet":
                architecture["image_size"] = [self.encoder_.height, self.encoder_.width]
            return architecture
        kind = self._kind()
        network = kind.default_network(self.encoder_, n_classes, self.dropout) if self.model != "mlp" else None
        if network is not None:
            return network
        if kind.grid:  # model="mlp" on pictures: the beginner's MNIST network, on flattened pixels
            return {**self._mlp_architecture(self.encoder_.n_inputs, n_classes),
                    "image_channels": self.encoder_.channels}
        return self._mlp_architecture(n_inputs, n_classes)

    def _mlp_architecture(self, n_inputs: int, n_classes: int) -> dict:
        members = self._ensemble_members()
        embedding = self.numeric_embedding
        if embedding == "auto":
            embedding = "periodic" if 0 < self.hidden_layers < RESIDUAL_FROM else "none"
        numeric = 0
        if embedding == "periodic" and self._kind().columns and self.hidden_layers:
            numeric = sum(column.type == "numeric" for column in self.encoder_.columns)
        if members > 1 or numeric:
            return {"name": "ensemble_mlp", "n_inputs": n_inputs, "n_outputs": n_classes, "members": members,
                    "hidden_layers": self.hidden_layers, "width": self.width, "dropout": self.dropout,
                    "numeric_embedding": numeric}
        return {"name": "mlp", "n_inputs": n_inputs, "n_outputs": n_classes, "hidden_layers": self.hidden_layers,
                "width": self.width, "dropout": self.dropout, "residual": self.hidden_layers >= RESIDUAL_FROM}

    def _ensemble_members(self) -> int:
        """Members of the table ensemble: none for pictures, sound or a network without hidden layers."""
        if not self._kind().columns or self.hidden_layers == 0:
            return 1
        if self.ensemble_size == "auto":
            return AUTO_ENSEMBLE if self.hidden_layers < RESIDUAL_FROM else 1
        return self.ensemble_size

    def _initial_module(self) -> torch.nn.Module:
        module = models.build(self.architecture_)
        if self._source is not None:
            load_body(module, self._source)
        else:
            if getattr(module, "input", None) is not None and self._input_statistics is not None:
                module.input.set_statistics(*self._input_statistics)
            self._kind().prepare_network(module, self.encoder_)
        return module

    def _train(self, data, settings, validating, callbacks, checkpointing=None):
        refit = self._refit(data, settings, validating) if self._source is None else None
        if refit is not None:
            plan = RefitPhases(self.module_, data, settings, refit,
                               lambda phase, held_out: [*self._callbacks(phase, held_out), *callbacks])
            state = train_phases(self.module_, plan, checkpointing)
            self._refit_summary = plan.summary()
            return state
        if self._source is None:
            return super()._train(data, settings, validating, callbacks, checkpointing)
        phases = TransferPhases(self.module_, data, settings,
                                lambda phase: [*self._callbacks(phase, validating), *callbacks], freeze=self.freeze)
        return train_phases(self.module_, phases, checkpointing)

    def _refit(self, data, settings: LoopSettings, validating: bool) -> Refit | None:
        """Training again on every row after early stopping (`deepfit.estimators.refit`): for the kind's
        "auto" early stopping and epochs of a plain network, where the kind does it (tables)."""
        after = self._kind().defaults.refit_after
        automatic = self.early_stopping == "auto" and self.max_epochs is None  # the whole schedule is ours to set
        if not (after and validating and automatic and self._plain()):
            return None
        every_row = self._loop_settings(len(data.y) + len(data.y_val), settings.seed, whole_schedule=True)

        def fresh_weights() -> dict:
            torch.manual_seed(settings.seed + 1)  # inside fit's forked generator: the caller's is untouched
            return self._initial_module().state_dict()

        smoothing = settings.label_smoothing if settings.loss == "cross_entropy" else 0.0
        return Refit(every_row, fresh_weights, after, loss_floor(len(self.classes_), smoothing))

    def _chunk_rows(self, encoded: np.ndarray) -> int:
        """A table ensemble's hidden layers hold members x width values a row: its chunks are smaller, so
        each layer's activations stay near 2 MB (at 65,536 rows they would be 512 MB a layer)."""
        members = self.architecture_.get("members", 1)
        if encoded.ndim != 2 or members == 1:
            return super()._chunk_rows(encoded)
        return max(64, ENSEMBLE_CHUNK_VALUES // (members * self.architecture_["width"]))

    def _numeric_scaling(self) -> str:
        return self.numeric_scaling

    def _validation_fraction(self, n_rows: int) -> float:
        stopping = self.early_stopping
        if stopping == "auto":
            stopping = self._kind().defaults.early_stopping
        return self.validation_fraction if stopping else 0.0

    def _loop_settings(self, n_rows: int, seed: int, *, whole_schedule: bool = False) -> LoopSettings:
        """The settings "auto" resolves to for `n_rows` training rows (`deepfit.estimators.schedule`)."""
        defaults = self._kind().defaults
        batch_size = counted = self.batch_size
        if batch_size == "auto":  # epochs as at about 50 steps each (texts 100); tables take fewer, larger steps
            counted, batch_size = schedule.batches(defaults, n_rows, self._plain())
        max_epochs = self.max_epochs
        if max_epochs is None:
            max_epochs = schedule.epochs(defaults, n_rows, counted, self._first_stage_area())
        smoothing = defaults.label_smoothing if self.label_smoothing == "auto" else self.label_smoothing
        learning_rate = self.learning_rate
        if learning_rate == "auto":
            learning_rate = schedule.learning_rate(
                defaults, n_rows, plain=self._plain(), transfer=getattr(self, "_source", None) is not None,
                whole_schedule=whole_schedule, batch_growth=batch_size / counted)
        return LoopSettings(max_epochs=max_epochs, batch_size=batch_size, learning_rate=learning_rate,
                            weight_decay=self.weight_decay, seed=seed, augment=self._augmentation(seed),
                            label_smoothing=smoothing, precision=self.precision)

    def _plain(self) -> bool:
        """A network of 1-3 hidden layers, where tables' larger rates and batches were measured."""
        return not self.architecture_.get("residual", False)

    def _first_stage_area(self) -> float:
        """Pixels a picture (or spectrogram) has in the network's first stage; 0 for rows."""
        if not self._kind().defaults.pixel_passes:
            return 0.0
        stride = self.architecture_.get("stem_stride", 1)
        return self.encoder_.height * self.encoder_.width / stride ** 2

    def _augmentation(self, seed: int):
        """The augmentation `augmentation_` names, on the device: affine, or shifts (with flips)."""
        augmentation, defaults = getattr(self, "augmentation_", "none"), self._kind().defaults
        if augmentation.startswith("affine"):
            return aug.RandomAffine(AFFINE_SHIFT, AFFINE_DEGREES, AFFINE_SCALE, flip=augmentation == "affine+flip",
                                    seed=seed, lighting=defaults.lighting)
        if augmentation == "none":
            return None
        height, width = self.encoder_.height, self.encoder_.width
        pad = aug.shift_for(height, width) if defaults.shift_rows else (0, aug.shift_for(width, width))
        return aug.ShiftFlip(pad, flip=augmentation == "shift+flip", seed=seed,
                             fill=self._kind().margin_fill(self.encoder_), lighting=defaults.lighting)

    def _callbacks(self, settings: LoopSettings, validating: bool) -> list:
        rates = [cb.WarmupCosineSchedule(settings.learning_rate)]
        stopping = [cb.EarlyStopping(patience=self.patience)] if validating else []
        return rates + stopping + super()._callbacks(settings, validating)

    def _run_network(self, X, network) -> np.ndarray:
        """Sound and texts are encoded and run a slice at a time, so memory stays bounded however many
        there are; one row of outputs per example (the mean over a clip's windows)."""
        if not hasattr(self, "encoder_") or not self._kind().sliced:
            return super()._run_network(X, network)
        kind = self._kind()
        examples = self._validated_features(X, reset=False)
        outputs = []
        for part in kind.prediction_slices(examples):
            rows, example_of_row = kind.encode(self.encoder_, examples[part])
            outputs.append(pool_rows(self._run_encoded(rows, network), example_of_row))
        return np.concatenate(outputs)

    # ---------------------------------------------------------------- features
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # transform gives the learned features
        return tags

    def transform(self, X) -> np.ndarray:
        """Learned features: the last hidden layer's activations for every row or picture of `X`
        (feature extraction -- what the output layer separates)."""
        return self._run_network(X, lambda inputs: self.module_.features(inputs)).astype(np.float32)

    def stage_features(self, X) -> list[np.ndarray]:
        """Each hidden stage's activations (for a CNN averaged down to at most 4x4 places), first to last."""
        outputs = []
        encoded, example_of_row = self._encoded_inputs(X)
        self._run_encoded(encoded, lambda inputs: _collect(outputs, self.module_.stage_features(inputs)))
        stages = [np.concatenate([chunk[i] for chunk in outputs]) for i in range(len(outputs[0]))]
        if example_of_row is None:
            return stages
        return [pool_rows(stage.reshape(len(stage), -1), example_of_row) for stage in stages]

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy on `X`, `y`; for sound, a warning when clips come from recordings seen in training."""
        groups = kinds.for_data(X).groups_of(X)
        if groups is not None:
            warn_if_recordings_leak(self, groups)
        return super().score(X, y, sample_weight=sample_weight)


def _collect(outputs: list, stages: list) -> torch.Tensor:
    outputs.append([stage.float().cpu().numpy() for stage in stages])
    return stages[-1][:, :1]
