"""Word vectors from a local file, in the text format GloVe and fastText publish (``.txt``, ``.vec``):
one word a line, then its numbers, separated by spaces; fastText's files begin with a line giving the
number of words and of dimensions. Nothing is downloaded: the user names a file they have.

Vectors learned from billions of words place words of like meaning near each other, so a network
whose word embeddings start from them knows that "superb" is like "excellent" before it has seen
either in its own training texts.

>>> # words, vectors = read_word_vectors("glove.6B.100d.txt", keep={"good", "film"}, more=50_000)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepfit.errors import InvalidInputError

MAX_DIMENSIONS = 1024


def read_word_vectors(path, keep: set[str], more: int = 0) -> tuple[list[str], np.ndarray]:
    """(words, float32 [len(words), D] vectors): those of the words in `keep`, and of the first `more`
    other words of the file (files list the most frequent words first). Words are lower-cased, as
    deepfit's texts are; the first vector of a word wins. A malformed line is named, with the fix."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such word-vector file; give a GloVe or fastText .vec text file.")
    words, rows, seen, dimensions, number = [], [], set(), None, 0
    with path.open("r", encoding="utf-8", errors="strict") as lines:
        try:
            for number, line in enumerate(lines, start=1):
                word, _, numbers = line.rstrip("\r\n").rstrip(" ").partition(" ")
                if number == 1 and _is_header(word, numbers):
                    continue
                word = word.lower()
                if word in seen or not (word in keep or more > 0):
                    continue
                vector = _vector(numbers, path, number)
                dimensions = dimensions or _dimensions(len(vector), path, number)
                if len(vector) != dimensions:
                    raise InvalidInputError(f"{path}, line {number}: {len(vector)} numbers where the lines before "
                                            f"have {dimensions}; the file is cut or mixed.")
                more -= word not in keep
                seen.add(word)
                words.append(word)
                rows.append(vector)
        except UnicodeDecodeError:
            raise InvalidInputError(f"{path}, line {number + 1}: not UTF-8 text; word-vector files are UTF-8 "
                                    "text (a binary .bin file will not do: use the .vec or .txt one).") from None
    if not rows:
        raise InvalidInputError(f"{path}: holds no vectors for these texts' words; is it a GloVe or fastText "
                                ".vec text file of the texts' language?")
    return words, np.stack(rows)


def _is_header(first: str, rest: str) -> bool:
    """fastText's first line: the number of words and of dimensions."""
    parts = rest.split()
    return first.isdigit() and len(parts) == 1 and parts[0].isdigit()


def _vector(numbers: str, path: Path, number: int) -> np.ndarray:
    try:
        vector = np.array(numbers.split(" "), dtype=np.float32)
    except ValueError:
        vector = np.array([np.nan], dtype=np.float32)
    if not np.isfinite(vector).all():
        raise InvalidInputError(f"{path}, line {number}: not a word followed by numbers; word-vector files "
                                "have one word and its numbers a line, separated by spaces.")
    return vector


def _dimensions(count: int, path: Path, number: int) -> int:
    if not 0 < count <= MAX_DIMENSIONS:
        raise InvalidInputError(f"{path}, line {number}: {count} numbers; a word vector has 1 to "
                                f"{MAX_DIMENSIONS}.")
    return count
