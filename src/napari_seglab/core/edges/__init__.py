"""Edge filters: Sobel and its relatives, the Laplacian, and Canny, as plain functions.

:func:`edges` runs the filter of scikit-image (or scipy, for the Laplacian of Gaussian) on a
grayscale or RGB image, plane by plane or in 3D, after an optional Gaussian or median; a dask
array is filtered chunk by chunk with the halo the filter needs (:mod:`._lazy`), with the
same values as in memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import is_lazy
from .._validation import as_image, check_colour, check_lazy_image, to_grayscale
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
        ``scipy.ndimage.gaussian_laplace`` for "log" (Laplacian of Gaussian of `sigma`, on
        the image as floats in [0, 1] for integer input); ``skimage.feature.canny`` for
        "canny", which returns a 0/1 ``uint8`` mask.
    direction : {"magnitude", "horizontal", "vertical"}
        For Sobel, Scharr, Prewitt and Farid: all edges (the magnitude), or only horizontal
        edges (``skimage.filters.sobel_h``: the derivative along Y) or vertical ones
        (``sobel_v``: along X). In 3D, ``sobel(image, axis=...)`` along Y or X.
    sigma : float
        Scale of the Laplacian of Gaussian and of Canny's Gaussian, in pixels.
    low_threshold, high_threshold : float, optional
        Canny's hysteresis thresholds on the gradient magnitude, in the units of the pixel
        values (scikit-image's default: 10% and 20% of the data type's maximum).
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
        The filter response, shaped like the image without its colour axis, in
        scikit-image's data type (float64 for integer input); for Canny a ``uint8`` mask,
        1 on edges. A dask array for a dask input.

    Raises
    ------
    SegLabInputError
        An unknown method or direction, a direction the filter does not have, 3D for a
        2D-only filter, a non-positive sigma or smoothing size, a low threshold above the
        high one, NaN pixels (in memory), or chunks too thin for the filter's halo.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((7, 7)); image[:, 4:] = 1.0
    >>> edges(image, "sobel", direction="vertical")[3].round(2)
    array([0., 0., 0., 1., 1., 0., 0.])
    >>> edges(image, "canny", sigma=1, low_threshold=0.1, high_threshold=0.2)[3]
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
        return lazy_edges(gray, options)
    gray = to_grayscale(as_image(image, allow_constant=True), rgb=rgb)
    _check_dims(gray.ndim, options)
    return filter_volume(gray, options)


def _check_dims(ndim: int, options: EdgeOptions) -> None:
    from .._validation import SegLabInputError

    if ndim < options.dims:
        raise SegLabInputError(
            f"A {options.dims}D edge filter needs an image of at least {options.dims} "
            f"dimensions; this one has {ndim}."
        )
