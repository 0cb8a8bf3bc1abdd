"""Clustering a dask array: fit k-means on a sample of chunks, then label chunk by chunk.

The fit reads at most ``options.sample_chunks`` chunks, spread evenly over the array; the
labels are computed lazily, each chunk from its own pixels and the same fitted centres
(equal to the in-memory labels when the sample covers every chunk and the chunks split only
the leading axes). Superpixels need whole planes per chunk, so that each plane's superpixels
are the ones of the image in memory.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import numpy as np

from .._blocks import compute
from .._validation import SegLabInputError
from ._eager import boundaries_of, label_dtype
from ._features import pixel_ids, superpixels, unit_rows
from ._model import KMeansModel, fit
from ._options import ClusterOptions, ClusterUnits

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["lazy_cluster_steps", "sample_blocks"]


def sample_blocks(numblocks: tuple[int, ...], n: int) -> list[tuple[int, ...]]:
    """At most `n` block indices, evenly spread over the blocks in C order.

    Examples
    --------
    >>> sample_blocks((4, 1), 2)
    [(0, 0), (3, 0)]
    """
    total = int(np.prod(numblocks))
    flat = np.unique(np.linspace(0, total - 1, min(n, total)).round().astype(int))
    return [tuple(int(i) for i in np.unravel_index(f, numblocks)) for f in flat]


def _origin(block_info: dict | None, ndim: int) -> tuple[int, int]:
    location = block_info[0]["array-location"]
    return location[ndim - 3][0], location[ndim - 2][0]


def _labels_block(block, options: ClusterOptions, model: KMeansModel, block_info=None):
    segments = superpixels(block, options)
    colour, coords = unit_rows(block, segments, _origin(block_info, block.ndim), options)
    ids = model.predict(colour, coords).astype(label_dtype(options.k))
    return pixel_ids(segments, ids, block.shape[:-1])


def _check_planes(image: da.Array, options: ClusterOptions) -> None:
    split = [a for a in (image.ndim - 3, image.ndim - 2) if len(image.chunks[a]) > 1]
    if options.units is not ClusterUnits.PIXELS and split:
        raise SegLabInputError(
            "Superpixels are found in whole planes, so each chunk must hold whole planes; this "
            f"image is split along axis {split[0]}. Rechunk it, e.g. "
            "image.rechunk({-3: -1, -2: -1}), or cluster pixels."
        )


def _sample_rows(image: da.Array, options: ClusterOptions) -> tuple[np.ndarray, np.ndarray]:
    """The unit rows (colours, coordinates) of the sample of chunks the fit reads."""
    picked = sample_blocks(image.numblocks, options.sample_chunks)
    blocks = compute(*(image.blocks[idx] for idx in picked))
    starts = [np.concatenate([[0], np.cumsum(c)]) for c in image.chunks]
    colours, coords = [], []
    for idx, block in zip(picked, blocks, strict=True):
        origin = (int(starts[-3][idx[-3]]), int(starts[-2][idx[-2]]))
        c, xy = unit_rows(block, superpixels(block, options), origin, options)
        colours.append(c)
        coords.append(xy)
    return np.concatenate(colours), np.concatenate(coords)


def lazy_cluster_steps(
    image: da.Array, options: ClusterOptions, boundaries: bool
) -> Generator[str, None, tuple[da.Array, KMeansModel, int, da.Array | None, da.Array | None]]:
    """Cluster ``(..., Y, X, C)`` lazily, yielding each step's name before it runs.

    The steps are "sample" (reading the sample of chunks the fit sees) and "k-means fit".
    Returns the labels, the model, the number of units fitted, the superpixels and their
    boundaries, all but the model lazy (None where not used or not asked for).
    """
    _check_planes(image, options)
    image = image.rechunk({image.ndim - 1: -1})
    yield "sample"
    colour, coords = _sample_rows(image, options)
    yield "k-means fit"
    model = fit(colour, coords, options, max(image.shape[-3:-1]))
    drop = image.ndim - 1
    labels = image.map_blocks(
        _labels_block,
        options=options,
        model=model,
        drop_axis=drop,
        dtype=label_dtype(options.k),
    )
    if options.units is ClusterUnits.PIXELS:
        return labels, model, len(colour), None, None
    segments = image.map_blocks(superpixels, options=options, drop_axis=drop, dtype=np.int32)
    edges = segments.map_blocks(boundaries_of, dtype=np.uint8) if boundaries else None
    return labels, model, len(colour), segments, edges
