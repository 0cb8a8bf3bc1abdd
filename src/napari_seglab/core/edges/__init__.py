"""Edge filters: Sobel and its relatives, the Laplacian, and Canny, as plain functions.

:func:`edges` runs the filter of scikit-image (or scipy, for the Laplacian of Gaussian) on a
grayscale or RGB image, plane by plane or in 3D, after an optional Gaussian or median, in the
image's own pixel-value units whatever its data type; a dask array is filtered chunk by chunk
with the halo the filter needs (:mod:`._lazy`), with the same values as in memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import compute, is_lazy
from .._validation import SegLabInputError, as_image, check_colour, check_lazy_image, to_grayscale
from ._eager import filter_volume
from ._lazy import lazy_edges
from ._options import EdgeDirection, EdgeMethod, EdgeOptions, EdgeSmoothing

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["EdgeDirection", "EdgeMethod", "EdgeOptions", "EdgeSmoothing", "edges"]


def _lazy_grayscale(image: da.Array, rgb: bool) -> da.Array:
    check_colour(image.shape, rgb=rgb, channel=None)
    if not rgb:
        return image
    return image.rechunk({image.ndim - 1: -1}).map_blocks(
        to_grayscale, rgb=True, drop_axis=image.ndim - 1, dtype=np.float64
    )


def edges(
    image: ArrayLike | da.Array,
    method: EdgeMethod | str = "sobel",
    *,
    direction: EdgeDirection | str = "magnitude",
    sigma: float = 1.0,
    low_threshold: float | None = None,
    high_threshold: float | None = None,
    smoothing: EdgeSmoothing | str | None = None,
    smoothing_size: float = 1.0,
    dims: int = 2,
    rgb: bool = False,
) -> np.ndarray | da.Array:
    """Find edges with a filter of scikit-image, plane by plane (2D) or in 3D.

    Parameters
    ----------
    image : array_like or dask.array.Array
        Grayscale image of 2 or more dimensions (``(..., Y, X)``), or with `rgb` a colour
        image ``(..., Y, X, 3 or 4)`` whose luminance is filtered. A dask array is filtered
        lazily, chunk by chunk.
    method : {"sobel", "scharr", "prewitt", "roberts", "farid", "laplace", "log", "canny"}
        ``skimage.filters.<method>`` for the first five and "laplace";
        ``scipy.ndimage.gaussian_laplace`` for "log" (Laplacian of Gaussian of `sigma`);
        ``skimage.feature.canny`` for "canny", which returns a 0/1 ``uint8`` mask. Each runs
        on the pixel values as floats, not rescaled: integer and boolean images as float64
        (scikit-image alone would divide a 16-bit image by 65535), so an image gives the same
        response whatever its data type.
    direction : {"magnitude", "horizontal", "vertical"}
        For Sobel, Scharr, Prewitt and Farid: all edges (the magnitude), or only horizontal
        edges (``skimage.filters.sobel_h``: the derivative along Y) or vertical ones
        (``sobel_v``: along X). In 3D, ``sobel(image, axis=...)`` along Y or X.
    sigma : float
        Scale of the Laplacian of Gaussian and of Canny's Gaussian, in pixels.
    low_threshold, high_threshold : float, optional
        Canny's hysteresis thresholds, compared with the gradient magnitude (Sobel) of the
        Gaussian-smoothed image, in pixel-value units. A missing one is 10% (low) or 20%
        (high) of the image's range, its maximum minus its minimum over the whole image or
        stack (computed when called, for a dask array); on a 0-255 image that is
        scikit-image's default.
    smoothing : {None, "gaussian", "median"}
        Filter the image first: ``skimage.filters.gaussian`` with sigma `smoothing_size`, or
        ``scipy.ndimage.median_filter`` with size `smoothing_size` (same number of
        dimensions as the edge filter).
    smoothing_size : float
        Gaussian sigma or median size (a whole number).
    dims : {2, 3}
        Filter each plane of the last two axes on its own (2), or the last three axes as a
        volume (3; Sobel, Scharr, Prewitt, Farid, Laplace and LoG only).
    rgb : bool
        Whether the last axis holds RGB(A) channels.

    Returns
    -------
    numpy.ndarray or dask.array.Array
        The filter response, shaped like the image without its colour axis, in pixel-value
        units: float64 for integer and boolean input, the float type of a float input; for
        Canny a ``uint8`` mask, 1 on edges (none on a constant image). A dask array for a
        dask input.

    Raises
    ------
    SegLabInputError
        An unknown method or direction, a direction the filter does not have, 3D for a
        2D-only filter, a non-positive sigma or smoothing size, a low threshold above the
        high one (an explicit one beyond the automatic other included), NaN pixels (in memory,
        and for Canny's automatic thresholds), or chunks too thin for the filter's halo.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((7, 7)); image[:, 4:] = 1.0
    >>> edges(image, "sobel", direction="vertical")[3].round(2)
    array([0., 0., 0., 1., 1., 0., 0.])
    >>> edges(image, "canny", sigma=1, low_threshold=0.1, high_threshold=0.2)[3]
    array([0, 0, 0, 1, 0, 0, 0], dtype=uint8)
    >>> twelve_bit = (image * 4095).astype(np.uint16)  # automatic thresholds follow the range
    >>> edges(twelve_bit, "canny")[3]
    array([0, 0, 0, 1, 0, 0, 0], dtype=uint8)
    """
    options = EdgeOptions.from_arguments(
        method,
        direction=direction,
        sigma=sigma,
        low_threshold=low_threshold,
        high_threshold=high_threshold,
        smoothing=smoothing,
        smoothing_size=smoothing_size,
        dims=dims,
    )
    if is_lazy(image):
        gray = _lazy_grayscale(check_lazy_image(image), rgb)
        _check_dims(gray.ndim, options)
        return lazy_edges(gray, _with_canny_thresholds(gray, options))
    gray = to_grayscale(as_image(image, allow_constant=True), rgb=rgb)
    _check_dims(gray.ndim, options)
    return filter_volume(gray, _with_canny_thresholds(gray, options))


def _with_canny_thresholds(gray: np.ndarray | da.Array, options: EdgeOptions) -> EdgeOptions:
    """The options with Canny's automatic thresholds set from the whole image's range."""
    both = options.low_threshold is not None and options.high_threshold is not None
    if options.method is not EdgeMethod.CANNY or both:
        return options
    if is_lazy(gray):
        minimum, maximum = compute(gray.min(), gray.max())
        if not (np.isfinite(minimum) and np.isfinite(maximum)):
            raise SegLabInputError(
                "The image contains NaN or infinite pixels, so Canny's automatic thresholds "
                "(a share of its range) cannot be set; replace them first, or set both "
                "thresholds."
            )
    else:
        minimum, maximum = np.min(gray), np.max(gray)
    return options.with_thresholds_for(minimum, maximum)


def _check_dims(ndim: int, options: EdgeOptions) -> None:
    if ndim < options.dims:
        raise SegLabInputError(
            f"A {options.dims}D edge filter needs an image of at least {options.dims} "
            f"dimensions; this one has {ndim}."
        )
