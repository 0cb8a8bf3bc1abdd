"""The "foreground class" choice of the Validate panel, for a prediction with several values.

A mask (one non-zero value) needs no choice and the control is hidden. A labels image with
several values (a classifier's class ids, instance labels) needs one: a class, or "any
object" (every non-zero pixel, for instance labels). Nothing is chosen in advance: validating
without a choice is refused with a message saying what to pick.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ANY", "ASK", "choices_for", "known_values", "shown_values"]

ASK = "ask"
"""Choice value: no class chosen yet (a mask needs none)."""
ANY = "any"
"""Choice value: every non-zero pixel is foreground (core's ``foreground_class="any"``)."""

_MAX_PIXELS = 2**24  # read on the GUI thread only up to this size
_MAX_LISTED = 50  # classes listed by value; more: instance labels, "any object" is offered
_UNKNOWN = range(1, 10)  # classes offered when the values cannot be read cheaply


def known_values(data: Any) -> list[int] | None:
    """The non-zero values of an in-memory layer's data, or None if unknown.

    Unknown: a lazy (dask, zarr) or very large layer, read only in the validation job.

    Examples
    --------
    >>> import numpy as np
    >>> known_values(np.array([[0, 2], [1, 2]], np.uint8))
    [1, 2]
    """
    if not isinstance(data, np.ndarray) or data.size > _MAX_PIXELS:
        return None
    if data.dtype == bool:
        return [1] if data.any() else []
    if not np.issubdtype(data.dtype, np.integer):
        return None
    if data.dtype.itemsize <= 2 and data.min() >= 0:  # bincount: fast for small ranges
        values = np.flatnonzero(np.bincount(data.ravel()))
    else:
        values = np.unique(data)
    return [int(v) for v in values if v != 0]


def choices_for(values: list[int] | None) -> list[tuple[str, Any]]:
    """The control's choices: "choose...", "any object", then the classes present."""
    classes = _UNKNOWN if values is None else values[:_MAX_LISTED]
    return [("choose…", ASK), ("any object", ANY), *((f"class {v}", v) for v in classes)]


def shown_values(values: list[int] | None) -> str:
    """The values in words, for a message (at most five listed)."""
    if values is None:
        return "several values"
    listed = ", ".join(str(v) for v in values[:5]) + (", ..." if len(values) > 5 else "")
    return f"{len(values)} values ({listed})"
