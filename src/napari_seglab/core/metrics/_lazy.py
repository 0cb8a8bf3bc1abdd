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
from ._prediction import (
    ANY,
    check_foreground_class,
    class_absent_error,
    foreground_of,
    not_a_mask_error,
)
from ._scores import confusion_classes
from ._scores import plane_sums as block_plane_sums

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["confusion_masks", "plane_sums"]

_STATS = 9  # numbers kept per plane of each chunk, see plane_sums


def _as_dask(prediction: Any, ground_truth: Any) -> tuple[da.Array, da.Array]:
    """Both inputs as checked dask arrays, the ground truth in the prediction's chunks."""
    import dask.array as da

    pred = prediction if is_lazy(prediction) else da.from_array(np.asarray(prediction))
    truth = ground_truth if is_lazy(ground_truth) else da.from_array(np.asarray(ground_truth))
    check_same_shape(pred, truth, ("prediction", "ground truth"))
    check_lazy_mask(pred, "prediction")
    check_lazy_mask(truth, "ground truth")
    return pred, truth.rechunk(pred.chunks)


def _value_range(block: np.ndarray) -> tuple[float, float]:
    """Lowest and highest non-zero value of a chunk (inf, -inf if it has none)."""
    values = block[block != 0]
    return (values.min(), values.max()) if values.size else (np.inf, -np.inf)


def plane_sums(prediction: Any, ground_truth: Any, foreground_class: Any = None) -> np.ndarray:
    """:func:`._scores.plane_sums` of two arrays, at least one of them dask, chunk by chunk.

    Each chunk is read once, a bounded batch of chunks at a time; the ground truth's and the
    prediction's non-zero values are checked on the way (see :mod:`._prediction`).

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
    chosen = check_foreground_class(foreground_class, pred.dtype)
    lead = pred.ndim - 2

    def stats(p_block: np.ndarray, t_block: np.ndarray) -> np.ndarray:
        # Everything from one pair of chunks in one task, so each chunk is read once: per
        # plane TP, predicted, true; NaNs; the truth's and the prediction's lowest and
        # highest non-zero value.
        out = np.zeros((*p_block.shape[:lead], 1, 1, _STATS))
        out[..., 0, 0, :3] = block_plane_sums(foreground_of(p_block, chosen), t_block != 0)
        out[..., 0, 0, 3:5] = _value_range(t_block)
        out[..., 0, 0, 5] = _nan_count(p_block)
        out[..., 0, 0, 6] = _nan_count(t_block)
        out[..., 0, 0, 7:9] = _value_range(p_block)
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
    sums = per_block[..., :3].astype(np.int64).sum(axis=(-3, -2))
    _check_prediction(pred.dtype, chosen, per_block[..., 7].min(), per_block[..., 8].max(), sums)
    return sums


def _check_prediction(dtype, chosen: Any, low: float, high: float, sums: np.ndarray) -> None:
    """Refuse a non-mask prediction without a class, or a class that no pixel has."""
    if not np.isfinite(high):  # an empty prediction
        return
    if chosen is None and low != high:
        raise not_a_mask_error(dtype, low, high)
    if chosen not in (None, ANY) and not sums[..., 1].any():
        raise class_absent_error(chosen, low, high)


def _nan_count(block: np.ndarray) -> np.ndarray | int:
    """NaN pixels in each plane of a chunk."""
    if not np.issubdtype(block.dtype, np.floating):
        return 0
    return np.count_nonzero(np.isnan(block), axis=(-2, -1))


def _classes_of_block(
    p_block: np.ndarray, t_block: np.ndarray, *, key: str, chosen: Any
) -> np.ndarray:
    for block, name in ((p_block, "prediction"), (t_block, "ground truth")):
        if np.any(_nan_count(block)):
            raise nan_values_error(name)
    t_low, t_high = _value_range(t_block)
    if np.isfinite(t_high) and t_low != t_high:
        raise several_values_error(
            "ground truth", f"different non-zero values (from {t_low} to {t_high})"
        )
    p_low, p_high = _value_range(p_block)
    if chosen is None and np.isfinite(p_high) and p_low != p_high:
        raise not_a_mask_error(p_block.dtype, p_low, p_high)
    return confusion_classes(foreground_of(p_block, chosen), t_block != 0)[key].view(np.uint8)


def confusion_masks(
    prediction: Any, ground_truth: Any, foreground_class: Any = None
) -> dict[str, da.Array]:
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
    chosen = check_foreground_class(foreground_class, pred.dtype)
    return {
        key: da.map_blocks(_classes_of_block, pred, truth, key=key, chosen=chosen, dtype=np.uint8)
        for key in ("TP", "FP", "FN", "TN")
    }
