"""Connected components of a lazy (dask) mask, numbered consistently across chunk borders.

The same cross-chunk merge as the clean-up's tables (:mod:`._components`): each chunk is
labelled on its own, labels whose face voxels touch across a chunk border are joined, and
every chunk's labels are mapped to global object numbers. Only the face labels' numbers are
held in memory per chunk, never the volume nor a table of every label; the labels image
stays lazy and is painted chunk by chunk when read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._components import labelling, merge_components

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["label_lazy"]


def _numbering(blocks: dict, component: np.ndarray, min_size: int) -> tuple[dict, int]:
    """Per block, what painting its labels needs; and the number of objects.

    Objects are numbered 1 to n in the order in which they first appear (chunks in C order,
    labels in each chunk's order); objects of fewer than `min_size` voxels get 0. Per block
    only its face labels' numbers are kept (``border``, ``number``), which of them appear
    here first (``new``), and the number before the block's first new object (``base``):
    the new objects of a chunk take ``base + 1, base + 2, ...`` in label order.
    """
    smallest = max(min_size, 1)
    sizes = [np.zeros(0), *(block["border_sizes"] for block in blocks.values())]
    whole = np.bincount(component, weights=np.concatenate(sizes)) if component.size else sizes[0]
    in_c_order = sorted(blocks)  # the merge may have taken the chunks in another order
    ordered = np.concatenate(  # the nodes, chunk by chunk in C order
        [np.zeros(0, np.int64)]
        + [
            np.arange(b["offset"], b["offset"] + b["border"].size)
            for b in map(blocks.get, in_c_order)
        ]
    )
    first = np.zeros(component.size, bool)  # the node where each object first appears
    first[ordered[np.unique(component[ordered], return_index=True)[1]]] = True
    new = first & (whole >= smallest)[component]
    number = np.zeros(whole.size, np.int64)  # per object
    base, tables = 0, {}
    for idx in in_c_order:
        block = blocks[idx]
        nodes = slice(block["offset"], block["offset"] + block["border"].size)
        here = new[nodes]
        ranks = block["inner_before"] + np.cumsum(here)
        number[component[nodes][here]] = base + ranks[here]
        tables[idx] = {"border": block["border"], "new": here, "base": base}
        base += block["n_inner"] + int(here.sum())
    dtype = np.min_scalar_type(max(base, 1))
    for idx, block in blocks.items():
        nodes = slice(block["offset"], block["offset"] + block["border"].size)
        tables[idx]["number"] = number[component[nodes]].astype(dtype)
    return tables, base


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

    from ._label import relabel_by_size

    smallest = max(min_size, 1)

    def record(summary: dict) -> dict:
        sizes, border = summary["sizes"], summary["border"]
        inner = sizes >= smallest
        inner[0] = False
        inner[border] = False
        return {
            "border_sizes": sizes[border],
            "n_inner": int(inner.sum()),
            "inner_before": np.cumsum(inner)[border],  # inner objects before each face label
        }

    faces = labelling(structure, lambda b, _: b != 0)
    blocks, component, _ = merge_components(mask, structure, faces, record)
    tables, n = _numbering(blocks, component, min_size)
    dtype = np.min_scalar_type(max(n, 1))

    def paint(block: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        table = tables[block_id]

        def numbers(sizes: np.ndarray) -> np.ndarray:
            new = sizes >= smallest
            new[0] = False
            new[table["border"]] = table["new"]
            out = np.zeros(sizes.size, dtype)
            out[new] = np.arange(table["base"] + 1, table["base"] + 1 + new.sum())
            out[table["border"]] = table["number"]
            return out

        return relabel_by_size(block != 0, structure, numbers)

    name = "seglab-label-" + tokenize(mask.name, structure.tobytes(), min_size)
    labels = mask.map_blocks(paint, dtype=dtype, name=name)
    return labels, n
