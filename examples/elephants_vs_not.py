"""Elephant or not: the binary picture classifier, from a folder of labelled photos.

    python examples/elephants_vs_not.py                  # draws scenes into runs/elephants/pictures
    python examples/elephants_vs_not.py --data photos/   # photos/elephant/*.jpg, photos/not_elephant/*.jpg

The same as the command line does:

    deepfit train photos/ --out runs/elephants
    deepfit predict runs/elephants/model.deepfit new_photos/ -o predictions.csv
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.model_selection import train_test_split

from deepfit import DeepClassifier, load, read_images
from deepfit.data.synthetic import elephants


def write_folder(root: Path, per_class: int) -> Path:
    """Draw scenes and save them as JPEG files, one sub-folder per class, like a photo collection."""
    pictures, labels = elephants(per_class=per_class, size=48, seed=0)
    for index, (picture, label) in enumerate(zip(pictures, labels)):
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(picture).save(folder / f"{index:05d}.jpg", quality=90)
    return root


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a folder with one sub-folder per class")
    parser.add_argument("--out", type=Path, default=Path("runs/elephants"))
    parser.add_argument("--per-class", type=int, default=150)
    parser.add_argument("--max-epochs", type=int, default=None)
    args = parser.parse_args(argv)

    folder = args.data or write_folder(args.out / "pictures", args.per_class)
    pictures = read_images(folder, labelled=True)  # checks every file first; decoded once, then cached
    X, y = pictures.images, pictures.labels
    print(f"{len(y)} pictures from {folder}: " + ", ".join(f"{c} {n}" for c, n in zip(*np.unique(y, return_counts=True))))
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    clf = DeepClassifier(max_epochs=args.max_epochs, random_state=0).fit(X_train, y_train)
    path = clf.save(args.out / "model.deepfit")
    again = load(path)
    accuracy = again.score(X_test, y_test)
    print(f"test accuracy {accuracy:.4f}; model saved to {path}")
    probability = again.predict_proba(X_test[:1])[0]
    print("first test picture: " + ", ".join(f"{c} {p:.2f}" for c, p in zip(again.classes_, probability)))
    return accuracy


if __name__ == "__main__":
    main()
