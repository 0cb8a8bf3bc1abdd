"""Edge filters on images in memory: 2D plane by plane, or 3D, after an optional smoothing."""

from __future__ import annotations

import numpy as np

from .._validation import SegLabInputError
from ._options import EdgeDirection, EdgeMethod, EdgeOptions, EdgeSmoothing

__all__ = ["filter_image", "filter_volume"]


def _smoothed(image: np.ndarray, options: EdgeOptions) -> np.ndarray:
    if options.smoothing is EdgeSmoothing.GAUSSIAN:
        from skimage.filters import gaussian

        return gaussian(image, sigma=options.smoothing_size)
    if options.smoothing is EdgeSmoothing.MEDIAN:
        from scipy import ndimage as ndi

        return ndi.median_filter(image, size=int(options.smoothing_size), mode="reflect")
    return image


def _canny(image: np.ndarray, options: EdgeOptions) -> np.ndarray:
    from skimage.feature import canny

    if image.dtype in (np.int64, np.uint64):
        raise SegLabInputError(
            "Canny does not take 64-bit integer images; convert the image to float32 first "
            "(its thresholds are then in the same units as the pixel values)."
        )
    found = canny(
        image,
        sigma=options.sigma,
        low_threshold=options.low_threshold,
        high_threshold=options.high_threshold,
    )
    return found.astype(np.uint8)


def _first_derivative(image: np.ndarray, options: EdgeOptions) -> np.ndarray:
    from skimage import filters

    name = options.method.value
    if options.direction is EdgeDirection.MAGNITUDE:
        return getattr(filters, name)(image)
    if image.ndim == 2:  # scikit-image's own horizontal / vertical filters
        suffix = "h" if options.direction is EdgeDirection.HORIZONTAL else "v"
        return getattr(filters, f"{name}_{suffix}")(image)
    axis = image.ndim - (2 if options.direction is EdgeDirection.HORIZONTAL else 1)
    return getattr(filters, name)(image, axis=axis)


def filter_image(image: np.ndarray, options: EdgeOptions) -> np.ndarray:
    """One plane (or one volume, with ``options.dims == 3``) through smoothing and filter."""
    from skimage import filters
    from skimage.util import img_as_float

    image = _smoothed(image, options)
    method = options.method
    if method is EdgeMethod.CANNY:
        return _canny(image, options)
    if method is EdgeMethod.ROBERTS:
        return filters.roberts(image)
    if method is EdgeMethod.LAPLACE:
        return filters.laplace(image)
    if method is EdgeMethod.LOG:
        from scipy import ndimage as ndi

        return ndi.gaussian_laplace(img_as_float(image), sigma=options.sigma, mode="reflect")
    return _first_derivative(image, options)


def filter_volume(image: np.ndarray, options: EdgeOptions) -> np.ndarray:
    """Every plane (or volume) of the last ``options.dims`` axes, filtered on its own."""
    lead = image.shape[: image.ndim - options.dims]
    if not lead:
        return filter_image(image, options)
    out = None
    for index in np.ndindex(*lead):
        result = filter_image(image[index], options)
        if out is None:
            out = np.empty(image.shape, dtype=result.dtype)
        out[index] = result
    return out
