"""Review sentiment: a review in, "pos" or "neg" out, and why word order matters.

    python examples/review_sentiment.py --data reviews.csv --text review
    python examples/review_sentiment.py --data reviews/             # reviews/pos/*.txt, reviews/neg/*.txt

"not good, rather bad" and "not bad, rather good" hold the same words. A bag of words alone cannot
tell them apart; deepfit's text network also counts pairs of neighbouring words ("not good", "not
bad"), which carry some of the order. This example trains it twice on the same reviews: as written,
and with the words of every review shuffled (the bag of words stays, the order is gone). The
difference is what word order was worth on your reviews. Then it trains the network that reads the
whole order (model="cnn": filters slide over runs of 3 and 5 words, beside the bag), which deepfit
chooses by itself for 2,000 texts or more of at most 100 words.
"""

import argparse

import numpy as np
from sklearn.model_selection import train_test_split

from deepfit import DeepClassifier
from deepfit.data.kinds import TEXT


def shuffled(texts, seed: int = 0):
    """Each text with its words in a random order."""
    rng = np.random.default_rng(seed)
    return np.array([" ".join(rng.permutation(text.split())) for text in texts], dtype=object)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a CSV with a column of reviews and a label column, or a folder")
    parser.add_argument("--text", help="the text column of a CSV (default: the one column of text)")
    args = parser.parse_args(argv)

    examples = TEXT.read(args.data, labelled=True, text_column=args.text)
    X_train, X_test, y_train, y_test = train_test_split(examples.X, examples.labels, test_size=0.25,
                                                        random_state=0, stratify=examples.labels)
    print(f"{len(X_train)} training and {len(X_test)} test reviews")
    clf = DeepClassifier(random_state=0).fit(X_train, y_train)
    ordered = clf.score(X_test, y_test)
    bag = DeepClassifier(random_state=0).fit(shuffled(X_train), y_train)
    unordered = bag.score(shuffled(X_test, seed=1), y_test)
    print(f"as written:          test accuracy {ordered:.4f}")
    print(f"words shuffled:      test accuracy {unordered:.4f}")
    print(f"word order was worth {100 * (ordered - unordered):+.1f} points here")
    reader = DeepClassifier(random_state=0, model="cnn").fit(X_train, y_train)
    print(f"reading whole order: test accuracy {reader.score(X_test, y_test):.4f} (model='cnn')")
    for review in ("not good , rather bad", "not bad , rather good"):
        print(f"  {clf.predict([review])[0]:>4}  <- {review!r}")


if __name__ == "__main__":
    main()
