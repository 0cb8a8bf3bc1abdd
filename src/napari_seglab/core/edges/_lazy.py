"""Edge filters on dask arrays, chunk by chunk with a halo, equal to the in-memory result.

Each chunk borrows as many pixels from its neighbours as smoothing and filter reach
(:meth:`EdgeOptions.radius`) along the filtered axes; at the image border there is no halo
(``boundary="none"``), so scikit-image's own border mode applies exactly as in memory.
Canny's hysteresis links edges across a whole plane, so it needs whole planes per chunk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._blocks import check_chunks, halo_depth
from .._validation import SegLabInputError
from ._eager import filter_volume
from ._options import EdgeMethod, EdgeOptions

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["lazy_edges"]


def _check_whole_planes(image: da.Array, options: EdgeOptions) -> None:
    split = [axis for axis in range(image.ndim - 2, image.ndim) if len(image.chunks[axis]) > 1]
    if split:
        raise SegLabInputError(
            "Canny links edges across the whole plane, so each chunk must hold whole planes; "
            f"this image is split along axis {split[0]}. Rechunk it, e.g. "
            "image.rechunk({-2: -1, -1: -1}) (planes stay lazy one by one)."
        )


def lazy_edges(image: da.Array, options: EdgeOptions) -> da.Array:
    """The edges of a (grayscale) dask array, lazily; see :func:`napari_seglab.edges`.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> from napari_seglab.core.edges._eager import filter_volume
    >>> image = np.random.default_rng(0).random((40, 40))
    >>> options = EdgeOptions.from_arguments("sobel")
    >>> lazy = lazy_edges(da.from_array(image, chunks=16), options)
    >>> bool((lazy.compute() == filter_volume(image, options)).all())
    True
    """
    dtype = options.output_dtype(image.dtype)
    first = image.ndim - options.dims
    if options.method is EdgeMethod.CANNY:
        _check_whole_planes(image, options)
        return image.map_blocks(filter_volume, options=options, dtype=dtype)
    wanted = {axis: (options.radius() if axis >= first else 0) for axis in range(image.ndim)}
    depth = halo_depth(image, wanted)
    check_chunks(image, depth, f"{options.method} (reach {options.radius()} pixels)")
    return image.map_overlap(
        filter_volume, depth=depth, boundary="none", dtype=dtype, options=options
    )
