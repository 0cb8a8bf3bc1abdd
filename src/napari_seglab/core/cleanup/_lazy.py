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
from ._components import component_tables, decision, labelling, selector, structure_of

if TYPE_CHECKING:
    import dask.array as da

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

    Both steps share each chunk's labelling: the holes are those of the mask left after the
    removal, as when the two steps run one after the other. The first labelling pass also
    finds the value range; :class:`_LabelImage` is raised if the input is not a mask.
    Where the chunk's runs are labelled (:func:`._label.runs`), the holes' runs are the gaps
    between the kept objects' runs (no second scan of the voxels), and the output is painted
    from both.
    """
    from ._label import label_faces, paint_runs, run_faces, run_sizes, runs, runs_outside

    structure = structure_of(labels.ndim, connectivity)
    found = _Range(labels.dtype)
    objects, kept, top, nothing_left = None, None, None, False

    def big(sizes: np.ndarray) -> np.ndarray:
        return sizes >= remove_smaller_than

    if remove_smaller_than > 1:
        # The runs take non-zero voxels as the objects: no boolean copy of the chunk.
        objects = component_tables(
            labels, structure, labelling(structure, lambda block, _: block), big, found
        )
        top = found.mask_value()
        kept = selector(objects, structure, big)
        nothing_left = all(t["none"] for t in objects.values())

    def foreground(block: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        chosen = block != 0
        if kept is None:
            return chosen
        left = kept(chosen, block_id)
        return np.zeros(block.shape, bool) if left is None else left

    def object_runs(block: np.ndarray, block_id: tuple[int, ...]) -> tuple | None:
        """The chunk's object runs and whether each is kept; None where scipy labels."""
        found_runs = runs(block, structure)
        if found_runs is None:
            return None
        table = None if objects is None else objects[block_id]
        if table is None or table["all"] or table["none"]:
            return found_runs, np.full(found_runs[1].size, table is None or table["all"])
        return found_runs, decision(table, big, run_sizes(found_runs, block.size))[found_runs[3]]

    def hole_candidates(block: np.ndarray, block_id: tuple[int, ...]) -> tuple:
        """``(low, high, n, sizes)`` (see ``label_faces``) of the background left after the
        removal."""
        decided = object_runs(block, block_id)
        if decided is None:
            return label_faces(~foreground(block, block_id), structure)
        gaps = runs_outside(*decided, block.shape, structure)
        return *run_faces(gaps, block.shape), gaps[4], run_sizes(gaps, block.size)

    def small(sizes: np.ndarray) -> np.ndarray:
        return sizes < fill_holes_smaller_than

    holes, hole_tables = None, None
    if fill_holes_smaller_than > 1:
        hole_tables = component_tables(
            labels, structure, hole_candidates, small, found if top is None else None
        )
        if top is None:
            top = found.mask_value()
        holes = selector(hole_tables, structure, small)
    fill = 1 if nothing_left else max(top, 1)  # nothing left: holes take 1, as in memory

    def painted(block: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray | None:
        """The output from the runs (kept objects * top, filled holes * fill); None where
        scipy labels."""
        decided = object_runs(block, block_id)
        if decided is None:
            return None
        dtype = block.dtype.type
        out = np.zeros(block.shape, block.dtype)
        paint_runs(decided[0], decided[1] * dtype(top), out)
        gaps = runs_outside(*decided, block.shape, structure)
        filled = decision(hole_tables[block_id], small, run_sizes(gaps, block.size))
        paint_runs(gaps, filled[gaps[3]] * dtype(fill), out)  # disjoint from the kept runs
        return out

    def one(block: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        # The input holds 0 and `top` only: the output is kept objects * top, holes * fill.
        if holes is not None and not hole_tables[block_id]["none"]:
            out = painted(block, block_id)
            if out is not None:
                return out
        mask = foreground(block, block_id)
        filled = None if holes is None else holes(~mask, block_id)
        if filled is not None and fill == top:
            mask, filled = mask | filled, None
        out = np.multiply(mask, block.dtype.type(top), dtype=block.dtype)
        if filled is not None:  # disjoint from the objects
            out += np.multiply(filled, block.dtype.type(fill), dtype=block.dtype)
        return out

    return labels.map_blocks(one, dtype=labels.dtype)


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
    return labels.map_blocks(lambda b: np.where(keep[b], b, 0).astype(b.dtype), dtype=labels.dtype)


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
