"""Pixel- and object-level comparison of a segmentation with a ground truth.

:func:`evaluate` takes numpy or dask arrays; with a dask array the confusion counts are exact
integers summed over the chunks (:mod:`._lazy`).
"""

from ._eager import (
    ConfusionCounts,
    Evaluation,
    ObjectMetrics,
    Scores,
    confusion_masks,
    evaluate,
    match_objects,
)

__all__ = [
    "ConfusionCounts",
    "Evaluation",
    "ObjectMetrics",
    "Scores",
    "confusion_masks",
    "evaluate",
    "match_objects",
]
