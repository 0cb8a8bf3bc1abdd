"""Counting the values of an 8-bit chunk in one compiled pass, for the histogram.

Imported lazily (numba takes about half a second to import); the kernel is cached on disk.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["byte_counts"]


@njit(cache=True, nogil=True)
def _counts(flat):  # pragma: no cover - numba
    out = np.zeros(256, np.int64)
    for v in flat:
        out[v] += 1
    return out


def byte_counts(part: np.ndarray) -> np.ndarray:
    """Pixels of each value of a uint8 or int8 array, from its smallest value up (256).

    Examples
    --------
    >>> import numpy as np
    >>> byte_counts(np.array([0, 2, 2], np.uint8))[:3].tolist()
    [1, 0, 2]
    >>> byte_counts(np.array([-128, 127], np.int8))[[0, 255]].tolist()
    [1, 1]
    """
    counts = _counts(np.ascontiguousarray(part).reshape(-1).view(np.uint8))
    return np.roll(counts, 128) if part.dtype == np.int8 else counts
