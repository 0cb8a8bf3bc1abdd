"""Pixel classifier: a random forest on multiscale features, trained from brush strokes.

Training computes features only around the painted pixels and grows a random forest on them
(:mod:`._forest`: scikit-learn's algorithm on binned features, compiled, fast enough to
retrain on every brush stroke). The trees are plain arrays, which a compiled (numba)
traversal applies tile by tile over float32 features, so prediction is fast and memory stays
bounded. The same arrays are what a model file holds:
a ``.npz`` archive of numbers plus a JSON header, loaded without pickle, so opening a file can
never run code.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import is_lazy
from .._validation import Cancelled, SegLabInputError, fingerprint
from .features import (
    FeatureSettings,
    _channels_first,
    _iter_tiles,
    _masked_features,
    _region_features,
    feature_names,
)

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "PixelClassifier", "Segmentation"]

FORMAT_NAME = "napari-seglab pixel classifier"
FORMAT_VERSION = 1

_NODE_ARRAYS = ("feature", "threshold", "child", "leaf", "roots", "importances")


@dataclass(frozen=True)
class Segmentation:
    """Result of :meth:`PixelClassifier.segment`.

    Attributes
    ----------
    labels : numpy.ndarray of uint8
        Class id of each pixel (the image's spatial shape).
    probabilities : numpy.ndarray of float32
        ``spatial_shape + (n_classes,)``; channel ``i`` is class ``classes[i]``.
    uncertainty : numpy.ndarray of float32
        ``1 - max probability``: 0 where the forest agrees, up to ``1 - 1/n_classes``.
    classes : tuple of int
        The class ids, in the order of the probability channels.
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


def _default_class_name(class_id: int) -> str:
    return {1: "background", 2: "foreground"}.get(class_id, f"class {class_id}")


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


class PixelClassifier:
    """Random-forest pixel classifier trained from painted strokes.

    Parameters
    ----------
    features : FeatureSettings, optional
        Features to compute (default: ``FeatureSettings()``: intensity, edges and Hessian
        eigenvalues at scales 1, 2, 4, 8, per plane).
    n_estimators : int
        Number of trees.
    max_depth : int or None
        Maximum tree depth.
    class_weight : {"balanced", None}
        ``"balanced"`` weighs classes inversely to their number of painted pixels, so a class
        painted with a few short strokes counts as much as a large one.
    random_state : int
        Seed of the forest (results are reproducible).
    class_names : dict of int to str, optional
        Names of the class ids, e.g. ``{1: "background", 2: "nucleus"}``.
    n_jobs : int, optional
        Threads for training and prediction (default: all cores).
    max_samples : int or None
        Painted pixels each tree learns from (a bootstrap sample, as scikit-learn's
        ``max_samples``; scikit-image's trainable-segmentation example uses 5 %); ``None``
        uses as many as were painted. Neighbouring painted pixels are nearly identical, so
        the cap keeps training fast (and live updates responsive) when large areas are
        painted; benchmarks/ measures its effect on accuracy.

    Attributes
    ----------
    classes_ : numpy.ndarray of int
        Class ids seen in training (after :meth:`fit` or :meth:`load`).
    class_names : dict of int to str
    n_channels : int or None
        Channels of the training images.
    features : FeatureSettings
    feature_names_ : list of str

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> image = rng.normal(10, 2, (64, 64)); image[20:44, 20:44] += 10
    >>> strokes = np.zeros(image.shape, np.uint8)
    >>> strokes[2:6, 2:30] = 1; strokes[28:32, 25:40] = 2
    >>> clf = PixelClassifier(FeatureSettings(sigmas=(1, 2)), n_estimators=10)
    >>> labels = clf.fit(image, strokes).predict(image)
    >>> labels.dtype, labels[32, 32], labels[5, 60]
    (dtype('uint8'), np.uint8(2), np.uint8(1))
    """

    def __init__(
        self,
        features: FeatureSettings | None = None,
        *,
        n_estimators: int = 50,
        max_depth: int | None = 10,
        class_weight: str | None = "balanced",
        random_state: int = 0,
        class_names: Mapping[int, str] | None = None,
        n_jobs: int | None = None,
        max_samples: int | None = 10_000,
    ) -> None:
        if features is None:
            features = FeatureSettings()
        if not isinstance(features, FeatureSettings):
            raise SegLabInputError("`features` must be a FeatureSettings (or None).")
        if int(n_estimators) < 1:
            raise SegLabInputError(f"n_estimators must be at least 1, not {n_estimators}.")
        if max_depth is not None and int(max_depth) < 1:
            raise SegLabInputError(f"max_depth must be at least 1 or None, not {max_depth}.")
        if class_weight not in ("balanced", None):
            raise SegLabInputError(
                f'class_weight must be "balanced" or None, not {class_weight!r}.'
            )
        self.features = features
        self.n_estimators = int(n_estimators)
        self.max_depth = None if max_depth is None else int(max_depth)
        self.class_weight = class_weight
        self.random_state = int(random_state)
        self.class_names: dict[int, str] = {int(k): str(v) for k, v in (class_names or {}).items()}
        if max_samples is not None and int(max_samples) < 1:
            raise SegLabInputError(f"max_samples must be at least 1 or None, not {max_samples}.")
        self.n_jobs = n_jobs
        self.max_samples = None if max_samples is None else int(max_samples)
        self.classes_: np.ndarray | None = None
        self.n_channels: int | None = None
        self.feature_names_: list[str] = []
        self._forest: dict[str, np.ndarray] | None = None
        self._meta: dict[str, Any] = {}

    def __repr__(self) -> str:
        state = "unfitted" if self._forest is None else f"classes {list(self.classes_)}"
        return (
            f"PixelClassifier({state}, {len(self.feature_names_) or '?'} features, "
            f"{self.n_estimators} trees, max_depth={self.max_depth})"
        )

    @property
    def is_fitted(self) -> bool:
        """Whether the classifier was trained or loaded."""
        return self._forest is not None

    # --- training ----------------------------------------------------------------------------

    def training_data(
        self,
        images: ArrayLike | Sequence[ArrayLike],
        annotations: ArrayLike | Sequence[ArrayLike],
        *,
        channel_axis: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Features (n_pixels, n_features) and class ids (n_pixels,) of the painted pixels.

        Parameters and errors as in :meth:`fit`; the classifier itself is not changed.
        """
        x, y, _ = self._training_arrays(images, annotations, channel_axis=channel_axis)
        return x, y

    def _training_arrays(
        self,
        images: ArrayLike | Sequence[ArrayLike],
        annotations: ArrayLike | Sequence[ArrayLike],
        *,
        channel_axis: int | None,
        cache: TrainingCache | None = None,
    ) -> tuple[np.ndarray, np.ndarray, int]:
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
            source = _channels_first(image, self.features, channel_axis, name=name)
            if n_channels is not None and source.shape[0] != n_channels:
                raise SegLabInputError(
                    f"{name.capitalize()} has {source.shape[0]} channel(s) but the first has "
                    f"{n_channels}; all training images must have the same channels."
                )
            n_channels = source.shape[0]
            labels = _check_annotations(labels, source.shape[1:], name)
            mask = labels > 0
            if not mask.any():
                continue
            if cache is None:
                xs.append(_masked_features(source, self.features, mask))
            else:
                xs.append(cache._features(source, self.features, mask))
            ys.append(labels[mask])
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

    def fit(
        self,
        images: ArrayLike | Sequence[ArrayLike],
        annotations: ArrayLike | Sequence[ArrayLike],
        *,
        channel_axis: int | None = None,
        cache: TrainingCache | None = None,
    ) -> PixelClassifier:
        """Train on the painted pixels of one or several images.

        Parameters
        ----------
        images : array_like or list of array_like
            One image or several images of the same kind (same channels). Strokes may lie on
            any planes or frames.
        annotations : array_like or list of array_like
            Integer labels of each image's spatial shape: 0 = not annotated, 1..255 = classes.
        channel_axis : int, optional
            Channel axis of the images (``-1`` for RGB).
        cache : TrainingCache, optional
            Keeps the painted pixels' features for the next training (while painting): only
            newly painted pixels then need features. The result is the same without it.

        Returns
        -------
        PixelClassifier
            ``self``, trained.

        Raises
        ------
        SegLabInputError
            No strokes, only one class painted, annotations of another shape, NaN in an
            image, or images with different channel counts.
        """
        x, y, n_channels = self._training_arrays(
            images, annotations, channel_axis=channel_axis, cache=cache
        )
        return self._fit_arrays(x, y, n_channels)

    def _fit_arrays(self, x: np.ndarray, y: np.ndarray, n_channels: int) -> PixelClassifier:
        """Fit the forest on training rows from :meth:`training_data` (same feature order)."""
        from . import _forest, _kernels

        if x.shape != (y.size, len(feature_names(self.features, n_channels))):
            raise SegLabInputError(
                f"Training rows have shape {x.shape}; {y.size} rows of "
                f"{len(feature_names(self.features, n_channels))} features are needed."
            )
        previous = _kernels.set_threads(self.n_jobs)
        try:
            classes, forest = _forest.fit_forest(
                np.asarray(x, np.float32),
                y,
                n_estimators=self.n_estimators,
                max_depth=self.max_depth,
                class_weight=self.class_weight,
                max_samples=self.max_samples,
                random_state=self.random_state,
            )
        finally:
            _kernels.set_threads(previous)
        self._forest = _kernel_forest(forest)
        self.n_channels = n_channels
        self.classes_ = classes.astype(np.int64)
        self.feature_names_ = feature_names(self.features, self.n_channels)
        for class_id in self.classes_:
            self.class_names.setdefault(int(class_id), _default_class_name(int(class_id)))
        self._meta = {"n_training_pixels": int(y.size)}
        return self

    # --- prediction --------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if self._forest is None:
            raise SegLabInputError(
                "This classifier is not trained yet: call fit() (or PixelClassifier.load)."
            )

    def _run(
        self,
        image: ArrayLike,
        *,
        channel_axis: int | None,
        progress: Callable[[int, int], None] | None,
        cancel: Callable[[], bool] | None,
        want_proba: bool,
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        from . import _kernels

        self._check_fitted()
        source = _channels_first(image, self.features, channel_axis)
        if source.shape[0] != self.n_channels:
            raise SegLabInputError(
                f"This classifier was trained on images with {self.n_channels} channel(s); "
                f"this image has {source.shape[0]}. Check the channel axis (RGB: "
                "channel_axis=-1) or use a classifier trained on this kind of image."
            )
        spatial = source.shape[1:]
        n_classes = self.classes_.size
        n_features = len(self.feature_names_)
        labels = np.empty(spatial, np.uint8)
        proba = np.empty((*spatial, n_classes), np.float32) if want_proba else None
        uncertainty = np.empty(spatial, np.float32) if want_proba else None
        tiles = list(_iter_tiles(spatial, self.features, n_features))
        previous = _kernels.set_threads(self.n_jobs)
        try:
            for done, (lead, region) in enumerate(tiles, start=1):
                if cancel is not None and cancel():
                    raise Cancelled("Prediction cancelled.")
                shape = tuple(sl.stop - sl.start for sl in region)
                planar = np.empty((n_features, *shape), np.float32)
                _region_features(source[(slice(None), *lead)], self.features, region, planar)
                votes = self._votes(planar.reshape(n_features, -1), early=not want_proba)
                index = (*lead, *region)
                labels[index] = self._labels(votes).reshape(shape)
                if want_proba:
                    fractions, doubt = self._fractions(votes)
                    proba[index] = fractions.reshape(*shape, n_classes)
                    uncertainty[index] = doubt.reshape(shape)
                if progress is not None:
                    progress(done, len(tiles))
        finally:
            _kernels.set_threads(previous)
        return labels, proba, uncertainty

    def _votes(self, x: np.ndarray, *, early: bool) -> np.ndarray:
        """Summed leaf values (n, n_classes) of the forest for features `x` (F, n)."""
        from . import _kernels

        previous = _kernels.set_threads(self.n_jobs)
        try:
            return _kernels.forest_votes(x, self._forest, early=early)
        finally:
            _kernels.set_threads(previous)

    def _labels(self, votes: np.ndarray) -> np.ndarray:
        """Class id of each row of votes."""
        return self.classes_.astype(np.uint8)[np.argmax(votes, axis=1)]

    def _fractions(self, votes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities and uncertainty (1 - max probability) from full votes."""
        votes *= np.float32(1.0 / self._forest["roots"].size)
        return votes, 1.0 - votes.max(axis=1)

    def predict(
        self,
        image: ArrayLike,
        *,
        channel_axis: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        """Class id of every pixel.

        Parameters
        ----------
        image : array_like
            Image with the training images' channels (and `channel_axis`). A dask array is
            classified chunk by chunk, lazily (see
            :func:`napari_seglab.core.classifier._lazy.predict`).
        channel_axis : int, optional
        progress : callable, optional
            Called as ``progress(done, total)`` after each tile (in-memory images).
        cancel : callable, optional
            Polled before each tile; when it returns True, :class:`Cancelled` is raised and
            nothing is returned.

        Returns
        -------
        numpy.ndarray of uint8
            The image's spatial shape (a lazy dask array for a dask input).

        Raises
        ------
        SegLabInputError
            Untrained classifier, NaN, or a channel count other than the training one.
        Cancelled
            When `cancel()` returned True.
        """
        if is_lazy(image):
            from ._lazy import predict

            return predict(self, image, channel_axis=channel_axis)
        return self._run(
            image, channel_axis=channel_axis, progress=progress, cancel=cancel, want_proba=False
        )[0]

    def predict_proba(
        self,
        image: ArrayLike,
        *,
        channel_axis: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        """Class probabilities, ``spatial_shape + (n_classes,)`` float32 (order: ``classes_``).

        Arguments, errors and cancellation as in :meth:`predict`.
        """
        return self.segment(
            image, channel_axis=channel_axis, progress=progress, cancel=cancel
        ).probabilities

    def segment(
        self,
        image: ArrayLike,
        *,
        channel_axis: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> Segmentation:
        """Labels, probabilities and uncertainty in one pass over the image.

        Arguments, errors and cancellation as in :meth:`predict`.

        Returns
        -------
        Segmentation
        """
        labels, proba, uncertainty = self._run(
            image, channel_axis=channel_axis, progress=progress, cancel=cancel, want_proba=True
        )
        return Segmentation(labels, proba, uncertainty, tuple(int(c) for c in self.classes_))

    def feature_importances(self) -> dict[str, float]:
        """Mean decrease in impurity of each feature, summing to 1, largest first."""
        self._check_fitted()
        values = self._forest["importances"]
        pairs = sorted(zip(self.feature_names_, values.tolist(), strict=True), key=lambda p: -p[1])
        return dict(pairs)

    # --- files -------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write the classifier to one file (a ``.npz`` of plain arrays and a JSON header).

        Parameters
        ----------
        path : str or path-like
            Destination, conventionally ending in ``.npz``; written exactly there.

        Returns
        -------
        pathlib.Path
        """
        import numba

        from ... import __version__

        self._check_fitted()
        header = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "versions": {
                "napari_seglab": __version__,
                "numba": numba.__version__,
                "numpy": np.__version__,
            },
            "features": self.features.to_dict(),
            "feature_names": self.feature_names_,
            "n_channels": self.n_channels,
            "classes": [int(c) for c in self.classes_],
            "class_names": {str(k): v for k, v in self.class_names.items()},
            "forest": {
                "n_estimators": self.n_estimators,
                "max_depth": self.max_depth,
                "class_weight": self.class_weight,
                "random_state": self.random_state,
                "max_samples": self.max_samples,
            },
            "training": self._meta,
        }
        path = Path(path)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            header=np.frombuffer(json.dumps(header).encode(), np.uint8),
            **{name: self._forest[name] for name in _NODE_ARRAYS},
        )
        path.write_bytes(buffer.getvalue())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> PixelClassifier:
        """Read a classifier written by :meth:`save`, without executing anything from it.

        Raises
        ------
        SegLabInputError
            When the file is not a SegLab classifier, was written by a newer format, or is
            damaged or tampered with (every array is checked before use).
        """
        path = Path(path)
        if not path.is_file():
            raise SegLabInputError(f"No such classifier file: {path}")
        not_ours = (
            f"{path.name} is not a napari-seglab classifier file (expected a .npz written by "
            "PixelClassifier.save)."
        )
        try:
            with np.load(path, allow_pickle=False) as archive:
                names = set(archive.files)
                if "header" not in names:
                    raise SegLabInputError(not_ours)
                arrays = {name: archive[name] for name in names}
        except SegLabInputError:
            raise
        except ValueError as error:
            if "pickle" in str(error) or "Object arrays" in str(error):
                raise SegLabInputError(
                    f"{path.name} is not a napari-seglab classifier file: it holds pickled "
                    "Python objects, which were not loaded (loading them could run code). "
                    "The file is foreign or was tampered with."
                ) from None
            raise SegLabInputError(not_ours) from None
        except (OSError, zipfile.BadZipFile, EOFError):
            raise SegLabInputError(not_ours) from None
        try:
            header = json.loads(arrays.pop("header").astype(np.uint8).tobytes().decode())
        except (ValueError, UnicodeDecodeError):
            raise SegLabInputError(not_ours) from None
        if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
            raise SegLabInputError(not_ours)
        version = header.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
            made_by = header.get("versions", {}).get("napari_seglab", "an unknown version")
            raise SegLabInputError(
                f"{path.name} uses classifier format {version!r}, made by napari-seglab "
                f"{made_by}; this napari-seglab reads format {FORMAT_VERSION}. Update "
                "napari-seglab to open it."
            )
        try:
            return cls._from_parts(header, arrays)
        except SegLabInputError as error:
            raise SegLabInputError(f"{path.name} was refused: {error}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise SegLabInputError(
                f"{path.name} was refused: its content is damaged or was edited ({error!r})."
            ) from None

    @classmethod
    def _from_parts(cls, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> PixelClassifier:
        settings = FeatureSettings.from_dict(header["features"])
        forest_info = header["forest"]
        clf = cls(
            settings,
            n_estimators=forest_info["n_estimators"],
            max_depth=forest_info["max_depth"],
            class_weight=forest_info["class_weight"],
            random_state=forest_info["random_state"],
            max_samples=forest_info.get("max_samples"),
            class_names={int(k): v for k, v in header["class_names"].items()},
        )
        n_channels = header["n_channels"]
        if not isinstance(n_channels, int) or n_channels < 1:
            raise SegLabInputError(f"invalid channel count {n_channels!r}.")
        expected = feature_names(settings, n_channels)
        stored = list(header["feature_names"])
        if stored != expected:
            unknown = sorted(set(stored) - set(expected))
            raise SegLabInputError(
                f"its features do not match its settings (unknown feature(s): "
                f"{unknown or 'none'}; {len(stored)} stored, {len(expected)} expected)."
            )
        classes = np.asarray(header["classes"], dtype=np.int64)
        if classes.ndim != 1 or classes.size < 2 or classes.min() < 1 or classes.max() > 255:
            raise SegLabInputError(f"invalid classes {header['classes']!r}.")
        missing = [name for name in _NODE_ARRAYS if name not in arrays]
        if missing:
            raise SegLabInputError(f"missing array(s) {missing}.")
        forest = _validate_forest(
            {name: arrays[name] for name in _NODE_ARRAYS}, len(expected), classes.size
        )
        clf._forest = forest
        clf.classes_ = classes
        clf.n_channels = n_channels
        clf.feature_names_ = expected
        clf._meta = dict(header.get("training", {}))
        for class_id in classes:
            clf.class_names.setdefault(int(class_id), _default_class_name(int(class_id)))
        return clf


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

    def clear(self) -> None:
        """Forget every kept feature."""
        self._entries.clear()

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
        n_features = len(feature_names(settings, source.shape[0]))
        out = np.empty((n_features, flat.size), np.float32)
        if hit.any():
            out[:, hit] = rows[:, at[hit]]
        if not hit.all():
            new = np.zeros(mask.shape, bool)
            new.flat[flat[~hit]] = True
            out[:, ~hit] = _masked_features(source, settings, new)
        self._entries[key] = (flat, out)
        return out


class PlanePreview:
    """The features of one plane on a regular grid, kept for previews while painting.

    Painting changes only the strokes: the features of the plane in view stay the same from
    one stroke to the next. A preview keeps them for every `step`-th pixel along each axis
    (computed at full resolution, so every scale sees the same context as in
    :meth:`PixelClassifier.segment`), with `step` the smallest that keeps the grid within
    `max_pixels`. :meth:`segment` then classifies the grid and repeats each result over its
    ``step x step`` block: a plane of 2048 x 2048 seen whole on a screen is previewed at
    about the screen's resolution, for a quarter of the work of the full plane.

    Parameters
    ----------
    image : array_like
        The plane (2D features), or for 3D features a slab of planes around it; channels on
        `channel_axis`.
    settings : FeatureSettings
        The classifier's features.
    channel_axis : int, optional
        Channel axis of `image` (``-1`` for RGB).
    plane : int, optional
        For 3D features, the index of the plane to preview along the slab's first axis.
    max_pixels : int
        Largest number of grid pixels (each holds all its features in float32).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> image = rng.normal(10, 2, (256, 256)); image[80:176, 80:176] += 10
    >>> strokes = np.zeros(image.shape, np.uint8)
    >>> strokes[5:9, 5:120] = 1; strokes[120:124, 100:150] = 2
    >>> settings = FeatureSettings(sigmas=(1, 2))
    >>> preview = PlanePreview(image, settings, max_pixels=64 * 64)
    >>> preview.step
    4
    >>> clf = PixelClassifier(settings, n_estimators=10).fit(image, strokes)
    >>> labels = preview.segment(clf).labels
    >>> labels.shape, labels[128, 128], labels[20, 20]
    ((256, 256), np.uint8(2), np.uint8(1))
    """

    def __init__(
        self,
        image: ArrayLike,
        settings: FeatureSettings,
        *,
        channel_axis: int | None = None,
        plane: int | None = None,
        max_pixels: int = 2**20,
    ) -> None:
        source = _channels_first(image, settings, channel_axis)
        spatial = source.shape[1:]
        if len(spatial) != settings.ndim:
            raise SegLabInputError(
                f"A preview needs one {'slab' if settings.ndim == 3 else 'plane'} of "
                f"{settings.ndim} spatial axes; got spatial shape {spatial}."
            )
        if settings.ndim == 3 and (plane is None or not 0 <= plane < spatial[0]):
            raise SegLabInputError(f"plane={plane} is not a plane of the slab {spatial}.")
        if settings.ndim == 2 and plane is not None:
            raise SegLabInputError("`plane` is only for 3D features; pass the plane itself.")
        self.settings = settings
        self.n_channels = source.shape[0]
        self.shape = tuple(spatial[-2:])
        height, width = self.shape
        self.step = max(1, int(np.sqrt(height * width / max(max_pixels, 1))))
        while -(-height // self.step) * -(-width // self.step) > max_pixels:
            self.step += 1
        n_features = len(feature_names(settings, self.n_channels))
        grid = np.empty((n_features, -(-height // self.step), -(-width // self.step)), np.float32)
        rows = max(1, 2**23 // (n_features * width) // self.step) * self.step
        lead = () if plane is None else (slice(plane, plane + 1),)
        for top in range(0, height, rows):
            region = (*lead, slice(top, min(top + rows, height)), slice(0, width))
            planar = np.empty((n_features, *(sl.stop - sl.start for sl in region)), np.float32)
            _region_features(source, settings, region, planar)
            picked = planar.reshape(n_features, *planar.shape[-2:])[:, :: self.step, :: self.step]
            grid[:, top // self.step : top // self.step + picked.shape[1]] = picked
        self._grid = grid

    def segment(self, classifier: PixelClassifier) -> Segmentation:
        """Classify the grid; each result fills its ``step x step`` block of the plane.

        Parameters
        ----------
        classifier : PixelClassifier
            Trained with the same feature settings and channel count.

        Returns
        -------
        Segmentation
            Of the plane's shape.
        """
        votes = self._votes(classifier, early=False)
        labels = classifier._labels(votes)
        fractions, doubt = classifier._fractions(votes)
        return Segmentation(
            self._fill(labels),
            self._fill(fractions),
            self._fill(doubt),
            tuple(int(c) for c in classifier.classes_),
        )

    def predict(self, classifier: PixelClassifier) -> np.ndarray:
        """Class ids only, as :meth:`segment`'s labels but faster (as in ``predict``).

        Parameters
        ----------
        classifier : PixelClassifier
            Trained with the same feature settings and channel count.

        Returns
        -------
        numpy.ndarray of uint8
            Of the plane's shape.
        """
        return self._fill(classifier._labels(self._votes(classifier, early=True)))

    def _votes(self, classifier: PixelClassifier, *, early: bool) -> np.ndarray:
        classifier._check_fitted()
        if classifier.features != self.settings or classifier.n_channels != self.n_channels:
            raise SegLabInputError(
                "This preview was made for other features or channels than the classifier's."
            )
        return classifier._votes(self._grid.reshape(self._grid.shape[0], -1), early=early)

    def _fill(self, values: np.ndarray) -> np.ndarray:
        """Grid values repeated over their ``step x step`` blocks, cropped to the plane."""
        values = values.reshape(*self._grid.shape[1:], *values.shape[1:])
        values = np.repeat(np.repeat(values, self.step, axis=0), self.step, axis=1)
        return np.ascontiguousarray(values[: self.shape[0], : self.shape[1]])


def _check_annotations(labels: ArrayLike, spatial: tuple[int, ...], name: str) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.shape != tuple(spatial):
        raise SegLabInputError(
            f"The training labels of the {name} have shape {arr.shape} but the {name}'s "
            f"spatial shape is {tuple(spatial)}; paint in a labels layer made for this image."
        )
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
    return arr.astype(np.int64, copy=False)


def _kernel_forest(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Add the arrays the compiled traversal reads: leaves loop onto themselves."""
    is_leaf = arrays["feature"] < 0
    nodes = np.arange(is_leaf.size, dtype=np.uint32)
    return {
        **arrays,
        "k_feature": np.where(is_leaf, 0, arrays["feature"]).astype(np.uint32),
        "k_threshold": np.where(is_leaf, np.float32(np.inf), arrays["threshold"]).astype(
            np.float32
        ),
        "k_child": np.where(is_leaf, nodes, arrays["child"]).astype(np.uint32),
    }


def _validate_forest(
    arrays: dict[str, np.ndarray], n_features: int, n_classes: int
) -> dict[str, np.ndarray]:
    """Check a forest read from a file so the compiled traversal can never go astray."""
    dtypes = {
        "feature": np.int32,
        "threshold": np.float32,
        "child": np.int32,
        "leaf": np.float32,
        "roots": np.int32,
        "importances": np.float64,
    }
    for name, dtype in dtypes.items():
        if arrays[name].dtype != dtype:
            raise SegLabInputError(f"array {name!r} has type {arrays[name].dtype}, not {dtype}.")
    feature, threshold, child = arrays["feature"], arrays["threshold"], arrays["child"]
    leaf, roots = arrays["leaf"], arrays["roots"]
    n_nodes = feature.size
    if not (feature.ndim == threshold.ndim == child.ndim == roots.ndim == 1):
        raise SegLabInputError("node arrays must be one-dimensional.")
    if not (threshold.size == child.size == n_nodes) or n_nodes == 0:
        raise SegLabInputError("node arrays have different lengths.")
    if leaf.shape != (n_nodes, n_classes):
        raise SegLabInputError(f"leaf values have shape {leaf.shape}, not {(n_nodes, n_classes)}.")
    if roots.size < 1 or roots[0] != 0 or np.any(np.diff(roots) <= 0) or roots[-1] >= n_nodes:
        raise SegLabInputError("tree offsets are inconsistent.")
    internal = feature >= 0
    if np.any(feature[~internal] != -1) or np.any(feature >= n_features):
        raise SegLabInputError(
            f"a node uses a feature outside the {n_features} this classifier computes."
        )
    # Children come after their parent and inside the parent's tree, so every traversal
    # ends at a leaf of the same tree.
    ends = np.append(roots[1:], n_nodes)
    tree_end = np.repeat(ends, np.diff(np.append(roots, n_nodes)))
    nodes = np.arange(n_nodes)
    if np.any(internal & ((child <= nodes) | (child + 1 >= tree_end))) or np.any(
        child[~internal] != -1
    ):
        raise SegLabInputError("a tree links to nodes outside itself.")
    if not np.all(np.isfinite(threshold[internal])):
        raise SegLabInputError("a split threshold is not a finite number.")
    if not np.all(np.isfinite(leaf)) or np.any(leaf < 0) or np.any(leaf > 1 + 1e-5):
        raise SegLabInputError("leaf probabilities are not between 0 and 1.")
    importances = arrays["importances"]
    if importances.shape != (n_features,) or not np.all(np.isfinite(importances)):
        raise SegLabInputError("feature importances do not match the features.")
    return _kernel_forest({name: np.ascontiguousarray(arrays[name]) for name in _NODE_ARRAYS})
