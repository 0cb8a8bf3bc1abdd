"""The lazy (dask) half of the clean-up: global object sizes across chunk borders.

Object sizes come from connected components labelled across chunk borders
(:mod:`._components`), so objects crossing chunk borders are measured whole; the results
equal the in-memory ones.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import numpy as np

from .._blocks import block_batches, compute, one_per_block, sum_in_batches
from .._validation import SegLabInputError, check_labels, negative_labels_error
from ._components import Labelled, compact, decide, decision, merge_layers, structure_of, tally

if TYPE_CHECKING:
    from collections.abc import Callable

    import dask.array as da

    from ._mask_chunk import MaskChunk

__all__ = ["clean_up", "fill_small_holes", "remove_small_objects"]


def _value_range(labels: da.Array) -> tuple[int, int]:
    """Largest value, smallest non-zero value (the largest if none); negative ones refused."""

    from ._label import value_range

    def one(block: np.ndarray) -> np.ndarray:
        return one_per_block(value_range(block), labels.ndim)

    tasks = labels.map_blocks(
        one, dtype=object, chunks=tuple((1,) * n for n in labels.numblocks)
    ).to_delayed(optimize_graph=False)
    low, top, low_fg = 0, 0, None
    for batch in block_batches(labels):
        for result in compute(*(tasks[i] for i in batch)):
            found = result[(0,) * labels.ndim]
            low, top = min(low, found[0]), max(top, found[1])
            low_fg = found[2] if low_fg is None else min(low_fg, found[2])
    if low < 0:
        raise negative_labels_error(low)
    return top, min(low_fg, top)


class _LabelImage(Exception):
    """The input is not a mask (several non-zero values, or negative ones): found while the
    first labelling pass runs, which then stops."""


class _Range:
    """The value range of a mask, found by its first labelling pass (no pass of its own).

    ``of(chunk)`` runs in the chunk's labelling task: the chunk's ``value_range`` and whether
    to label it (not when it holds several non-zero values: the input is a label image);
    ``add`` gathers the ranges as the chunks arrive and stops the pass at such a chunk.
    """

    def __init__(self, dtype: np.dtype) -> None:
        self.boolean = np.dtype(dtype).kind == "b"
        self.top, self.low_fg = 0, None

    def of(self, block: np.ndarray) -> tuple[tuple[int, int, int], bool]:
        from ._label import value_range

        low, high, low_fg = found = value_range(block)
        return found, low >= 0 and (high == 0 or low_fg == high)

    def add(self, found: tuple[int, int, int], labelled: bool) -> None:
        if not labelled:  # negative values too: the label-image path refuses them
            raise _LabelImage
        self.top = max(self.top, found[1])
        self.low_fg = found[2] if self.low_fg is None else min(self.low_fg, found[2])

    def mask_value(self) -> int:
        """The foreground value once every chunk is seen (raises _LabelImage if several)."""
        top, low_fg = self.top, min(self.low_fg, self.top)
        if not (self.boolean or top == 0 or low_fg == top):
            raise _LabelImage
        return top


def _clean_mask(
    labels: da.Array, remove_smaller_than: int, fill_holes_smaller_than: int, connectivity: int
) -> da.Array:
    """Remove small objects and fill small holes of a mask (one foreground value).

    One pass labels every chunk's objects and, to fill holes, its background components
    (:class:`._mask_chunk.MaskChunk`), and merges both across chunk borders, in two graphs
    (:func:`._components.merge_layers`); the pass that writes labels each chunk again and
    paints it from the decisions. The first pass also finds the value range:
    :class:`_LabelImage` is raised if the input is not a mask.

    The holes are those of the mask left after the removal, as when the two steps run one
    after the other, without a pass of their own (:func:`_hole_layer`): the hole graph
    joins the small background components and the objects that the removal may take away,
    inside chunks as across their faces; once the objects' graph has said which objects go,
    the holes are its components through those only.
    """
    from ._mask_chunk import MaskChunk

    structure = structure_of(labels.ndim, connectivity)
    found = _Range(labels.dtype)
    removing, filling = remove_smaller_than > 1, fill_holes_smaller_than > 1

    def big(sizes: np.ndarray) -> np.ndarray:
        return sizes >= remove_smaller_than

    def small(sizes: np.ndarray) -> np.ndarray:
        return sizes < fill_holes_smaller_than

    def layers(block: np.ndarray, _: tuple[int, ...]) -> tuple[Labelled, ...]:
        chunk = MaskChunk(block, structure, background=filling)
        out = []
        if removing:
            faces = chunk.faces(np.arange(chunk.n_objects + 1), None, chunk.n_objects)
            out.append(Labelled(*faces, chunk.n_objects, chunk.object_sizes))
        if filling:
            out.append(_hole_layer(chunk, big if removing else None, small))
        return tuple(out)

    def record(summaries: list[dict]) -> dict:
        tallies = [tally(summaries[0], big)] if removing else []
        if filling:
            tallies.append(_hole_tally(summaries[-1], summaries[0]["n"] if removing else 0, small))
        return {"tallies": tallies}

    blocks, graphs = merge_layers(labels, structure, layers, record, found)
    top = found.mask_value()
    objects = decide(blocks, graphs[0], 0, big) if removing else None
    holes = None
    if filling:
        taking_part = _taking_part(blocks, objects)
        holes = decide(blocks, graphs[-1], len(graphs) - 1, small, taking_part)
    nothing_left = objects is not None and all(t["none"] for t in objects.values())
    fill = 1 if nothing_left else max(top, 1)  # nothing left: holes take 1, as in memory
    dtype = labels.dtype.type

    def one(block: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        # The input holds 0 and `top` only: the output is kept objects * top, holes * fill.
        kept_table = None if objects is None else objects[block_id]
        hole_table = None if holes is None else holes[block_id]
        removes = kept_table is not None and not kept_table["all"]
        fills = hole_table is not None and not hole_table["none"]
        if not removes and not fills:
            return block.copy()
        if not fills and kept_table["none"]:
            return np.zeros_like(block)
        chunk = MaskChunk(block, structure, background=fills)
        if kept_table is None:
            kept = np.ones(chunk.n_objects + 1, bool)
            kept[0] = False
        else:
            kept = decision(kept_table, big, chunk.object_sizes)
        values = np.multiply(kept, dtype(top), dtype=block.dtype)
        background = None
        if fills:
            # Hole-graph nodes (_hole_layer): objects keep their labels, background follows.
            n_objects = chunk.n_objects if removing else 0
            nodes, filled = hole_table["border"], hole_table["kept"]
            values[nodes[(nodes <= n_objects) & filled]] = dtype(fill)  # removed, in a hole
            in_hole = small(chunk.background_sizes)  # the components that are not nodes
            in_hole[0] = False
            on_background = (nodes > n_objects) & (nodes <= n_objects + chunk.n_background)
            in_hole[nodes[on_background] - n_objects] = filled[on_background]
            background = np.multiply(in_hole, dtype(fill), dtype=block.dtype)
        return chunk.paint(values, background, block.dtype)

    # Named from the inputs: dask would otherwise hash `one` by pickling it with every
    # chunk's tables (several MiB for thousands of chunks).
    name = _name("clean", labels, remove_smaller_than, fill_holes_smaller_than, connectivity)
    return labels.map_blocks(one, dtype=labels.dtype, name=name)


def _name(step: str, labels: da.Array, *options: int) -> str:
    """The dask name of a clean-up result: its step, input and options decide it."""
    from dask.base import tokenize

    return f"seglab-{step}-" + tokenize(labels.name, *options)


def _hole_layer(
    chunk: MaskChunk,
    big: Callable[[np.ndarray], np.ndarray] | None,
    small: Callable[[np.ndarray], np.ndarray],
) -> Labelled:
    """A chunk's layer of the hole graph (:func:`._components.merge_layers`).

    Its labels: the objects that the removal may take away (`big` does not hold for their
    size in this chunk) keep theirs (``1..n_objects``), the small background components
    take ``n_objects + their label``; the other objects take 0 (they are kept, so in no
    hole). Where `big` is None (nothing is removed), the background components keep their
    labels. A background component for which `small` fails in this chunk alone is never in
    a hole, and neither is anything joined to it: all of those take one label, ``large``,
    whose voxels are joined to nothing across chunks. The removable objects are nodes,
    joined to the background components they touch, except those that reach no face and
    touch large background components only.
    """
    n_objects = 0 if big is None else chunk.n_objects
    n_bg = chunk.n_background
    large = n_objects + n_bg + 1
    background = np.where(small(chunk.background_sizes), np.arange(n_bg + 1) + n_objects, large)
    background[0] = 0
    sizes = np.zeros(large + 1, np.int64)
    sizes[n_objects + 1 : large] = chunk.background_sizes[1:]
    sizes[large] = chunk.background_sizes[1:][background[1:] == large].sum()
    objects = np.zeros(chunk.n_objects + 1, np.int64)
    nodes = edges = None
    if big is not None:
        removable = ~big(chunk.object_sizes)
        removable[0] = False
        objects[removable] = np.flatnonzero(removable)
        sizes[1 : n_objects + 1] = chunk.object_sizes[1:]
        touching = chunk.touching(removable)
        edges = np.stack([touching[0], background[touching[1]]])
    low, high = chunk.faces(objects, background, large)
    if edges is not None:
        # An object off the faces that touches only large background joins no hole: it
        # is left out of the graph (most specks of a noisy mask are such objects).
        joins = np.zeros(n_objects + 1, bool)
        for face in low + high:
            joins[face[face <= n_objects]] = True
        joins[edges[0][edges[1] != large]] = True
        edges = edges[:, joins[edges[0]]]
        joins[0] = False
        nodes = np.concatenate([np.flatnonzero(joins), edges[1]])  # removable ones only
    return Labelled(low, high, large, sizes, nodes, edges, large)


def _hole_tally(summary: dict, n_objects: int, small: Callable) -> dict:
    """:func:`._components.tally` of a chunk's hole layer (:func:`_hole_layer`), with its
    ``n_objects``: whether it has small background components that are not nodes (holes
    of their own)."""
    border, sizes, large = summary["border"], summary["sizes"], summary["n"]
    alone = small(sizes[n_objects + 1 : large])
    alone[border[(border > n_objects) & (border < large)] - n_objects - 1] = False
    return {
        "border_sizes": compact(sizes[border]),
        "inner_all": False,
        "inner_any": bool(alone.any()),
        "n_objects": n_objects,
    }


def _taking_part(blocks: dict, objects: dict | None) -> np.ndarray:
    """Which nodes of the hole graph take part (`active` of :func:`._components.decide`):
    background components, and the objects that the removal takes away."""
    active = []
    for idx, block in blocks.items():
        nodes, _ = block["layers"][-1]
        n_objects = block["tallies"][-1]["n_objects"]
        mine = nodes > n_objects
        if objects is not None:
            kept = np.zeros(n_objects + 1, bool)  # off the faces: removable, so removed
            kept[objects[idx]["border"]] = objects[idx]["kept"]
            mine[~mine] = ~kept[nodes[~mine]]
        active.append(mine)
    return np.concatenate([np.zeros(0, bool), *active])


def remove_small_objects(
    labels: da.Array, smaller_than: int, *, connectivity: int = 1
) -> da.Array:
    """:func:`napari_seglab.core.cleanup.remove_small_objects` for a dask array.

    Object sizes are global: an object crossing chunk borders is measured whole. As in memory,
    a mask with one foreground value (0/1, 0/255, boolean) is split into connected
    components, while an image with several values is a label image whose labels are the
    objects.

    Returns
    -------
    dask.array.Array
        Lazy result of the input's dtype and chunks (sizes are computed now).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> mask = np.zeros((6, 6), np.uint8); mask[0, 0] = 1; mask[2:6, 2:6] = 1
    >>> int(remove_small_objects(da.from_array(mask, chunks=3), 2).sum().compute())
    16
    """
    check_labels(labels, connectivity)
    if smaller_than <= 1:
        return labels
    with contextlib.suppress(_LabelImage):
        return _clean_mask(labels, smaller_than, 0, connectivity)
    return _remove_labels(labels, smaller_than)


def _remove_labels(labels: da.Array, smaller_than: int) -> da.Array:
    """A label image: every label is one object, wherever its pixels are."""
    import dask

    top, _ = _value_range(labels)
    parts = [
        dask.delayed(lambda b: np.bincount(b.ravel(), minlength=top + 1), pure=True)(b)
        for b in labels.to_delayed().ravel()
    ]
    sizes = sum_in_batches(parts)
    keep = sizes >= smaller_than
    keep[0] = False
    return labels.map_blocks(
        lambda b: np.where(keep[b], b, 0).astype(b.dtype),
        dtype=labels.dtype,
        name=_name("remove-labels", labels, smaller_than),
    )


def fill_small_holes(labels: da.Array, smaller_than: int, *, connectivity: int = 1) -> da.Array:
    """:func:`napari_seglab.core.cleanup.fill_small_holes` for a dask array.

    A hole is a connected background region of fewer than `smaller_than` pixels, measured
    across chunk borders; as in memory (scikit-image's ``remove_small_holes``), a small
    background region touching the image border counts too. Holes take the foreground value.
    Label images with several labels are refused (their in-memory version fills each hole
    with the nearest label, which needs the whole image).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> ring = np.ones((6, 6), np.uint8); ring[2:4, 2:4] = 0
    >>> int(fill_small_holes(da.from_array(ring, chunks=3), 5).min().compute())
    1
    """
    check_labels(labels, connectivity)
    if smaller_than <= 1:
        return labels
    try:
        return _clean_mask(labels, 0, smaller_than, connectivity)
    except _LabelImage:
        _refuse_label_image(*_value_range(labels))
        raise


def _refuse_label_image(top: int, low_fg: int) -> None:
    if top > 1 and low_fg != top:
        raise SegLabInputError(
            "Filling holes chunk by chunk needs a binary mask, not a label image with several "
            "labels. Pass `labels > 0`, or process the label image in memory."
        )


def clean_up(
    labels: da.Array,
    *,
    remove_smaller_than: int = 0,
    fill_holes_smaller_than: int = 0,
    connectivity: int = 1,
) -> da.Array:
    """:func:`napari_seglab.core.cleanup.clean_up` for a dask array (see the two steps).

    For a mask, both steps run in the same passes over the chunks (the holes are those left
    after the removal, exactly as when the steps run one after the other).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> mask = np.ones((6, 6), np.uint8); mask[1, 1] = 0; mask[4:, 4:] = 0; mask[5, 5] = 1
    >>> out = clean_up(da.from_array(mask, chunks=3), remove_smaller_than=2,
    ...                fill_holes_smaller_than=2).compute()
    >>> int(out[1, 1]), int(out[5, 5])
    (1, 0)
    """
    check_labels(labels, connectivity)
    if remove_smaller_than <= 1 and fill_holes_smaller_than <= 1:
        return labels
    with contextlib.suppress(_LabelImage):
        return _clean_mask(labels, remove_smaller_than, fill_holes_smaller_than, connectivity)
    out = labels if remove_smaller_than <= 1 else _remove_labels(labels, remove_smaller_than)
    return fill_small_holes(out, fill_holes_smaller_than, connectivity=connectivity)
