"""The lazy (dask) half of the evaluation: confusion counts summed over the chunks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._blocks import block_batches, block_slices, is_lazy
from .._validation import SegLabInputError, check_same_shape

if TYPE_CHECKING:
    from ._eager import Evaluation

__all__ = ["evaluate"]


def evaluate(
    prediction: Any,
    ground_truth: Any,
    *,
    objects: bool = True,
    iou_threshold: float = 0.5,
) -> Evaluation:
    """:func:`napari_seglab.core.metrics.evaluate` when either input is a dask array.

    Confusion counts (overall and per plane) are exact integers summed over the chunks.
    Object-level metrics need every object whole; they are computed only if `objects` is
    true and the arrays fit in memory (else ``objects`` is ``None``, see the notes).

    Notes
    -----
    Object matching on lazy arrays loads both arrays when they hold at most 2**26 pixels;
    above that, ``Evaluation.objects`` is ``None``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> truth = np.array([[1, 0, 1], [0, 1, 1], [0, 0, 0]])
    >>> pred = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 0]])
    >>> evaluate(da.from_array(pred, chunks=2), truth).counts
    ConfusionCounts(tp=3, fp=1, fn=1, tn=4)
    """
    import dask
    import dask.array as da

    from ._eager import ConfusionCounts, Evaluation, match_objects

    pred = prediction if is_lazy(prediction) else da.from_array(np.asarray(prediction))
    truth = ground_truth if is_lazy(ground_truth) else da.from_array(np.asarray(ground_truth))
    check_same_shape(pred, truth, ("prediction", "ground truth"))
    for arr, name in ((pred, "prediction"), (truth, "ground truth")):
        if arr.ndim < 2 or 0 in arr.shape:
            raise SegLabInputError(
                f"The {name} must be a non-empty array of at least 2 dimensions."
            )
        if not (
            arr.dtype == bool
            or np.issubdtype(arr.dtype, np.integer)
            or np.issubdtype(arr.dtype, np.floating)
        ):
            raise SegLabInputError(
                f"The {name} has data type {arr.dtype}; a mask must be numeric."
            )
    truth = truth.rechunk(pred.chunks)
    lead = pred.ndim - 2

    def stats(p_block: np.ndarray, t_block: np.ndarray) -> np.ndarray:
        # Everything from one pair of chunks in one task, so each chunk is read once.
        p, t = p_block != 0, t_block != 0
        out = np.zeros((*p.shape[:lead], 1, 1, 5))
        out[..., 0, 0, 0] = np.count_nonzero(p & t, axis=(-2, -1))
        out[..., 0, 0, 1] = np.count_nonzero(p, axis=(-2, -1))
        out[..., 0, 0, 2] = np.count_nonzero(t, axis=(-2, -1))
        values = t_block[t]
        out[..., 0, 0, 3] = values.min() if values.size else np.inf
        out[..., 0, 0, 4] = values.max() if values.size else -np.inf
        return out

    tasks = da.map_blocks(
        stats,
        pred,
        truth,
        chunks=(*pred.chunks[:lead], (1,) * pred.numblocks[-2], (1,) * pred.numblocks[-1], (5,)),
        new_axis=pred.ndim,
        dtype=float,
    ).to_delayed()
    per_block = np.empty((*pred.shape[:lead], *pred.numblocks[-2:], 5))
    regions = dict(block_slices(pred.chunks))
    for batch in block_batches(pred):  # a bounded number of chunks in memory
        for idx, part in zip(batch, dask.compute(*(tasks[(*i, 0)] for i in batch)), strict=True):
            per_block[(*regions[idx][:lead], *idx[-2:])] = part.reshape((*part.shape[:lead], 5))
    # Each block's counts are below 2**53, so float64 holds them exactly.
    counts_per_plane = per_block[..., :3].astype(np.int64).sum(axis=(-3, -2))
    tp, n_pred, n_true = (counts_per_plane[..., i] for i in range(3))
    t_low, t_high = per_block[..., 3].min(), per_block[..., 4].max()
    if np.isfinite(t_high) and t_low != t_high:
        raise SegLabInputError(
            "The ground truth holds several different non-zero values; a binary mask is "
            "needed (0 = background, one value = foreground). If every non-zero pixel is "
            "foreground, pass `mask > 0`."
        )
    size = pred.shape[-2] * pred.shape[-1]
    planes = []
    for idx in np.ndindex(*pred.shape[:-2]):
        a, b, c = int(tp[idx]), int(n_pred[idx]), int(n_true[idx])
        planes.append((idx, ConfusionCounts(a, b - a, c - a, size - b - c + a)))
    counts = ConfusionCounts(0, 0, 0, 0)
    for _idx, c in planes:
        counts = counts + c
    object_metrics = None
    if objects and pred.size <= 2**26:
        object_metrics = match_objects(
            np.asarray(pred), np.asarray(truth) != 0, iou_threshold=iou_threshold
        )
    return Evaluation(counts, counts.scores(), planes if pred.ndim > 2 else [], object_metrics)
