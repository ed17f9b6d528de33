"""Text: a list of strings (the API), a folder of ``.txt`` files in one sub-folder per class, or a
table with a column of text (CSV, TSV or Parquet), as bags of words, word pairs and runs of letters."""

from __future__ import annotations

import numpy as np

from deepfit.data import similarity
from deepfit.data.kinds.base import Examples, ExportInput, Kind, Shown, TrainingDefaults, Words
from deepfit.data.near_copies import NearCopyView
from deepfit.data.text_encoder import WORD, TextEncoder, check_texts, split_words
from deepfit.data.texts import TEXT_SUFFIXES, is_text_source, is_text_table, read_texts, refuse_empty
from deepfit.data.word_vectors import read_word_vectors
from deepfit.errors import InvalidInputError

SIMILARITY = 0.9   # cosine of two texts' word counts at or above which they are near copies
HASHED_WORDS = 2**10  # columns of the word-count vectors that check compares
SHOWN_CHARS = 600     # the report shows a wrong text up to this long
CHARS_PER_SLICE = 5_000_000  # texts are encoded and predicted about this many characters at a time
# "auto" reads word order (model="cnn") for at least this many texts of at most this many words on average.
# The suite (benchmarks/compare_text.py, 5 seeds): on 5,452 questions it gains 3.4 points over the bag alone,
# on 10,000 sentences 0-0.3; on 2,000 sentences of 400-2,000 training texts it is level, on 400 it lost up to
# 1.3 points (subjectivity); on 2,000 reviews of 700 words it is level at five times the fitting time.
ORDER_FROM_TEXTS, ORDER_UP_TO_WORDS = 2000, 100
WORD_DIM = 64               # numbers in each word's vector of the word-order network, without --vectors
MORE_VECTOR_WORDS = 50_000  # words of a --vectors file added to the vocabulary beyond the training texts' own


class TextKind(Kind):
    name = "text"
    words = Words(data="texts", files="texts", one="text")
    suffixes = TEXT_SUFFIXES
    read_settings = ("text_column", "target", "encoding", "delimiter")
    fit_settings = ("vectors",)
    models = ("auto", "cnn")
    reads_tables = True
    served_as = "texts"
    sliced = True
    parts_named = "words"
    predict_batch = 2048
    # The suite (benchmarks/compare_text.py; review_polarity held out): a bag of words, word pairs and runs
    # of letters is, in effect, a linear model; it learns in about 400 steps of ~100 an epoch at 1e-2 (sparse,
    # lazily updated embeddings), without smoothing. 2e-2, 5e-3 and batches of 128 or 32 were worse.
    defaults = TrainingDefaults(label_smoothing=0.0, learning_rate=1e-2, smallest_batch=32, steps=400,
                                max_epochs=30, min_epochs=3, steps_per_epoch=100, shift_rows=False)
    encoder_type = TextEncoder

    def recognises(self, X) -> bool:
        """A list, tuple, 1-D array or Series of strings."""
        if isinstance(X, (str, bytes)) or not hasattr(X, "__len__") or getattr(X, "ndim", 1) != 1 or not len(X):
            return False
        if hasattr(X, "columns"):
            return False
        head = list(X[:50]) if not hasattr(X, "iloc") else list(X.iloc[:50])
        return all(isinstance(value, str) for value in head)

    def holds(self, path) -> bool:
        return is_text_source(path)

    def table_of_examples(self, path) -> bool:
        return is_text_table(path)

    def read(self, source, *, labelled=True, skip_bad=False, cache=True, text_column=None, target=None,
             encoding="utf-8", delimiter=None) -> Examples:
        texts = read_texts(source, labelled=labelled, skip_bad=skip_bad, text_column=text_column, target=target,
                           encoding=encoding, delimiter=delimiter)
        return Examples(np.asarray(texts.texts, dtype=object), texts.labels, texts.names, texts.skipped,
                        rows=texts.rows, skipped_rows=texts.skipped_rows)

    def join(self, parts: list):
        return np.concatenate([np.asarray(part, dtype=object) for part in parts])

    def describe(self, X) -> str:
        words = np.fromiter((len(split_words(text)) for text in X[:2000]), dtype=np.int64)
        return f"{len(X)} texts of {words.mean():.0f} words on average" if len(words) else "no texts"

    def validate(self, X, encoder=None):
        texts = np.asarray(check_texts(X.tolist() if hasattr(X, "tolist") else X), dtype=object)
        refuse_empty(texts)
        return texts

    def fit_parameters(self, X, given: dict) -> dict:
        return {"vectors": given.get("vectors")}

    def fit_encoder(self, X, *, model: str = "auto", vectors=None, **_) -> tuple:
        """The vocabulary; with each text's words in order too for the network that reads word order
        (model="cnn", word vectors given, or "auto" for many short texts)."""
        order = model == "cnn" or vectors is not None or (
            model == "auto" and len(X) >= ORDER_FROM_TEXTS and _mean_words(X) <= ORDER_UP_TO_WORDS)
        encoder = TextEncoder.fit(X, order=order)
        if vectors is not None:
            encoder = encoder.with_vectors(*read_word_vectors(vectors, set(encoder.vocabulary), MORE_VECTOR_WORDS))
        return encoder, None

    def prepare_network(self, module, encoder) -> None:
        if encoder.vectors is not None:
            module.set_word_vectors(*encoder.vectors)

    def encode(self, encoder, X) -> tuple:
        return encoder.transform(X), None

    def input_statistics(self, encoded, seed: int) -> tuple:
        """In how many training texts each feature occurs (for its inverse document frequency), and how
        many texts there are."""
        ids = encoded[:, 0].astype(np.int64)
        return np.bincount(ids[encoded[:, 1] > 0], minlength=int(ids.max(initial=0)) + 1), len(encoded)

    def prediction_slices(self, X) -> list:
        """Runs of texts of about `CHARS_PER_SLICE` characters together."""
        characters = np.cumsum(np.fromiter((len(text) for text in X), dtype=np.int64, count=len(X)))
        slice_of_text = characters // CHARS_PER_SLICE
        return np.split(np.arange(len(X)), np.flatnonzero(np.diff(slice_of_text)) + 1)

    def prediction_order(self, encoded: np.ndarray) -> np.ndarray | None:
        """Texts read in order, shortest first: each chunk's convolutions run over its own longest text."""
        if encoded.shape[1] < 3:
            return None
        return np.argsort((encoded[:, 2] > 0).sum(axis=1), kind="stable")

    def check_augmentation(self, augment: str) -> None:
        if augment not in ("auto", "none"):
            raise InvalidInputError(f"augment='{augment}' does not apply to texts; use 'auto' or 'none'.")

    def default_network(self, encoder, n_classes: int, dropout: float) -> dict:
        """The bag of embeddings with one number per class (kept by a model transferred to other classes);
        beside it convolutions over the words when the encoder keeps their order."""
        if encoder.order:
            return {"name": "text_cnn", "n_features": encoder.n_features, "n_words": encoder.n_words,
                    "n_outputs": n_classes, "dim": n_classes, "word_dim": encoder.vector_size or WORD_DIM}
        return {"name": "text_bag", "n_features": encoder.n_features, "n_outputs": n_classes, "dim": n_classes,
                "dropout": dropout}

    def near_copy_view(self, X, like=None) -> NearCopyView:
        """Texts compared as hashed word counts; exact copies equal once lower-cased and spaced alike."""
        from sklearn.feature_extraction.text import HashingVectorizer

        texts = [" ".join(split_words(text)) for text in X]
        counts = HashingVectorizer(n_features=HASHED_WORDS, ngram_range=(1, 2), alternate_sign=False,
                                   norm=None, token_pattern=r"\S+").transform(texts).toarray().astype(np.float32)
        return NearCopyView(self, similarity.exact_keys(texts), similarity.unit_rows(counts),
                            similarity.unit_rows(counts), (), similarity=SIMILARITY,
                            similar_what="counts of words and word pairs")

    def shallow_features(self, train, test) -> tuple:
        """The texts themselves: each shallow model is a pipeline that reads them."""
        return [str(text) for text in train], [str(text) for text in test]

    def shallow_models(self, seed: int) -> dict:
        """What a practitioner fits to texts today (benchmarks/compare_text.py): TF-IDF of words, word
        pairs and runs of 2-5 letters, with a linear SVM or logistic regression; naive Bayes on counts."""
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.naive_bayes import MultinomialNB
        from sklearn.pipeline import make_pipeline, make_union
        from sklearn.svm import LinearSVC

        def tfidf():
            return make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                              TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True))
        return {"TF-IDF + linear SVM": make_pipeline(tfidf(), LinearSVC(random_state=seed)),
                "TF-IDF + logistic regression": make_pipeline(tfidf(), LogisticRegression(max_iter=2000)),
                "naive Bayes": make_pipeline(CountVectorizer(ngram_range=(1, 2)), MultinomialNB())}

    def show_examples(self, inputs, encoder, indices) -> list[Shown]:
        """Each text, up to SHOWN_CHARS characters."""
        return [Shown(None, text=_excerpt(str(inputs[index]))) for index in indices]

    def parts(self, example: str) -> list[tuple[int, int]]:
        """The text's words and punctuation marks, as the encoder reads them."""
        return [match.span() for match in WORD.finditer(example)]

    def hide(self, example: str, part: tuple[int, int]) -> str:
        """The text with one word replaced by a space: its word pairs become pairs across the gap."""
        return example[:part[0]] + " " + example[part[1]:]

    def input_description(self, encoder) -> dict:
        return {"texts": {"max_chars": encoder.max_chars, "words_learned": len(encoder.vocabulary)}}

    def export_input(self, encoder) -> ExportInput:
        """The encoded texts: splitting into words and hashing cannot be expressed in the file."""
        import torch

        rows = 3 if encoder.order else 2
        notes = ("Splitting texts into words and hashing word pairs and letter runs cannot be expressed in the "
                 f"file: it takes texts as deepfit's TextEncoder encodes them, float32 [N, {rows}, L]: for each "
                 "text, row 0 holds its feature ids (0 pads) and row 1 their counts"
                 + (", row 2 its words' ids in order" if encoder.order else "") + ". The vocabulary and settings "
                 "are in the .encoder.json beside it; from Python, deepfit.data.text_encoder.TextEncoder.from_dict("
                 "its 'encoder').transform(texts) makes the input.",)
        example = torch.tensor([[[1.0, 2.0, 0.0], [1.0, 1.0, 0.0], [1.0, 2.0, 0.0]][:rows]] * 2)
        return ExportInput(example, "features", f"float32 encoded texts [N, {rows}, L] (feature ids, counts"
                           + (", words in order)" if encoder.order else ")"), notes, varying=((2, "features"),))

    def sample_inputs(self, encoder, n: int, rng: np.random.Generator):
        """Texts of 1 to 80 words: learned words, unseen ones and punctuation."""
        words = encoder.vocabulary[:5000] + ["zqxv", "unforgetable", "!", "?", "2026"]
        return np.array([" ".join(rng.choice(words, int(rng.integers(1, 80)))) for _ in range(n)], dtype=object)

    def exported_inputs(self, encoder, examples, raw: bool):
        """Two batches, of different numbers of features L: the file takes any."""
        half = len(examples) // 2
        return [encoder.transform(part).astype(np.float32) for part in (examples[:half], examples[half:])]


def _mean_words(texts, sample: int = 2000) -> float:
    """Words per text, on average over the first `sample` texts."""
    return float(np.mean([len(split_words(text)) for text in texts[:sample]]))


def _excerpt(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS].rsplit(" ", 1)[0] + " ..."


TEXT = TextKind()
