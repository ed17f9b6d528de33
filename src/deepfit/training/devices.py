"""Where training runs: the device chosen automatically (CUDA, then Apple MPS, then CPU), and
mixed precision where the device gains from it."""

from __future__ import annotations

import contextlib

import torch

from deepfit.errors import InvalidInputError


def resolve_device(device: str = "auto") -> torch.device:
    """'auto' picks CUDA, then MPS, then the CPU; anything else must name an available device.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidInputError(f"device {device!r} is not a device name; use 'auto', 'cpu', "
                                "'cuda', 'cuda:1' or 'mps'.") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInputError(f"device {device!r} was asked for, but this machine has no usable CUDA GPU; "
                                "use device='auto' or 'cpu'.")
    if chosen.type == "mps" and not torch.backends.mps.is_available():
        raise InvalidInputError(f"device {device!r} was asked for, but Apple MPS is not available here; "
                                "use device='auto' or 'cpu'.")
    if chosen.type not in ("cpu", "cuda", "mps"):
        raise InvalidInputError(f"device {device!r} is not supported; use 'auto', 'cpu', 'cuda' or 'mps'.")
    return chosen


def autocast(device: torch.device):
    """bfloat16 mixed precision on CUDA (no loss scaling needed); full precision elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
