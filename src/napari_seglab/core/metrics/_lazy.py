"""The lazy (dask) half of the evaluation: counts summed over the chunks, masks per chunk."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._blocks import block_batches, compute, is_lazy
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
    import dask.array as da

    pred, truth = _as_dask(prediction, ground_truth)
    chosen = check_foreground_class(foreground_class, pred.dtype)
    lead = pred.ndim - 2

    from ._kernels import chunk_stats

    kernel_class = None if chosen in (None, ANY) else chosen

    def stats(p_block: np.ndarray, t_block: np.ndarray) -> np.ndarray:
        # Everything from one pair of chunks in one pass, so each chunk is read once: per
        # plane TP, predicted, true; NaNs; the truth's and the prediction's lowest and
        # highest non-zero value.
        return chunk_stats(p_block, t_block, kernel_class)[..., None, None, :]

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
    # Added up as the batches arrive (a bounded number of chunks in memory, and nothing
    # kept per chunk); each chunk's counts are below 2**53, so float64 holds them exactly.
    sums = np.zeros((*pred.shape[:lead], 3), np.int64)
    low_high = np.array([np.inf, -np.inf, np.inf, -np.inf])  # truth's, prediction's
    nans = np.zeros(2, bool)
    starts = [np.concatenate([[0], np.cumsum(c)]) for c in pred.chunks[:lead]]
    for batch in block_batches(pred):
        for idx, part in zip(batch, compute(*(tasks[(*i, 0)] for i in batch)), strict=True):
            part = part.reshape((*part.shape[:lead], _STATS))
            planes = tuple(slice(s[i], s[i + 1]) for s, i in zip(starts, idx, strict=False))
            sums[planes] += part[..., :3].astype(np.int64)
            nans |= part[..., 5:7].reshape(-1, 2).any(axis=0)
            low_high[[0, 2]] = np.minimum(
                low_high[[0, 2]], part[..., [3, 7]].reshape(-1, 2).min(0)
            )
            low_high[[1, 3]] = np.maximum(
                low_high[[1, 3]], part[..., [4, 8]].reshape(-1, 2).max(0)
            )
    for found, name in zip(nans, ("prediction", "ground truth"), strict=True):
        if found:
            raise nan_values_error(name)
    t_low, t_high = low_high[:2]
    if np.isfinite(t_high) and t_low != t_high:
        raise several_values_error(
            "ground truth", f"different non-zero values (from {t_low:g} to {t_high:g})"
        )
    _check_prediction(pred.dtype, chosen, low_high[2], low_high[3], sums)
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
