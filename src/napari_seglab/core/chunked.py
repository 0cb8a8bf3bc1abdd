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


def _sum_in_batches(parts: list, batch: int = 64) -> np.ndarray:
    """Compute delayed arrays `batch` at a time and add them up, to bound memory."""
    import dask

    total = None
    for start in range(0, len(parts), batch):
        value = dask.compute(_tree(parts[start : start + batch], _add))[0]
        total = value if total is None else total + value
    return total


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
        length = last - first + 1

        def count(part: np.ndarray, plane: int) -> np.ndarray:
            flat = part.ravel()
            out = np.zeros(length, np.int64)
            for s in range(0, flat.size, _SLAB):  # bounds the int64 copy bincount makes
                out += np.bincount(flat[s : s + _SLAB].astype(np.int64) - first, minlength=length)
            return out

        counts = _per_plane_reduce(image, lead_ndim, count, length)
        centers = np.arange(first, last + 1)
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
    from scipy import ndimage as ndi

    labels, n = ndi.label(block, structure)
    return labels, int(n)


def _summary(
    block: np.ndarray,
    idx: tuple[int, ...],
    nblocks: tuple[int, ...],
    core_shape: tuple[int, ...],
    structure: np.ndarray,
    select: Callable[[np.ndarray], np.ndarray],
) -> dict:
    """Label an extended block; keep what the merge step needs (sizes and faces)."""
    labels, n = _label_block(select(_upper_extended(block, idx, nblocks)), structure)
    labels = labels.astype(np.min_scalar_type(n), copy=False)  # faces wait in memory: keep small
    core = labels[tuple(slice(0, c) for c in core_shape)]
    sizes = np.bincount(core.ravel(), minlength=n + 1)[1:]
    low = [np.ascontiguousarray(core.take(0, axis=a)) for a in range(labels.ndim)]
    high = [
        np.ascontiguousarray(labels.take(c, axis=a)) if labels.shape[a] > c else None
        for a, c in enumerate(core_shape)
    ]
    return {"n": n, "sizes": sizes, "low": low, "high": high}


def _face_pairs(
    mine: dict, axis: int, neighbours: dict[tuple, dict], core_shape: tuple
) -> dict[tuple, np.ndarray]:
    """Label pairs (this block's label, neighbour's label) meeting in the upper overlap."""
    face = mine["high"][axis]
    others = [a for a in range(len(core_shape)) if a != axis]
    pairs = {}
    for corner, theirs in neighbours.items():
        # corner: the other axes along which the neighbour is also one block further on.
        ours_sl, theirs_sl = [], []
        for a in others:
            c = core_shape[a]
            if a in corner:
                ours_sl.append(slice(c, c + 1))
                theirs_sl.append(slice(0, 1))
            else:
                ours_sl.append(slice(0, c))
                theirs_sl.append(slice(0, c))
        a_lab = face[tuple(ours_sl)].ravel()
        b_lab = theirs["low"][axis][tuple(theirs_sl)].ravel()
        both = (a_lab > 0) & (b_lab > 0)
        if both.any():
            pairs[corner] = np.unique(np.stack([a_lab[both], b_lab[both]]), axis=1)
    return pairs


def _one(value: Any, ndim: int) -> np.ndarray:
    """Wrap a Python object as a one-element array of `ndim` dimensions (one per block)."""
    out = np.empty((1,) * ndim, dtype=object)
    out[(0,) * ndim] = value
    return out


def _component_keep(
    image: da.Array, structure: np.ndarray, select: Callable, keep: Callable
) -> dict[tuple, np.ndarray]:
    """Global connected components of ``select(image)``; per block, which labels to keep.

    Each chunk is labelled with a one-voxel overlap on its upper sides; two labels that
    cover the same voxel (an overlap voxel and the neighbouring chunk's own) belong to one
    object. Any two touching voxels of different chunks lie together in the overlapped
    chunk of the lower one, so this is exact for every connectivity.

    Returns, for each block index, a boolean table over that block's own labels (index 0 =
    not selected) saying whether ``keep(global component size)`` holds.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ndim = image.ndim
    nblocks = tuple(len(c) for c in image.chunks)
    blocks = [
        (idx, tuple(s.stop - s.start for s in core)) for idx, core in _block_slices(image.chunks)
    ]
    core_shapes = dict(blocks)

    def summarise(block: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        core_shape = core_shapes[block_id]
        return _one(_summary(block, block_id, nblocks, core_shape, structure, select), ndim)

    summaries = _overlapped(image).map_blocks(
        summarise, dtype=object, chunks=tuple((1,) * n for n in nblocks)
    )

    def pairs_of(near: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        me = tuple(int(i > 0) for i in block_id)
        mine = near[me]
        found = {}
        for axis in range(ndim):
            if block_id[axis] + 1 >= nblocks[axis]:
                continue
            others = [a for a in range(ndim) if a != axis]
            neighbours = {}
            for r in range(len(others) + 1):
                for corner in itertools.combinations(others, r):
                    if any(block_id[a] + 1 >= nblocks[a] for a in corner):
                        continue
                    where = list(me)
                    for a in (axis, *corner):
                        where[a] += 1
                    neighbours[corner] = near[tuple(where)]
            for corner, pairs in _face_pairs(
                mine, axis, neighbours, core_shapes[block_id]
            ).items():
                there = list(block_id)
                for a in (axis, *corner):
                    there[a] += 1
                found[tuple(there)] = [*found.get(tuple(there), []), pairs]
        return _one((mine["n"], mine["sizes"], found), ndim)

    # Slab by slab along the axis with the most chunks: each slab's summaries are computed
    # once, its merge pairs as soon as the next slab is known, then it is dropped. Memory
    # thus depends on the slab, not on the volume.
    axis = int(np.argmax(nblocks))
    grid = np.empty(nblocks, dtype=object)
    light = np.empty(nblocks, dtype=object)

    def slab(i: int) -> tuple[slice, ...]:
        return tuple(slice(i, i + 1) if a == axis else slice(None) for a in range(ndim))

    def merge(i: int) -> None:
        for idx in np.ndindex(*grid[slab(i)].shape):
            idx = tuple(i if a == axis else j for a, j in enumerate(idx))
            near = grid[tuple(slice(max(j - 1, 0), j + 2) for j in idx)]
            light[idx] = pairs_of(near, idx)[(0,) * ndim]
        grid[slab(i)] = None

    for i in range(nblocks[axis]):
        grid[slab(i)] = summaries.blocks[slab(i)].compute()
        if i > 0:
            merge(i - 1)
    merge(nblocks[axis] - 1)
    order = [idx for idx, _core_shape in blocks]
    offsets, total = {}, 0
    for idx in order:
        offsets[idx] = total
        total += light[idx][0]
    sizes = np.concatenate([light[idx][1] for idx in order]) if total else np.zeros(0, np.int64)
    edges = [np.zeros((2, 0), np.int64)]
    for idx in order:
        for there, found in light[idx][2].items():
            shift = np.array([[offsets[idx] - 1], [offsets[there] - 1]])
            edges.extend(pairs.astype(np.int64) + shift for pairs in found)
    edge = np.concatenate(edges, axis=1)
    graph = coo_matrix((np.ones(edge.shape[1]), (edge[0], edge[1])), shape=(total, total))
    _, component = connected_components(graph, directed=False)
    component_size = np.bincount(component, weights=sizes).astype(np.int64)
    kept = keep(component_size)[component]
    return {
        idx: np.concatenate([[False], kept[offsets[idx] : offsets[idx] + light[idx][0]]])
        for idx in order
    }


def _apply_tables(
    image: da.Array,
    structure: np.ndarray,
    select: Callable,
    tables: dict[tuple, np.ndarray],
    write: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> da.Array:
    """Relabel each extended block as before; ``write(chunk, selected-by-table mask)``."""
    nblocks = tuple(len(c) for c in image.chunks)

    def one(block: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        ext = _upper_extended(block, block_id, nblocks)
        core_sl = tuple(slice(0, c[i]) for c, i in zip(image.chunks, block_id, strict=True))
        table = tables[block_id]
        if not table.any():  # nothing selected here: no need to label again
            return write(ext[core_sl], np.zeros(ext[core_sl].shape, bool))
        if table[1:].all():  # every component here is selected
            return write(ext[core_sl], select(ext[core_sl]))
        labels, _ = _label_block(select(ext), structure)
        return write(ext[core_sl], table[labels[core_sl]])

    return _overlapped(image).map_blocks(one, chunks=image.chunks, dtype=image.dtype)


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


def _nonzero(block: np.ndarray) -> np.ndarray:
    return block != 0


def _zero(block: np.ndarray) -> np.ndarray:
    return block == 0


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
    import dask.array as da

    ceiling = True if labels.dtype == bool else np.iinfo(labels.dtype).max
    low, top, low_fg = None, None, None
    for part in _slabs(labels):
        a, b, c = dask.compute(part.min(), part.max(), da.where(part != 0, part, ceiling).min())
        low = a if low is None else min(low, a)
        top = b if top is None else max(top, b)
        low_fg = c if low_fg is None else min(low_fg, c)
    return int(low), int(top), min(int(low_fg), int(top))


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
    if labels.dtype == bool or top == 0 or low_fg == top:  # a mask: 0/1, 0/255, bool
        tables = _component_keep(
            labels,
            _structure(labels.ndim, connectivity),
            _nonzero,
            lambda size: size >= smaller_than,
        )
        return _apply_tables(
            labels,
            _structure(labels.ndim, connectivity),
            _nonzero,
            tables,
            lambda block, keep: np.where(keep, block, 0).astype(block.dtype),
        )
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
    if top > 1 and low_fg != top:
        raise SegLabInputError(
            "Filling holes chunk by chunk needs a binary mask, not a label image with several "
            "labels. Pass `labels > 0`, or process the label image in memory."
        )
    fill = max(top, 1)
    structure = _structure(labels.ndim, connectivity)
    tables = _component_keep(labels, structure, _zero, lambda size: size < smaller_than)
    return _apply_tables(
        labels,
        structure,
        _zero,
        tables,
        lambda block, hole: np.where(hole, fill, block).astype(block.dtype),
    )


def clean_up(
    labels: da.Array,
    *,
    remove_smaller_than: int = 0,
    fill_holes_smaller_than: int = 0,
    connectivity: int = 1,
) -> da.Array:
    """:func:`napari_seglab.core.cleanup.clean_up` for a dask array (see the two steps)."""
    out = remove_small_objects(labels, remove_smaller_than, connectivity=connectivity)
    return fill_small_holes(out, fill_holes_smaller_than, connectivity=connectivity)


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

    per_block = da.map_blocks(
        stats,
        pred,
        truth,
        chunks=(*pred.chunks[:lead], (1,) * pred.numblocks[-2], (1,) * pred.numblocks[-1], (5,)),
        new_axis=pred.ndim,
        dtype=float,
    ).compute()
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
