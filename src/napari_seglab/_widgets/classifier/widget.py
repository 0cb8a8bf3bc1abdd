"""Pixel classifier widget: paint a few strokes per class, train a classifier, segment live.

The widget wires napari to a :class:`~.session.ClassifierSession`, which holds the state; all
the computation happens in :mod:`.jobs`, off the GUI thread. What the widget adds is the napari
plumbing:

* **Image**: one Image layer (grayscale or RGB), or several Image layers used as channels.
* **Training layers**: Labels layers of strokes, 0 = not annotated, 1, 2, ... = the classes named
  in *Classes*. *Add training layer* makes one that matches the image and selects the brush.
  With *Train on all training layers* ticked (the default), every training layer made for an
  image of the same kind (same number of channels) is used, so one classifier learns from
  strokes on several images; each training layer remembers its image(s) in its metadata.
* **Outputs**, updated in place: ``"<image> segmentation"`` (class ids, the training layer's
  colours), ``"<image> foreground"`` (0/1 mask of the chosen foreground class, ready for the
  clean-up and validation widgets), ``"<image> probability"`` (of one chosen class) and
  ``"<image> uncertainty"`` (1 - highest class probability: paint where it is bright), and
  ``"<image> suggestions"``, the most uncertain regions to paint in next (:mod:`.suggestions`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from magicgui.widgets import Container
from psygnal import Signal
from qtpy.QtCore import QTimer

from ...core._validation import SegLabInputError
from .._layers import label_colormap
from .._shared import report_error
from .balance import BalanceView
from .closing import when_undocked
from .controls import Controls
from .inputs import Inputs
from .jobs import max_label
from .layers import default_image, is_training_layer, linked_images, show_result, training_layer
from .live import LiveUpdate
from .panel import build_panel
from .plans import Result, Scope
from .runner import Job, Runner
from .session import ClassifierSession
from .suggestions import Suggestions
from .view import camera_of
from .warmup import start_warm_up

if TYPE_CHECKING:
    import napari
    import napari.layers
    from superqt.utils import GeneratorWorker

    from ...core.classifier import PixelClassifier

__all__ = ["ClassifierWidget"]

WARM_UP_DELAY_MS = 1000


class ClassifierWidget(Container):
    """Train a pixel classifier from brush strokes and segment images with it.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer whose layers the widget reads and writes.

    Notes
    -----
    Scripts and tests drive it without clicking through :attr:`controls` (the panel's
    widgets), :meth:`add_training_layer`, :meth:`train`, :meth:`predict`, :meth:`save` and
    :meth:`load`; :meth:`train` and :meth:`predict` return the background worker (or ``None``
    when refused), :attr:`busy` tells whether a run is going on, and :attr:`shown` is emitted
    with each :class:`~.plans.Result` once it is in the layers.
    """

    shown = Signal(object)

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__(labels=False)
        # Compile (once after installing, in another process) and load the classifier's
        # kernels in the background now, while the user opens images and paints.
        QTimer.singleShot(WARM_UP_DELAY_MS, start_warm_up)  # after the panel first shows
        self._viewer = napari_viewer
        self._session = ClassifierSession()
        self._controls = c = Controls(napari_viewer)
        self._inputs = Inputs(c, napari_viewer, self._session)
        self._runner = Runner(
            on_result=self._on_result,
            on_error=self._on_error,
            on_finished=self._on_finished,
            on_progress=self._set_progress,
        )
        self._live = LiveUpdate(
            enabled=lambda: c.live.value,
            runner=self._runner,
            request=self._inputs.live_request,
            start=lambda: self._start(lambda: self._inputs.training_plan(live=True), live=True),
            cancel=self.cancel,
        )
        self._balance = BalanceView(
            c.class_balance,
            training=lambda: self._inputs.training_items(self._inputs.source()),
            names=lambda: c.class_names,
        )
        self._suggestions = Suggestions(napari_viewer, image=lambda: c.image.value)
        self.shown.connect(self._suggestions.update)
        self._sections = build_panel(self.native, c.sections(bottom=self._suggestions.widgets()))
        c.show_model_settings()

        c.add_button.changed.connect(self.add_training_layer)
        c.train_button.changed.connect(self.train)
        c.update_button.changed.connect(self.update)
        c.apply_button.changed.connect(lambda: self.predict(c.scope.value))
        c.cancel_button.changed.connect(self.cancel)
        c.save_button.changed.connect(
            lambda: _ask_path(self.native, save=True, then=self.save, classifier=self.classifier)
        )
        c.load_button.changed.connect(lambda: _ask_path(self.native, save=False, then=self.load))
        c.classes.changed.connect(self._on_classes_changed)
        c.live.changed.connect(self._on_live_toggled)
        c.image.changed.connect(self._on_image_changed)
        c.probability_of.changed.connect(self._live.schedule)
        c.foreground.changed.connect(self._live.schedule)
        c.training.changed.connect(self._balance.refresh)
        c.all_training.changed.connect(self._balance.refresh)
        napari_viewer.dims.events.point.connect(self._live.schedule)
        self._live.watch_view(camera_of(napari_viewer))
        self.native.destroyed.connect(self._disconnect)
        when_undocked(self.native, self._on_closed)
        self.reset_choices()
        self._on_image_changed()

    # ------------------------------------------------------------------ public API
    @property
    def controls(self) -> Controls:
        """The panel's magicgui widgets (``controls.image``, ``controls.live`` ...)."""
        return self._controls

    @property
    def session(self) -> ClassifierSession:
        """The Qt-free state: classifier, kept features and preview."""
        return self._session

    @property
    def classifier(self) -> PixelClassifier | None:
        """The current :class:`~napari_seglab.core.classifier.PixelClassifier`, or ``None``."""
        return self._session.classifier

    @property
    def suggestions(self) -> Suggestions:
        """Where to paint next: ``suggestions.regions``, ``suggestions.go(i)``."""
        return self._suggestions

    @property
    def busy(self) -> bool:
        """Whether a training or prediction run is going on, or suggestions being ranked."""
        return self._runner.job is not None or self._suggestions.pending

    @property
    def status(self) -> str:
        """The status line under the progress bar."""
        return self._controls.status.value

    @property
    def class_names(self) -> list[str]:
        """Names of label 1, 2, ... as typed in *Classes*."""
        return self._controls.class_names

    def add_training_layer(self) -> napari.layers.Labels | None:
        """Create (or select) the Labels layer of strokes for the chosen image.

        The layer matches the image's spatial shape, scale and translation, uses the class
        colours, and is selected with the paint brush on label 1.

        Returns
        -------
        napari.layers.Labels or None
            The training layer, or ``None`` (with an error shown, no layer made) when no image
            is chosen or training would refuse it (a multiscale pyramid, channels that do not
            match).
        """
        c = self._controls
        try:
            layers = self._inputs.image_layers()
            layer = training_layer(self._viewer, layers, colors=c.class_colors())
        except SegLabInputError as err:
            self._refuse(str(err))
            return None
        spatial = layer.data.shape
        self.reset_choices()
        c.training.value = layer
        self._viewer.layers.selection.active = layer
        layer.mode = "paint"
        layer.selected_label = 1
        layer.brush_size = max(3, round(min(spatial[-2:]) / 100))
        c.status.value = (
            f"Paint label 1 ({c.name_of(1)}) and 2 ({c.name_of(2)}) in '{layer.name}'."
        )
        return layer

    def train(self) -> GeneratorWorker | None:
        """Train on the strokes and show the result on the plane in view.

        Returns
        -------
        GeneratorWorker or None
            The background run, or ``None`` when refused (the reason is shown as an error).
        """
        return self._start(lambda: self._inputs.training_plan(live=False))

    def update(self) -> GeneratorWorker | None:
        """Once, what a live update does: train on new strokes, segment what is on screen
        (at screen resolution first when zoomed out, then in full), then the rest of the plane.

        Returns
        -------
        GeneratorWorker or None
            The background run, or ``None`` when refused or when everything is up to date.
        """
        worker = self._start(lambda: self._inputs.training_plan(live=True))
        if worker is None and self._runner.job is None and self._session.classifier is not None:
            self._controls.status.value = "Up to date: nothing new to learn or to show."
        return worker

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
            names = [s.name.lower() for s in Scope]
            self._refuse(f"Unknown scope {scope!r}; use one of {names}.")
            return None
        if image is not None:
            self._controls.target.reset_choices()
            self._controls.target.value = image
        return self._start(lambda: self._inputs.apply_plan(scope))

    def cancel(self) -> None:
        """Stop the current run; nothing is written from a cancelled run."""
        if self._runner.cancel():
            self._controls.status.value = "Cancelling..."

    def save(self, path: str | Path) -> bool:
        """Save the classifier (model, features, class names, versions) to `path`.

        SegLab's forest is written as a ``.npz``, a scikit-learn model as a skops file
        (conventionally ``.skops``); :meth:`load` reads both.

        Returns
        -------
        bool
            Whether it was saved; the reason is shown as an error otherwise.
        """
        if self.classifier is None:
            self._refuse("There is no classifier to save yet: train one first.")
            return False
        try:
            self._session.save(path)
        except (OSError, SegLabInputError) as err:
            self._refuse(f"Could not save the classifier to {path}: {err}")
            return False
        self._controls.status.value = f"Saved to {Path(path).name}."
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
        try:
            classifier = self._session.load(path)
        except (OSError, SegLabInputError, ValueError) as err:
            self._refuse(f"Could not load {path}: {err}")
            return False
        self._live.stop()
        self._controls.show_settings(classifier)
        self._controls.show_importance(classifier)
        self._controls.status.value = (
            f"Loaded {Path(path).name}: {len(classifier.class_names)} classes, "
            f"{classifier.n_channels} channel(s). Apply it, or paint and train to refine."
        )
        return True

    def reset_choices(self, *_: Any) -> None:
        """Refresh the layer pickers (napari calls it when layers come and go)."""
        if self._runner.closed:  # the panel was closed: its pickers are gone
            return
        for section in self._sections:
            section.reset_choices()
        image = self._controls.image
        if image.value is None:  # start on the image in view rather than on nothing
            choices = [x for x in image.choices if x is not None]
            image.value = default_image(self._viewer, choices)
        self._live.watch(self._inputs.labels_layers())
        self._balance.watch(self._inputs.labels_layers())
        self._balance.refresh()

    # ------------------------------------------------------------------ layers
    def _disconnect(self, _obj: Any = None) -> None:
        """Stop listening to the viewer, and stop any run, once the widget's Qt side is gone."""
        self._runner.close()
        self._live.close()
        self._suggestions.close()
        self._balance.watch([])
        self._viewer.dims.events.point.disconnect(self._live.schedule)
        events = self._viewer.layers.events  # napari connected them when it docked the panel
        for emitter in (events.inserted, events.removed, events.reordered, events.renamed):
            emitter.disconnect(self.reset_choices)

    def _on_closed(self) -> None:
        """The panel was closed (napari keeps its Qt widgets, orphaned): stop for good and
        delete them, as napari deletes the dock."""
        self._disconnect()
        self.native.deleteLater()

    def _on_image_changed(self, _value: Any = None) -> None:
        self._controls.channels.reset_choices()
        c = self._controls
        image = c.image.value
        images = [x for x in c.image.choices if x is not None]
        linked = [
            x
            for x in self._inputs.labels_layers()
            if (linked_images(x, images) or [None])[0] == image
        ]
        if c.training.value not in linked:  # the strokes of this image, or none yet
            c.training.value = linked[0] if linked and image is not None else None

    def _on_classes_changed(self, _value: Any = None) -> None:
        c = self._controls
        c.probability_of.reset_choices()
        c.foreground.reset_choices()
        default = c.default_foreground()
        if default is not None:  # no classes typed (yet): training says what is missing
            c.foreground.value = c.probability_of.value = default
        training = c.training.value
        if training is not None and is_training_layer(training):
            top = max(len(self.class_names), max_label(training.data), 2)
            training.colormap = label_colormap(c.class_colors(top))
        self._balance.refresh()

    def _on_live_toggled(self, on: bool) -> None:
        if on:
            self._live.schedule()
        else:
            self._live.stop()
            self._session.drop_preview()

    # ------------------------------------------------------------------ running
    def _start(self, make_plan, *, live: bool = False) -> GeneratorWorker | None:
        # Suggestions still being ranked do not hold a run back (a stroke would be lost):
        # the run makes them stale, and they are dropped.
        if self._runner.job is not None:
            if not live:
                busy = "The classifier is busy with another run: wait for it or press Cancel."
                report_error(SegLabInputError(busy), what="")
            return None
        try:
            plan = make_plan()
        except SegLabInputError as err:
            if live:
                self._controls.status.value = str(err)
            else:
                self._refuse(str(err))
            return None
        if plan is None:  # live update with nothing new to do
            return None
        self._suggestions.drop_pending()
        worker = self._runner.start(plan)
        self._controls.show_running(True, live=live)
        return worker

    def _refuse(self, message: str) -> None:
        """Show why a request was refused (nothing was changed), also in the status line."""
        report_error(SegLabInputError(message), what="")
        self._controls.status.value = message

    def _set_progress(self, fraction: float) -> None:
        self._controls.progress.value = round(100 * min(max(fraction, 0.0), 1.0))

    def _on_result(self, job: Job, result: Result) -> None:
        trained = result.classifier is not None and result.classifier is not self.classifier
        self._session.accept(result, keep_preview=bool(self._controls.live.value))
        if trained:  # once per training, not with each of its results (the table is slow)
            self._controls.show_importance(result.classifier)
        active = self._viewer.layers.selection.active
        dropped = show_result(self._viewer, result)
        if active is not None and active in self._viewer.layers:
            self._viewer.layers.selection.active = active  # keep the brush on the strokes
        self._controls.progress.value = 100
        self._controls.status.value = result.message
        if dropped:
            self._controls.status.value = (
                f"'{dropped[0]}' was removed from the viewer during the run: its results were "
                "dropped." + (" The classifier is trained." if result.classifier else "")
            )
        self.shown.emit(result)

    def _on_error(self, job: Job, err: Exception) -> None:
        refused = isinstance(err, SegLabInputError)
        if not (job.live and refused):
            report_error(err, what="The classifier")
        what = "" if refused else f"The classifier failed: {type(err).__name__}: "
        self._controls.status.value = f"{what}{err}"

    def _on_finished(self, job: Job) -> None:
        if job.cancel.is_set():
            self._controls.status.value = "Cancelled; nothing was changed."
            if not job.live:
                self._controls.progress.value = 0
        self._controls.show_running(False)
        self._suggestions.finished(job.cancel.is_set())
        self._live.finished()


def _ask_path(parent: Any, *, save: bool, then: Any, classifier: Any = None) -> None:
    """Ask for a classifier file to save or load, and pass the path chosen to `then`.

    A classifier with a scikit-learn estimator is offered a ``.skops`` name, SegLab's forest
    a ``.npz`` one.
    """
    from qtpy.QtWidgets import QFileDialog

    if save:
        suffix = "npz" if classifier is None or classifier.estimator is None else "skops"
        path, _ = QFileDialog.getSaveFileName(
            parent, "Save classifier", f"classifier.{suffix}", f"SegLab classifier (*.{suffix})"
        )
    else:
        path, _ = QFileDialog.getOpenFileName(
            parent, "Load classifier", "", "SegLab classifier (*.npz *.skops);;All files (*)"
        )
    if path:
        then(path)
