"""Confusion counts and the scores derived from them, overall and per 2D plane.

Conventions (see ``docs/metrics.md``): foreground is positive. Every count is an exact Python
integer. A score whose denominator is zero is defined, never NaN: it is 1.0 when prediction and
ground truth agree that there is nothing to count (e.g. both empty), and 0.0 otherwise. MCC is 1
for perfect agreement, -1 when every pixel is wrong, and 0 when either side has a single class
but the other does not (no correlation can be measured).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import SegLabInputError

__all__ = [
    "ConfusionCounts",
    "Scores",
    "confusion_classes",
    "counts_per_plane",
    "plane_sums",
    "ratio",
]


def ratio(num: int, den: int, *, if_empty: float) -> float:
    """``num / den``, or `if_empty` when the denominator is zero."""
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
    def from_sums(cls, tp: int, n_predicted: int, n_true: int, size: int) -> ConfusionCounts:
        """Counts from the pixels in both, predicted, true, and the number of pixels.

        Examples
        --------
        >>> ConfusionCounts.from_sums(3, 4, 4, 9)
        ConfusionCounts(tp=3, fp=1, fn=1, tn=4)
        """
        tp, n_predicted, n_true = int(tp), int(n_predicted), int(n_true)
        return cls(tp, n_predicted - tp, n_true - tp, int(size) - n_predicted - n_true + tp)

    @classmethod
    def from_masks(cls, prediction: np.ndarray, truth: np.ndarray) -> ConfusionCounts:
        """Count from two boolean arrays of the same shape.

        Examples
        --------
        >>> import numpy as np
        >>> ConfusionCounts.from_masks(np.eye(2, dtype=bool), np.ones((2, 2), bool))
        ConfusionCounts(tp=2, fp=0, fn=2, tn=0)
        """
        tp = np.count_nonzero(prediction & truth)
        return cls.from_sums(tp, np.count_nonzero(prediction), np.count_nonzero(truth), truth.size)

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
        precision = ratio(tp, tp + fp, if_empty=1.0 if truth_empty else 0.0)
        recall = ratio(tp, tp + fn, if_empty=1.0 if pred_empty else 0.0)
        specificity = ratio(tn, tn + fp, if_empty=1.0 if pred_full else 0.0)
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
            f1=ratio(2 * tp, 2 * tp + fp + fn, if_empty=1.0),
            iou=ratio(tp, tp + fp + fn, if_empty=1.0),
            mcc=mcc,
            balanced_accuracy=(recall + specificity) / 2,
        )


def plane_sums(prediction: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Pixels in both, predicted and true, in each plane of the last two axes.

    Parameters
    ----------
    prediction, truth : numpy.ndarray of bool
        Of the same shape, 2D or more (a whole array or one chunk of it).

    Returns
    -------
    numpy.ndarray of int64
        Shape ``(*leading_shape, 3)``: for each plane, TP, predicted and true pixels.

    Examples
    --------
    >>> import numpy as np
    >>> plane_sums(np.eye(3, dtype=bool), np.ones((3, 3), bool)).tolist()
    [3, 3, 9]
    """
    axes = None if prediction.ndim == 2 else (-2, -1)  # None: numpy's fast whole count
    sums = (np.count_nonzero(a, axis=axes) for a in (prediction & truth, prediction, truth))
    return np.stack([np.asarray(s, dtype=np.int64) for s in sums], axis=-1)


def counts_per_plane(
    sums: np.ndarray, plane_size: int
) -> tuple[ConfusionCounts, list[tuple[tuple[int, ...], ConfusionCounts]]]:
    """The total and per-plane confusion counts from :func:`plane_sums`' output.

    Parameters
    ----------
    sums : numpy.ndarray
        Shape ``(*leading_shape, 3)``, summed over every chunk of each plane.
    plane_size : int
        Pixels in one plane.

    Returns
    -------
    total : ConfusionCounts
    planes : list of tuple
        ``(index, ConfusionCounts)`` for each plane (``index`` is the tuple of leading-axis
        indices); empty for a 2D comparison (no leading axes).
    """
    planes = [
        (idx, ConfusionCounts.from_sums(*sums[idx], plane_size))
        for idx in np.ndindex(*sums.shape[:-1])
    ]
    total = sum((c for _, c in planes), ConfusionCounts(0, 0, 0, 0))
    return total, planes if sums.ndim > 1 else []


def confusion_classes(prediction: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean masks ``"TP"``, ``"FP"``, ``"FN"``, ``"TN"`` of two boolean arrays (or chunks).

    Examples
    --------
    >>> import numpy as np
    >>> confusion_classes(np.array([True, False]), np.array([True, True]))["FN"].tolist()
    [False, True]
    """
    return {
        "TP": prediction & truth,
        "FP": prediction & ~truth,
        "FN": ~prediction & truth,
        "TN": ~prediction & ~truth,
    }
