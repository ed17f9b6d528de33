"""Texts as bags of words, word pairs and the letters inside words, for the text network
(`deepfit.models.text`).

A vocabulary of words is learned from the training texts (lower-cased; a word is a run of letters
or digits, and each punctuation mark counts as a word of its own). A text becomes the set of its
features, each with its count:

- its words (ids from the vocabulary; a word the vocabulary lacks is hashed into its own slots);
- its pairs of neighbouring words, hashed (word order, as far as two words carry it);
- the runs of 3 to 5 letters inside each word, hashed, with ``<`` and ``>`` marking the word's
  start and end (fastText's subwords): an unseen or misspelt word ("unforgetable") still shares
  most of its runs with the word it should be.

Hashing uses CRC-32 of the text of each feature, so it is the same on every machine and in every
process. The rows are an (N, 2, L) float32 array of feature ids (0 pads) and counts, L the most
features of any text. Nothing is downloaded: the vocabulary is stored in the model file.

>>> encoder = TextEncoder.fit(["a good film", "a bad film", "good fun!"])
>>> rows = encoder.transform(["a good film"])
>>> rows.shape[:2], int((rows[0, 1] > 0).sum()) > 6   # words, pairs and runs of letters
((1, 2), True)
"""

from __future__ import annotations

import itertools
import re
import warnings
import zlib
from dataclasses import dataclass, field

import numpy as np

from deepfit.errors import DataWarning, InvalidInputError

MAX_CHARS = 20_000              # a longer text is cut here (about 3,500 words), with a warning
MAX_VOCABULARY = 200_000        # the most frequent words kept
UNKNOWN_SLOTS = 2**14           # slots unseen words are hashed into
PAIR_SLOTS = 2**20              # slots word pairs are hashed into
SUBWORD_SLOTS = 2**18           # slots runs of letters are hashed into
SUBWORDS = (2, 5)               # shortest and longest run of letters inside a word
ORDERED_WORDS = 400             # the words kept in order (row 2): a text's first 400
WORD = re.compile(r"\w+|[^\w\s]")


@dataclass
class TextEncoder:
    """The words learned from the training texts and the hashing of everything else."""

    vocabulary: list[str]
    pairs: bool = True
    subwords: tuple = SUBWORDS
    max_chars: int = MAX_CHARS
    order: bool = False         # also each text's words in order (row 2), for a network that reads word order
    vector_size: int = 0        # numbers in each word's starting vector (--vectors), 0 when none was given
    kind: str = "text"
    # (word ids, their vectors) read with --vectors, for the network's first weights; not saved: once
    # trained, the network holds them
    vectors: tuple | None = field(default=None, repr=False, compare=False)
    _index: dict = field(default=None, repr=False, compare=False)
    _subword_table: tuple = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(cls, texts, *, max_vocabulary: int = MAX_VOCABULARY, pairs: bool = True, subwords=SUBWORDS,
            max_chars: int = MAX_CHARS, order: bool = False) -> TextEncoder:
        words = [w for text in cut(check_texts(texts), max_chars) for w in split_words(text)]
        found, counts = np.unique(np.asarray(words, dtype=object), return_counts=True) if words else ([], [])
        ranked = np.argsort(-np.asarray(counts), kind="stable")[:max_vocabulary]
        return cls([str(found[i]) for i in ranked], pairs, tuple(subwords) if subwords else (), max_chars, order)

    def with_vectors(self, words: list[str], vectors: np.ndarray) -> TextEncoder:
        """This encoder with the words of `words` it lacks added to its vocabulary (a word seen only in
        the vectors' file then still has its vector at prediction time), and their vectors kept."""
        known = set(self.vocabulary)
        added = [word for word in words if word not in known][:max(0, MAX_VOCABULARY - len(self.vocabulary))]
        encoder = TextEncoder(self.vocabulary + added, self.pairs, self.subwords, self.max_chars, True,
                              vectors.shape[1])
        index = encoder._word_index()
        found = [i for i, word in enumerate(words) if word in index]
        encoder.vectors = (np.array([index[words[i]] for i in found], dtype=np.int64), vectors[found])
        return encoder

    # ---------------------------------------------------------------- the layout
    @property
    def n_features(self) -> int:
        """Feature ids: 0 pads; then the vocabulary, unseen words, word pairs, runs of letters."""
        return self._subword_start + (SUBWORD_SLOTS if self.subwords else 0)

    @property
    def n_words(self) -> int:
        """Word ids of the in-order row: 0 pads; then the vocabulary and the slots of unseen words."""
        return self._pair_start

    @property
    def _unknown_start(self) -> int:
        return 1 + len(self.vocabulary)

    @property
    def _pair_start(self) -> int:
        return self._unknown_start + UNKNOWN_SLOTS

    @property
    def _subword_start(self) -> int:
        return self._pair_start + (PAIR_SLOTS if self.pairs else 0)

    # ----------------------------------------------------------------- encoding
    def transform(self, texts) -> np.ndarray:
        """(N, 2, L) float32: each text's distinct feature ids and their counts; (N, 3, L) with `order`,
        row 2 its words' ids in order (0 pads)."""
        words, lengths, unseen_runs, unseen_at = self._words(cut(check_texts(texts), self.max_chars))
        bags = self._bags(words, lengths, unseen_runs, unseen_at)
        return _with_word_order(bags, words, lengths) if self.order else bags

    def _bags(self, words, lengths, unseen_runs, unseen_at) -> np.ndarray:
        owner = np.repeat(np.arange(len(lengths)), lengths)
        features, owners = [words], [owner]
        if self.pairs and len(words):
            first = np.cumsum(lengths)[lengths > 0] - lengths[lengths > 0]  # a text's first word follows its start
            left = np.concatenate([np.zeros(len(first), dtype=np.int64), words[:-1]])
            right = np.concatenate([first, np.arange(1, len(words))])
            keep = np.concatenate([np.ones(len(first), dtype=bool), owner[1:] == owner[:-1]])
            pair = (left[keep] * 1_000_003 + words[right[keep]]) % PAIR_SLOTS
            features.append(self._pair_start + pair)
            owners.append(owner[right[keep]])
        if self.subwords and len(words):
            runs, run_of = self._known_runs(words)
            features += [runs, unseen_runs]
            owners += [owner[run_of], owner[unseen_at]]
        return _padded_bags(np.concatenate(features), np.concatenate(owners), len(lengths))

    def _words(self, texts: list[str]):
        """(every word's id, in order; words per text; the runs of letters of unseen words and the
        position of the word each belongs to). An unseen word is hashed into its slots."""
        index, start = self._word_index(), self._subword_start
        split = [split_words(text) for text in texts]
        lengths = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        words = list(itertools.chain.from_iterable(split))
        ids = np.fromiter(map(index.get, words, itertools.repeat(0)), dtype=np.int64, count=len(words))
        runs, at = [], []
        for position in np.flatnonzero(ids == 0).tolist():  # unseen words: hashed, and their runs of letters
            word = words[position]
            ids[position] = self._unknown_start + zlib.crc32(word.encode()) % UNKNOWN_SLOTS
            if self.subwords:
                letters = subword_ids(word, self.subwords, start)
                runs += letters
                at += [position] * len(letters)
        return ids, lengths, np.asarray(runs, dtype=np.int64), np.asarray(at, dtype=np.int64)

    def _word_index(self) -> dict:
        if self._index is None:
            self._index = {word: i + 1 for i, word in enumerate(self.vocabulary)}
        return self._index

    def _known_runs(self, words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(run ids, the position in `words` each belongs to) for the runs of letters of the known
        words, from a table made once for the vocabulary."""
        starts, runs = self._subwords_of_vocabulary()
        rows = np.flatnonzero(words < self._unknown_start)
        begin, end = starts[words[rows]], starts[words[rows] + 1]
        counts = end - begin
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(begin, counts)
        return runs[offsets], np.repeat(rows, counts)

    def _subwords_of_vocabulary(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR table: the runs of letters of word id i are runs[starts[i]:starts[i + 1]] (id 0 pads)."""
        if self._subword_table is None:
            lists = [[]] + [subword_ids(word, self.subwords, self._subword_start) for word in self.vocabulary]
            sizes = np.fromiter((len(run) for run in lists), dtype=np.int64, count=len(lists))
            starts = np.concatenate([[0], np.cumsum(sizes)])
            runs = np.fromiter((r for run in lists for r in run), dtype=np.int64, count=int(sizes.sum()))
            self._subword_table = (starts, runs)
        return self._subword_table

    # --------------------------------------------------------------------- JSON
    def to_dict(self) -> dict:
        return {"kind": self.kind, "vocabulary": self.vocabulary, "pairs": self.pairs,
                "subwords": list(self.subwords), "max_chars": self.max_chars, "order": self.order,
                "vector_size": self.vector_size}

    @classmethod
    def from_dict(cls, data: dict) -> TextEncoder:
        vocabulary = data["vocabulary"]
        if not isinstance(vocabulary, list) or not all(isinstance(w, str) for w in vocabulary):
            raise InvalidInputError("the model file's text vocabulary is not a list of words; the file is damaged.")
        return cls(vocabulary, bool(data["pairs"]), tuple(int(n) for n in data["subwords"]), int(data["max_chars"]),
                   bool(data.get("order", False)), int(data.get("vector_size", 0)))

    def describe(self) -> str:
        return f"texts ({len(self.vocabulary):,} words learned)"


def split_words(text: str) -> list[str]:
    """Lower-cased words and punctuation marks, in order."""
    return WORD.findall(text.lower())


def subword_ids(word: str, sizes: tuple, start: int) -> list[int]:
    """The ids of the runs of `sizes[0]`..`sizes[1]` letters in ``<word>``."""
    marked = f"<{word}>"
    runs = {marked[i:i + n] for n in range(sizes[0], sizes[1] + 1) for i in range(len(marked) - n + 1)}
    return [start + zlib.crc32(run.encode()) % SUBWORD_SLOTS for run in sorted(runs)]


def _with_word_order(bags: np.ndarray, words: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The bags with a third row: each text's first `ORDERED_WORDS` word ids in order, the rows padded
    to one length."""
    width = max(bags.shape[2], min(ORDERED_WORDS, int(lengths.max(initial=1))))
    rows = np.zeros((len(bags), 3, width), dtype=np.float32)
    rows[:, :2, :bags.shape[2]] = bags
    owner = np.repeat(np.arange(len(lengths)), lengths)
    place = np.arange(len(words)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    kept = place < ORDERED_WORDS
    rows[owner[kept], 2, place[kept]] = words[kept]
    return rows


def _padded_bags(features: np.ndarray, owners: np.ndarray, n_texts: int) -> np.ndarray:
    """Distinct (text, feature) pairs with their counts, laid out one text per row, zeros after."""
    span = int(features.max()) + 1 if len(features) else 1
    distinct, counts = np.unique(owners * span + features, return_counts=True)
    owner, feature = distinct // span, distinct % span
    per_text = np.bincount(owner, minlength=n_texts)
    bags = np.zeros((n_texts, 2, max(1, int(per_text.max(initial=0)))), dtype=np.float32)
    place = np.arange(len(distinct)) - np.repeat(np.cumsum(per_text) - per_text, per_text)
    bags[owner, 0, place] = feature
    bags[owner, 1, place] = counts
    return bags


def check_texts(texts) -> list[str]:
    """`texts` as a list of str; anything else in it is named by its position."""
    texts = list(texts)
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidInputError(f"text {index + 1} is a {type(text).__name__}, not a string; give every "
                                    "example as text.")
    return texts


def cut(texts: list[str], max_chars: int) -> list[str]:
    """Texts longer than `max_chars` cut there, with a warning saying how many."""
    long = [i for i, text in enumerate(texts) if len(text) > max_chars]
    if not long:
        return texts
    warnings.warn(f"{len(long)} text(s) longer than {max_chars:,} characters (first: text {long[0] + 1}, "
                  f"{len(texts[long[0]]):,} characters) are cut to their first {max_chars:,}.", DataWarning,
                  stacklevel=4)
    return [text[:max_chars] for text in texts]
