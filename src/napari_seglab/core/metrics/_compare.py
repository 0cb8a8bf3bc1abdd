"""Compare several predictions on one ground truth: one row each, best first."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from .._blocks import is_lazy
from .._validation import SegLabInputError
from ._boundary import boundary_scores, spacing_of
from ._evaluate import evaluate
from ._instances import InstanceScores, score_instances
from ._objects import check_in_memory, check_truth_objects
from ._scores import Scores

__all__ = ["RANKABLE", "Comparison", "compare_predictions"]

RANKABLE = (
    *(f.name for f in fields(Scores)),
    "dsb_score",
    "pq",
    "instance_f1_50",
    "instance_f1_75",
    "boundary_f1",
    "nsd",
    "cl_dice",
)
"""Metrics a comparison can be ranked by (higher is better for every one)."""


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare_predictions` returns: ``rows`` best first by ``rank_by``, and
    ``instances``: name -> :class:`InstanceScores` (every IoU threshold, e.g. for a plot of F1
    against the threshold) when objects were scored."""

    rank_by: str
    rows: tuple[dict[str, Any], ...]
    instances: Mapping[str, InstanceScores] = field(default_factory=dict)

    def to_csv(self, path: str | Path) -> Path:
        """Write the rows (one per prediction, best first) to a CSV file; returns the path."""
        path = Path(path)
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(self.rows[0]))
            writer.writeheader()
            writer.writerows(self.rows)
        return path


def _row(
    name: str,
    prediction: Any,
    truth: Any,
    chosen: Any,
    truth_objects: str,
    boundary: bool,
    spacing: tuple[float, ...],
) -> tuple[dict, InstanceScores | None]:
    labels = truth_objects == "labels"
    prediction = prediction if is_lazy(prediction) else np.asarray(prediction)
    result = evaluate(
        prediction, truth, foreground_class=chosen, objects=False, truth_objects=truth_objects
    )
    row: dict[str, Any] = {"prediction": name, **asdict(result.counts), **asdict(result.scores)}
    if boundary:
        pred = prediction if chosen in (None, "any") else prediction == chosen
        instances = score_instances(pred, truth if labels else truth != 0)
        row.update(
            dsb_score=instances.dsb_score,
            pq=instances.at(0.5).pq,
            instance_f1_50=instances.at(0.5).f1,
            instance_f1_75=instances.at(0.75).f1,
        )
        b = boundary_scores(
            prediction,
            truth != 0,
            tolerance=min(spacing),
            spacing=spacing,
            foreground_class=chosen,
        )
        row.update(boundary_f1=b.boundary_f1, nsd=b.nsd, cl_dice=b.cl_dice, hd95=b.hd95)
        return row, instances
    return row, None


def compare_predictions(
    predictions: Mapping[str, Any],
    ground_truth: Any,
    *,
    rank_by: str = "mcc",
    foreground_classes: Mapping[str, int | str] | None = None,
    objects_and_boundaries: bool = True,
    truth_objects: str = "components",
    spacing: float | tuple[float, ...] | None = None,
) -> Comparison:
    """Score several predictions (e.g. Otsu, Yen, the classifier) on one ground truth.

    Parameters
    ----------
    predictions : mapping of str to array_like
        Name -> prediction, each as in :func:`napari_seglab.core.metrics.evaluate`.
    ground_truth : array_like
        A binary mask of the same shape.
    rank_by : str
        One of :data:`RANKABLE`; ties keep the given order.
    foreground_classes : mapping of str to int or "any", optional
        The foreground class of the predictions that are labels images.
    objects_and_boundaries : bool
        Also DSB score, PQ and instance F1 (IoU 0.5; ``instance_f1_75`` at 0.75), boundary F1,
        NSD (1 pixel), clDice and HD95 (arrays in memory only); False: pixel scores only (any
        input, dask too).
    truth_objects : {"components", "labels"}
        The ground truth is a mask (its objects are its connected components) or an instance
        labels image (its objects are its labels), as in :func:`evaluate`.
    spacing : float or tuple of float, optional
        Pixel size, one for every axis or one per axis (e.g. the ground truth layer's
        ``scale``), as in :func:`boundary_scores`: HD95 is in its units, and boundary F1 and NSD
        are at a tolerance of one pixel (the smallest pixel size). Pixels by default.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((8, 8), np.uint8); truth[2:6, 2:6] = 1
    >>> result = compare_predictions({"shifted": np.roll(truth, 1, 0), "same": truth}, truth)
    >>> [row["prediction"] for row in result.rows]
    ['same', 'shifted']
    """
    if not predictions:
        raise SegLabInputError("Give at least one prediction to compare.")
    if rank_by not in RANKABLE:
        raise SegLabInputError(f"Cannot rank by {rank_by!r}; choose one of {', '.join(RANKABLE)}.")
    if not objects_and_boundaries and rank_by not in {f.name for f in fields(Scores)}:
        raise SegLabInputError(f"Ranking by {rank_by!r} needs objects_and_boundaries=True.")
    if objects_and_boundaries:  # refused before any chunk is read
        for prediction in predictions.values():
            check_in_memory(prediction, ground_truth)
    truth = ground_truth if is_lazy(ground_truth) else np.asarray(ground_truth)
    options = dict(foreground_classes or {})
    check_truth_objects(truth_objects)
    sampling = spacing_of(spacing, np.ndim(truth))
    rows, instances = [], {}
    for name, pred in predictions.items():
        row, scores = _row(
            name, pred, truth, options.get(name), truth_objects, objects_and_boundaries, sampling
        )
        rows.append(row)
        if scores is not None:
            instances[name] = scores
    rows.sort(key=lambda row: -row[rank_by])
    return Comparison(rank_by, tuple(rows), instances)
