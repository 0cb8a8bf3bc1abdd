"""The pixel classifier's typed values: images, strokes, settings, plans and results.

Plain frozen dataclasses, without Qt or napari: :class:`~.session.ClassifierSession` makes
the plans, :func:`.jobs.run` turns a :class:`Plan` into a :class:`Result`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from ...core._validation import SegLabInputError

if TYPE_CHECKING:
    from ...core.classifier import FeatureSettings, PixelClassifier, PlanePreview
    from .view import ViewRegion

__all__ = [
    "Forest",
    "ImageSource",
    "KeptPreview",
    "Model",
    "Output",
    "Plan",
    "Request",
    "Result",
    "Scope",
    "Target",
    "TrainPlan",
    "Training",
]


class Scope(StrEnum):
    """Where the widget applies the classifier."""

    PLANE = "plane in view"
    ALL = "whole image / stack"
    OTHER = "another image"

    @classmethod
    def parse(cls, value: Scope | str) -> Scope:
        """Accept a member, its value (``"plane in view"``) or its name (``"plane"``)."""
        if isinstance(value, cls):
            return value
        try:
            return cls[str(value).upper()]
        except KeyError:
            return cls(value)


@dataclass(frozen=True, eq=False)
class ImageSource:
    """The image the classifier sees: one array (grayscale or RGB) or several as channels.

    Parameters
    ----------
    names : tuple of str
        One name per array (the first names the outputs: ``"<name> segmentation"``).
    arrays : tuple of array_like
        Numpy, dask or zarr arrays of the same shape; only the planes needed are read.
    rgb : bool
        Whether the single array has colour channels last.
    scale : tuple of float, optional
        Pixel size along each spatial axis (the anisotropy of 3D features).
    multiscale : tuple of bool, optional
        Per array, whether it is a pyramid (napari's ``multiscale``; none when empty), which
        the classifier refuses (see :meth:`check`).
    ids : tuple, optional
        Identities of the arrays' layers (napari's ``unique_id``), which survive a rename;
        the session tells images apart by them (by the names without them).
    """

    names: tuple[str, ...]
    arrays: tuple[Any, ...]
    rgb: bool = False
    scale: tuple[float, ...] | None = None
    multiscale: tuple[bool, ...] = ()
    ids: tuple = ()

    @classmethod
    def of(cls, *layers: Any) -> ImageSource:
        """The image of napari Image layers (read: ``name``, ``data``, ``rgb``, ``scale``)."""
        return cls(
            names=tuple(layer.name for layer in layers),
            arrays=tuple(layer.data for layer in layers),
            rgb=bool(layers[0].rgb),
            scale=tuple(float(s) for s in layers[0].scale),
            multiscale=tuple(bool(layer.multiscale) for layer in layers),
            ids=tuple(layer.unique_id for layer in layers),
        )

    @property
    def name(self) -> str:
        return self.names[0]

    @property
    def key(self) -> tuple:
        """What tells this image apart: its layers' ids, else its names."""
        return self.ids or self.names

    @property
    def lazy(self) -> bool:
        """Whether the data is not a numpy array (dask, zarr: possibly larger than memory)."""
        return not all(isinstance(array, np.ndarray) for array in self.arrays)

    @property
    def channel_axis(self) -> int | None:
        return -1 if len(self.arrays) > 1 or self.rgb else None

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        shape = tuple(self.arrays[0].shape)
        return shape[:-1] if self.rgb else shape

    @property
    def n_channels(self) -> int:
        if len(self.arrays) > 1:
            return len(self.arrays)
        return self.arrays[0].shape[-1] if self.rgb else 1

    def spacing(self, ndim: int) -> tuple[float, ...]:
        """Pixel size along the last `ndim` spatial axes (1 where no scale is known)."""
        scale = self.scale or (1.0,) * len(self.spatial_shape)
        return tuple(float(s) for s in scale[-ndim:])

    def check(self) -> None:
        """Refuse, with a clear message, what the classifier cannot read plane by plane."""
        pyramids = [n for n, m in zip(self.names, self.multiscale, strict=False) if m]
        if pyramids:
            name = pyramids[0]
            level = f"viewer.layers[{name!r}]"
            raise SegLabInputError(
                f"'{name}' is a multiscale (pyramid) image: the pixel classifier cannot "
                "paint on or train from it. Add its full-resolution level as a layer of its "
                f"own (napari's console: viewer.add_image({level}.data[0], scale={level}.scale)"
                "; it stays lazy), train on that and save the classifier, then apply it to the "
                "whole pyramid with Layers > Segment > Apply to whole volume."
            )
        if self.rgb and len(self.arrays) > 1:
            raise SegLabInputError(
                f"'{self.name}' is an RGB layer: use it alone, not as one of several channels."
            )
        shapes = {tuple(array.shape) for array in self.arrays}
        if len(shapes) > 1:
            listed = ", ".join(
                f"'{n}' {tuple(a.shape)}" for n, a in zip(self.names, self.arrays, strict=True)
            )
            raise SegLabInputError(f"Channel layers must all have the same shape: {listed}.")

    def array(self, index: tuple = ()) -> np.ndarray:
        """The image data (channels last), optionally indexed over the leading spatial axes."""
        if len(self.arrays) == 1:
            return np.asarray(self.arrays[0][index])
        return np.stack([np.asarray(array[index]) for array in self.arrays], axis=-1)


@dataclass(frozen=True, eq=False)
class Training:
    """Strokes painted for one image: 0 = not annotated, 1, 2, ... = classes.

    `strokes` has the image's spatial shape; only its painted planes are read (a training
    layer made by ``sparse_zeros`` is never read whole). `name` is used in messages.
    """

    image: ImageSource
    strokes: Any
    name: str = "strokes"


class Model(StrEnum):
    """What learns from the strokes: SegLab's forest or one of a few scikit-learn classifiers."""

    SEGLAB = "SegLab forest (fast)"
    EXTRA_TREES = "Extra trees"
    RANDOM_FOREST = "Random forest"
    GRADIENT_BOOSTING = "Histogram gradient boosting"
    LOGISTIC = "Logistic regression"

    @classmethod
    def of(cls, estimator: Any) -> Model | None:
        """The choice that makes `estimator` (None: SegLab's forest); None if none does."""
        if estimator is None:
            return cls.SEGLAB
        from sklearn.pipeline import Pipeline

        final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
        kinds = {
            "ExtraTreesClassifier": cls.EXTRA_TREES,
            "RandomForestClassifier": cls.RANDOM_FOREST,
            "HistGradientBoostingClassifier": cls.GRADIENT_BOOSTING,
            "LogisticRegression": cls.LOGISTIC,
        }
        return kinds.get(type(final).__name__)


@dataclass(frozen=True)
class Forest:
    """The model and its main settings (see ``PixelClassifier`` and scikit-learn's classes).

    `n_estimators` and `max_depth` are the trees' (SegLab's forest, extra trees, random
    forest), `learning_rate` and `max_iter` the gradient boosting's, `c` the logistic
    regression's inverse regularisation; `class_weight` applies to all.
    """

    n_estimators: int = 50
    max_depth: int | None = 10
    class_weight: str | None = "balanced"
    model: Model = Model.SEGLAB
    learning_rate: float = 0.1
    max_iter: int = 100
    c: float = 1.0

    def estimator(self) -> Any:
        """The scikit-learn classifier of `model`, unfitted; None for SegLab's forest."""
        if self.model is Model.SEGLAB:
            return None
        from sklearn.ensemble import (
            ExtraTreesClassifier,
            HistGradientBoostingClassifier,
            RandomForestClassifier,
        )
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        weight = {"class_weight": self.class_weight, "random_state": 0}
        trees = {"n_estimators": self.n_estimators, "max_depth": self.max_depth, "n_jobs": -1}
        if self.model is Model.EXTRA_TREES:
            return ExtraTreesClassifier(**trees, **weight)
        if self.model is Model.RANDOM_FOREST:
            return RandomForestClassifier(**trees, **weight)
        if self.model is Model.GRADIENT_BOOSTING:
            return HistGradientBoostingClassifier(
                learning_rate=self.learning_rate, max_iter=self.max_iter, **weight
            )
        return make_pipeline(
            StandardScaler(), LogisticRegression(C=self.c, max_iter=1000, **weight)
        )


@dataclass(frozen=True)
class Request:
    """What a live update brings up to date: strokes and settings, image, plane, view."""

    key: bytes
    image: tuple  # the image's key (ImageSource.key)
    plane: tuple[int, ...] | None
    view: ViewRegion | None = None


@dataclass(frozen=True, eq=False)
class TrainPlan:
    """A training: the images, copies of their painted planes, and the settings."""

    images: tuple[ImageSource, ...]
    annotations: tuple[dict[tuple[int, ...], np.ndarray], ...]
    settings: FeatureSettings
    forest: Forest
    names: dict[int, str]
    key: bytes
    cache: Any  # the session's TrainingCache


@dataclass(frozen=True, eq=False)
class KeptPreview:
    """A plane's preview features, kept while painting; `key` says which plane and settings."""

    key: tuple
    preview: PlanePreview


@dataclass(frozen=True, eq=False)
class Target:
    """An image to segment: one plane (leading-axis index, ``()`` for 2D) or all (None)."""

    source: ImageSource
    plane: tuple[int, ...] | None = None


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything :func:`.jobs.run` needs, gathered on the caller's thread."""

    target: Target
    classifier: PixelClassifier | None
    digests: dict
    train: TrainPlan | None = None
    check_edit: bool = False
    live: bool = False
    preview: tuple[KeptPreview, ...] = ()  # from the last live update
    request: Request | None = None
    view: ViewRegion | None = None  # the part of the plane on screen, segmented first
    covered: Any = None  # a live plane's pixels already segmented by this classifier (bool)
    stack: bool = False  # a live update goes on to the whole stack once the plane is done
    probability_of: int | None = None
    foreground: int | None = None


@dataclass(frozen=True, eq=False)
class Output:
    """One image's result: class ids, the foreground mask, probability and uncertainty.

    A live update's first results have labels and foreground only: at screen resolution
    (`step` > 1: every `step`-th pixel's class, repeated over its block), then in full. With
    `region` (rows, columns of `plane`) the arrays hold that part of the plane only.
    """

    source: ImageSource
    plane: tuple[int, ...] | None
    labels: np.ndarray
    foreground: np.ndarray
    probability: np.ndarray | None = None
    uncertainty: np.ndarray | None = None
    region: tuple[slice, slice] | None = None
    step: int = 1

    @property
    def index(self) -> tuple | None:
        """Where the arrays go in the image: the plane, narrowed to `region` (None: all)."""
        if self.plane is None:
            return None
        return self.plane if self.region is None else (*self.plane, *self.region)


@dataclass(frozen=True, eq=False)
class Result:
    """What a run brings back: outputs, a message, and the classifier if it trained one."""

    outputs: tuple[Output, ...]
    class_names: dict[int, str]
    message: str
    probability_of: int | None = None
    foreground: int | None = None
    classifier: PixelClassifier | None = None
    key: bytes | None = None
    digests: dict = field(default_factory=dict)
    preview: tuple[KeptPreview, ...] | None = None  # None: keep the previews already kept
