"""Boundary and centreline scores: boundary F1, NSD, Hausdorff, HD95, ASSD and clDice.

Definitions (see ``docs/metrics.md``, since tools disagree on them):

- the **boundary** of a mask is its foreground pixels with a background face neighbour; the
  outside of the image counts as background, so foreground on the image edge is boundary;
- distances are Euclidean, between pixel centres, in the units of `spacing` (the pixel size
  per axis; 1 = pixels), from each boundary pixel of one mask to the nearest boundary pixel of
  the other (:func:`scipy.ndimage.distance_transform_edt` with ``sampling``);
- **Hausdorff** is the larger of the two directed maxima, **HD95** the larger of the two
  directed 95th percentiles (numpy's linear interpolation), **ASSD** the mean of all the
  distances of both directions;
- **NSD** at a tolerance is the fraction of the boundary pixels of both masks within the
  tolerance of the other's boundary (pixels counted, not surface area);
  **boundary F1** is the harmonic mean of the predicted boundary's fraction within the
  tolerance of the truth's (precision) and the truth boundary's fraction within the tolerance
  of the prediction's (recall);
- **clDice** (Shit et al., CVPR 2021): skeletons from :func:`skimage.morphology.skeletonize`;
  topology precision = the prediction's skeleton inside the truth, sensitivity = the truth's
  skeleton inside the prediction, clDice their harmonic mean.

Edge cases: both masks empty: distances 0, every fraction 1; one empty: distances infinite,
every fraction 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._validation import SegLabInputError, as_mask, check_lazy_mask, check_same_shape
from ._objects import check_in_memory
from ._prediction import prediction_mask
from ._scores import ratio

__all__ = ["BoundaryScores", "boundary_of", "boundary_scores", "cl_dice", "spacing_of"]


@dataclass(frozen=True)
class BoundaryScores:
    """What :func:`boundary_scores` returns (distances in the units of the spacing)."""

    tolerance: float
    boundary_precision: float
    boundary_recall: float
    boundary_f1: float
    nsd: float
    hausdorff: float
    hd95: float
    assd: float
    cl_dice: float


def spacing_of(spacing: Any, ndim: int) -> tuple[float, ...]:
    """The pixel size of each axis, checked."""
    if spacing is None:
        return (1.0,) * ndim
    try:
        values = np.asarray(spacing, dtype=float)
    except (TypeError, ValueError):
        values = np.zeros(0)
    if values.ndim == 0:
        values = np.full(ndim, float(values))
    if values.shape != (ndim,) or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise SegLabInputError(
            f"The spacing must be one positive pixel size, or one per axis ({ndim} values), "
            f"not {spacing!r}."
        )
    return tuple(float(v) for v in values)


def boundary_of(mask: np.ndarray) -> np.ndarray:
    """Foreground pixels of a boolean mask with a background face neighbour (or the edge)."""
    from scipy import ndimage as ndi

    structure = ndi.generate_binary_structure(mask.ndim, 1)
    return mask & ~ndi.binary_erosion(mask, structure, border_value=0)


def _distances(source: np.ndarray, target: np.ndarray, spacing: tuple[float, ...]) -> np.ndarray:
    """Distance from each `source` boundary pixel to the nearest `target` boundary pixel."""
    from scipy import ndimage as ndi

    if not target.any():
        return np.full(int(source.sum()), np.inf)
    return ndi.distance_transform_edt(~target, sampling=spacing)[source]


def cl_dice(prediction: np.ndarray, truth: np.ndarray) -> float:
    """Centreline Dice of two boolean masks (1.0 when both are empty).

    Examples
    --------
    >>> import numpy as np
    >>> vessel = np.zeros((9, 15), bool); vessel[4, 1:14] = True
    >>> broken = vessel.copy(); broken[4, 7] = False  # 12 of its 13 centreline pixels
    >>> round(cl_dice(broken, vessel), 4)  # 2 * 1 * 12/13 / (1 + 12/13) = 24/25
    0.96
    """
    from skimage.morphology import skeletonize

    s_pred, s_true = skeletonize(prediction), skeletonize(truth)
    both_empty = 1.0 if not prediction.any() and not truth.any() else 0.0
    t_prec = ratio(int((s_pred & truth).sum()), int(s_pred.sum()), if_empty=both_empty)
    t_sens = ratio(int((s_true & prediction).sum()), int(s_true.sum()), if_empty=both_empty)
    return ratio(2 * t_prec * t_sens, t_prec + t_sens, if_empty=both_empty)


def boundary_scores(
    prediction: ArrayLike,
    ground_truth: ArrayLike,
    *,
    tolerance: float = 1.0,
    spacing: float | tuple[float, ...] | None = None,
    foreground_class: int | str | None = None,
) -> BoundaryScores:
    """Boundary F1, NSD, Hausdorff, HD95, ASSD and clDice (see the module docstring).

    Parameters
    ----------
    prediction, ground_truth : array_like
        As in :func:`napari_seglab.core.metrics.evaluate` (a mask, or labels with
        `foreground_class`; a binary ground truth), 2D or 3D, in memory.
    tolerance : float
        For boundary F1 and NSD, in the units of `spacing` (pixels by default).
    spacing : float or tuple of float, optional
        Pixel size, one for every axis or one per axis (e.g. a napari layer's ``scale``).
    foreground_class : int or {"any"}, optional
        As in :func:`napari_seglab.core.metrics.evaluate`.

    Returns
    -------
    BoundaryScores

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((8, 8), np.uint8); truth[2:6, 2:6] = 1
    >>> scores = boundary_scores(np.roll(truth, 1, axis=0), truth, spacing=(2.0, 1.0))
    >>> scores.hausdorff, round(scores.boundary_f1, 4)
    (2.0, 0.6667)
    """
    check_in_memory(prediction, ground_truth)
    if not (np.isfinite(tolerance) and tolerance >= 0):
        raise SegLabInputError(f"The tolerance must be a distance of 0 or more, not {tolerance}.")
    pred_arr, truth_arr = np.asarray(prediction), np.asarray(ground_truth)
    check_same_shape(pred_arr, truth_arr, ("prediction", "ground truth"))
    truth = as_mask(truth_arr, name="ground truth", binary=True)
    check_lazy_mask(pred_arr, "prediction")  # the form: numeric, 2D or more
    pred = prediction_mask(pred_arr, foreground_class)
    sampling = spacing_of(spacing, pred.ndim)
    b_pred, b_true = boundary_of(pred), boundary_of(truth)
    d_pred, d_true = _distances(b_pred, b_true, sampling), _distances(b_true, b_pred, sampling)
    nothing = 1.0 if d_pred.size == d_true.size == 0 else 0.0
    near_pred, near_true = int((d_pred <= tolerance).sum()), int((d_true <= tolerance).sum())
    precision = ratio(near_pred, d_pred.size, if_empty=nothing)
    recall = ratio(near_true, d_true.size, if_empty=nothing)
    both = np.concatenate([d_pred, d_true])
    if nothing:
        hausdorff = hd95 = assd = 0.0
    elif d_pred.size == 0 or d_true.size == 0:
        hausdorff = hd95 = assd = float("inf")
    else:
        hausdorff = float(max(d_pred.max(), d_true.max()))
        hd95 = float(max(np.percentile(d_pred, 95), np.percentile(d_true, 95)))
        assd = float(both.mean())
    return BoundaryScores(
        tolerance=float(tolerance),
        boundary_precision=precision,
        boundary_recall=recall,
        boundary_f1=ratio(2 * precision * recall, precision + recall, if_empty=nothing),
        nsd=ratio(near_pred + near_true, both.size, if_empty=nothing),
        hausdorff=hausdorff,
        hd95=hd95,
        assd=assd,
        cl_dice=cl_dice(pred, truth),
    )
