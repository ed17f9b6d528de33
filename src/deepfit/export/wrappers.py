"""The exported graph: the estimator's network with what can be expressed around it, so that the
file takes raw inputs and gives class probabilities in `classes_` order.

- numeric tables: standardising (and missing-value indicators, NaN to 0) before the network;
- pictures: nothing to add (the network takes uint8 N, C, H, W and normalises inside);
- sound: the windows of one clip in, their scores averaged (as deepfit pools a clip) out;
- then softmax, or the sigmoid of two classes, or the perceptron's step as 0/1.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class TableScaling(nn.Module):
    """What `TableEncoder` does to an all-numeric table, in the graph: (x - centre) / scale, the
    smooth clip z / sqrt(1 + (z / radius)^2) where the encoder clips, indicators of missing values for
    the columns that had them in training, and missing values as 0."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray, clip: np.ndarray, indicator_columns: np.ndarray):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        self.register_buffer("clipped", torch.as_tensor(np.isfinite(clip)))
        self.register_buffer("radius", torch.as_tensor(np.where(np.isfinite(clip), clip, 1.0), dtype=torch.float32))
        self.register_buffer("indicators", torch.as_tensor(indicator_columns, dtype=torch.long))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        encoded = (features - self.mean) / self.scale
        if bool(self.clipped.any()):  # as `deepfit.data.encoder.smooth_clip` computes it
            ratio = torch.clamp(encoded / self.radius, -1e6, 1e6)
            encoded = torch.where(self.clipped, self.radius * ratio / torch.sqrt(1 + ratio * ratio), encoded)
        if self.indicators.numel():
            missing = torch.isnan(features.index_select(1, self.indicators)).to(torch.float32)
            encoded = torch.cat([encoded, missing], dim=1)
        return torch.where(torch.isnan(encoded), torch.zeros_like(encoded), encoded)


class Probabilities(nn.Module):
    """Scores to probabilities of every class, as the estimators compute them."""

    def __init__(self, output: str):
        super().__init__()
        self.output = output

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        if self.output == "softmax":
            return torch.softmax(scores, dim=1)
        positive = torch.sigmoid(scores[:, 0]) if self.output == "sigmoid" else (scores[:, 0] >= 0).to(scores.dtype)
        return torch.stack([1 - positive, positive], dim=1)


class Exported(nn.Module):
    def __init__(self, network: nn.Module, output: str, before: nn.Module | None = None, pool_windows: bool = False):
        super().__init__()
        self.before = before if before is not None else nn.Identity()
        self.network = network
        self.pool_windows = pool_windows
        self.probabilities = Probabilities(output)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        scores = self.network(self.before(inputs)).to(torch.float32)
        if self.pool_windows:  # the windows of one clip: one answer, from their mean score
            scores = scores.mean(dim=0, keepdim=True)
        return self.probabilities(scores)
