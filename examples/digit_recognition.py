"""Digit recognition: pictures of handwritten digits in, the digit out.

    python examples/digit_recognition.py                       # scikit-learn's 8x8 digits (bundled)
    python examples/digit_recognition.py --data train-images-idx3-ubyte.gz   # MNIST, if you have it
    python examples/digit_recognition.py --plot layers.png     # what each layer learned

The convolutional network deepfit picks for pictures is compared with the same data flattened into
a plain multi-layer perceptron (`model="mlp"`), the network of most first tutorials. Digits are never
flipped during training (a mirrored 2 is not a 2): deepfit sees that in the data and only shifts them.
"""

import argparse

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from deepfit import DeepClassifier, read_images


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="an MNIST IDX images file or a folder of digit pictures (default: sklearn's digits)")
    parser.add_argument("--max-epochs", type=int, default=None, help="default: deepfit's choice")
    parser.add_argument("--limit", type=int, default=None, help="use only this many pictures (a quick look)")
    parser.add_argument("--plot", help="write a PNG of each layer's features, coloured by digit")
    args = parser.parse_args(argv)

    if args.data:
        pictures = read_images(args.data, labelled=True)
        X, y = pictures.images, pictures.labels
    else:
        X, y = load_digits().images, load_digits().target  # 1,797 pictures of 8x8 pixels, values 0..16
    if args.limit:
        X, y = X[:args.limit], y[:args.limit]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    print(f"{len(X_train)} training and {len(X_test)} test pictures of {X.shape[1]}x{X.shape[2]} pixels")

    for name, model in (("convolutional network", "auto"), ("flattened-pixel MLP", "mlp")):
        clf = DeepClassifier(model=model, max_epochs=args.max_epochs, random_state=0).fit(X_train, y_train)
        print(f"{name:>22}: test accuracy {clf.score(X_test, y_test):.4f} "
              f"({clf.training_summary_['seconds']:.1f} s, augmentation: {clf.augmentation_})")
        if model == "auto":
            cnn = clf
    if args.plot:
        from deepfit.evaluation.layers import plot_layer_projections

        for row in plot_layer_projections(cnn, X_test, y_test, args.plot):
            print(f"  {row['layer']:>8}: a linear classifier on its features scores {row['separation']:.3f}")
        print(f"wrote {args.plot}")
    return cnn.score(X_test, y_test)


if __name__ == "__main__":
    main()
