"""A trained forest applied to features: votes, then labels, probabilities and uncertainty.

:func:`classify` turns the forest's summed leaf values into results (the one place that does);
:func:`classify_image` computes an in-memory image's features tile by tile and classifies each
tile, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._validation import Cancelled, SegLabInputError
from ._filters import region_features
from ._tiles import channels_first, iter_tiles

__all__ = ["classify", "classify_image"]


def classify(
    classifier: Any, x: np.ndarray, *, want_proba: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Labels (n,), and with `want_proba` probabilities (n, k) and uncertainty (n,).

    `x` holds the features of n pixels, (F, n). Without `want_proba`, a pixel leaves the
    forest as soon as its class is certain (the labels are the same).
    """
    from ._numba import set_threads
    from ._traversal import forest_votes

    previous = set_threads(classifier.n_jobs)
    try:
        votes = forest_votes(x, classifier._forest, early=not want_proba)
    finally:
        set_threads(previous)
    labels = classifier.classes_.astype(np.uint8)[np.argmax(votes, axis=1)]
    if not want_proba:
        return labels, None, None
    votes *= np.float32(1.0 / classifier._forest["roots"].size)
    return labels, votes, 1.0 - votes.max(axis=1)


def classify_image(
    classifier: Any,
    image: ArrayLike,
    *,
    channel_axis: int | None,
    progress: Callable[[int, int], None] | None,
    cancel: Callable[[], bool] | None,
    want_proba: bool,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """:func:`classify` of every pixel of an in-memory image, tile by tile."""
    from ._numba import set_threads

    settings = classifier.features
    source = channels_first(image, settings, channel_axis)
    if source.shape[0] != classifier.n_channels:
        raise SegLabInputError(
            f"This classifier was trained on images with {classifier.n_channels} channel(s); "
            f"this image has {source.shape[0]}. Check the channel axis (RGB: "
            "channel_axis=-1) or use a classifier trained on this kind of image."
        )
    spatial = source.shape[1:]
    n_classes = classifier.classes_.size
    n_features = len(classifier.feature_names_)
    labels = np.empty(spatial, np.uint8)
    proba = np.empty((*spatial, n_classes), np.float32) if want_proba else None
    uncertainty = np.empty(spatial, np.float32) if want_proba else None
    tiles = list(iter_tiles(spatial, settings, n_features))
    previous = set_threads(classifier.n_jobs)
    try:
        for done, (lead, region) in enumerate(tiles, start=1):
            if cancel is not None and cancel():
                raise Cancelled("Prediction cancelled.")
            shape = tuple(sl.stop - sl.start for sl in region)
            planar = np.empty((n_features, *shape), np.float32)
            region_features(source[(slice(None), *lead)], settings, region, planar)
            tile = classify(classifier, planar.reshape(n_features, -1), want_proba=want_proba)
            index = (*lead, *region)
            labels[index] = tile[0].reshape(shape)
            if want_proba:
                proba[index] = tile[1].reshape(*shape, n_classes)
                uncertainty[index] = tile[2].reshape(shape)
            if progress is not None:
                progress(done, len(tiles))
    finally:
        set_threads(previous)
    return labels, proba, uncertainty
