"""Text, the fourth kind of input: lists of strings, folders of .txt files and a table's text column;
a learned vocabulary with runs of letters for unseen words; the same commands as for the other kinds;
bad texts named in one line."""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import Crash, run_cli

import deepfit
from deepfit import DeepClassifier
from deepfit.data.text_encoder import TextEncoder
from deepfit.errors import InvalidInputError
from deepfit.training.optimizers import AdamW

SPAM = ["win", "prize", "free", "cash", "offer", "claim", "winner", "urgent", "bonus", "credit"]
HAM = ["meeting", "lunch", "tomorrow", "report", "thanks", "family", "dinner", "weekend", "project", "call"]
FILLER = ["the", "a", "you", "we", "is", "to", "and", "for", "this", "our", "now", "please", "today", "at"]


def messages(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Made-up messages: a few words of their class among common ones, and some of the other class."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = "spam" if i % 2 else "ham"
        own, other = (SPAM, HAM) if label == "spam" else (HAM, SPAM)
        words = list(rng.choice(own, 3)) + list(rng.choice(FILLER, 6)) + list(rng.choice(other, 1))
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + rng.choice([".", "!", "?"]))
        labels.append(label)
    return texts, np.array(labels)


def write_mail(root, n: int):
    """`n` made-up messages as .txt files, one sub-folder per class."""
    texts, labels = messages(n)
    for index, (text, label) in enumerate(zip(texts, labels)):
        (root / label).mkdir(parents=True, exist_ok=True)
        (root / label / f"{index}.txt").write_text(text)
    return root


@pytest.fixture(scope="module")
def spam_model():
    texts, labels = messages(400)
    return DeepClassifier(random_state=0).fit(texts, labels)


def test_a_list_of_strings_trains_a_text_classifier(spam_model):
    texts, labels = messages(200, seed=1)
    assert spam_model.score(texts, labels) >= 0.95
    probabilities = spam_model.predict_proba(texts[:5])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert spam_model.architecture_["name"] == "text_bag"
    assert deepfit.data.kinds.of(spam_model) is deepfit.data.kinds.TEXT


def test_an_unseen_misspelt_word_still_carries_its_signal():
    texts = [f"{word} {filler}" for word, filler in zip(["refund", "invoice"] * 60, FILLER * 10)]
    labels = np.array(["billing"] * 120)
    texts += [f"{word} {filler}" for word, filler in zip(["birthday", "holiday"] * 60, FILLER * 10)]
    labels = np.concatenate([labels, ["personal"] * 120])
    model = DeepClassifier(random_state=0).fit(texts, labels)
    misspelt = ["refnud the", "invoise a", "birthdy you", "holliday we"]
    assert not any(word in model.encoder_.vocabulary for text in misspelt for word in text.split()[:1])
    assert list(model.predict(misspelt)) == ["billing", "billing", "personal", "personal"]


def test_the_model_file_keeps_the_vocabulary(spam_model, tmp_path):
    spam_model.save(tmp_path / "spam.deepfit")
    loaded = deepfit.load(tmp_path / "spam.deepfit")
    texts, _ = messages(50, seed=2)
    np.testing.assert_allclose(loaded.predict_proba(texts), spam_model.predict_proba(texts), atol=1e-6)
    assert loaded.encoder_.vocabulary == spam_model.encoder_.vocabulary


def test_bad_texts_in_the_api_are_named():
    with pytest.raises(InvalidInputError, match="text 2 is empty"):
        DeepClassifier().fit(["a text", "   ", "another"], ["x", "y", "x"])
    with pytest.raises(InvalidInputError, match="text 3 is a int, not a string"):
        TextEncoder.fit(["a text", "more", 7])


def test_a_100_mb_text_is_cut_with_a_warning(spam_model):
    huge = "win a free prize " * (100_000_000 // 17)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        label = spam_model.predict([huge, "lunch meeting tomorrow"])
    assert list(label) == ["spam", "ham"]
    assert any("cut to their first 20,000" in str(w.message) for w in caught)


@pytest.mark.slow
def test_texts_from_class_folders_on_the_command_line(tmp_path):
    write_mail(tmp_path / "mail", 160)
    trained = run_cli("train", tmp_path / "mail", "--out", tmp_path / "run", "--quiet")
    assert trained.returncode == 0, trained.stderr
    assert "texts of" in trained.stderr or "texts of" in trained.stdout
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.9
    evaluated = run_cli("evaluate", tmp_path / "run" / "model.deepfit", tmp_path / "mail", "--json", "--report",
                        tmp_path / "report.html")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["accuracy"] >= 0.9
    predicted = run_cli("predict", tmp_path / "run" / "model.deepfit", tmp_path / "mail" / "spam", "-o",
                        tmp_path / "answers.csv")
    assert predicted.returncode == 0, predicted.stderr
    answers = pd.read_csv(tmp_path / "answers.csv")
    assert len(answers) == 80 and (answers["prediction"] == "spam").mean() >= 0.9


@pytest.mark.slow
def test_a_table_with_a_text_column_on_the_command_line(tmp_path):
    texts, labels = messages(200)
    frame = pd.DataFrame({"id": range(200), "message": texts, "label": labels})
    frame.to_csv(tmp_path / "messages.csv", index=False)
    trained = run_cli("train", tmp_path / "messages.csv", "--text", "message", "--out", tmp_path / "run", "--quiet")
    assert trained.returncode == 0, trained.stderr
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]["accuracy"] >= 0.9
    predicted = run_cli("predict", tmp_path / "run" / "model.deepfit", tmp_path / "messages.csv", "-o",
                        tmp_path / "answers.csv")
    assert predicted.returncode == 0, predicted.stderr
    answers = pd.read_csv(tmp_path / "answers.csv")
    assert len(answers) == 200 and (answers["prediction"].to_numpy() == labels).mean() >= 0.9
    frame.loc[7, "message"] = ""
    frame.to_csv(tmp_path / "holed.csv", index=False)
    refused = run_cli("train", tmp_path / "holed.csv", "--text", "message", "--out", tmp_path / "holed")
    assert refused.returncode == 2 and "row 8 (line 9): the text is empty" in refused.stderr
    assert "Traceback" not in refused.stderr
    skipped = run_cli("train", tmp_path / "holed.csv", "--text", "message", "--out", tmp_path / "holed",
                      "--skip-bad", "--quiet")
    assert skipped.returncode == 0, skipped.stderr
    refused = run_cli("predict", tmp_path / "run" / "model.deepfit", tmp_path / "holed.csv")
    assert refused.returncode == 2 and "row 8 (line 9): the text is empty" in refused.stderr
    answered = run_cli("predict", tmp_path / "run" / "model.deepfit", tmp_path / "holed.csv", "--skip-bad")
    assert answered.returncode == 0, answered.stderr
    rows = pd.read_csv(io.StringIO(answered.stdout))   # every row in its place; the empty one says why
    assert list(rows["row"]) == list(range(1, 201)) and rows["error"][7] == "the text is empty"
    assert rows["prediction"].isna().sum() == 1 and (rows["prediction"][8:].to_numpy() == labels[8:]).mean() >= 0.9


@pytest.mark.slow
def test_files_that_are_not_text_are_named_with_the_fix(tmp_path):
    write_mail(tmp_path / "mail", 40)
    (tmp_path / "mail" / "ham" / "cafe.txt").write_bytes("caf\xe9 au lait for lunch".encode("latin-1"))
    latin = run_cli("train", tmp_path / "mail", "--out", tmp_path / "a")
    assert latin.returncode == 2 and "cafe.txt: is not utf-8 text" in latin.stderr and "--encoding" in latin.stderr
    assert run_cli("train", tmp_path / "mail", "--out", tmp_path / "b", "--encoding", "latin-1",
                   "--quiet").returncode == 0
    (tmp_path / "mail" / "ham" / "cafe.txt").unlink()
    (tmp_path / "mail" / "spam" / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    binary = run_cli("train", tmp_path / "mail", "--out", tmp_path / "c")
    assert binary.returncode == 2 and "photo.txt: holds binary data" in binary.stderr
    assert not (tmp_path / "c" / "model.deepfit").exists()


def test_check_finds_copied_and_nearly_copied_texts():
    texts, labels = messages(120)
    texts[5] = texts[4]                                   # a copy
    texts[9] = texts[8].upper() + " ok"                     # shouted, and a word more
    report = deepfit.check_data(texts, labels, test=([texts[20], "something else entirely here"], labels[:2]))
    found = {finding.check: finding for finding in report.findings}
    assert any(set(item["examples"]) == {"row 5", "row 6"} for item in found["exact_duplicates"].items)
    assert any({"row 9", "row 10"} <= set(item["examples"]) for item in found["near_duplicates"].items)
    assert [item["test"] for item in found["test_examples_in_training"].items] == ["test row 1"]


@pytest.mark.parametrize("model", ["auto", "cnn"])   # the bag; the word-order network (dropout draws resumed)
def test_a_text_run_killed_and_resumed_ends_with_the_same_model(tmp_path, model):
    texts, labels = messages(300)
    whole = DeepClassifier(random_state=0, max_epochs=6, model=model).fit(texts, labels)
    with pytest.raises(KeyboardInterrupt):
        DeepClassifier(random_state=0, max_epochs=6, model=model).fit(
            texts, labels, checkpoint=tmp_path / "c", checkpoint_every=0, callbacks=[Crash(30)])
    resumed = DeepClassifier(random_state=0, max_epochs=6, model=model).fit(texts, labels, checkpoint=tmp_path / "c",
                                                                            resume=True)
    assert np.array_equal(resumed.predict_proba(texts), whole.predict_proba(texts))


def test_lazy_adam_on_a_sparse_embedding_matches_dense_adam_on_the_rows_it_touches():
    torch.manual_seed(0)
    dense, sparse = torch.nn.Embedding(50, 4), torch.nn.Embedding(50, 4, sparse=True)
    sparse.load_state_dict(dense.state_dict())
    optimizers = AdamW(dense.parameters(), lr=0.1), AdamW(sparse.parameters(), lr=0.1)
    for ids in ([[1, 2, 3], [3, 4, 1]],) * 5:  # the same rows each step: lazy and dense Adam agree
        for embedding, optimizer in zip((dense, sparse), optimizers):
            embedding(torch.tensor(ids)).pow(2).sum().backward()
            optimizer.step()
            optimizer.zero_grad()
    np.testing.assert_allclose(sparse.weight.detach(), dense.weight.detach(), atol=1e-5)
    assert torch.equal(sparse.weight[5:], dense.weight[5:])  # untouched rows stay as they were


def reviews(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Made-up reviews whose sentiment lies in word order: "not good, rather bad" against "not bad, rather good"."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        good, bad = rng.choice(["good", "great", "fine"]), rng.choice(["bad", "dull", "poor"])
        first, second = (bad, good) if i % 2 else (good, bad)
        texts.append(f"the film was not {first} , rather {second} {' '.join(rng.choice(FILLER, 4))}")
        labels.append("pos" if i % 2 else "neg")
    return texts, np.array(labels)


@pytest.mark.slow
@pytest.mark.parametrize("script", ["spam_filter.py", "review_sentiment.py"])
def test_the_text_examples_run_end_to_end_on_small_data(tmp_path, script):
    import subprocess
    import sys

    from conftest import REPO

    if script == "spam_filter.py":
        write_mail(tmp_path / "mail", 200)
        args = ["--data", str(tmp_path / "mail")]
    else:
        texts, labels = reviews(240)
        pd.DataFrame({"review": texts, "label": labels}).to_csv(tmp_path / "reviews.csv", index=False)
        args = ["--data", str(tmp_path / "reviews.csv"), "--text", "review"]
    result = subprocess.run([sys.executable, str(REPO / "examples" / script), *args], capture_output=True,
                            text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    accuracy = float(result.stdout.split("test accuracy ")[1].split()[0])
    assert accuracy >= 0.9, result.stdout
    if script == "spam_filter.py":  # the words it shows for spam are spam words
        spam_words = result.stdout.split("make a message 'spam': ")[1].splitlines()[0].split(", ")
        assert len(set(spam_words) & set(SPAM)) >= 3, result.stdout
    else:  # on these reviews only the order tells the classes apart
        assert float(result.stdout.split("words shuffled:      test accuracy ")[1].split()[0]) < 0.75, result.stdout


def test_sentence_vectors_and_transfer_from_a_text_model(spam_model):
    texts, labels = messages(200, seed=3)
    vectors = spam_model.transform(texts)
    assert vectors.shape == (200, 2) and vectors.dtype == np.float32  # one number per class of the source
    renamed = np.where(labels == "spam", "junk", "inbox")  # the same task under new names, few examples
    moved = DeepClassifier(random_state=0, transfer_from=spam_model).fit(texts[:40], renamed[:40])
    assert moved.architecture_["dim"] == 2 and list(moved.classes_) == ["inbox", "junk"]
    assert moved.score(texts[40:], renamed[40:]) >= 0.9


# ------------------------------------------------------------------------------------ serving
@pytest.fixture(scope="module")
def text_server(spam_model):
    from live_server import LiveServer

    from deepfit.serving import create_app

    with LiveServer(create_app(spam_model, max_body_bytes=256 * 1024)) as server:
        yield server


def test_the_server_labels_texts_sent_as_json(text_server, spam_model):
    import httpx

    texts, _ = messages(30, seed=5)
    answer = httpx.post(text_server.url + "/predict", json={"texts": texts}, timeout=30)
    assert answer.status_code == 200
    predictions = answer.json()["predictions"]
    assert [p["label"] for p in predictions] == list(spam_model.predict(texts))
    np.testing.assert_allclose([p["probabilities"]["spam"] for p in predictions],
                               spam_model.predict_proba(texts)[:, 1], atol=1e-5)
    described = httpx.get(text_server.url + "/model").json()
    assert described["kind"] == "text" and described["input"]["texts"]["max_chars"] == 20_000
    schema = httpx.get(text_server.url + "/openapi.json").json()
    texts_schema = schema["components"]["schemas"]["Texts"]["properties"]["texts"]
    assert texts_schema["items"]["type"] == "string" and texts_schema["maxItems"] == 10_000


def test_a_large_text_body_is_answered_in_full_and_a_late_problem_is_named(text_server, spam_model):
    import httpx

    texts, _ = messages(1_500, seed=6)  # about 100 KB: parsed and answered off the event loop
    answer = httpx.post(text_server.url + "/predict", json={"texts": texts}, timeout=60)
    assert answer.status_code == 200, answer.text
    assert [p["label"] for p in answer.json()["predictions"]] == list(spam_model.predict(texts))
    texts[1_234] = " "
    empty = httpx.post(text_server.url + "/predict", json={"texts": texts}, timeout=60)
    texts[1_234] = 7
    number = httpx.post(text_server.url + "/predict", json={"texts": texts}, timeout=60)
    assert empty.status_code == 422 and empty.json()["error"] == "texts.1234: the text is empty; send at least one word."
    assert number.status_code == 422 and number.json()["error"].startswith("texts.1234: Input should be a valid string")


@pytest.mark.parametrize("body, status, says", [
    ({"texts": []}, 422, "texts"),
    ({"texts": ["free cash now", "   "]}, 422, "texts.1: the text is empty"),
    ({"texts": ["free cash", 7]}, 422, "texts.1"),
    ({"rows": [{"a": 1}]}, 422, "texts"),
    (b"{not json", 400, '{"texts": ['),
    ({"texts": ["x" * 300_000]}, 413, "limit"),
])
def test_bad_text_bodies_get_a_4xx_that_names_the_text(text_server, body, status, says):
    import httpx

    sent = {"content": body, "headers": {"content-type": "application/json"}} if isinstance(body, bytes) else {
        "json": body}
    answer = httpx.post(text_server.url + "/predict", timeout=30, **sent)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["error"]
    assert httpx.get(text_server.url + "/health").json()["status"] == "ok"


def test_the_page_labels_a_text_as_it_is_typed(browser, text_server, spam_model):
    from browser import console_errors, page_problems, save_screenshot, texts_of
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(text_server.url + "/")
    WebDriverWait(browser, 20).until(lambda d: not d.find_element("id", "text-form").get_attribute("hidden"))
    box = browser.find_element("id", "text")
    spam, ham = "Claim your free cash prize now, winner!", "Thanks for the report, see you at lunch tomorrow."
    for text in (spam, ham):  # no click: the answer follows the typing
        box.clear()
        box.send_keys(text)
        expected = [str(spam_model.predict([text])[0])]
        WebDriverWait(browser, 20).until(lambda d, want=expected: texts_of(d, "#result .label") == want)
    assert {b.get_attribute("data-class") for b in browser.find_elements("css selector", "#result .bar")} == {
        "ham", "spam"}
    assert page_problems(browser) == [] and console_errors(browser) == []
    save_screenshot(browser, "page-text")


# ------------------------------------------------------------------------------------ attribution
def test_the_report_highlights_the_words_that_made_a_text_wrong(spam_model, tmp_path, browser):
    from browser import console_errors, page_problems, save_screenshot

    texts, labels = messages(60, seed=9)
    wrong = "Claim the free cash prize, we thank you for the lunch and dinner."   # spam words, labelled ham
    texts, labels = texts + [wrong], np.append(labels, "ham")
    evaluation = deepfit.evaluate(spam_model, texts, labels)
    mistake = next(m for m in evaluation.mistakes() if m["index"] == len(texts) - 1)
    assert mistake["predicted"] == "spam"
    heaviest = [word for word, weight in mistake["weighed"][:4]]
    assert set(heaviest) <= {"claim", "free", "cash", "prize"} | {"Claim"}, mistake["weighed"]
    assert all(weight > 0 for _, weight in mistake["weighed"][:4])
    ham_words = {word: weight for word, weight in mistake["weighed"] if word in ("thank", "lunch", "dinner")}
    assert all(weight < 0 for weight in ham_words.values())   # the ham words pulled the other way
    # the weights are what the model says without the word: hiding "cash" lowers spam by its weight
    (start, end), weight = next(item for item in evaluation.weights[len(texts) - 1] if wrong[item[0][0]:item[0][1]]
                                == "cash")
    without = spam_model.predict_proba([wrong[:start] + " " + wrong[end:]])[0, 1]
    assert spam_model.predict_proba([wrong])[0, 1] - without == pytest.approx(weight, abs=1e-5)
    report = evaluation.write_report(tmp_path / "report.html")
    browser.get(report.as_uri())
    marked = browser.find_elements("css selector", ".texts mark.up")
    assert {m.text.lower() for m in marked} >= {"cash", "prize"}
    assert page_problems(browser) == [] and console_errors(browser) == []
    save_screenshot(browser, "report-text")


# ------------------------------------------------------------------------------------ compare
def test_compare_sets_the_text_network_against_tfidf_and_naive_bayes(tmp_path):
    from deepfit.evaluation.compare import compare

    texts, labels = messages(240, seed=3)
    result = compare(np.asarray(texts, dtype=object), labels, fractions=(0.5, 1.0), seed=0)
    full = {row["model"]: row["accuracy"] for row in result.rows if row["fraction"] == 1.0}
    assert set(full) == {"deepfit", "TF-IDF + linear SVM", "TF-IDF + logistic regression", "naive Bayes"}
    assert full["deepfit"] >= 0.9 and full["TF-IDF + linear SVM"] >= 0.9
    assert "deepfit" in result.advice()
    write_mail(tmp_path / "mail", 120)
    shown = run_cli("compare", tmp_path / "mail", "--fractions", "1", "--json")
    assert shown.returncode == 0, shown.stderr
    assert {row["model"] for row in json.loads(shown.stdout)["rows"]} >= {"deepfit", "naive Bayes"}


@pytest.mark.slow
def test_a_table_of_two_text_columns_asks_which_and_the_model_remembers_it(tmp_path):
    texts, labels = messages(200)
    titles, _ = messages(200, seed=4)   # a second column of text, unrelated to the labels
    frame = pd.DataFrame({"title": [t[:30] + " and more" for t in titles], "body": texts, "label": labels})
    frame.to_csv(tmp_path / "mail.csv", index=False)
    asked = run_cli("train", tmp_path / "mail.csv", "--out", tmp_path / "run")
    assert asked.returncode == 2 and "2 columns (title, body) of text" in asked.stderr and "--text" in asked.stderr
    trained = run_cli("train", tmp_path / "mail.csv", "--text", "body", "--out", tmp_path / "run", "--quiet")
    assert trained.returncode == 0, trained.stderr
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]["accuracy"] >= 0.9
    # evaluate, predict and check read the same column without being told again
    evaluated = run_cli("evaluate", tmp_path / "run" / "model.deepfit", tmp_path / "mail.csv", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["accuracy"] >= 0.9
    predicted = run_cli("predict", tmp_path / "run" / "model.deepfit", tmp_path / "mail.csv", "-o", tmp_path / "p.csv")
    assert predicted.returncode == 0, predicted.stderr
    assert (pd.read_csv(tmp_path / "p.csv")["prediction"].to_numpy() == labels).mean() >= 0.9
    checked = run_cli("check", tmp_path / "mail.csv", "--text", "body", "--json")
    assert checked.returncode in (0, 1), checked.stderr
    assert json.loads(checked.stdout)["n_examples"] == 200


# ------------------------------------------------------------------------------------ export
def test_a_text_model_exports_to_onnx_and_answers_as_the_model_does(spam_model, tmp_path):
    import onnxruntime

    from deepfit.data.text_encoder import TextEncoder
    from deepfit.export import export_model

    result = export_model(spam_model, tmp_path / "spam.onnx")
    assert result.max_difference <= 1e-5 and result.input_name == "features"
    sidecar = json.loads(result.encoder_path.read_text())
    encoder = TextEncoder.from_dict(sidecar["encoder"])   # all a user needs beside the file
    session = onnxruntime.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    texts, _ = messages(40, seed=11)
    texts += ["free", "Thanks for the lunch, see you at the family dinner this weekend and at the project call " * 5]
    for batch in (texts[:3], texts):   # batches of different numbers of features
        produced = session.run(["probabilities"], {"features": encoder.transform(batch)})[0]
        np.testing.assert_allclose(produced, spam_model.predict_proba(batch), atol=1e-5)
    assert sidecar["classes"] == ["ham", "spam"]


# ------------------------------------------------------------------------------------ word order
def ordered(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Texts whose class is which of two words comes first, two filler words apart: the same words
    and nearly the same word pairs in both classes, so only a network that reads order tells them apart."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        first, second = ("alpha", "beta") if i % 2 else ("beta", "alpha")
        words = [*rng.choice(FILLER, rng.integers(1, 4)), first, *rng.choice(FILLER, 2), second,
                 *rng.choice(FILLER, rng.integers(1, 4))]
        texts.append(" ".join(words))
        labels.append("ab" if i % 2 else "ba")
    return texts, np.array(labels)


def test_many_short_texts_get_the_network_that_reads_word_order(tmp_path):
    import onnxruntime

    from deepfit.export import export_model

    test_texts, test_labels = ordered(400, seed=1)
    few = DeepClassifier(random_state=0).fit(*ordered(600))
    assert few.architecture_["name"] == "text_bag" and few.score(test_texts, test_labels) < 0.75
    many = DeepClassifier(random_state=0).fit(*ordered(2400))
    assert many.architecture_["name"] == "text_cnn" and many.score(test_texts, test_labels) >= 0.9
    chosen = DeepClassifier(random_state=0, model="cnn").fit(*ordered(600))
    assert chosen.architecture_["name"] == "text_cnn" and chosen.score(test_texts, test_labels) >= 0.85
    mixed = test_texts[:40] + ["alpha " * 300 + "beta", "beta alpha"]   # predicted shortest first, answered in order
    np.testing.assert_allclose(many.predict_proba(mixed), np.vstack([many.predict_proba([t]) for t in mixed]),
                               atol=1e-5)
    many.save(tmp_path / "order.deepfit")
    np.testing.assert_allclose(deepfit.load(tmp_path / "order.deepfit").predict_proba(test_texts),
                               many.predict_proba(test_texts), atol=1e-6)
    result = export_model(many, tmp_path / "order.onnx")
    session = onnxruntime.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    for batch in (test_texts[:5], test_texts[:5] + ["alpha " + "x " * 500]):  # word rows of different lengths
        produced = session.run(["probabilities"], {"features": many.encoder_.transform(batch)})[0]
        np.testing.assert_allclose(produced, many.predict_proba(batch), atol=1e-5)


# ------------------------------------------------------------------------------------ word vectors
def write_vectors(path, header: bool = True, size: int = 16):
    """A small word-vector file: "superb" next to "excellent", "dreadful" next to "awful"."""
    rng = np.random.default_rng(0)
    vectors = {word: rng.standard_normal(size) for word in ["excellent", "awful", *FILLER, "cat", "house"]}
    vectors["superb"] = vectors["excellent"] + 0.1 * rng.standard_normal(size)
    vectors["Dreadful"] = vectors["awful"] + 0.1 * rng.standard_normal(size)   # cased, as fastText's are
    lines = [f"{len(vectors)} {size}"] if header else []
    lines += [word + " " + " ".join(f"{x:.5f}" for x in vector) for word, vector in vectors.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rated(n: int, good: str, bad: str, seed: int) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    texts = [" ".join([*rng.choice(FILLER, 3), good if i % 2 else bad, *rng.choice(FILLER, 3)]) for i in range(n)]
    return texts, np.array(["pos" if i % 2 else "neg" for i in range(n)])


@pytest.mark.parametrize("header", [True, False])   # fastText's .vec, GloVe's .txt
def test_word_vectors_carry_the_meaning_of_words_never_seen_in_training(tmp_path, header):
    vectors = write_vectors(tmp_path / "words.vec", header)
    train = rated(400, "excellent", "awful", seed=0)
    unseen = rated(200, "superb", "dreadful", seed=1)   # words only the vector file knows
    plain = DeepClassifier(random_state=0, model="cnn").fit(*train)
    started = DeepClassifier(random_state=0, vectors=vectors).fit(*train)
    assert started.architecture_["name"] == "text_cnn" and started.architecture_["word_dim"] == 16
    assert plain.score(*unseen) < 0.7 and started.score(*unseen) >= 0.95
    started.save(tmp_path / "rated.deepfit")   # the vocabulary keeps the file's words; the network their vectors
    assert deepfit.load(tmp_path / "rated.deepfit").score(*unseen) >= 0.95


@pytest.mark.parametrize("content, says", [
    ("3 4\nexcellent 1 2 3 4\nawful 1 2 3\n", "line 3: 3 numbers where the lines before have 4"),
    ("excellent 1 2 x 4\n", "line 1: not a word followed by numbers"),
    ("", "holds no vectors"),
])
def test_a_broken_word_vector_file_is_named_by_line(tmp_path, content, says):
    path = tmp_path / "broken.vec"
    path.write_text(content)
    with pytest.raises(InvalidInputError, match=says):
        DeepClassifier(vectors=path).fit(*rated(40, "excellent", "awful", seed=0))


@pytest.mark.slow
def test_word_vectors_on_the_command_line(tmp_path):
    texts, labels = rated(300, "excellent", "awful", seed=0)
    pd.DataFrame({"review": texts, "label": labels}).to_csv(tmp_path / "reviews.csv", index=False)
    vectors = write_vectors(tmp_path / "words.vec")
    trained = run_cli("train", tmp_path / "reviews.csv", "--vectors", vectors, "--out", tmp_path / "run", "--quiet")
    assert trained.returncode == 0, trained.stderr
    unseen, unseen_labels = rated(100, "superb", "dreadful", seed=1)
    pd.DataFrame({"review": unseen, "label": unseen_labels}).to_csv(tmp_path / "unseen.csv", index=False)
    evaluated = run_cli("evaluate", tmp_path / "run" / "model.deepfit", tmp_path / "unseen.csv", "--json")
    assert evaluated.returncode == 0 and json.loads(evaluated.stdout)["accuracy"] >= 0.95, evaluated.stderr
    (tmp_path / "bad.vec").write_bytes(b"excellent \xff\xfe 1 2\n")
    refused = run_cli("train", tmp_path / "reviews.csv", "--vectors", tmp_path / "bad.vec", "--out", tmp_path / "bad")
    assert refused.returncode == 2 and "bad.vec, line 1: not UTF-8" in refused.stderr
    assert not (tmp_path / "bad" / "model.deepfit").exists()


@pytest.mark.slow
def test_a_csv_listing_text_files_and_single_text_files(tmp_path):
    root = write_mail(tmp_path / "mail", 160)
    files = sorted(root.glob("*/*.txt"))
    pd.DataFrame({"path": [str(f.relative_to(tmp_path)) for f in files],
                  "label": [f.parent.name for f in files]}).to_csv(tmp_path / "listing.csv", index=False)
    trained = run_cli("train", tmp_path / "listing.csv", "--out", tmp_path / "run", "--quiet")
    assert trained.returncode == 0, trained.stderr
    assert "read 160 texts" in trained.stderr
    one = tmp_path / "note.txt"   # a .txt file is one text, never a table of lines
    one.write_text("Claim your free cash prize now, winner!\nReply for the bonus credit.\n")
    answered = run_cli("predict", tmp_path / "run" / "model.deepfit", one, files[0])
    assert answered.returncode == 0, answered.stderr
    table = pd.read_csv(io.StringIO(answered.stdout))
    assert list(table["path"]) == [str(one), str(files[0])] and table["prediction"][0] == "spam"
    listed = run_cli("evaluate", tmp_path / "run" / "model.deepfit", tmp_path / "listing.csv", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)["accuracy"] >= 0.9, listed.stderr


def test_many_texts_are_predicted_a_slice_at_a_time_with_the_same_answers(spam_model, monkeypatch):
    import deepfit.data.kinds.text as text_kind

    texts, _ = messages(3000, seed=12)
    whole = spam_model.predict_proba(texts)
    monkeypatch.setattr(text_kind, "CHARS_PER_SLICE", 10_000)   # about 150 texts a slice
    assert len(text_kind.TEXT.prediction_slices(np.asarray(texts, dtype=object))) > 10
    np.testing.assert_allclose(spam_model.predict_proba(texts), whole, atol=1e-6)


@pytest.mark.slow
def test_texts_train_on_two_processes(tmp_path):
    texts, labels = ordered(3000)   # 2,400 short texts to train on: the word-order network; DDP makes embeddings dense
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "ordered.csv", index=False)
    result = run_cli("train", tmp_path / "ordered.csv", "--text", "text", "--devices", "2", "--out",
                     tmp_path / "run", "--quiet", timeout=300)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["training"]["processes"] == 2 and metrics["test"]["accuracy"] >= 0.9
    model = deepfit.load(tmp_path / "run" / "model.deepfit")
    assert model.architecture_["name"] == "text_cnn"
    test_texts, test_labels = ordered(300, seed=5)
    assert model.score(test_texts, test_labels) >= 0.9
