"""The evaluation report: the same numbers in the API, the JSON and the HTML; plots as PNG files; the
most confidently wrong examples as rows, thumbnails or players; and a real browser that renders it."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from browser import LAPTOP, console_errors, page_problems, save_screenshot
from conftest import run_cli, write_digit_pictures
from sklearn.datasets import load_digits

import deepfit
from deepfit import Clips, DeepClassifier, LogisticRegression
from deepfit.data.synthetic_sound import genres
from deepfit.evaluation.metrics import classification_metrics

PLOTS = ("training", "confusion", "calibration")


def mislabel(labels: np.ndarray, rows, classes) -> np.ndarray:
    """`labels` with the given rows moved to the next class: mistakes the report must show."""
    labels = labels.copy()
    for row in rows:
        labels[row] = classes[(list(classes).index(labels[row]) + 1) % len(classes)]
    return labels


@pytest.fixture(scope="module")
def table_case(tmp_path_factory):
    X, y = load_digits(return_X_y=True)
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(64)])
    model = LogisticRegression(random_state=0).fit(frame[:1200], y[:1200])
    test_labels = mislabel(y[1200:], [3, 30, 77], model.classes_)
    return model, frame[1200:].reset_index(drop=True), test_labels


@pytest.fixture(scope="module")
def picture_report(tmp_path_factory):
    """A picture model evaluated by the command line on folders with three pictures in the wrong folder."""
    root = tmp_path_factory.mktemp("pictures")
    write_digit_pictures(root / "train", per_class=15)
    write_digit_pictures(root / "test", per_class=6, offset=15)
    for k, (source, target) in enumerate([("3", "8"), ("1", "7"), ("0", "6")]):
        (root / "test" / source / f"{source}_0.png").rename(root / "test" / target / f"moved_{k}.png")
    model = root / "run" / "model.deepfit"
    trained = run_cli("train", root / "train", "--out", root / "run", "--max-epochs", "30", "--seed", "0")
    assert trained.returncode == 0, trained.stderr
    report = root / "out" / "report.html"
    result = run_cli("evaluate", model, root / "test", "--report", report, "--json")
    assert result.returncode == 0, result.stderr
    return model, root / "test", report, json.loads(result.stdout)


@pytest.fixture(scope="module")
def sound_report(tmp_path_factory):
    waveforms, labels = genres(per_class=8, rate=8000, seconds=(1.0, 1.5), seed=5)
    rows = np.random.default_rng(0).permutation(len(labels))
    clips = Clips(waveforms, 8000)
    train, test = rows[:20], rows[20:]
    model = DeepClassifier(random_state=0, max_epochs=15).fit(clips[train], labels[train])
    wrong = mislabel(labels[test], [0, 1], model.classes_)
    evaluation = deepfit.evaluate(model, clips[test], wrong, names=[f"clip_{i}.wav" for i in test])
    report = evaluation.write_report(tmp_path_factory.mktemp("sound") / "sound.html", title="genres")
    return evaluation, report


# ------------------------------------------------------------------------------------ the numbers
def test_the_api_returns_the_metrics_and_the_surest_mistakes_first(table_case):
    model, X, y = table_case
    evaluation = deepfit.evaluate(model, X, y)
    assert evaluation.metrics == classification_metrics(y, model.predict(X), model.predict_proba(X), model.classes_)
    mistakes = evaluation.mistakes(50)
    assert mistakes and all(m["true"] != m["predicted"] for m in mistakes)
    assert len(mistakes) == min(50, int((model.predict(X) != y).sum()))
    confidences = [m["confidence"] for m in mistakes]
    assert confidences == sorted(confidences, reverse=True)
    # the three rows given a wrong label are ones the model is sure of: they come first
    assert {3, 30, 77} <= {m["index"] for m in mistakes[:6]}
    assert {"row 4", "row 31", "row 78"} <= {m["name"] for m in mistakes[:6]}  # named from 1, as a spreadsheet
    assert all(m["probability_of_true"] < 0.5 for m in mistakes)
    table = evaluation.calibration()
    assert sum(table["count"]) == len(y) and len(table["edges"]) == 16


def test_a_model_file_path_is_evaluated_like_the_model(table_case, tmp_path):
    model, X, y = table_case
    model.save(tmp_path / "m.deepfit")
    assert deepfit.evaluate(tmp_path / "m.deepfit", X, y).metrics == deepfit.evaluate(model, X, y).metrics


def test_the_report_embeds_every_plot_and_writes_them_as_png_too(table_case, tmp_path):
    model, X, y = table_case
    report = deepfit.evaluate(model, X, y).write_report(tmp_path / "r" / "report.html", title="digits")
    html = report.read_text()
    for name in PLOTS:
        png = tmp_path / "r" / f"report_{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_mode & 0o044, "the report's files are readable by others, as open() makes files"
    assert len(re.findall(r'<img alt="[^"]*" src="data:image/png;base64,', html)) == len(PLOTS)
    assert ">row 4<" in html and "pixel63" not in html and "44 more columns" in html  # 20 of 64 columns shown
    assert not re.search(r'(src|href)="(?!data:)', html), "nothing is loaded from outside the file"


def test_the_report_uses_the_models_own_decisions():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + 0.5 * rng.normal(size=200) > 0.3).astype(int)
    model = LogisticRegression(threshold=0.2, max_epochs=30, random_state=0).fit(X, y)
    evaluation = deepfit.evaluate(model, X.tolist(), y)  # a plain list, as scikit-learn takes it
    assert evaluation.metrics["accuracy"] == pytest.approx(model.score(X, y))
    assert (evaluation.y_pred == model.predict(X)).all()


def test_a_perceptron_report_ranks_mistakes_by_margin(tmp_path):
    from deepfit import Perceptron

    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    y[:6] = 1 - y[:6]  # six labels against the boundary
    model = Perceptron(max_epochs=20, random_state=0).fit(X, y)
    evaluation = deepfit.evaluate(model, X, y)
    margins = [m["margin"] for m in evaluation.mistakes()]
    assert margins and margins == sorted(margins, reverse=True) and evaluation.metrics.get("log_loss") is None
    html = evaluation.write_report(tmp_path / "p.html").read_text()
    assert "farthest from the model's boundary" in html and "margin" in html
    assert not (tmp_path / "p_calibration.png").exists()  # no probabilities, no reliability diagram


def test_a_perfect_model_says_so_and_odd_class_names_are_text(tmp_path):
    X = np.array([[0.0], [0.1], [5.0], [5.1]] * 10)
    y = np.array(["$0-$5", "$0-$5", "$\\frac$", "$\\frac$"] * 10)
    model = LogisticRegression(max_epochs=50, random_state=0).fit(X, y)
    html = deepfit.evaluate(model, X, y).write_report(tmp_path / "r.html").read_text()
    assert "The model got every example right." in html and "$0-$5" in html


def test_pictures_in_any_range_show_as_full_range_thumbnails():
    from deepfit.data.kinds import PICTURES

    digits = load_digits().images[:5]  # floats in 0..16
    picture = PICTURES.show_examples(digits, None, [0])[0].image
    assert picture.dtype == np.uint8 and picture.max() >= 200  # not the near-black 0..16
    assert PICTURES.show_examples(digits / 16, None, [0])[0].image.max() >= 200


def test_user_text_in_the_report_cannot_run(tmp_path):
    X = np.random.default_rng(0).normal(size=(60, 2))
    y = np.where(X[:, 0] > 0, "<script>alert(1)</script>", "b&b")
    model = LogisticRegression(max_epochs=5).fit(X, y)
    frame = pd.DataFrame(X, columns=['<img src=x onerror="alert(2)">', "b"])
    model = LogisticRegression(max_epochs=5).fit(frame, y)
    names = [f'"><script>alert(3)</script>{i}' for i in range(60)]
    html = deepfit.evaluate(model, frame, y[::-1], names=names).write_report(
        tmp_path / "r.html", title="<b>title</b>").read_text()
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "b&amp;b" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html
    assert "<b>title</b>" not in html and "&lt;b&gt;title&lt;/b&gt;" in html
    assert "&quot;&gt;&lt;script&gt;alert(3)" in html  # a file name that tries to close its attribute


@pytest.mark.slow
def test_evaluate_json_has_the_api_numbers_and_report_shows_wrong_rows(table_case, tmp_path):
    model, X, y = table_case
    model.save(tmp_path / "m.deepfit")
    X.assign(label=y).to_csv(tmp_path / "test.csv", index=False)
    result = run_cli("evaluate", tmp_path / "m.deepfit", tmp_path / "test.csv", "--target", "label", "--json",
                     "--report", tmp_path / "report.html")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    expected = deepfit.evaluate(model, X, y).metrics
    assert shown["accuracy"] == pytest.approx(expected["accuracy"])
    assert shown["log_loss"] == pytest.approx(expected["log_loss"], rel=1e-6)
    assert shown["confusion_matrix"] == expected["confusion_matrix"]
    assert "row 4 (line 5)" in (tmp_path / "report.html").read_text()  # the CSV's 4th row is index 3
    assert "report written to" in result.stderr


@pytest.mark.slow
def test_a_picture_report_shows_the_moved_files_as_thumbnails(picture_report):
    model, test_folder, report, metrics = picture_report
    html = report.read_text()
    assert all(f"{folder}/moved_{k}.png" in html for k, folder in enumerate("876")), "the misfiled pictures are shown"
    assert html.count('<div class="example"><img') >= 3
    assert (report.parent / "report_mistakes.png").stat().st_size > 1000
    pictures = deepfit.read_images(test_folder, size=(16, 16), channels=1)
    assert metrics == deepfit.evaluate(model, pictures.images, pictures.labels).metrics


def test_a_sound_report_has_a_player_and_a_spectrogram_per_wrong_clip(sound_report):
    evaluation, report = sound_report
    html = report.read_text()
    shown = len(evaluation.mistakes(8))
    assert shown >= 2
    assert html.count('<audio controls preload="none" src="data:audio/wav;base64,') == shown
    assert html.count('alt="log-mel spectrogram of clip_') == shown


def test_a_report_that_cannot_be_written_is_a_clear_error(table_case, tmp_path):
    model, X, y = table_case
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    with pytest.raises(deepfit.errors.OutputError, match="a_file"):
        deepfit.evaluate(model, X, y).write_report(blocked / "report.html")


# ------------------------------------------------------------------------------------ in a browser
@pytest.mark.slow
@pytest.mark.parametrize("which", ["table", "pictures", "sound"])
def test_the_report_renders_in_chromium_at_a_laptops_and_a_phones_width(which, browser, table_case, picture_report,
                                                                        sound_report, tmp_path):
    if which == "table":
        model, X, y = table_case
        report = deepfit.evaluate(model, X, y).write_report(tmp_path / "table.html", title="digits as a table")
    else:
        report = picture_report[2] if which == "pictures" else sound_report[1]
    browser.get_log("browser")  # forget what earlier pages logged
    browser.get(report.as_uri())
    assert browser.find_element("tag name", "h1").text
    assert page_problems(browser) == []
    browser.set_window_size(390, 844)   # a phone: every plot scales down, nothing sticks out but the tables,
    try:                                # which scroll inside their own box
        assert page_problems(browser) == []
        plots = browser.find_elements("css selector", "figure img")
        assert plots and all(0 < plot.size["width"] <= 390 for plot in plots)
    finally:
        browser.set_window_size(*LAPTOP)
    if which == "sound":
        ready = browser.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const players = [...document.querySelectorAll('audio')];
            players.forEach(a => a.load());
            setTimeout(() => done(players.map(a => [a.readyState, a.error && a.error.code])), 1500);""")
        assert ready and all(state >= 1 and error is None for state, error in ready), ready
    assert console_errors(browser) == []
    shot = save_screenshot(browser, f"report-{which}")
    assert shot.stat().st_size > 10_000


def test_no_plot_of_a_report_shows_a_formula_as_its_source(tmp_path, monkeypatch):
    """A loss falling a thousandfold gets a log axis; its labels must read 0.01, 0.1, 1, never the
    source of a formula (``$\\mathdefault{10^{0}}$``), whatever else the report draws."""
    from matplotlib.text import Text

    from deepfit.evaluation import report_plots

    shown, save = [], report_plots.save_figure

    def recording(figure, path, *args, **kwargs):
        figure.canvas.draw()
        shown.extend(text.get_text() for text in figure.findobj(Text) if text.get_visible())
        return save(figure, path, *args, **kwargs)

    monkeypatch.setattr(report_plots, "save_figure", recording)
    digits = load_digits()
    model = DeepClassifier(random_state=0, max_epochs=60, label_smoothing=0.0, validation_fraction=0.2).fit(
        digits.data[:600], digits.target[:600])
    assert model.history_[0]["train_loss"] / model.history_[-1]["train_loss"] > 100   # the log axis is drawn
    deepfit.evaluate(model, digits.data[600:900], digits.target[600:900]).write_report(tmp_path / "report.html")
    assert any(re.fullmatch(r"[0-9.e+-]+", text) for text in shown)   # tick labels were collected
    unrendered = [text for text in shown if "$" in text or "\\mathdefault" in text or "\\" in text]
    assert unrendered == []


def test_columns_of_an_array_have_one_name_in_the_report_check_and_server(tmp_path):
    import httpx
    from live_server import LiveServer

    from deepfit.serving import create_app

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    X[:, 2] = 1.0   # a constant column, which check names
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    y[:6] = 1 - y[:6]   # some mistakes for the report's table
    model = DeepClassifier(random_state=0, max_epochs=20).fit(X, y)
    with LiveServer(create_app(model)) as server:
        served = [column["name"] for column in httpx.get(server.url + "/model").json()["input"]["rows"]["columns"]]
    assert [str(name) for name in served] == ["0", "1", "2", "3"]
    report = deepfit.evaluate(model, X, y).write_report(tmp_path / "report.html").read_text()
    headers = re.findall(r'<th class="text">([^<]*)</th>', report)
    assert headers[-4:] == ["0", "1", "2", "3"]
    found = {f.check: f for f in deepfit.check_data(X, y).findings}
    assert [item["column"] for item in found["constant_columns"].items] == ["2"]
