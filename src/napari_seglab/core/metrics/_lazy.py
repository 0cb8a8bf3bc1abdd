"""The lazy (dask) half of the evaluation: counts summed over the chunks, masks per chunk."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._blocks import block_batches, block_slices, is_lazy
from .._validation import (
    check_lazy_mask,
    check_same_shape,
    nan_values_error,
    several_values_error,
)
from ._scores import confusion_classes
from ._scores import plane_sums as block_plane_sums

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["confusion_masks", "plane_sums"]

_STATS = 7  # numbers kept per plane of each chunk, see plane_sums


def _as_dask(prediction: Any, ground_truth: Any) -> tuple[da.Array, da.Array]:
    """Both inputs as checked dask arrays, the ground truth in the prediction's chunks."""
    import dask.array as da

    pred = prediction if is_lazy(prediction) else da.from_array(np.asarray(prediction))
    truth = ground_truth if is_lazy(ground_truth) else da.from_array(np.asarray(ground_truth))
    check_same_shape(pred, truth, ("prediction", "ground truth"))
    check_lazy_mask(pred, "prediction")
    check_lazy_mask(truth, "ground truth")
    return pred, truth.rechunk(pred.chunks)


def plane_sums(prediction: Any, ground_truth: Any) -> np.ndarray:
    """:func:`._scores.plane_sums` of two arrays, at least one of them dask, chunk by chunk.

    Each chunk is read once, a bounded batch of chunks at a time; the ground truth's
    non-zero values are checked on the way (a binary mask is needed).

    Returns
    -------
    numpy.ndarray of int64
        Shape ``(*leading_shape, 3)``: TP, predicted and true pixels of each plane.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> truth = np.array([[1, 0, 1], [0, 1, 1], [0, 0, 0]])
    >>> pred = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 0]])
    >>> plane_sums(da.from_array(pred, chunks=2), truth).tolist()
    [3, 4, 4]
    """
    import dask
    import dask.array as da

    pred, truth = _as_dask(prediction, ground_truth)
    lead = pred.ndim - 2

    def stats(p_block: np.ndarray, t_block: np.ndarray) -> np.ndarray:
        # Everything from one pair of chunks in one task, so each chunk is read once: per
        # plane TP, predicted, true; the truth's lowest and highest non-zero value; NaNs.
        t = t_block != 0
        out = np.zeros((*p_block.shape[:lead], 1, 1, _STATS))
        out[..., 0, 0, :3] = block_plane_sums(p_block != 0, t)
        values = t_block[t]
        out[..., 0, 0, 3] = values.min() if values.size else np.inf
        out[..., 0, 0, 4] = values.max() if values.size else -np.inf
        out[..., 0, 0, 5] = _nan_count(p_block)
        out[..., 0, 0, 6] = _nan_count(t_block)
        return out

    tasks = da.map_blocks(
        stats,
        pred,
        truth,
        chunks=(
            *pred.chunks[:lead],
            (1,) * pred.numblocks[-2],
            (1,) * pred.numblocks[-1],
            (_STATS,),
        ),
        new_axis=pred.ndim,
        dtype=float,
    ).to_delayed()
    per_block = np.empty((*pred.shape[:lead], *pred.numblocks[-2:], _STATS))
    regions = dict(block_slices(pred.chunks))
    for batch in block_batches(pred):  # a bounded number of chunks in memory
        for idx, part in zip(batch, dask.compute(*(tasks[(*i, 0)] for i in batch)), strict=True):
            per_block[(*regions[idx][:lead], *idx[-2:])] = part.reshape(
                (*part.shape[:lead], _STATS)
            )
    for column, name in ((5, "prediction"), (6, "ground truth")):
        if per_block[..., column].any():
            raise nan_values_error(name)
    t_low, t_high = per_block[..., 3].min(), per_block[..., 4].max()
    if np.isfinite(t_high) and t_low != t_high:
        raise several_values_error(
            "ground truth", f"different non-zero values (from {t_low:g} to {t_high:g})"
        )
    # Each block's counts are below 2**53, so float64 holds them exactly.
    return per_block[..., :3].astype(np.int64).sum(axis=(-3, -2))


def _nan_count(block: np.ndarray) -> np.ndarray | int:
    """NaN pixels in each plane of a chunk."""
    if not np.issubdtype(block.dtype, np.floating):
        return 0
    return np.count_nonzero(np.isnan(block), axis=(-2, -1))


def _classes_of_block(p_block: np.ndarray, t_block: np.ndarray, *, key: str) -> np.ndarray:
    for block, name in ((p_block, "prediction"), (t_block, "ground truth")):
        if np.any(_nan_count(block)):
            raise nan_values_error(name)
    t = t_block != 0
    values = t_block[t]
    if values.size and values.min() != values.max():
        raise several_values_error(
            "ground truth", f"different non-zero values (from {values.min()} to {values.max()})"
        )
    return confusion_classes(p_block != 0, t)[key].view(np.uint8)


def confusion_masks(prediction: Any, ground_truth: Any) -> dict[str, da.Array]:
    """:func:`napari_seglab.core.metrics.confusion_masks` when either input is a dask array.

    Returns
    -------
    dict of str to dask.array.Array
        Lazy uint8 masks in the prediction's chunks; nothing is computed until they are read.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> masks = confusion_masks(da.from_array(np.eye(4, dtype=np.uint8), chunks=2), np.eye(4))
    >>> int(masks["TP"].sum().compute()), int(masks["TN"].sum().compute())
    (4, 12)
    """
    import dask.array as da

    pred, truth = _as_dask(prediction, ground_truth)
    return {
        key: da.map_blocks(_classes_of_block, pred, truth, key=key, dtype=np.uint8)
        for key in ("TP", "FP", "FN", "TN")
    }
