"""Connected components across chunk borders: the tables the chunked clean-up keeps.

Each chunk is labelled on its own (no halo: nothing is read from its neighbours); the labels
on its faces are kept, and labels of neighbouring chunks whose face voxels touch (through
the neighbourhood's offsets) are merged into global objects, so objects crossing chunk
borders are measured whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .._blocks import block_batches, compute, one_per_block

if TYPE_CHECKING:
    import dask.array as da

__all__ = [
    "Graph",
    "Labelled",
    "compact",
    "decide",
    "decision",
    "labelling",
    "merge_components",
    "merge_layers",
    "structure_of",
    "tally",
    "traversal",
]


class Labelled(NamedTuple):
    """One chunk's labels, as the merge takes them (one graph layer).

    ``low[axis]`` / ``high[axis]``: the labels on the chunk's first / last slice along
    `axis` (0: voxels not taken); ``n``: the number of labels; ``sizes``: voxels of each
    label ``0..n``. Optional: ``nodes``, labels that join the graph although they reach no
    face; ``edges``, ``(2, k)`` pairs of this chunk's labels joined inside the chunk;
    ``apart``, a label whose face voxels are not joined to each other's across chunks (0:
    none).
    """

    low: list
    high: list
    n: int
    sizes: np.ndarray
    nodes: np.ndarray | None = None
    edges: np.ndarray | None = None
    apart: int = 0


class Graph(NamedTuple):
    """The merge graph of one layer: ``edges`` ``(2, m)`` between its ``n_nodes`` nodes."""

    edges: np.ndarray
    n_nodes: int

    def components(self, active: np.ndarray | None = None) -> np.ndarray:
        """The connected component of every node, through the edges between nodes where
        `active` holds (all where None); an inactive node is a component of its own."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        edges = self.edges
        if active is not None:
            edges = edges[:, active[edges[0]] & active[edges[1]]]
        graph = coo_matrix(
            (np.ones(edges.shape[1]), (edges[0], edges[1])), shape=(self.n_nodes,) * 2
        )
        return connected_components(graph, directed=False)[1]


def _summary(labelled: Labelled) -> dict:
    """What the merge needs from a labelled layer of a chunk: its fields, with ``border``,
    the sorted labels that join the graph (those on any face, which can continue in another
    chunk, and the layer's ``nodes``)."""
    taken = np.zeros(labelled.n + 1, bool)  # a table, not a sort of the face voxels
    for face in labelled.low + labelled.high:
        taken[face] = True
    if labelled.nodes is not None:
        taken[labelled.nodes] = True
    taken[0] = False
    border = np.flatnonzero(taken).astype(np.min_scalar_type(labelled.n))  # kept per chunk
    return labelled._asdict() | {"border": border}


def traversal(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The order in which the merge takes the axes (the first varies slowest): longest
    first, ties in array order.

    The upper faces of one layer of chunks across the first axis wait in memory for the next
    layer; taking the longest axis first makes that the volume's smallest cross-section
    (for a 799 x 8026 x 17480 stack, 799 x 8026 voxels instead of 8026 x 17480).

    Examples
    --------
    >>> traversal((64, 2048, 2048)), traversal((2048, 64, 64))
    ((1, 2, 0), (0, 1, 2))
    """
    return tuple(sorted(range(len(shape)), key=lambda a: -shape[a]))


def _crossings(
    structure: np.ndarray, axes: tuple[int, ...]
) -> dict[tuple[int, ...], list[tuple[int, ...]]]:
    """Per step between neighbouring chunks, the voxel offsets that cross it.

    The steps are those whose first non-zero entry, taking the axes in the order `axes`, is
    +1 (each pair of neighbours once, the chunk that comes earlier in that order first); an
    offset ``d`` crosses step ``s`` when ``d[a] == s[a]`` on every axis where ``s`` moves.
    Steps that no offset crosses are left out.
    """
    centre = np.array(structure.shape) // 2
    offsets = [tuple(int(v) for v in p - centre) for p in np.argwhere(structure)]
    steps = {}
    for step in itertools.product((-1, 0, 1), repeat=structure.ndim):
        if not any(step) or step[_leading(step, axes)] != 1:
            continue
        moving = [a for a, v in enumerate(step) if v]
        crossing = [d for d in offsets if all(d[a] == step[a] for a in moving)]
        if crossing:
            steps[step] = crossing
    return steps


def _leading(step: tuple[int, ...], axes: tuple[int, ...]) -> int:
    """The first axis, in the order `axes`, along which `step` moves."""
    return next(a for a in axes if step[a])


def _pairs(
    high: np.ndarray,
    low: np.ndarray,
    step: tuple,
    axis: int,
    offsets: list,
    n_low: int,
    apart: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """Label pairs (earlier chunk's, later chunk's) of face voxels that touch.

    `high` is the earlier chunk's last slice along `axis` (along which the `step` moves by
    +1), `low` the later chunk's first slice along it; pairs of the two chunks' `apart`
    labels are left out.
    """
    from ._label import unique_pairs

    free = [a for a in range(len(step)) if a != axis]
    ours_found, theirs_found = [], []
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
        if apart[0] or apart[1]:
            both &= (a_lab != apart[0]) | (b_lab != apart[1])
        ours_found.append(a_lab[both])
        theirs_found.append(b_lab[both])
    return unique_pairs(np.concatenate(ours_found), np.concatenate(theirs_found), n_low)


def compact(values: np.ndarray) -> np.ndarray:
    """Non-negative integers kept until the end of the pass, in 32 bits where they fit (the
    bookkeeping of many chunks stays small)."""
    if values.size and values.max() > np.iinfo(np.uint32).max:
        return values
    return values.astype(np.uint32)


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
    one from the voxels to label); see :func:`merge_layers`, of which this is the one-layer
    case.

    Returns ``(blocks, component, n_nodes)``: per block index, what ``record(summary)`` kept
    of the chunk's summary (its ``n`` labels, their voxel counts ``sizes`` with index 0 =
    background, its sorted face labels ``border``) plus ``border`` and the first node
    ``offset`` of its face labels in the merge graph; the graph component of every node; the
    number of nodes.
    """

    def layers(block: np.ndarray, block_id: tuple[int, ...]) -> tuple[Labelled]:
        return (Labelled(*faces(block, block_id)),)

    blocks, (graph,) = merge_layers(image, structure, layers, lambda s: record(s[0]), check)
    for block in blocks.values():
        ((block["border"], block["offset"]),) = block.pop("layers")
    return blocks, graph.components(), graph.n_nodes


def merge_layers(
    image: da.Array,
    structure: np.ndarray,
    faces: Callable[[np.ndarray, tuple[int, ...]], tuple[Labelled, ...]],
    record: Callable[[list[dict]], dict],
    check: Any = None,
) -> tuple[dict[tuple[int, ...], dict], list[Graph]]:
    """Label every chunk, in one or more layers, and join the labels that meet across
    borders: one merge graph per layer, from one pass over the chunks.

    ``faces(chunk, block index)`` returns one :class:`Labelled` per layer. Two labels of
    neighbouring chunks are joined when one of their face voxels is a neighbour (through
    `structure`) of the other's; any two touching voxels of different chunks lie on those
    chunks' faces, so this is exact for every connectivity. A layer's ``edges`` join labels
    inside a chunk too.

    The chunks are labelled a batch at a time (:func:`block_batches`), in C order with the
    axes taken longest first (:func:`traversal`): when a chunk arrives, every earlier
    neighbour is known, so its pairs are found at once and only the upper faces of the last
    layer of chunks across the longest axis wait in memory. Labels that reach no face of
    their chunk (and are not among a layer's ``nodes``) are whole objects; only the others
    join the merge, and only what `record` keeps of the rest stays in memory.

    Returns ``(blocks, graphs)``: per block index, what ``record(summaries)`` kept of the
    chunk's layers (:func:`_summary`) plus ``layers``, per layer the chunk's nodes
    (``border``) and the first one's index in the layer's graph; one :class:`Graph` per
    layer.

    `check`, optional, looks at each chunk in the same task: ``check.of(chunk)`` gives a
    value and whether to label the chunk, and ``check.add(value, labelled)`` receives them
    as the chunks arrive; it must raise for a chunk not labelled (which stops
    the pass), and may raise to stop it for any other reason.
    """
    ndim, nblocks = image.ndim, image.numblocks

    def summarise(block: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        checked = None if check is None else check.of(block)
        if checked is not None and not checked[1]:
            return one_per_block({"checked": checked}, ndim)
        summaries = [_summary(layer) for layer in faces(block, block_id)]
        return one_per_block({"layers": summaries, "checked": checked}, ndim)

    tasks = image.map_blocks(
        summarise, dtype=object, chunks=tuple((1,) * n for n in nblocks)
    ).to_delayed(optimize_graph=False)
    axes = traversal(image.shape)
    later = {a: axes[i + 1 :] for i, a in enumerate(axes)}
    crossings = _crossings(structure, axes)
    # The upper face along axis `a` of chunk `b` waits for the chunks after it along `a`
    # (any offset along the axes taken after `a`), and is dropped once the last of them is
    # done: only one layer of chunks' faces across the first axis, one row's across the
    # second...
    waiting: dict[tuple, list] = {}
    release: dict[tuple, list] = {}  # block index -> faces its arrival releases
    blocks: dict[tuple, dict] = {}
    edges: list[list[np.ndarray]] | None = None
    totals: list[int] = []
    for batch in block_batches(image, axes):
        for idx, result in zip(batch, compute(*(tasks[i] for i in batch)), strict=True):
            mine = result[(0,) * ndim]
            if check is not None:
                check.add(*mine["checked"])
            layers = mine["layers"]
            if edges is None:
                edges = [[np.zeros((2, 0), np.uint32)] for _ in layers]
                totals = [0] * len(layers)
            placed = []
            for k, layer in enumerate(layers):
                border, offset = layer["border"], totals[k]
                placed.append((border, offset))
                totals[k] += border.size
                if layer["edges"] is not None and layer["edges"].size:
                    edges[k].append(compact(np.searchsorted(border, layer["edges"]) + offset))
                for step, offsets in crossings.items():
                    below = tuple(i - s for i, s in zip(idx, step, strict=True))
                    if not all(0 <= b < n for b, n in zip(below, nblocks, strict=True)):
                        continue
                    axis = _leading(step, axes)
                    high, apart, theirs, their_offset = waiting[below, axis][k]
                    pairs = _pairs(
                        high,
                        layer["low"][axis],
                        step,
                        axis,
                        offsets,
                        layer["n"],
                        (apart, layer["apart"]),
                    )
                    pairs[0] = np.searchsorted(theirs, pairs[0])
                    pairs[1] = np.searchsorted(border, pairs[1])
                    edges[k].append(compact(pairs + np.array([[their_offset], [offset]])))
            blocks[idx] = record(layers) | {"layers": placed}
            for key in release.pop(idx, ()):
                del waiting[key]
            for axis in range(ndim):
                if idx[axis] + 1 == nblocks[axis]:
                    continue  # no chunk after it along this axis
                last = tuple(
                    i + (a == axis or (a in later[axis] and i + 1 < n))
                    for a, (i, n) in enumerate(zip(idx, nblocks, strict=True))
                )
                waiting[idx, axis] = [
                    (layer["high"][axis], layer["apart"], *place)
                    for layer, place in zip(layers, placed, strict=True)
                ]
                release.setdefault(last, []).append((idx, axis))
    graphs = [
        Graph(np.concatenate(e, axis=1), total) for e, total in zip(edges, totals, strict=True)
    ]
    return blocks, graphs


def tally(summary: dict, keep: Callable[[np.ndarray], np.ndarray]) -> dict:
    """What :func:`decide` needs of a layer's summary (``record`` of :func:`merge_layers`):
    the sizes of its nodes, and whether `keep` holds for all or any of its other labels."""
    sizes, border = summary["sizes"], summary["border"]
    inner = np.asarray(keep(sizes), bool)
    inner[0] = False
    inner[border] = False
    return {
        "border_sizes": compact(sizes[border]),
        "inner_all": int(inner.sum()) == summary["n"] - border.size,
        "inner_any": bool(inner.any()),
    }


def decide(
    blocks: dict[tuple[int, ...], dict],
    graph: Graph,
    layer: int,
    keep: Callable[[np.ndarray], np.ndarray],
    active: np.ndarray | None = None,
) -> dict[tuple[int, ...], dict]:
    """Per block, which labels of a layer to keep: a node is kept when ``keep(size of its
    whole component)`` holds (and it is `active`, where given: inactive nodes are neither
    joined nor counted, nor kept).

    `blocks` as :func:`merge_layers` returns them, with ``record`` giving ``{"tallies":
    [tally(summary) of each layer]}``. Labels that are not nodes are decided from their own
    size wherever the chunk is labelled again (:func:`decision`); only the nodes' decisions
    are kept per chunk, and whether the chunk keeps all of its labels, or none.

    Returns, for each block index, ``{"border": its nodes, "kept": whether each is kept,
    "all": every label kept, "none": no label kept}``.
    """
    sizes = np.concatenate(
        [
            np.zeros(0, np.int64),
            *(block["tallies"][layer]["border_sizes"] for block in blocks.values()),
        ]
    )
    component = graph.components(active)
    if active is not None:
        sizes = np.where(active, sizes, 0)
    whole = np.bincount(component, weights=sizes, minlength=graph.n_nodes)
    kept = np.asarray(keep(whole.astype(np.int64)), bool)[component]
    if active is not None:
        kept &= active
    tables = {}
    for idx, block in blocks.items():
        border, offset = block["layers"][layer]
        tally_ = block["tallies"][layer]
        mine = kept[offset : offset + border.size]
        tables[idx] = {
            "border": border,
            "kept": mine,
            "all": tally_["inner_all"] and bool(mine.all()),
            "none": not tally_["inner_any"] and not mine.any(),
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


def decision(
    table: dict, keep: Callable[[np.ndarray], np.ndarray], sizes: np.ndarray
) -> np.ndarray:
    """Whether each label ``0..n`` of a chunk (of `sizes` voxels) is kept, by its block's
    `table` (from :func:`decide`): face labels take their object's decision, the
    others ``keep(their size)``; label 0 (not selected) never."""
    kept = np.asarray(keep(sizes), bool)
    kept[0] = False
    kept[table["border"]] = table["kept"]
    return kept


def structure_of(ndim: int, connectivity: int) -> np.ndarray:
    from scipy import ndimage as ndi

    return ndi.generate_binary_structure(ndim, connectivity)
