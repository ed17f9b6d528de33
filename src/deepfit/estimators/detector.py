"""Where things are in pictures: a sliding-window detector with a deep patch classifier inside, as
OpenCV's cascades and dlib's HOG detector are trained, with a CNN in place of their features.

::

    fit(positives, negatives):   positives: object patches, all the window's size
                                 negatives: pictures holding no object, any size >= the window
        background = windows cut from the negatives at random places and scales
        round 1: train the patch CNN (background vs each class of object)
        round 2..: scan the negatives; every window it takes for an object (a false alarm) joins the
                   background examples; train again from where it was
    detect(pictures): image pyramid -> fully-convolutional scores -> threshold -> non-maximum suppression
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils._param_validation import InvalidParameterError as _SklearnParameterError
from sklearn.utils.validation import check_random_state

from deepfit import models
from deepfit.detection.pictures import as_channels, check_large_enough, check_patch_sizes, off_scale, random_windows
from deepfit.detection.scan import Candidates, ScanSettings, pyramid_scales, rounded_box, scan, suppress, windows_of
from deepfit.detection.threshold import LOWEST, fit_threshold, held_back
from deepfit.errors import InvalidInputError, InvalidParameterError, NotFittedError
from deepfit.estimators import saved
from deepfit.modelfile import write_model
from deepfit.models.detector import detector_architecture
from deepfit.training import augment as aug
from deepfit.training import callbacks as cb
from deepfit.training.checkpoints import start_run
from deepfit.training.devices import resolve_device
from deepfit.training.loop import LoopSettings, TensorData, auto_batch_size
from deepfit.training.phases import Phase, train_phases

AUTO_STEPS = 600           # optimizer steps in the first round (half of a picture classifier's: two classes, small windows)
DEFAULT_THRESHOLD = 0.5    # when the threshold cannot be fitted, and to mine false alarms while training
MINED_PER_ROUND = 2.0      # false alarms kept per round, per positive example (the highest scoring)


class SlidingWindowDetector(BaseEstimator):
    """Finds objects (faces, signs, ...) in pictures with a patch CNN slid over an image pyramid.

    Parameters
    ----------
    window : int, (height, width) or None, default=None
        The window's size in pixels; None takes it from the positive patches (which must all have it).
    rounds : int, default=2
        Training rounds: the first on random background windows, each further one adding the false
        alarms found on the negative pictures (hard-negative mining).
    negatives_per_positive : float, default=3
        Random background windows cut in the first round, per positive example.
    label : str, default="object"
        The class name of the positives when they come without labels.
    flip : "auto", bool, default="auto"
        Add mirrored positives (auto: when the patches look left-right symmetric, as faces do).
    threshold : float or "auto", default="auto"
        A window's probability of an object, to report it. "auto": fitted when training, as the lowest
        probability (0.5 to 0.99) at which the boxes are expected to be right 9 times in 10, from a
        fifth of the negative pictures and a tenth of the positives held back
        (`deepfit.detection.threshold`); 0.5 when there are too few to hold back. The fitted value is `threshold_`; `detect(threshold=)`
        overrides it.
    overlap : float, default=0.3
        Non-maximum suppression: of two boxes of one class overlapping more than this (IoU), the weaker goes.
    scale_step : float, default=1.2
        Between the levels of the image pyramid.
    min_size : int or None, default=None
        The smallest object to look for, in pixels (None: the window's size; smaller ones scan enlarged pictures).
    max_epochs, batch_size, learning_rate : training of each round ("auto" batch size, None epochs:
        about 600 steps in the first round, half that in each further one).
    random_state, device, verbose : as for DeepClassifier.
    """

    _parameter_constraints: dict = {
        "rounds": [Interval(Integral, 1, 20, closed="both")],
        "negatives_per_positive": [Interval(Real, 0, None, closed="neither")],
        "label": [str],
        "flip": ["boolean", StrOptions({"auto"})],
        "threshold": [Interval(Real, 0, 1, closed="neither"), StrOptions({"auto"})],
        "overlap": [Interval(Real, 0, 1, closed="both")],
        "scale_step": [Interval(Real, 1, 4, closed="neither")],
        "min_size": [Interval(Integral, 1, None, closed="left"), None],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "device": [str],
        "verbose": ["boolean"],
    }

    def __init__(self, *, window=None, rounds=2, negatives_per_positive=3.0, label="object", flip="auto",
                 threshold="auto", overlap=0.3, scale_step=1.2, min_size=None, max_epochs=None, batch_size="auto",
                 learning_rate=2e-3, random_state=0, device="auto", verbose=False):
        self.window = window
        self.rounds = rounds
        self.negatives_per_positive = negatives_per_positive
        self.label = label
        self.flip = flip
        self.threshold = threshold
        self.overlap = overlap
        self.scale_step = scale_step
        self.min_size = min_size
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # ----------------------------------------------------------------- fitting
    def fit(self, positives, negatives, labels=None, *, positive_names=None, negative_names=None, checkpoint=None,
            resume: bool = False, checkpoint_every: float = 300.0):
        """Learn from `positives` (window-sized patches: an [N, h, w] or [N, h, w, C] uint8 array, or a
        list of such pictures) with their `labels` (None: one class, `label`), and `negatives`
        (pictures holding none of the objects, each at least the window's size). `positive_names` and
        `negative_names` (their files, say) name them in errors.

        `checkpoint` (a path) keeps the training state there: the loop's, written at the end of every
        epoch and every `checkpoint_every` seconds, and beside it (``<checkpoint>.stage``) the weights
        and the mined windows at the start of each round. After a crash, the same call with
        `resume=True` goes on from there and ends with the detector an uninterrupted run would have given."""
        try:
            self._validate_params()
        except _SklearnParameterError as error:
            raise InvalidParameterError(str(error)) from None
        started = time.perf_counter()
        patches, y_positive, negatives, held, seed = self._training_data(positives, negatives, labels, positive_names,
                                                                         negative_names)
        self.device_ = resolve_device(self.device)
        checkpointing = None if checkpoint is None else start_run(
            checkpoint, checkpoint_every, resume, self._run_fingerprint(patches, y_positive, negatives, seed))
        positive_x = torch.as_tensor(patches, device=self.device_).permute(0, 3, 1, 2).float()
        positive_y = torch.as_tensor(y_positive + 1, device=self.device_)
        flip = self.flip if self.flip != "auto" else aug.flips_make_sense(positive_x.cpu().numpy(), y_positive)
        if flip:
            positive_x = torch.cat([positive_x, positive_x.flip(3)])
            positive_y = torch.cat([positive_y, positive_y])
        generator = np.random.default_rng(seed)
        background = self._first_background(negatives, positive_x, generator)
        self.architecture_ = detector_architecture(*self.window_, self.channels_, len(self.classes_) + 1)
        with torch.random.fork_rng(devices=[self.device_] if self.device_.type == "cuda" else []):
            torch.manual_seed(seed)
            self.module_ = models.build(self.architecture_).to(self.device_)
            pixels = torch.cat([positive_x, background])
            self.module_.input.set_statistics(pixels.mean(dim=(0, 2, 3)).cpu(), pixels.std(dim=(0, 2, 3)).cpu())
            rounds, history = self._train_rounds(positive_x, positive_y, background, negatives, seed, flip,
                                                 checkpointing)
        self.module_.eval()
        fitted = self._fitted_threshold(*held)
        self.history_ = history
        self.training_summary_ = {"rounds": rounds, "window": list(self.window_), "channels": self.channels_,
                                  "negative_pictures": len(negatives), "flipped_positives": bool(flip),
                                  "threshold": fitted,
                                  "seconds": round(time.perf_counter() - started, 3), "device": str(self.device_)}
        return self

    def _training_data(self, positives, negatives, labels, positive_names, negative_names):
        """(positive patches, their class indices, negative pictures, (patches, pictures) held back for the
        threshold, the run's seed); sets `channels_`, `window_` and `classes_`."""
        patches = self._positive_patches(positives, positive_names)
        self.channels_ = patches.shape[3]
        self.window_ = (patches.shape[1], patches.shape[2])
        labels = np.full(len(patches), self.label, dtype=object) if labels is None else np.asarray(labels)
        if len(labels) != len(patches):
            raise InvalidInputError(f"{len(patches)} positive patches but {len(labels)} labels; give one per patch.")
        self.classes_ = np.unique(labels)
        negatives = self._negative_pictures(negatives, negative_names)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        patches, labels, negatives, held = self._held_back(patches, labels, negatives, seed)
        y_positive = np.unique(labels, return_inverse=True)[1]  # every class keeps 9 in 10 of its patches or all
        return patches, y_positive, negatives, held, seed

    def _train_rounds(self, positive_x, positive_y, background, negatives, seed: int, flip: bool, checkpointing):
        """Round 1 on random background windows; each later round adds the false alarms the detector
        raises on the negatives (hard negative mining) and trains again. Returns (rounds, history)."""
        plan = _MiningRounds(self, positive_x, positive_y, background, negatives, seed, flip)
        train_phases(self.module_, plan, checkpointing)
        if "false_alarms_after" not in plan.rounds[-1]:
            _, plan.rounds[-1]["false_alarms_after"] = self._false_alarms(negatives, 0)
        return plan.rounds, plan.history

    def _run_fingerprint(self, patches: np.ndarray, y_positive: np.ndarray, negatives: list, seed: int) -> str:
        """What makes two runs the same run: the parameters, the positives, the negatives and the seed."""
        digest = hashlib.blake2b(digest_size=16)
        params = {k: v for k, v in self.get_params().items() if k not in ("verbose", "device", "random_state")}
        params["window"] = None if self.window is None else self.window_  # 24, (24, 24) and [24, 24] alike
        digest.update(f"{type(self).__name__}|{sorted(params.items())!r}|{seed}|{patches.shape}".encode())
        digest.update(np.ascontiguousarray(patches).tobytes())
        digest.update(np.ascontiguousarray(y_positive).tobytes())
        for picture in negatives:
            digest.update(f"{picture.shape}".encode())
            digest.update(np.ascontiguousarray(picture).tobytes())
        return digest.hexdigest()

    def _held_back(self, patches: np.ndarray, labels: np.ndarray, negatives: list, seed: int):
        """(patches, labels, negatives to train on; (patches, negatives) held back to fit the threshold),
        nothing held back when the threshold is given."""
        if self.threshold != "auto":
            return patches, labels, negatives, (patches[:0], [])
        patch_rows, picture_rows = held_back(labels, len(negatives), seed + 1)
        keep = np.setdiff1d(np.arange(len(patches)), patch_rows)
        kept_pictures = np.setdiff1d(np.arange(len(negatives)), picture_rows)
        return (patches[keep], labels[keep], [negatives[i] for i in kept_pictures],
                (patches[patch_rows], [negatives[i] for i in picture_rows]))

    def _fitted_threshold(self, patches: np.ndarray, pictures: list) -> dict:
        """Sets `threshold_`: the given threshold, or one fitted on the held-back patches and pictures."""
        if self.threshold != "auto":
            self.threshold_ = float(self.threshold)
            return {"value": self.threshold_, "given": True}
        if len(patches) == 0 or not pictures:
            self.threshold_ = DEFAULT_THRESHOLD
            return {"value": DEFAULT_THRESHOLD, "given": False,
                    "why": "too few positives (10 of a class) or negative pictures (2) to hold some back"}
        positive_scores = self._object_scores_off_grid(patches)
        settings = replace(self._scan_settings(), threshold=LOWEST)
        alarms = [candidates.scores[suppress(candidates, settings.overlap)]
                  for candidates, _ in (scan(self.module_, p, self.window_, settings, self.device_) for p in pictures)]
        fitted = fit_threshold(positive_scores, np.concatenate(alarms), len(pictures))
        self.threshold_ = fitted.value
        return {**fitted.to_dict(), "given": False}

    def _object_scores_off_grid(self, patches: np.ndarray) -> np.ndarray:
        """Each patch's probability of an object, seen as the scan sees an object: moved by up to half
        its stride and scaled by up to half a pyramid step (the nearest window is seldom a perfect fit)."""
        shift = self.module_.stride / 2 / min(self.window_)
        jitter = aug.RandomAffine(shift, 0.0, (self.scale_step - 1) / 2, flip=False, seed=0)
        x = torch.as_tensor(patches, device=self.device_).permute(0, 3, 1, 2).float()
        with torch.inference_mode():
            probabilities = torch.softmax(self.module_(jitter(x)), dim=1)
        return (1 - probabilities[:, 0]).cpu().numpy().astype(np.float64)

    def _first_background(self, negatives, positive_x: torch.Tensor, generator) -> torch.Tensor:
        """The first round's background examples: random windows of the negatives, and half the
        positives seen from too close or too far (not an object at this window's size)."""
        device = positive_x.device
        count = max(200, math.ceil(self.negatives_per_positive * len(positive_x)))
        background = random_windows(negatives, count, self.window_, generator, device)
        chosen = torch.as_tensor(generator.permutation(len(positive_x))[:len(positive_x) // 2], device=device)
        behind = random_windows(negatives, len(chosen), self.window_, generator, device)
        return torch.cat([background, off_scale(positive_x[chosen], behind, generator)])

    def _positive_patches(self, positives, names=None) -> np.ndarray:
        pictures = list(positives)
        channels = 3 if any(np.asarray(p).ndim == 3 and np.asarray(p).shape[2] == 3 for p in pictures) else 1
        pictures = [as_channels(p, channels) for p in pictures]
        height, width = check_patch_sizes(pictures, names or [f"positive patch {i}" for i in range(len(pictures))],
                                          self.window)
        try:
            detector_architecture(height, width, channels, 2)
        except ValueError as error:
            raise InvalidInputError(f"{error}; use larger positive patches.") from None
        return np.stack(pictures)

    def _negative_pictures(self, negatives, names=None) -> list[np.ndarray]:
        pictures = [as_channels(p, self.channels_) for p in (list(negatives) if negatives is not None else [])]
        if not pictures:
            raise InvalidInputError("there are no negative pictures; give pictures holding none of the objects "
                                    "(background) to cut counter-examples from.")
        names = names or [f"negative picture {i}" for i in range(len(pictures))]
        check_large_enough(pictures, names, self.window_,
                           "give background pictures at least as large as the window.")
        return pictures

    def _loop_settings(self, n_rows: int, seed: int, *, first: bool, flip: bool) -> LoopSettings:
        batch_size = self.batch_size
        if batch_size == "auto":
            batch_size = auto_batch_size(n_rows, 50, smallest=32, largest=256)
        max_epochs = self.max_epochs
        steps = AUTO_STEPS if first else AUTO_STEPS // 2
        if max_epochs is None:
            max_epochs = int(min(60, max(5, round(steps / math.ceil(n_rows / batch_size)))))
        elif not first:
            max_epochs = max(1, max_epochs // 2)
        shift = aug.ShiftFlip(max(1, min(self.window_) // 12), flip=flip, seed=seed)
        # bfloat16 on CUDA only, as before: on a bfloat16 CPU the detector's threshold and small faces were
        # found less well in the tests, and its benchmark has not been run in bfloat16.
        precision = "auto" if self.device_.type == "cuda" else "float32"
        return LoopSettings(max_epochs=max_epochs, batch_size=batch_size, learning_rate=self.learning_rate,
                            weight_decay=1e-4, seed=seed, augment=shift, precision=precision)

    def _callbacks(self, settings: LoopSettings) -> list:
        progress = [cb.ProgressBar(type(self).__name__)] if self.verbose else []
        return [cb.WarmupCosineSchedule(settings.learning_rate), *progress]

    def _false_alarms(self, negatives: list[np.ndarray], keep: int) -> tuple[torch.Tensor, int]:
        """(up to `keep` of the windows the detector takes for objects on the negative pictures, the
        highest scoring first, as patches; how many boxes it reports there in all)."""
        self.module_.eval()
        threshold = DEFAULT_THRESHOLD if self.threshold == "auto" else self.threshold
        mining = ScanSettings(threshold=threshold, overlap=0.5, scale_step=self.scale_step, min_size=self.min_size)
        reporting = self._scan_settings()
        patches, scores, reported = [], [], 0
        for picture in negatives:
            candidates, levels = scan(self.module_, picture, self.window_, mining, self.device_, keep_levels=keep > 0)
            if not len(candidates.scores):
                continue
            reported += len(suppress(candidates, reporting.overlap))
            if keep:
                chosen = suppress(candidates, mining.overlap)
                patches.append(windows_of(candidates, chosen, levels, self.window_))
                scores.append(candidates.scores[chosen])
        if not patches:
            return torch.zeros((0, self.channels_, *self.window_), device=self.device_), reported
        order = torch.as_tensor(np.argsort(-np.concatenate(scores), kind="stable")[:keep], device=self.device_)
        return torch.cat(patches)[order], reported

    # -------------------------------------------------------------- detecting
    def _scan_settings(self, **overrides) -> ScanSettings:
        given = {k: v for k, v in overrides.items() if v is not None}
        threshold = getattr(self, "threshold_", DEFAULT_THRESHOLD if self.threshold == "auto" else self.threshold)
        return ScanSettings(**{"threshold": threshold, "overlap": self.overlap, "scale_step": self.scale_step,
                               "min_size": self.min_size, **given})

    def detect(self, pictures, *, threshold=None, overlap=None, min_size=None, names=None) -> list[list[dict]]:
        """Boxes in each picture ([H, W] or [H, W, C] uint8 arrays, any size >= the window): per picture,
        a list of {x, y, width, height, score, label}, best first, in the picture's pixels."""
        self._check_fitted()
        settings = self._scan_settings(threshold=threshold, overlap=overlap, min_size=min_size)
        pictures = [as_channels(p, self.channels_) for p in pictures]
        names = names or [f"picture {i}" for i in range(len(pictures))]
        for picture, name in zip(pictures, names):
            if not pyramid_scales(*picture.shape[:2], self.window_, settings):
                smallest = settings.min_size or min(self.window_)
                raise InvalidInputError(
                    f"{name}: is {picture.shape[1]}x{picture.shape[0]} pixels, smaller than the detector's "
                    f"{self.window_[1]}x{self.window_[0]} window" + (f" at min_size {smallest}" if settings.min_size
                                                                      else "")
                    + f"; to find objects smaller than {smallest} pixels, pass a smaller --min-size (min_size=).")
        results = []
        for picture in pictures:
            candidates, _ = scan(self.module_, picture, self.window_, settings, self.device_)
            results.append(self._boxes(candidates, suppress(candidates, settings.overlap)))
        return results

    def _boxes(self, candidates: Candidates, kept: np.ndarray) -> list[dict]:
        return [rounded_box(candidates.boxes[i], candidates.scores[i], self.classes_[candidates.classes[i] - 1])
                for i in kept]

    def predict_proba(self, patches) -> np.ndarray:
        """For window-sized patches: probability of background, then of each class in `classes_`."""
        self._check_fitted()
        x = torch.as_tensor(np.stack([as_channels(p, self.channels_) for p in patches]), device=self.device_)
        with torch.inference_mode():
            return torch.softmax(self.module_(x.permute(0, 3, 1, 2).float()), dim=1).cpu().numpy().astype(np.float64)

    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise NotFittedError("This SlidingWindowDetector instance is not fitted yet. Call 'fit' with "
                                 "positives and negatives first.")

    # ---------------------------------------------------------------- saving
    def save(self, path, *, metadata: dict | None = None):
        """Write the fitted detector to one `.deepfit` file (JSON header + safetensors weights), atomically."""
        self._check_fitted()
        params = {k: v for k, v in self.get_params().items() if k != "window"}
        header = {**saved.common_header(self, metadata, params),
                  "classes": [c.item() if hasattr(c, "item") else c for c in self.classes_],
                  "window": list(self.window_), "channels": self.channels_, "architecture": self.architecture_,
                  "threshold": self.threshold_,
                  "training": {"summary": self.training_summary_, "history": self.history_}}
        return write_model(path, header, self.module_.state_dict())

    @classmethod
    def from_model_file(cls, path, header: dict, tensors: dict) -> SlidingWindowDetector:
        """The detector a model file holds (`deepfit.load` calls this; nothing is unpickled)."""
        try:
            detector, module = cls._from_header(header, tensors)
        except saved.READ_ERRORS as error:
            raise saved.damaged(path, "detector's", error) from None
        saved.place_module(detector, module)
        return detector

    @classmethod
    def _from_header(cls, header: dict, tensors: dict) -> tuple[SlidingWindowDetector, torch.nn.Module]:
        """(the detector a header describes, its network with the file's weights)."""
        detector = cls(**header["params"])
        detector.classes_ = np.array(header["classes"], dtype=object)
        detector.window_ = tuple(int(v) for v in header["window"])
        detector.channels_ = int(header["channels"])
        given = header["params"].get("threshold", DEFAULT_THRESHOLD)  # files from before the fitted threshold
        detector.threshold_ = float(header.get("threshold", DEFAULT_THRESHOLD if given == "auto" else given))
        if not 0 < detector.threshold_ < 1:
            raise ValueError("a detector's threshold must lie between 0 and 1")
        detector.architecture_ = dict(header["architecture"])
        if detector.architecture_.get("name") != "detector":
            raise ValueError("a detector's architecture must be 'detector'")
        module = saved.build_module(detector.architecture_, tensors)
        detector.history_ = header["training"]["history"]
        detector.training_summary_ = header["training"]["summary"]
        detector.metadata_ = dict(header.get("metadata") or {})
        return detector, module


class _MiningRounds:
    """The detector's rounds, for `train_phases`: each after the first adds the false alarms on the
    negatives to the background examples (stopping early when there are none), then trains again."""

    def __init__(self, detector: SlidingWindowDetector, positive_x, positive_y, background, negatives, seed, flip):
        self.detector, self.positive_x, self.positive_y = detector, positive_x, positive_y
        self.background, self.negatives, self.seed, self.flip = background, negatives, seed, flip
        self.count = detector.rounds
        self.rounds: list[dict] = []    # the summary of each round
        self.history: list[dict] = []   # every epoch, with its round

    def phase(self, index: int, *, restored: bool) -> Phase | None:
        detector = self.detector
        if index > 0 and not restored:
            keep = math.ceil(MINED_PER_ROUND * len(self.positive_x))
            mined, self.rounds[-1]["false_alarms_after"] = detector._false_alarms(self.negatives, keep)
            if len(mined) == 0:
                return None  # nothing left to learn from the negatives (and their false alarms are counted)
            self.background = torch.cat([self.background, mined])
        x = torch.cat([self.positive_x, self.background])
        y = torch.cat([self.positive_y, self.background.new_zeros(len(self.background), dtype=torch.long)])
        settings = detector._loop_settings(len(y), self.seed + index + 1, first=index == 0, flip=self.flip)
        return Phase(TensorData(x, y), settings, detector._callbacks(settings))

    def finished(self, index: int, state) -> None:
        round_number = index + 1
        self.history += [{**row, "round": round_number} for row in state.history]
        self.rounds.append({"round": round_number, "positives": len(self.positive_x),
                            "background": len(self.background),
                            "mined": 0 if index == 0 else len(self.background) - self.rounds[-1]["background"],
                            "epochs": state.epoch, "train_loss": state.train_loss})

    def stage(self) -> tuple[dict, dict]:
        return {"background": self.background}, {"rounds": self.rounds, "history": self.history}

    def restore(self, tensors: dict, meta: dict) -> None:
        self.background = tensors["background"].to(self.positive_x.device)
        self.rounds, self.history = meta["rounds"], meta["history"]
