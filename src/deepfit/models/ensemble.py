"""An ensemble of MLPs inside one network, for tables (TabM-mini: Gorishniy et al., ICLR 2025).

Every member sees each row through its own input scaling (a vector of random +-1 signs to begin with,
then learned), shares the hidden layers with the others, and has an output layer of its own. The
members are trained together, each on every batch, as one wide batch: k members cost about k times
the arithmetic of one MLP, but no more Python. Their different views of the data make them disagree
where the data are thin, and the mean of their probabilities is better calibrated and more accurate
than any one of them: what a k-model ensemble gives, for the price of one training run.

``forward`` gives the log of the members' mean probability (so a softmax of it is that mean); while
training it gives every member's own scores, shape (rows, members, classes), each member with its own
loss.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from deepfit.models.embeddings import PeriodicEmbeddings
from deepfit.models.freezing import FreezableBody
from deepfit.models.mlp import MLP


class MemberInputs(nn.Module):
    """Each row, once per member, scaled by that member's vector: (rows, features) -> (members * rows,
    features), member by member, so each member's rows are one contiguous block all the way to its head
    (no copies to regroup them there: 3-13% off a training step, docs/benchmarks.md)."""

    def __init__(self, n_inputs: int, members: int):
        super().__init__()
        self.members = members
        self.scales = nn.Parameter(torch.ones(members, n_inputs))

    def reset_parameters(self) -> None:
        nn.init.ones_(self.scales)
        if self.members > 1:  # random signs: each member starts from another view of the same row
            self.scales.data.copy_(torch.randint(0, 2, self.scales.shape).mul(2).sub(1).to(self.scales.dtype))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return (inputs[None, :, :] * self.scales[:, None, :]).reshape(-1, self.scales.shape[1])


class MemberHeads(nn.Module):
    """One output layer per member: (members * rows, width) -> (rows, members, outputs)."""

    def __init__(self, width: int, n_outputs: int, members: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(members, width, n_outputs))
        self.bias = nn.Parameter(torch.zeros(members, n_outputs))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = math.sqrt(6 / (self.weight.shape[1] + self.weight.shape[2]))  # Xavier, as the plain MLP's head
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.zeros_(self.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        members, width, _ = self.weight.shape
        per_member = hidden.reshape(members, -1, width)  # a view: (members, rows, width)
        return torch.baddbmm(self.bias[:, None, :], per_member, self.weight).transpose(0, 1)


class EnsembleMLP(FreezableBody, nn.Module):
    """`members` MLPs of `hidden_layers` x `width` that share their hidden layers (see the module docstring).

    >>> net = EnsembleMLP(n_inputs=4, n_outputs=3, hidden_layers=2, width=8, members=5).eval()
    >>> net(torch.zeros(7, 4)).shape
    torch.Size([7, 3])
    """

    output = "softmax"

    def __init__(self, n_inputs: int, n_outputs: int, hidden_layers: int = 3, width: int = 256,
                 dropout: float = 0.0, members: int = 8, numeric_embedding: int = 0):
        super().__init__()
        if hidden_layers < 1 or members < 1:
            raise ValueError(f"an ensemble needs hidden layers and members, got {hidden_layers} and {members}")
        self.members = members
        self.residual = False
        # The first `numeric_embedding` inputs are numbers, also given as periodic embeddings.
        embedding = [PeriodicEmbeddings(numeric_embedding, n_inputs)] if numeric_embedding else []
        width_in = n_inputs + (embedding[0].n_outputs if embedding else 0)
        shared = MLP(width_in, n_outputs, hidden_layers=hidden_layers, width=width, dropout=dropout)
        inputs = MemberInputs(width_in, members)
        inputs.reset_parameters()
        self.body = nn.Sequential(*embedding, inputs, *shared.body)
        self.head = MemberHeads(width, n_outputs, members)

    def member_scores(self, inputs: torch.Tensor) -> torch.Tensor:
        """Every member's scores (logits): (rows, members, outputs)."""
        return self.head(self.body(inputs))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        scores = self.member_scores(inputs)
        if self.training:
            return scores
        return torch.logsumexp(torch.log_softmax(scores.float(), dim=-1), dim=1) - math.log(self.members)

    def features(self, inputs: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activations, averaged over the members."""
        hidden = self.body(inputs)
        return hidden.reshape(self.members, len(inputs), -1).mean(dim=0)

    def stage_features(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        """Every hidden layer's activations (averaged over the members), from the first to the last."""
        hidden, stages = inputs, []
        for layer in self.body:
            hidden = layer(hidden)
            if isinstance(layer, nn.ReLU):
                stages.append(hidden.reshape(self.members, len(inputs), -1).mean(dim=0))
        return stages
