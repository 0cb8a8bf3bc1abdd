"""Connected components across chunk borders: the tables the chunked clean-up keeps.

Each chunk is labelled on its own (no halo: nothing is read from its neighbours); the labels
on its faces are kept, and labels of neighbouring chunks whose face voxels touch (through
the neighbourhood's offsets) are merged into global objects, so objects crossing chunk
borders are measured whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .._blocks import block_batches, compute, one_per_block

if TYPE_CHECKING:
    import dask.array as da

__all__ = [
    "component_tables",
    "decision",
    "labelling",
    "merge_components",
    "selector",
    "structure_of",
]


def _summary(low: list, high: list, n: int, sizes: np.ndarray) -> dict:
    """What the merge needs from a labelled chunk.

    ``low[axis]`` / ``high[axis]``: the labels on the chunk's first / last slice along
    `axis` (in the smallest type, so that no label image is kept); ``border``: the labels on
    any face (only these can continue in another chunk), sorted; ``sizes``: voxels of each
    label.
    """
    border = np.unique(np.concatenate([f.ravel() for f in low + high]))
    return {"n": n, "sizes": sizes, "border": border[border > 0], "low": low, "high": high}


def _crossings(structure: np.ndarray) -> dict[tuple[int, ...], list[tuple[int, ...]]]:
    """Per step between neighbouring chunks, the voxel offsets that cross it.

    The steps are those whose first non-zero entry is +1 (each pair of neighbours once, the
    earlier chunk in C order first); an offset ``d`` crosses step ``s`` when ``d[a] ==
    s[a]`` on every axis where ``s`` moves. Steps that no offset crosses are left out.
    """
    centre = np.array(structure.shape) // 2
    offsets = [tuple(int(v) for v in p - centre) for p in np.argwhere(structure)]
    steps = {}
    for step in itertools.product((-1, 0, 1), repeat=structure.ndim):
        if not any(step) or step[next(a for a, v in enumerate(step) if v)] != 1:
            continue
        moving = [a for a, v in enumerate(step) if v]
        crossing = [d for d in offsets if all(d[a] == step[a] for a in moving)]
        if crossing:
            steps[step] = crossing
    return steps


def _pairs(
    high: np.ndarray, low: np.ndarray, step: tuple, offsets: list, n_low: int
) -> np.ndarray:
    """Label pairs (earlier chunk's, later chunk's) of face voxels that touch.

    `high` is the earlier chunk's last slice along the first axis the `step` moves along,
    `low` the later chunk's first slice along it.
    """
    axis = step.index(1)
    free = [a for a in range(len(step)) if a != axis]
    keys = []
    for d in offsets:
        ours, theirs = [], []
        for j, a in enumerate(free):
            if step[a] == 1:  # the earlier chunk's last slice against the later's first
                ours.append(slice(high.shape[j] - 1, None))
                theirs.append(slice(0, 1))
            elif step[a] == -1:
                ours.append(slice(0, 1))
                theirs.append(slice(low.shape[j] - 1, None))
            else:  # the same extent in both: shifted by the offset
                length = high.shape[j]
                ours.append(slice(max(0, -d[a]), length - max(0, d[a])))
                theirs.append(slice(max(0, d[a]), length - max(0, -d[a])))
        a_lab = high[tuple(ours)].ravel().astype(np.int64)
        b_lab = low[tuple(theirs)].ravel().astype(np.int64)
        both = (a_lab > 0) & (b_lab > 0)
        keys.append(a_lab[both] * (n_low + 1) + b_lab[both])
    key = np.unique(np.concatenate(keys))
    return np.stack([key // (n_low + 1), key % (n_low + 1)])


def merge_components(
    image: da.Array,
    structure: np.ndarray,
    faces: Callable[[np.ndarray, tuple[int, ...]], tuple],
    record: Callable[[dict], dict],
    check: Any = None,
) -> tuple[dict[tuple[int, ...], dict], np.ndarray, int]:
    """Label the chosen voxels of every chunk and join the labels that meet across borders.

    ``faces(chunk, block index)`` labels the voxels to join in a chunk and returns
    ``(low, high, n, sizes)`` as :func:`._label.label_faces` does (:func:`labelling` makes
    one from the voxels to label). Two labels of neighbouring chunks belong to one object
    when one of their face voxels is a neighbour (through `structure`) of the other's; any
    two touching voxels of different chunks lie on those chunks' faces, so this is exact for
    every connectivity.

    The chunks are labelled a batch at a time (:func:`block_batches`), in C order: when a
    chunk arrives, every earlier neighbour is known, so its pairs are found at once and only
    the upper faces of the last plane of chunks wait in memory. Labels that reach no face of
    their chunk are whole objects; only those on faces join the merge, and only what
    `record` keeps of the rest stays in memory.

    Returns ``(blocks, component, n_nodes)``: per block index, what ``record(summary)`` kept
    of the chunk's summary (its ``n`` labels, their voxel counts ``sizes`` with index 0 =
    background, its sorted face labels ``border``) plus ``border`` and the first node
    ``offset`` of its face labels in the merge graph; the graph component of every node; the
    number of nodes.

    `check`, optional, looks at each chunk in the same task: ``check.of(chunk)`` gives a
    value and whether to label the chunk, and ``check.add(value, labelled)`` receives them
    in C order as the chunks arrive; it must raise for a chunk not labelled (which stops
    the pass), and may raise to stop it for any other reason.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ndim, nblocks = image.ndim, image.numblocks

    def summarise(block: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        checked = None if check is None else check.of(block)
        if checked is not None and not checked[1]:
            return one_per_block({"checked": checked}, ndim)
        return one_per_block(_summary(*faces(block, block_id)) | {"checked": checked}, ndim)

    tasks = image.map_blocks(
        summarise, dtype=object, chunks=tuple((1,) * n for n in nblocks)
    ).to_delayed(optimize_graph=False)
    crossings = _crossings(structure)
    # The upper face along axis `a` of chunk `b` waits for the chunks after it along `a`
    # (any offset along the later axes), and is dropped once the last of them is done:
    # only one plane of chunks' faces along the first axis, one row's along the second...
    waiting: dict[tuple, np.ndarray] = {}
    release: dict[tuple, list] = {}  # block index -> faces its arrival releases
    blocks, edges, total = {}, [np.zeros((2, 0), np.int64)], 0
    for batch in block_batches(image):
        for idx, result in zip(batch, compute(*(tasks[i] for i in batch)), strict=True):
            mine = result[(0,) * ndim]
            if check is not None:
                check.add(*mine["checked"])
            border = mine["border"]
            blocks[idx] = record(mine) | {"border": border, "offset": total}
            total += border.size
            for step, offsets in crossings.items():
                below = tuple(i - s for i, s in zip(idx, step, strict=True))
                if not all(0 <= b < n for b, n in zip(below, nblocks, strict=True)):
                    continue
                axis = step.index(1)
                pairs = _pairs(waiting[below, axis], mine["low"][axis], step, offsets, mine["n"])
                pairs[0] = np.searchsorted(blocks[below]["border"], pairs[0])
                pairs[1] = np.searchsorted(border, pairs[1])
                edges.append(pairs + np.array([[blocks[below]["offset"]], [total - border.size]]))
            for key in release.pop(idx, ()):
                del waiting[key]
            for axis in range(ndim):
                if idx[axis] + 1 == nblocks[axis]:
                    continue  # no chunk after it along this axis
                last = tuple(
                    i + (a == axis or (a > axis and i + 1 < n))
                    for a, (i, n) in enumerate(zip(idx, nblocks, strict=True))
                )
                waiting[idx, axis] = mine["high"][axis]
                release.setdefault(last, []).append((idx, axis))
    edge = np.concatenate(edges, axis=1)
    graph = coo_matrix((np.ones(edge.shape[1]), (edge[0], edge[1])), shape=(total, total))
    return blocks, connected_components(graph, directed=False)[1], total


def component_tables(
    image: da.Array,
    structure: np.ndarray,
    faces: Callable[[np.ndarray, tuple[int, ...]], tuple],
    keep: Callable[[np.ndarray], np.ndarray],
    check: Any = None,
) -> dict[tuple[int, ...], dict]:
    """Global connected components of the selected voxels; per block, which labels to keep.

    The objects are those of :func:`merge_components`. Labels that reach no face of their
    chunk are decided from their own size wherever the chunk is labelled again; only the
    face labels' decisions are kept per chunk (and whether the chunk keeps all of its
    labels, or none).

    Returns, for each block index, ``{"border": face labels, "kept": whether each is kept,
    "all": every label kept, "none": no label kept}``: a label is kept when
    ``keep(size of its whole object)`` holds. `faces`, `check`: see
    :func:`merge_components`.
    """

    def record(summary: dict) -> dict:
        sizes, border = summary["sizes"], summary["border"]
        inner = np.asarray(keep(sizes), bool)
        inner[0] = False
        inner[border] = False
        n_inner = summary["n"] - border.size
        return {
            "border_sizes": sizes[border],
            "inner_all": int(inner.sum()) == n_inner,
            "inner_any": bool(inner.any()),
        }

    blocks, component, _ = merge_components(image, structure, faces, record, check)
    sizes = [np.zeros(0, np.int64), *(block["border_sizes"] for block in blocks.values())]
    whole = np.bincount(component, weights=np.concatenate(sizes))
    kept = np.asarray(keep(whole.astype(np.int64)), bool)[component]
    tables = {}
    for idx, block in blocks.items():
        border, offset = block["border"], block["offset"]
        mine = kept[offset : offset + border.size]
        tables[idx] = {
            "border": border,
            "kept": mine,
            "all": block["inner_all"] and bool(mine.all()),
            "none": not block["inner_any"] and not mine.any(),
        }
    return tables


def labelling(
    structure: np.ndarray, select: Callable[[np.ndarray, tuple[int, ...]], np.ndarray]
) -> Callable[[np.ndarray, tuple[int, ...]], tuple]:
    """The `faces` of :func:`merge_components` that labels ``select(chunk, block index)``
    (:func:`._label.label_faces`)."""

    def faces(block: np.ndarray, block_id: tuple[int, ...]) -> tuple:
        from ._label import label_faces

        return label_faces(select(block, block_id), structure)

    return faces


def selector(
    tables: dict[tuple[int, ...], dict],
    structure: np.ndarray,
    keep: Callable[[np.ndarray], np.ndarray],
) -> Callable[[np.ndarray, tuple[int, ...]], np.ndarray | None]:
    """``f(selected voxels of a chunk, block index)``: those in kept objects (None: none).

    Labels again only where the chunk holds both kept and dropped objects (the labels are
    the same as when the tables were made: same input, same labelling); face labels take
    their object's decision, the others ``keep(their size)``.
    """

    def kept(chosen: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray | None:
        table = tables[block_id]
        if table["none"]:
            return None
        if table["all"]:
            return chosen
        from ._label import relabel_by_size

        return relabel_by_size(chosen, structure, lambda sizes: decision(table, keep, sizes))

    return kept


def decision(
    table: dict, keep: Callable[[np.ndarray], np.ndarray], sizes: np.ndarray
) -> np.ndarray:
    """Whether each label ``0..n`` of a chunk (of `sizes` voxels) is kept, by its block's
    `table` (from :func:`component_tables`): face labels take their object's decision, the
    others ``keep(their size)``; label 0 (not selected) never."""
    kept = np.asarray(keep(sizes), bool)
    kept[0] = False
    kept[table["border"]] = table["kept"]
    return kept


def structure_of(ndim: int, connectivity: int) -> np.ndarray:
    from scipy import ndimage as ndi

    return ndi.generate_binary_structure(ndim, connectivity)
