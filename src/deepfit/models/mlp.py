"""The multi-layer perceptron: input layer, any number of hidden layers, output layer.

With no hidden layer it is a linear model: the perceptron (step output) and logistic regression
(sigmoid or softmax output) are this network with `hidden_layers=0`. A few hidden layers are a
plain stack, Linear -> ReLU, the fastest form to train. From `RESIDUAL_FROM` hidden layers on,
the layers after the first are pre-norm residual blocks, h + W·relu(LayerNorm(h)): that is what
lets 150 of them train, where a plain stack of that depth stays at chance.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from deepfit.models.freezing import FreezableBody

OUTPUTS = ("softmax", "sigmoid", "step")
RESIDUAL_FROM = 4  # hidden layers; below this a plain stack trains as well and about 30% faster


class ResidualBlock(nn.Module):
    """One hidden layer: h + dropout(W · relu(LayerNorm(h)))."""

    def __init__(self, width: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.linear = nn.Linear(width, width)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden + self.dropout(self.linear(torch.relu(self.norm(hidden))))


class MLP(FreezableBody, nn.Module):
    """Input features -> `hidden_layers` layers of `width` units -> one score per output unit.

    `forward` returns the scores (logits); `output` names how the estimators turn them into
    answers: ``softmax`` (one unit per class), ``sigmoid`` (one unit, two classes) or ``step``
    (the perceptron's hard 0/1).

    >>> net = MLP(n_inputs=4, n_outputs=3, hidden_layers=2, width=8)
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 3])
    """

    def __init__(self, n_inputs: int, n_outputs: int, hidden_layers: int = 2, width: int = 256,
                 dropout: float = 0.0, output: str = "softmax", residual: bool | None = None,
                 image_channels: int | None = None):
        super().__init__()
        # Pictures given to an MLP (the beginner's flattened MNIST) are normalised, then flattened.
        self.input = None
        if image_channels:
            from deepfit.models.cnn import ImageInput

            self.input = ImageInput(image_channels)
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        self.output = output
        self.hidden_layers = hidden_layers
        self.residual = hidden_layers >= RESIDUAL_FROM if residual is None else residual
        if hidden_layers == 0:
            self.body = nn.Identity()
            self.head = nn.Linear(n_inputs, n_outputs)
        elif self.residual:
            blocks = [ResidualBlock(width, dropout) for _ in range(hidden_layers - 1)]
            self.body = nn.Sequential(nn.Linear(n_inputs, width), *blocks, nn.LayerNorm(width), nn.ReLU())
            self.head = nn.Linear(width, n_outputs)
        else:
            layers = []
            for index in range(hidden_layers):
                layers += [nn.Linear(n_inputs if index == 0 else width, width), nn.ReLU(inplace=True)]
                if dropout > 0:
                    layers.append(nn.Dropout(dropout))
            self.body = nn.Sequential(*layers)
            self.head = nn.Linear(width, n_outputs)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                # He initialisation suits ReLU; PyTorch's default is smaller and slows deep nets.
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
        blocks = [m for m in self.modules() if isinstance(m, ResidualBlock)]
        for block in blocks:
            # Shrink each residual branch so the sum over many blocks starts near the identity.
            block.linear.weight.data.mul_(1 / math.sqrt(len(blocks)))
        if self.hidden_layers:
            nn.init.xavier_uniform_(self.head.weight)
        else:
            nn.init.zeros_(self.head.weight)  # a linear model starts from w = 0, as the textbook does

    def features(self, inputs: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activations: what the output layer separates."""
        if self.input is not None:
            inputs = self.input(inputs).flatten(1)
        if self.training or self.residual or self.hidden_layers == 0:
            return self.body(inputs)
        # Predicting with a plain stack: the same arithmetic without a Module call per layer, which
        # is most of the time of a one-row prediction.
        hidden = inputs
        for layer in self.body:
            if isinstance(layer, nn.Linear):
                hidden = torch.relu(nn.functional.linear(hidden, layer.weight, layer.bias))
        return hidden

    def stage_features(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        """Every hidden layer's activations, from the first to the last."""
        hidden = self.input(inputs).flatten(1) if self.input is not None else inputs
        stages = []
        for layer in self.body if self.hidden_layers else []:
            hidden = layer(hidden)
            if isinstance(layer, (nn.ReLU, ResidualBlock)):
                stages.append(hidden)
        return stages

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        hidden = self.features(inputs)
        return nn.functional.linear(hidden, self.head.weight, self.head.bias)
