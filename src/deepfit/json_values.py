"""Values as JSON knows them: numpy scalars to Python numbers and strings, NaN to null."""

from __future__ import annotations

import math

import numpy as np


def plain(value):
    """A value JSON can hold.

    >>> plain(np.int64(3)), plain(np.float32(0.5)), plain(float("nan")), plain("cat")
    (3, 0.5, None, 'cat')
    """
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value
