"""Thresholds: an optional median filter, then a global, manual or local threshold.

Every function takes a numpy array or a dask array; a dask array is processed chunk by
chunk (:mod:`._lazy`, :mod:`._histogram`) with the same result as in memory.
"""

from ._eager import (
    GLOBAL_METHODS,
    Foreground,
    MethodOutcome,
    ThresholdMethod,
    ThresholdResult,
    TryAllResult,
    apply_threshold,
    iter_try_all,
    median_filter,
    prepare_image,
    threshold,
    threshold_value,
    try_all_thresholds,
)
from ._histogram import histogram

__all__ = [
    "GLOBAL_METHODS",
    "Foreground",
    "MethodOutcome",
    "ThresholdMethod",
    "ThresholdResult",
    "TryAllResult",
    "apply_threshold",
    "histogram",
    "iter_try_all",
    "median_filter",
    "prepare_image",
    "threshold",
    "threshold_value",
    "try_all_thresholds",
]
