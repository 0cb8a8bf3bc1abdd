"""Clustering an image in memory: every pixel (or superpixel) of every plane, one k-means."""

from __future__ import annotations

import numpy as np

from ._features import pixel_ids, superpixels, unit_rows
from ._model import KMeansModel, fit
from ._options import ClusterOptions

__all__ = ["boundaries_of", "cluster_array", "label_dtype"]


def label_dtype(k: int) -> np.dtype:
    """``uint8`` for up to 255 clusters, else ``uint16``."""
    return np.dtype(np.uint8 if k <= 255 else np.uint16)


def boundaries_of(segments: np.ndarray) -> np.ndarray:
    """``uint8`` 0/1 boundaries of the superpixels of every plane."""
    from skimage.segmentation import find_boundaries

    out = np.empty(segments.shape, np.uint8)
    for index in np.ndindex(*segments.shape[:-2]):
        out[index] = find_boundaries(segments[index])
    return out


def cluster_array(
    image: np.ndarray, options: ClusterOptions
) -> tuple[np.ndarray, KMeansModel, int, np.ndarray | None]:
    """Cluster ``(..., Y, X, C)`` in memory: labels, the model, units fitted, superpixels."""
    segments = superpixels(image, options)
    colour, coords = unit_rows(image, segments, (0, 0), options)
    model = fit(colour, coords, options, max(image.shape[-3:-1]))
    ids = model.predict(colour, coords).astype(label_dtype(options.k))
    return pixel_ids(segments, ids, image.shape[:-1]), model, len(colour), segments
