"""Pixel- and object-level comparison of a segmentation with a ground truth.

:func:`evaluate` and :func:`confusion_masks` take numpy or dask arrays; a dask input is
computed chunk by chunk (:mod:`._lazy`), with exact integer counts.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import is_lazy
from .._validation import SegLabInputError, as_mask, check_lazy_mask, check_same_shape
from . import _lazy
from ._instances import instance_labels
from ._objects import ObjectMetrics, check_in_memory, check_truth_objects, match_objects
from ._prediction import ANY, check_foreground_class, prediction_mask
from ._scores import ConfusionCounts, Scores, confusion_classes, counts_per_plane, plane_sums

__all__ = ["Evaluation", "confusion_masks", "evaluate"]


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
        Object-level metrics, unless switched off (or the input was lazy).
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


def evaluate(
    prediction: ArrayLike,
    ground_truth: ArrayLike,
    *,
    foreground_class: int | str | None = None,
    objects: bool | None = None,
    iou_threshold: float = 0.5,
    truth_objects: str = "components",
) -> Evaluation:
    """Compare a segmentation with a ground truth, pixel by pixel and object by object.

    Parameters
    ----------
    prediction : array_like or dask.array.Array
        A mask (bool, or 0 and one other value such as 1 or 255), or a labels image with
        `foreground_class`; 2D or more. A raw image or a probability map is refused.
    ground_truth : array_like or dask.array.Array
        Of the same shape: a binary mask (bool, 0/1 or 0/255: any single non-zero value), or
        with ``truth_objects="labels"`` an instance labels image (non-negative integers).
    foreground_class : int or {"any"}, optional
        Which pixels of a labels image are foreground: those equal to this class (e.g. 2 for
        the classifier's second class), or ``"any"``: every non-zero pixel (instance labels,
        one id per object; their objects stay separate in the object matching). None (the
        default): the prediction must be a mask.
    objects : bool, optional
        Also compute object-level metrics (connected components matched by IoU). None (the
        default): for in-memory arrays only. True with a dask input raises: object matching
        needs the whole arrays, load them explicitly (``numpy.asarray``) if they fit.
    iou_threshold : float
        For the object matching, see :func:`match_objects`.
    truth_objects : {"components", "labels"}
        What the ground truth is. ``"components"`` (the default): a binary mask, whose objects
        are its connected components; a ground truth with several non-zero values is refused,
        because it may as well hold classes as objects. ``"labels"``: an instance labels image
        (one id per object, e.g. the DSB 2018 ``labels/``): its objects are its labels, so
        touching objects stay separate, and the pixel metrics use ``ground_truth > 0``. There
        is no guessing between the two: a multi-class ground truth must be made a mask by the
        caller (``truth == N``). With a dask ground truth the labels are not checked for
        negative values (every non-zero pixel is foreground).

    Returns
    -------
    Evaluation
        ``.counts`` (TP, FP, FN, TN), ``.scores`` (accuracy, precision, recall, specificity,
        F1 = Dice, IoU = Jaccard, MCC, balanced accuracy), ``.planes`` (per plane for 3D and
        up) and ``.objects``. With a dask input, every count is an exact integer summed over
        the chunks, each chunk read once.

    Raises
    ------
    SegLabInputError
        If the shapes differ, the ground truth holds several labels, the prediction is not a
        mask and no `foreground_class` is given (or no pixel has it), or `objects` is True
        with a dask input. With a dask input the values are checked as the chunks are read.

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
    if objects:
        check_in_memory(prediction, ground_truth)
    ground_truth = _truth_foreground(ground_truth, check_truth_objects(truth_objects))
    prediction = prediction if is_lazy(prediction) else np.asarray(prediction)
    foreground_class = check_foreground_class(foreground_class, prediction.dtype)
    object_metrics = None
    if is_lazy(prediction) or is_lazy(ground_truth.mask):
        sums = _lazy.plane_sums(prediction, ground_truth.mask, foreground_class)
    else:
        pred_arr, pred, truth = _masks(prediction, ground_truth.mask, foreground_class)
        sums = plane_sums(pred, truth)
        if objects is not False:  # instance labels keep their objects, else components
            objects_of = pred_arr if foreground_class == ANY else pred
            object_metrics = match_objects(
                objects_of,
                truth if ground_truth.labels is None else ground_truth.labels,
                iou_threshold=iou_threshold,
                truth_objects=truth_objects,
            )
    shape = np.shape(prediction)
    counts, planes = counts_per_plane(sums, shape[-2] * shape[-1])
    return Evaluation(counts, counts.scores(), planes, object_metrics)


@dataclass(frozen=True)
class _Truth:
    """The ground truth for the pixel counts (`mask`) and, if instance labels, its `labels`."""

    mask: Any
    labels: np.ndarray | None = None


def _truth_foreground(ground_truth: Any, truth_objects: str) -> _Truth:
    """The ground truth as given (a mask) or, for instance labels, checked and ``!= 0``."""
    if truth_objects == "components":
        return _Truth(ground_truth if is_lazy(ground_truth) else np.asarray(ground_truth))
    if is_lazy(ground_truth):
        if not np.issubdtype(ground_truth.dtype, np.integer):
            raise SegLabInputError(
                f"The ground truth has data type {ground_truth.dtype}; instance labels "
                "(truth_objects='labels') are integers."
            )
        return _Truth(ground_truth != 0)
    labels = np.asarray(ground_truth)
    instance_labels(labels, "ground truth")  # integers, not negative, 2D or more
    return _Truth(labels != 0, labels)


def _masks(
    prediction: ArrayLike, ground_truth: ArrayLike, foreground_class: Any
) -> tuple[np.ndarray, ...]:
    """The prediction as given and as a mask, and the ground truth as a binary mask."""
    pred_arr, truth_arr = np.asarray(prediction), np.asarray(ground_truth)
    check_same_shape(pred_arr, truth_arr, ("prediction", "ground truth"))
    check_lazy_mask(pred_arr, "prediction")  # the form: numeric, 2D or more
    pred = prediction_mask(pred_arr, foreground_class)
    return pred_arr, pred, _truth_mask(truth_arr)


def _truth_mask(truth: np.ndarray) -> np.ndarray:
    """A binary ground truth; one with several labels is refused naming ``truth_objects``."""
    try:
        return as_mask(truth, name="ground truth", binary=True)
    except SegLabInputError as err:
        values = truth[truth != 0] if np.issubdtype(truth.dtype, np.integer) else truth[:0]
        if values.size and values.min() >= 0 and values.min() != values.max():
            raise SegLabInputError(
                f"{err} If it is an instance labels image, pass truth_objects='labels' (in "
                "Validate: tick 'ground truth is instance labels')."
            ) from None
        raise


def confusion_masks(
    prediction: ArrayLike, ground_truth: ArrayLike, *, foreground_class: int | str | None = None
) -> dict[str, Any]:
    """Where each pixel falls in the confusion matrix.

    Parameters
    ----------
    prediction, ground_truth : array_like or dask.array.Array
        As in :func:`evaluate`.
    foreground_class : int or {"any"}, optional
        As in :func:`evaluate`.

    Returns
    -------
    dict of str to numpy.ndarray or dask.array.Array
        Keys ``"TP"``, ``"FP"``, ``"FN"``, ``"TN"``; uint8 masks (1 where the pixel is of
        that kind) of the input's shape. With a dask input they are dask arrays, computed
        chunk by chunk when read (a chunk of the ground truth holding several non-zero
        values, or of a prediction that is not a mask, is refused then).

    Examples
    --------
    >>> import numpy as np
    >>> masks = confusion_masks(np.array([[1, 0], [1, 0]]), np.array([[1, 1], [0, 0]]))
    >>> masks["FP"].tolist()
    [[0, 0], [1, 0]]
    """
    prediction = prediction if is_lazy(prediction) else np.asarray(prediction)
    foreground_class = check_foreground_class(foreground_class, prediction.dtype)
    if is_lazy(prediction) or is_lazy(ground_truth):
        return _lazy.confusion_masks(prediction, ground_truth, foreground_class)
    _, pred, truth = _masks(prediction, ground_truth, foreground_class)
    return {key: mask.view(np.uint8) for key, mask in confusion_classes(pred, truth).items()}
