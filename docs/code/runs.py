"""Runs that can be found again: two fits leave two run folders, listed and compared."""
import tempfile
from pathlib import Path

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

import deepfit
from deepfit.runs.comparison import compared, side_by_side
from deepfit.runs.listing import find_runs, summary, table
from deepfit.runs.record import read_epochs

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
root = Path(tempfile.mkdtemp()) / "runs"
for name, layers in (("three-layers", 3), ("one-layer", 1)):
    model = deepfit.DeepClassifier(hidden_layers=layers, random_state=0, verbose=False)
    model.fit(X_train, y_train, run_dir=root / name, test_data=(X_test, y_test))

print(sorted(path.name for path in (root / "one-layer").iterdir()))
print(f"{len(read_epochs(root / 'one-layer'))} rows in epochs.jsonl, one per epoch\n")
rows = [summary(folder, root) for folder in find_runs(root)]
print(table(rows).replace(str(root), "runs"))   # what `deepfit runs runs/` prints
print()
print(side_by_side(compared(find_runs(root))))   # what `deepfit runs compare ...` prints
