"""SegLab's computation: numpy, scipy, scikit-image, numba and dask only.

Nothing here imports napari, Qt or magicgui, so every function works in a notebook, a script or
a batch job exactly as it does behind the widgets.
"""

from ._validation import Cancelled, SegLabInputError, to_grayscale
from .classifier import (
    FeatureSettings,
    PixelClassifier,
    PlanePreview,
    RegionSuggestion,
    Segmentation,
    TrainingCache,
    compute_features,
    feature_names,
    suggest_regions,
)
from .cleanup import clean_up, fill_small_holes, remove_small_objects
from .cluster import ClusterOptions, ClusterResult, ClusterUnits, ColourSpace, cluster
from .edges import EdgeDirection, EdgeMethod, EdgeOptions, EdgeSmoothing, edges
from .io import ImageMetadata, open_image, save
from .metrics import (
    BoundaryScores,
    Comparison,
    ConfusionCounts,
    Evaluation,
    InstanceScores,
    ObjectMetrics,
    Scores,
    boundary_scores,
    compare_predictions,
    confusion_masks,
    evaluate,
    match_objects,
    score_instances,
)
from .objects import ObjectLabels, ObjectTable, SplitMethod, label_objects, measure_objects
from .threshold import (
    GLOBAL_METHODS,
    Foreground,
    ThresholdMethod,
    ThresholdOptions,
    ThresholdResult,
    TryAllResult,
    median_filter,
    threshold,
    try_all_thresholds,
)

__all__ = [
    "GLOBAL_METHODS",
    "BoundaryScores",
    "Cancelled",
    "ClusterOptions",
    "ClusterResult",
    "ClusterUnits",
    "ColourSpace",
    "Comparison",
    "ConfusionCounts",
    "EdgeDirection",
    "EdgeMethod",
    "EdgeOptions",
    "EdgeSmoothing",
    "Evaluation",
    "FeatureSettings",
    "Foreground",
    "ImageMetadata",
    "InstanceScores",
    "ObjectLabels",
    "ObjectMetrics",
    "ObjectTable",
    "PixelClassifier",
    "PlanePreview",
    "RegionSuggestion",
    "Scores",
    "SegLabInputError",
    "Segmentation",
    "SplitMethod",
    "ThresholdMethod",
    "ThresholdOptions",
    "ThresholdResult",
    "TrainingCache",
    "TryAllResult",
    "boundary_scores",
    "clean_up",
    "cluster",
    "compare_predictions",
    "compute_features",
    "confusion_masks",
    "edges",
    "evaluate",
    "feature_names",
    "fill_small_holes",
    "label_objects",
    "match_objects",
    "measure_objects",
    "median_filter",
    "open_image",
    "remove_small_objects",
    "save",
    "score_instances",
    "suggest_regions",
    "threshold",
    "to_grayscale",
    "try_all_thresholds",
]
