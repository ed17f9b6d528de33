"""A spam filter: messages in, "spam" or "ham" out, and the words the network learned to weigh.

    python examples/spam_filter.py --data mail/           # mail/spam/*.txt, mail/ham/*.txt
    python examples/spam_filter.py --data sms.csv         # a table with a column of text and a label column

A text becomes its words, pairs of neighbouring words and runs of letters inside words; each has a
learned vector (its embedding) with one number per class, and a message's score for a class is the
weighted sum of its features' numbers. So the words with the highest numbers for "spam" are the ones
that make a message look like spam: that is what the network learned.
"""

import argparse

import numpy as np
from sklearn.model_selection import train_test_split

from deepfit import DeepClassifier
from deepfit.data.kinds import TEXT


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a folder of .txt files in one sub-folder per class, or a CSV")
    parser.add_argument("--text", help="the text column of a CSV (default: the one column of text)")
    parser.add_argument("--top", type=int, default=8, help="words to show for each class")
    args = parser.parse_args(argv)

    examples = TEXT.read(args.data, labelled=True, text_column=args.text)
    X_train, X_test, y_train, y_test = train_test_split(examples.X, examples.labels, test_size=0.25,
                                                        random_state=0, stratify=examples.labels)
    print(f"{len(X_train)} training and {len(X_test)} test messages")
    clf = DeepClassifier(random_state=0).fit(X_train, y_train)
    print(f"test accuracy {clf.score(X_test, y_test):.4f}")

    # Each word's own number for each class: its embedding through the output layer.
    network, words = clf.module_, clf.encoder_.vocabulary
    weights = network.head(network.body.embedding.weight[1:len(words) + 1]).detach().numpy()
    for index, label in enumerate(clf.classes_):
        margin = weights[:, index] - np.delete(weights, index, axis=1).max(axis=1)
        top = [words[i] for i in np.argsort(-margin)[:args.top] if words[i].isalpha()]
        print(f"words that make a message '{label}': {', '.join(top)}")
    for text in X_test[:3]:
        print(f"  {clf.predict([text])[0]:>6}  <- {text[:70]}")


if __name__ == "__main__":
    main()
