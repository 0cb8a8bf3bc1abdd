"""What counts as foreground in a prediction: a mask, or one chosen class of a labels image.

The rule (see ``docs/metrics.md``): with ``foreground_class=None`` the prediction must be a
mask (bool, or 0 and a single other value such as 1 or 255); a labels image needs a chosen
class (``foreground_class=N``: the pixels equal to ``N``) or ``"any"`` (every non-zero pixel,
for instance labels with one id per object). A raw image or a probability map is refused:
scoring every non-zero pixel as foreground gives a meaningless number.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import SegLabInputError, nan_values_error

__all__ = [
    "ANY",
    "check_foreground_class",
    "class_absent_error",
    "foreground_of",
    "not_a_mask_error",
    "prediction_mask",
]

ANY = "any"
"""``foreground_class`` value: every non-zero pixel is foreground (instance labels)."""

ForegroundClass = int | str | None


def check_foreground_class(foreground_class: Any, dtype: np.dtype) -> ForegroundClass:
    """Check `foreground_class` (None, ``"any"`` or a positive integer) for a prediction's dtype.

    Returns
    -------
    int or str or None
        ``foreground_class`` as a Python int, ``"any"`` or None.

    Examples
    --------
    >>> import numpy as np
    >>> check_foreground_class(np.uint8(2), np.dtype(np.uint8))
    2
    >>> check_foreground_class(0, np.dtype(np.uint8))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    napari_seglab.core._validation.SegLabInputError: The foreground class must be ...
    """
    if foreground_class is None:
        return None
    if isinstance(foreground_class, str) and foreground_class.lower() in (ANY, "any object"):
        chosen: ForegroundClass = ANY
    elif isinstance(foreground_class, int | np.integer) and not isinstance(
        foreground_class, bool | np.bool_
    ):
        chosen = int(foreground_class)
        if chosen < 1:
            chosen = None
    else:
        chosen = None
    if chosen is None:
        raise SegLabInputError(
            "The foreground class must be a positive label value (e.g. 2 for the classifier's "
            f"second class) or 'any' (every object of an instance labels image), not "
            f"{foreground_class!r}."
        )
    if np.issubdtype(dtype, np.floating):
        raise SegLabInputError(
            f"A foreground class can only be chosen in a labels image (integers); this "
            f"prediction holds {dtype} values. Threshold a probability map first (e.g. "
            "`probability > 0.5`)."
        )
    return chosen


def foreground_of(block: np.ndarray, foreground_class: ForegroundClass) -> np.ndarray:
    """The boolean foreground of a checked prediction (or of one chunk of it)."""
    if foreground_class is None or foreground_class == ANY:
        return block != 0
    return block == foreground_class


def not_a_mask_error(dtype: np.dtype, low: float, high: float, count: int | None = None):
    """The refusal of a prediction that is not a mask, saying what to do instead.

    Parameters
    ----------
    dtype : numpy.dtype
        The prediction's data type (a float one means a raw image or a probability map).
    low, high : float
        Its lowest and highest non-zero value.
    count : int, optional
        How many different non-zero values it has (if known).

    Examples
    --------
    >>> import numpy as np
    >>> print(not_a_mask_error(np.dtype(np.uint8), 1, 2, 2))  # doctest: +ELLIPSIS
    The prediction holds 2 different non-zero values (from 1 to 2), so it is not a mask...
    """
    if np.issubdtype(dtype, np.floating):
        return SegLabInputError(
            f"The prediction holds floating-point values from {low:g} to {high:g}: it looks "
            "like a raw image or a probability map, not a segmentation. Segment it first "
            "(e.g. with Threshold, or `probability > 0.5`) and validate the mask."
        )
    values = f"{count} different non-zero values" if count else "several non-zero values"
    return SegLabInputError(
        f"The prediction holds {values} (from {low:g} to {high:g}), so it is not a mask: it "
        "looks like class ids, instance labels or a raw image. Choose the foreground class "
        "(`foreground_class=N`, e.g. 2 for the classifier's second class), or "
        "`foreground_class='any'` for instance labels (every object is foreground); segment "
        "a raw image first."
    )


def class_absent_error(foreground_class: int, low: float, high: float) -> SegLabInputError:
    """The refusal of a foreground class that no pixel of the prediction has."""
    return SegLabInputError(
        f"No pixel of the prediction has the foreground class {foreground_class}; its "
        f"non-zero values go from {low:g} to {high:g}. Choose one of its classes."
    )


def prediction_mask(prediction: np.ndarray, foreground_class: Any = None) -> np.ndarray:
    """The prediction's boolean foreground, by the rule of this module (numpy input).

    Parameters
    ----------
    prediction : numpy.ndarray
        Checked for shape and dtype already (:func:`.._validation.as_mask`'s form checks).
    foreground_class : int or {"any"}, optional
        None: the prediction must be a mask. N: pixels equal to N. ``"any"``: non-zero pixels.

    Returns
    -------
    numpy.ndarray of bool

    Raises
    ------
    SegLabInputError
        A non-mask without a foreground class, a class no pixel has, NaN values, or a
        class chosen in a floating-point image.

    Examples
    --------
    >>> import numpy as np
    >>> classes = np.array([[1, 2], [2, 1]], np.uint8)
    >>> prediction_mask(classes, 2).tolist()
    [[False, True], [True, False]]
    """
    chosen = check_foreground_class(foreground_class, prediction.dtype)
    if prediction.dtype == bool:
        return foreground_of(prediction, chosen)
    if np.issubdtype(prediction.dtype, np.floating) and np.isnan(prediction).any():
        raise nan_values_error("prediction")
    nonzero = prediction[prediction != 0]
    if chosen is None and nonzero.size and nonzero.min() != nonzero.max():
        count = np.unique(nonzero).size
        raise not_a_mask_error(prediction.dtype, nonzero.min(), nonzero.max(), count)
    mask = foreground_of(prediction, chosen)
    if isinstance(chosen, int) and nonzero.size and not mask.any():
        raise class_absent_error(chosen, nonzero.min(), nonzero.max())
    return mask
