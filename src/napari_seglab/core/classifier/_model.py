"""Pixel classifier: a random forest on multiscale features, trained from brush strokes.

Training computes features only around the painted pixels (:mod:`._training`) and grows a
random forest on them (:mod:`._forest`: scikit-learn's algorithm on binned features, compiled,
fast enough to retrain on every brush stroke). The trees are plain arrays, which a compiled
(numba) traversal (:mod:`._traversal`) applies tile by tile over float32 features, so
prediction is fast and memory stays bounded. The same arrays are what a model file holds
(:mod:`._model_file`). Any scikit-learn classifier can take the forest's place
(``estimator=``): it learns from the same rows and predicts through the same tiles
(:mod:`._estimator`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import is_lazy
from .._validation import SegLabInputError
from . import _lazy, _model_file
from ._apply import Segmentation, classify, classify_image, feature_rows
from ._estimator import SegLabForest, SklearnEstimator, check_estimator
from ._tiles import NOT_GIVEN, channel_axis_of
from ._training import TrainingCache, check_named, training_rows
from .features import FeatureSettings, feature_names

__all__ = ["PixelClassifier", "Segmentation"]


def _check_options(
    features: Any, n_estimators: int, max_depth: Any, class_weight: Any, max_samples: Any
) -> None:
    if not isinstance(features, FeatureSettings):
        raise SegLabInputError("`features` must be a FeatureSettings (or None).")
    if int(n_estimators) < 1:
        raise SegLabInputError(f"n_estimators must be at least 1, not {n_estimators}.")
    if max_depth is not None and int(max_depth) < 1:
        raise SegLabInputError(f"max_depth must be at least 1 or None, not {max_depth}.")
    if class_weight not in ("balanced", None):
        raise SegLabInputError(f'class_weight must be "balanced" or None, not {class_weight!r}.')
    if max_samples is not None and int(max_samples) < 1:
        raise SegLabInputError(f"max_samples must be at least 1 or None, not {max_samples}.")


def _default_class_name(class_id: int) -> str:
    return {1: "background", 2: "foreground"}.get(class_id, f"class {class_id}")


class PixelClassifier:
    """Pixel classifier trained from painted strokes: SegLab's forest or any scikit-learn one.

    Parameters
    ----------
    features : FeatureSettings, optional
        Features to compute (default: ``FeatureSettings()``: intensity, edges, Hessian
        eigenvalues, Laplacian and difference of Gaussians at scales 0.5, 1, 2, 4, 8, per
        plane, of each channel and, for an RGB image, of its luminance).
    estimator : scikit-learn classifier, optional
        Learn with this classifier instead of SegLab's forest (e.g.
        ``ExtraTreesClassifier()``, ``HistGradientBoostingClassifier()``, a ``Pipeline``
        ending in a classifier): :meth:`fit` fits a clone of it (``sklearn.base.clone``) on the
        same training rows, and prediction takes its ``predict_proba`` (a one-hot of
        ``predict`` where it has none) tile by tile. The forest options below are then unused.
        Such a classifier is saved with skops (see :meth:`save`).
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
        Threads for features, training and prediction (default: all cores); an `estimator`
        trains and predicts with its own ``n_jobs``.
    max_samples : int or None
        Painted pixels each tree learns from (a bootstrap sample, as scikit-learn's
        ``max_samples``; scikit-image's trainable-segmentation example uses 5 %); ``None``
        uses as many as were painted. Neighbouring painted pixels are nearly identical, so
        the cap keeps training fast (and live updates responsive) when large areas are
        painted; benchmarks/ measures its effect on accuracy.

    Attributes
    ----------
    estimator : scikit-learn classifier or None
        As given (never fitted itself).
    estimator_ : scikit-learn classifier or None
        The fitted clone of `estimator` (after :meth:`fit` or :meth:`load`).
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

    Any scikit-learn classifier learns from the same strokes:

    >>> from sklearn.ensemble import ExtraTreesClassifier
    >>> other = PixelClassifier(
    ...     FeatureSettings(sigmas=(1, 2)), estimator=ExtraTreesClassifier(10, random_state=0)
    ... )
    >>> other.fit(image, strokes).predict(image)[32, 32]
    np.uint8(2)
    """

    def __init__(
        self,
        features: FeatureSettings | None = None,
        *,
        estimator: Any = None,
        n_estimators: int = 50,
        max_depth: int | None = 10,
        class_weight: str | None = "balanced",
        random_state: int = 0,
        class_names: Mapping[int, str] | None = None,
        n_jobs: int | None = None,
        max_samples: int | None = 10_000,
    ) -> None:
        features = FeatureSettings() if features is None else features
        _check_options(features, n_estimators, max_depth, class_weight, max_samples)
        if estimator is not None:
            check_estimator(estimator)
        self.estimator = estimator
        self.features = features
        self.n_estimators = int(n_estimators)
        self.max_depth = None if max_depth is None else int(max_depth)
        self.class_weight = class_weight
        self.random_state = int(random_state)
        self.class_names: dict[int, str] = {int(k): str(v) for k, v in (class_names or {}).items()}
        self.n_jobs = n_jobs
        self.max_samples = None if max_samples is None else int(max_samples)
        self.classes_: np.ndarray | None = None
        self.n_channels: int | None = None
        self.feature_names_: list[str] = []
        self._model: SegLabForest | SklearnEstimator | None = None
        self._meta: dict[str, Any] = {}

    def __repr__(self) -> str:
        state = "unfitted" if self._model is None else f"classes {list(self.classes_)}"
        learner = (
            f"{self.n_estimators} trees, max_depth={self.max_depth}"
            if self.estimator is None
            else type(self.estimator).__name__
        )
        return f"PixelClassifier({state}, {len(self.feature_names_) or '?'} features, {learner})"

    @property
    def is_fitted(self) -> bool:
        """Whether the classifier was trained or loaded."""
        return self._model is not None

    @property
    def estimator_(self) -> Any:
        """The fitted clone of `estimator` (None for SegLab's forest or before training)."""
        return self._model.fitted if isinstance(self._model, SklearnEstimator) else None

    # --- training ----------------------------------------------------------------------------

    def fit(
        self,
        images: ArrayLike | Sequence[ArrayLike],
        annotations: ArrayLike | Sequence[ArrayLike],
        *,
        channel_axis: int | None = NOT_GIVEN,
        cache: TrainingCache | None = None,
    ) -> PixelClassifier:
        """Train on the painted pixels of one or several images.

        Parameters
        ----------
        images : array_like or list of array_like
            One image or several images of the same kind (same channels). Strokes may lie on
            any planes or frames. Of a dask image (or dask annotations), only the planes
            (volumes, in 3D) holding strokes are read, around the strokes.
        annotations : array_like or list of array_like
            Integer labels of each image's spatial shape: 0 = not annotated, 1..255 = classes.
        channel_axis : int or None, optional
            Channel axis of the images (``-1`` for RGB). Not given, an image of shape
            ``(..., Y, X, 3 or 4)`` is refused as looking RGB(A): pass ``-1`` for its colours,
            or ``None`` explicitly if its last axis is spatial.
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
            No strokes, only one class painted, a painted class missing from `class_names`
            (when given), annotations of another shape, NaN in an image, images with
            different channel counts, an RGB-looking image without `channel_axis`, or an
            `estimator` that fails to train on the rows (its message is given).
        """
        first = images[0] if isinstance(images, list | tuple) and images else images
        channel_axis = channel_axis_of(first, channel_axis)
        x, y, n_channels = self._training_arrays(
            images, annotations, channel_axis=channel_axis, cache=cache
        )
        check_named(self.class_names, y)
        return self._fit_arrays(x, y, n_channels)

    def _training_arrays(
        self,
        images: ArrayLike | Sequence[ArrayLike],
        annotations: ArrayLike | Sequence[ArrayLike],
        *,
        channel_axis: int | None,
        cache: TrainingCache | None = None,
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Training rows (n, F), class ids and channel count (:func:`._training.training_rows`)."""
        return training_rows(
            self.features, images, annotations, channel_axis=channel_axis, cache=cache
        )

    def _fit_arrays(self, x: np.ndarray, y: np.ndarray, n_channels: int) -> PixelClassifier:
        """Fit the model on rows from :meth:`_training_arrays` (same feature order)."""
        n_features = len(feature_names(self.features, n_channels))
        if x.shape != (y.size, n_features):
            raise SegLabInputError(
                f"Training rows have shape {x.shape}; {y.size} rows of {n_features} features "
                "are needed."
            )
        model = self._new_model().fit(x, y)
        return self._trained(model, n_channels, {"n_training_pixels": int(y.size)})

    def _new_model(self) -> SegLabForest | SklearnEstimator:
        """An unfitted model of this classifier's options."""
        if self.estimator is not None:
            return SklearnEstimator(self.estimator)
        return SegLabForest(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            class_weight=self.class_weight,
            max_samples=self.max_samples,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )

    def _trained(
        self, model: SegLabForest | SklearnEstimator, n_channels: int, meta: dict
    ) -> PixelClassifier:
        """Take a fitted (or read and checked) model as this classifier's."""
        self._model = model
        self.n_channels = int(n_channels)
        self.classes_ = np.asarray(model.classes_).astype(np.int64)
        self.feature_names_ = feature_names(self.features, self.n_channels)
        for class_id in self.classes_:
            self.class_names.setdefault(int(class_id), _default_class_name(int(class_id)))
        self._meta = meta
        return self

    # --- prediction --------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if self._model is None:
            raise SegLabInputError(
                "This classifier is not trained yet: call fit() (or PixelClassifier.load)."
            )

    def predict(
        self,
        image: ArrayLike,
        *,
        channel_axis: int | None = NOT_GIVEN,
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
        channel_axis = channel_axis_of(image, channel_axis)
        if is_lazy(image):
            return _lazy.predict(self, image, channel_axis=channel_axis)
        self._check_fitted()
        return classify_image(
            self,
            image,
            channel_axis=channel_axis,
            progress=progress,
            cancel=cancel,
            want_proba=False,
        )[0]

    def predict_proba(
        self,
        image: ArrayLike,
        *,
        channel_axis: int | None = NOT_GIVEN,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        """Class probabilities, ``spatial_shape + (n_classes,)`` float32 (order: ``classes_``).

        Arguments, errors and cancellation as in :meth:`predict`; lazy for a dask image.
        """
        return self.segment(
            image, channel_axis=channel_axis, progress=progress, cancel=cancel
        ).probabilities

    def segment(
        self,
        image: ArrayLike,
        *,
        channel_axis: int | None = NOT_GIVEN,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> Segmentation:
        """Labels, probabilities and uncertainty in one pass over the image.

        Arguments, errors and cancellation as in :meth:`predict`.

        Returns
        -------
        Segmentation
            Of dask arrays for a dask image, computed chunk by chunk (all three in one pass
            when computed together, e.g. ``dask.compute(*result[:3])``).
        """
        classes = tuple(int(c) for c in self.classes_) if self.is_fitted else ()
        channel_axis = channel_axis_of(image, channel_axis)
        if is_lazy(image):
            return Segmentation(*_lazy.segment(self, image, channel_axis=channel_axis), classes)
        self._check_fitted()
        labels, proba, uncertainty = classify_image(
            self,
            image,
            channel_axis=channel_axis,
            progress=progress,
            cancel=cancel,
            want_proba=True,
        )
        return Segmentation(labels, proba, uncertainty, classes)

    def predict_features(self, features: ArrayLike) -> np.ndarray:
        """Class id of each pixel whose features are given (as :meth:`predict` on an image).

        Parameters
        ----------
        features : array_like
            ``(..., n_features)``, the last axis in the order of ``feature_names_``: e.g.
            :func:`compute_features` of an image (or of a mask's pixels).

        Returns
        -------
        numpy.ndarray of uint8
            ``features.shape[:-1]``.

        Examples
        --------
        >>> import numpy as np
        >>> from napari_seglab.core.classifier import compute_features
        >>> rng = np.random.default_rng(0)
        >>> image = rng.normal(10, 2, (64, 64)); image[20:44, 20:44] += 10
        >>> strokes = np.zeros(image.shape, np.uint8)
        >>> strokes[2:6, 2:30] = 1; strokes[28:32, 25:40] = 2
        >>> clf = PixelClassifier(FeatureSettings(sigmas=(1, 2)), n_estimators=10)
        >>> rows = compute_features(image, clf.features, mask=image > 18)
        >>> clf.fit(image, strokes).predict_features(rows).shape == ((image > 18).sum(),)
        True
        """
        self._check_fitted()
        x, shape = feature_rows(features, len(self.feature_names_))
        return classify(self, x, want_proba=False)[0].reshape(shape)

    def segment_features(self, features: ArrayLike) -> Segmentation:
        """Labels, probabilities and uncertainty of pixels whose features are given.

        Parameters as in :meth:`predict_features`.

        Returns
        -------
        Segmentation
            Of ``features.shape[:-1]`` (probabilities: ``+ (n_classes,)``).
        """
        self._check_fitted()
        x, shape = feature_rows(features, len(self.feature_names_))
        labels, proba, uncertainty = classify(self, x, want_proba=True)
        return Segmentation(
            labels.reshape(shape),
            proba.reshape(*shape, -1),
            uncertainty.reshape(shape),
            tuple(int(c) for c in self.classes_),
        )

    def feature_importances(self) -> dict[str, float]:
        """Mean decrease in impurity of each feature, summing to 1, largest first.

        Empty for an `estimator` without ``feature_importances_`` (e.g. a linear model or a
        ``Pipeline``).
        """
        self._check_fitted()
        values = self._model.feature_importances_
        if values is None:
            return {}
        pairs = sorted(zip(self.feature_names_, values.tolist(), strict=True), key=lambda p: -p[1])
        return dict(pairs)

    # --- files -------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write the classifier to one file, which :meth:`load` reads without running code.

        SegLab's forest is written as a ``.npz`` of plain arrays and a JSON header; a
        classifier with an `estimator` as a skops file (``skops.io``, never pickle), which
        :meth:`load` opens only if it holds nothing but the scikit-learn and numpy types of
        :data:`~._model_file.TRUSTED_TYPES`.

        Parameters
        ----------
        path : str or path-like
            Destination, conventionally ending in ``.npz`` (SegLab's forest) or ``.skops``
            (an `estimator`); written exactly there.

        Returns
        -------
        pathlib.Path
        """
        self._check_fitted()
        return _model_file.write(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> PixelClassifier:
        """Read a classifier written by :meth:`save`, without executing anything from it.

        Raises
        ------
        SegLabInputError
            When the file is not a SegLab classifier, was written by a newer format, is
            damaged or tampered with (every array is checked before use), or is a skops file
            holding a type outside :data:`~._model_file.TRUSTED_TYPES` (named in the message;
            nothing of the file is loaded then).
        """
        return _model_file.read(cls, path)
