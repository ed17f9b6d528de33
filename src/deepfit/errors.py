"""The one exception tree that the estimators, the CLI and the HTTP server share.

::

    DeepfitError                      anything deepfit raises on purpose
    ├── InvalidInputError (ValueError)     bad data, options or files: CLI exit 2, HTTP 400/422
    │   ├── InvalidParameterError (TypeError)   an estimator parameter out of its range
    │   └── ModelFileError                      a file that is not a readable deepfit model
    ├── NotFittedError                    predict before fit (also scikit-learn's NotFittedError)
    └── OutputError (OSError)             an output that cannot be written: nothing was changed

Every message says what was wrong, what was received, and how to fix it, in one line.
"""

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError


class DeepfitError(Exception):
    """Base of every error deepfit raises on purpose."""


class InvalidInputError(DeepfitError, ValueError):
    """The data, an option or a file given by the user cannot be used as it is."""


class InvalidParameterError(InvalidInputError, TypeError):
    """An estimator parameter has a value outside what it accepts."""


class ModelFileError(InvalidInputError):
    """A file is not a deepfit model this version can read (and was not read further)."""


class NotFittedError(DeepfitError, _SklearnNotFittedError):
    """The estimator was asked to predict before `fit` was called."""


class OutputError(DeepfitError, OSError):
    """An output file or folder cannot be written; any earlier file is left as it was."""
