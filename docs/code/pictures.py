"""Pictures: digits as 8x8 pictures, and a convolutional network chosen for them."""
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from deepfit import DeepClassifier

digits = load_digits()
pictures = np.round(digits.images * 255 / 16).astype(np.uint8)   # (1797, 8, 8) grey pictures
X_train, X_test, y_train, y_test = train_test_split(pictures, digits.target, test_size=0.2, random_state=0,
                                                    stratify=digits.target)
model = DeepClassifier(random_state=0).fit(X_train, y_train)     # deepfit.read_images("photos/") for files
print(f"network: {model.architecture_['name']}, test accuracy {model.score(X_test, y_test):.3f}")
