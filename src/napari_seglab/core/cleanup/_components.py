"""Connected components across chunk borders: the tables the chunked clean-up keeps.

Each chunk is labelled with a one-voxel overlap on its upper sides; labels that meet in the
overlap are merged into global objects, so objects crossing chunk borders are measured whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .._blocks import block_batches, core_shapes, one_per_block, overlapped, upper_extended

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["component_tables", "merge_components", "selector", "structure_of"]


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


def merge_components(
    image: da.Array,
    structure: np.ndarray,
    select: Callable[[np.ndarray, tuple[int, ...]], np.ndarray],
    record: Callable[[dict], dict],
) -> tuple[dict[tuple[int, ...], dict], np.ndarray, int]:
    """Label the selected voxels of every chunk and join the labels that meet across borders.

    ``select(extended block, block index)`` gives the voxels to label in a chunk extended by
    a one-voxel halo on its upper sides. Two labels that cover the same voxel (a halo voxel
    and the neighbouring chunk's own) belong to one object. Any two touching voxels lie
    together in some chunk's extended block, so this is exact for every connectivity.

    The chunks are labelled a batch at a time (:func:`block_batches`), in C order: when a
    chunk arrives, every chunk whose halo reaches into it is known, so its pairs are found
    at once and only the halos of the last plane of chunks wait in memory. Labels that
    reach no face of their chunk are whole objects; only those on faces join the merge.

    Returns ``(blocks, component, n_nodes)``: per block index, what ``record(summary)`` kept
    of the chunk's summary (its ``n`` labels, their voxel counts ``sizes``, index 0 =
    background) plus its face labels ``border`` and their first node ``offset`` in the merge
    graph; the graph component of every node; the number of nodes.
    """
    import dask
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ndim = image.ndim
    nblocks = image.numblocks
    shapes = core_shapes(image)

    def summarise(block: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        ext = upper_extended(block, block_id, nblocks)
        labels, n = _label_block(select(ext, block_id), structure)
        return one_per_block(_summary(labels, n, shapes[block_id]), ndim)

    tasks = (
        overlapped(image)
        .map_blocks(summarise, dtype=object, chunks=tuple((1,) * n for n in nblocks))
        .to_delayed()
    )
    steps = [s for s in itertools.product((0, 1), repeat=ndim) if any(s)]
    waiting: dict[tuple, dict] = {}  # summaries whose halos are still needed
    blocks, edges, total = {}, [np.zeros((2, 0), np.int64)], 0
    for batch in block_batches(image):
        for idx, result in zip(batch, dask.compute(*(tasks[i] for i in batch)), strict=True):
            mine = result[(0,) * ndim]
            blocks[idx] = record(mine) | {"border": mine["border"], "offset": total}
            total += mine["border"].size
            for step in steps:
                below = tuple(i - s for i, s in zip(idx, step, strict=True))
                if min(below) < 0:
                    continue
                pairs = _pairs(waiting[below], mine, step, shapes[below])
                pairs[0] = np.searchsorted(blocks[below]["border"], pairs[0])
                pairs[1] = np.searchsorted(mine["border"], pairs[1])
                shift = np.array([[blocks[below]["offset"]], [blocks[idx]["offset"]]])
                edges.append(pairs + shift)
                last = tuple(i + (i + 1 < n) for i, n in zip(below, nblocks, strict=True))
                if last == idx:  # every block that overlaps its halo is done
                    del waiting[below]
            mine["low"] = mine["sizes"] = None
            waiting[idx] = mine
    edge = np.concatenate(edges, axis=1)
    graph = coo_matrix((np.ones(edge.shape[1]), (edge[0], edge[1])), shape=(total, total))
    return blocks, connected_components(graph, directed=False)[1], total


def component_tables(
    image: da.Array,
    structure: np.ndarray,
    select: Callable[[np.ndarray, tuple[int, ...]], np.ndarray],
    keep: Callable[[np.ndarray], np.ndarray],
) -> dict[tuple[int, ...], np.ndarray]:
    """Global connected components of the selected voxels; per block, which labels to keep.

    The objects are those of :func:`merge_components`. Labels that reach no face of their
    chunk are decided on the spot (only a boolean table and the face labels' sizes are kept
    per chunk); those on faces are decided once their whole object is known.

    Returns, for each block index, a boolean table over that block's labels (index 0 = not
    selected): whether ``keep(size of the label's whole object)`` holds.
    """

    def record(summary: dict) -> dict:
        table = np.asarray(keep(summary["sizes"]), bool)
        table[0] = False
        return {"table": table, "border_sizes": summary["sizes"][summary["border"]]}

    blocks, component, _ = merge_components(image, structure, select, record)
    sizes = [np.zeros(0, np.int64), *(block["border_sizes"] for block in blocks.values())]
    whole = np.bincount(component, weights=np.concatenate(sizes))
    kept = np.asarray(keep(whole.astype(np.int64)), bool)[component]
    tables = {}
    for idx, block in blocks.items():
        border, offset = block["border"], block["offset"]
        block["table"][border] = kept[offset : offset + border.size]
        tables[idx] = block["table"]
    return tables


def selector(
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


def structure_of(ndim: int, connectivity: int) -> np.ndarray:
    from scipy import ndimage as ndi

    return ndi.generate_binary_structure(ndim, connectivity)
