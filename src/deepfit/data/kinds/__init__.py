"""Kinds of input: one object per kind (`TABLE`, `PICTURES`, `SOUND`, `TEXT`), behind the protocol of
`deepfit.data.kinds.base.Kind`. Code above the data layer asks a kind (`of(encoder)`,
`for_data(X)`) and never branches on its name. A new kind is one module here and one `register` call.

>>> from deepfit.data.kinds import PICTURES, for_data, of
>>> import numpy as np
>>> for_data(np.zeros((2, 8, 8), dtype=np.uint8)) is PICTURES
True
>>> of("audio").words.files
'sound files'
"""

from __future__ import annotations

from pathlib import Path

from deepfit.data.kinds.base import Examples, ExportInput, Kind, TrainingDefaults, Words
from deepfit.data.kinds.picture import PICTURES
from deepfit.data.kinds.sound import SOUND
from deepfit.data.kinds.table import TABLE
from deepfit.data.kinds.text import TEXT
from deepfit.data.listing import listed_suffix

__all__ = ["Examples", "ExportInput", "Kind", "KINDS", "PICTURES", "SOUND", "TABLE", "TEXT", "TrainingDefaults", "Words",
           "encoder_from_dict", "for_data", "for_source", "of", "register"]

KINDS: dict[str, Kind] = {}


def register(kind: Kind, *, before: str | None = None) -> Kind:
    """Make `kind` known by its name; `for_data` asks the kinds in order (the table, which takes
    anything, last), so a new kind goes `before` the one it must be tried ahead of."""
    order = [k for k in KINDS.values() if k.name != kind.name]
    position = next((i for i, k in enumerate(order) if k.name == before), len(order))
    order.insert(position, kind)
    KINDS.clear()
    KINDS.update((k.name, k) for k in order)
    return kind


for _kind in (SOUND, TEXT, PICTURES, TABLE):
    register(_kind)


def of(thing) -> Kind:
    """The kind of an encoder, a fitted estimator (its encoder) or a name ("table", "image", "audio", "text")."""
    thing = getattr(thing, "encoder_", thing)
    name = thing if isinstance(thing, str) else getattr(thing, "kind", "table")
    if name not in KINDS:
        raise ValueError(f"unknown kind of input {name!r}; known: {', '.join(KINDS)}")
    return KINDS[name]


def for_data(X) -> Kind:
    """The kind of data given to `fit`: the first kind that recognises it."""
    return next(kind for kind in KINDS.values() if kind.recognises(X))


def for_source(path, text_column=None) -> Kind:
    """The kind a file or folder holds: the first kind that holds it (sound before pictures: a folder
    is sound when its first file is), else the kind whose files a CSV lists, else a table (a CSV
    naming files that are not beside it, among many columns, is a table of per-file features). A
    table whose `text_column` is named holds texts, however many other columns of text it has."""
    path = Path(path)
    if text_column is not None:
        found = next((kind for kind in KINDS.values() if kind.table_of_examples(path)), None)
        if found is not None:
            return found
    found = next((kind for kind in KINDS.values() if kind.holds(path)), None)
    if found is not None:
        return found
    files = [kind for kind in KINDS.values() if kind.takes_files]
    listed = listed_suffix(path, tuple(s for kind in files for s in kind.suffixes))
    return next((kind for kind in files if listed in kind.suffixes), TABLE)


def encoder_from_dict(data: dict):
    """The fitted Encoder a model file's header describes (older files without a kind are tables)."""
    return of(data.get("kind", "table")).encoder_from_dict(data)
