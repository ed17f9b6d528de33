"""The training loop: the whole of it, on one screen.

::

    for epoch in 1..max_epochs:
        shuffle the training rows (one permutation, one gather on the device)
        for each slice of batch_size rows (this process's share of it, under torchrun):
            loss(module(x), y).backward(); optimizer.step()
        measure the validation loss and accuracy (summed over the processes)
        callbacks may change the learning rate or stop
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from deepfit.training import distributed
from deepfit.training.callbacks import EVENTS, Callback
from deepfit.training.checkpoints import Checkpointing, LoopCheckpoints
from deepfit.training.devices import autocast, training_precision
from deepfit.training.optimizers import OPTIMIZERS
from deepfit.training.state import TrainingState


@dataclass
class LoopSettings:
    max_epochs: int = 100
    batch_size: int = 128
    learning_rate: float = 1e-3
    loss: str = "cross_entropy"     # or "binary_cross_entropy" (one sigmoid unit), "perceptron"
    optimizer: str = "adamw"        # or "sgd"
    weight_decay: float = 0.0
    label_smoothing: float = 0.0    # cross-entropy only
    seed: int = 0
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None  # on each training batch, on the device
    precision: str = "auto"         # bfloat16 mixed precision where the device has it natively; "float32"


def auto_batch_size(n_rows: int, steps_per_epoch: float, smallest: int, largest: int = 512) -> int:
    """The power of two nearest `n_rows / steps_per_epoch` rows, from `smallest` up to `largest`: what
    "auto" batches are made of (deep networks, the detector).

    >>> auto_batch_size(1600, 50, 32), auto_batch_size(1600, 25, 32), auto_batch_size(100, 50, 32)
    (32, 64, 32)
    """
    batch = 2 ** round(math.log2(max(1, n_rows / steps_per_epoch)))
    return int(min(largest, max(smallest, batch)))


@dataclass
class TensorData:
    """Training (and optional validation) rows already on the training device."""

    x: torch.Tensor
    y: torch.Tensor
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None


def train(module: nn.Module, data: TensorData, settings: LoopSettings, callbacks=(),
          checkpointing: Checkpointing | None = None) -> TrainingState:
    """Fit `module` to `data`; returns the final state (history, stop reason). With `checkpointing`,
    the loop's whole state is saved at each epoch's end (and every few minutes inside one), and a
    run with ``resume`` continues from it as if it had never stopped."""
    generator = torch.Generator().manual_seed(settings.seed)
    optimizer = _optimizer(module, settings)
    rows, device, ranks = len(data.y), data.x.device, distributed.current()
    state = TrainingState(module=module, optimizer=optimizer, max_epochs=settings.max_epochs,
                          steps_per_epoch=math.ceil(rows / settings.batch_size))
    emit = _Emitter(callbacks, state)
    step = _Step(module, optimizer, loss_for(settings), settings, state, ranks, device)
    saver = LoopCheckpoints(checkpointing, state, optimizer, callbacks, step.augment_generator, ranks)
    first_epoch, first_batch, running_loss = saver.start(generator)
    step.network = distributed.wrap(module, device) if ranks.active else module  # after a restore: rank 0's
    emit("on_train_begin")
    for state.epoch in range(first_epoch, settings.max_epochs + 1):
        emit("on_epoch_begin")
        module.train()
        saver.epoch_start = generator.get_state()
        order = torch.randperm(rows, generator=generator).to(device)
        x_epoch, y_epoch = data.x[order], data.y[order]
        loss_sum = torch.full((), running_loss, device=device)
        for start in range(first_batch, rows, settings.batch_size):
            if start > first_batch:
                saver.save_if_due(start, loss_sum)
            loss_sum += step(x_epoch, y_epoch, start, min(start + settings.batch_size, rows), emit)
        state.train_loss = distributed.sum_over_ranks(loss_sum).item() / rows  # the epoch's only host sync
        if data.x_val is not None:
            state.val_loss, state.val_accuracy = evaluate(module, data.x_val, data.y_val, step.loss_function, ranks,
                                                          step.precision)
        state.record_epoch()
        emit("on_epoch_end")
        first_batch, running_loss = 0, 0.0
        saver.save_epoch_end(generator, device)
        if state.stop:
            break
    emit("on_train_end")
    if ranks.active:
        distributed.plain_batch_norm(module)
    module.eval()
    return state


def _optimizer(module: nn.Module, settings: LoopSettings):
    extra = {"weight_decay": settings.weight_decay} if settings.optimizer == "adamw" else {}
    trainable = [p for p in module.parameters() if p.requires_grad]  # all but a frozen body
    return OPTIMIZERS[settings.optimizer](trainable, lr=settings.learning_rate, **extra)


class _Step:
    """One optimizer step on this process's share of a batch: augment, forward, backward, update."""

    def __init__(self, module, optimizer, loss_function, settings: LoopSettings, state: TrainingState, ranks,
                 device: torch.device):
        self.network, self.optimizer, self.loss_function = module, optimizer, loss_function
        self.settings, self.state, self.ranks = settings, state, ranks
        self.precision = training_precision(device, settings.precision)
        self.augment_generator = getattr(settings.augment, "generator", None)
        if ranks.rank > 0:  # dropout and augmentation of its own on each rank; the epoch order is shared
            torch.manual_seed(settings.seed + ranks.rank)
            if self.augment_generator is not None:
                self.augment_generator.manual_seed(settings.seed + ranks.rank)

    def __call__(self, x_epoch, y_epoch, start: int, stop: int, emit) -> torch.Tensor:
        """The loss summed over this process's rows of the batch; none for a last batch too small to
        give every rank a row (it is left for the next epoch's order)."""
        ranks, settings = self.ranks, self.settings
        if stop - start < ranks.world:
            return torch.zeros((), device=x_epoch.device)
        emit("on_batch_begin")
        low, high = ranks.share(start, stop)
        x, y = x_epoch[low:high], y_epoch[low:high]
        if settings.augment is not None:
            x = settings.augment(x)
        with autocast(x.device, self.precision):
            loss = self.loss_function(self.network(x), y)
        if ranks.active:  # DDP averages the ranks' gradients; weighted, they make the whole batch's
            weight = ranks.world if settings.loss in SUMMED_LOSSES else ranks.world * (high - low) / (stop - start)
            (loss * weight).backward()
        else:
            loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.state.step += 1
        return loss.detach() * len(y)
@torch.inference_mode()
def evaluate(module: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_function, ranks=distributed.Ranks(),
             precision: str = "float32"):
    """Mean loss and accuracy of `module` on (x, y), in chunks so memory stays bounded; each rank
    takes its share of the rows and the sums are added up over the ranks."""
    module.eval()
    low, high = ranks.share(0, len(y))
    chunk = max(64, 2**24 // max(1, x[0].numel()))
    sums = torch.zeros(2, dtype=torch.float32 if x.device.type == "mps" else torch.float64, device=x.device)
    for start in range(low, high, chunk):
        stop = min(start + chunk, high)
        with autocast(x.device, precision):
            scores = module(x[start:stop]).float()
        target = y[start:stop]
        sums[0] += loss_function(scores, target).to(sums.dtype) * len(target)
        sums[1] += (predicted_index(scores) == target.long()).sum()
    loss_sum, correct = distributed.sum_over_ranks(sums).tolist()
    return loss_sum / len(y), correct / len(y)


def predicted_index(scores: torch.Tensor) -> torch.Tensor:
    """Class index from scores: argmax, or a single output unit's score >= 0."""
    if scores.shape[1] == 1:
        return (scores[:, 0] >= 0).long()
    return scores.argmax(dim=1)


def loss_for(settings: LoopSettings):
    """The loss function the settings name, with their label smoothing."""
    if settings.label_smoothing and settings.loss == "cross_entropy":
        return functools.partial(_cross_entropy, label_smoothing=settings.label_smoothing)
    return LOSSES[settings.loss]


def _cross_entropy(scores, y, label_smoothing: float = 0.0):
    """Cross-entropy of (rows, classes) scores; an ensemble's (rows, members, classes) scores give each
    member its own loss, averaged."""
    if scores.ndim == 3:
        return nn.functional.cross_entropy(scores.float().transpose(1, 2), y[:, None].expand(-1, scores.shape[1]),
                                           label_smoothing=label_smoothing)
    return nn.functional.cross_entropy(scores.float(), y, label_smoothing=label_smoothing)


def _binary_cross_entropy(scores, y):
    return nn.functional.binary_cross_entropy_with_logits(scores[:, 0].float(), y.float())


def _perceptron_criterion(scores, y):
    """Its gradient step is the perceptron rule, w += lr * (label - prediction) * x summed over the
    batch; its value is the share of the batch classified wrongly."""
    if scores.shape[1] == 1:
        prediction = (scores[:, 0] >= 0).to(scores.dtype)
        wrong = (y.to(scores.dtype) - prediction).detach()
        rule = -(wrong * scores[:, 0]).sum()
    else:  # several classes: raise the true class's score, lower the wrongly winning one
        predicted = scores.argmax(dim=1)
        wrong = (predicted != y).to(scores.dtype)
        rule = (wrong * (scores.gather(1, predicted[:, None]) - scores.gather(1, y[:, None]))[:, 0]).sum()
    error_rate = wrong.abs().mean()
    return rule + (error_rate - rule).detach()


SUMMED_LOSSES = {"perceptron"}  # summed over the batch (the perceptron rule), not averaged
LOSSES = {"cross_entropy": _cross_entropy, "binary_cross_entropy": _binary_cross_entropy,
          "perceptron": _perceptron_criterion}


class _Emitter:
    """Calls one event on every callback that handles it (no per-batch cost for those that don't)."""

    def __init__(self, callbacks, state: TrainingState):
        self.state = state
        self.by_event = {
            event: [getattr(cb, event) for cb in callbacks
                    if getattr(type(cb), event, None) not in (None, getattr(Callback, event))]
            for event in EVENTS}

    def __call__(self, event: str) -> None:
        for handler in self.by_event[event]:
            handler(self.state)
