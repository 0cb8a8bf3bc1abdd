"""The score families the Validate panel adds to the pixel scores: instances and boundaries.

Both need the layers in memory (see :func:`napari_seglab.core.metrics.score_instances` and
:func:`napari_seglab.core.metrics.boundary_scores`); for lazy layers they are skipped and the
objects table says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...core._blocks import is_lazy
from ...core.metrics import (
    boundary_scores,
    confusion_masks,
    evaluate,
    object_outcomes,
    score_instances,
)
from .._shared import numpy_or_dask

__all__ = ["FAMILIES", "OUTCOME_COLORS", "evaluation_job", "family_scores", "object_layers"]

OUTCOME_COLORS = {"matched": "#009E73", "spurious": "#D55E00", "missed": "#F0E442"}
"""Okabe-Ito green, vermilion and yellow for the matched, spurious and missed objects."""

FAMILIES = {"instances": "instances (DSB, PQ)", "boundary": "boundary (F1, HD95, clDice)"}
"""Family key -> check box text."""


def family_scores(
    prediction: Any,
    truth: Any,
    *,
    families: tuple[str, ...],
    foreground_class: int | str | None,
    spacing: tuple[float, ...],
    truth_objects: str = "components",
) -> dict[str, float]:
    """Rows of the objects table (name -> value), the most used first; empty for lazy input.

    Instances: the prediction's labels with ``"any"``, else the components of its foreground;
    the ground truth's components, or its labels with ``truth_objects="labels"``. Boundary:
    at a tolerance of one pixel (the smallest pixel size of `spacing`, in its units). For a
    stack (3D or more) the instance scores are of the volume (objects connect across planes),
    and the DSB score is also given per 2D plane (a time-lapse): the mean of the planes' scores
    and that of the counts pooled over the planes.
    """
    if not families or is_lazy(prediction) or is_lazy(truth):
        return {}
    rows: dict[str, float] = {}
    if "instances" in families:
        scores = score_instances(
            _objects_of(prediction, foreground_class), _truth_objects(truth, truth_objects)
        )
        rows["DSB score (IoU 0.5:0.95)"] = scores.dsb_score
        if np.ndim(prediction) >= 3:  # a stack may be a time-lapse: each plane on its own too
            planes = score_instances(
                _objects_of(prediction, foreground_class),
                _truth_objects(truth, truth_objects),
                per_plane=True,
            )
            rows["DSB score, per plane (mean)"] = planes.mean_plane_dsb_score
            rows["DSB score, per plane (pooled)"] = planes.dsb_score
        rows["PQ (IoU 0.5)"] = scores.at(0.5).pq
        rows["instance F1 (IoU 0.5)"] = scores.at(0.5).f1
        rows["instance F1 (IoU 0.75)"] = scores.at(0.75).f1
    if "boundary" in families:
        tolerance = min(spacing)
        b = boundary_scores(
            prediction,
            np.asarray(truth) != 0,
            tolerance=tolerance,
            spacing=spacing,
            foreground_class=foreground_class,
        )
        rows[f"boundary F1 ({tolerance:g})"] = b.boundary_f1
        rows[f"NSD ({tolerance:g})"] = b.nsd
        rows["clDice"] = b.cl_dice
        rows["HD95"] = b.hd95
        rows["ASSD"] = b.assd
        rows["Hausdorff"] = b.hausdorff
    return rows


def _truth_objects(truth: Any, truth_objects: str) -> np.ndarray:
    """The ground truth whose objects are scored: its labels, or its foreground (a mask)."""
    return np.asarray(truth) if truth_objects == "labels" else np.asarray(truth) != 0


def _objects_of(prediction: Any, foreground_class: int | str | None) -> Any:
    """The prediction whose objects are scored: its labels with "any", else its foreground."""
    if foreground_class in (None, "any"):
        return prediction
    return np.asarray(prediction) == foreground_class


def object_layers(
    prediction: Any,
    truth: Any,
    *,
    families: tuple[str, ...],
    foreground_class: int | str | None,
    iou_threshold: float,
    truth_objects: str = "components",
) -> dict[str, np.ndarray]:
    """Masks (uint8) of the matched, spurious and missed objects; empty if not scored."""
    if "instances" not in families or is_lazy(prediction) or is_lazy(truth):
        return {}
    outcomes = object_outcomes(
        _objects_of(prediction, foreground_class),
        _truth_objects(truth, truth_objects),
        iou_threshold=iou_threshold,
    )
    return {key: (labels > 0).view(np.uint8) for key, labels in outcomes.items()}


def evaluation_job(prediction: Any, truth: Any, options: dict, extra: dict):
    """The Validate job (run off the GUI thread): evaluation, confusion masks, families,
    object layers; a cancel (``worker.quit()``) lands after any of them."""
    prediction, truth = numpy_or_dask(prediction), numpy_or_dask(truth)
    evaluation = evaluate(prediction, truth, **options)
    yield
    chosen, kind = options["foreground_class"], options["truth_objects"]
    mask = truth != 0 if kind == "labels" else truth  # lazy if lazy input
    masks = confusion_masks(prediction, mask, foreground_class=chosen)
    yield
    families = family_scores(
        prediction, truth, foreground_class=chosen, truth_objects=kind, **extra
    )
    yield
    objects = object_layers(
        prediction,
        truth,
        families=extra["families"],
        foreground_class=chosen,
        iou_threshold=options["iou_threshold"],
        truth_objects=kind,
    )
    yield  # a cancel while matching the objects still drops the result
    return evaluation, masks, families, objects
