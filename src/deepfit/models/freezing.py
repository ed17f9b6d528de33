"""Freezing a network's body for transfer learning: only the output head learns."""

from __future__ import annotations

from torch import nn


class FreezableBody:
    """Mixed into networks that have a ``body`` (the feature layers) and a ``head`` (the output layer).

    A frozen body keeps its weights and its batch-norm statistics as they were: it stays in
    evaluation mode even while the head trains.
    """

    body_frozen = False

    def freeze_body(self, frozen: bool = True):
        self.body_frozen = frozen
        self.body.requires_grad_(not frozen)
        return self.train(self.training)

    def train(self, mode: bool = True):
        nn.Module.train(self, mode)
        if self.body_frozen:
            self.body.eval()
        return self
