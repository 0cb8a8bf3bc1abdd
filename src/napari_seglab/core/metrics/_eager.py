"""Pixel- and object-level comparison of a segmentation with a ground truth.

Conventions (see ``docs/metrics.md``): foreground is positive. Every count is an exact Python
integer. A score whose denominator is zero is defined, never NaN: it is 1.0 when prediction and
ground truth agree that there is nothing to count (e.g. both empty), and 0.0 otherwise. MCC is 1
for perfect agreement, -1 when every pixel is wrong, and 0 when either side has a single class
but the other does not (no correlation can be measured).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import is_lazy
from .._validation import SegLabInputError, as_mask, check_same_shape, is_binary

__all__ = [
    "ConfusionCounts",
    "Evaluation",
    "ObjectMetrics",
    "Scores",
    "confusion_masks",
    "evaluate",
    "match_objects",
]


def _ratio(num: int, den: int, *, if_empty: float) -> float:
    return num / den if den else if_empty


@dataclass(frozen=True)
class Scores:
    """Scores derived from a confusion matrix; all in [0, 1] except MCC in [-1, 1]."""

    accuracy: float
    precision: float
    recall: float
    specificity: float
    f1: float
    iou: float
    mcc: float
    balanced_accuracy: float


@dataclass(frozen=True)
class ConfusionCounts:
    """Pixel (or voxel) counts of a binary comparison.

    Attributes
    ----------
    tp, fp, fn, tn : int
        True positives (foreground in both), false positives (predicted only), false negatives
        (ground truth only), true negatives (background in both).
    """

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def total(self) -> int:
        """Number of pixels compared."""
        return self.tp + self.fp + self.fn + self.tn

    def __add__(self, other: ConfusionCounts) -> ConfusionCounts:
        return ConfusionCounts(
            self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn
        )

    @classmethod
    def from_masks(cls, prediction: np.ndarray, truth: np.ndarray) -> ConfusionCounts:
        """Count from two boolean arrays of the same shape."""
        tp = int(np.count_nonzero(prediction & truth))
        n_pred = int(np.count_nonzero(prediction))
        n_true = int(np.count_nonzero(truth))
        fp, fn = n_pred - tp, n_true - tp
        return cls(tp, fp, fn, int(prediction.size) - tp - fp - fn)

    def scores(self) -> Scores:
        """Compute every score, with the edge cases defined in the module docstring.

        Examples
        --------
        >>> ConfusionCounts(tp=3, fp=1, fn=1, tn=4).scores().f1
        0.75
        >>> ConfusionCounts(tp=0, fp=0, fn=0, tn=9).scores().mcc
        1.0
        """
        tp, fp, fn, tn = self.tp, self.fp, self.fn, self.tn
        if self.total == 0:
            raise SegLabInputError("Nothing to score: the images have no pixels.")
        pred_empty, truth_empty = tp + fp == 0, tp + fn == 0
        pred_full = tn + fn == 0
        precision = _ratio(tp, tp + fp, if_empty=1.0 if truth_empty else 0.0)
        recall = _ratio(tp, tp + fn, if_empty=1.0 if pred_empty else 0.0)
        specificity = _ratio(tn, tn + fp, if_empty=1.0 if pred_full else 0.0)
        den = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
        if den:
            mcc = (tp * tn - fp * fn) / math.sqrt(tp + fp) / math.sqrt(tp + fn)
            mcc /= math.sqrt(tn + fp) * math.sqrt(tn + fn)
        elif fp == fn == 0:
            mcc = 1.0
        elif tp == tn == 0:
            mcc = -1.0
        else:
            mcc = 0.0
        return Scores(
            accuracy=(tp + tn) / self.total,
            precision=precision,
            recall=recall,
            specificity=specificity,
            f1=_ratio(2 * tp, 2 * tp + fp + fn, if_empty=1.0),
            iou=_ratio(tp, tp + fp + fn, if_empty=1.0),
            mcc=mcc,
            balanced_accuracy=(recall + specificity) / 2,
        )


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


def _label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    from scipy import ndimage as ndi

    labels, n = ndi.label(mask)
    return labels, int(n)


def match_objects(
    prediction: ArrayLike,
    ground_truth: ArrayLike,
    *,
    iou_threshold: float = 0.5,
) -> ObjectMetrics:
    """Match predicted objects to ground-truth objects by intersection over union.

    Objects are the connected components (face connectivity) of each mask's foreground, in as
    many dimensions as the arrays have. A label image used as prediction keeps its own labels
    as objects.

    Parameters
    ----------
    prediction, ground_truth : array_like
        Masks or label images of the same shape (non-zero = foreground).
    iou_threshold : float
        Minimum IoU, in (0, 1], for a pair to count as a match. At 0.5 or above a match is
        necessarily unique; below it, pairs are chosen to maximise the total IoU.

    Returns
    -------
    ObjectMetrics
    """
    if not 0 < iou_threshold <= 1:
        raise SegLabInputError(f"The IoU threshold must be in (0, 1], not {iou_threshold}.")
    pred = np.asarray(prediction)
    truth = np.asarray(ground_truth)
    check_same_shape(pred, truth, ("prediction", "ground truth"))
    pred_labels, n_pred = _labels_of(pred)
    true_labels, n_true = _label(truth != 0)

    both = (pred_labels > 0) & (true_labels > 0)
    keys, inter = np.unique(
        true_labels[both].astype(np.int64) * (n_pred + 1) + pred_labels[both],
        return_counts=True,
    )
    pairs = np.stack(np.divmod(keys, n_pred + 1))
    area_true = np.bincount(true_labels.ravel(), minlength=n_true + 1)
    area_pred = np.bincount(pred_labels.ravel(), minlength=n_pred + 1)
    iou = inter / (area_true[pairs[0]] + area_pred[pairs[1]] - inter)
    keep = iou >= iou_threshold
    pairs, iou = pairs[:, keep], iou[keep]
    if iou_threshold < 0.5 and iou.size:
        from scipy.optimize import linear_sum_assignment
        from scipy.sparse import coo_matrix

        rows, row_ids = np.unique(pairs[0], return_inverse=True)
        cols, col_ids = np.unique(pairs[1], return_inverse=True)
        matrix = coo_matrix((iou, (row_ids, col_ids)), shape=(rows.size, cols.size)).toarray()
        r, c = linear_sum_assignment(matrix, maximize=True)
        chosen = matrix[r, c]
        iou = chosen[chosen >= iou_threshold]
    matched = int(iou.size)
    precision = _ratio(matched, n_pred, if_empty=1.0 if n_true == 0 else 0.0)
    recall = _ratio(matched, n_true, if_empty=1.0 if n_pred == 0 else 0.0)
    f1 = _ratio(2 * matched, n_pred + n_true, if_empty=1.0)
    return ObjectMetrics(
        n_true=n_true,
        n_predicted=n_pred,
        matched=matched,
        missed=n_true - matched,
        spurious=n_pred - matched,
        precision=precision,
        recall=recall,
        f1=f1,
        mean_matched_iou=float(iou.mean()) if matched else 0.0,
        iou_threshold=iou_threshold,
    )


def _labels_of(prediction: np.ndarray) -> tuple[np.ndarray, int]:
    """Objects of a prediction: its own labels if it has several, else connected components."""
    if np.issubdtype(prediction.dtype, np.integer) and not is_binary(prediction):
        from skimage.segmentation import relabel_sequential

        labels = relabel_sequential(prediction.astype(np.int64, copy=False))[0]
        return labels, int(labels.max())
    return _label(prediction != 0)


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` returns.

    Attributes
    ----------
    counts : ConfusionCounts
        Over all pixels.
    scores : Scores
        Over all pixels.
    planes : list of tuple
        ``(index, ConfusionCounts)`` for each 2D plane of a 3D or higher array (``index`` is
        the tuple of leading-axis indices); empty for 2D input.
    objects : ObjectMetrics or None
        Object-level metrics, unless switched off.
    """

    counts: ConfusionCounts
    scores: Scores
    planes: list[tuple[tuple[int, ...], ConfusionCounts]]
    objects: ObjectMetrics | None

    def rows(self) -> Iterator[dict]:
        """Table rows: one per plane (if any), then the total; counts and scores as columns."""
        for index, counts in self.planes:
            yield _row(",".join(str(i) for i in index), counts, counts.scores())
        yield _row("total", self.counts, self.scores)

    def to_csv(self, path: str | Path) -> Path:
        """Write :meth:`rows` to a CSV file, one row per plane and a ``total`` row.

        Object-level metrics, if computed, are ``object_*`` columns filled on the total row,
        so that the file stays one rectangular table (e.g. for ``pandas.read_csv``).

        Returns
        -------
        pathlib.Path
            The path written.
        """
        path = Path(path)
        rows = list(self.rows())
        if self.objects is not None:
            objects = {f"object_{k}": v for k, v in asdict(self.objects).items()}
            rows[-1].update(objects)
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[-1]), restval="")
            writer.writeheader()
            writer.writerows(rows)
        return path


def _row(plane: str, counts: ConfusionCounts, scores: Scores) -> dict:
    row: dict = {"plane": plane}
    row.update(tp=counts.tp, fp=counts.fp, fn=counts.fn, tn=counts.tn)
    row.update({f.name: getattr(scores, f.name) for f in fields(scores)})
    return row


def _plane_counts(pred: np.ndarray, truth: np.ndarray) -> list:
    lead = pred.shape[:-2]
    p = pred.reshape(-1, *pred.shape[-2:])
    t = truth.reshape(-1, *truth.shape[-2:])
    tp = np.count_nonzero(p & t, axis=(1, 2))
    n_pred = np.count_nonzero(p, axis=(1, 2))
    n_true = np.count_nonzero(t, axis=(1, 2))
    size = p.shape[1] * p.shape[2]
    planes = []
    for i, idx in enumerate(np.ndindex(*lead)):
        a, b, c = int(tp[i]), int(n_pred[i]), int(n_true[i])
        planes.append((idx, ConfusionCounts(a, b - a, c - a, size - b - c + a)))
    return planes


def evaluate(
    prediction: ArrayLike,
    ground_truth: ArrayLike,
    *,
    objects: bool = True,
    iou_threshold: float = 0.5,
) -> Evaluation:
    """Compare a segmentation with a ground truth, pixel by pixel and object by object.

    Parameters
    ----------
    prediction : array_like
        Binary mask or label image (non-zero = foreground), 2D or more.
    ground_truth : array_like
        Binary mask of the same shape: bool, 0/1 or 0/255 (any single non-zero value).
    objects : bool
        Also compute object-level metrics (connected components matched by IoU).
    iou_threshold : float
        For the object matching, see :func:`match_objects`.

    Returns
    -------
    Evaluation
        ``.counts`` (TP, FP, FN, TN), ``.scores`` (accuracy, precision, recall, specificity,
        F1 = Dice, IoU = Jaccard, MCC, balanced accuracy), ``.planes`` (per plane for 3D and
        up) and ``.objects``.

    Raises
    ------
    SegLabInputError
        If the shapes differ or the ground truth holds several labels.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.array([[1, 0, 1], [0, 1, 1], [0, 0, 0]])
    >>> pred = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 0]])
    >>> result = evaluate(pred, truth)
    >>> result.counts
    ConfusionCounts(tp=3, fp=1, fn=1, tn=4)
    >>> round(result.scores.f1, 3)
    0.75
    """
    if is_lazy(prediction) or is_lazy(ground_truth):  # exact counts summed over chunks
        from ._lazy import evaluate as lazy_evaluate

        return lazy_evaluate(
            prediction, ground_truth, objects=objects, iou_threshold=iou_threshold
        )
    pred_arr = np.asarray(prediction)
    truth_arr = np.asarray(ground_truth)
    check_same_shape(pred_arr, truth_arr, ("prediction", "ground truth"))
    pred = as_mask(pred_arr, name="prediction")
    truth = as_mask(truth_arr, name="ground truth", binary=True)
    counts = ConfusionCounts.from_masks(pred, truth)
    planes = _plane_counts(pred, truth) if pred.ndim > 2 else []
    object_metrics = None
    if objects:
        object_metrics = match_objects(pred_arr, truth, iou_threshold=iou_threshold)
    return Evaluation(counts, counts.scores(), planes, object_metrics)


def confusion_masks(prediction: ArrayLike, ground_truth: ArrayLike) -> dict[str, np.ndarray]:
    """Where each pixel falls in the confusion matrix.

    Parameters
    ----------
    prediction, ground_truth : array_like
        As in :func:`evaluate`.

    Returns
    -------
    dict of str to numpy.ndarray
        Keys ``"TP"``, ``"FP"``, ``"FN"``, ``"TN"``; uint8 masks (1 where the pixel is of
        that kind) of the input's shape.
    """
    pred_arr, truth_arr = np.asarray(prediction), np.asarray(ground_truth)
    check_same_shape(pred_arr, truth_arr, ("prediction", "ground truth"))
    pred = as_mask(pred_arr, name="prediction")
    truth = as_mask(truth_arr, name="ground truth", binary=True)
    return {
        "TP": (pred & truth).view(np.uint8),
        "FP": (pred & ~truth).view(np.uint8),
        "FN": (~pred & truth).view(np.uint8),
        "TN": (~pred & ~truth).view(np.uint8),
    }
