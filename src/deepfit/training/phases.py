"""Training in phases: the training loop run several times on one network, each run a phase.

Transfer learning has two (the new head on a frozen body, then every layer); a sliding-window
detector has a round per mining of hard negatives. A `PhasePlan` says what each phase trains on and
how; `train_phases` runs them, and makes the whole run resumable with one naming scheme:

- ``<checkpoint>`` is the loop's checkpoint of the phase under way, its fingerprint the run's
  followed by ``/phase <index>`` (so a phase's checkpoint is never taken for another's);
- ``<checkpoint>.stage`` is written as a phase after the first begins: the network's weights, the
  random number generator and what the plan keeps (a detector's mined windows, the history so far).

A killed run, resumed, reads the stage, starts the phase it names without doing again what the plan
did to begin it, and resumes that phase's loop from its checkpoint: it ends with the weights an
uninterrupted run would have given.

::

    for index in phases (from the stage's, when resuming):
        phase = plan.phase(index)          # None: stop before it
        keep the stage (index > first)     # weights, generators, plan.stage()
        state = train(module, phase..., checkpoint "<run>/phase <index>")
        plan.finished(index, state)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

import torch

from deepfit.training import checkpoints
from deepfit.training.checkpoints import Checkpointing
from deepfit.training.loop import LoopSettings, TensorData, train
from deepfit.training.state import TrainingState


@dataclass
class Phase:
    """One run of the loop: on what, how, and with which callbacks."""

    data: TensorData
    settings: LoopSettings
    callbacks: list = field(default_factory=list)


class PhasePlan(Protocol):
    """What a phased training asks of its owner."""

    count: int  # phases at most

    def phase(self, index: int, *, restored: bool) -> Phase | None:
        """Make the network ready for phase `index` and say what it trains (None: stop before it).
        `restored`: the phase's start was read from the stage, so what was done to begin it (mining,
        say) is not done again."""

    def finished(self, index: int, state: TrainingState) -> None:
        """Phase `index` has ended with `state`."""

    def stage(self) -> tuple[dict[str, torch.Tensor], dict]:
        """(tensors, JSON values) the plan needs to go on from the start of the phase under way."""

    def restore(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        """Take back what `stage` gave."""


def train_phases(module: torch.nn.Module, plan: PhasePlan, checkpointing: Checkpointing | None = None) -> TrainingState:
    """Run the plan's phases on `module`; returns the last phase's state."""
    first = _restore(module, plan, checkpointing)
    restored, state = first > 0, None
    for index in range(first, plan.count):
        phase = plan.phase(index, restored=restored and index == first)
        if phase is None:
            break
        if checkpointing is not None and index > first:
            _keep_stage(module, plan, checkpointing, index)
        state = train(module, phase.data, phase.settings, phase.callbacks,
                      phase_checkpointing(checkpointing, index, resumed=index == first))
        plan.finished(index, state)
    return state


def phase_checkpointing(checkpointing: Checkpointing | None, index: int, *, resumed: bool) -> Checkpointing | None:
    """The loop's checkpointing in phase `index`: its own fingerprint, resumed only in the phase the run
    was stopped in. A checkpoint of the phase before (the run was killed between writing the stage and
    removing it) is passed over; another run's is refused when the loop reads it."""
    if checkpointing is None:
        return None
    run = checkpointing.fingerprint
    fingerprint = f"{run}/phase {index}"
    found = checkpoints.fingerprint_of(checkpointing.path) if checkpointing.path.exists() else None
    before = found is not None and found != fingerprint and found.startswith(f"{run}/phase ")
    return replace(checkpointing, fingerprint=fingerprint,
                   resume=checkpointing.resume and resumed and checkpointing.path.exists() and not before)


def _keep_stage(module, plan: PhasePlan, checkpointing: Checkpointing, index: int) -> None:
    tensors, meta = plan.stage()
    kept = {f"module.{name}": value for name, value in module.state_dict().items()}
    kept.update({f"plan.{name}": value for name, value in tensors.items()})
    kept.update(_generators(module))
    checkpoints.save_stage(checkpointing, kept, {"phase": index, "plan": meta})


def _restore(module, plan: PhasePlan, checkpointing: Checkpointing | None) -> int:
    """The phase to start from: 0, or the stage's when a resumed run had gone past the first."""
    stage = checkpoints.load_stage(checkpointing) if checkpointing is not None and checkpointing.resume else None
    if stage is None:
        return 0
    meta, tensors = stage
    module.load_state_dict({k[len("module."):]: v for k, v in tensors.items() if k.startswith("module.")})
    plan.restore({k[len("plan."):]: v for k, v in tensors.items() if k.startswith("plan.")}, meta["plan"])
    torch.set_rng_state(tensors["rng.global"])
    device = next(module.parameters()).device
    if device.type == "cuda" and "rng.cuda" in tensors:
        torch.cuda.set_rng_state(tensors["rng.cuda"], device)
    return meta["phase"]


def _generators(module) -> dict[str, torch.Tensor]:
    """The generators dropout draws from (this process's: under torchrun, the other ranks seed their own
    at each phase's start)."""
    generators = {"rng.global": torch.get_rng_state()}
    device = next(module.parameters()).device
    if device.type == "cuda":
        generators["rng.cuda"] = torch.cuda.get_rng_state(device)
    return generators
