"""Object-level agreement: connected components matched one to one by IoU."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import is_lazy
from .._validation import SegLabInputError, check_same_shape, is_binary
from ._scores import ratio

__all__ = ["ObjectMetrics", "check_in_memory", "match_objects"]


@dataclass(frozen=True)
class ObjectMetrics:
    """Object-level agreement: objects matched one to one by intersection over union.

    Attributes
    ----------
    n_true, n_predicted : int
        Objects (connected components) in the ground truth and in the prediction.
    matched : int
        Pairs with IoU >= `iou_threshold`, each object used at most once.
    missed : int
        Ground-truth objects without a match (false negatives).
    spurious : int
        Predicted objects without a match (false positives).
    precision, recall, f1 : float
        ``matched / n_predicted``, ``matched / n_true`` and their harmonic mean; 1.0 when both
        sides have no object, 0.0 when only one side has none.
    mean_matched_iou : float
        Mean IoU of the matched pairs (0.0 without any match).
    iou_threshold : float
    """

    n_true: int
    n_predicted: int
    matched: int
    missed: int
    spurious: int
    precision: float
    recall: float
    f1: float
    mean_matched_iou: float
    iou_threshold: float


def check_in_memory(prediction: Any, ground_truth: Any) -> None:
    """Refuse dask arrays for object matching, saying how to load them if they fit.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> check_in_memory(da.zeros((4, 4)), np.zeros((4, 4)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    napari_seglab.core._validation.SegLabInputError: Object matching needs the whole arrays...
    """
    if is_lazy(prediction) or is_lazy(ground_truth):
        raise SegLabInputError(
            "Object matching needs the whole arrays in memory (an object may cross any chunk "
            "border), and SegLab never loads a dask array in silence. If they fit in memory, "
            "load them explicitly, e.g. `numpy.asarray(prediction)` and "
            "`numpy.asarray(ground_truth)`, and pass those; else compare pixels only "
            "(`objects=False`)."
        )


def _label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    from scipy import ndimage as ndi

    labels, n = ndi.label(mask)
    return labels, int(n)


TRUTH_OBJECTS = ("components", "labels")
"""``truth_objects`` values: connected components of the non-zero pixels, or the labels."""


def check_truth_objects(truth_objects: Any) -> str:
    """Check a ``truth_objects`` value (``"components"`` or ``"labels"``)."""
    if truth_objects not in TRUTH_OBJECTS:
        raise SegLabInputError(
            f"truth_objects must be 'components' (a mask ground truth) or 'labels' (an "
            f"instance labels ground truth, one id per object), not {truth_objects!r}."
        )
    return truth_objects


def truth_objects_of(truth: np.ndarray, truth_objects: str) -> tuple[np.ndarray, int]:
    """The ground truth's objects as labels 1..n: components, or its checked labels."""
    if check_truth_objects(truth_objects) == "components":
        return _label(truth != 0)
    from ._instances import instance_labels

    return instance_labels(truth, "ground truth", keep_labels=True)


def _labels_of(prediction: np.ndarray) -> tuple[np.ndarray, int]:
    """Objects of a prediction: its own labels if it has several, else connected components."""
    if np.issubdtype(prediction.dtype, np.integer) and not is_binary(prediction):
        from skimage.segmentation import relabel_sequential

        labels = relabel_sequential(prediction.astype(np.int64, copy=False))[0]
        return labels, int(labels.max())
    return _label(prediction != 0)


def _pair_ious(pred_labels: np.ndarray, n_pred: int, true_labels: np.ndarray, n_true: int):
    """Every overlapping (true, predicted) pair of objects and its IoU."""
    both = (pred_labels > 0) & (true_labels > 0)
    keys, inter = np.unique(
        true_labels[both].astype(np.int64) * (n_pred + 1) + pred_labels[both],
        return_counts=True,
    )
    pairs = np.stack(np.divmod(keys, n_pred + 1))
    area_true = np.bincount(true_labels.ravel(), minlength=n_true + 1)
    area_pred = np.bincount(pred_labels.ravel(), minlength=n_pred + 1)
    return pairs, inter / (area_true[pairs[0]] + area_pred[pairs[1]] - inter)


def match_objects(
    prediction: ArrayLike,
    ground_truth: ArrayLike,
    *,
    iou_threshold: float = 0.5,
    truth_objects: str = "components",
) -> ObjectMetrics:
    """Match predicted objects to ground-truth objects by intersection over union.

    Objects are the connected components (face connectivity) of each mask's foreground, in as
    many dimensions as the arrays have. A label image used as prediction keeps its own labels
    as objects.

    Parameters
    ----------
    prediction, ground_truth : array_like
        Masks or label images of the same shape (non-zero = foreground), in memory: a dask
        array is refused (an object may cross any chunk border), load it explicitly first.
    iou_threshold : float
        Minimum IoU, in (0, 1], for a pair to count as a match. Above 0.5 a match is
        necessarily unique; at 0.5 or below (one object may then overlap two others by IoU
        0.5 each), pairs are chosen one to one to maximise the total IoU.
    truth_objects : {"components", "labels"}
        The ground truth's objects: the connected components of its non-zero pixels (the
        default), or its labels (an instance labels image: touching objects stay separate).

    Returns
    -------
    ObjectMetrics

    Raises
    ------
    SegLabInputError
        If the shapes differ, the threshold is out of range, or an input is a dask array.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((6, 6), np.uint8); truth[:2, :2] = truth[4:, 4:] = 1
    >>> result = match_objects(truth[::-1], truth)
    >>> result.n_true, result.matched
    (2, 0)
    """
    if not 0 < iou_threshold <= 1:
        raise SegLabInputError(f"The IoU threshold must be in (0, 1], not {iou_threshold}.")
    check_in_memory(prediction, ground_truth)
    pred = np.asarray(prediction)
    truth = np.asarray(ground_truth)
    check_same_shape(pred, truth, ("prediction", "ground truth"))
    pred_labels, n_pred = _labels_of(pred)
    true_labels, n_true = truth_objects_of(truth, truth_objects)
    pairs, iou = _pair_ious(pred_labels, n_pred, true_labels, n_true)
    keep = iou >= iou_threshold
    pairs, iou = pairs[:, keep], iou[keep]
    if iou_threshold <= 0.5 and iou.size:
        from scipy.optimize import linear_sum_assignment
        from scipy.sparse import coo_matrix

        rows, row_ids = np.unique(pairs[0], return_inverse=True)
        cols, col_ids = np.unique(pairs[1], return_inverse=True)
        matrix = coo_matrix((iou, (row_ids, col_ids)), shape=(rows.size, cols.size)).toarray()
        r, c = linear_sum_assignment(matrix, maximize=True)
        chosen = matrix[r, c]
        iou = chosen[chosen >= iou_threshold]
    matched = int(iou.size)
    return ObjectMetrics(
        n_true=n_true,
        n_predicted=n_pred,
        matched=matched,
        missed=n_true - matched,
        spurious=n_pred - matched,
        precision=ratio(matched, n_pred, if_empty=1.0 if n_true == 0 else 0.0),
        recall=ratio(matched, n_true, if_empty=1.0 if n_pred == 0 else 0.0),
        f1=ratio(2 * matched, n_pred + n_true, if_empty=1.0),
        mean_matched_iou=float(iou.mean()) if matched else 0.0,
        iou_threshold=iou_threshold,
    )
