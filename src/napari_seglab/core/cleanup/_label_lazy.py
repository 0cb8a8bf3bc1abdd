"""Connected components of a lazy (dask) mask, numbered consistently across chunk borders.

The same cross-chunk merge as the clean-up's tables (:mod:`._components`): each chunk is
labelled with a one-voxel halo on its upper sides, labels that cover the same voxel are
joined by a union-find over the graph of such pairs, and every chunk's labels are mapped to
global object numbers. Only the per-chunk summaries (faces, sizes) are held in memory, never
the volume; the labels image itself stays lazy and is painted chunk by chunk when read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._blocks import core_shapes, overlapped, upper_extended
from ._components import merge_components

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["label_lazy"]


def _numbering(blocks: dict, component: np.ndarray, min_size: int) -> tuple[dict, int]:
    """Per block, a table from its labels to global object numbers (0 = dropped or none).

    Objects are numbered 1 to n in the order in which they first appear (chunks in C order,
    labels in each chunk's order); objects of fewer than `min_size` voxels get 0.
    """
    n_components = int(component.max()) + 1 if component.size else 0
    objects, sizes, next_free = {}, [], n_components
    for idx, block in blocks.items():
        obj = np.arange(next_free, next_free + block["n"] + 1, dtype=np.int64)
        next_free += block["n"] + 1
        border = block["border"]
        obj[border] = component[block["offset"] : block["offset"] + border.size]
        objects[idx] = obj[1:]  # label 0 (background) is no object
        sizes.append(block["sizes"][1:])
    every = np.concatenate([np.zeros(0, np.int64), *objects.values()])
    size = np.bincount(every, weights=np.concatenate([np.zeros(0), *sizes]), minlength=next_free)
    kept = size >= max(min_size, 1)
    unique, first = np.unique(every, return_index=True)
    order = unique[np.argsort(first, kind="stable")]  # by first appearance
    order = order[kept[order]]
    number = np.zeros(next_free, np.int64)
    number[order] = np.arange(1, order.size + 1)
    dtype = np.min_scalar_type(max(order.size, 1))
    tables = {
        idx: np.concatenate([[0], number[obj]]).astype(dtype) for idx, obj in objects.items()
    }
    return tables, int(order.size)


def label_lazy(
    mask: da.Array, structure: np.ndarray, *, min_size: int = 0
) -> tuple[da.Array, int]:
    """Connected components of a dask mask, one number per object across chunk borders.

    Parameters
    ----------
    mask : dask.array.Array
        Non-zero = foreground, any number of dimensions (2D and 3D chunks are labelled by
        the compiled labeller, others by scipy).
    structure : numpy.ndarray of bool
        The neighbourhood, as for :func:`scipy.ndimage.label` (a structure that joins no
        voxels along the first axis labels each plane of a stack on its own).
    min_size : int
        Objects of fewer voxels (counted whole, across chunks) become background.

    Returns
    -------
    labels : dask.array.Array
        The same partition of the foreground as :func:`scipy.ndimage.label`, numbered 1 to
        `n` in the order in which objects first appear chunk by chunk (not scipy's order),
        in the smallest unsigned type that holds `n`; chunked like `mask`. One pass over
        the chunks is computed now (to merge the objects); reading the result labels each
        chunk again.
    n : int
        The number of objects.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> from scipy import ndimage as ndi
    >>> mask = np.zeros((4, 6), bool); mask[1, :] = True; mask[3, 4:] = True
    >>> labels, n = label_lazy(da.from_array(mask, chunks=2), ndi.generate_binary_structure(2, 1))
    >>> n, labels.compute().tolist()
    (2, [[0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 2, 2]])
    """
    from dask.base import tokenize

    from ._label import relabel

    blocks, component, _ = merge_components(
        mask, structure, lambda ext, _: ext != 0, lambda s: {"n": s["n"], "sizes": s["sizes"]}
    )
    tables, n = _numbering(blocks, component, min_size)
    nblocks, shapes = mask.numblocks, core_shapes(mask)
    dtype = next(iter(tables.values())).dtype

    def paint(block: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        ext = upper_extended(block, block_id, nblocks) != 0
        core = tuple(slice(0, c) for c in shapes[block_id])
        return relabel(ext, structure, tables[block_id])[core]

    name = "seglab-label-" + tokenize(mask.name, structure.tobytes(), min_size)
    labels = overlapped(mask).map_blocks(paint, dtype=dtype, chunks=mask.chunks, name=name)
    return labels, n
