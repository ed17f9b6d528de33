"""The evaluation report's plots, each written to a PNG file: training curves, the confusion matrix,
the reliability diagram and a grid of the most confidently wrong pictures or spectrograms."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepfit.evaluation.plots import plain_numbers, pyplot, save_figure

MAX_ANNOTATED_CLASSES = 25  # more classes than this: colours only, no counts written in the cells


def plot_history(history: list, path) -> Path:
    """Loss per epoch (training, and validation when there was any) beside validation accuracy."""
    plt = pyplot()
    validated = [row for row in history if row.get("val_loss") is not None]
    figure, panels = plt.subplots(1, 2 if validated else 1, figsize=(10 if validated else 5.5, 3.8), squeeze=False)
    loss = panels[0, 0]
    if history:
        loss.plot([r["epoch"] for r in history], [r["train_loss"] for r in history], "o-", ms=3, label="training")
    if validated:
        epochs = [r["epoch"] for r in validated]
        loss.plot(epochs, [r["val_loss"] for r in validated], "s-", ms=3, label="validation")
        best = min(validated, key=lambda r: r["val_loss"])
        loss.axvline(best["epoch"], color="grey", ls=":", lw=1, label=f"best (epoch {best['epoch']})")
        accuracy = panels[0, 1]
        accuracy.plot(epochs, [r["val_accuracy"] for r in validated], "s-", ms=3, color="C1")
        accuracy.set(xlabel="epoch", ylabel="accuracy", title="validation accuracy", ylim=(0, 1.02))
        accuracy.grid(alpha=0.3)
    if not history:
        loss.text(0.5, 0.5, "no training history in this model", ha="center", va="center", transform=loss.transAxes)
    losses = [v for r in history for v in (r["train_loss"], r.get("val_loss")) if v is not None and v > 0]
    if losses and max(losses) / min(losses) > 100:
        loss.set_yscale("log")  # a loss falling from 2 to 0.001 is a straight line at 0 otherwise
        plain_numbers(loss.yaxis)
    loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss per epoch")
    loss.grid(alpha=0.3)
    if history:
        loss.legend(fontsize=8)
    return save_figure(figure, path)


def plot_confusion(confusion: dict, path) -> Path:
    """Rows are the true labels, columns the predicted ones; colour is the share of the row, the
    number is the count (scikit-learn's ConfusionMatrixDisplay, normalised by row for colour)."""
    plt = pyplot()
    labels = [str(label) for label in confusion["labels"]]
    matrix = np.asarray(confusion["matrix"], dtype=float)
    shares = matrix / np.maximum(1, matrix.sum(axis=1, keepdims=True))
    side = min(12.0, max(4.0, 0.45 * len(labels) + 2.5))
    figure, axes = plt.subplots(figsize=(side + 1, side))
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    if len(labels) <= MAX_ANNOTATED_CLASSES:
        for (row, column), count in np.ndenumerate(matrix):
            axes.text(column, row, f"{int(count)}", ha="center", va="center", fontsize=8,
                      color="white" if shares[row, column] > 0.5 else "black")
    ticks = np.arange(len(labels))
    axes.set_xticks(ticks, [_short(label) for label in labels], rotation=45 if len(labels) > 4 else 0, ha="right"
                    if len(labels) > 4 else "center", fontsize=8)
    axes.set_yticks(ticks, [_short(label) for label in labels], fontsize=8)
    axes.set(xlabel="predicted label", ylabel="true label", title="confusion matrix (colour: share of the row)")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    return save_figure(figure, path)


def plot_calibration(table: dict, error: float | None, path) -> Path:
    """The reliability diagram: accuracy against confidence per bin (on the diagonal when calibrated),
    and below it how many examples fell in each bin."""
    plt = pyplot()
    edges = np.asarray(table["edges"])
    centres, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    filled = [i for i, count in enumerate(table["count"]) if count]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(5.5, 5.5), sharex=True,
                                         gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], "k--", lw=1, label="perfectly calibrated")
    top.bar(centres[filled], [table["accuracy"][i] for i in filled], width=width[filled], edgecolor="k",
            alpha=0.7, label="accuracy in the bin")
    top.plot([table["confidence"][i] for i in filled], [table["accuracy"][i] for i in filled], "o", color="C3",
             ms=4, label="mean confidence")
    subtitle = f" (expected calibration error {error:.3f})" if error is not None else ""
    top.set(ylabel="accuracy", ylim=(0, 1.02), xlim=(0, 1), title="reliability diagram" + subtitle)
    top.legend(fontsize=8, loc="lower right")
    bottom.bar(centres, table["count"], width=width, edgecolor="k", color="grey")
    bottom.set(xlabel="confidence (probability of the predicted class)", ylabel="examples")
    return save_figure(figure, path)


def plot_mistake_grid(thumbnails: list[np.ndarray], captions: list[str], path, title: str) -> Path:
    """Pictures (H, W) or (H, W, 3) uint8, or spectrograms, in a grid with a caption under each."""
    plt = pyplot()
    columns = min(6, max(1, len(thumbnails)))
    rows = max(1, -(-len(thumbnails) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(2.1 * columns, 2.5 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, picture, caption in zip(axes.flat, thumbnails, captions):
        ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None, interpolation="nearest", aspect="auto")
        ax.set_title(caption, fontsize=7)
    if not thumbnails:
        axes[0, 0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    figure.suptitle(title, fontsize=9)
    return save_figure(figure, path)


def _short(label: str, limit: int = 18) -> str:
    return label if len(label) <= limit else label[:limit - 1] + "…"


def plot_runs(curves: dict, path) -> Path:
    """Runs' training and validation loss (left) and validation accuracy (right) per epoch, one colour
    a run: `curves` maps each run's name to its epochs.jsonl rows (`deepfit runs compare`)."""
    plt = pyplot()
    figure, (loss, accuracy) = plt.subplots(1, 2, figsize=(11, 4))
    for index, (name, rows) in enumerate(curves.items()):
        colour, steps = f"C{index % 10}", [row["step_index"] for row in rows]
        loss.plot(steps, [row.get("train_loss") for row in rows], "-", color=colour, label=f"{name} (training)")
        if any(row.get("val_loss") is not None for row in rows):
            loss.plot(steps, [row.get("val_loss") for row in rows], "--", color=colour, label=f"{name} (validation)")
            accuracy.plot(steps, [row.get("val_accuracy") for row in rows], "-", color=colour, label=name)
    values = [v for rows in curves.values() for row in rows for v in (row.get("train_loss"), row.get("val_loss"))
              if v is not None and v > 0]
    if values and max(values) / min(values) > 100:
        loss.set_yscale("log")
        plain_numbers(loss.yaxis)
    loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss per epoch")
    accuracy.set(xlabel="epoch", ylabel="accuracy", title="validation accuracy", ylim=(0, 1.02))
    for axes in (loss, accuracy):
        axes.grid(alpha=0.3)
        if axes.get_lines():
            axes.legend(fontsize=7)
    if not accuracy.get_lines():
        accuracy.text(0.5, 0.5, "no validation rows in these runs", ha="center", va="center",
                      transform=accuracy.transAxes)
    return save_figure(figure, path)
