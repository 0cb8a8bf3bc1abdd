"""Pixel- and object-level comparison of a segmentation with a ground truth.

:func:`evaluate` and :func:`confusion_masks` take numpy or dask arrays; with a dask array the
confusion counts are exact integers summed over the chunks and the masks are lazy
(:mod:`._lazy`). Object matching needs the whole arrays in memory: :func:`match_objects` at
one IoU threshold, :func:`score_instances` one to one over the thresholds 0.5:0.05:0.95 (DSB
score, panoptic quality; :mod:`._instances`); :func:`boundary_scores` gives boundary F1, NSD,
Hausdorff, HD95, ASSD and clDice honouring the pixel spacing (:mod:`._boundary`);
:func:`compare_predictions` ranks several predictions on one ground truth (:mod:`._compare`).
"""

from ._boundary import BoundaryScores, boundary_scores, cl_dice
from ._compare import RANKABLE, Comparison, compare_predictions
from ._evaluate import Evaluation, confusion_masks, evaluate
from ._instances import (
    THRESHOLDS,
    InstanceMatch,
    InstanceScores,
    instance_labels,
    object_outcomes,
    score_instances,
)
from ._objects import ObjectMetrics, match_objects
from ._scores import ConfusionCounts, Scores

__all__ = [
    "RANKABLE",
    "THRESHOLDS",
    "BoundaryScores",
    "Comparison",
    "ConfusionCounts",
    "Evaluation",
    "InstanceMatch",
    "InstanceScores",
    "ObjectMetrics",
    "Scores",
    "boundary_scores",
    "cl_dice",
    "compare_predictions",
    "confusion_masks",
    "evaluate",
    "instance_labels",
    "match_objects",
    "object_outcomes",
    "score_instances",
]
