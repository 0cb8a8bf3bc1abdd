"""Input checks of the object tools, for numpy and dask arrays alike.

A mask, a probability map and a labels image look alike to numpy; each check says which one
it found when it is not the one needed, and what to do instead: in napari first (these
messages reach the Objects widget), then in Python.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._blocks import compute, is_lazy
from .._validation import SegLabInputError, is_binary

__all__ = [
    "check_instance_values",
    "check_label_range",
    "check_labels",
    "check_spacing",
    "foreground_of",
    "instance_labels_of",
]

_LARGEST_LABEL = int(np.iinfo(np.int64).max)
_NUMBER_THEM = (
    "Number its objects first: in the Objects widget, choose connected components or split "
    "touching, not 'as labelled' (napari_seglab.label_objects in Python)."
)


def _value_range(arr: Any) -> tuple[float, float]:
    """Smallest and largest value (one chunk-by-chunk reduction for a dask array)."""
    if is_lazy(arr):
        low, high = compute(arr.min(), arr.max())
        return low.item(), high.item()
    return arr.min().item(), arr.max().item()


def _any(values: Any) -> bool:
    return bool(compute(values.any())[0] if is_lazy(values) else values.any())


def _check_array(arr: Any, name: str) -> Any:
    if not is_lazy(arr):
        arr = np.asarray(arr)
    if arr.ndim < 2 or 0 in arr.shape:
        raise SegLabInputError(f"The {name} must be a non-empty array of at least 2 dimensions.")
    if not (arr.dtype == bool or np.issubdtype(arr.dtype, np.number)):
        raise SegLabInputError(f"The {name} has data type {arr.dtype}; numbers are needed.")
    return arr


def check_spacing(spacing: Any, ndim: int) -> tuple[float, ...] | None:
    """The pixel size per axis as floats, or None; refuses a wrong length or non-positive."""
    if spacing is None:
        return None
    values = tuple(float(s) for s in np.atleast_1d(spacing))
    if len(values) != ndim:
        raise SegLabInputError(
            f"The spacing has {len(values)} value(s) but the image has {ndim} axes: give one "
            "pixel size per axis (e.g. the layer's scale)."
        )
    if not all(np.isfinite(v) and v > 0 for v in values):
        raise SegLabInputError(f"The spacing must be positive pixel sizes, not {values}.")
    return values


def _check_probability(arr: Any) -> Any:
    low, high = _value_range(arr)
    if np.isnan(low) or np.isnan(high):
        raise SegLabInputError(
            "The probability map has NaN (not a number) pixels, but every pixel needs a value "
            "in [0, 1]: recompute the probability, or replace the NaNs (numpy.nan_to_num in "
            "Python)."
        )
    if low < 0 or high > 1:
        raise SegLabInputError(
            f"The input has floating-point values from {low:g} to {high:g}: a probability map "
            "must lie in [0, 1], and a mask must be integer or boolean. A grayscale image needs "
            "a threshold first (the Threshold widget, or napari_seglab.threshold in Python)."
        )
    return arr >= 0.5


def _check_mask(arr: Any) -> Any:
    if arr.dtype == bool:
        return arr
    low, high = _value_range(arr)
    if low < 0:
        raise SegLabInputError(
            f"A mask holds 0 (background) and one positive value; this one has negative values "
            f"down to {low}."
        )
    binary = high <= 1 or (
        not _any((arr != 0) & (arr != high)) if is_lazy(arr) else is_binary(arr)
    )
    if not binary:
        raise SegLabInputError(
            "This has several non-zero values (a labels image, or a grayscale image), but a "
            "mask is needed here (0 = background, one value = foreground). To measure the "
            "objects of an instance labels image as they are numbered, choose 'as labelled "
            "(each value one object)' (method='labels' in Python). Threshold a grayscale "
            "image first (the Threshold widget, or napari_seglab.threshold in Python). To "
            "split the objects of a labels image again, make a mask of it: in napari, "
            "right-click the layer, choose Convert to Image, and threshold that with the "
            "manual method at 0.5; in Python, labels > 0."
        )
    return arr != 0


def foreground_of(data: Any, *, use_probability: bool) -> tuple[Any, Any]:
    """``(mask, probability or None)`` of a mask or a foreground probability map.

    Floats are a probability map (values in [0, 1], foreground where >= 0.5); booleans and
    integers a mask (0 and one positive value). Refuses an empty foreground.
    """
    arr = _check_array(data, "mask or probability map")
    probability = None
    if np.issubdtype(arr.dtype, np.floating):
        mask, probability = _check_probability(arr), arr
    else:
        if use_probability:
            raise SegLabInputError(
                "Flooding the probability needs a probability map (floating-point values in "
                "[0, 1], e.g. the pixel classifier's foreground probability), not a mask: "
                "choose a probability layer, or flood the distance instead (untick 'flood the "
                "probability'; use_probability=False in Python)."
            )
        mask = _check_mask(arr)
    if not _any(mask):
        raise SegLabInputError("The mask has no foreground pixels: there are no objects.")
    return mask, probability


def instance_labels_of(data: Any) -> Any:
    """An instance labels image to take as labelled: integers as they are, booleans as 0 / 1.

    Refuses floating-point values (a probability map, an image, or numbers saved as
    decimals); the values themselves (negative, too large, none) are checked by the caller,
    from its count of them.
    """
    arr = _check_array(data, "labels image")
    if arr.dtype == bool:
        return arr.astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.integer):
        raise SegLabInputError(
            f"'As labelled' needs an instance labels image (whole numbers: 0 = background, one "
            f"number per object), but this one holds {arr.dtype} values (decimals, maybe NaN). "
            "For a probability map, choose connected components or split touching; threshold a "
            "grayscale image first (the Threshold widget). Object numbers saved as decimals: "
            "right-click the layer and choose Convert to Labels (labels.astype(int) in Python)."
        )
    return arr


def check_instance_values(low: int, high: int, n_values: int) -> None:
    """Refuse negative values, numbers above 2**63 - 1, and a labels image without objects."""
    if low < 0:
        raise SegLabInputError(
            f"'As labelled' needs object numbers 0 (background) or positive, but this image has "
            f"values down to {low}: it is not an instance labels image. Threshold a grayscale "
            "image first (the Threshold widget), then choose connected components or split "
            "touching."
        )
    check_label_range(high)
    if not n_values:
        raise SegLabInputError("The labels image has no objects: every pixel is 0 (background).")


def check_label_range(high: int) -> None:
    """Refuse object numbers above the largest 64-bit signed integer (uint64 labels).

    Objects are measured and counted by their numbers as 64-bit signed integers; larger
    numbers would wrap round to negative ones.
    """
    if high > _LARGEST_LABEL:
        raise SegLabInputError(
            f"Object numbers up to {_LARGEST_LABEL:,} (2**63 - 1) can be measured; this labels "
            f"image has {high:,}: renumber its objects 1, 2, 3 ... first (in Python, "
            "skimage.segmentation.relabel_sequential(labels)[0])."
        )


def check_labels(labels: Any) -> Any:
    """A labels image (non-negative integers, 0 = background) as an integer array."""
    arr = _check_array(labels, "labels image")
    if arr.dtype == bool:
        raise SegLabInputError(
            "This is a mask (True / False), not a labels image: every object would be "
            f"measured as one. {_NUMBER_THEM}"
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise SegLabInputError(
            f"A labels image holds integers (0 = background), not {arr.dtype} values."
        )
    low, high = _value_range(arr)
    if low < 0:
        raise SegLabInputError(
            f"Labels must be 0 (background) or positive; this image has values down to {low}."
        )
    check_label_range(high)
    if not is_lazy(arr) and is_binary(arr):
        from scipy import ndimage as ndi

        if ndi.label(arr)[1] > 1:
            raise SegLabInputError(
                "This is a mask (one value for several separate objects), not a labels image: "
                f"they would be measured as one. {_NUMBER_THEM}"
            )
    return arr
