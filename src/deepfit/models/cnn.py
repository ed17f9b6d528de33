"""Convolutional networks for pictures and spectrograms: a residual family sized to the input.

::

    uint8 or float pixels -> ImageInput (scale and normalise per channel, statistics fitted on the data)
      -> stem: 3x3 conv (stride 1, 2, or 2 + max-pool, by input size) -> batch norm -> ReLU
      -> stages: residual blocks; each stage after the first halves the resolution, doubles the channels
      -> global average pool (the learned features) -> dropout -> linear head (one score per class)

`cnn_architecture` picks the stem and the number of stages from the picture size, so an 8x8 digit
gets two small stages and a 128x128 photo four, each ending near 4x4 pixels.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from deepfit.models.freezing import FreezableBody

BASE_CHANNELS = 32
MAX_STAGES = 4
STRIDE_FROM = 48  # pictures at least this high and wide start with a stride-2 convolution (a 60x80 face works at 30x40)


def cnn_architecture(height: int, width: int, channels: int, n_outputs: int, dropout: float = 0.0,
                     stem_stride: int | None = None, base_channels: int = BASE_CHANNELS) -> dict:
    """The residual CNN for pictures of this size (`stem_stride`: chosen from the shorter side unless given;
    `base_channels`: the first stage's, doubled at each stage after it).

    >>> cnn_architecture(8, 8, 1, 10)["stages"]
    [32, 64]
    >>> cnn_architecture(128, 128, 3, 2)["stem_stride"], cnn_architecture(128, 128, 3, 2)["stages"]
    (4, [32, 64, 128, 256])
    >>> cnn_architecture(60, 80, 1, 15, base_channels=16)["stem_stride"]
    2
    """
    side = min(height, width)
    if stem_stride is None:
        stem_stride = 1 if side < STRIDE_FROM else 2 if side < 128 else 4
    resolution = side / stem_stride
    n_stages = int(min(MAX_STAGES, 1 + max(0, math.floor(math.log2(max(1.0, resolution / 4))))))
    return {"name": "cnn", "in_channels": channels, "image_size": [height, width], "n_outputs": n_outputs,
            "stages": [base_channels * 2 ** i for i in range(n_stages)], "blocks_per_stage": 1,
            "stem_stride": stem_stride, "dropout": dropout}


def stem_stride_for_area(height: int, width: int, places: int = 1024) -> int:
    """The stem stride (1, 2 or 4) that leaves at most about `places` positions: for long, narrow inputs
    such as spectrograms, where the shorter side alone would keep thousands of places.

    >>> stem_stride_for_area(40, 181), stem_stride_for_area(40, 40)
    (4, 2)
    """
    return next((stride for stride in (1, 2) if height * width / stride ** 2 <= places), 4)


class ImageInput(nn.Module):
    """Pixels -> (x - mean) / std per channel, in float32: the statistics travel with the weights."""

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(1, channels, 1, 1))
        self.register_buffer("std", torch.ones(1, channels, 1, 1))

    def set_statistics(self, mean, std) -> None:
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32).reshape(self.mean.shape))
        self.std.copy_(torch.as_tensor(std, dtype=torch.float32).clamp_min(1e-6).reshape(self.std.shape))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        if pixels.is_cuda:
            pixels = pixels.contiguous(memory_format=torch.channels_last)
        return (pixels.float() - self.mean) / self.std


def _conv_bn(inputs: int, outputs: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inputs, outputs, kernel, stride, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(outputs))


class ResidualBlock(nn.Module):
    """relu(x + BN(conv(relu(BN(conv(x)))))), with a 1x1 projection when the shape changes."""

    def __init__(self, inputs: int, outputs: int, stride: int):
        super().__init__()
        self.conv1 = _conv_bn(inputs, outputs, 3, stride)
        self.conv2 = _conv_bn(outputs, outputs, 3, 1)
        nn.init.zeros_(self.conv2[1].weight)  # each block starts as the identity: deep stacks train from step 1
        self.shortcut = nn.Identity() if stride == 1 and inputs == outputs else _conv_bn(inputs, outputs, 1, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.shortcut(x) + self.conv2(torch.relu(self.conv1(x))))


def coarse(activations: torch.Tensor, places: int = 4) -> torch.Tensor:
    """Activation maps averaged to at most `places` x `places` positions, flattened: where and what."""
    size = (min(places, activations.shape[2]), min(places, activations.shape[3]))
    return nn.functional.adaptive_avg_pool2d(activations, size).flatten(1)


class CNN(FreezableBody, nn.Module):
    """A residual convolutional network; `features` are the pooled activations of the last stage.

    >>> net = CNN(in_channels=1, image_size=[8, 8], n_outputs=10, stages=[8, 16])
    >>> net(torch.zeros(2, 1, 8, 8, dtype=torch.uint8)).shape
    torch.Size([2, 10])
    """

    output = "softmax"

    def __init__(self, in_channels: int, image_size, n_outputs: int, stages, blocks_per_stage: int = 1,
                 stem_stride: int = 1, dropout: float = 0.0):
        super().__init__()
        self.input = ImageInput(in_channels)
        stem = [_conv_bn(in_channels, stages[0], 3, 2 if stem_stride > 1 else 1), nn.ReLU(inplace=True)]
        if stem_stride == 4:
            stem.append(nn.MaxPool2d(3, 2, padding=1))
        blocks, channels = [nn.Sequential(*stem)], stages[0]
        for index, outputs in enumerate(stages):
            stage = [ResidualBlock(channels if b == 0 else outputs, outputs, 2 if index > 0 and b == 0 else 1)
                     for b in range(blocks_per_stage)]
            blocks.append(nn.Sequential(*stage))
            channels = outputs
        self.body = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(channels, n_outputs)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def features(self, pixels: torch.Tensor) -> torch.Tensor:
        """What the output layer separates: the last stage's activations averaged over the picture."""
        return self.body(self.input(pixels)).mean(dim=(2, 3))

    def stage_features(self, pixels: torch.Tensor) -> list[torch.Tensor]:
        """Each stage's activations, averaged down to at most 4x4 places and flattened, first stage to last."""
        hidden, pooled = self.input(pixels), []
        for block in self.body:
            hidden = block(hidden)
            pooled.append(coarse(hidden))
        return pooled[1:]

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(pixels)))
