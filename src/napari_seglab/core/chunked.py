"""Chunk-by-chunk versions of SegLab's operations, for images larger than memory.

The public functions (:func:`napari_seglab.threshold`, :func:`napari_seglab.median_filter`,
:func:`napari_seglab.clean_up`, :func:`napari_seglab.evaluate`, ...) call the functions of this
module when they are given a :class:`dask.array.Array`, so one API serves both paths. Every
result equals the in-memory one:

- Filters (median, local thresholds) run on each chunk with the halo the filter needs
  (``map_overlap`` with ``boundary="none"``): chunks that touch the image border are filtered
  with scipy's own ``mode="reflect"`` there, exactly as the whole image would be.
- Global thresholds come from a histogram accumulated over the chunks, built exactly as
  scikit-image builds it: for integer images one bin per integer value between the minimum
  and the maximum; for floating-point images 256 equal bins between the minimum and the
  maximum (``numpy.histogram``, whose counts do not depend on how the image is split).
  ``"li"`` on a floating-point lazy image is refused (scikit-image iterates on the pixels,
  not on a histogram); ``"mean"`` on floating-point images may differ in the last bit.
- Object sizes come from connected components labelled across chunk borders (each chunk is
  labelled with a one-voxel overlap on its upper sides; labels that meet in the overlap are
  merged into global objects), so objects crossing chunk borders are measured whole.
- Confusion counts are summed over chunks as exact integers.

Values (thresholds, object sizes, counts) are computed when the function is called; masks
are returned as lazy dask arrays, computed chunk by chunk when stored (see
:mod:`napari_seglab.core.io`). A lazy input is therefore read once per pass: the threshold
value needs one pass, writing the mask another.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ._checks import SegLabInputError

if TYPE_CHECKING:
    import dask.array as da

    from .metrics import Evaluation
    from .threshold import ThresholdResult

_SLAB = 1 << 21
_PREDICT_LOCK = threading.Lock()

__all__ = [
    "block_batches",
    "check_chunks",
    "clean_up",
    "evaluate",
    "fill_small_holes",
    "histogram",
    "is_lazy",
    "median_filter",
    "predict",
    "remove_small_objects",
    "threshold",
]


def is_lazy(data: Any) -> bool:
    """True for a dask array, which SegLab then processes chunk by chunk.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> is_lazy(np.zeros((4, 4))), is_lazy(da.zeros((4, 4)))
    (False, True)
    """
    if type(data).__module__.split(".")[0] != "dask":
        return False
    import dask.array as da

    return isinstance(data, da.Array)


def _check_image(image: da.Array, name: str = "image") -> da.Array:
    if 0 in image.shape:
        raise SegLabInputError(f"The {name} is empty (shape {image.shape}).")
    if image.dtype == bool:
        image = image.astype(np.uint8)
    if not (np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating)):
        raise SegLabInputError(
            f"The {name} has data type {image.dtype}; an integer or floating-point image is "
            "needed."
        )
    if image.ndim < 2:
        raise SegLabInputError(f"The {name} must have at least 2 dimensions, not {image.ndim}.")
    return image


def check_chunks(image: da.Array, depth: dict[int, int], what: str) -> None:
    """Refuse chunks too thin for the halo a filter needs.

    Parameters
    ----------
    image : dask.array.Array
    depth : dict of int to int
        Halo width, in pixels, along each filtered axis.
    what : str
        The filter, for the message (e.g. ``"a median of size 5"``).

    Raises
    ------
    SegLabInputError
        If the largest chunk along an axis is smaller than its halo (only the last chunk of
        an axis may be smaller; dask merges it with its neighbour).

    Examples
    --------
    >>> import dask.array as da
    >>> check_chunks(da.zeros((64, 64), chunks=32), {0: 2, 1: 2}, "a median of size 5")
    """
    for axis, d in depth.items():
        biggest = max(image.chunks[axis])
        if biggest < min(d, image.shape[axis]):
            raise SegLabInputError(
                f"The chunks are {biggest} pixels along axis {axis}, but {what} needs a halo "
                f"of {d} pixels: use chunks of at least {min(d, image.shape[axis])} (better: much "
                "larger) pixels along that axis."
            )


def _depth(image: da.Array, wanted: dict[int, int]) -> dict[int, int]:
    """Halo per axis; none along an axis held in a single chunk (nothing to borrow from)."""
    return {
        axis: (0 if len(image.chunks[axis]) == 1 else min(d, image.shape[axis] - 1))
        for axis, d in wanted.items()
    }


def median_filter(image: da.Array, size: int = 3, *, ndim: int = 2) -> da.Array:
    """Median-filter the last `ndim` axes of a dask array, chunk by chunk.

    Parameters
    ----------
    image : dask.array.Array
        Grayscale image ``(..., Y, X)``.
    size : int
        Window width; 0 or 1 returns the image unchanged.
    ndim : {2, 3}
        Filter each plane (2) or in 3D over the last three axes (3).

    Returns
    -------
    dask.array.Array
        Lazy result, equal to :func:`napari_seglab.core.threshold.median_filter` on the
        whole image (borders reflected the same way).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> img = np.zeros((6, 6), np.uint8); img[3, 3] = 255
    >>> int(median_filter(da.from_array(img, chunks=3), 3).max().compute())
    0
    """
    image = _check_image(image)
    if size < 0:
        raise SegLabInputError(f"The median size must be 0 (off) or positive, not {size}.")
    if size <= 1:
        return image
    if ndim not in (2, 3) or ndim > image.ndim:
        raise SegLabInputError(
            f"A {ndim}D median cannot run on an image with {image.ndim} dimensions."
        )
    from scipy import ndimage as ndi

    window = (1,) * (image.ndim - ndim) + (size,) * ndim
    depth = _depth(image, {axis: w // 2 for axis, w in enumerate(window)})
    check_chunks(image, depth, f"a median of size {size}")
    return image.map_overlap(
        ndi.median_filter,
        depth=depth,
        boundary="none",
        dtype=image.dtype,
        size=window,
        mode="reflect",
    )


# ---------------------------------------------------------------- reductions over blocks


def _block_slices(chunks: tuple[tuple[int, ...], ...]) -> Iterator[tuple[tuple, tuple]]:
    """Yield ``(block index, slices)`` for every block of a chunk layout."""
    starts = [np.concatenate([[0], np.cumsum(c)]) for c in chunks]
    for idx in itertools.product(*(range(len(c)) for c in chunks)):
        yield idx, tuple(slice(int(s[i]), int(s[i + 1])) for s, i in zip(starts, idx, strict=True))


def _tree(parts: list, combine: Callable) -> Any:
    """Combine delayed parts pairwise, so that no task holds them all."""
    import dask

    combine = dask.delayed(combine, pure=True)
    while len(parts) > 1:
        parts = [combine(*parts[i : i + 2]) for i in range(0, len(parts), 2)]
    return parts[0]


def _add(a: Any, b: Any = None) -> Any:
    return a if b is None else a + b


def _per_plane_reduce(
    image: da.Array, lead_ndim: int, func: Callable[[np.ndarray, int], np.ndarray], length: int
) -> np.ndarray:
    """``(n_planes, length)`` array: ``func(part, plane)`` of each block's part of each plane,
    added up per plane (computed a batch of blocks at a time).

    The planes are the indices of the first `lead_ndim` axes, numbered in C order (a single
    plane 0 when `lead_ndim` is 0).
    """
    import dask

    lead_shape = image.shape[:lead_ndim]
    n_planes = int(np.prod(lead_shape))

    def per_block(block: np.ndarray, lead: tuple[slice, ...]) -> np.ndarray:
        out = np.zeros((n_planes, length), np.int64)
        if lead_ndim == 0:
            out[0] = func(block, 0)
            return out
        for local in np.ndindex(*block.shape[:lead_ndim]):
            plane = tuple(sl.start + i for sl, i in zip(lead, local, strict=True))
            flat = int(np.ravel_multi_index(plane, lead_shape))
            out[flat] = func(block[local], flat)
        return out

    blocks = image.to_delayed()
    parts = [
        dask.delayed(per_block, pure=True)(blocks[idx], slices[:lead_ndim])
        for idx, slices in _block_slices(image.chunks)
    ]
    return _sum_in_batches(parts)


def _sum_in_batches(parts: list) -> np.ndarray:
    """Compute delayed arrays a few per thread at a time and add them up, to bound memory."""
    import dask

    batch = 4 * _parallelism()
    total = None
    for start in range(0, len(parts), batch):
        value = dask.compute(_tree(parts[start : start + batch], _add))[0]
        total = value if total is None else total + value
    return total


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

    counts = _per_plane_reduce(image, lead_ndim, count, length)
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
    import dask

    image = _check_image(image)
    lead_ndim = 0 if plane_ndim is None else max(image.ndim - plane_ndim, 0)
    if image.dtype.itemsize == 1 and np.issubdtype(image.dtype, np.integer):
        # One pass: count every possible value, then trim to the image's range.
        counts, centers = _integer_counts(image, lead_ndim, int(np.iinfo(image.dtype).min), 256)
        result = []
        for plane in counts:
            used = np.flatnonzero(plane)
            result.append((plane[used[0] : used[-1] + 1], centers[used[0] : used[-1] + 1]))
        return result
    axes = tuple(range(lead_ndim, image.ndim))
    axis = int(np.argmax(image.numblocks))
    ranges = [dask.compute(p.min(axis=axes), p.max(axis=axes)) for p in _slabs(image)]
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

    counts = _per_plane_reduce(image, lead_ndim, count_float, nbins)
    empty = np.empty(0, image.dtype)
    result = []
    for i, (lo, hi) in enumerate(ranges):
        edges = np.histogram_bin_edges(empty, nbins, range=(lo, hi))
        result.append((counts[i], (edges[:-1] + edges[1:]) / 2.0))
    return result


def _li_from_histogram(counts: np.ndarray, centers: np.ndarray) -> float:
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


def _triangle_from_histogram(counts: np.ndarray, centers: np.ndarray) -> float:
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


def _global_value(
    counts: np.ndarray,
    centers: np.ndarray,
    method: Any,
    *,
    integer: bool,
    mean: float | None,
    value: float | None,
    classes: int,
    boundary: int,
) -> float:
    from skimage import filters

    from .threshold import ThresholdMethod as M

    hist = (counts, centers)
    try:
        if method is M.MANUAL:
            if value is None:
                raise SegLabInputError("The manual method needs a threshold value.")
            return float(value)
        if method is M.MULTI_OTSU:
            if classes < 2:
                raise SegLabInputError("Multi-Otsu needs at least 2 classes.")
            if not 1 <= boundary < classes:
                raise SegLabInputError(
                    f"With {classes} classes the boundary must be 1 to {classes - 1}, not "
                    f"{boundary}."
                )
            return float(filters.threshold_multiotsu(classes=classes, hist=hist)[boundary - 1])
        if method is M.MEAN:
            return float(mean)
        if method is M.LI:
            if not integer:
                raise SegLabInputError(
                    "li on a lazy floating-point image is not available (scikit-image "
                    "iterates over every pixel). Convert the image to integers, or use otsu."
                )
            return _li_from_histogram(counts, centers)
        if method is M.TRIANGLE:
            return _triangle_from_histogram(counts, centers)
        function = {
            M.OTSU: filters.threshold_otsu,
            M.YEN: filters.threshold_yen,
            M.ISODATA: filters.threshold_isodata,
            M.MINIMUM: filters.threshold_minimum,
        }[method]
        return float(function(hist=hist))
    except SegLabInputError:
        raise
    except (RuntimeError, ValueError) as err:
        raise SegLabInputError(f"{method.value} cannot threshold this image: {err}") from err


def _means(image: da.Array, lead_ndim: int) -> np.ndarray:
    axes = tuple(range(lead_ndim, image.ndim))
    if np.issubdtype(image.dtype, np.integer):
        sums = image.astype(np.int64).sum(axis=axes).compute()
        n = int(np.prod([image.shape[a] for a in axes]))
        return np.array([int(s) / n for s in np.atleast_1d(sums).ravel()])
    return np.atleast_1d(image.mean(axis=axes).compute()).ravel()


def _grayscale(image: da.Array, rgb: bool, channel: int | None) -> da.Array:
    from ._checks import check_colour, to_grayscale

    check_colour(image.shape, rgb=rgb, channel=channel)
    if not rgb:
        return image
    if channel is not None:
        return image[..., channel]
    return image.rechunk({image.ndim - 1: -1}).map_blocks(
        to_grayscale, rgb=True, drop_axis=image.ndim - 1, dtype=np.float64
    )


def threshold(
    image: da.Array,
    method: Any = "otsu",
    *,
    foreground: Any = "bright",
    median_size: int = 0,
    median_ndim: int = 2,
    per_plane: bool = False,
    plane_ndim: int = 2,
    rgb: bool = False,
    channel: int | None = None,
    value: float | None = None,
    classes: int = 3,
    boundary: int = 1,
    block_size: int = 35,
    offset: float = 0.0,
    window_size: int = 15,
    k: float = 0.2,
) -> ThresholdResult:
    """:func:`napari_seglab.core.threshold.threshold` for a dask array.

    Same parameters and result; ``result.mask`` is a lazy dask array (uint8, 1 =
    foreground) with the input's chunks, and ``result.value`` is computed now from a
    histogram accumulated over the chunks (see the module notes).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> img = np.array([[10, 10, 200], [10, 200, 200]], dtype=np.uint8)
    >>> result = threshold(da.from_array(img, chunks=1), "otsu")
    >>> result.value, result.mask.compute().tolist()
    (10.0, [[0, 0, 1], [0, 1, 1]])
    """
    from .threshold import Foreground, ThresholdMethod, ThresholdResult, apply_threshold
    from .threshold import threshold_value as local_threshold

    method = ThresholdMethod(method)
    foreground = Foreground(foreground)
    gray = _check_image(_grayscale(_check_image(image), rgb, channel))
    prepared = median_filter(gray, median_size, ndim=median_ndim)
    lead_ndim = max(prepared.ndim - plane_ndim, 0) if per_plane else 0

    if not method.is_global:
        options = dict(block_size=block_size, offset=offset, window_size=window_size, k=k)
        # Validate the options now rather than inside a worker, on a tiny image.
        local_threshold(np.arange(25.0).reshape(5, 5), method, **options)
        d = (block_size if method is ThresholdMethod.LOCAL_MEAN else window_size) // 2
        depth = _depth(
            prepared, {axis: (d if axis >= lead_ndim else 0) for axis in range(prepared.ndim)}
        )
        check_chunks(prepared, depth, f"{method.value} with a window of {2 * d + 1}")

        def local(block: np.ndarray) -> np.ndarray:
            if lead_ndim == 0:
                return apply_threshold(
                    block, local_threshold(block, method, **options), foreground
                )
            out = np.empty(block.shape, np.uint8)
            for idx in np.ndindex(*block.shape[:lead_ndim]):
                t = local_threshold(block[idx], method, **options)
                out[idx] = apply_threshold(block[idx], t, foreground)
            return out

        mask = prepared.map_overlap(local, depth=depth, boundary="none", dtype=np.uint8)
        return ThresholdResult(mask, method, foreground, None)

    integer = bool(np.issubdtype(prepared.dtype, np.integer))
    if method is ThresholdMethod.MANUAL:
        hists = [(np.zeros(1), np.zeros(1))] * int(np.prod(prepared.shape[:lead_ndim]))
    else:
        hists = histogram(prepared, plane_ndim=plane_ndim if lead_ndim else None)
        if lead_ndim == 0 and hists[0][0].size == 1:
            raise SegLabInputError(
                f"The image is constant (every pixel is {hists[0][1][0]!r}): there is nothing "
                "to separate."
            )
    means = _means(prepared, lead_ndim) if method is ThresholdMethod.MEAN else None
    values = np.array(
        [
            _global_value(
                counts,
                centers,
                method,
                integer=integer,
                mean=None if means is None else means[i],
                value=value,
                classes=classes,
                boundary=boundary,
            )
            for i, (counts, centers) in enumerate(hists)
        ]
    )
    if lead_ndim == 0:
        mask = prepared.map_blocks(apply_threshold, values[0], foreground, dtype=np.uint8)
        return ThresholdResult(mask, method, foreground, float(values[0]))
    plane_values = values.reshape(prepared.shape[:lead_ndim])

    def per_plane_block(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        where = block_info[0]["array-location"][:lead_ndim]
        t = plane_values[tuple(slice(a, b) for a, b in where)]
        return apply_threshold(block, t.reshape(t.shape + (1,) * plane_ndim), foreground)

    mask = prepared.map_blocks(per_plane_block, dtype=np.uint8)
    return ThresholdResult(mask, method, foreground, plane_values.astype(float))


# ------------------------------------------------------- connected components across chunks

_BATCH_BYTES = 1 << 25
"""Input bytes that a chunk-by-chunk pass works on at once (at least two chunks per thread)."""


def _parallelism() -> int:
    """Threads that will run the tasks: a connected dask.distributed cluster's, or ours."""
    import os
    import sys

    if "distributed" in sys.modules:
        from distributed import default_client

        try:
            return max(1, sum(default_client().nthreads().values()))
        except ValueError:
            pass
    import dask

    return dask.config.get("num_workers", None) or os.cpu_count() or 1


def block_batches(array: da.Array) -> Iterator[list[tuple[int, ...]]]:
    """Block indices of `array` in C order, a bounded number at a time.

    A pass that computes one batch after the other holds about ``_BATCH_BYTES`` of input
    (and at least two chunks per thread) whatever the size of the volume.

    Examples
    --------
    >>> import dask.array as da
    >>> [len(b) for b in block_batches(da.zeros((4, 4), chunks=2))]
    [4]
    """
    chunk_bytes = int(np.prod([max(c) for c in array.chunks])) * array.dtype.itemsize
    size = max(2 * _parallelism(), _BATCH_BYTES // max(chunk_bytes, 1))
    indices = np.ndindex(*array.numblocks)
    while batch := list(itertools.islice(indices, size)):
        yield batch


def _overlapped(image: da.Array) -> da.Array:
    """The image with a one-voxel halo around each chunk (none at the image border)."""
    import dask.array as da

    depth = {axis: int(len(c) > 1) for axis, c in enumerate(image.chunks)}
    return da.overlap.overlap(image, depth=depth, boundary="none")


def _upper_extended(
    block: np.ndarray, idx: tuple[int, ...], nblocks: tuple[int, ...]
) -> np.ndarray:
    """Drop the lower halo of an overlapped block: the chunk plus one voxel on upper sides."""
    lower = (int(i > 0 and n > 1) for i, n in zip(idx, nblocks, strict=True))
    return block[tuple(slice(start, None) for start in lower)]


def _label_block(block: np.ndarray, structure: np.ndarray) -> tuple[np.ndarray, int]:
    from ._label import label  # scipy.ndimage.label's labels, faster and without the GIL

    return label(block, structure)


def _summary(labels: np.ndarray, n: int, core_shape: tuple[int, ...]) -> dict:
    """What the merge needs from a labelled extended block.

    ``low[axis]``: the labels on the chunk's first slice along `axis`; ``high[axis]``: the
    labels on the upper halo along `axis` (``None`` at the image border); ``border``: the
    labels that reach a face or the halo (only these can continue in another chunk);
    ``sizes``: voxels of each label inside the chunk itself.
    """
    from ._label import count

    core = tuple(slice(0, c) for c in core_shape)
    dtype = np.min_scalar_type(n)  # faces wait for their neighbours in memory: keep small
    before = [(slice(None),) * a for a in range(labels.ndim)]  # basic slicing: no gather
    low = [labels[core][(*before[a], 0)].astype(dtype) for a in range(labels.ndim)]
    high = [
        labels[(*before[a], c)].astype(dtype) if labels.shape[a] > c else None
        for a, c in enumerate(core_shape)
    ]
    faces = np.concatenate([f.ravel() for f in low + high if f is not None])
    border = np.unique(faces)
    border = border[border > 0].astype(np.int64)
    sizes = count(labels[core], n)  # the chunk's own voxels only
    return {"n": n, "sizes": sizes, "border": border, "low": low, "high": high}


def _pairs(lower: dict, upper: dict, step: tuple[int, ...], core_shape: tuple) -> np.ndarray:
    """Label pairs (lower block's, upper block's) that cover the same voxel.

    `upper` is the block ``lower + step`` (`step` of 0s and 1s); the voxels they share are
    the part of the lower block's upper halo inside the upper block.
    """
    axis = step.index(1)
    ours, theirs = [], []
    for a, c in enumerate(core_shape):
        if a == axis:
            continue
        ours.append(slice(c, c + 1) if step[a] else slice(0, c))
        theirs.append(slice(0, 1) if step[a] else slice(0, c))
    a_lab = lower["high"][axis][tuple(ours)].ravel().astype(np.int64)
    b_lab = upper["low"][axis][tuple(theirs)].ravel().astype(np.int64)
    both = (a_lab > 0) & (b_lab > 0)
    key = np.unique(a_lab[both] * (upper["n"] + 1) + b_lab[both])
    return np.stack([key // (upper["n"] + 1), key % (upper["n"] + 1)])


def _one(value: Any, ndim: int) -> np.ndarray:
    """Wrap a Python object as a one-element array of `ndim` dimensions (one per block)."""
    out = np.empty((1,) * ndim, dtype=object)
    out[(0,) * ndim] = value
    return out


def _core_shapes(image: da.Array) -> dict[tuple[int, ...], tuple[int, ...]]:
    return {
        idx: tuple(s.stop - s.start for s in core) for idx, core in _block_slices(image.chunks)
    }


def _component_tables(
    image: da.Array,
    structure: np.ndarray,
    select: Callable[[np.ndarray, tuple[int, ...]], np.ndarray],
    keep: Callable[[np.ndarray], np.ndarray],
) -> dict[tuple[int, ...], np.ndarray]:
    """Global connected components of the selected voxels; per block, which labels to keep.

    ``select(extended block, block index)`` gives the voxels to label in a chunk extended by
    a one-voxel halo on its upper sides. Two labels that cover the same voxel (a halo voxel
    and the neighbouring chunk's own) belong to one object. Any two touching voxels lie
    together in some chunk's extended block, so this is exact for every connectivity.

    The chunks are labelled a batch at a time (:func:`block_batches`), in C order: when a
    chunk arrives, every chunk whose halo reaches into it is known, so its pairs are found
    at once and only the halos of the last plane of chunks wait in memory. Labels that
    reach no face of their chunk are whole objects and are decided on the spot; only those
    on faces join the global merge.

    Returns, for each block index, a boolean table over that block's labels (index 0 = not
    selected): whether ``keep(size of the label's whole object)`` holds.
    """
    import dask
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ndim = image.ndim
    nblocks = image.numblocks
    core_shapes = _core_shapes(image)

    def summarise(block: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        ext = _upper_extended(block, block_id, nblocks)
        labels, n = _label_block(select(ext, block_id), structure)
        return _one(_summary(labels, n, core_shapes[block_id]), ndim)

    tasks = (
        _overlapped(image)
        .map_blocks(summarise, dtype=object, chunks=tuple((1,) * n for n in nblocks))
        .to_delayed()
    )
    steps = [s for s in itertools.product((0, 1), repeat=ndim) if any(s)]
    waiting: dict[tuple, dict] = {}  # summaries whose halos are still needed
    tables, border, offsets, sizes, edges = {}, {}, {}, [], [np.zeros((2, 0), np.int64)]
    total = 0
    for batch in block_batches(image):
        for idx, result in zip(batch, dask.compute(*(tasks[i] for i in batch)), strict=True):
            mine = result[(0,) * ndim]
            table = np.asarray(keep(mine["sizes"]), bool)
            table[0] = False
            tables[idx], border[idx], offsets[idx] = table, mine["border"], total
            total += mine["border"].size
            sizes.append(mine["sizes"][mine["border"]])
            for step in steps:
                below = tuple(i - s for i, s in zip(idx, step, strict=True))
                if min(below) < 0:
                    continue
                pairs = _pairs(waiting[below], mine, step, core_shapes[below])
                pairs[0] = np.searchsorted(border[below], pairs[0]) + offsets[below]
                pairs[1] = np.searchsorted(border[idx], pairs[1]) + offsets[idx]
                edges.append(pairs)
                last = tuple(i + (i + 1 < n) for i, n in zip(below, nblocks, strict=True))
                if last == idx:  # every block that overlaps its halo is done
                    del waiting[below]
            mine["low"] = mine["sizes"] = None
            waiting[idx] = mine
    edge = np.concatenate(edges, axis=1)
    graph = coo_matrix((np.ones(edge.shape[1]), (edge[0], edge[1])), shape=(total, total))
    _, component = connected_components(graph, directed=False)
    whole = np.bincount(component, weights=np.concatenate([np.zeros(0, np.int64), *sizes]))
    kept = np.asarray(keep(whole.astype(np.int64)), bool)[component]
    for idx, table in tables.items():
        table[border[idx]] = kept[offsets[idx] : offsets[idx] + border[idx].size]
    return tables


def _selector(
    tables: dict[tuple[int, ...], np.ndarray], structure: np.ndarray
) -> Callable[[np.ndarray, tuple[int, ...]], np.ndarray]:
    """``f(selected voxels of an extended block, block index)``: those in kept objects.

    Labels again only where the block holds both kept and dropped objects; the labels are
    the same as when the tables were made (same input, same labelling).
    """

    def kept(chosen: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        table = tables[block_id]
        if not table.any():
            return np.zeros(chosen.shape, bool)
        if table[1:].all():
            return chosen
        from ._label import relabel

        return relabel(chosen, structure, table)

    return kept


def _check_labels(labels: da.Array, connectivity: int) -> da.Array:
    if labels.ndim < 2 or 0 in labels.shape:
        raise SegLabInputError("Clean-up needs a non-empty 2D or 3D mask or label image.")
    if not (labels.dtype == bool or np.issubdtype(labels.dtype, np.integer)):
        raise SegLabInputError(
            f"Clean-up needs a mask or label image (integer or boolean), not {labels.dtype} data."
        )
    if not 1 <= connectivity <= labels.ndim:
        raise SegLabInputError(
            f"Connectivity must be 1 to {labels.ndim} for {labels.ndim}D data, not {connectivity}."
        )
    return labels


def _structure(ndim: int, connectivity: int) -> np.ndarray:
    from scipy import ndimage as ndi

    return ndi.generate_binary_structure(ndim, connectivity)


def _slabs(array: da.Array) -> Iterator[da.Array]:
    """The array one slab of chunks at a time (along the axis with the most chunks).

    Computing slab by slab bounds memory whatever dask's task order: a reduction over a
    filtered (overlapping) array in one go may hold every chunk at once.
    """
    axis = int(np.argmax(array.numblocks))
    for i in range(array.numblocks[axis]):
        yield array.blocks[
            tuple(slice(i, i + 1) if a == axis else slice(None) for a in range(array.ndim))
        ]


def _value_range(labels: da.Array) -> tuple[int, int, int]:
    """Smallest value, largest value, smallest non-zero value (the largest if none)."""
    import dask

    ceiling = True if labels.dtype == bool else np.iinfo(labels.dtype).max

    def one(block: np.ndarray) -> np.ndarray:
        nonzero = block[block != 0]
        low_fg = nonzero.min() if nonzero.size else ceiling
        return _one((block.min(), block.max(), low_fg), labels.ndim)

    tasks = labels.map_blocks(
        one, dtype=object, chunks=tuple((1,) * n for n in labels.numblocks)
    ).to_delayed()
    found = [r[(0,) * labels.ndim] for b in block_batches(labels)
             for r in dask.compute(*(tasks[i] for i in b))]  # fmt: skip
    low = min(int(f[0]) for f in found)
    top = max(int(f[1]) for f in found)
    return low, top, min(min(int(f[2]) for f in found), top)


def _clean_mask(
    labels: da.Array, top: int, remove_smaller_than: int, fill_holes_smaller_than: int,
    connectivity: int,
) -> da.Array:  # fmt: skip
    """Remove small objects and fill small holes of a mask (one foreground value `top`).

    Both steps share each chunk's labelling: the holes are those of the mask left after the
    removal, as when the two steps run one after the other.
    """
    structure = _structure(labels.ndim, connectivity)
    nblocks = labels.numblocks
    core_shapes = _core_shapes(labels)
    kept, fill = None, max(top, 1)
    if remove_smaller_than > 1:
        tables = _component_tables(
            labels, structure, lambda ext, _: ext != 0, lambda s: s >= remove_smaller_than
        )
        kept = _selector(tables, structure)
        if not any(t.any() for t in tables.values()):
            fill = 1  # nothing left: holes take 1, as in memory
    holes = None
    if fill_holes_smaller_than > 1:

        def background(ext: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
            return ~(ext != 0 if kept is None else kept(ext != 0, block_id))

        tables = _component_tables(
            labels, structure, background, lambda s: s < fill_holes_smaller_than
        )
        holes = _selector(tables, structure)

    def one(block: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        ext = _upper_extended(block, block_id, nblocks)
        core = tuple(slice(0, c) for c in core_shapes[block_id])
        foreground = ext != 0
        out = ext[core]
        if kept is not None:
            foreground = kept(foreground, block_id)
            out = np.where(foreground[core], out, 0).astype(out.dtype)
        if holes is not None:
            out = np.where(holes(~foreground, block_id)[core], fill, out).astype(out.dtype)
        return out

    return _overlapped(labels).map_blocks(one, chunks=labels.chunks, dtype=labels.dtype)


def _is_mask(labels: da.Array, top: int, low_fg: int) -> bool:
    """One foreground value (0/1, 0/255, boolean): objects are connected components."""
    return labels.dtype == bool or top == 0 or low_fg == top


def remove_small_objects(
    labels: da.Array, smaller_than: int, *, connectivity: int = 1
) -> da.Array:
    """:func:`napari_seglab.core.cleanup.remove_small_objects` for a dask array.

    Object sizes are global: an object crossing chunk borders is measured whole. As in memory,
    a mask with one foreground value (0/1, 0/255, boolean) is split into connected
    components, while an image with several values is a label image whose labels are the
    objects.

    Returns
    -------
    dask.array.Array
        Lazy result of the input's dtype and chunks (sizes are computed now).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> mask = np.zeros((6, 6), np.uint8); mask[0, 0] = 1; mask[2:6, 2:6] = 1
    >>> int(remove_small_objects(da.from_array(mask, chunks=3), 2).sum().compute())
    16
    """
    labels = _check_labels(labels, connectivity)
    if smaller_than <= 1:
        return labels
    low, top, low_fg = _value_range(labels)
    if _is_mask(labels, top, low_fg):
        return _clean_mask(labels, top, smaller_than, 0, connectivity)
    # A label image: every label is one object, wherever its pixels are.
    import dask

    if low < 0:
        raise SegLabInputError("A label image cannot hold negative labels.")
    parts = [
        dask.delayed(lambda b: np.bincount(b.ravel(), minlength=top + 1), pure=True)(b)
        for b in labels.to_delayed().ravel()
    ]
    sizes = _sum_in_batches(parts)
    keep = sizes >= smaller_than
    keep[0] = False
    return labels.map_blocks(lambda b: np.where(keep[b], b, 0).astype(b.dtype), dtype=labels.dtype)


def fill_small_holes(labels: da.Array, smaller_than: int, *, connectivity: int = 1) -> da.Array:
    """:func:`napari_seglab.core.cleanup.fill_small_holes` for a dask array.

    A hole is a connected background region of fewer than `smaller_than` pixels, measured
    across chunk borders; as in memory (scikit-image's ``remove_small_holes``), a small
    background region touching the image border counts too. Holes take the foreground value.
    Label images with several labels are refused (their in-memory version fills each hole
    with the nearest label, which needs the whole image).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> ring = np.ones((6, 6), np.uint8); ring[2:4, 2:4] = 0
    >>> int(fill_small_holes(da.from_array(ring, chunks=3), 5).min().compute())
    1
    """
    labels = _check_labels(labels, connectivity)
    if smaller_than <= 1:
        return labels
    _, top, low_fg = _value_range(labels)
    _refuse_label_image(top, low_fg)
    return _clean_mask(labels, top, 0, smaller_than, connectivity)


def _refuse_label_image(top: int, low_fg: int) -> None:
    if top > 1 and low_fg != top:
        raise SegLabInputError(
            "Filling holes chunk by chunk needs a binary mask, not a label image with several "
            "labels. Pass `labels > 0`, or process the label image in memory."
        )


def clean_up(
    labels: da.Array,
    *,
    remove_smaller_than: int = 0,
    fill_holes_smaller_than: int = 0,
    connectivity: int = 1,
) -> da.Array:
    """:func:`napari_seglab.core.cleanup.clean_up` for a dask array (see the two steps).

    For a mask, both steps run in the same passes over the chunks (the holes are those left
    after the removal, exactly as when the steps run one after the other).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> mask = np.ones((6, 6), np.uint8); mask[1, 1] = 0; mask[4:, 4:] = 0; mask[5, 5] = 1
    >>> out = clean_up(da.from_array(mask, chunks=3), remove_smaller_than=2,
    ...                fill_holes_smaller_than=2).compute()
    >>> int(out[1, 1]), int(out[5, 5])
    (1, 0)
    """
    labels = _check_labels(labels, connectivity)
    if remove_smaller_than <= 1 and fill_holes_smaller_than <= 1:
        return labels
    _, top, low_fg = _value_range(labels)
    if not _is_mask(labels, top, low_fg):
        out = remove_small_objects(labels, remove_smaller_than, connectivity=connectivity)
        return fill_small_holes(out, fill_holes_smaller_than, connectivity=connectivity)
    return _clean_mask(labels, top, remove_smaller_than, fill_holes_smaller_than, connectivity)


# ------------------------------------------------------------------------------- metrics


def evaluate(
    prediction: Any,
    ground_truth: Any,
    *,
    objects: bool = True,
    iou_threshold: float = 0.5,
) -> Evaluation:
    """:func:`napari_seglab.core.metrics.evaluate` when either input is a dask array.

    Confusion counts (overall and per plane) are exact integers summed over the chunks.
    Object-level metrics need every object whole; they are computed only if `objects` is
    true and the arrays fit in memory (else ``objects`` is ``None``, see the notes).

    Notes
    -----
    Object matching on lazy arrays loads both arrays when they hold at most 2**26 pixels;
    above that, ``Evaluation.objects`` is ``None``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> truth = np.array([[1, 0, 1], [0, 1, 1], [0, 0, 0]])
    >>> pred = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 0]])
    >>> evaluate(da.from_array(pred, chunks=2), truth).counts
    ConfusionCounts(tp=3, fp=1, fn=1, tn=4)
    """
    import dask
    import dask.array as da

    from ._checks import check_same_shape
    from .metrics import ConfusionCounts, Evaluation, match_objects

    pred = prediction if is_lazy(prediction) else da.from_array(np.asarray(prediction))
    truth = ground_truth if is_lazy(ground_truth) else da.from_array(np.asarray(ground_truth))
    check_same_shape(pred, truth, ("prediction", "ground truth"))
    for arr, name in ((pred, "prediction"), (truth, "ground truth")):
        if arr.ndim < 2 or 0 in arr.shape:
            raise SegLabInputError(
                f"The {name} must be a non-empty array of at least 2 dimensions."
            )
        if not (
            arr.dtype == bool
            or np.issubdtype(arr.dtype, np.integer)
            or np.issubdtype(arr.dtype, np.floating)
        ):
            raise SegLabInputError(
                f"The {name} has data type {arr.dtype}; a mask must be numeric."
            )
    truth = truth.rechunk(pred.chunks)
    lead = pred.ndim - 2

    def stats(p_block: np.ndarray, t_block: np.ndarray) -> np.ndarray:
        # Everything from one pair of chunks in one task, so each chunk is read once.
        p, t = p_block != 0, t_block != 0
        out = np.zeros((*p.shape[:lead], 1, 1, 5))
        out[..., 0, 0, 0] = np.count_nonzero(p & t, axis=(-2, -1))
        out[..., 0, 0, 1] = np.count_nonzero(p, axis=(-2, -1))
        out[..., 0, 0, 2] = np.count_nonzero(t, axis=(-2, -1))
        values = t_block[t]
        out[..., 0, 0, 3] = values.min() if values.size else np.inf
        out[..., 0, 0, 4] = values.max() if values.size else -np.inf
        return out

    tasks = da.map_blocks(
        stats,
        pred,
        truth,
        chunks=(*pred.chunks[:lead], (1,) * pred.numblocks[-2], (1,) * pred.numblocks[-1], (5,)),
        new_axis=pred.ndim,
        dtype=float,
    ).to_delayed()
    per_block = np.empty((*pred.shape[:lead], *pred.numblocks[-2:], 5))
    regions = dict(_block_slices(pred.chunks))
    for batch in block_batches(pred):  # a bounded number of chunks in memory
        for idx, part in zip(batch, dask.compute(*(tasks[(*i, 0)] for i in batch)), strict=True):
            per_block[(*regions[idx][:lead], *idx[-2:])] = part.reshape((*part.shape[:lead], 5))
    # Each block's counts are below 2**53, so float64 holds them exactly.
    counts_per_plane = per_block[..., :3].astype(np.int64).sum(axis=(-3, -2))
    tp, n_pred, n_true = (counts_per_plane[..., i] for i in range(3))
    t_low, t_high = per_block[..., 3].min(), per_block[..., 4].max()
    if np.isfinite(t_high) and t_low != t_high:
        raise SegLabInputError(
            "The ground truth holds several different non-zero values; a binary mask is "
            "needed (0 = background, one value = foreground). If every non-zero pixel is "
            "foreground, pass `mask > 0`."
        )
    size = pred.shape[-2] * pred.shape[-1]
    planes = []
    for idx in np.ndindex(*pred.shape[:-2]):
        a, b, c = int(tp[idx]), int(n_pred[idx]), int(n_true[idx])
        planes.append((idx, ConfusionCounts(a, b - a, c - a, size - b - c + a)))
    counts = ConfusionCounts(0, 0, 0, 0)
    for _idx, c in planes:
        counts = counts + c
    object_metrics = None
    if objects and pred.size <= 2**26:
        object_metrics = match_objects(
            np.asarray(pred), np.asarray(truth) != 0, iou_threshold=iou_threshold
        )
    return Evaluation(counts, counts.scores(), planes if pred.ndim > 2 else [], object_metrics)


# ---------------------------------------------------------------------- pixel classifier


def predict(classifier: Any, image: da.Array, *, channel_axis: int | None = None) -> da.Array:
    """:meth:`PixelClassifier.predict <napari_seglab.core.classifier.PixelClassifier.predict>`
    chunk by chunk on a dask array.

    Each chunk is classified with a halo as wide as the features' largest kernel (Gaussian
    radius ``4 sigma`` plus what the derivatives, difference of Gaussians and structure
    tensor add, per axis, see ``FeatureSettings.halo``), so the classes equal the in-memory
    prediction everywhere, chunk borders included.

    Parameters
    ----------
    classifier : PixelClassifier
        A trained classifier, e.g. from ``PixelClassifier.load(path)``.
    image : dask.array.Array
        Image with the channels the classifier was trained on.
    channel_axis : int, optional
        The axis holding the channels of a multichannel image (kept whole in each chunk).

    Returns
    -------
    dask.array.Array of uint8
        The class id of every pixel; the image's spatial shape.

    Raises
    ------
    SegLabInputError
        If the classifier is untrained, was trained on another number of channels, or the
        chunks are thinner than the halo.
    """
    import dask.array as da

    if not classifier.is_fitted:
        raise SegLabInputError("This classifier is not trained yet: train it or load a file.")
    image = _check_image(image)
    n_channels = 1
    if channel_axis is not None:
        if not -image.ndim <= channel_axis < image.ndim:
            raise SegLabInputError(
                f"channel_axis={channel_axis} does not exist in an image of shape {image.shape}."
            )
        image = da.moveaxis(image, channel_axis, -1)
        image = image.rechunk({image.ndim - 1: -1})
        n_channels = image.shape[-1]
    if n_channels != classifier.n_channels:
        raise SegLabInputError(
            f"This classifier was trained on images with {classifier.n_channels} channel(s); "
            f"this image has {n_channels}. Check the channel axis (RGB: channel_axis=-1) or "
            "use a classifier trained on this kind of image."
        )
    settings = classifier.features
    spatial_ndim = image.ndim - (channel_axis is not None)
    if spatial_ndim < settings.ndim:
        raise SegLabInputError(
            f"Features in mode {settings.mode!r} need at least {settings.ndim} spatial axes; "
            f"this image has {spatial_ndim}."
        )
    halo = np.max([settings.halo(sigma) for sigma in settings.sigmas], axis=0)
    first = spatial_ndim - settings.ndim
    wanted = {axis: 0 for axis in range(image.ndim)}
    wanted.update({first + i: int(h) for i, h in enumerate(halo)})
    depth = _depth(image, wanted)
    check_chunks(
        image, depth, f"the classifier's features (largest scale {max(settings.sigmas):g})"
    )

    def one(block: np.ndarray) -> np.ndarray:
        # The forest traversal is already parallel (numba); one chunk at a time keeps it so.
        with _PREDICT_LOCK:
            return classifier.predict(block, channel_axis=-1 if channel_axis is not None else None)

    padded = da.overlap.overlap(image, depth=depth, boundary="none")
    if channel_axis is None:
        labels = padded.map_blocks(one, dtype=np.uint8)
    else:
        labels = padded.map_blocks(
            one, drop_axis=image.ndim - 1, dtype=np.uint8, chunks=padded.chunks[:-1]
        )
    spatial_depth = {axis: depth[axis] for axis in range(spatial_ndim)}
    return da.overlap.trim_internal(labels, spatial_depth, boundary="none")
