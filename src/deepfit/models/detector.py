"""The patch classifier inside a sliding-window detector, built to run fully convolutionally.

::

    pixels -> ImageInput -> stages of [3x3 conv, BN, ReLU] x 2 -> 2x2 max-pool   (no padding anywhere)
      -> head: a conv as large as what is left of the window (a dense layer over the window) -> ReLU
      -> 1x1 conv: one score per class, background first

On one window-sized patch it gives one row of scores. On a whole picture the same layers give a
map of scores, one for every window position `stride` pixels apart, equal to cropping each window
and classifying it (no padding: nothing outside a window reaches its score), at a fraction of the
cost, since neighbouring windows share their convolutions.
"""

from __future__ import annotations

import torch
from torch import nn

from deepfit.models.cnn import ImageInput

HEAD_WIDTH = 128


def detector_architecture(height: int, width: int, channels: int, n_outputs: int) -> dict:
    """The patch network for windows of this size: as many stages (at most 3) as leave a map of 3 or more.

    >>> detector_architecture(24, 24, 1, 2)["stages"], detector_architecture(64, 64, 3, 2)["stages"]
    ([32, 64], [32, 64, 128])
    """
    stages = []
    for channels_out in (32, 64, 128):
        if _left_after(min(height, width), len(stages) + 1) < 3:
            break
        stages.append(channels_out)
    if not stages and _left_after(min(height, width), 1) < 1:
        raise ValueError(f"a {height}x{width} window is too small for the detector; windows start at 6x6 pixels")
    return {"name": "detector", "in_channels": channels, "window": [height, width], "n_outputs": n_outputs,
            "stages": stages or [32]}


def _left_after(side: int, stages: int) -> int:
    for _ in range(stages):
        side = (side - 4) // 2  # two unpadded 3x3 convolutions, then a 2x2 pool
    return side


class PatchDetector(nn.Module):
    """Scores windows; `score_map` scores every window of a larger picture at once."""

    def __init__(self, in_channels: int, window, n_outputs: int, stages):
        super().__init__()
        self.window = (int(window[0]), int(window[1]))
        self.input = ImageInput(in_channels)
        layers, channels = [], in_channels
        for channels_out in stages:
            layers += [_conv(channels, channels_out), _conv(channels_out, channels_out), nn.MaxPool2d(2)]
            channels = channels_out
        self.body = nn.Sequential(*layers)
        left = (_left_after(self.window[0], len(stages)), _left_after(self.window[1], len(stages)))
        self.head = nn.Sequential(nn.Conv2d(channels, HEAD_WIDTH, left), nn.ReLU(inplace=True),
                                  nn.Conv2d(HEAD_WIDTH, n_outputs, 1))
        self.stride = 2 ** len(stages)
        self.output = "softmax"

    def score_map(self, pixels: torch.Tensor) -> torch.Tensor:
        """[N, classes, rows, columns]: the scores of the window whose corner is at (row, column) * stride."""
        return self.head(self.body(self.input(pixels)))

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """[N, classes] for window-sized patches."""
        return self.score_map(patches).flatten(1)


def _conv(inputs: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, bias=False), nn.BatchNorm2d(outputs), nn.ReLU(inplace=True))
