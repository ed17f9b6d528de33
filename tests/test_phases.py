"""Training in phases (transfer learning's two, a detector's rounds): a run killed in any phase, even
between writing a phase's stage and removing the phase before's checkpoint, resumes to the weights
of a run that was never stopped."""

from __future__ import annotations

import shutil

import pytest
import torch
from conftest import Crash

from deepfit.errors import ModelFileError
from deepfit.training.callbacks import Callback
from deepfit.training.checkpoints import stage_file, start_run
from deepfit.training.loop import LoopSettings, TensorData
from deepfit.training.phases import Phase, train_phases


class CopyAtEnd(Callback):
    """Keeps a copy of the loop's checkpoint as its phase ends (what a kill would leave between two files)."""

    def __init__(self, path, copy):
        self.path, self.copy = path, copy

    def on_train_end(self, state) -> None:
        shutil.copy(self.path, self.copy)


class ThreePhases:
    """Three phases with their own learning rates and epochs; each after the first grows the data, from
    what the network predicts, as a detector's mining does (done again on a resume, it would differ)."""

    count = 3

    def __init__(self, module, callbacks=None):
        generator = torch.Generator().manual_seed(0)
        self.module, self.x = module, torch.randn(96, 4, generator=generator)
        self.y = (self.x[:, 0] + self.x[:, 1] > 0).long()
        self.callbacks = callbacks or {}
        self.epochs: list[int] = []
        self.grown = 0

    def phase(self, index: int, *, restored: bool) -> Phase | None:
        if index > 0 and not restored:
            with torch.no_grad():
                wrong = self.module(self.x).argmax(1) != self.y
            self.x, self.y = torch.cat([self.x, self.x[wrong]]), torch.cat([self.y, self.y[wrong]])
            self.grown += 1
        settings = LoopSettings(max_epochs=3 + index, batch_size=16, learning_rate=0.05 / (index + 1), seed=index)
        return Phase(TensorData(self.x, self.y), settings, list(self.callbacks.get(index, [])))

    def finished(self, index: int, state) -> None:
        self.epochs.append(state.epoch)

    def stage(self):
        return {"x": self.x, "y": self.y}, {"epochs": self.epochs}

    def restore(self, tensors, meta) -> None:
        self.x, self.y, self.epochs = tensors["x"], tensors["y"], meta["epochs"]


def network():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(16, 2))


def trained(callbacks=None, checkpointing=None):
    module = network()
    plan = ThreePhases(module, callbacks)
    state = train_phases(module, plan, checkpointing)
    return module, plan, state


def test_a_run_killed_in_a_later_phase_resumes_to_the_uninterrupted_weights(tmp_path):
    whole, whole_plan, whole_state = trained()
    assert whole_plan.epochs == [3, 4, 5] and whole_plan.grown == 2
    path = tmp_path / "run.safetensors"
    with pytest.raises(KeyboardInterrupt):  # in phase 1's second epoch (steps count from 0 in each phase)
        trained({1: [Crash(10)]}, start_run(path, 0.0, False, "run"))
    assert stage_file(path).exists()
    module, plan, state = trained(checkpointing=start_run(path, 0.0, True, "run"))
    assert plan.grown == 1, "the phase's start was done again instead of read from the stage"
    assert plan.epochs == whole_plan.epochs and state.history == whole_state.history
    assert all(torch.equal(a, b) for a, b in zip(module.state_dict().values(), whole.state_dict().values()))


def test_the_phase_befores_checkpoint_left_by_a_kill_between_two_files_is_passed_over(tmp_path):
    whole, _, _ = trained()
    path, copy = tmp_path / "run.safetensors", tmp_path / "phase0.safetensors"
    with pytest.raises(KeyboardInterrupt):  # killed as phase 1 begins, before its loop saved anything
        trained({0: [CopyAtEnd(path, copy)], 1: [Crash(0)]}, start_run(path, 0.0, False, "run"))
    shutil.copy(copy, path)  # the stage of phase 1 is written, phase 0's checkpoint not yet removed
    module, plan, _ = trained(checkpointing=start_run(path, 0.0, True, "run"))
    assert plan.epochs == [3, 4, 5]
    assert all(torch.equal(a, b) for a, b in zip(module.state_dict().values(), whole.state_dict().values()))


def test_another_runs_checkpoints_are_refused_and_a_fresh_start_removes_them(tmp_path):
    path = tmp_path / "run.safetensors"
    trained(checkpointing=start_run(path, 0.0, False, "run"))
    with pytest.raises(ModelFileError, match="belongs to a run with other data or settings"):
        trained(checkpointing=start_run(path, 0.0, True, "another run"))
    start_run(path, 0.0, False, "another run")
    assert not path.exists() and not stage_file(path).exists()
    with pytest.raises(ModelFileError, match="holds no checkpoint to resume"):
        start_run(path, 0.0, True, "another run")
