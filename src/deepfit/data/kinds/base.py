"""The protocol every kind of input implements, and what a kind hands back when it reads examples.

A kind is one object (`TABLE`, `PICTURES`, `SOUND`, `TEXT`) that the estimators,
the command line, the server, evaluation and export ask, instead of branching on a string. It owns
how its data are recognised and read, its Encoder, its training defaults and default network, how
`check` looks for copies among its examples and how the report shows them, how an upload is decoded,
its export inputs, and its words for messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from deepfit.errors import InvalidInputError

STATISTICS_SAMPLE = 2_000  # grids used to measure each channel's mean and spread


@dataclass(frozen=True)
class Words:
    """How messages name a kind's data: "this model takes {data}", "send {files}", "one {one} each"."""

    data: str    # "a table", "pictures", "sound"
    files: str   # "table rows", "pictures", "sound files"
    one: str     # "row", "picture", "sound file"
    shown: str = ""      # what the report shows of an example, when not the example itself ("spectrogram")


@dataclass
class Examples:
    """Examples read from disk: the inputs (an array, DataFrame or Clips), their labels (None when
    unlabelled), their files, the files left out and why, and the recording of each (sound) or None."""

    X: object
    labels: np.ndarray | None
    paths: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    groups: np.ndarray | None = None
    rows: list[int] | None = None   # the row (from 1) of each example read from a table's column (texts)
    skipped_rows: list[int] = field(default_factory=list)  # and of each row left out, in `skipped`'s order


@dataclass
class Shown:
    """How the report shows one example: a picture, or values to colour (a spectrogram, low rows at
    the bottom), and a sound to play beside it."""

    image: np.ndarray | None       # uint8 (H, W) or (H, W, 3); float (rows, columns) when `values`
    values: bool = False
    sound: tuple | None = None     # (waveform, sample rate)
    text: str | None = None        # a text, shown as such (no picture)


@dataclass(frozen=True)
class TrainingDefaults:
    """What "auto" means for this kind when DeepClassifier trains on it (chosen on the development
    suite: benchmarks/compare_tables_suite.py, compare_picture_suite.py, compare_sound.py)."""

    label_smoothing: float      # share of each label spread over the other classes
    learning_rate: float        # peak AdamW rate when trained from scratch
    smallest_batch: int         # "auto" batches: about `steps_per_epoch` steps an epoch, never fewer rows than this
    steps: int                  # "auto" epochs: about this many optimizer steps ...
    max_epochs: int             # ... in `min_epochs` to this many epochs
    min_epochs: int = 10
    steps_per_epoch: int = 50
    batch_growth: int = 1       # "auto" batches this many times larger, in the same epochs (fewer, larger steps)
    grown_batch_limit: int = 512  # ... but grown no larger than this
    pixel_passes: float = 0.0   # and at most this many pixels through the first stage (0: no such bound)
    early_stopping: bool = False  # "auto" early stopping: hold examples out, stop early, maybe train again
    large_learning_rate: float = 0.0  # peak rate from `large_rate_from` examples up (0: `learning_rate`)
    large_rate_from: int = 0
    refit_after: float = 0.0    # early stopping's best epoch past this share of the schedule: train again on every row
    lighting: float = 0.0       # brightness and contrast jitter of augmented grids
    flips: bool = False         # left-right flips may suit the data (tried where the classes look mirror-alike)
    shift_rows: bool = True     # augmentation shifts grids up and down too (not sound: that changes the pitch)


@dataclass(frozen=True)
class ExportInput:
    """What an exported ONNX graph takes: an example tensor, its name and description, notes for the
    reader, whether it takes raw inputs (pictures) or encoded ones, whether it pools windows, the
    (mean, scale, clip, indicators) of a table's numbers when the graph scales them itself, and the
    input's axes beyond the first whose length varies, by name (a text's features)."""

    example: object
    name: str
    description: str
    notes: tuple = ()
    raw: bool = False
    pool_windows: bool = False
    scaling: tuple | None = None
    varying: tuple = ()          # ((axis, name), ...)


class Kind:
    """One kind of input. Subclasses set the attributes and implement the methods that raise here."""

    name: str = ""               # as model files and `/model` say it ("table", "image", "audio")
    words: Words
    suffixes: tuple = ()         # the files it reads
    takes_files: bool = True     # its examples are files on disk (False: rows of a table)
    served_as: str = "files"     # what the server's POST /predict takes: "files" (uploads), "rows" or "texts" (JSON)
    reads_tables: bool = False   # its examples may also come as a column of a table (texts)
    grid: bool = False           # encoded examples are (N, C, H, W) grids, a CNN's input
    pooled: bool = False         # an example is cut into windows whose predictions are pooled
    sliced: bool = False         # predicted a slice of examples at a time (`prediction_slices`): encoded whole,
                                 # many would not fit in memory (sound, texts)
    columns: bool = False        # examples are rows of named columns (numeric embeddings, ensembles apply)
    no_shallow: str = ""         # why `compare` cannot set shallow models against it, with the fix ("": it can)
    predict_batch: int = 256     # examples per batch when predicting files from disk
    mistakes_shown: int = 12     # mistakes the report shows
    read_settings: tuple = ()    # what `read` may be told (command-line options map onto these)
    fit_settings: tuple = ()     # DeepClassifier settings, beyond reading, that apply to this kind only
    models: tuple = ("auto", "mlp", "cnn")  # DeepClassifier's `model` choices that suit this kind
    parts_named: str = ""        # the pieces `parts` splits an example into, for attribution ("words"; "": none)
    defaults: TrainingDefaults
    encoder_type: type           # its Encoder class: fit, transform or encode, to_dict, from_dict

    # ------------------------------------------------------------- recognising and reading
    def recognises(self, X) -> bool:
        """Whether `X`, as given to `fit`, is this kind's data."""
        raise NotImplementedError

    def holds(self, path) -> bool:
        """Whether the file or folder `path` holds this kind's examples (the table takes the rest)."""
        return False

    def read(self, source, *, labelled: bool | None = True, skip_bad: bool = False, cache: bool = True,
             **settings) -> Examples:
        """Examples from a folder, a CSV list or a list of files. `settings` (those named in
        `read_settings`; None: chosen from the data) say how: a picture size, a sample rate."""
        raise NotImplementedError

    def table_of_examples(self, path) -> bool:
        """`path` is a table whose column holds the examples themselves (texts), for kinds that
        `reads_tables`; not a CSV listing files."""
        return False

    def fit_parameters(self, X, given: dict) -> dict:
        """DeepClassifier parameters for examples `X` read from files, from the `given` settings."""
        return {}

    def settings_of(self, encoder) -> dict:
        """The read settings that give what `encoder` was fitted on (to read new data as the model's)."""
        return {}

    def settings_like(self, X) -> dict:
        """The read settings that give examples like `X` (a test set read as its training set was)."""
        return {}

    def join(self, parts: list):
        """Inputs of several reads as one batch."""
        return np.concatenate(parts)

    def describe(self, X) -> str:
        """A line on examples just read: how many, and of what shape."""
        raise NotImplementedError

    # ------------------------------------------------------------------------- encoder
    def encoder_from_dict(self, data: dict):
        return self.encoder_type.from_dict(data)

    def input_description(self, encoder) -> dict:
        """What `/model` says the model takes."""
        raise NotImplementedError

    # ------------------------------------------------------------------------ training
    def validate(self, X, encoder=None):
        """`X` checked as this kind's examples (for a model fitted with `encoder`, when given)."""
        raise NotImplementedError

    def fit_encoder(self, X, **settings) -> tuple:
        """(the Encoder fitted on `X`, its encoding of `X` or None): `settings` are the estimator's
        (``image_size``, ``channels``, ``sample_rate``, ``window_seconds``, ``standardize``, ``scaling``);
        a kind takes those that apply to it."""
        raise NotImplementedError

    def encode(self, encoder, X) -> tuple:
        """(encoded rows, the example each row belongs to, or None when rows are examples)."""
        return encoder.transform(X), None

    def groups_of(self, X):
        """The recording each example comes from, where examples come from recordings; else None."""
        return None

    def input_statistics(self, encoded, seed: int) -> tuple | None:
        """What the network's input layer learns from the encoded training data before training (a
        grid's channel means and spreads; a text's document frequencies), or None."""
        if not self.grid:
            return None
        rows = np.sort(np.random.default_rng(seed).permutation(len(encoded))[:STATISTICS_SAMPLE])
        return channel_statistics(encoded, rows)

    def check_augmentation(self, augment: str) -> None:
        """Refuse an augmentation that does not suit this kind."""

    def margin_fill(self, encoder):
        """What an augmentation shift brings in at the edge (None: zeros)."""
        return None

    def default_network(self, encoder, n_classes: int, dropout: float) -> dict | None:
        """The architecture DeepClassifier builds for this kind by default (None: the MLP its
        `hidden_layers` and `width` describe)."""
        return None

    def prepare_network(self, module, encoder) -> None:
        """Set what the encoder brings to a new network's first weights (texts: word vectors)."""

    def prediction_order(self, encoded: np.ndarray) -> np.ndarray | None:
        """An order of encoded rows that puts rows of like length in one chunk when predicting, so the
        network pads less (texts read in order); None keeps them as they come."""
        return None

    def prediction_slices(self, X) -> list:
        """Index arrays of `X` to encode and predict at a time, so memory stays bounded."""
        return [np.arange(len(X))]

    # ------------------------------------------------------------------ checks and report
    def near_copy_view(self, X, like=None):
        """What `check` compares to find copies (`deepfit.data.near_copies.NearCopyView`): the training
        set's view, or a test set's seen as the training set (`like`) was."""
        raise NotImplementedError

    def shallow_features(self, train, test) -> tuple:
        """(train, test) as `shallow_models` take them, learned from `train`: rows of numbers."""
        raise InvalidInputError(f"{self.words.data} cannot be given to shallow models as rows of numbers.")

    def shallow_models(self, seed: int) -> dict:
        """scikit-learn's shallow classifiers that `compare` sets against the network, by name: on rows
        of numbers, logistic regression and k-nearest neighbours (standardised) and gradient boosting."""
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return {"logistic regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
                "gradient boosting": HistGradientBoostingClassifier(random_state=seed),
                "k-nearest neighbours": make_pipeline(StandardScaler(), KNeighborsClassifier())}

    def show_examples(self, inputs, encoder, indices) -> list[Shown] | None:
        """How the report shows the examples at `indices` of `inputs` (None: as rows of a table)."""
        return None

    def parts(self, example) -> list[tuple[int, int]]:
        """The pieces of one example that an occlusion test hides one at a time, as (start, end) spans
        (`deepfit.evaluation.attribution`): a text's words. Only kinds that name them in `parts_named`."""
        raise NotImplementedError

    def hide(self, example, part: tuple[int, int]):
        """`example` with the piece `part` (one of `parts(example)`) hidden."""
        raise NotImplementedError

    # -------------------------------------------------------------------------- serving
    def decode_uploads(self, payloads: list[tuple[str, bytes]], encoder, budget):
        """Uploaded files (name, bytes) as model inputs, within `budget` (`data.uploads.UploadBudget`);
        runs on a worker thread, never on the server's event loop."""
        raise NotImplementedError

    # --------------------------------------------------------------------------- export
    def export_input(self, encoder) -> ExportInput:
        raise NotImplementedError

    def sample_inputs(self, encoder, n: int, rng: np.random.Generator):
        """Inputs the model could be given, to check an export against the model."""
        raise NotImplementedError

    def exported_inputs(self, encoder, examples, raw: bool):
        """`examples` as the exported graph takes them."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<kind {self.name}>"


def channel_statistics(grids: np.ndarray, rows: np.ndarray, chunk: int = 256):
    """Mean and standard deviation of each channel over the chosen (N, C, H, W) grids, a chunk at a time."""
    sums, squares = np.zeros(grids.shape[1]), np.zeros(grids.shape[1])
    for start in range(0, len(rows), chunk):
        values = grids[rows[start:start + chunk]].astype(np.float64)
        sums += values.sum(axis=(0, 2, 3))
        squares += (values ** 2).sum(axis=(0, 2, 3))
    count = len(rows) * grids.shape[2] * grids.shape[3]
    mean = sums / count
    return mean, np.sqrt(np.maximum(squares / count - mean ** 2, 0))
