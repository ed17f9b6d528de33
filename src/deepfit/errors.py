"""The one exception tree that the estimators, the CLI and the HTTP server share.

::

    DeepfitError                      anything deepfit raises on purpose
    ├── InvalidInputError (ValueError)     bad data, options or files: CLI exit 2, HTTP 400/422
    │   ├── InvalidParameterError (TypeError)   an estimator parameter out of its range
    │   └── ModelFileError                      a file that is not a readable deepfit model
    ├── NotFittedError                    predict before fit (also scikit-learn's NotFittedError)
    └── OutputError (OSError)             an output that cannot be written: nothing was changed

    DataWarning (UserWarning)         something in the data deepfit handled on its own (a warning)

Every message says what was wrong, what was received, and how to fix it, in one line.
"""

import difflib
import re
import threading
from pathlib import Path

# NotFittedError is built by __getattr__, below
__all__ = ["DataWarning", "DeepfitError", "InvalidInputError", "InvalidParameterError", "ModelFileError",  # noqa: F822
           "NotFittedError", "OutputError", "did_you_mean", "nearest", "no_such_path", "short_reason"]

_BUILDING = threading.Lock()


class DeepfitError(Exception):
    """Base of every error deepfit raises on purpose."""


class InvalidInputError(DeepfitError, ValueError):
    """The data, an option or a file given by the user cannot be used as it is."""


class InvalidParameterError(InvalidInputError, TypeError):
    """An estimator parameter has a value outside what it accepts."""


class ModelFileError(InvalidInputError):
    """A file is not a deepfit model this version can read (and was not read further)."""


class OutputError(DeepfitError, OSError):
    """An output file or folder cannot be written; any earlier file is left as it was."""


class DataWarning(UserWarning):
    """Something in the data deepfit handled on its own, and the user should know about."""


def nearest(given: str, choices) -> str | None:
    """The choice nearest to a mistyped `given` (case aside), or None when none is near.

    >>> nearest(">50K.", ["<=50K", ">50K"])
    '>50K'
    """
    names = [str(choice) for choice in choices]
    lowered = {name.lower(): name for name in names}
    close = difflib.get_close_matches(str(given).lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def did_you_mean(given: str, choices) -> str:
    """" Did you mean 'x'?" for the choice nearest to a mistyped `given`, or "" when none is near.

    >>> did_you_mean("incme", ["age", "income"])
    " Did you mean 'income'?"
    """
    found = nearest(given, choices)
    return "" if found is None else f" Did you mean {found!r}?"


def no_such_path(path, what: str = "file or folder") -> InvalidInputError:
    """The error for a path that is not there, suggesting the nearest name beside it (a typo)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        beside = [entry.name for entry in folder.iterdir()] if folder.is_dir() else []
    except OSError:
        beside = []
    if not folder.is_dir():
        return InvalidInputError(f"{path}: no such {what}; the folder {folder} is not there either. Check the path.")
    return InvalidInputError(f"{path}: no such {what}.{did_you_mean(path.name, beside) or ' Check the path.'}")


_OBJECT_REPR = re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>")


def short_reason(error: BaseException) -> str:
    """A library's error as a short reason to put in one of our messages: its first line, without a
    library prefix ("Error : ") or any Python object it names (``<_io.BytesIO object at 0x...>``
    says nothing to a user, and an address is nobody's business).

    >>> short_reason(OSError("cannot identify image file <_io.BytesIO object at 0x7f00deadbeef>"))
    'cannot identify image file the file'
    """
    text = str(error).split(": ", 1)[-1] if isinstance(error, RuntimeError) else str(error)
    text = text.splitlines()[0] if text.strip() else type(error).__name__
    return _OBJECT_REPR.sub("the file", text)[:120]


def __getattr__(name):
    """`NotFittedError` is built when first asked for: it is also scikit-learn's, and importing
    scikit-learn would make every command slow to start, even one that only prints its help."""
    if name != "NotFittedError":
        raise AttributeError(f"module 'deepfit.errors' has no attribute {name!r}")
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    with _BUILDING:  # one class, whichever thread asks first
        if "NotFittedError" not in globals():
            class NotFittedError(DeepfitError, SklearnNotFittedError):
                """The estimator was asked to predict before `fit` was called."""

            NotFittedError.__module__, NotFittedError.__qualname__ = __name__, "NotFittedError"  # pickles by name
            globals()["NotFittedError"] = NotFittedError
    return globals()["NotFittedError"]
