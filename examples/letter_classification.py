"""Letter classification: A to Z, learned from pictures or from the 16-number table made of them.

    python examples/letter_classification.py
    python examples/letter_classification.py --per-class 100

The classic UCI "letter recognition" data set describes each letter with 16 numbers (box size,
ink, moments, edges). Here the letters are drawn on the spot, and `letter_features` computes those
16 numbers from the same pictures, so the two ways of learning can be compared on the same letters:
a CNN on the pixels, and deepfit's MLP on the table (beside scikit-learn's gradient boosting).
"""

import argparse

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split

from deepfit import DeepClassifier
from deepfit.data.synthetic import letter_features, letters


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=60, help="pictures per letter")
    parser.add_argument("--max-epochs", type=int, default=None)
    args = parser.parse_args(argv)

    pictures, labels = letters(per_class=args.per_class, size=16, seed=0)
    table = letter_features(pictures)
    rows = np.arange(len(labels))
    train, test = train_test_split(rows, test_size=0.25, random_state=0, stratify=labels)
    print(f"{len(train)} training and {len(test)} test letters, 26 classes")

    results = {}
    cnn = DeepClassifier(max_epochs=args.max_epochs, random_state=0).fit(pictures[train], labels[train])
    results["CNN on 16x16 pictures"] = cnn.score(pictures[test], labels[test])
    mlp = DeepClassifier(max_epochs=args.max_epochs, random_state=0).fit(table[train], labels[train])
    results["MLP on the 16-feature table"] = mlp.score(table[test], labels[test])
    boosting = HistGradientBoostingClassifier(random_state=0).fit(table[train], labels[train])
    results["gradient boosting on the table"] = boosting.score(table[test], labels[test])
    for name, accuracy in results.items():
        print(f"{name:>32}: test accuracy {accuracy:.4f}")
    print(f"augmentation chosen for the letter pictures: {cnn.augmentation_} (never flips: a mirrored J is no J)")
    return results


if __name__ == "__main__":
    main()
