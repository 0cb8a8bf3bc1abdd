"""SegLab's computation: numpy, scipy, scikit-image, scikit-learn and dask only.

Nothing here imports napari, Qt or magicgui, so every function works in a notebook, a script or
a batch job exactly as it does behind the widgets.
"""

from ._checks import SegLabInputError, to_grayscale
from .cleanup import clean_up, fill_small_holes, remove_small_objects
from .metrics import (
    ConfusionCounts,
    Evaluation,
    ObjectMetrics,
    Scores,
    confusion_masks,
    evaluate,
    match_objects,
)
from .threshold import (
    GLOBAL_METHODS,
    Foreground,
    ThresholdMethod,
    ThresholdResult,
    TryAllResult,
    median_filter,
    threshold,
    try_all_thresholds,
)

__all__ = [
    "GLOBAL_METHODS",
    "ConfusionCounts",
    "Evaluation",
    "Foreground",
    "ObjectMetrics",
    "Scores",
    "SegLabInputError",
    "ThresholdMethod",
    "ThresholdResult",
    "TryAllResult",
    "clean_up",
    "confusion_masks",
    "evaluate",
    "fill_small_holes",
    "match_objects",
    "median_filter",
    "remove_small_objects",
    "threshold",
    "to_grayscale",
    "try_all_thresholds",
]
