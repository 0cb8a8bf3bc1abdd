"""A trained model applied to features: scores, then labels, probabilities and uncertainty.

:func:`classify` turns the model's scores into results (the one place that does),
which a :class:`Segmentation` holds;
:func:`classify_image` computes an in-memory image's features tile by tile and classifies each
tile, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import is_lazy
from .._validation import Cancelled, SegLabInputError
from ._filters import region_features
from ._tiles import channels_first, iter_tiles

__all__ = ["Segmentation", "classify", "classify_image", "feature_rows"]


@dataclass(frozen=True)
class Segmentation:
    """Result of :meth:`PixelClassifier.segment <._model.PixelClassifier.segment>`.

    Attributes
    ----------
    labels : numpy.ndarray of uint8
        Class id of each pixel (the image's spatial shape).
    probabilities : numpy.ndarray of float32
        ``spatial_shape + (n_classes,)``; channel ``i`` is class ``classes[i]``.
    uncertainty : numpy.ndarray of float32
        ``1 - max probability``: 0 where the model is certain, up to ``1 - 1/n_classes``.
    classes : tuple of int
        The class ids, in the order of the probability channels.

    The arrays are dask arrays when the image was one (computed chunk by chunk).
    """

    labels: np.ndarray
    probabilities: np.ndarray
    uncertainty: np.ndarray
    classes: tuple[int, ...]

    def probability(self, class_id: int) -> np.ndarray:
        """Probability map of one class id."""
        if class_id not in self.classes:
            raise SegLabInputError(f"No class {class_id}; the classes are {self.classes}.")
        return self.probabilities[..., self.classes.index(class_id)]


def classify(
    classifier: Any, x: np.ndarray, *, want_proba: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Labels (n,), and with `want_proba` probabilities (n, k) and uncertainty (n,).

    `x` holds the features of n pixels, (F, n); the classifier's model (SegLab's forest or
    a scikit-learn estimator, :mod:`._estimator`) scores them. Without `want_proba`, the
    forest lets a pixel go as soon as its class is certain (the labels are the same).
    """
    scores = classifier._model.scores(x, exact=want_proba)
    winner, top = _best(scores)
    labels = classifier.classes_.astype(np.uint8)[winner]
    if not want_proba:
        return labels, None, None
    return labels, scores, np.subtract(1.0, top, out=top)


def _best(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``argmax`` and ``max`` of each row of (n, k) scores (ties: the first column), column by
    column: for a few classes, much faster than numpy's reductions along a short axis."""
    winner = np.zeros(scores.shape[0], np.intp)
    top = scores[:, 0].copy()
    for k in range(1, scores.shape[1]):
        column = scores[:, k]
        better = column > top
        np.copyto(winner, k, where=better)
        np.maximum(top, column, out=top)
    return winner, top


def classify_image(
    classifier: Any,
    image: ArrayLike,
    *,
    channel_axis: int | None,
    want_proba: bool,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    window: tuple[slice, ...] | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """:func:`classify` of every pixel of an in-memory image, tile by tile.

    With `window` (slices of the spatial axes), only that part is classified (the rest of
    the image serves as the features' context) and the results have its shape.
    """
    from ._numba import threads

    settings = classifier.features
    source = channels_first(image, settings, channel_axis)
    if source.shape[0] != classifier.n_channels:
        raise SegLabInputError(
            f"This classifier was trained on images with {classifier.n_channels} channel(s); "
            f"this image has {source.shape[0]}. Check the channel axis (RGB: "
            "channel_axis=-1) or use a classifier trained on this kind of image."
        )
    if window is None:
        window = tuple(slice(0, n) for n in source.shape[1:])
    spatial = tuple(w.stop - w.start for w in window)
    n_lead = len(spatial) - settings.ndim
    offset = [w.start for w in window]
    n_classes = classifier.classes_.size
    n_features = len(classifier.feature_names_)
    labels = np.empty(spatial, np.uint8)
    proba = np.empty((*spatial, n_classes), np.float32) if want_proba else None
    uncertainty = np.empty(spatial, np.float32) if want_proba else None
    tiles = list(iter_tiles(spatial, settings, n_features))
    with threads(classifier.n_jobs):
        for done, (lead, region) in enumerate(tiles, start=1):
            if cancel is not None and cancel():
                raise Cancelled("Prediction cancelled.")
            shape = tuple(sl.stop - sl.start for sl in region)
            planar = np.empty((n_features, *shape), np.float32)
            at = tuple(i + o for i, o in zip(lead, offset[:n_lead], strict=True))
            moved = tuple(
                slice(sl.start + o, sl.stop + o)
                for sl, o in zip(region, offset[n_lead:], strict=True)
            )
            region_features(source[(slice(None), *at)], settings, moved, planar)
            tile = classify(classifier, planar.reshape(n_features, -1), want_proba=want_proba)
            index = (*lead, *region)
            labels[index] = tile[0].reshape(shape)
            if want_proba:
                proba[index] = tile[1].reshape(*shape, n_classes)
                uncertainty[index] = tile[2].reshape(shape)
            if progress is not None:
                progress(done, len(tiles))
    return labels, proba, uncertainty


def feature_rows(features: ArrayLike, n_features: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """The model's input (F, n) from features (..., F), and the shape of the result."""
    if is_lazy(features):
        raise SegLabInputError(
            "predict_features / segment_features need features in memory; for a dask "
            "image, call predict or segment on the image itself: they are lazy."
        )
    arr = np.asarray(features)
    if arr.ndim < 1 or arr.shape[-1] != n_features or not np.issubdtype(arr.dtype, np.number):
        raise SegLabInputError(
            f"Features must be numbers of shape (..., {n_features}) (one per name in "
            f"feature_names_), not {arr.dtype} of shape {arr.shape}."
        )
    # (..., F) -> (F, n): a view when the features are planar, as in a PlanePreview.
    return arr.reshape(-1, n_features).T.astype(np.float32, copy=False), arr.shape[:-1]
