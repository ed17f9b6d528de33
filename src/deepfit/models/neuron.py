"""One artificial neuron, as a textbook writes it: weighted sum plus bias, then an activation.

These are the pieces the networks are made of, kept separate so that a learner can run each
one by hand (examples/perceptron_walkthrough.py does) and check it against the textbook.

>>> z = weighted_sum([2.0, 3.0], [2.0, 3.0], bias=0.1)
>>> round(float(z), 10), int(step(z)), float(sigmoid(z))
(13.1, 1, 0.9999979547735586)
"""

from __future__ import annotations

import torch


def _as_tensor(values) -> torch.Tensor:
    return torch.as_tensor(values, dtype=torch.float64)


def weighted_sum(inputs, weights, bias: float = 0.0) -> torch.Tensor:
    """z = w · x + b, for one example (a vector) or many (one row each)."""
    return _as_tensor(inputs) @ _as_tensor(weights) + bias


def step(z) -> torch.Tensor:
    """The perceptron's activation: 1 where z >= 0, else 0."""
    return (_as_tensor(z) >= 0).to(torch.int64)


def sigmoid(z) -> torch.Tensor:
    """The logistic function 1 / (1 + e^-z): a score squashed into a probability."""
    return torch.sigmoid(_as_tensor(z))


def binary_cross_entropy(labels, probabilities, reduction: str = "sum") -> torch.Tensor:
    """-[y log p + (1 - y) log(1 - p)], summed (or averaged with reduction="mean") over examples."""
    return torch.nn.functional.binary_cross_entropy(_as_tensor(probabilities), _as_tensor(labels),
                                                    reduction=reduction)


def binary_cross_entropy_of_weights(inputs, labels, weights, bias: float = 0.0, reduction: str = "sum"):
    """The loss logistic regression minimises, for given weights: BCE of sigmoid(w · x + b)."""
    return binary_cross_entropy(labels, sigmoid(weighted_sum(inputs, weights, bias)), reduction=reduction)
