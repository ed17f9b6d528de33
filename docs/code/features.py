"""Features: what each layer passes on, and the last one as the numbers a shallow model can use."""
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from deepfit import DeepClassifier

digits = load_digits()
pictures = np.round(digits.images * 255 / 16).astype(np.uint8)
model = DeepClassifier(random_state=0).fit(pictures[:1200], digits.target[:1200])
stages = model.stage_features(pictures[:5])
print("numbers each stage passes on:", [stage.reshape(len(stage), -1).shape[1] for stage in stages])
features = model.transform(pictures)                       # `deepfit features MODEL DATA` on the command line
shallow = LogisticRegression(max_iter=2000).fit(features[:1200], digits.target[:1200])
print(f"logistic regression on the learned features: {shallow.score(features[1200:], digits.target[1200:]):.3f}")
