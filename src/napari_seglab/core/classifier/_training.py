"""The training rows of a classifier: features and class ids of the painted pixels.

Features are computed only around the painted pixels. A dask image (or dask annotations) is
read only where strokes are: the planes holding them, cropped to the strokes' bounding box
plus the features' halo, so the rows equal those of the whole image in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import is_lazy
from .._validation import SegLabInputError, check_lazy_image, fingerprint
from ._filters import strip_axis
from ._tiles import channels_first, masked_features
from .features import FeatureSettings

__all__ = ["TrainingCache", "check_named", "training_rows"]


class TrainingCache:
    """The features of painted pixels, kept from one training to the next.

    Painting adds or erases a few pixels at a time, but training needs the features of every
    painted pixel, computed with the context of the largest scale around each. Passed to
    :meth:`PixelClassifier.fit`, a cache keeps them per image (recognised by its content and
    the feature settings), so a retraining computes features only for newly painted pixels.
    The training rows, hence the forest, are exactly those computed without a cache.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_seglab.core.classifier import FeatureSettings, PixelClassifier
    >>> rng = np.random.default_rng(0)
    >>> image = rng.normal(10, 2, (64, 64)); image[20:44, 20:44] += 10
    >>> strokes = np.zeros(image.shape, np.uint8)
    >>> strokes[2:6, 2:30] = 1; strokes[28:32, 25:40] = 2
    >>> cache = TrainingCache()
    >>> clf = PixelClassifier(FeatureSettings(sigmas=(1, 2)), n_estimators=10)
    >>> _ = clf.fit(image, strokes, cache=cache)
    >>> strokes[50:54, 5:60] = 1  # a new stroke: only its pixels get new features
    >>> clf.fit(image, strokes, cache=cache).predict(image)[32, 32]
    np.uint8(2)
    """

    def __init__(self) -> None:
        self._entries: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._used: set[tuple] = set()

    def _begin(self) -> None:
        self._used = set()

    def _end(self) -> None:
        """Keep only the images of the latest training (others were edited or dropped)."""
        self._entries = {k: v for k, v in self._entries.items() if k in self._used}

    def _features(
        self, source: np.ndarray, settings: FeatureSettings, mask: np.ndarray
    ) -> np.ndarray:
        """Features (F, n) of the pixels in `mask` of `source` (C, *spatial), in C order."""
        key = (fingerprint(source), settings)
        self._used.add(key)
        flat = np.flatnonzero(mask)
        known, rows = self._entries.get(key, (np.empty(0, np.intp), None))
        at = np.minimum(np.searchsorted(known, flat), max(known.size - 1, 0))
        hit = known[at] == flat if known.size else np.zeros(flat.size, bool)
        out = np.empty((settings._n_features(source.shape[0]), flat.size), np.float32)
        if hit.any():
            out[:, hit] = rows[:, at[hit]]
        if not hit.all():
            new = np.zeros(mask.shape, bool)
            new.flat[flat[~hit]] = True
            out[:, ~hit] = masked_features(source, settings, new)
        self._entries[key] = (flat, out)
        return out


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def training_rows(
    settings: FeatureSettings,
    images: ArrayLike | Sequence[ArrayLike],
    annotations: ArrayLike | Sequence[ArrayLike],
    *,
    channel_axis: int | None,
    cache: TrainingCache | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Features (n, F), class ids (n,) and channel count of the painted pixels.

    Arguments and errors as in :meth:`PixelClassifier.fit`.
    """
    image_list = _as_list(images)
    label_list = _as_list(annotations)
    if len(image_list) != len(label_list):
        raise SegLabInputError(
            f"Got {len(image_list)} image(s) but {len(label_list)} annotation layer(s); "
            "give one annotation array per image."
        )
    if not image_list:
        raise SegLabInputError("No training image given.")
    xs, ys = [], []
    n_channels = None
    if cache is not None:
        cache._begin()
    for index, (image, labels) in enumerate(zip(image_list, label_list, strict=True)):
        name = "image" if len(image_list) == 1 else f"image {index + 1}"
        for source, painted in _pieces(image, labels, settings, channel_axis, name):
            if n_channels is not None and source.shape[0] != n_channels:
                raise SegLabInputError(
                    f"{name.capitalize()} has {source.shape[0]} channel(s) but the first has "
                    f"{n_channels}; all training images must have the same channels."
                )
            n_channels = source.shape[0]
            mask = painted > 0
            if not mask.any():
                continue
            if cache is None:
                xs.append(masked_features(source, settings, mask))
            else:
                xs.append(cache._features(source, settings, mask))
            ys.append(painted[mask].astype(np.int64))
    if cache is not None:
        cache._end()
    if not xs:
        raise SegLabInputError(
            "No strokes to learn from: paint some pixels of each class (values 1, 2, ...) "
            "in the training labels; 0 means not annotated."
        )
    y = np.concatenate(ys)
    classes = np.unique(y)
    if classes.size < 2:
        raise SegLabInputError(
            f"Only class {int(classes[0])} is painted; paint at least two classes "
            "(e.g. 1 = background and 2 = foreground)."
        )
    return np.concatenate(xs, axis=1).T, y, n_channels


def _pieces(
    image: Any, labels: Any, settings: FeatureSettings, channel_axis: int | None, name: str
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(source (C, *spatial), annotations) of an image: whole, or around the strokes if lazy."""
    if is_lazy(image) or is_lazy(labels):
        yield from _lazy_pieces(image, labels, settings, channel_axis, name)
        return
    source = channels_first(image, settings, channel_axis, name=name)
    yield source, _check_annotations(labels, source.shape[1:], name)


def _lazy_pieces(
    image: Any, labels: Any, settings: FeatureSettings, channel_axis: int | None, name: str
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Each plane (each volume in 3D) with strokes, cropped to them plus the features' halo."""
    if is_lazy(image):
        image = check_lazy_image(image, name)
    if channel_axis is None:
        image = image[None]
    elif not -image.ndim <= channel_axis < image.ndim:
        raise SegLabInputError(
            f"channel_axis={channel_axis} does not exist in the {name} of shape {image.shape}."
        )
    else:
        image = np.moveaxis(image, channel_axis, 0)
    spatial = tuple(image.shape[1:])
    if len(spatial) < settings.ndim:
        raise SegLabInputError(
            f"Features in mode {settings.mode!r} need an {name} with at least {settings.ndim} "
            f"spatial axes; this one has spatial shape {spatial}."
        )
    if not is_lazy(labels):
        labels = np.asarray(labels)
    _check_shape(labels.shape, spatial, name)
    n_lead = len(spatial) - settings.ndim
    annotated = (labels != 0).any(axis=tuple(range(n_lead, len(spatial))))
    annotated = np.asarray(annotated.compute() if is_lazy(annotated) else annotated)
    halo = np.max([settings.halo(sigma) for sigma in settings.sigmas], axis=0)
    filtered = spatial[n_lead:]
    for lead in np.ndindex(*annotated.shape):
        if not annotated[lead]:
            continue
        plane = _check_annotations(np.asarray(labels[lead]), filtered, name)
        box = _box(plane != 0, halo, filtered)
        source = np.asarray(image[(slice(None), *lead, *box)])
        yield channels_first(source, settings, 0, name=name), plane[box]


def _box(mask: np.ndarray, halo: np.ndarray, shape: tuple[int, ...]) -> tuple[slice, ...]:
    """Bounding box of `mask` plus `halo`, within `shape`.

    Features are filtered along the strip axis first (:func:`~._filters.strip_axis`); the box
    keeps that axis of the whole, so the crop's values are the whole's, bit for bit.
    """
    box = []
    for axis, (h, n) in enumerate(zip(halo, shape, strict=True)):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hit = np.flatnonzero(mask.any(axis=other))
        box.append(slice(max(0, int(hit[0]) - int(h)), min(n, int(hit[-1]) + 1 + int(h))))
    whole_axis = strip_axis(shape)
    if strip_axis([b.stop - b.start for b in box]) != whole_axis:
        box[whole_axis] = slice(0, shape[whole_axis])
    return tuple(box)


def check_named(class_names: dict[int, str], y: np.ndarray) -> None:
    """Refuse painted classes without a name when names were given (e.g. a stray 255)."""
    if not class_names:
        return
    unnamed = sorted(set(distinct(y)) - set(class_names))
    if unnamed:
        named = ", ".join(f"{i} = {n}" for i, n in sorted(class_names.items()))
        raise SegLabInputError(
            f"Label(s) {', '.join(map(str, unnamed))} are painted but have no class name "
            f"(named: {named}): name them too, or erase those strokes."
        )


def distinct(y: np.ndarray) -> list[int]:
    """The distinct class ids of training rows."""
    return [int(v) for v in np.unique(y)]


def _check_shape(shape: tuple[int, ...], spatial: tuple[int, ...], name: str) -> None:
    if tuple(shape) != tuple(spatial):
        raise SegLabInputError(
            f"The training labels of the {name} have shape {tuple(shape)} but the {name}'s "
            f"spatial shape is {tuple(spatial)}; paint in a labels layer made for this image."
        )


def _check_annotations(labels: ArrayLike, spatial: tuple[int, ...], name: str) -> np.ndarray:
    arr = np.asarray(labels)
    _check_shape(arr.shape, spatial, name)
    if arr.dtype == bool:
        raise SegLabInputError(
            "Training labels must be integers (0 = not annotated, 1, 2, ... = classes), "
            "not a boolean mask."
        )
    whole = np.issubdtype(arr.dtype, np.integer) or (
        np.issubdtype(arr.dtype, np.floating) and bool(np.all(np.mod(arr, 1) == 0))
    )
    if not whole:
        raise SegLabInputError("Training labels must be whole numbers (0, 1, 2, ...).")
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise SegLabInputError(
            "Training labels must lie between 0 (not annotated) and 255; "
            f"these go from {arr.min()} to {arr.max()}."
        )
    # Integer labels are returned as they are: converting the plane cost a copy per stroke.
    return arr if np.issubdtype(arr.dtype, np.integer) else arr.astype(np.int64)
