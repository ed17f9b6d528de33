"""Networks as plain `torch.nn.Module`s, built by name from a JSON-safe architecture dict.

A model file stores the architecture as data, e.g. ``{"name": "mlp", "n_inputs": 64,
"n_outputs": 10, "hidden_layers": 3, "width": 256}``; `build` turns it back into a module
without running any code from the file.
"""

from __future__ import annotations

import torch
from torch import nn

from deepfit.models.cnn import CNN
from deepfit.models.detector import PatchDetector
from deepfit.models.ensemble import EnsembleMLP
from deepfit.models.mlp import MLP, RESIDUAL_FROM
from deepfit.models.resnet import TorchvisionResNet
from deepfit.models.text import TextBag, TextCNN


def _perceptron(n_inputs: int, n_outputs: int) -> MLP:
    return MLP(n_inputs, n_outputs, hidden_layers=0, output="step")


def _logistic(n_inputs: int, n_outputs: int) -> MLP:
    return MLP(n_inputs, n_outputs, hidden_layers=0, output="sigmoid" if n_outputs == 1 else "softmax")


REGISTRY = {"mlp": MLP, "perceptron": _perceptron, "logistic": _logistic, "cnn": CNN, "resnet": TorchvisionResNet,
            "detector": PatchDetector, "ensemble_mlp": EnsembleMLP, "text_bag": TextBag,
            "text_cnn": TextCNN}
MAX_SIDE, MAX_CHANNELS, MAX_STAGES, MAX_BLOCKS = 4096, 4096, 8, 64  # bounds on a header before building it
MAX_MEMBERS, MAX_HIDDEN_LAYERS = 256, 10_000
MAX_TEXT_FEATURES = 2**24


def parameter_count(architecture: dict) -> int:
    """How many weights the architecture has, computed without building it.

    >>> parameter_count({"name": "mlp", "n_inputs": 64, "n_outputs": 10, "hidden_layers": 0})
    650
    """
    settings = dict(architecture)
    name = settings.pop("name")
    if name not in REGISTRY:
        raise KeyError(f"unknown architecture {name!r}; known: {sorted(REGISTRY)}")
    if name in ("cnn", "resnet", "detector", "ensemble_mlp", "text_bag", "text_cnn"):
        return _counted_on_meta_device(name, settings)
    n_inputs, n_outputs = int(settings["n_inputs"]), int(settings["n_outputs"])
    hidden_layers, width = int(settings.get("hidden_layers", 0)), int(settings.get("width", 256))
    pixels = 2 * int(settings.get("image_channels") or 0)  # an image input's mean and std
    if name != "mlp" or hidden_layers == 0:
        return n_inputs * n_outputs + n_outputs + pixels
    residual = settings.get("residual")
    residual = hidden_layers >= RESIDUAL_FROM if residual is None else residual
    norms = 2 * width * hidden_layers if residual else 0  # one LayerNorm per block, one at the end
    linears = (n_inputs * width + width) + (hidden_layers - 1) * (width * width + width)
    return linears + norms + (width * n_outputs + n_outputs) + pixels


def _counted_on_meta_device(name: str, settings: dict) -> int:
    """Build without memory (PyTorch's meta device) and count every stored tensor, after bounding the sizes."""
    sizes = [int(v) for key in ("image_size", "window", "stages") for v in settings.get(key, [])]
    if (any(not 0 < v <= max(MAX_SIDE, MAX_CHANNELS) for v in sizes) or len(settings.get("stages", [])) > MAX_STAGES
            or not 0 < int(settings.get("blocks_per_stage", 1)) <= MAX_BLOCKS
            or not 0 < int(settings["n_outputs"]) <= 1_000_000
            or not 0 < int(settings.get("members", 1)) <= MAX_MEMBERS
            or not 0 <= int(settings.get("hidden_layers", 0)) <= MAX_HIDDEN_LAYERS
            or not 0 <= int(settings.get("n_features", 0)) <= MAX_TEXT_FEATURES
            or not 0 <= int(settings.get("n_words", 0)) <= MAX_TEXT_FEATURES):
        raise ValueError(f"implausible {name} architecture {settings}")
    with torch.device("meta"):
        module = REGISTRY[name](**settings)
    return sum(tensor.numel() for tensor in module.state_dict().values())


def build(architecture: dict) -> nn.Module:
    """Build the module an architecture dict names (a network with convolutions channels-last).

    >>> build({"name": "logistic", "n_inputs": 2, "n_outputs": 1}).output
    'sigmoid'
    """
    settings = dict(architecture)
    name = settings.pop("name")
    if name not in REGISTRY:
        raise KeyError(f"unknown architecture {name!r}; known: {sorted(REGISTRY)}")
    return in_fast_layout(REGISTRY[name](**settings))


def in_fast_layout(module: nn.Module) -> nn.Module:
    """A network with 2-D convolutions, moved to the channels-last layout, in which oneDNN and cuDNN
    convolve faster (on this project's CPU: a 28x28 training step 1.3x, a detector's scan 1.3x); any
    other network as it is. Saved weights are stored in the plain layout either way."""
    if any(isinstance(layer, nn.Conv2d) for layer in module.modules()):
        return module.to(memory_format=torch.channels_last)
    return module
