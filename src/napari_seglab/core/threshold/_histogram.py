"""Histograms (and means) of lazy images, and the histogram forms of Li and triangle.

The threshold values themselves come from :func:`._methods.value_from_histogram`. The
histogram is built exactly as scikit-image builds it: for integer images one bin per integer
value between the minimum and the maximum; for floating-point images 256 equal bins
between the minimum and the maximum (``numpy.histogram``, whose counts do not depend on how
the image is split). ``"li"`` on a floating-point lazy image is refused (scikit-image
iterates on the pixels, not on a histogram); ``"mean"`` on floating-point images may differ
in the last bit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._blocks import per_plane_reduce, slabs
from .._validation import SegLabInputError, check_lazy_image

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["histogram", "li_from_histogram", "means", "triangle_from_histogram"]

_SLAB = 1 << 21


def _integer_counts(
    image: da.Array, lead_ndim: int, first: int, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per plane, how many pixels hold each value ``first .. first + length - 1``."""

    def count(part: np.ndarray, plane: int) -> np.ndarray:
        flat = part.ravel()
        out = np.zeros(length, np.int64)
        for s in range(0, flat.size, _SLAB):  # bounds the int64 copy bincount makes
            out += np.bincount(flat[s : s + _SLAB].astype(np.int64) - first, minlength=length)
        return out

    counts = per_plane_reduce(image, lead_ndim, count, length)
    return counts, np.arange(first, first + length)


def histogram(
    image: da.Array, *, plane_ndim: int | None = None, nbins: int = 256
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The histogram scikit-image would compute, accumulated over the chunks of a dask array.

    Parameters
    ----------
    image : dask.array.Array
        Integer or floating-point image.
    plane_ndim : int, optional
        Give one histogram per plane (the last `plane_ndim` axes) instead of one overall.
    nbins : int
        Bins for floating-point images (ignored for integers, as in scikit-image).

    Returns
    -------
    list of (counts, bin_centers)
        One pair per plane (in C order of the leading axes), or a single pair. For integer
        images: one bin per integer value from the minimum to the maximum
        (:func:`skimage.exposure.histogram`); for floating-point images `nbins` equal bins
        from the minimum to the maximum, centres halfway between the edges.

    Raises
    ------
    SegLabInputError
        If the image holds NaN or infinite values.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> counts, centers = histogram(da.from_array(np.array([[1, 3], [3, 3]]), chunks=1))[0]
    >>> counts.tolist(), centers.tolist()
    ([1, 0, 3], [1, 2, 3])
    """
    image = check_lazy_image(image)
    lead_ndim = 0 if plane_ndim is None else max(image.ndim - plane_ndim, 0)
    if image.dtype.itemsize == 1 and np.issubdtype(image.dtype, np.integer):
        # One pass: count every possible value, then trim to the image's range.
        counts, centers = _integer_counts(image, lead_ndim, int(np.iinfo(image.dtype).min), 256)
        result = []
        for plane in counts:
            used = np.flatnonzero(plane)
            result.append((plane[used[0] : used[-1] + 1], centers[used[0] : used[-1] + 1]))
        return result
    low, high = _plane_ranges(image, lead_ndim)
    if np.issubdtype(image.dtype, np.integer):
        first, last = int(low.min()), int(high.max())
        counts, centers = _integer_counts(image, lead_ndim, first, last - first + 1)
        return [
            (counts[i, lo - first : hi - first + 1], centers[lo - first : hi - first + 1])
            for i, (lo, hi) in enumerate(zip(low.tolist(), high.tolist(), strict=True))
        ]
    # numpy.histogram with an explicit range counts each pixel exactly as it would on the
    # whole image (same edges, same uniform-bin arithmetic), so the counts add up exactly.
    ranges = list(zip(low, high, strict=True))

    def count_float(part: np.ndarray, plane: int) -> np.ndarray:
        return np.histogram(part, bins=nbins, range=ranges[plane])[0]

    counts = per_plane_reduce(image, lead_ndim, count_float, nbins)
    empty = np.empty(0, image.dtype)
    result = []
    for i, (lo, hi) in enumerate(ranges):
        edges = np.histogram_bin_edges(empty, nbins, range=(lo, hi))
        result.append((counts[i], (edges[:-1] + edges[1:]) / 2.0))
    return result


def _plane_ranges(image: da.Array, lead_ndim: int) -> tuple[np.ndarray, np.ndarray]:
    """The minimum and maximum of each plane (or of the image), one slab at a time."""
    import dask

    axes = tuple(range(lead_ndim, image.ndim))
    axis = int(np.argmax(image.numblocks))
    ranges = [dask.compute(p.min(axis=axes), p.max(axis=axes)) for p in slabs(image)]
    lows, highs = [r[0] for r in ranges], [r[1] for r in ranges]
    if axis < lead_ndim:  # slabs split the planes: put the planes' ranges side by side
        low, high = np.concatenate(lows, axis=axis), np.concatenate(highs, axis=axis)
    else:  # slabs split each plane: combine
        low, high = np.minimum.reduce(lows), np.maximum.reduce(highs)
    low, high = np.atleast_1d(low).ravel(), np.atleast_1d(high).ravel()
    if np.issubdtype(image.dtype, np.floating) and not (
        np.isfinite(low).all() and np.isfinite(high).all()
    ):
        raise SegLabInputError(
            "The image contains NaN or infinite pixels. Replace them first, e.g. with "
            "numpy.nan_to_num, or crop them away."
        )
    return low, high


def means(image: da.Array, lead_ndim: int) -> np.ndarray:
    """The mean of the whole image (``lead_ndim=0``) or of each plane, exact for integers."""
    axes = tuple(range(lead_ndim, image.ndim))
    if np.issubdtype(image.dtype, np.integer):
        sums = image.astype(np.int64).sum(axis=axes).compute()
        n = int(np.prod([image.shape[a] for a in axes]))
        return np.array([int(s) / n for s in np.atleast_1d(sums).ravel()])
    return np.atleast_1d(image.mean(axis=axes).compute()).ravel()


def li_from_histogram(counts: np.ndarray, centers: np.ndarray) -> float:
    """scikit-image's Li iteration for integer images, from the image's histogram."""
    first = int(centers[0])
    shifted = centers - first
    total = int(counts.sum())
    t_next = int((counts * shifted).sum()) / total
    hist = counts.astype(np.float32)
    t_curr = -2 * 0.5
    while abs(t_next - t_curr) > 0.5:
        t_curr = t_next
        fore = shifted > t_curr
        mean_fore = np.average(shifted[fore], weights=hist[fore])
        mean_back = np.average(shifted[~fore], weights=hist[~fore])
        if mean_back == 0:
            break
        t_next = (mean_back - mean_fore) / (np.log(mean_back) - np.log(mean_fore))
    return float(t_next + first)


def triangle_from_histogram(counts: np.ndarray, centers: np.ndarray) -> float:
    """The triangle method (Zack et al. 1977) as scikit-image computes it, from a histogram."""
    hist = counts
    nbins = hist.size
    peak = int(np.argmax(hist))
    low, high = np.flatnonzero(hist)[[0, -1]]
    if low == high:
        return float(centers[low])
    flip = peak - low < high - peak
    if flip:
        hist = hist[::-1]
        low, peak = nbins - high - 1, nbins - peak - 1
    width = peak - low
    x = np.arange(width)
    norm = np.sqrt(float(hist[peak]) ** 2 + width**2)
    length = hist[peak] / norm * x - width / norm * hist[x + low]
    level = int(np.argmax(length)) + low
    if flip:
        level = nbins - level - 1
    return float(centers[level])
