"""Pixel- and object-level comparison of a segmentation with a ground truth.

:func:`evaluate` and :func:`confusion_masks` take numpy or dask arrays; with a dask array the
confusion counts are exact integers summed over the chunks and the masks are lazy
(:mod:`._lazy`). Object matching needs the whole arrays in memory.
"""

from ._evaluate import Evaluation, confusion_masks, evaluate
from ._objects import ObjectMetrics, match_objects
from ._scores import ConfusionCounts, Scores

__all__ = [
    "ConfusionCounts",
    "Evaluation",
    "ObjectMetrics",
    "Scores",
    "confusion_masks",
    "evaluate",
    "match_objects",
]
