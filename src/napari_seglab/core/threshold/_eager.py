"""Global and local thresholds, with an optional median filter first.

Foreground may be bright (``image > t``) or dark (``image <= t``). The dark rule is the exact
complement of the bright one, so thresholding an image for dark objects gives the same mask as
inverting it and thresholding for bright ones (as the KESM vessel article does). A dask array
is handed to :mod:`._lazy`, which gives the same result chunk by chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import is_lazy
from .._validation import as_image, to_grayscale
from . import _lazy
from ._choices import ThresholdMethod
from ._histogram import binning_note
from ._median import median_window
from ._methods import (
    ThresholdOptions,
    apply_threshold,
    value_from_image,
)
from ._results import ThresholdResult

__all__ = ["median_filter", "prepare_image", "threshold"]


def median_filter(image: ArrayLike, size: int = 3, *, ndim: int = 2) -> Any:
    """Median-filter the last `ndim` axes of an image, leaving leading axes alone.

    Parameters
    ----------
    image : array_like
        Grayscale image of shape ``(..., Y, X)`` (or ``(..., Z, Y, X)`` with ``ndim=3``).
    size : int
        Width of the (square or cubic) window, in pixels. 0 or 1 returns the image unchanged.
    ndim : int
        2 filters each plane on its own; 3 filters in 3D over the last three axes.

    Returns
    -------
    numpy.ndarray or dask.array.Array
        Filtered image of the same shape and dtype. Borders are handled by reflection. A dask
        input gives a lazy result, filtered chunk by chunk (:func:`._lazy.median_filter`).

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((5, 5), np.uint8); img[2, 2] = 255
    >>> int(median_filter(img, 3).max())
    0
    """
    if is_lazy(image):
        return _lazy.median_filter(image, size, ndim=ndim)
    arr = as_image(image, allow_constant=True)
    window = median_window(size, ndim, arr.shape)
    if window is None:
        return arr
    from scipy import ndimage as ndi

    return ndi.median_filter(arr, size=window, mode="reflect")


def prepare_image(
    image: ArrayLike, options: ThresholdOptions | None = None, **settings: Any
) -> Any:
    """Grayscale conversion, checks and the optional median filter that precede thresholding.

    Parameters
    ----------
    image : array_like
        Image as described in :func:`threshold`; a dask array stays lazy.
    options : ThresholdOptions, optional
        Its ``rgb``, ``channel``, ``median_size`` and ``median_ndim`` are used.
    **settings
        Fields of :class:`ThresholdOptions` (replacing those of `options`).

    Returns
    -------
    numpy.ndarray or dask.array.Array
        The image the threshold is computed on; threshold it with
        ``options.for_prepared()``.

    Examples
    --------
    >>> import numpy as np
    >>> rgb = np.zeros((4, 4, 3), np.uint8); rgb[1, 1] = 255
    >>> prepare_image(rgb, rgb=True, channel=0).shape
    (4, 4)
    """
    options = ThresholdOptions.build(options, **settings)
    if is_lazy(image):
        return _lazy.prepare_image(image, options)
    gray = as_image(to_grayscale(image, rgb=options.rgb, channel=options.channel))
    return median_filter(gray, options.median_size, ndim=options.median_ndim)


def threshold_prepared(prepared: np.ndarray, options: ThresholdOptions) -> ThresholdResult:
    """Threshold an image returned by :func:`prepare_image` with `options`, in memory."""
    method, foreground = options.method, options.foreground
    if options.per_plane and prepared.ndim > options.plane_ndim:
        # A blank plane (empty slice, dropped frame) has nothing to separate: it stays
        # background, and its threshold is NaN, instead of failing the whole stack.
        values = np.full(prepared.shape[: prepared.ndim - options.plane_ndim], np.nan)
        mask = np.zeros(prepared.shape, dtype=np.uint8)
        ranges = []
        for idx in np.ndindex(*values.shape):
            plane = prepared[idx]
            ranges.append((plane.min(), plane.max()))
            if method is not ThresholdMethod.MANUAL and plane.min() == plane.max():
                continue
            value = value_from_image(plane, options)
            mask[idx] = apply_threshold(plane, value, foreground)
            if method.is_global:
                values[idx] = value
        note = binning_note(prepared.dtype, ranges) if method.uses_histogram else ""
        return ThresholdResult(
            mask, method, foreground, values if method.is_global else None, note
        )
    value = value_from_image(prepared, options)
    mask = apply_threshold(prepared, value, foreground)
    note = ""
    if method.uses_histogram:
        note = binning_note(prepared.dtype, [(prepared.min(), prepared.max())])
    return ThresholdResult(mask, method, foreground, value if method.is_global else None, note)


def threshold(
    image: ArrayLike,
    method: ThresholdMethod | str | None = None,
    *,
    options: ThresholdOptions | None = None,
    **settings: Any,
) -> ThresholdResult:
    """Segment an image into foreground and background with one threshold method.

    Parameters
    ----------
    image : array_like
        2D image ``(Y, X)``, 3D stack ``(Z, Y, X)``, or any leading axes (time, ...), integer
        or floating point. With ``rgb=True`` the last axis holds 3 or 4 colour channels.
        A dask array is thresholded chunk by chunk (see :mod:`._lazy`).
    method : ThresholdMethod or str, optional
        ``"otsu"`` (the default), ``"li"``, ``"yen"``, ``"triangle"``, ``"isodata"``,
        ``"mean"``, ``"minimum"``, ``"multi_otsu"``, ``"manual"``, ``"local_mean"``,
        ``"niblack"``, ``"sauvola"``; overrides ``options.method``.
    options : ThresholdOptions, optional
        Every choice at once (see :class:`ThresholdOptions`).
    **settings
        Or (and) any field of :class:`ThresholdOptions` as a keyword: ``foreground``,
        ``median_size``, ``median_ndim``, ``per_plane``, ``plane_ndim``, ``rgb``,
        ``channel``, ``value``, ``classes``, ``boundary``, ``block_size``, ``offset``,
        ``window_size``, ``k``.

    Returns
    -------
    ThresholdResult
        ``.mask`` (uint8, 1 = foreground) and ``.value`` (the threshold(s) used). For a dask
        array input the mask is a lazy dask array, computed chunk by chunk.

    Raises
    ------
    SegLabInputError
        For an empty, constant, non-numeric or NaN-holding image, a bad option, or a method
        that cannot run on the image (e.g. ``"minimum"`` on a histogram without two peaks).

    Examples
    --------
    >>> import numpy as np
    >>> img = np.array([[10, 10, 200], [10, 200, 200]], dtype=np.uint8)
    >>> result = threshold(img, "otsu")
    >>> result.mask
    array([[0, 0, 1],
           [0, 1, 1]], dtype=uint8)
    >>> int(threshold(img, "otsu", foreground="dark").mask.sum())
    3
    >>> threshold(img, options=ThresholdOptions("manual", value=100)).value
    100.0
    """
    if method is not None:
        settings["method"] = method
    options = ThresholdOptions.build(options, **settings)
    if is_lazy(image):
        return _lazy.threshold(image, options)
    return threshold_prepared(prepare_image(image, options), options)
