"""Deep or shallow? Learning curves on growing shares of the same data (`deepfit compare DATA`)."""
import os
from pathlib import Path

from sklearn.datasets import load_digits

from deepfit.evaluation.compare import compare

figures = Path(os.environ.get("FIGURES", "."))
digits = load_digits()
result = compare(digits.data, digits.target, fractions=(0.1, 0.5, 1.0), seed=0)
print(result.advice())
result.plot(figures / "deep_vs_shallow.png")
