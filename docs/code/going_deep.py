"""150 hidden layers: trainable because each block adds to its input (a residual connection) and
normalises what it passes on."""
from sklearn.datasets import make_moons

from deepfit import DeepClassifier

X, y = make_moons(400, noise=0.15, random_state=0)
deep = DeepClassifier(hidden_layers=150, width=32, max_epochs=30, random_state=0).fit(X, y)
print(f"150 hidden layers: residual {deep.architecture_['residual']}, training accuracy {deep.score(X, y):.3f}")
