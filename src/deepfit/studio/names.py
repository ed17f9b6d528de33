"""Names the studio accepts for projects and classes, and the names it gives files: nothing a
person types can reach outside the project's folder.

>>> safe_name("cats and dogs", "project")
'cats and dogs'
>>> safe_name("../etc", "class")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
deepfit.errors.InvalidInputError: class name '../etc': use letters, digits, spaces, ...
>>> stored_name(b"abc", ".PNG")
'a9993e364706.png'
"""

from __future__ import annotations

import hashlib
import re

from deepfit.errors import InvalidInputError

NAME = re.compile(r"[^\W_][\w .\-]{0,63}")
RESERVED = {"con", "prn", "aux", "nul", "examples"}


def safe_name(name, what: str) -> str:
    """`name` when it can be a folder's name anywhere (no slash, no leading dot, no "..", no control
    characters, not reserved), else an InvalidInputError naming `what` and the rule."""
    text = name.strip() if isinstance(name, str) else ""
    if not NAME.fullmatch(text) or ".." in text or text.lower() in RESERVED or text.endswith((".", " ")):
        raise InvalidInputError(f"{what} name {name!r}: use letters, digits, spaces, '-', '_' and '.', starting with "
                                "a letter or digit (at most 64 characters).")
    return text


def stored_name(payload: bytes, suffix: str) -> str:
    """The file name the studio gives an example: its content's digest (the same file added twice is
    kept once) and its lower-case suffix."""
    return hashlib.sha1(payload).hexdigest()[:12] + suffix.lower()
