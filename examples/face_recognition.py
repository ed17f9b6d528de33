"""Face recognition: whose face is this? One class per person.

    python examples/face_recognition.py                     # made-up people, drawn on the spot
    python examples/face_recognition.py --data faces/       # your own: one sub-folder per person

With a folder, every picture is read, checked and resized to one size (greyscale if they all are).
Faces look alike in a mirror, so deepfit adds left-right flips to the random shifts it trains with;
it decides this from the data (`augmentation_`), and `augment=` overrides it.
"""

import argparse

from sklearn.model_selection import train_test_split

from deepfit import DeepClassifier, read_images
from deepfit.data.synthetic import faces


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a folder with one sub-folder of face pictures per person")
    parser.add_argument("--people", type=int, default=10)
    parser.add_argument("--per-person", type=int, default=30)
    parser.add_argument("--max-epochs", type=int, default=None)
    args = parser.parse_args(argv)

    if args.data:
        pictures = read_images(args.data, labelled=True)
        X, y = pictures.images, pictures.labels
    else:
        X, y = faces(people=args.people, per_person=args.per_person, size=32, seed=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    clf = DeepClassifier(max_epochs=args.max_epochs, random_state=0).fit(X_train, y_train)
    accuracy = clf.score(X_test, y_test)
    print(f"{len(set(y))} people, {len(X_train)} training pictures: test accuracy {accuracy:.4f}, "
          f"augmentation {clf.augmentation_}")
    return accuracy, clf.augmentation_


if __name__ == "__main__":
    main()
