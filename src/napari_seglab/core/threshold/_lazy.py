"""The lazy (dask) half of thresholding: the same results, chunk by chunk.

- Filters (median, local thresholds) run on each chunk with the halo the filter needs
  (``map_overlap`` with ``boundary="none"``): chunks that touch the image border are filtered
  with scipy's own ``mode="reflect"`` there, exactly as the whole image would be.
- Global thresholds come from a histogram accumulated over the chunks (see
  :mod:`._histogram`), built exactly as scikit-image builds it.

Threshold values are computed when the function is called; masks are returned as lazy dask
arrays, computed chunk by chunk when stored (see :func:`napari_seglab.core.io.save`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._blocks import check_chunks, halo_depth
from .._validation import SegLabInputError, check_lazy_image
from ._histogram import _global_value, histogram

if TYPE_CHECKING:
    import dask.array as da

    from ._eager import ThresholdResult

__all__ = ["median_filter", "threshold"]


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
    image = check_lazy_image(image)
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
    depth = halo_depth(image, {axis: w // 2 for axis, w in enumerate(window)})
    check_chunks(image, depth, f"a median of size {size}")
    return image.map_overlap(
        ndi.median_filter,
        depth=depth,
        boundary="none",
        dtype=image.dtype,
        size=window,
        mode="reflect",
    )


def _means(image: da.Array, lead_ndim: int) -> np.ndarray:
    axes = tuple(range(lead_ndim, image.ndim))
    if np.issubdtype(image.dtype, np.integer):
        sums = image.astype(np.int64).sum(axis=axes).compute()
        n = int(np.prod([image.shape[a] for a in axes]))
        return np.array([int(s) / n for s in np.atleast_1d(sums).ravel()])
    return np.atleast_1d(image.mean(axis=axes).compute()).ravel()


def _grayscale(image: da.Array, rgb: bool, channel: int | None) -> da.Array:
    from .._validation import check_colour, to_grayscale

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
    from ._eager import Foreground, ThresholdMethod, ThresholdResult, apply_threshold
    from ._eager import threshold_value as local_threshold

    method = ThresholdMethod(method)
    foreground = Foreground(foreground)
    gray = check_lazy_image(_grayscale(check_lazy_image(image), rgb, channel))
    prepared = median_filter(gray, median_size, ndim=median_ndim)
    lead_ndim = max(prepared.ndim - plane_ndim, 0) if per_plane else 0

    if not method.is_global:
        options = dict(block_size=block_size, offset=offset, window_size=window_size, k=k)
        # Validate the options now rather than inside a worker, on a tiny image.
        local_threshold(np.arange(25.0).reshape(5, 5), method, **options)
        d = (block_size if method is ThresholdMethod.LOCAL_MEAN else window_size) // 2
        depth = halo_depth(
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
