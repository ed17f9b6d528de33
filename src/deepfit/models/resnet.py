"""ResNet-18/34/50 with torchvision's parameter names, so users' ImageNet weights load unchanged.

Only the layout is torchvision's (``conv1``, ``bn1``, ``layer1.0.conv1``, ``downsample.0``, ...);
the code is ours and torchvision is not needed. In deepfit the torchvision names sit under
``body.``, the classifier is ``head`` (torchvision's ``fc``), and ``input`` normalises the pixels
with ImageNet's statistics, as those weights expect.
"""

from __future__ import annotations

import torch
from torch import nn

from deepfit.models.cnn import ImageInput, coarse
from deepfit.models.freezing import FreezableBody

DEPTHS = {18: ("basic", [2, 2, 2, 2]), 34: ("basic", [3, 4, 6, 3]), 50: ("bottleneck", [3, 4, 6, 3])}
IMAGENET_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
IMAGENET_STD = [0.229 * 255, 0.224 * 255, 0.225 * 255]


class _Basic(nn.Module):
    expansion = 1

    def __init__(self, inputs: int, width: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = _downsample(inputs, width, stride)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + (self.downsample(x) if self.downsample else x))


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inputs: int, width: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.downsample = _downsample(inputs, width * 4, stride)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        return torch.relu(self.bn3(self.conv3(out)) + (self.downsample(x) if self.downsample else x))


def _downsample(inputs: int, outputs: int, stride: int):
    if stride == 1 and inputs == outputs:
        return None
    return nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs))


class _Body(nn.Module):
    def __init__(self, depth: int, in_channels: int):
        super().__init__()
        kind, counts = DEPTHS[depth]
        block = _Basic if kind == "basic" else _Bottleneck
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inputs = 64
        for index, (count, width) in enumerate(zip(counts, [64, 128, 256, 512])):
            blocks = []
            for b in range(count):
                blocks.append(block(inputs, width, 2 if index > 0 and b == 0 else 1))
                inputs = width * block.expansion
            setattr(self, f"layer{index + 1}", nn.Sequential(*blocks))
        self.n_features = inputs

    def stages(self, x):
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        out = []
        for index in range(1, 5):
            x = getattr(self, f"layer{index}")(x)
            out.append(x)
        return out

    def forward(self, x):
        return self.stages(x)[-1]


class TorchvisionResNet(FreezableBody, nn.Module):
    """ResNet-`depth` (18, 34 or 50) whose ``body`` takes torchvision's state_dict keys (minus ``fc``)."""

    output = "softmax"

    def __init__(self, depth: int, n_outputs: int, in_channels: int = 3, image_size=(224, 224), dropout: float = 0.0):
        super().__init__()
        if depth not in DEPTHS:
            raise ValueError(f"ResNet depth must be one of {sorted(DEPTHS)}, got {depth}")
        self.input = ImageInput(in_channels)
        self.input.set_statistics(IMAGENET_MEAN[:in_channels], IMAGENET_STD[:in_channels])
        self.body = _Body(depth, in_channels)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(self.body.n_features, n_outputs)

    def features(self, pixels):
        return self.body(self.input(pixels)).mean(dim=(2, 3))

    def stage_features(self, pixels):
        return [coarse(stage) for stage in self.body.stages(self.input(pixels))]

    def forward(self, pixels):
        return self.head(self.dropout(self.features(pixels)))


def resnet_depth_of(state_dict: dict) -> int | None:
    """Which torchvision ResNet a state_dict is (18, 34, 50), from its keys; None when it is none of them."""
    keys = {k.removeprefix("module.") for k in state_dict}
    if "conv1.weight" not in keys or "layer4.0.conv1.weight" not in keys:
        return None
    bottleneck = "layer1.0.conv3.weight" in keys
    blocks = [len({k.split(".")[1] for k in keys if k.startswith(f"layer{i}.")}) for i in range(1, 5)]
    for depth, (kind, counts) in DEPTHS.items():
        if counts == blocks and (kind == "bottleneck") == bottleneck:
            return depth
    return None
