"""Transfer learning: start a new classifier from a trained one, keeping every layer but the output head.

A source is a fitted deepfit estimator, a ``.deepfit`` file, or a torchvision-layout ResNet-18/34/50
``state_dict`` in a local ``.pth`` / ``.safetensors`` file (ImageNet weights users already have;
nothing is downloaded). The ``.pth`` is read by `deepfit.data.torch_checkpoint`, which parses the
file as data and never unpickles it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from deepfit.data.torch_checkpoint import read_state_dict
from deepfit.errors import InvalidInputError, ModelFileError
from deepfit.models.resnet import resnet_depth_of
from deepfit.training.phases import Phase

STATE_DICT_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".safetensors")
HEAD_SHARE = 0.05         # share of the epochs spent fitting the new head alone (at least one)
FINE_TUNE_LR_FACTOR = 1.0  # then every layer (at a tenth, a run on digits kept too little of the new task)


@dataclass
class TransferSource:
    """What a new model inherits: the Encoder (None: fit a new one), the architecture and the body's weights."""

    encoder: object | None
    architecture: dict
    weights: dict          # state_dict entries for everything but the head
    description: str


def transfer_source(source) -> TransferSource:
    """Turn `transfer_from` (estimator, model file or ResNet state_dict file) into a `TransferSource`."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise InvalidInputError(f"{path}: no such model file to transfer from. Check the path.")
        if path.suffix.lower() in STATE_DICT_SUFFIXES:
            return _resnet_source(path)
        from deepfit.modelfile import load  # the estimators, this one's package, are registered

        return _estimator_source(load(path), str(path))
    if hasattr(source, "get_params"):
        if not hasattr(source, "module_"):
            raise InvalidInputError("transfer_from is an estimator that is not fitted (scikit-learn's clone, used "
                                    "by cross-validation, drops fitted weights); fit it first or pass the path of "
                                    "its saved .deepfit file.")
        return _estimator_source(source, type(source).__name__)
    raise InvalidInputError(f"transfer_from must be a fitted estimator or a path to a .deepfit model or a ResNet "
                            f".pth/.safetensors file, got {type(source).__name__}.")


def _estimator_source(estimator, description: str) -> TransferSource:
    architecture = dict(estimator.architecture_)
    if architecture["name"] not in ("mlp", "ensemble_mlp", "cnn", "resnet", "text_bag") or not architecture.get(
            "hidden_layers", 1):
        raise InvalidInputError(f"{description}: a {architecture['name']} model has no hidden layers to reuse; "
                                "transfer from a DeepClassifier.")
    weights = {k: v.detach().cpu().clone() for k, v in estimator.module_.state_dict().items()
               if not k.startswith("head.")}
    return TransferSource(estimator.encoder_, architecture, weights, description)


def _resnet_source(path: Path) -> TransferSource:
    state = {k.removeprefix("module."): v for k, v in read_state_dict(path).items()}
    depth = resnet_depth_of(state)
    if depth is None:
        shown = ", ".join(list(state)[:4])
        raise ModelFileError(f"{path}: not a torchvision-layout ResNet-18/34/50 state_dict (its first keys: "
                             f"{shown}). Save one with torch.save(resnet.state_dict(), path), or transfer from a "
                             ".deepfit model.")
    weights = {f"body.{k}": v for k, v in state.items() if not k.startswith("fc.")}
    architecture = {"name": "resnet", "depth": depth, "in_channels": 3}
    return TransferSource(None, architecture, weights, f"ResNet-{depth} from {path.name}")


def load_body(module: torch.nn.Module, source: TransferSource) -> None:
    """Copy the source's weights into `module`; only the head (and a ResNet's input statistics) stay new."""
    try:
        result = module.load_state_dict(source.weights, strict=False)
    except RuntimeError as error:
        raise InvalidInputError(f"{source.description}: its layers do not fit this network "
                                f"({str(error).splitlines()[-1].strip()[:160]}).") from None
    missing = [k for k in result.missing_keys if not k.startswith(("head.", "input."))]
    if missing or result.unexpected_keys:
        names = ", ".join((missing + list(result.unexpected_keys))[:4])
        raise InvalidInputError(f"{source.description}: its layers do not match this network ({names}).")


class TransferPhases:
    """Transfer learning's two phases, for `train_phases`: a head for the new classes on the frozen
    body, then (unless `freeze`) every layer. `callbacks_for(phase_settings)` gives each phase's
    callbacks; the last state holds both phases' history, epochs counted on."""

    count = 2

    def __init__(self, module, data, settings, callbacks_for, *, freeze: bool):
        self.module, self.data, self.callbacks_for, self.freeze = module, data, callbacks_for, freeze
        self.head_epochs = settings.max_epochs if freeze else max(1, round(HEAD_SHARE * settings.max_epochs))
        self.settings = [replace(settings, max_epochs=self.head_epochs)]
        if self.head_epochs < settings.max_epochs:  # then every layer, gently
            self.settings.append(replace(settings, max_epochs=settings.max_epochs - self.head_epochs,
                                         seed=settings.seed + 1,
                                         learning_rate=settings.learning_rate * FINE_TUNE_LR_FACTOR))
        self.head_history: list = []

    def phase(self, index: int, *, restored: bool) -> Phase | None:
        if index >= len(self.settings):
            return None
        self.module.freeze_body(index == 0)
        return Phase(self.data, self.settings[index], self.callbacks_for(self.settings[index]))

    def finished(self, index: int, state) -> None:
        if index == 0:
            self.head_history = state.history
            return
        for row in state.history:
            row["epoch"] += self.head_epochs
        state.history = self.head_history + state.history
        state.epoch += self.head_epochs

    def stage(self) -> tuple[dict, dict]:
        return {}, {"head_history": self.head_history}

    def restore(self, tensors: dict, meta: dict) -> None:
        self.head_history = meta["head_history"]
