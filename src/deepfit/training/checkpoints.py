"""Checkpoints a killed run resumes from, ending with the weights an uninterrupted run would have.

A checkpoint holds everything the loop's future depends on: the weights, the optimizer's moments and
learning rate, the step and epoch, the position inside the epoch and the running loss, the random
number generators (the epoch shuffler's state at the epoch's start, the global one that drives
dropout, the augmenter's), the callbacks' state (early stopping's best weights) and the history.
It is one safetensors file (tensors, plus the rest as JSON in its metadata: no pickle), written
atomically at the end of every epoch and every `every_seconds` inside long epochs. Under torchrun,
rank 0 writes it, holding every rank's generators; every rank reads it to resume.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from deepfit.atomic import write_atomically
from deepfit.errors import ModelFileError
from deepfit.training import distributed

FORMAT = "deepfit-checkpoint-1"


def run_files(path) -> list[Path]:
    """Every checkpoint of a run kept at `path`: the loop's, and the stage of a run trained in phases
    beside it (`deepfit.training.phases`)."""
    path = Path(path)
    return [path, stage_file(path)]


def stage_file(path) -> Path:
    return Path(path).with_name(Path(path).name + ".stage")


@dataclass
class Checkpointing:
    """Where to keep the checkpoint, how often inside an epoch, and whether to start from it."""

    path: Path
    every_seconds: float = 300.0
    resume: bool = False
    fingerprint: str = ""            # what the run is (data, settings); a checkpoint of another run is refused
    last_saved: float = field(default=0.0, repr=False)

    def due(self) -> bool:
        return time.monotonic() - self.last_saved >= self.every_seconds


def start_run(path, every_seconds: float, resume: bool, fingerprint: str) -> Checkpointing:
    """The checkpointing of a run about to start at `path`. Resuming needs a checkpoint there; a fresh
    start removes an earlier run's, which are never taken for this one's."""
    checkpointing = Checkpointing(Path(path), every_seconds, resume, fingerprint)
    found = [file for file in run_files(checkpointing.path) if file.exists()]
    if resume and not found:
        raise ModelFileError(f"{checkpointing.path}: holds no checkpoint to resume; start the run without "
                             "--resume (resume=False).")
    if not resume:
        for file in found:
            file.unlink(missing_ok=True)  # under torchrun, every rank may
    return checkpointing


class LoopCheckpoints:
    """Checkpointing as the training loop calls it: where to start (a resumed run, from its checkpoint),
    a save when one is due inside an epoch, and one at every epoch's end. Without a `Checkpointing`
    it starts at the beginning and saves nothing."""

    def __init__(self, checkpointing: Checkpointing | None, state, optimizer, callbacks, augment_generator, ranks):
        self.checkpointing, self.state, self.optimizer = checkpointing, state, optimizer
        self.callbacks, self.augment_generator, self.ranks = callbacks, augment_generator, ranks
        self.epoch_start = None  # the epoch shuffler's state as the current epoch began

    def start(self, generator: torch.Generator) -> tuple[int, int, float]:
        """(first epoch, first batch row, the running loss of an epoch resumed in its middle)."""
        checkpointing, first = self.checkpointing, (1, 0, 0.0)
        if checkpointing is None:
            return first
        if checkpointing.resume:
            meta, tensors = load(checkpointing)
            restore(meta, tensors, self.state, optimizer=self.optimizer, callbacks=self.callbacks,
                    augment_generator=self.augment_generator, rank=self.ranks.rank)
            generator.set_state(tensors["rng.epoch"])  # as it was when the epoch began: the same order again
            done = meta["epoch_done"]
            # The checkpoint holds the ranks' total; rank 0 carries it on.
            running = 0.0 if done or not self.ranks.main else float(tensors["loop.loss_sum"][0])
            epoch = self.state.max_epochs + 1 if self.state.stop else meta["epoch"] + done  # stopped: only the end
            first = (epoch, 0 if done else meta["next_batch"], running)
        checkpointing.last_saved = time.monotonic()
        return first

    def save_if_due(self, next_batch: int, loss_sum: torch.Tensor) -> None:
        """Save inside an epoch, before the batch at `next_batch`, when `every_seconds` have passed."""
        if self.checkpointing is not None and self._due(loss_sum.device):
            save(self.checkpointing, self.state, optimizer=self.optimizer, epoch_generator_state=self.epoch_start,
                 next_batch=next_batch, loss_sum=loss_sum, callbacks=self.callbacks,
                 augment_generator=self.augment_generator, epoch_done=False)

    def save_epoch_end(self, generator: torch.Generator, device) -> None:
        if self.checkpointing is not None:
            save(self.checkpointing, self.state, optimizer=self.optimizer, epoch_generator_state=generator.get_state(),
                 next_batch=0, loss_sum=torch.zeros((), device=device), callbacks=self.callbacks,
                 augment_generator=self.augment_generator, epoch_done=True)

    def _due(self, device) -> bool:
        """On rank 0's clock under DDP (asked every 16 steps, so that all ranks agree without a message
        each step)."""
        checkpointing = self.checkpointing
        if not self.ranks.active or checkpointing.every_seconds == 0:
            return checkpointing.due()
        return self.state.step % 16 == 0 and bool(distributed.main_value(checkpointing.due(), device))


def packed(tensor: torch.Tensor) -> torch.Tensor:
    """A copy on the CPU in the plain layout, which safetensors can store (a picture network's weights
    train channels-last)."""
    return tensor.detach().cpu().clone(memory_format=torch.contiguous_format)


def save(checkpointing: Checkpointing, state, *, optimizer, epoch_generator_state: torch.Tensor, next_batch: int,
         loss_sum: torch.Tensor, callbacks, augment_generator, epoch_done: bool) -> None:

    ranks, device = distributed.current(), loss_sum.device
    generators = {"rng.global": distributed.gathered(torch.get_rng_state(), device)}  # every rank's, in rank order
    if augment_generator is not None:
        generators["rng.augment"] = distributed.gathered(augment_generator.get_state(), device)
    if device.type == "cuda":  # dropout on a GPU draws from the device's generator
        generators["rng.cuda"] = distributed.gathered(torch.cuda.get_rng_state(device), device)
    loss_sum = distributed.sum_over_ranks(loss_sum.detach().clone())
    checkpointing.last_saved = time.monotonic()
    if not ranks.main:
        return
    tensors = {f"module.{k}": packed(v) for k, v in state.module.state_dict().items()}
    optimizer_state = optimizer.state_dict()
    for key, value in optimizer_state.items():
        if isinstance(value, list):
            tensors.update({f"optimizer.{key}.{i}": packed(t) for i, t in enumerate(value)})
    for name, states in generators.items():
        tensors.update({name if rank == 0 else f"{name}.{rank}": state for rank, state in enumerate(states)})
    tensors["rng.epoch"] = epoch_generator_state
    tensors["loop.loss_sum"] = loss_sum.detach().cpu().reshape(1).float()
    callback_meta = []
    for index, callback in enumerate(callbacks):
        meta, own = callback.state_dict() if hasattr(callback, "state_dict") else ({}, {})
        callback_meta.append(meta)
        tensors.update({f"callback.{index}.{k}": packed(v) for k, v in own.items()})
    meta = {"format": FORMAT, "fingerprint": checkpointing.fingerprint, "epoch": state.epoch, "step": state.step,
            "next_batch": next_batch, "epoch_done": epoch_done, "stop": state.stop, "stop_reason": state.stop_reason,
            "lr": optimizer.lr, "processes": ranks.world, "history": state.history, "callbacks": callback_meta,
            "optimizer_lists": {k: len(v) for k, v in optimizer_state.items() if isinstance(v, list)}}
    payload = save_tensors(tensors, metadata={"deepfit": json.dumps(meta, allow_nan=True)})
    write_atomically(checkpointing.path, payload)


def save_stage(checkpointing: Checkpointing, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    """Keep what a run trained in phases needs at a phase's start (the weights, the generators, a
    detector's mined windows) beside the loop's checkpoint, in `stage_file`; then the loop's checkpoint
    of the phase before goes (until it has, `fingerprint_of` tells the two apart)."""
    if not distributed.current().main:
        return
    meta = {**meta, "format": FORMAT, "fingerprint": checkpointing.fingerprint}
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in tensors.items()}
    write_atomically(stage_file(checkpointing.path), save_tensors(tensors, metadata={"deepfit": json.dumps(meta)}))
    checkpointing.path.unlink(missing_ok=True)


def fingerprint_of(path: Path) -> str | None:
    """The run (and stage) a checkpoint belongs to, read from its header alone; None when unreadable."""
    try:
        with open(path, "rb") as handle:
            length = handle.read(8)
            header = handle.read(min(int.from_bytes(length, "little"), 64 * 1024 * 1024))
        return _meta(length + header).get("fingerprint")
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_stage(checkpointing: Checkpointing) -> tuple[dict, dict] | None:
    """(metadata, tensors) kept by `save_stage`, or None when the run has not got that far."""
    path = stage_file(checkpointing.path)
    return _read(path, checkpointing.fingerprint) if path.exists() else None


def load(checkpointing: Checkpointing) -> tuple[dict, dict]:
    """(metadata, tensors) of the checkpoint, refusing a damaged one or one of another run."""
    return _read(checkpointing.path, checkpointing.fingerprint)


def _read(path: Path, fingerprint: str) -> tuple[dict, dict]:
    try:
        raw = path.read_bytes()
        tensors = load_tensors(raw)
        meta = _meta(raw)
    except (OSError, SafetensorError, ValueError, KeyError, TypeError) as error:
        raise ModelFileError(f"{path}: is not a readable deepfit checkpoint ({error}); start again without "
                             "--resume (resume=False).") from None
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: is a checkpoint of another format ({meta.get('format')!r}); start again "
                             "without --resume (resume=False).")
    if fingerprint and meta.get("fingerprint") != fingerprint:
        raise ModelFileError(f"{path}: belongs to a run with other data or settings; resume with the same "
                             "command, or start again without --resume (--overwrite).")
    return meta, tensors


def _meta(start: bytes) -> dict:
    """deepfit's JSON in a safetensors file's header, from the file's first bytes (8 of length, then the header)."""
    length = int.from_bytes(start[:8], "little")
    return json.loads(json.loads(start[8:8 + length])["__metadata__"]["deepfit"])


def restore(meta: dict, tensors: dict, state, *, optimizer, callbacks, augment_generator, rank: int = 0) -> None:
    """Put the loop's state back as it was when the checkpoint was written (all but the epoch order,
    which the loop draws again from the restored shuffler); `rank` takes its own generators."""
    state.module.load_state_dict({k[len("module."):]: v for k, v in tensors.items() if k.startswith("module.")})
    optimizer_state = {"lr": meta["lr"]}
    for key, count in meta["optimizer_lists"].items():
        optimizer_state[key] = [tensors[f"optimizer.{key}.{i}"] for i in range(count)]
    optimizer.load_state_dict(optimizer_state)
    suffix = "" if rank == 0 else f".{rank}"
    if f"rng.global{suffix}" in tensors:  # a rank the writing run lacked keeps the fresh seed it was given
        torch.set_rng_state(tensors[f"rng.global{suffix}"])
    if augment_generator is not None and f"rng.augment{suffix}" in tensors:
        augment_generator.set_state(tensors[f"rng.augment{suffix}"])
    device = next(state.module.parameters()).device
    if device.type == "cuda" and f"rng.cuda{suffix}" in tensors:
        torch.cuda.set_rng_state(tensors[f"rng.cuda{suffix}"], device)
    processes = meta.get("processes", 1)
    if processes != distributed.current().world and rank == 0:
        warnings.warn(f"the checkpoint was written by a run on {processes} process(es) and is resumed on "
                      f"{distributed.current().world}: training goes on from it, but not bit for bit as the "
                      "first run would have gone on.", stacklevel=2)
    for index, callback in enumerate(callbacks):
        if hasattr(callback, "load_state_dict") and index < len(meta["callbacks"]):
            prefix = f"callback.{index}."
            callback.load_state_dict(meta["callbacks"][index],
                                     {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    state.epoch, state.step, state.history = meta["epoch"], meta["step"], meta["history"]
    if state.history:  # the last epoch's losses, as a run that never stopped has them
        last = state.history[-1]
        state.train_loss, state.val_loss, state.val_accuracy = (last["train_loss"], last.get("val_loss"),
                                                                last.get("val_accuracy"))
    state.stop, state.stop_reason = meta["stop"], meta["stop_reason"]
