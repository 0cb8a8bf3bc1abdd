"""Pixel classifier widget: paint a few strokes per class, train a random forest, segment live.

The widget is a thin shell over :class:`napari_seglab.core.classifier.PixelClassifier`; all the
computation happens there, off the GUI thread. What the widget adds is the napari plumbing:

* **Image**: one Image layer (grayscale or RGB), or several Image layers used as channels.
* **Training layers**: Labels layers of strokes, 0 = not annotated, 1, 2, ... = the classes named
  in *Classes*. *Add training layer* makes one that matches the image and selects the brush.
  With *Train on all training layers* ticked (the default), every training layer made for an
  image of the same kind (same number of channels) is used, so one classifier learns from
  strokes on several images; each training layer remembers its image(s) in its metadata.
* **Outputs**, updated in place: ``"<image> segmentation"`` (class ids, the training layer's
  colours), ``"<image> foreground"`` (0/1 mask of the chosen foreground class, ready for the
  clean-up and validation widgets), ``"<image> probability"`` (of one chosen class) and
  ``"<image> uncertainty"`` (1 - highest class probability: paint where it is bright).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    Label,
    LineEdit,
    ProgressBar,
    PushButton,
    Select,
    SpinBox,
    Table,
)
from qtpy.QtCore import QObject, QTimer, Signal

from ..core._validation import SegLabInputError, fingerprint
from ..core.classifier import TrainingCache, compiled_code_loaded, load_compiled_code
from ._classifier_jobs import (
    ImageSource,
    distinct_values,
    max_label,
    run,
    strokes_of,
)
from ._layers import label_colormap
from ._shared import sparse_zeros

if TYPE_CHECKING:
    import napari
    import napari.layers
    from superqt.utils import GeneratorWorker

__all__ = ["ClassifierWidget", "Scope"]

#: Okabe-Ito colours (colour-blind safe), class 1 first.
CLASS_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
DEFAULT_CLASSES = ("background", "foreground")
META_KEY = "seglab_training_for"  # training layer metadata: names of its image layer(s)
OUTPUT_KEY = "seglab_output"  # metadata flag of the layers the widget writes
LIVE_DELAY_MS = 300
#: The core's feature families, as the panel names them.
FAMILY_LABELS = {
    "intensity": "Gaussian intensity",
    "edges": "Edges (gradient magnitude)",
    "hessian": "Texture (Hessian eigenvalues)",
    "log": "Laplacian of Gaussian",
    "dog": "Difference of Gaussians",
    "structure_tensor": "Structure tensor eigenvalues",
    "gabor": "Gabor filters",
}


class Scope(StrEnum):
    """Where :meth:`ClassifierWidget.predict` applies the classifier."""

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


def _color_for(label: int) -> str:
    return CLASS_COLORS[(label - 1) % len(CLASS_COLORS)]


@dataclass
class _Job:
    """One background run; results of a job that is no longer the newest are dropped."""

    kind: str
    generation: int
    cancel: threading.Event
    worker: GeneratorWorker | None = None
    live: bool = False
    request: tuple | None = None  # live: (strokes key, image names, plane) it brings up to date


class _Relay(QObject):
    """Carries progress from the worker thread to the progress bar (queued Qt signal)."""

    progressed = Signal(float)


class ClassifierWidget(Container):
    """Train a pixel classifier from brush strokes and segment images with it.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer whose layers the widget reads and writes.

    Notes
    -----
    Scripts and tests drive it without clicking through :meth:`add_training_layer`,
    :meth:`train`, :meth:`predict`, :meth:`save` and :meth:`load`; :meth:`train` and
    :meth:`predict` return the background worker (or ``None`` when refused), and
    :attr:`busy` tells whether a run is going on.
    """

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__(labels=True)
        # Import the classifier's compiled kernels now, while the user opens the widget: an
        # import inside the worker thread would hold the interpreter lock and freeze the GUI.
        load_compiled_code()

        self._viewer = napari_viewer
        self._classifier = None  # a fitted PixelClassifier, swapped in only on success
        self._trained_key: bytes | None = None  # strokes + settings the classifier was fit on
        # image names -> (planes read, their digest) at training, to notice later edits
        self._trained_images: dict[tuple[str, ...], tuple[list, bytes]] = {}
        self._live_plane: tuple | None = None  # (source names, plane) of the latest live result
        self._preview: tuple | None = None  # (key, PlanePreview): features kept while painting
        self._training_cache = TrainingCache()  # painted pixels' features, between trainings
        self._job: _Job | None = None
        self._generation = 0
        self._live_pending = False
        self._live_enabled = False  # mirrors the Live checkbox, readable after Qt teardown
        self._closed = False  # set once the Qt widgets are deleted: results are then dropped
        self._relay = _Relay()
        self._relay.progressed.connect(self._set_progress)

        # image and strokes
        self._image = ComboBox(label="Image", choices=self._image_choices, nullable=True)
        self._channels = Select(label="More channels", choices=self._channel_choices)
        self._channels.tooltip = (
            "Other Image layers of the same shape to use as extra channels (optional)."
        )
        self._training = ComboBox(label="Training layer", choices=self._labels_choices)
        self._add_button = PushButton(text="Add training layer")
        self._classes = LineEdit(label="Classes", value=", ".join(DEFAULT_CLASSES))
        self._classes.tooltip = "Names of label 1, 2, ... in the training layer, comma-separated."
        self._all_training = CheckBox(text="Train on all training layers", value=True)
        self._all_training.tooltip = (
            "Also learn from the strokes in every other training layer made for an image with "
            "the same number of channels (one classifier for several images)."
        )
        # features and forest
        defaults = _default_features()
        self._families = Select(
            label="Features", choices=[(text, key) for key, text in FAMILY_LABELS.items()]
        )
        self._families.value = [f for f in FAMILY_LABELS if getattr(defaults, f)]
        self._scales = LineEdit(
            label="Scales (px)", value=", ".join(f"{s:g}" for s in defaults.sigmas)
        )
        self._scales.tooltip = "Gaussian scales (sigma, in pixels) the features are computed at."

        self._features_3d = CheckBox(text="3D features (z-stacks)", value=False)
        self._features_3d.tooltip = (
            "Compute features in 3D (anisotropy from the layer scale) instead of plane by plane."
        )
        self._trees = SpinBox(label="Trees", value=50, min=1, max=1000)
        self._depth = SpinBox(label="Max depth", value=10, min=1, max=100)
        self._balance = CheckBox(text="Balance classes", value=True)
        # actions
        self._train_button = PushButton(text="Train")
        self._live = CheckBox(text="Live update (plane in view)", value=False)
        self._scope = ComboBox(label="Apply to", choices=[s.value for s in Scope])
        self._target = ComboBox(label="Other image", choices=self._image_choices, nullable=True)
        self._apply_button = PushButton(text="Apply")
        self._cancel_button = PushButton(text="Cancel", enabled=False)
        self._progress = ProgressBar(label="Progress", min=0, max=100, value=0)
        self._status = Label(value="Add a training layer and paint a few strokes per class.")
        # outputs
        self._probability_of = ComboBox(label="Probability of", choices=self._class_choices)
        self._foreground = ComboBox(label="Foreground class", choices=self._class_choices)
        self._foreground.tooltip = (
            "Pixels of this class form the '<image> foreground' 0/1 mask used by validation."
        )
        self._importance = Table(label="Feature importance")
        self._save_button = PushButton(text="Save classifier...")
        self._load_button = PushButton(text="Load classifier...")

        def row(*widgets) -> Container:
            return Container(widgets=widgets, layout="horizontal", labels=False)

        self._status.native.setWordWrap(True)
        self._channels.native.setMaximumHeight(70)
        self._importance.native.setMinimumHeight(170)
        self.extend(
            [
                self._image,
                self._channels,
                self._training,
                row(self._add_button, self._all_training),
                self._classes,
                self._families,
                self._scales,
                self._features_3d,
                self._trees,
                self._depth,
                self._balance,
                row(self._train_button, self._live),
                self._scope,
                self._target,
                row(self._apply_button, self._cancel_button),
                self._progress,
                self._status,
                self._probability_of,
                self._foreground,
                self._importance,
                row(self._save_button, self._load_button),
            ]
        )
        self._foreground.value = self._probability_of.value = self._default_foreground()

        self._live_timer = QTimer()
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_DELAY_MS)
        self._live_timer.timeout.connect(self._live_tick)

        self._add_button.changed.connect(self.add_training_layer)
        self._train_button.changed.connect(self.train)
        self._apply_button.changed.connect(lambda: self.predict(self._scope.value))
        self._cancel_button.changed.connect(self.cancel)
        self._save_button.changed.connect(self._save_dialog)
        self._load_button.changed.connect(self._load_dialog)
        self._classes.changed.connect(self._on_classes_changed)
        self._live.changed.connect(self._on_live_toggled)
        self._image.changed.connect(self._on_image_changed)
        self._probability_of.changed.connect(self._schedule_live)
        self._foreground.changed.connect(self._schedule_live)
        napari_viewer.layers.events.inserted.connect(self._on_layers_changed)
        napari_viewer.layers.events.removed.connect(self._on_layers_changed)
        napari_viewer.dims.events.point.connect(self._schedule_live)
        for layer in napari_viewer.layers:
            self._watch(layer)
        self.native.destroyed.connect(self._disconnect)
        self._on_image_changed()

    # ------------------------------------------------------------------ public API
    @property
    def classifier(self):
        """The current :class:`~napari_seglab.core.classifier.PixelClassifier`, or ``None``."""
        return self._classifier

    @property
    def busy(self) -> bool:
        """Whether a training or prediction run is going on."""
        return self._job is not None

    @property
    def class_names(self) -> list[str]:
        """Names of label 1, 2, ... as typed in *Classes*."""
        return [n.strip() for n in self._classes.value.split(",") if n.strip()]

    def add_training_layer(self) -> napari.layers.Labels | None:
        """Create (or select) the Labels layer of strokes for the chosen image.

        The layer matches the image's spatial shape, scale and translation, uses the class
        colours, and is selected with the paint brush on label 1.

        Returns
        -------
        napari.layers.Labels or None
            The training layer, or ``None`` (with an error shown) when no image is chosen.
        """
        try:
            source = self._source()
        except SegLabInputError as err:
            _show_error(err)
            return None
        name = f"{source.name} training"
        layer = self._find(name, "Labels")
        if layer is None or tuple(layer.data.shape) != source.spatial_shape:
            dtype = np.uint8 if len(self.class_names) < 255 else np.uint16
            # A lazy (dask, zarr) image may be larger than memory: its training layer then
            # stores only the planes painted.
            zeros = sparse_zeros if source.lazy else np.zeros
            layer = self._viewer.add_labels(
                zeros(source.spatial_shape, dtype=dtype),
                name=name,
                colormap=self._colormap(),
                metadata={META_KEY: list(source.names)},
                **source.geometry(),
            )
        self._training.reset_choices()
        self._training.value = layer
        self._viewer.layers.selection.active = layer
        layer.mode = "paint"
        layer.selected_label = 1
        layer.brush_size = max(3, round(min(source.spatial_shape[-2:]) / 100))
        self._status.value = (
            f"Paint label 1 ({self._name_of(1)}) and 2 ({self._name_of(2)}) in '{name}'."
        )
        return layer

    def train(self) -> GeneratorWorker | None:
        """Train on the strokes and show the result on the plane in view.

        Returns
        -------
        GeneratorWorker or None
            The background run, or ``None`` when refused (the reason is shown as an error).
        """
        return self._start(kind="train", live=False)

    def predict(
        self, scope: Scope | str = Scope.PLANE, *, image: napari.layers.Image | None = None
    ) -> GeneratorWorker | None:
        """Apply the trained (or loaded) classifier.

        Parameters
        ----------
        scope : Scope or str
            ``"plane"`` (the plane in view), ``"all"`` (every plane / frame / volume) or
            ``"other"`` (the whole of another image layer, see `image`).
        image : napari.layers.Image, optional
            The other image for ``scope="other"``; default: the one chosen in *Other image*.

        Returns
        -------
        GeneratorWorker or None
            The background run, or ``None`` when refused (the reason is shown as an error).
        """
        try:
            scope = Scope.parse(scope)
        except ValueError:
            _show_error(f"Unknown scope {scope!r}; use one of {[s.name.lower() for s in Scope]}.")
            return None
        if image is not None:
            self._target.reset_choices()
            self._target.value = image
        return self._start(kind=scope.name.lower(), live=False)

    def cancel(self) -> None:
        """Stop the current run; nothing is written from a cancelled run."""
        job = self._job
        if job is None:
            return
        job.cancel.set()
        if job.worker is not None:
            job.worker.quit()
        self._status.value = "Cancelling..."

    def save(self, path: str | Path) -> bool:
        """Save the classifier (forest, features, class names, versions) to `path`.

        Returns
        -------
        bool
            Whether it was saved; the reason is shown as an error otherwise.
        """
        if self._classifier is None:
            _show_error("There is no classifier to save yet: train one first.")
            return False
        try:
            self._classifier.save(path)
        except (OSError, SegLabInputError) as err:
            _show_error(f"Could not save the classifier to {path}: {err}")
            return False
        self._status.value = f"Saved to {Path(path).name}."
        return True

    def load(self, path: str | Path) -> bool:
        """Load a classifier saved by SegLab; it applies to new images without retraining.

        The file is read without executing any code from it; anything that is not a SegLab
        classifier is refused and the current classifier is kept.

        Returns
        -------
        bool
            Whether it was loaded; the reason is shown as an error otherwise.
        """
        from ..core.classifier import PixelClassifier

        try:
            classifier = PixelClassifier.load(path)
        except (OSError, SegLabInputError, ValueError) as err:
            _show_error(f"Could not load {path}: {err}")
            return False
        self._live_timer.stop()
        self._classifier = classifier
        self._trained_key = None
        self._trained_images = {}
        self._live_plane = None
        self._show_settings(classifier)
        self._show_importance(classifier)
        self._status.value = (
            f"Loaded {Path(path).name}: {len(classifier.class_names)} classes, "
            f"{classifier.n_channels} channel(s). Apply it, or paint and train to refine."
        )
        return True

    # ------------------------------------------------------------------ choices and layers
    def _image_choices(self, _widget=None) -> list:
        from napari.layers import Image

        return [layer for layer in self._viewer.layers if isinstance(layer, Image)]

    def _channel_choices(self, _widget=None) -> list:
        """Image layers that can be extra channels of the chosen image (same shape)."""
        image = self._image.value if hasattr(self, "_image") else None
        if image is None or image.rgb:
            return []
        return [
            layer
            for layer in self._image_choices()
            if layer is not image
            and not layer.rgb
            and not layer.metadata.get(OUTPUT_KEY)
            and tuple(layer.data.shape) == tuple(image.data.shape)
        ]

    def _labels_choices(self, _widget=None) -> list:
        from napari.layers import Labels

        return [layer for layer in self._viewer.layers if isinstance(layer, Labels)]

    def _class_choices(self, _widget=None) -> list[tuple[str, int]]:
        return [(f"{i}: {name}", i) for i, name in enumerate(self.class_names, start=1)]

    def _name_of(self, label: int) -> str:
        names = self.class_names
        return names[label - 1] if label <= len(names) else f"class {label}"

    def _default_foreground(self) -> int | None:
        names = self.class_names
        if "foreground" in names:
            return names.index("foreground") + 1
        return len(names) or None

    def _find(self, name: str, kind: str):
        for layer in self._viewer.layers:
            if layer.name == name and type(layer).__name__ == kind:
                return layer
        return None

    def _colormap(self, n: int | None = None):
        n = max(len(self.class_names), 2) if n is None else n
        return label_colormap({i: _color_for(i) for i in range(1, n + 1)})

    def _watch(self, layer) -> None:
        """Brush strokes fire `paint`; undo and redo only refresh the layer (`set_data`)."""
        from napari.layers import Labels

        if isinstance(layer, Labels) and not layer.metadata.get(OUTPUT_KEY):
            layer.events.paint.connect(self._schedule_live)
            layer.events.set_data.connect(self._schedule_live)

    def _unwatch(self, layer) -> None:
        for emitter in ("paint", "set_data"):
            if hasattr(layer.events, emitter):
                getattr(layer.events, emitter).disconnect(self._schedule_live)

    def _disconnect(self, _obj=None) -> None:
        """Stop listening to the viewer, and stop any run, once the widget's Qt side is gone."""
        self._closed = True
        self._live_enabled = False
        with contextlib.suppress(RuntimeError):  # Qt may have deleted these already
            self._live_timer.stop()
            self._relay.progressed.disconnect(self._set_progress)
        if self._job is not None:
            self._job.cancel.set()
            self._job.worker.quit()
        viewer = self._viewer
        viewer.layers.events.inserted.disconnect(self._on_layers_changed)
        viewer.layers.events.removed.disconnect(self._on_layers_changed)
        viewer.dims.events.point.disconnect(self._schedule_live)
        for layer in viewer.layers:
            self._unwatch(layer)

    def _on_layers_changed(self, event=None) -> None:
        if event is not None and event.type == "inserted":
            self._watch(event.value)
        elif event is not None and event.type == "removed":
            self._unwatch(event.value)
        self.reset_choices()

    def _on_image_changed(self, _value=None) -> None:
        self._channels.reset_choices()
        image = self._image.value
        if image is None:
            return
        for layer in self._labels_choices():
            if layer.metadata.get(META_KEY, [None])[0] == image.name:
                self._training.value = layer
                break

    def _on_classes_changed(self, _value=None) -> None:
        self._probability_of.reset_choices()
        self._foreground.reset_choices()
        self._foreground.value = self._probability_of.value = self._default_foreground()
        training = self._training.value
        if training is not None and META_KEY in training.metadata:
            top = max(len(self.class_names), max_label(training.data), 2)
            training.colormap = self._colormap(top)

    def _on_live_toggled(self, on: bool) -> None:
        self._live_enabled = bool(on)
        if on:
            self._schedule_live()
        else:
            self._live_timer.stop()
            self._preview = None  # the kept features (~100 MB) are only worth it while painting

    def _source(self) -> ImageSource:
        image = self._image.value
        if image is None:
            raise SegLabInputError("Choose an image layer first (add one to the viewer).")
        extra = [layer for layer in self._channels.value if layer is not image]
        source = ImageSource((image, *extra))
        source.check()
        return source

    def _source_for(self, training) -> ImageSource | None:
        """The image a training layer was made for, if its layers are still in the viewer."""
        names = training.metadata.get(META_KEY)
        if not names:
            return None
        layers = {layer.name: layer for layer in self._image_choices()}
        if not all(name in layers for name in names):
            return None
        return ImageSource(tuple(layers[name] for name in names))

    def _pairs(self) -> list[tuple[ImageSource, Any]]:
        """(image, training layer) pairs to learn from; raises with a clear message."""
        source = self._source()
        training = self._training.value
        if training is None:
            raise SegLabInputError(
                "Choose a training layer, or press 'Add training layer' and paint strokes."
            )
        pairs = [(source, training)]
        if self._all_training.value:
            for layer in self._labels_choices():
                other = self._source_for(layer)
                if layer is training or other is None:
                    continue
                other.check()
                if other.n_channels != source.n_channels:
                    raise SegLabInputError(
                        f"Training layer '{layer.name}' belongs to '{other.name}' with "
                        f"{other.n_channels} channel(s), but '{source.name}' has "
                        f"{source.n_channels}. Untick 'Train on all training layers' or remove it."
                    )
                pairs.append((other, layer))
        for image, labels in pairs:
            if tuple(labels.data.shape) != image.spatial_shape:
                raise SegLabInputError(
                    f"The training layer '{labels.name}' has shape {tuple(labels.data.shape)} "
                    f"but the image '{image.name}' has shape {image.spatial_shape}. "
                    "Press 'Add training layer' to make one that matches."
                )
        return pairs

    # ------------------------------------------------------------------ settings
    def _feature_settings(self, source: ImageSource):
        """FeatureSettings from the panel; anisotropy comes from the image layer's scale."""
        from ..core.classifier import FeatureSettings

        ndim = 3 if self._features_3d.value else 2
        if ndim > len(source.spatial_shape):
            raise SegLabInputError(
                f"'{source.name}' is a 2D image: untick '3D features' to classify it."
            )
        families = set(self._families.value)
        if not families:
            raise SegLabInputError("Choose at least one feature family.")
        spacing = tuple(float(s) for s in source.geometry()["scale"][-ndim:])
        return FeatureSettings(
            sigmas=_parse_scales(self._scales.value),
            mode=f"{ndim}d",
            spacing=spacing,
            **{family: family in families for family in FAMILY_LABELS},
        )

    def _forest(self) -> dict:
        return {
            "n_estimators": int(self._trees.value),
            "max_depth": int(self._depth.value),
            "class_weight": "balanced" if self._balance.value else None,
        }

    def _show_settings(self, classifier) -> None:
        named = classifier.class_names
        top = max([*named, *classifier.classes_.tolist(), 2])
        self._classes.value = ", ".join(named.get(i, f"class {i}") for i in range(1, top + 1))
        settings = classifier.features
        self._families.value = [f for f in FAMILY_LABELS if getattr(settings, f)]
        self._scales.value = ", ".join(f"{s:g}" for s in settings.sigmas)
        self._features_3d.value = settings.ndim == 3
        self._trees.value = classifier.n_estimators
        self._depth.value = classifier.max_depth or self._depth.max
        self._balance.value = classifier.class_weight is not None

    def _show_importance(self, classifier) -> None:
        """Fill the importance table, largest first, with a bar to read it at a glance."""
        pairs = sorted(classifier.feature_importances().items(), key=lambda p: -p[1])
        top = max((value for _, value in pairs), default=1.0) or 1.0
        rows = [
            [name, f"{100 * value:.1f} %", "\u2588" * max(1, round(12 * value / top))]
            for name, value in pairs
        ]
        self._importance.value = (
            rows,
            list(range(1, len(rows) + 1)),
            ["feature", "importance", ""],
        )

    # ------------------------------------------------------------------ live update
    def _schedule_live(self, _event=None) -> None:
        if self._live_enabled:
            self._live_timer.start()  # restarts: the countdown begins again at each stroke

    def _live_request(self) -> tuple | None:
        """What a live update would bring up to date now (None when it cannot run)."""
        try:
            pairs = self._pairs()
            source = pairs[0][0]
            settings = self._feature_settings(source)
            names = [s.names for s, _ in pairs]
            key = self._strokes_key(
                self._strokes(pairs, settings), names, settings, self._forest()
            )
            return key, source.names, self._plane_index(source)
        except SegLabInputError:
            return None

    def _strokes_key(self, strokes: list[dict], names, settings, forest) -> bytes:
        planes = [(index, plane) for planes in strokes for index, plane in planes.items()]
        extra = repr((settings, sorted(forest.items()), names, [i for i, _ in planes]))
        return fingerprint(*(plane for _, plane in planes)) + extra.encode()

    def _strokes(self, pairs, settings) -> list[dict]:
        """Copies of the painted planes of each training layer (the only ones read)."""
        out = []
        for image, labels in pairs:
            spatial = image.spatial_shape
            out.append(strokes_of(labels.data, len(spatial) - min(settings.ndim, len(spatial))))
        return out

    def _live_tick(self) -> None:
        if not self._live_enabled:
            return
        if self._job is not None:
            if self._job.live:
                if not self._job.cancel.is_set() and self._job.request == self._live_request():
                    return  # the running update (e.g. refining its preview) is still current
                self._live_pending = True  # run again once the stale run has stopped
                self.cancel()
            else:
                self._live_timer.start()  # an explicit run is going on: try again later
            return
        self._start(kind="train", live=True)

    # ------------------------------------------------------------------ running
    def _start(self, *, kind: str, live: bool) -> GeneratorWorker | None:
        if self._job is not None:
            if not live:
                _show_error(
                    "The classifier is busy with another run: wait for it or press Cancel."
                )
            return None
        try:
            plan = self._plan(kind, live)
        except SegLabInputError as err:
            if live:
                self._status.value = str(err)
            else:
                _show_error(err)
            return None
        if plan is None:  # live update with nothing new to do
            return None
        return self._launch(kind, live, plan)

    def _plan(self, kind: str, live: bool) -> dict | None:
        """Gather everything the worker needs on the GUI thread (copies of the strokes)."""
        plan: dict[str, Any] = {
            "train": None,
            "jobs": [],
            "check_edit": False,
            "live": live,
            "preview": self._preview if live else None,
        }
        if kind == "train":
            pairs = self._pairs()
            source = pairs[0][0]
            settings = self._feature_settings(source)
            forest = self._forest()
            annotations = self._strokes(pairs, settings)
            key = self._strokes_key(annotations, [s.names for s, _ in pairs], settings, forest)
            plane = self._plane_index(source)
            plan["request"] = (key, source.names, plane)
            if live and key == self._trained_key:
                if self._live_plane == (source.names, plane) or self._classifier is None:
                    return None
            else:
                painted = np.unique(
                    np.concatenate(
                        [[0], *(distinct_values(p) for a in annotations for p in a.values())]
                    )
                )
                painted = painted[painted > 0]
                where = f"'{pairs[0][1].name}'"
                if painted.size == 0:
                    raise SegLabInputError(
                        f"No strokes yet: paint label 1 ({self._name_of(1)}) and label 2 "
                        f"({self._name_of(2)}) in {where}."
                    )
                if painted.size == 1:
                    label = int(painted[0])
                    raise SegLabInputError(
                        f"Only class {label} ({self._name_of(label)}) is painted; paint "
                        "strokes of at least one more class."
                    )
                names = {int(i): self._name_of(int(i)) for i in painted}
                plan["train"] = {
                    "images": [image for image, _ in pairs],
                    "annotations": annotations,
                    "settings": settings,
                    "forest": forest,
                    "names": names,
                    "key": key,
                    "cache": self._training_cache,
                }
            plan["jobs"] = [(source, plane)]
        else:
            if self._classifier is None:
                raise SegLabInputError("Train or load a classifier first.")
            if kind == "other":
                target = self._target.value
                if target is None:
                    raise SegLabInputError("Choose the other image to apply the classifier to.")
                source = ImageSource((target,))
                source.check()
                plan["jobs"] = [(source, None)]
            else:
                source = self._source()
                if kind == "plane":
                    plane = self._plane_index(source)
                    plan["jobs"] = [(source, plane)]
                else:
                    plan["jobs"] = [(source, None)]
                plan["check_edit"] = source.names in self._trained_images
        plan["probability_of"] = self._probability_of.value
        plan["foreground"] = self._foreground.value
        return plan

    def _plane_index(self, source: ImageSource) -> tuple[int, ...]:
        """Indices of the leading axes for the 2D plane in view (empty for a 2D image)."""
        lead = len(source.spatial_shape) - 2
        if lead <= 0:
            return ()
        layer = source.layers[0]
        point = np.asarray(layer.world_to_data(self._viewer.dims.point))
        index = np.round(point[:lead]).astype(int)
        shape = source.spatial_shape[:lead]
        return tuple(int(np.clip(i, 0, n - 1)) for i, n in zip(index, shape, strict=True))

    def _launch(self, kind: str, live: bool, plan: dict) -> GeneratorWorker:
        from napari.qt.threading import create_worker

        self._generation += 1
        job = _Job(
            kind=kind,
            generation=self._generation,
            cancel=threading.Event(),
            live=live,
            request=plan.get("request") if live else None,
        )
        worker = create_worker(
            run,
            plan,
            self._classifier,
            self._trained_images,
            job.cancel,
            self._relay.progressed.emit,
            _ignore_errors=True,  # errors are shown by _on_errored, not re-raised
        )
        job.worker = worker
        self._job = job
        worker.yielded.connect(lambda result: result and self._on_returned(job, result))
        worker.returned.connect(lambda result: self._on_returned(job, result))
        worker.errored.connect(lambda err: self._on_errored(job, err))
        worker.aborted.connect(lambda: self._on_aborted(job))
        worker.finished.connect(lambda: self._on_finished(job))
        self._set_running(True, live=live)
        worker.start()
        return worker

    def _set_running(self, running: bool, *, live: bool = False) -> None:
        self._cancel_button.enabled = running
        self._train_button.enabled = not running or live
        self._apply_button.enabled = not running or live
        if running:
            self._progress.value = 0
            self._status.value = "Updating..." if live else "Working..."
            if not compiled_code_loaded():
                self._status.value += (
                    " (the first run loads SegLab's compiled code; just after installing, "
                    "compiling it takes up to a minute, once)"
                )

    def _set_progress(self, fraction: float) -> None:
        self._progress.value = round(100 * min(max(fraction, 0.0), 1.0))

    def _on_returned(self, job: _Job, result: dict) -> None:
        if self._closed or job.cancel.is_set() or job.generation != self._generation:
            return  # stale: a newer request replaced it
        if "preview" in result:
            # Kept for the next stroke while painting; the plane is up to date only once
            # its refinement (or an exact preview) arrives.
            self._preview = result["preview"] if self._live_enabled else None
            self._live_plane = None
        if result.get("classifier") is not None:
            self._classifier = result["classifier"]
            self._trained_key = result["key"]
            self._trained_images = result["digests"]
            self._show_importance(self._classifier)
        active = self._viewer.layers.selection.active
        for output in result["outputs"]:
            self._write_outputs(output, result)
        if active is not None and active in self._viewer.layers:
            self._viewer.layers.selection.active = active  # keep the brush on the strokes
        self._progress.value = 100
        self._status.value = result["message"]

    def _on_errored(self, job: _Job, err: Exception) -> None:
        if self._closed or job.cancel.is_set():
            return
        if job.live and isinstance(err, SegLabInputError):
            self._status.value = str(err)
        if not job.live or not isinstance(err, SegLabInputError):
            _show_error(err)

    def _on_aborted(self, job: _Job) -> None:
        if not self._closed:
            self._status.value = "Cancelled; nothing was changed."

    def _on_finished(self, job: _Job) -> None:
        if self._job is job:
            self._job = None
        if self._closed:
            return
        if job.cancel.is_set() and not job.live:
            self._status.value = "Cancelled; nothing was changed."
            self._progress.value = 0
        self._set_running(False)
        if self._live_pending:
            self._live_pending = False
            self._live_tick()

    # ------------------------------------------------------------------ outputs
    def _write_outputs(self, output: dict, result: dict) -> None:
        source: ImageSource = output["source"]
        plane = output["plane"]
        geometry = source.geometry()
        names = result["class_names"]
        n_classes = len(names)
        colormap = self._colormap(max([*names, 2]))
        foreground = result["foreground"]
        fg_name = names.get(foreground)
        prob_name = names.get(result["probability_of"])
        base = source.name
        self._put(
            f"{base} segmentation",
            "Labels",
            output["labels"],
            plane,
            source.spatial_shape,
            geometry,
            lazy=source.lazy,
            colormap=colormap,
            opacity=0.5,
        )
        self._put(
            f"{base} foreground",
            "Labels",
            output["foreground"],
            plane,
            source.spatial_shape,
            geometry,
            lazy=source.lazy,
            colormap=label_colormap({1: _color_for(foreground or 2)}),
            metadata={"seglab_foreground_class": fg_name},
            visible=False,
        )
        if "probability" not in output:  # a live preview: labels only
            return
        self._put(
            f"{base} probability",
            "Image",
            output["probability"],
            plane,
            source.spatial_shape,
            geometry,
            lazy=source.lazy,
            colormap="viridis",
            contrast_limits=(0.0, 1.0),
            metadata={"seglab_probability_of": prob_name},
            visible=False,
        )
        self._put(
            f"{base} uncertainty",
            "Image",
            output["uncertainty"],
            plane,
            source.spatial_shape,
            geometry,
            lazy=source.lazy,
            colormap="magma",
            contrast_limits=(0.0, 1.0 - 1.0 / max(n_classes, 2)),
            visible=False,
        )
        if plane is not None:
            self._live_plane = (source.names, plane)

    def _put(self, name, kind, values, plane, shape, geometry, lazy=False, **kwargs) -> None:
        """Write `values` (a plane or the whole array) into the output layer `name`.

        A plane of a `lazy` image goes into a layer that stores only the planes written.
        """
        layer = self._find(name, kind)
        metadata = kwargs.pop("metadata", {})
        if (
            layer is not None
            and tuple(layer.data.shape) == shape
            and layer.data.dtype == (values.dtype)
        ):
            if plane is None:
                layer.data = values
            else:
                layer.data[plane] = values
                layer.refresh()
            layer.metadata.update(metadata)
            if kind == "Labels" and "colormap" in kwargs:
                layer.colormap = kwargs["colormap"]
            return
        if plane is not None:
            full = (sparse_zeros if lazy else np.zeros)(shape, dtype=values.dtype)
            full[plane] = values
            values = full
        if layer is not None:
            self._viewer.layers.remove(layer)
        add = self._viewer.add_labels if kind == "Labels" else self._viewer.add_image
        add(values, name=name, metadata={OUTPUT_KEY: True, **metadata}, **geometry, **kwargs)

    # ------------------------------------------------------------------ dialogs
    def _save_dialog(self) -> None:
        from qtpy.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(
            self.native, "Save classifier", "classifier.npz", "SegLab classifier (*.npz)"
        )
        if path:
            self.save(path)

    def _load_dialog(self) -> None:
        from qtpy.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(
            self.native, "Load classifier", "", "SegLab classifier (*.npz);;All files (*)"
        )
        if path:
            self.load(path)


def _parse_scales(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(s) for s in text.replace(";", ",").split(",") if s.strip())
    except ValueError:
        raise SegLabInputError(
            f"Scales must be numbers separated by commas (e.g. 1, 2, 4), not {text!r}."
        ) from None


def _default_features():
    from ..core.classifier import FeatureSettings

    return FeatureSettings()


def _show_error(err: Exception | str) -> None:
    from napari.utils.notifications import show_error

    show_error(str(err))
