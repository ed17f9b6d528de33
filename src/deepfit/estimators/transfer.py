"""Transfer learning: start a new classifier from a trained one, keeping every layer but the output head.

A source is a fitted deepfit estimator, a ``.deepfit`` file, or a torchvision-layout ResNet-18/34/50
``state_dict`` in a local ``.pth`` / ``.safetensors`` file (ImageNet weights users already have;
nothing is downloaded). The ``.pth`` is read by `deepfit.data.torch_checkpoint`, which parses the
file as data and never unpickles it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from deepfit.errors import InvalidInputError, ModelFileError

STATE_DICT_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".safetensors")


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
        from deepfit.modelfile import load

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
    if architecture["name"] not in ("mlp", "cnn", "resnet") or not architecture.get("hidden_layers", 1):
        raise InvalidInputError(f"{description}: a {architecture['name']} model has no hidden layers to reuse; "
                                "transfer from a DeepClassifier.")
    weights = {k: v.detach().cpu().clone() for k, v in estimator.module_.state_dict().items()
               if not k.startswith("head.")}
    return TransferSource(estimator.encoder_, architecture, weights, description)


def _resnet_source(path: Path) -> TransferSource:
    from deepfit.data.torch_checkpoint import read_state_dict
    from deepfit.models.resnet import resnet_depth_of

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
