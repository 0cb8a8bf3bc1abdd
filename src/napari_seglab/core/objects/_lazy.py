"""The lazy (dask) half of the measurements: per-chunk partial sums, merged per label.

Each chunk gives, for each label in it, its voxel count, the sums of its coordinates, its
smallest and largest coordinates and the sum and maximum of the intensity
(:func:`._sums.block_stats`); the parts of an object that lie in several chunks are added up
(or their minimum / maximum taken) per label. Nothing needs the whole volume, so only a batch
of chunks is in memory at a time. Eccentricity and solidity need each object whole and are not
measured here. The objects of a labels image taken as labelled are counted the same way
(:func:`counts_lazy`: each chunk's values and pixel counts, added up per value).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._blocks import block_batches, block_slices, compute
from ._sums import block_stats, columns_of, grouped, label_counts

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["counts_lazy", "measure_lazy"]


def _partials(labels: da.Array, values: da.Array | None) -> list[tuple]:
    """The per-chunk partial columns, computed a batch of chunks at a time."""
    import dask

    stats = dask.delayed(block_stats, pure=True)
    label_blocks = labels.to_delayed()
    value_blocks = None if values is None else values.to_delayed()
    origins = {idx: tuple(s.start for s in sl) for idx, sl in block_slices(labels.chunks)}
    found = []
    for batch in block_batches(labels):
        tasks = [
            stats(label_blocks[i], None if value_blocks is None else value_blocks[i], origins[i])
            for i in batch
        ]
        found.extend(part for part in compute(*tasks) if part is not None)
    return found


def measure_lazy(
    labels: Any, values: Any, spacing: tuple[float, ...] | None, chosen: list[str]
) -> dict[str, np.ndarray]:
    """The columns of :func:`measure_objects` for dask labels (and intensity).

    `chosen` holds no eccentricity or solidity. The values equal
    :func:`skimage.measure.regionprops_table`'s (up to float rounding).

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> labels = np.zeros((4, 6), np.uint8); labels[0:2, 0:2] = 1; labels[1:4, 2:6] = 2
    >>> table = measure_lazy(da.from_array(labels, chunks=2), None, None, ["label", "area"])
    >>> {k: v.tolist() for k, v in table.items()}
    {'label': [1, 2], 'area': [4.0, 12.0]}
    """
    import dask.array as da

    labels = (
        labels if isinstance(labels, da.Array) else da.from_array(labels, chunks=values.chunks)
    )
    if values is not None:
        values = da.asarray(values).rechunk(labels.chunks)
    found = _partials(labels, values)
    return columns_of(found, labels.ndim, spacing, chosen, intensity=values is not None)


def counts_lazy(labels: da.Array) -> tuple[int, int, np.ndarray, np.ndarray]:
    """:func:`._sums.label_counts` of a dask array, a batch of chunks at a time.

    Only each chunk's values and counts are kept, never the volume.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> labels = np.zeros((4, 6), np.uint16); labels[:, :3] = 65535; labels[3, 5] = 4
    >>> low, high, ids, counts = counts_lazy(da.from_array(labels, chunks=2))
    >>> low, high, ids.tolist(), counts.tolist()
    (0, 65535, [4, 65535], [1, 12])
    """
    import dask

    count = dask.delayed(label_counts, pure=True)
    blocks = labels.to_delayed()
    lows, highs = [], []
    ids, counts = np.zeros(0, np.int64), np.zeros(0, np.int64)
    for batch in block_batches(labels):
        parts = compute(*(count(blocks[i]) for i in batch))
        lows += [p[0] for p in parts]
        highs += [p[1] for p in parts]
        ids = np.concatenate([ids, *(p[2] for p in parts)])
        counts = np.concatenate([counts, *(p[3] for p in parts)])
        if ids.size:
            ids, merged = grouped(ids, {"count": counts})  # one row per value so far
            counts = merged["count"]
    return min(lows), max(highs), ids, counts
