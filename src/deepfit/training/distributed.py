"""Training on several processes (GPUs, or CPU processes, on one machine or many) with PyTorch's
own DistributedDataParallel, started by torchrun.

What deepfit does when torchrun starts it (``WORLD_SIZE`` > 1 in the environment):

- the process group is joined with NCCL when the run is on CUDA, gloo otherwise;
- every rank holds the whole (in-memory) data set and draws the same permutation each epoch; each
  optimizer step takes ``batch_size`` rows of it, the *effective* batch, split into one contiguous
  share per rank: so N processes take the same steps, at the same learning rate, as one;
- gradients are all-reduced by DDP and weighted so that the step is the one the whole batch gives;
- batch normalisation is synchronised across ranks on CUDA (SyncBatchNorm); on CPU, where PyTorch
  has no SyncBatchNorm, each rank normalises with its own share and the running statistics are rank
  0's (DDP broadcasts them);
- the training loss and the validation metrics are summed over the ranks, so every rank sees the
  same numbers and takes the same early-stopping and learning-rate decisions;
- only rank 0 writes checkpoints (holding every rank's random number generators), the model and
  the reports.
"""

from __future__ import annotations

import atexit
import os
import sys
import warnings
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

TIMEOUT = timedelta(minutes=30)  # a collective waiting longer than this fails the run instead of hanging it
PEER_LOST = ("Connection reset by peer", "Connection closed by peer", "Broken pipe",  # gloo, the TCP store
             "NCCL communicator was aborted", "remote process exited or there was a network error")


@dataclass(frozen=True)
class Ranks:
    """Which process this is among those training together; one process is rank 0 of 1."""

    rank: int = 0
    world: int = 1
    backend: str = ""

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def share(self, start: int, stop: int) -> tuple[int, int]:
        """This rank's contiguous part of the rows [start, stop).

        >>> Ranks(rank=1, world=2).share(0, 5)
        (2, 5)
        """
        size = stop - start
        return start + size * self.rank // self.world, start + size * (self.rank + 1) // self.world


def launched() -> bool:
    """Whether torchrun (or another launcher setting its variables) started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def main_process() -> bool:
    """Whether this is rank 0 (or the only process), known before the process group is joined."""
    return not launched() or os.environ.get("RANK", "0") == "0"


def lost_peer(error: BaseException) -> bool:
    """Whether `error` says that another rank has gone (killed, crashed, or its machine lost) while
    this one waited for it in a collective: the run's end, not a bug of this rank."""
    if isinstance(error, getattr(dist, "DistNetworkError", ())):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and any(sign in text for sign in PEER_LOST)


def current() -> Ranks:
    """This process's place in the process group (rank 0 of 1 when there is none)."""
    if not (dist.is_available() and dist.is_initialized()):
        return Ranks()
    return Ranks(dist.get_rank(), dist.get_world_size(), dist.get_backend())


def start(device: torch.device) -> Ranks:
    """Join the process group torchrun set up (NCCL for CUDA, gloo otherwise); nothing when launched alone."""
    if not launched() or (dist.is_available() and dist.is_initialized()):
        return current()
    import torch._dynamo  # noqa: F401  (DDP imports it on first use: seconds, paid here with the start-up)

    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend, timeout=TIMEOUT, device_id=device if device.type == "cuda" else None)
    atexit.register(_leave_at_exit)
    return current()


def _leave_at_exit() -> None:
    """Leave the group deepfit joined before the interpreter shuts down. A user's script that fits under
    torchrun never calls `stop`; left alone, gloo's worker threads outlive Python and abort the process
    as it exits (SIGABRT, 'terminate called without an active exception'). After an unhandled error
    the group is left as it is: tearing it down while another rank waits in a collective can hang."""
    if getattr(sys, "last_value", None) is None:
        stop()


def stop() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def local_device(device: torch.device) -> torch.device:
    """One GPU per process: rank i on a machine takes its i-th CUDA device."""
    if launched() and device.type == "cuda" and device.index is None:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def wrap(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """`module` for training on every rank: DDP around it (SyncBatchNorm first, on CUDA). The
    parameters stay `module`'s own, so checkpoints and the model file see the plain module."""
    from torch.nn.parallel import DistributedDataParallel

    if device.type == "cuda":
        _synchronise_batch_norm(module)
    for layer in module.modules():  # DDP adds up dense gradients; a text network's embeddings give sparse ones
        if isinstance(layer, torch.nn.Embedding):
            layer.sparse = False
    # A 1x1 convolution's gradient may carry other strides on its size-1 dimensions than DDP's bucket:
    # the same memory layout, reported as a mismatch.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    return DistributedDataParallel(module, device_ids=[device] if device.type == "cuda" else None,
                                   gradient_as_bucket_view=True)  # no copy of the gradients into the buckets


def _synchronise_batch_norm(module: torch.nn.Module) -> None:
    """Swap every BatchNorm layer for SyncBatchNorm in place, keeping its parameters and statistics
    (so the module the caller holds, and saves, is the one trained)."""
    for name, child in module.named_children():
        if isinstance(child, torch.nn.modules.batchnorm._BatchNorm) and not isinstance(child, torch.nn.SyncBatchNorm):
            setattr(module, name, torch.nn.SyncBatchNorm.convert_sync_batchnorm(child))
        else:
            _synchronise_batch_norm(child)


def plain_batch_norm(module: torch.nn.Module) -> None:
    """SyncBatchNorm back to BatchNorm2d after training, so the saved model loads and runs anywhere."""
    for name, child in module.named_children():
        if isinstance(child, torch.nn.SyncBatchNorm):
            plain = torch.nn.BatchNorm2d(child.num_features, child.eps, child.momentum, child.affine,
                                         child.track_running_stats)
            plain.to(next(iter([*child.parameters(), *child.buffers()])).device)
            plain.load_state_dict(child.state_dict())
            setattr(module, name, plain)
        else:
            plain_batch_norm(child)


def sum_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """`values` summed over every rank (as is when alone)."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(values)
    return values


def main_value(value: int, device: torch.device) -> int:
    """Rank 0's `value` on every rank: one decision where ranks' clocks or random draws differ."""
    if not (dist.is_available() and dist.is_initialized()):
        return value
    shared = torch.tensor([int(value)], dtype=torch.int64, device=device)
    dist.broadcast(shared, 0)
    return int(shared.item())


def gathered(state: torch.Tensor, device: torch.device) -> list[torch.Tensor]:
    """Every rank's `state` (a generator's state: one byte tensor, the same size everywhere), in rank order."""
    if not (dist.is_available() and dist.is_initialized()):
        return [state]
    own = state.to(device)
    every = [torch.empty_like(own) for _ in range(dist.get_world_size())]
    dist.all_gather(every, own)
    return [tensor.cpu() for tensor in every]
