"""Pixel classifier: multiscale features and a random forest, trained from brush strokes.

:class:`PixelClassifier` is the model; :mod:`.features` the features it learns from; a dask
image is classified chunk by chunk (:mod:`._lazy`).
"""

from ._model import PixelClassifier, PlanePreview, Segmentation, TrainingCache
from .features import FeatureSettings, compute_features, feature_names


def load_compiled_code() -> None:
    """Import the classifier's compiled (numba) kernels now, e.g. when a widget opens.

    Importing them inside a worker thread would hold the interpreter lock while numba loads
    (or, just after installing, compiles) them, and freeze a GUI.
    """
    from . import _forest, _kernels  # noqa: F401


def compiled_code_loaded() -> bool:
    """Whether this session has already loaded the forest's compiled traversal."""
    import sys

    kernels = sys.modules.get(f"{__name__}._kernels")
    return kernels is not None and bool(kernels._forest_votes.signatures)


__all__ = [
    "FeatureSettings",
    "PixelClassifier",
    "PlanePreview",
    "Segmentation",
    "TrainingCache",
    "compiled_code_loaded",
    "compute_features",
    "feature_names",
    "load_compiled_code",
]
