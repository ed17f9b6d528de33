"""The evaluation report as one self-contained HTML file: every plot, thumbnail and sound embedded as
a data: URI, no script, a Content-Security-Policy that forbids loading anything from elsewhere, and
every piece of user text (class names, file names, cell values) escaped."""

from __future__ import annotations

import base64
import datetime
import io
from html import escape
from pathlib import Path

import numpy as np

from deepfit.atomic import write_atomically
from deepfit.data import kinds
from deepfit.evaluation.report_plots import plot_mistake_grid

HIGHLIGHTED_WORDS = 8     # words highlighted in a wrong text
TABLE_COLUMNS = 20        # feature columns shown for a wrong row; the rest are counted
THUMBNAIL_SIDE = 128

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;background:#f6f7f9}
main{max-width:1120px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:1.55em;margin:.2em 0}h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid #d8dce3;padding-bottom:.2em}
.meta{color:#566070;margin:0 0 1em;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.card{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:8px 12px}
.texts .example{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:8px 12px;margin:8px 0}
.texts blockquote{margin:0 0 6px;white-space:pre-wrap;overflow-wrap:anywhere}
mark{border-radius:3px;padding:0 2px;color:#1d2430}mark.up{background:rgba(255,140,0,.6)}mark.down{background:rgba(40,120,255,.6)}
.card b{display:block;font-size:1.45em}.card span{color:#566070;font-size:.85em}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;background:#fff;font-size:.9em}
th,td{border:1px solid #d8dce3;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#eef0f4}td.text,th.text{text-align:left}
figure{margin:0 0 12px;background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:8px;max-width:100%}
figure img{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption{color:#566070;font-size:.88em;margin-top:4px}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}
.sounds{grid-template-columns:repeat(auto-fill,minmax(300px,1fr))}
.example{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:6px;font-size:.85em;min-width:0}
.example img{display:block;width:100%;height:auto;image-rendering:pixelated}
.sounds .example img{image-rendering:auto}
.example audio{width:100%;margin-top:4px}
.name{color:#566070;overflow-wrap:anywhere}.wrong{color:#b3261e;font-weight:600}
"""

def write_report(evaluation, path: Path, title: str) -> Path:
    """Write the PNG plots beside `path`, then the HTML that embeds them (atomically, last)."""
    stem = path.with_suffix("")
    plots = [("Training", evaluation.plot_history(f"{stem}_training.png"), _history_caption(evaluation)),
             ("Confusion matrix", evaluation.plot_confusion(f"{stem}_confusion.png"),
              "Rows are the true labels and columns the predicted ones: the diagonal is what the model got "
              "right. Colour is the share of the row, the number is the count.")]
    calibration = evaluation.plot_calibration(f"{stem}_calibration.png")
    if calibration is not None:
        plots.append(("Calibration", calibration,
                      "When the model says 80%, is it right 80% of the time? Bars on the diagonal mean yes; bars "
                      "below it mean the model is overconfident, above it underconfident."))
    kind = kinds.of(evaluation.encoder)
    mistakes = evaluation.mistakes(kind.mistakes_shown)
    examples = _examples_html(evaluation, mistakes, kind, stem)
    body = [f"<h1>{escape(title)}</h1>", f'<p class="meta">{_meta(evaluation)}</p>', _cards(evaluation.metrics),
            "<h2>Per class</h2>", _per_class_table(evaluation.metrics)]
    for heading, png, caption in plots:
        body += [f"<h2>{escape(heading)}</h2>", _figure(png.read_bytes(), heading, caption)]
    body += ["<h2>Most confidently wrong</h2>", examples]
    page = ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
            "media-src data:; style-src 'unsafe-inline'\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body><main>\n"
            + "\n".join(body) + "\n</main></body></html>\n")
    return write_atomically(path, page.encode("utf-8"))


# ------------------------------------------------------------------------------------ the parts
def _meta(evaluation) -> str:
    training = evaluation.training
    parts = [f"{evaluation.metrics['n_samples']} examples, {len(evaluation.classes)} classes"]
    if training:
        parts.append(f"trained {training.get('epochs', '?')} epochs on {training.get('n_train', '?')} examples "
                     f"in {training.get('seconds', 0):.1f} s on {training.get('device', '?')}")
    parts.append(datetime.datetime.now().strftime("written %Y-%m-%d %H:%M"))
    return escape(" · ".join(parts))


def _cards(metrics: dict) -> str:
    shown = [("accuracy", "accuracy"), ("balanced_accuracy", "balanced accuracy"), ("macro_f1", "macro F1"),
             ("log_loss", "log-loss"), ("roc_auc", "ROC AUC"),
             ("expected_calibration_error", "calibration error")]
    cards = [f'<div class="card"><b>{metrics[key]:.4f}</b><span>{label}</span></div>'
             for key, label in shown if key in metrics]
    return '<section class="cards">' + "".join(cards) + "</section>"


def _per_class_table(metrics: dict) -> str:
    rows = ["<tr><th class=\"text\">class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>"]
    for name, row in metrics["per_class"].items():
        rows.append(f'<tr><td class="text">{escape(name)}</td><td>{row["precision"]:.3f}</td>'
                    f'<td>{row["recall"]:.3f}</td><td>{row["f1"]:.3f}</td><td>{row["support"]}</td></tr>')
    return '<div class="scroll"><table>' + "".join(rows) + "</table></div>"


def _history_caption(evaluation) -> str:
    training = evaluation.training
    if not evaluation.history:
        return "This model holds no training history."
    refit = training.get("refit")
    if isinstance(refit, dict):  # a small table held rows out first, then was trained again on every row
        return (f"{refit.get('first_epochs')} epochs with a tenth of the rows held out; {refit.get('reason', '')} "
                f"({refit.get('epochs')} epochs on all {refit.get('n_train')} rows, whose weights are kept). The "
                "validation curve is the first run's.")
    text = f"Stopped after {training.get('epochs', len(evaluation.history))} epochs: {training.get('stop_reason', '')}."
    if "best_epoch" in training and training.get("val_loss") is not None and training.get("val_accuracy") is not None:
        text += (f" The weights kept are those of epoch {training['best_epoch']} (validation loss "
                 f"{training['val_loss']:.4f}, accuracy {training['val_accuracy']:.4f}).")
        text += " A validation loss rising while the training loss falls is overfitting."
    return text


def _figure(png: bytes, alt: str, caption: str) -> str:
    return (f'<figure><img alt="{escape(alt)}" src="{_data_uri(png, "image/png")}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _examples_html(evaluation, mistakes: list[dict], kind, stem: Path) -> str:
    if not mistakes:
        return "<p>The model got every example right.</p>"
    wrong = int((evaluation.y_pred != evaluation.y_true).sum())
    surest = ("the model was surest of" if evaluation.probabilities is not None else
              "farthest from the model's boundary" if evaluation.margins is not None else "first in the data")
    intro = (f"<p>{wrong} of {len(evaluation.y_true)} examples are wrong; the {len(mistakes)} {surest} are below. "
             "Some may be labelled wrongly rather than predicted wrongly.</p>")
    shown = kind.show_examples(evaluation.inputs, evaluation.encoder, [m["index"] for m in mistakes])
    if shown is None:
        return intro + _row_table(evaluation, mistakes)
    if shown and shown[0].text is not None:
        return intro + _text_list(shown, mistakes, evaluation)
    return intro + _gallery(shown, mistakes, kind, stem)


def _text_list(shown: list, mistakes: list[dict], evaluation) -> str:
    """The wrong texts, each with its name, true and predicted label, and the words that weighed most
    highlighted: orange pushed towards the wrong answer, blue away from it."""
    cells = []
    for mistake, example in zip(mistakes, shown):
        whole = str(evaluation.inputs[mistake["index"]])
        visible = len(example.text) if example.text == whole else len(example.text) - len(" ...")
        weights = [(span, w) for span, w in evaluation.weights.get(mistake["index"], []) if span[1] <= visible]
        cells.append(f'<div class="example text"><blockquote>{_highlighted(example.text, weights)}</blockquote>'
                     f"{_caption(mistake)}</div>")
    legend = ("<p>Highlighted: the words that weighed most, found by hiding each word in turn; "
              '<mark class="up">orange</mark> ones pushed towards the wrong answer, <mark class="down">blue</mark> '
              "ones away from it. Hover over a word for the change in probability.</p>") if evaluation.weights else ""
    return legend + '<div class="texts">' + "".join(cells) + "</div>"


def _highlighted(text: str, weights: list, most: int = HIGHLIGHTED_WORDS) -> str:
    """`text`, escaped, with its `most` heaviest words marked, shaded by their weight."""
    heaviest = sorted((item for item in weights if item[1] != 0), key=lambda item: -abs(item[1]))[:most]
    if not heaviest:
        return escape(text)
    largest = abs(heaviest[0][1])
    pieces, at = [], 0
    for (start, end), weight in sorted(heaviest):
        side, strength = ("up" if weight > 0 else "down"), 0.2 + 0.7 * abs(weight) / largest
        colour = "255,140,0" if weight > 0 else "40,120,255"
        pieces += [escape(text[at:start]), f'<mark class="{side}" style="background:rgba({colour},{strength:.2f})" '
                   f'title="{weight:+.3f}" data-weight="{weight:.5f}">{escape(text[start:end])}</mark>']
        at = end
    return "".join(pieces) + escape(text[at:])


def _sureness(mistake: dict) -> str:
    if mistake["confidence"] is not None:
        return f"{mistake['confidence']:.3f}"
    return "" if mistake.get("margin") is None else f"margin {mistake['margin']:.3g}"


def _caption(mistake: dict) -> str:
    confidence = "" if mistake["confidence"] is None else f" ({mistake['confidence']:.0%})"
    return (f'<div class="name">{escape(mistake["name"])}</div><div>true <b>{escape(str(mistake["true"]))}</b>, '
            f'predicted <span class="wrong">{escape(str(mistake["predicted"]))}{confidence}</span></div>')


def _gallery(shown: list, mistakes: list[dict], kind, stem: Path) -> str:
    """The wrong examples as the kind shows them: thumbnails, or coloured spectrograms with a player."""
    what = kind.words.shown
    images = [_coloured(s.image) if s.values else s.image for s in shown]
    cells = []
    for mistake, image, example in zip(mistakes, images, shown):
        alt = f"{what} of {mistake['name']}" if what else mistake["name"]
        png = _png(image, (300, 110)) if example.values else _png(_thumbnail(image))
        player = "" if example.sound is None else (
            f'<audio controls preload="none" src="{_data_uri(_wav(*example.sound), "audio/wav")}"></audio>')
        cells.append(f'<div class="example"><img alt="{escape(alt)}" src="{_data_uri(png, "image/png")}">{player}'
                     f"{_caption(mistake)}</div>")
    plot_mistake_grid(images, [f"{m['true']} → {m['predicted']}" for m in mistakes], f"{stem}_mistakes.png",
                      f"most confidently wrong{f', as {what}s' if what else ''} (true → predicted)")
    sounds = " sounds" if any(example.sound is not None for example in shown) else ""
    return f'<div class="gallery{sounds}">' + "".join(cells) + "</div>"


def _row_table(evaluation, mistakes: list[dict]) -> str:
    import pandas as pd

    frame = evaluation.inputs if isinstance(evaluation.inputs, pd.DataFrame) else pd.DataFrame(
        np.asarray(evaluation.inputs))  # columns named by position, as the model, the server and check name them
    columns = list(frame.columns[:TABLE_COLUMNS])
    more = len(frame.columns) - len(columns)
    head = ("<tr><th class=\"text\">example</th><th class=\"text\">true</th><th class=\"text\">predicted</th>"
            "<th>confidence</th>" + "".join(f'<th class="text">{escape(str(c))}</th>' for c in columns)
            + (f"<th>… {more} more columns</th>" if more else "") + "</tr>")
    rows = [head]
    for m in mistakes:
        values = frame.iloc[m["index"]]
        confidence = _sureness(m)
        rows.append(f'<tr><td class="text">{escape(m["name"])}</td><td class="text">{escape(str(m["true"]))}</td>'
                    f'<td class="text wrong">{escape(str(m["predicted"]))}</td><td>{confidence}</td>'
                    + "".join(f"<td>{escape(_cell(values[c]))}</td>" for c in columns)
                    + ("<td></td>" if more else "") + "</tr>")
    return '<div class="scroll"><table>' + "".join(rows) + "</table></div>"


# ------------------------------------------------------------------------------------ encodings
def _thumbnail(picture: np.ndarray) -> np.ndarray:
    """Small pictures scaled up by whole pixels (a digit's 8x8 stays crisp), large ones down."""
    from PIL import Image

    image = Image.fromarray(picture)
    side = max(image.size)
    if side < THUMBNAIL_SIDE // 2:
        factor = THUMBNAIL_SIDE // side
        image = image.resize((image.width * factor, image.height * factor), Image.NEAREST)
    elif side > THUMBNAIL_SIDE:
        image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.LANCZOS)
    return np.asarray(image)


def _coloured(spectrogram: np.ndarray) -> np.ndarray:
    """A dB spectrogram (bands, frames) as an RGB picture, low frequencies at the bottom."""
    import matplotlib

    low, high = np.percentile(spectrogram, [2, 99.5]) if spectrogram.size else (0.0, 1.0)
    scaled = (spectrogram - low) / max(high - low, 1e-6)
    rgb = matplotlib.colormaps["magma"](scaled.clip(0, 1))[..., :3]
    return (rgb[::-1] * 255).round().astype(np.uint8)


def _png(picture: np.ndarray, size: tuple[int, int] | None = None) -> bytes:
    from PIL import Image

    image = Image.fromarray(picture)
    if size is not None:
        image = image.resize(size, Image.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _wav(waveform: np.ndarray, rate: int) -> bytes:
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(waveform, -1, 1), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _data_uri(payload: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
