"""Histograms (and means) of images, and the histogram forms of Li and triangle.

The threshold values themselves come from :func:`._methods.value_from_histogram`. The
histogram is built as scikit-image builds it, with one bound on its size: for integer images
one bin per integer value between the minimum and the maximum while they span at most
:data:`EXACT_VALUES` values (every 8- and 16-bit image: the thresholds are exactly
scikit-image's); for integer images of a wider range, and for floating-point images, 256
equal bins between the minimum and the maximum (``numpy.histogram``, whose counts do not
depend on how the image is split, so lazy and in-memory results are equal). Ranges are
computed in Python integers, so int64 and uint64 images near their limits cannot overflow.
``"li"`` on a floating-point lazy image is refused (scikit-image iterates on the pixels, not
on a histogram); ``"mean"`` on floating-point images may differ in the last bit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._blocks import compute, per_plane_reduce, slabs
from .._validation import SegLabInputError, check_lazy_image

if TYPE_CHECKING:
    import dask.array as da

__all__ = [
    "EXACT_VALUES",
    "NBINS",
    "binning_note",
    "exact_mean",
    "hist_ranges",
    "histogram",
    "integer_histogram",
    "is_binned",
    "li_from_histogram",
    "means",
    "triangle_from_histogram",
]

_SLAB = 1 << 21

EXACT_VALUES = 1 << 16
"""Integer images spanning up to this many values get one histogram bin per value."""

NBINS = 256
"""Bins of the histogram of a floating-point image or of a wider-range integer image."""


def is_binned(dtype: np.dtype, low: int | float, high: int | float) -> bool:
    """Whether values of `dtype` from `low` to `high` are counted in :data:`NBINS` bins."""
    if not np.issubdtype(dtype, np.integer):
        return True
    return int(high) - int(low) + 1 > EXACT_VALUES


def binning_note(dtype: np.dtype, ranges: list[tuple[float, float]]) -> str:
    """A sentence saying which planes of an integer image were binned (empty if none).

    `ranges` holds the minimum and maximum of each plane (one pair for a whole image).
    """
    if not np.issubdtype(dtype, np.integer):
        return ""
    binned = [(lo, hi) for lo, hi in ranges if is_binned(dtype, lo, hi)]
    if not binned:
        return ""
    rule = f"{NBINS} equal bins, not one bin per value"
    if len(ranges) == 1:
        lo, hi = binned[0]
        return (
            f"the values span more than {EXACT_VALUES:,} integers ({float(lo):.6g} to "
            f"{float(hi):.6g}): the threshold comes from a histogram of {rule}"
        )
    return (
        f"{len(binned)} of {len(ranges)} planes span more than {EXACT_VALUES:,} integers: "
        f"their thresholds come from histograms of {rule}"
    )


def hist_ranges(hists: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[float, float]]:
    """The range of each histogram of :func:`histogram` (bins: their outer edges)."""
    ranges = []
    for _counts, centers in hists:
        half = (
            0.0
            if np.issubdtype(centers.dtype, np.integer)
            else (float(centers[1] - centers[0]) / 2 if centers.size > 1 else 0.0)
        )
        ranges.append((float(centers[0]) - half, float(centers[-1]) + half))
    return ranges


def _edges(low: int | float, high: int | float, nbins: int, dtype: np.dtype) -> tuple:
    """The range numpy.histogram is given, and the bin centres it implies."""
    if np.issubdtype(dtype, np.integer):
        span = (float(low), float(high))  # Python ints -> float64: no overflow
        empty = np.empty(0)
    else:
        span, empty = (dtype.type(low), dtype.type(high)), np.empty(0, dtype)
    edges = np.histogram_bin_edges(empty, nbins, range=span)
    return span, (edges[:-1] + edges[1:]) / 2.0


def integer_histogram(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The histogram of an integer image in memory, exactly as :func:`histogram` lazily.

    One bin per value from the minimum to the maximum (scikit-image's histogram, without
    its bins from 0 up to the minimum), or :data:`NBINS` bins for a wider range.
    """
    low, high = int(image.min()), int(image.max())
    if is_binned(image.dtype, low, high):
        span, centers = _edges(low, high, NBINS, image.dtype)
        return np.histogram(image, bins=NBINS, range=span)[0], centers
    length = high - low + 1
    counts = np.zeros(length, np.int64)
    flat = image.ravel()
    for s in range(0, flat.size, _SLAB):  # bounds the int64 copy bincount makes
        counts += np.bincount(_offsets(flat[s : s + _SLAB], low), minlength=length)
    return counts, _values(low, length)


def _values(first: int, length: int) -> np.ndarray:
    """The integers ``first .. first + length - 1`` (uint64 above 2**63, else int64)."""
    big = first + length > np.iinfo(np.int64).max
    return np.arange(length, dtype=np.uint64 if big else np.int64) + first


def _offsets(flat: np.ndarray, first: int) -> np.ndarray:
    """``flat - first`` without overflow, for integer values in a narrow range above `first`."""
    if first == 0 and flat.dtype.kind == "u" and flat.dtype.itemsize < 8:
        return flat  # bincount takes it as it is (no copy)
    if flat.dtype.itemsize < 8:  # the difference fits in intp: one copy, subtracted in place
        out = flat.astype(np.intp)
        out -= first
        return out
    wide = np.uint64 if np.issubdtype(flat.dtype, np.unsignedinteger) else np.int64
    return (flat.astype(wide) - wide(first)).astype(np.intp)


def _count_plans(image: da.Array, lead_ndim: int, nbins: int) -> list[tuple]:
    """Per plane: ("values", first, length) or ("bins", range, centers, nbins)."""
    low, high = _plane_ranges(image, lead_ndim)
    plans = []
    for lo, hi in zip(low.tolist(), high.tolist(), strict=True):
        if is_binned(image.dtype, lo, hi):
            plans.append(("bins", *_edges(lo, hi, nbins, image.dtype), nbins))
        else:
            plans.append(("values", int(lo), int(hi) - int(lo) + 1))
    return plans


def histogram(
    image: da.Array, *, plane_ndim: int | None = None, nbins: int = NBINS
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The histogram scikit-image would compute, accumulated over the chunks of a dask array.

    Parameters
    ----------
    image : dask.array.Array
        Integer or floating-point image.
    plane_ndim : int, optional
        Give one histogram per plane (the last `plane_ndim` axes) instead of one overall.
    nbins : int
        Bins for floating-point images and integer images spanning more than
        :data:`EXACT_VALUES` values.

    Returns
    -------
    list of (counts, bin_centers)
        One pair per plane (in C order of the leading axes), or a single pair. For integer
        images spanning at most :data:`EXACT_VALUES` values: one bin per integer value from
        the minimum to the maximum (:func:`skimage.exposure.histogram`); otherwise `nbins`
        equal bins from the minimum to the maximum, centres halfway between the edges.

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
        plans = [("values", int(np.iinfo(image.dtype).min), 256)]  # one pass, trimmed after
    else:
        plans = _count_plans(image, lead_ndim, nbins)
    length = max(plan[-1] for plan in plans)

    def count(part: np.ndarray, plane: int) -> np.ndarray:
        plan = plans[0] if len(plans) == 1 else plans[plane]
        out = np.zeros(length, np.int64)
        if plan[0] == "bins":
            out[: plan[-1]] = np.histogram(part, bins=plan[-1], range=plan[1])[0]
            return out
        if part.dtype.itemsize == 1 and part.dtype.kind in "iu":
            from ._count import byte_counts

            out[:256] = byte_counts(part)
            return out
        flat = part.ravel()
        for s in range(0, flat.size, _SLAB):  # bounds the int64 copy bincount makes
            chunk = _offsets(flat[s : s + _SLAB], plan[1])
            out[: plan[2]] += np.bincount(chunk, minlength=plan[2])
        return out

    counts = per_plane_reduce(image, lead_ndim, count, length)
    if len(plans) == 1 and len(counts) > 1:  # the 8-bit single pass, for every plane
        plans = plans * len(counts)
    result = []
    for plane, plan in zip(counts, plans, strict=True):
        if plan[0] == "bins":
            result.append((plane[: plan[-1]], plan[2]))
            continue
        used = np.flatnonzero(plane[: plan[2]])
        values = _values(plan[1], plan[2])
        result.append((plane[used[0] : used[-1] + 1], values[used[0] : used[-1] + 1]))
    return result


def _plane_ranges(image: da.Array, lead_ndim: int) -> tuple[np.ndarray, np.ndarray]:
    """The minimum and maximum of each plane (or of the image), one slab at a time."""

    axes = tuple(range(lead_ndim, image.ndim))
    axis = int(np.argmax(image.numblocks))
    ranges = [compute(p.min(axis=axes), p.max(axis=axes)) for p in slabs(image)]
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


def _split_sums(part: np.ndarray) -> np.ndarray:
    """Sums of three 21-bit parts of integer values: exact in int64 for 2**42 pixels."""
    flat = part.ravel()
    wide = np.uint64 if np.issubdtype(flat.dtype, np.unsignedinteger) else np.int64
    sums = np.zeros(3, np.int64)
    mask = wide((1 << 21) - 1)
    for s in range(0, flat.size, _SLAB):
        x = flat[s : s + _SLAB].astype(wide)
        parts = (x >> wide(42), (x >> wide(21)) & mask, x & mask)
        sums += [int(p.astype(np.int64).sum()) for p in parts]
    return sums


def _mean_of_sums(sums: np.ndarray, n: int) -> float:
    high, mid, low = (int(v) for v in sums)
    return ((high << 42) + (mid << 21) + low) / n  # Python ints: exact, correctly rounded


def exact_mean(image: np.ndarray) -> float:
    """The mean of an integer image in memory, exact whatever the values (no overflow)."""
    return _mean_of_sums(_split_sums(image), image.size)


def means(image: da.Array, lead_ndim: int) -> np.ndarray:
    """The mean of the whole image (``lead_ndim=0``) or of each plane, exact for integers."""
    axes = tuple(range(lead_ndim, image.ndim))
    if np.issubdtype(image.dtype, np.integer):
        sums = per_plane_reduce(image, lead_ndim, lambda part, _plane: _split_sums(part), 3)
        n = int(np.prod([image.shape[a] for a in axes]))
        return np.array([_mean_of_sums(plane, n) for plane in sums])
    return np.atleast_1d(compute(image.mean(axis=axes))[0]).ravel()


def li_from_histogram(counts: np.ndarray, centers: np.ndarray) -> float:
    """scikit-image's Li iteration for integer images, from the image's histogram.

    With one bin per value this is scikit-image's result. With wider bins (an integer image
    of a wide range) the same iteration runs on the bin centres, to half a bin.
    """
    per_value = np.issubdtype(centers.dtype, np.integer)
    first = int(centers[0]) if per_value else float(centers[0])
    if per_value:  # consecutive values: offsets 0, 1, 2 ... summed exactly
        shifted, tolerance = np.arange(centers.size), 0.5
        t_next = int((counts * shifted).sum()) / int(counts.sum())
    else:
        shifted = centers - centers[0]
        tolerance = float(shifted[1]) / 2 if centers.size > 1 else 0.5
        t_next = float((counts * shifted).sum()) / float(counts.sum())
    hist = counts.astype(np.float32)
    t_curr = -2 * tolerance
    while abs(t_next - t_curr) > tolerance:
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
