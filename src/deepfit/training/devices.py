"""Where training runs: the device chosen automatically (CUDA, then Apple MPS, then CPU), and
mixed precision where the device gains from it."""

from __future__ import annotations

import contextlib
import functools

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


PRECISIONS = ("auto", "bfloat16", "float32")
NATIVE_BFLOAT16_FLAGS = {"avx512_bf16", "amx_bf16"}  # x86 CPUs whose bfloat16 matrix products beat float32


@functools.cache
def cpu_flags() -> frozenset:
    """The instruction-set flags of this machine's CPU (Linux's /proc/cpuinfo); empty where unknown."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def native_bfloat16(device: torch.device) -> bool:
    """Whether `device` multiplies bfloat16 matrices in hardware: CUDA GPUs that support it, CPUs with
    AVX512-BF16 or AMX (through oneDNN). Elsewhere bfloat16 is emulated, and slower than float32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(cpu_flags() & NATIVE_BFLOAT16_FLAGS) and torch.backends.mkldnn.is_available()
    return False


def training_precision(device: torch.device, asked: str = "auto") -> str:
    """The arithmetic of training steps: `asked`, or for "auto" bfloat16 mixed precision where the
    device computes it natively and float32 elsewhere.

    >>> training_precision(torch.device("cpu"), "float32")
    'float32'
    """
    if asked not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {asked!r}")
    if asked != "auto":
        return asked
    return "bfloat16" if native_bfloat16(device) else "float32"


def autocast(device: torch.device, precision: str = "float32"):
    """bfloat16 mixed precision (float32 weights and updates, bfloat16 matrix products; no loss scaling
    needed) on CUDA and CPUs when `precision` says so; full precision otherwise."""
    if precision == "bfloat16" and device.type in ("cuda", "cpu"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
