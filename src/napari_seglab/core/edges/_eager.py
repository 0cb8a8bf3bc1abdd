"""Edge filters on images in memory: 2D plane by plane, or 3D, after an optional smoothing.

Every filter works on the pixel values as they are: integer images become float64 without
the rescaling of ``skimage.util.img_as_float`` (which would divide a 16-bit image by 65535),
so the same image gives the same response whatever its data type.
"""

from __future__ import annotations

import numpy as np

from ._options import EdgeDirection, EdgeMethod, EdgeOptions, EdgeSmoothing

__all__ = ["filter_image", "filter_volume"]


def _as_float(image: np.ndarray) -> np.ndarray:
    """The pixel values as floats, unscaled: float images as they are, others as float64."""
    return image if np.issubdtype(image.dtype, np.floating) else image.astype(np.float64)


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

    if image.min() == image.max():  # no edges (with thresholds 0 scikit-image marks some)
        return np.zeros(image.shape, np.uint8)
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

    image = _smoothed(_as_float(image), options)
    method = options.method
    if method is EdgeMethod.CANNY:
        return _canny(image, options)
    if method is EdgeMethod.ROBERTS:
        return filters.roberts(image)
    if method is EdgeMethod.LAPLACE:
        return filters.laplace(image)
    if method is EdgeMethod.LOG:
        from scipy import ndimage as ndi

        return ndi.gaussian_laplace(image, sigma=options.sigma, mode="reflect")
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
