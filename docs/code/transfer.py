"""Transfer learning: a network trained to read digits starts one that tells even from odd digits,
from only 5 pictures of each digit."""
import numpy as np
from sklearn.datasets import load_digits

from deepfit import DeepClassifier

digits = load_digits()
pictures, labels = np.round(digits.images * 255 / 16).astype(np.uint8), digits.target
source = DeepClassifier(random_state=0).fit(pictures[:900], labels[:900])    # reads digits

rng = np.random.default_rng(0)
new = np.arange(900, len(labels))
few = np.concatenate([rng.choice(new[labels[new] == d], 5, replace=False) for d in range(10)])
rest = np.setdiff1d(new, few)
parity = np.where(labels % 2 == 0, "even", "odd")
scratch = DeepClassifier(random_state=0).fit(pictures[few], parity[few])
started = DeepClassifier(random_state=0, transfer_from=source).fit(pictures[few], parity[few])
print(f"50 pictures: from scratch {scratch.score(pictures[rest], parity[rest]):.3f}, "
      f"transferred {started.score(pictures[rest], parity[rest]):.3f}")
