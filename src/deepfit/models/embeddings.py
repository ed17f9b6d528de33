"""Periodic embeddings of numeric features (Gorishniy et al. 2022; RealMLP's "PBLD", Holzmueller et al. 2024).

An MLP given a number x as one input draws smooth functions of it; tables often need sharp, irregular
ones (a price band, a threshold that trees find at once). Each numeric feature is therefore also
given as `dims` learned mixtures of cos(2 pi (f x + b)) over `frequencies` learned frequencies f and
phases b: a Fourier basis the network can fit jagged functions of x with. The raw numbers stay in the
input beside their embeddings (densenet style), so nothing the plain MLP saw is lost.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class PeriodicEmbeddings(nn.Module):
    """(rows, inputs) -> (rows, inputs + numeric * dims): the inputs, then the first `numeric` inputs' embeddings.

    >>> PeriodicEmbeddings(numeric=3, inputs=5)(torch.zeros(2, 5)).shape
    torch.Size([2, 17])
    """

    def __init__(self, numeric: int, inputs: int, frequencies: int = 16, dims: int = 4, sigma: float = 0.1):
        super().__init__()
        if not 0 < numeric <= inputs:
            raise ValueError(f"numeric must be between 1 and inputs ({inputs}), got {numeric}")
        self.numeric, self.sigma = numeric, sigma
        self.frequency = nn.Parameter(torch.empty(numeric, frequencies))
        self.phase = nn.Parameter(torch.empty(numeric, frequencies))
        self.mix = nn.Parameter(torch.empty(numeric, frequencies, dims))
        self.bias = nn.Parameter(torch.zeros(numeric, dims))
        self.reset_parameters()

    @property
    def n_outputs(self) -> int:
        return self.numeric * self.mix.shape[2]

    def reset_parameters(self) -> None:
        nn.init.normal_(self.frequency, std=self.sigma)  # low frequencies: smooth functions to begin with
        nn.init.uniform_(self.phase, -0.5, 0.5)
        nn.init.uniform_(self.mix, -1 / math.sqrt(self.mix.shape[1]), 1 / math.sqrt(self.mix.shape[1]))
        nn.init.zeros_(self.bias)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        # Feature-major (numeric, rows, ...) so each feature's mixing is one block of a batched product
        # without copies; in float32 even under bfloat16 autocast: products this thin run several times
        # slower in bfloat16 on a CPU.
        numbers = inputs[:, :self.numeric].t()[:, :, None]  # (numeric, rows, 1)
        phases = numbers * self.frequency[:, None, :] + self.phase[:, None, :]
        waves = torch.cos(2 * math.pi * phases)  # (numeric, rows, frequencies)
        with torch.autocast(inputs.device.type, enabled=False):
            embedded = torch.baddbmm(self.bias[:, None, :], waves.to(self.mix.dtype), self.mix)  # (numeric, rows, dims)
        return torch.cat([inputs, embedded.transpose(0, 1).flatten(1).to(inputs.dtype)], dim=1)
