"""Thresholds: an optional median filter, then a global, manual or local threshold.

Every function takes a numpy array or a dask array; a dask array is processed chunk by
chunk (:mod:`._lazy`, :mod:`._histogram`) with the same result as in memory. Every choice
of a threshold is one :class:`ThresholdOptions`; the public functions also take its fields
as keywords (``threshold(image, "otsu", foreground="dark", median_size=3)``).

Modules: :mod:`._choices` (method and foreground names), :mod:`._methods` (options, the
scikit-image table, values from an image or a histogram), :mod:`._eager` (median,
preparation, threshold), :mod:`._median` (its window), :mod:`._lazy` (the same on dask
arrays), :mod:`._histogram` (histograms, bounded for wide integer ranges), :mod:`._try_all`
(every method compared), :mod:`._results` (what they return).
"""

from ._choices import GLOBAL_METHODS, Foreground, ThresholdMethod
from ._eager import median_filter, prepare_image, threshold
from ._histogram import histogram
from ._methods import (
    ThresholdOptions,
    apply_threshold,
    value_from_histogram,
    value_from_image,
)
from ._results import MethodOutcome, ThresholdResult, TryAllResult
from ._try_all import iter_try_all, try_all_thresholds

__all__ = [
    "GLOBAL_METHODS",
    "Foreground",
    "MethodOutcome",
    "ThresholdMethod",
    "ThresholdOptions",
    "ThresholdResult",
    "TryAllResult",
    "apply_threshold",
    "histogram",
    "iter_try_all",
    "median_filter",
    "prepare_image",
    "threshold",
    "try_all_thresholds",
    "value_from_histogram",
    "value_from_image",
]
