"""Instance scoring as the field does it: one-to-one matching over IoU thresholds.

Objects are the labels of an instance labels image (touching objects stay separate) or the
connected components of a mask. At each threshold ``t`` of 0.5, 0.55, ..., 0.95 the true and
predicted objects are matched one to one (Hungarian assignment) to maximise first the number
of pairs with IoU >= t, then their total IoU (the rule of StarDist's ``matching``). From the
matches: TP, FP, FN, precision, recall, F1, the DSB 2018 accuracy TP / (TP + FP + FN), and
panoptic quality PQ = SQ x RQ (Kirillov et al. 2019) with SQ the mean IoU of the matches and RQ
the F1. The DSB score is the mean of the accuracy over the thresholds. See ``docs/metrics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .._validation import SegLabInputError, check_same_shape
from ._objects import _pair_ious, check_in_memory
from ._scores import ratio

__all__ = [
    "THRESHOLDS",
    "InstanceMatch",
    "InstanceScores",
    "instance_labels",
    "object_outcomes",
    "score_instances",
]

THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
"""The IoU thresholds 0.5:0.05:0.95 of the DSB 2018 score and of COCO."""


@dataclass(frozen=True)
class InstanceMatch:
    """The one-to-one matching at one IoU threshold.

    Every ratio with a zero denominator is 1.0 when neither side has an object, else 0.0.
    """

    threshold: float
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    accuracy: float
    """DSB 2018: TP / (TP + FP + FN)."""
    mean_matched_iou: float
    """SQ, the segmentation quality: mean IoU of the matched pairs (0.0 without a match)."""
    pq: float
    """Panoptic quality: the sum of the matched IoUs / (TP + FP / 2 + FN / 2) = SQ x RQ."""


@dataclass(frozen=True)
class InstanceScores:
    """What :func:`score_instances` returns.

    Attributes
    ----------
    n_true, n_predicted : int
        Objects in the ground truth and in the prediction.
    matches : tuple of InstanceMatch
        One per threshold, in increasing order.
    dsb_score : float
        Mean of the matches' ``accuracy`` (the DSB 2018 score).
    planes : tuple
        With ``per_plane=True``: ``(index, InstanceScores)`` for each 2D plane (``index`` the
        tuple of leading-axis indices); then the counts above are the sums over the planes
        (TP, FP, FN pooled, the matched IoUs summed) and the scores are of those sums. Empty
        otherwise.
    """

    n_true: int
    n_predicted: int
    matches: tuple[InstanceMatch, ...]
    dsb_score: float
    planes: tuple[tuple[tuple[int, ...], InstanceScores], ...] = ()

    @property
    def mean_plane_dsb_score(self) -> float:
        """The mean of the planes' DSB scores (the DSB 2018 mean over images); NaN without
        planes."""
        if not self.planes:
            return float("nan")
        return float(np.mean([scores.dsb_score for _, scores in self.planes]))

    def at(self, threshold: float) -> InstanceMatch:
        """The match at `threshold` (one of those scored)."""
        for match in self.matches:
            if abs(match.threshold - threshold) < 1e-9:
                return match
        raise SegLabInputError(f"IoU threshold {threshold} was not scored.")


def instance_labels(
    image: ArrayLike, name: str = "ground truth", *, keep_labels: bool = False
) -> tuple[np.ndarray, int]:
    """The objects of a mask or an instance labels image, as labels 1..n.

    A mask (bool, or 0 and one other value) gives its connected components (face
    connectivity); an image with several non-zero values keeps its labels as objects, so
    touching objects stay separate. With `keep_labels` the labels are the objects even when
    there is a single one (an instance labels image with one object).

    Returns
    -------
    labels : numpy.ndarray of int64
    n : int
        Number of objects.

    Raises
    ------
    SegLabInputError
        Empty, not 2D or more, non-integer values, or negative labels.

    Examples
    --------
    >>> import numpy as np
    >>> touching = np.array([[1, 1, 2, 2]] * 2)
    >>> instance_labels(touching)[1], instance_labels(touching > 0)[1]
    (2, 1)
    """
    arr = np.asarray(image)
    if arr.ndim < 2 or arr.size == 0:
        raise SegLabInputError(f"The {name} must be a non-empty array of at least 2 dimensions.")
    if arr.dtype == bool:
        arr = arr.view(np.uint8)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all() or not np.array_equal(arr, np.round(arr)):
            raise SegLabInputError(
                f"The {name} holds non-integer values: labels are whole numbers (0 = "
                "background). Threshold a probability map first."
            )
    elif not np.issubdtype(arr.dtype, np.integer):
        raise SegLabInputError(f"The {name} has data type {arr.dtype}; labels are integers.")
    if arr.min() < 0:
        raise SegLabInputError(
            f"The {name} has negative labels (down to {arr.min()}); 0 is the background "
            "and objects are 1 or more."
        )
    values = arr[arr != 0]
    from scipy import ndimage as ndi

    if not keep_labels and (values.size == 0 or values.min() == values.max()):  # a mask
        labels, n = ndi.label(arr != 0)
        return labels.astype(np.int64, copy=False), int(n)
    from skimage.segmentation import relabel_sequential

    labels = relabel_sequential(arr.astype(np.int64))[0]
    return labels, int(labels.max())


def _iou_matrix(pred: np.ndarray, n_pred: int, truth: np.ndarray, n_true: int) -> np.ndarray:
    """Dense ``(n_true, n_pred)`` IoU of every pair (0 where they do not overlap)."""
    pairs, iou = _pair_ious(pred, n_pred, truth, n_true)
    matrix = np.zeros((n_true, n_pred))
    keep = (pairs[0] > 0) & (pairs[1] > 0)
    matrix[pairs[0][keep] - 1, pairs[1][keep] - 1] = iou[keep]
    return matrix


def _assign(iou: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Matched (true, predicted) object indices: most pairs with IoU >= t, then most IoU.

    Only the objects with a pair at or above the threshold enter the assignment. From 0.5 up,
    an object with a pair of IoU > 0.5 has no other pair at or above 0.5, so those pairs are
    matched as they are and only ties at exactly 0.5 go to the Hungarian assignment.
    """
    rows, cols = np.nonzero(iou >= threshold)
    if threshold < 0.5 or rows.size == 0:
        return _hungarian(iou, rows, cols, threshold)
    shared = (np.bincount(rows)[rows] > 1) | (np.bincount(cols)[cols] > 1)
    tied_rows, tied_cols = _hungarian(iou, rows[shared], cols[shared], threshold)
    return (
        np.concatenate([rows[~shared], tied_rows]),
        np.concatenate([cols[~shared], tied_cols]),
    )


def _hungarian(
    iou: np.ndarray, rows: np.ndarray, cols: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """The assignment among the objects of the pairs (`rows`, `cols`) at or above `threshold`."""
    if rows.size == 0:
        return np.zeros(0, int), np.zeros(0, int)
    from scipy.optimize import linear_sum_assignment

    true_ids, pred_ids = np.unique(rows), np.unique(cols)
    sub = iou[np.ix_(true_ids, pred_ids)]
    # Each pair above the threshold is worth 1 plus less than 1 / min(n) for its IoU, so the
    # number of matches comes first and the IoU only breaks ties.
    cost = -(sub >= threshold).astype(float) - sub / (2 * min(sub.shape))
    r, c = linear_sum_assignment(cost)
    keep = sub[r, c] >= threshold
    return true_ids[r[keep]], pred_ids[c[keep]]


def _match(iou: np.ndarray, threshold: float) -> InstanceMatch:
    """The scores of the one-to-one matching at `threshold`."""
    n_true, n_pred = iou.shape
    matched = iou[_assign(iou, threshold)]
    return _scored(threshold, n_true, n_pred, int(matched.size), float(matched.sum()))


def _scored(threshold: float, n_true: int, n_pred: int, tp: int, iou_sum: float) -> InstanceMatch:
    """An :class:`InstanceMatch` from the counts and the sum of the matched IoUs."""
    fp, fn = n_pred - tp, n_true - tp
    nothing = 1.0 if n_true == n_pred == 0 else 0.0
    return InstanceMatch(
        threshold=threshold,
        tp=tp,
        fp=fp,
        fn=fn,
        precision=ratio(tp, tp + fp, if_empty=nothing),
        recall=ratio(tp, tp + fn, if_empty=nothing),
        f1=ratio(2 * tp, 2 * tp + fp + fn, if_empty=nothing),
        accuracy=ratio(tp, tp + fp + fn, if_empty=nothing),
        mean_matched_iou=iou_sum / tp if tp else 0.0,
        pq=ratio(iou_sum, tp + fp / 2 + fn / 2, if_empty=nothing),
    )


def _pooled(planes: list[tuple[tuple[int, ...], InstanceScores]]) -> InstanceScores:
    """The scores of the counts summed over `planes` (which hold the planes too)."""
    n_true = sum(s.n_true for _, s in planes)
    n_pred = sum(s.n_predicted for _, s in planes)
    matches = []
    for i, first in enumerate(planes[0][1].matches):
        tp = sum(s.matches[i].tp for _, s in planes)
        iou_sum = sum(s.matches[i].tp * s.matches[i].mean_matched_iou for _, s in planes)
        matches.append(_scored(first.threshold, n_true, n_pred, tp, iou_sum))
    dsb = float(np.mean([m.accuracy for m in matches]))
    return InstanceScores(n_true, n_pred, tuple(matches), dsb, tuple(planes))


def score_instances(
    prediction: ArrayLike,
    ground_truth: ArrayLike,
    *,
    thresholds: tuple[float, ...] = THRESHOLDS,
    per_plane: bool = False,
) -> InstanceScores:
    """Match predicted objects to true objects one to one at each IoU threshold.

    Parameters
    ----------
    prediction, ground_truth : array_like
        Masks or instance labels images of the same shape (see :func:`instance_labels`), in
        memory (a dask array is refused: an object may cross any chunk border).
    thresholds : tuple of float
        IoU thresholds in (0, 1]; the default is 0.5, 0.55, ..., 0.95.
    per_plane : bool
        Score each 2D plane on its own (a time-lapse or a stack of images, not a volume:
        objects are labelled and matched within their plane) and pool the counts; see
        ``InstanceScores.planes`` and ``mean_plane_dsb_score``. Needs 3D or more.

    Returns
    -------
    InstanceScores

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((4, 8), np.uint8); truth[:, :4] = 1; truth[:, 4:] = 2
    >>> merged = (truth > 0).astype(np.uint8)  # both nuclei as one object
    >>> scores = score_instances(merged, truth)
    >>> scores.at(0.5).tp, scores.at(0.55).tp, round(scores.dsb_score, 3)
    (1, 0, 0.05)
    """
    check_in_memory(prediction, ground_truth)
    thresholds = tuple(float(t) for t in thresholds)
    if not thresholds or not all(0 < t <= 1 for t in thresholds):
        raise SegLabInputError(f"IoU thresholds must be in (0, 1], not {thresholds}.")
    pred, truth = np.asarray(prediction), np.asarray(ground_truth)
    check_same_shape(pred, truth, ("prediction", "ground truth"))
    if not per_plane:
        return _score(pred, truth, sorted(thresholds))
    if pred.ndim < 3:
        raise SegLabInputError(
            f"per_plane needs a stack (3D or more); this prediction is {pred.ndim}D."
        )
    planes = [
        (index, _score(pred[index], truth[index], sorted(thresholds)))
        for index in np.ndindex(pred.shape[:-2])
    ]
    return _pooled(planes)


def _score(pred: np.ndarray, truth: np.ndarray, thresholds: list[float]) -> InstanceScores:
    pred_labels, n_pred = instance_labels(pred, "prediction")
    true_labels, n_true = instance_labels(truth, "ground truth")
    iou = _iou_matrix(pred_labels, n_pred, true_labels, n_true)
    matches = tuple(_match(iou, t) for t in thresholds)
    dsb = float(np.mean([m.accuracy for m in matches]))
    return InstanceScores(n_true, n_pred, matches, dsb)


def object_outcomes(
    prediction: ArrayLike, ground_truth: ArrayLike, *, iou_threshold: float = 0.5
) -> dict[str, np.ndarray]:
    """Which objects matched, at one IoU threshold (for overlay layers).

    Parameters
    ----------
    prediction, ground_truth : array_like
        As in :func:`score_instances`.
    iou_threshold : float
        In (0, 1].

    Returns
    -------
    dict of str to numpy.ndarray
        ``"matched"``: the predicted objects matched one to one (TP), ``"spurious"``: the
        other predicted objects (FP), ``"missed"``: the true objects without a match (FN);
        each an int32 labels image (objects numbered 1..n as in :func:`instance_labels`).

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((4, 8), np.uint8); truth[:, :4] = 1; truth[:, 4:] = 2
    >>> out = object_outcomes(truth > 0, truth)  # one merged object over two nuclei
    >>> [int(out[k].astype(bool).sum()) for k in ("matched", "spurious", "missed")]
    [32, 0, 16]
    """
    check_in_memory(prediction, ground_truth)
    if not 0 < iou_threshold <= 1:
        raise SegLabInputError(f"The IoU threshold must be in (0, 1], not {iou_threshold}.")
    pred, truth = np.asarray(prediction), np.asarray(ground_truth)
    check_same_shape(pred, truth, ("prediction", "ground truth"))
    pred_labels, n_pred = instance_labels(pred, "prediction")
    true_labels, n_true = instance_labels(truth, "ground truth")
    rows, cols = _assign(_iou_matrix(pred_labels, n_pred, true_labels, n_true), iou_threshold)
    pred_ok = np.zeros(n_pred + 1, bool)
    pred_ok[cols + 1] = True
    true_ok = np.zeros(n_true + 1, bool)
    true_ok[rows + 1] = True
    true_ok[0] = True  # the background is never "missed"
    return {
        "matched": np.where(pred_ok[pred_labels], pred_labels, 0).astype(np.int32),
        "spurious": np.where(~pred_ok[pred_labels] & (pred_labels > 0), pred_labels, 0).astype(
            np.int32
        ),
        "missed": np.where(~true_ok[true_labels], true_labels, 0).astype(np.int32),
    }
