"""Clustering an image in memory: every pixel (or superpixel) of every plane, one k-means."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np

from ._features import pixel_ids, superpixels, unit_rows
from ._model import KMeansModel, fit
from ._options import ClusterOptions, ClusterUnits

__all__ = ["boundaries_of", "cluster_steps", "label_dtype"]


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


def cluster_steps(
    image: np.ndarray, options: ClusterOptions, boundaries: bool
) -> Generator[str, None, tuple[np.ndarray, KMeansModel, int, np.ndarray | None, Any]]:
    """Cluster ``(..., Y, X, C)`` in memory, yielding each step's name before it runs.

    Returns the labels, the model, the number of units fitted, the superpixels and their
    boundaries (None where not used or not asked for).
    """
    segments = edges = None
    if options.units is not ClusterUnits.PIXELS:
        yield "superpixels"
        segments = superpixels(image, options)
    yield "colours"
    colour, coords = unit_rows(image, segments, (0, 0), options)
    yield "k-means fit"
    model = fit(colour, coords, options, max(image.shape[-3:-1]))
    yield "labels"
    ids = model.predict(colour, coords).astype(label_dtype(options.k))
    labels = pixel_ids(segments, ids, image.shape[:-1])
    if boundaries and segments is not None:
        yield "boundaries"
        edges = boundaries_of(segments)
    return labels, model, len(colour), segments, edges
