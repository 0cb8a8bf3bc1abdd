"""Pixel classifier: multiscale features and a random forest, trained from brush strokes.

:class:`PixelClassifier` is the model (:mod:`._model`; its file: :mod:`._model_file`);
:mod:`.features` the features it learns from (filters: :mod:`._filters`, tiles:
:mod:`._tiles`); :class:`TrainingCache` keeps painted pixels' features between trainings and
:class:`PlanePreview` a plane's for live previews; a dask image is classified chunk by chunk
(:mod:`._lazy`). The compiled (numba) kernels: :mod:`._correlate`, :mod:`._derivatives`
(filters), :mod:`._forest` (training) and :mod:`._traversal` (prediction), compiled once after
installing and loaded by each new process: :func:`warm_up` does both ahead of time.
:func:`suggest_regions` tells where to paint next (:mod:`._suggest`).
"""

from ._model import PixelClassifier, Segmentation
from ._preview import PlanePreview
from ._suggest import RegionSuggestion, suggest_regions
from ._training import TrainingCache
from ._warmup import compiled_code_cached, warm_up
from .features import FeatureSettings, compute_features, feature_names

__all__ = [
    "FeatureSettings",
    "PixelClassifier",
    "PlanePreview",
    "RegionSuggestion",
    "Segmentation",
    "TrainingCache",
    "compiled_code_cached",
    "compute_features",
    "feature_names",
    "suggest_regions",
    "warm_up",
]
