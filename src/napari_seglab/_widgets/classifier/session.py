"""The pixel classifier's state, without Qt: what a script, a test and the widget all drive.

A :class:`ClassifierSession` holds the trained classifier, the features of painted pixels kept
between trainings (:class:`~napari_seglab.core.classifier.TrainingCache`), the plane preview
kept while painting, and digests of the planes trained on (to notice an image edited after
training). Each step is planned here on the caller's thread (:meth:`ClassifierSession.
plan_training`, :meth:`~ClassifierSession.plan_apply`: copies of the strokes, checks with a
clear message), computed by :func:`.jobs.run` (in the widget: off the GUI thread), and its
:class:`Result` taken back with :meth:`~ClassifierSession.accept`. :meth:`~ClassifierSession.
train` and :meth:`~ClassifierSession.apply` do all three at once.

Images come as :class:`~.plans.ImageSource`: arrays with names, so the session never sees a
layer; plans and results are the frozen dataclasses of :mod:`.plans`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...core._validation import SegLabInputError, fingerprint
from ...core.classifier import FeatureSettings, PixelClassifier, PlanePreview, TrainingCache
from . import jobs
from .jobs import feature_budget, painted_labels, strokes_of
from .plans import (
    Forest,
    ImageSource,
    KeptPreview,
    Plan,
    Request,
    Result,
    Target,
    Training,
    TrainPlan,
)
from .view import ViewRegion

__all__ = ["NO_CLASSIFIER", "ClassifierSession"]

NO_CLASSIFIER = "Train or load a classifier first."
DEFAULT_FOREST = Forest()


class ClassifierSession:
    """A pixel classifier trained from strokes, with what it keeps between steps.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_seglab.core.classifier import FeatureSettings
    >>> from napari_seglab._widgets.classifier.plans import Forest, ImageSource, Training
    >>> rng = np.random.default_rng(0)
    >>> image = rng.normal(10, 2, (64, 64)); image[20:44, 20:44] += 10
    >>> strokes = np.zeros(image.shape, np.uint8)
    >>> strokes[2:6, 2:30] = 1; strokes[28:32, 25:40] = 2
    >>> source = ImageSource(names=("cells",), arrays=(image,))
    >>> session = ClassifierSession()
    >>> result = session.train(
    ...     [Training(source, strokes)], settings=FeatureSettings(sigmas=(1, 2)),
    ...     forest=Forest(n_estimators=10), class_names=["background", "cell"], foreground=2,
    ... )
    >>> result.message
    "Trained on 172 painted pixels. Segmented 'cells' into 2 classes: the whole image."
    >>> session.apply(source).outputs[0].labels[32, 32]
    np.uint8(2)
    """

    def __init__(self) -> None:
        self._classifier: PixelClassifier | None = None
        self._trained_key: bytes | None = None  # strokes + settings the classifier was fit on
        # image keys -> (planes read, their digest) at training, to notice later edits
        self._digests: dict[tuple[str, ...], tuple[list, bytes]] = {}
        # (image key, plane) -> its pixels segmented at full resolution by this classifier
        self._covered: dict[tuple, np.ndarray] = {}
        self._stack_done: set[tuple] = set()  # image keys segmented whole by this classifier
        self._preview: tuple[KeptPreview, ...] = ()  # features kept while painting
        self._cache = TrainingCache()

    @property
    def classifier(self) -> PixelClassifier | None:
        """The fitted (or loaded) classifier, or ``None``."""
        return self._classifier

    @property
    def preview(self) -> PlanePreview | None:
        """The first preview kept from the last live update (the part on screen, at full
        resolution when its features fit), or ``None``."""
        return self._preview[0].preview if self._preview else None

    def drop_preview(self) -> None:
        """Forget the kept previews (up to jobs.PREVIEW_BYTES of features, worth it while
        painting)."""
        self._preview = ()

    def covered(self, image: tuple, plane: tuple[int, ...]) -> np.ndarray | None:
        """The pixels of a plane the current classifier has segmented in full (bool), or None.

        `image` is the image's key (:attr:`~.plans.ImageSource.key`); the live update fills
        this in as it goes (the part in view first) and starts anew with each training.
        """
        return self._covered.get((image, plane))

    # ------------------------------------------------------------------ plans
    def request(
        self,
        training: Sequence[Training],
        *,
        settings: FeatureSettings,
        forest: Forest = DEFAULT_FOREST,
        plane: tuple[int, ...] | None = None,
        view: ViewRegion | None = None,
    ) -> Request:
        """What a live update with these strokes and settings would bring up to date."""
        _check_training(training)
        annotations = _painted(training, settings)
        return self._request(training, annotations, settings, forest, plane, view)

    def plan_training(
        self,
        training: Sequence[Training],
        *,
        settings: FeatureSettings,
        forest: Forest = DEFAULT_FOREST,
        class_names: Sequence[str] = (),
        plane: tuple[int, ...] | None = None,
        live: bool = False,
        probability_of: int | None = None,
        foreground: int | None = None,
        view: ViewRegion | None = None,
        stack: bool = False,
    ) -> Plan | None:
        """Plan a training on `training` (the first image is segmented: `plane`, or all).

        Raises :class:`SegLabInputError` (no strokes, one class, shapes or channels that do
        not match). With ``live=True`` (and a `plane`) the part of the plane in `view` comes
        first, at screen resolution then in full, then the rest of the plane, then with
        `stack` the whole image; parts already segmented by the current classifier are
        skipped, and ``None`` is returned when nothing is left to do.
        """
        _check_training(training)
        annotations = _painted(training, settings)
        request = self._request(training, annotations, settings, forest, plane, view)
        train = None
        stack = stack and len(training[0].image.spatial_shape) > 2
        covered = self._covered.get((request.image, plane)) if live else None
        if live and request.key == self._trained_key:
            stack = stack and request.image not in self._stack_done
            if self._classifier is None or (covered is not None and covered.all() and not stack):
                return None
        else:
            covered = None
            names = _painted_classes(training, annotations, list(class_names))
            train = TrainPlan(
                images=tuple(t.image for t in training),
                annotations=tuple(annotations),
                settings=settings,
                forest=forest,
                names=names,
                key=request.key,
                cache=self._cache,
            )
        return Plan(
            target=Target(training[0].image, plane),
            classifier=self._classifier,
            digests=self._digests,
            train=train,
            live=live,
            preview=self._preview if live else (),
            request=request,
            view=view,
            covered=None if covered is None else covered.copy(),
            stack=stack and live,
            probability_of=probability_of,
            foreground=foreground,
        )

    def plan_apply(
        self,
        image: ImageSource,
        *,
        plane: tuple[int, ...] | None = None,
        probability_of: int | None = None,
        foreground: int | None = None,
    ) -> Plan:
        """Plan segmenting `image` (one `plane`, or all) with the current classifier."""
        if self._classifier is None:
            raise SegLabInputError(NO_CLASSIFIER)
        image.check()
        return Plan(
            target=Target(image, plane),
            classifier=self._classifier,
            digests=self._digests,
            check_edit=image.key in self._digests,
            probability_of=probability_of,
            foreground=foreground,
        )

    def _request(self, training, annotations, settings, forest, plane, view) -> Request:
        planes = [(index, p) for strokes in annotations for index, p in strokes.items()]
        names = [t.image.key for t in training]
        extra = repr((settings, forest, names, [i for i, _ in planes]))
        key = fingerprint(*(p for _, p in planes)) + extra.encode()
        return Request(key, training[0].image.key, plane, view)

    # ------------------------------------------------------------------ results
    def accept(self, result: Result, *, keep_preview: bool = True) -> None:
        """Take a run's result: its classifier (if it trained one), the kept previews, and
        which pixels of a live plane are up to date."""
        if result.preview is not None:
            self._preview = _merged(result.preview, self._preview) if keep_preview else ()
        if result.classifier is not None and result.classifier is not self._classifier:
            self._classifier = result.classifier
            self._trained_key = result.key
            self._digests = result.digests
            self._covered, self._stack_done = {}, set()
        for output in result.outputs:
            if output.probability is None:
                continue
            if output.plane is None:
                self._stack_done.add(output.source.key)
                continue
            where = (output.source.key, output.plane)
            shape = output.source.spatial_shape[-2:]
            covered = self._covered.setdefault(where, np.zeros(shape, bool))
            covered[output.region or ()] = True

    def complete(
        self,
        plan: Plan,
        *,
        cancel: Callable[[], bool] = lambda: False,
        progress: Callable[[float], None] = lambda fraction: None,
    ) -> Result:
        """Run `plan` here, to the end, and accept its result (and any preview before it)."""
        steps = jobs.run(plan, cancel, progress)
        while True:
            try:
                partial = next(steps)
            except StopIteration as stop:
                self.accept(stop.value)
                return stop.value
            if partial is not None:
                self.accept(partial)

    def train(self, training: Sequence[Training], **options: Any) -> Result:
        """Plan and run a training (options of :meth:`plan_training`); whole image by default."""
        return self.complete(self.plan_training(training, **options))

    def apply(self, image: ImageSource, **options: Any) -> Result:
        """Segment `image` with the current classifier (options of :meth:`plan_apply`)."""
        return self.complete(self.plan_apply(image, **options))

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike) -> Path:
        """Save the classifier (model, features, class names, versions) to `path`."""
        if self._classifier is None:
            raise SegLabInputError("There is no classifier to save yet: train one first.")
        return self._classifier.save(path)

    def load(self, path: str | os.PathLike) -> PixelClassifier:
        """Load a classifier saved by SegLab (no code is executed); it replaces the current one."""
        classifier = PixelClassifier.load(path)
        self._classifier = classifier
        self._trained_key = None
        self._digests = {}
        self._covered, self._stack_done = {}, set()
        return classifier


def _check_training(training: Sequence[Training]) -> None:
    """Shapes and channel counts that match, with a message naming the layers."""
    if not training:
        raise SegLabInputError("Paint strokes in a training layer first.")
    first = training[0].image
    for item in training:
        item.image.check()
        if item.image.n_channels != first.n_channels:
            raise SegLabInputError(
                f"Training layer '{item.name}' belongs to '{item.image.name}' with "
                f"{item.image.n_channels} channel(s), but '{first.name}' has "
                f"{first.n_channels}. Untick 'Train on all training layers' or remove it."
            )
        if tuple(item.strokes.shape) != item.image.spatial_shape:
            raise SegLabInputError(
                f"The training layer '{item.name}' has shape {tuple(item.strokes.shape)} "
                f"but the image '{item.image.name}' has shape {item.image.spatial_shape}. "
                "Press 'Add training layer' to make one that matches."
            )


def _painted(training: Sequence[Training], settings: FeatureSettings) -> list[dict]:
    """Copies of the painted planes of each training item (the only ones read)."""
    out = []
    for item in training:
        spatial = item.image.spatial_shape
        out.append(strokes_of(item.strokes, len(spatial) - min(settings.ndim, len(spatial))))
    return out


def _merged(new: tuple[KeptPreview, ...], old: tuple[KeptPreview, ...]) -> tuple:
    """The previews a live update used, then older ones of the same plane and features
    (parts seen before a zoom or a pan, so that going back needs no new features), as many
    as fit in the live update's feature budget (a preview kept under two keys, such as the
    full-resolution one that is also the screen-resolution one, counts once)."""
    if not new:
        return new
    budget, total, keys, counted, out = feature_budget(), 0, set(), set(), []
    for kept in (*new, *(k for k in old if k.key[:4] == new[0].key[:4])):
        if kept.key in keys:
            continue
        if id(kept.preview) not in counted:
            counted.add(id(kept.preview))
            total += kept.preview.nbytes
        if kept not in new and total > budget:
            break
        keys.add(kept.key)
        out.append(kept)
    return tuple(out)


def _painted_classes(training, annotations, class_names: list[str]) -> dict[int, str]:
    """Names of the painted classes; refuses strokes of fewer than two classes."""

    def name_of(label: int) -> str:
        return class_names[label - 1] if label <= len(class_names) else f"class {label}"

    painted = np.unique(
        np.concatenate([[0], *(painted_labels(p) for a in annotations for p in a.values())])
    )
    painted = painted[painted > 0]
    if painted.size == 0:
        raise SegLabInputError(
            f"No strokes yet: paint label 1 ({name_of(1)}) and label 2 ({name_of(2)}) in "
            f"'{training[0].name}'."
        )
    if painted.size == 1:
        label = int(painted[0])
        raise SegLabInputError(
            f"Only class {label} ({name_of(label)}) is painted; paint strokes of at least one "
            "more class."
        )
    unnamed = [int(i) for i in painted if class_names and i > len(class_names)]
    if unnamed:
        named = ", ".join(f"{i} = {n}" for i, n in enumerate(class_names, start=1))
        raise SegLabInputError(
            f"Label {', '.join(map(str, unnamed))} is painted in '{training[0].name}' (or "
            f"another training layer) but has no class name ({named}): add its name to "
            "Classes, or erase those strokes."
        )
    return {int(i): name_of(int(i)) for i in painted}
