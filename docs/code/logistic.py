"""Logistic regression: the sigmoid, the 0.5 threshold and binary cross-entropy, with exact numbers."""
import numpy as np

from deepfit import LogisticRegression
from deepfit.models.neuron import binary_cross_entropy_of_weights, sigmoid, weighted_sum

z = weighted_sum([2, 3], [2, 3], bias=0.1)
p = float(sigmoid(z))
print(f"sigmoid(13.1) = {p:.6f}; label {int(p >= 0.5)} (at least 0.5 means class 1)")

X = np.array([[2, 3], [1, 4], [-1, -3], [-4, -5]], dtype=float)
y = np.array([1, 1, 0, 0])
for weights in ([0, 0], [1, -1], [1, 1]):   # how wrong is each choice of weights? lower is better
    loss = float(binary_cross_entropy_of_weights(X, y, weights, bias=0.0))
    print(f"summed binary cross-entropy, weights {weights}: {loss:.4f}")

model = LogisticRegression(random_state=0).fit(X, y)
print("probabilities of class 1:", np.round(model.predict_proba(X)[:, 1], 3).tolist())
