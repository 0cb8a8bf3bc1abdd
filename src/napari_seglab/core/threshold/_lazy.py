"""The lazy (dask) half of thresholding: the same results, chunk by chunk.

- Filters (median, local thresholds) run on each chunk with the halo the filter needs
  (``map_overlap`` with ``boundary="none"``): chunks that touch the image border are filtered
  with scipy's own ``mode="reflect"`` there, exactly as the whole image would be.
- Global thresholds come from a histogram accumulated over the chunks (see
  :mod:`._histogram`), built exactly as scikit-image builds it; :class:`GlobalSource` holds
  that histogram, so that several methods (``try_all_thresholds``) read the image once.

Threshold values are computed when the function is called; masks are returned as lazy dask
arrays, computed chunk by chunk when stored (see :func:`napari_seglab.core.io.save`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .._blocks import check_chunks, halo_depth
from .._validation import SegLabInputError, check_lazy_image, to_grayscale
from ._choices import ThresholdMethod
from ._histogram import binning_note, hist_ranges, histogram, means
from ._median import median_window
from ._methods import (
    ThresholdOptions,
    apply_threshold,
    value_from_histogram,
    value_from_image,
)
from ._results import ThresholdResult

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["GlobalSource", "median_filter", "prepare_image", "threshold"]


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
    window = median_window(size, ndim, image.shape)
    if window is None:
        return image
    from scipy import ndimage as ndi

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


def prepare_image(image: da.Array, options: ThresholdOptions) -> da.Array:
    """Grayscale conversion, checks and the median filter of a dask array, all lazy."""
    image = check_lazy_image(image)
    gray = check_lazy_image(to_grayscale(image, rgb=options.rgb, channel=options.channel))
    if gray.dtype == np.float16:  # as in memory (scipy's filters do not take half floats)
        gray = gray.astype(np.float32)
    return median_filter(gray, options.median_size, ndim=options.median_ndim)


def _lead_ndim(prepared: da.Array, options: ThresholdOptions) -> int:
    return max(prepared.ndim - options.plane_ndim, 0) if options.per_plane else 0


def _local_mask(prepared: da.Array, options: ThresholdOptions) -> da.Array:
    """A local method's mask, each chunk read with the halo of the method's window."""
    lead_ndim, foreground = _lead_ndim(prepared, options), options.foreground
    d = options.window // 2
    depth = halo_depth(
        prepared, {axis: (d if axis >= lead_ndim else 0) for axis in range(prepared.ndim)}
    )
    try:
        check_chunks(prepared, depth, f"{options.method.value} with a window of {2 * d + 1}")
    except SegLabInputError as err:
        if lead_ndim or prepared.ndim < 3:
            raise
        raise SegLabInputError(  # a stack of planes chunked plane by plane, most likely
            f"{err} Or threshold each plane on its own (per_plane=True): the window is then 2D."
        ) from None

    def local(block: np.ndarray) -> np.ndarray:
        out = np.empty(block.shape, np.uint8)
        for idx in np.ndindex(*block.shape[:lead_ndim]):
            plane = block[idx]
            out[idx] = apply_threshold(plane, value_from_image(plane, options), foreground)
        return out

    return prepared.map_overlap(local, depth=depth, boundary="none", dtype=np.uint8)


def _blank(counts: np.ndarray) -> bool:
    """Whether a histogram is that of a constant image (all pixels in one bin)."""
    return np.count_nonzero(counts) <= 1


@dataclass
class GlobalSource:
    """What every global method needs of a prepared lazy image, computed once.

    The histogram (one per plane with ``per_plane``) is read in one pass over the chunks, the
    means only when ``"mean"`` is asked for.

    Parameters
    ----------
    prepared : dask.array.Array
        The image from :func:`prepare_image`.
    options : ThresholdOptions
        Its ``per_plane`` and ``plane_ndim`` say how the planes are split.
    methods : iterable of ThresholdMethod
        The methods to be computed (to skip the histogram when all are manual).
    """

    prepared: da.Array
    options: ThresholdOptions
    methods: Iterable[ThresholdMethod]

    def __post_init__(self) -> None:
        self.methods = [ThresholdMethod(m) for m in self.methods]
        self.lead_ndim = _lead_ndim(self.prepared, self.options)
        self.integer = bool(np.issubdtype(self.prepared.dtype, np.integer))
        self.hists = None
        if any(m is not ThresholdMethod.MANUAL for m in self.methods):
            plane_ndim = self.options.plane_ndim if self.lead_ndim else None
            self.hists = histogram(self.prepared, plane_ndim=plane_ndim)
            if self.lead_ndim == 0 and _blank(self.hists[0][0]):
                # (a float image's only bin centre is not its value: say none)
                shown = f" (every pixel is {self.hists[0][1][0]})" if self.integer else ""
                raise SegLabInputError(
                    f"The image is constant{shown}: there is nothing to separate."
                )
        self.means = None
        if ThresholdMethod.MEAN in self.methods:
            self.means = means(self.prepared, self.lead_ndim)

    def values(self, options: ThresholdOptions) -> np.ndarray:
        """The threshold of each plane (C order), or the one threshold, for a global method."""
        n = int(np.prod(self.prepared.shape[: self.lead_ndim]))
        if options.method is ThresholdMethod.MANUAL:
            return np.full(n, float(options.value))
        # A blank (constant) plane stays background with a NaN threshold, as in memory.
        return np.array(
            [
                np.nan
                if _blank(counts)
                else value_from_histogram(
                    counts,
                    centers,
                    options,
                    integer=self.integer,
                    mean=None if self.means is None else self.means[i],
                )
                for i, (counts, centers) in enumerate(self.hists)
            ]
        )

    def threshold(self, options: ThresholdOptions) -> ThresholdResult:
        """The result of a global method: values now, the mask lazy."""
        values = self.values(options)
        prepared, lead_ndim, foreground = self.prepared, self.lead_ndim, options.foreground
        method = options.method
        note = ""
        if method.uses_histogram:
            note = binning_note(prepared.dtype, hist_ranges(self.hists))
        if lead_ndim == 0:
            mask = prepared.map_blocks(apply_threshold, values[0], foreground, dtype=np.uint8)
            return ThresholdResult(mask, method, foreground, float(values[0]), note)
        plane_values = values.reshape(prepared.shape[:lead_ndim])
        trailing = (1,) * (prepared.ndim - lead_ndim)

        def per_plane_block(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
            where = block_info[0]["array-location"][:lead_ndim]
            t = plane_values[tuple(slice(a, b) for a, b in where)]
            return apply_threshold(block, t.reshape(t.shape + trailing), foreground)

        mask = prepared.map_blocks(per_plane_block, dtype=np.uint8)
        return ThresholdResult(mask, method, foreground, plane_values.astype(float), note)


def threshold_prepared(prepared: da.Array, options: ThresholdOptions) -> ThresholdResult:
    """Threshold a lazy image returned by :func:`prepare_image`."""
    if not options.method.is_global:
        mask = _local_mask(prepared, options)
        return ThresholdResult(mask, options.method, options.foreground, None)
    return GlobalSource(prepared, options, [options.method]).threshold(options)


def threshold(image: da.Array, options: ThresholdOptions) -> ThresholdResult:
    """:func:`napari_seglab.core.threshold.threshold` for a dask array.

    ``result.mask`` is a lazy dask array (uint8, 1 = foreground) with the input's chunks, and
    ``result.value`` is computed now from a histogram accumulated over the chunks (see the
    module notes).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> img = np.array([[10, 10, 200], [10, 200, 200]], dtype=np.uint8)
    >>> result = threshold(da.from_array(img, chunks=1), ThresholdOptions("otsu"))
    >>> result.value, result.mask.compute().tolist()
    (10.0, [[0, 0, 1], [0, 1, 1]])
    """
    return threshold_prepared(prepare_image(image, options), options)
