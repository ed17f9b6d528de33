"""`deepfit demo`: the main job on bundled data, start to finish, in a few seconds."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from deepfit.cli import cli
from deepfit.run_folder import write_json


@cli.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("runs/demo"), show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def demo(out_dir, seed):
    """Train a convolutional network on the handwritten digits bundled with scikit-learn, as 8x8
    pictures, and write its model, metrics and report."""
    from deepfit import DeepClassifier
    from deepfit.evaluation.report import evaluate

    X_train, X_test, y_train, y_test = digit_pictures(seed)
    click.echo(f"handwritten digits: {len(X_train)} training and {len(X_test)} test pictures of 8x8 pixels, "
               "10 classes")
    classifier = DeepClassifier(random_state=seed, verbose=True).fit(X_train, y_train)
    evaluation = evaluate(classifier, X_test, y_test)
    test = evaluation.metrics
    model_path = classifier.save(out_dir / "model.deepfit", metadata={"trained_on": "sklearn digits"})
    write_json(out_dir / "metrics.json", {"data": "sklearn digits", "n_train": len(X_train),
                                          "n_test": len(X_test), "test": test,
                                          "training": classifier.training_summary_,
                                          "history": classifier.history_})
    click.echo(f"test accuracy: {test['accuracy']:.4f} on {len(X_test)} held-out pictures")
    report = evaluation.write_report(out_dir / "report.html", title="deepfit demo: handwritten digits")
    click.echo(f"model written to {model_path}, metrics to {out_dir / 'metrics.json'}, report to {report}")
    click.echo(NEXT.format(report=report, model=model_path))


NEXT = """
What next:
  - Open {report} in a browser: the training curves, which digits it confuses, and the pictures it
    got most confidently wrong.
  - Run 'deepfit serve {model}' and open http://127.0.0.1:8000: draw a digit and watch its answer.
  - Train on your own pictures: 'deepfit train photos/' (one sub-folder per class)."""


def digit_pictures(seed: int):
    """scikit-learn's 1,797 digits as 8x8 grey pictures (0-16 scaled to 0-255), split 80/20 by class."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    pictures = np.round(digits.images * (255 / 16)).astype(np.uint8)
    return train_test_split(pictures, digits.target, test_size=0.2, random_state=seed, stratify=digits.target)
