"""The Validate panel: pickers, run, confusion layers and tables (see the package docstring)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, Label, PushButton, Table
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtWidgets import QApplication

from ...core import SegLabInputError
from ...core.metrics import Evaluation
from .._shared import ROLE_KEY, layer_choices, run_job, show_output
from . import foreground
from .compare import ComparisonPanel
from .export import ExportMixin
from .families import FAMILIES, evaluation_job
from .layers import ROLE, hide_earlier, show_objects
from .placement import overlay_warning, placement_differences
from .tables import (
    CLASSES,
    MEANING,
    Palette,
    legend_html,
    metrics_table,
    objects_table,
)

if TYPE_CHECKING:
    import napari

__all__ = ["ValidationWidget"]


class ValidationWidget(ExportMixin, Container):
    """Compare a prediction (a Labels layer: a mask, or labels with a chosen foreground class)
    with a ground truth (a binary mask, Labels or Image layer).

    Parameters
    ----------
    napari_viewer : napari.Viewer

    Attributes
    ----------
    result : Evaluation or None
        The last evaluation (counts, scores, per-plane counts, object metrics).
    worker : GeneratorWorker or None
        The evaluation in progress, if any (:meth:`cancel` drops it).
    status : magicgui.widgets.Label
        What the last run did, and which layers the results shown belong to (a refused run
        keeps the earlier results and says whose they are).

    Examples
    --------
    In the napari console::

        widget = ValidationWidget(viewer)
        widget.prediction.value = viewer.layers["KESM vessels otsu"]
        widget.ground_truth.value = viewer.layers["KESM ground truth"]
        widget.run(block=True)
        widget.result.counts  # ConfusionCounts(tp=5595, fp=122, fn=1863, tn=254564)
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        import napari.layers

        self.viewer = napari_viewer
        self.result: Evaluation | None = None
        self.worker = None
        self._names: tuple[str, ...] = ()
        self._results_of = ""  # the layers the results shown describe: "'pred' against 'truth'"
        self._values: list[int] | None = []  # the prediction's non-zero values, None: unknown
        self.needs_foreground_class = False  # whether the prediction may not be a mask
        labels, image = napari.layers.Labels, napari.layers.Image
        # A raw image is never offered as the prediction: only Labels layers (see docs).
        self.prediction = ComboBox(
            label="prediction", choices=layer_choices(napari_viewer, labels, exclude_role=ROLE)
        )
        self.ground_truth = ComboBox(
            label="ground truth",
            choices=layer_choices(napari_viewer, labels, image, exclude_role=ROLE),
        )
        self.foreground_class = ComboBox(
            label="foreground class",
            choices=self._class_choices,
            visible=False,
            tooltip="The prediction has several values: which of them is the foreground? "
            "A class of a classifier's segmentation, or 'any object' for instance labels.",
        )
        self.truth_labels = CheckBox(
            text="ground truth is instance labels (one id per object)",
            value=False,
            tooltip="Its objects are its labels (touching ones stay separate) and its pixels "
            "> 0 are the foreground. Off: a binary mask, whose objects are its components.",
        )
        self.iou_threshold = FloatSpinBox(
            label="object IoU ≥", value=0.5, min=0.01, max=1.0, step=0.05
        )
        self.palette = ComboBox(
            label="colours", choices=[(p.value, p) for p in Palette], value=Palette.ARTICLE
        )
        self.family_boxes = {
            key: CheckBox(text=text, value=True) for key, text in FAMILIES.items()
        }
        self.families: dict[str, float] = {}  # the last instance and boundary scores
        self.run_button = PushButton(text="Validate")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.status = Label(value="")
        self.status.native.setWordWrap(True)
        self.comparison = ComparisonPanel(self)
        self.comparison.visible = False
        self.compare_box = CheckBox(text="compare several predictions…", value=False)
        self.legend = Label(value="")
        self.copy_button = PushButton(text="Copy table", enabled=False)
        self.export_button = PushButton(text="Export CSV…", enabled=False)
        self._buttons = Container(
            widgets=[self.copy_button, self.export_button], layout="horizontal"
        )
        self.table = Table(label="metrics")
        self.objects_table = Table(label="objects")
        for table in (self.table, self.objects_table):
            table.read_only = True
        # F1, IoU and MCC are the first rows; the heights fit a 1366 x 768 screen, and show
        # more rows on a screen of 1080 pixels or more.
        screen = QApplication.primaryScreen()
        tall = screen is not None and screen.availableGeometry().height() >= 1000
        self.table.min_height = 330 if tall else 180
        self.objects_table.min_height = 130 if tall else 90

        super().__init__(
            widgets=[
                self.prediction,
                self.foreground_class,
                self.ground_truth,
                self.truth_labels,
                self.iou_threshold,
                self.palette,
                Container(
                    widgets=list(self.family_boxes.values()), layout="horizontal", labels=False
                ),
                Container(
                    widgets=[self.run_button, self.cancel_button],
                    layout="horizontal",
                    labels=False,
                ),
                self.status,
                self.legend,
                self._buttons,
                self.table,
                self.objects_table,
                self.compare_box,
                self.comparison,
            ]
        )
        self.run_button.changed.connect(self.run)
        self.cancel_button.changed.connect(self.cancel)
        self.compare_box.changed.connect(self._toggle_comparison)
        self.prediction.changed.connect(self._update_foreground)
        self.palette.changed.connect(self._apply_palette)
        self.copy_button.changed.connect(self.copy_to_clipboard)
        self.export_button.changed.connect(self._ask_export)
        super().reset_choices()
        self._suggest()
        self._update_foreground()
        self._update_legend()

    def reset_choices(self, *_: Any) -> None:
        """Refresh the layer pickers; a layer just added may be pre-selected.

        napari calls this whenever the viewer's layers change (for every docked widget).
        """
        before = {id(layer) for layer in self.prediction.choices}
        super().reset_choices()
        added = [layer for layer in self.prediction.choices if id(layer) not in before]
        if added:
            self._suggest(added[-1])
        self._update_foreground()

    def _suggest(self, new_layer=None) -> None:
        """Pre-select a sensible prediction and ground truth.

        The ground truth: the newest layer with "truth" in its name. The prediction: a
        segmentation SegLab has just made, else the newest other Labels layer.
        """
        import napari.layers

        layers = list(self.prediction.choices)
        truth = self.ground_truth.value
        if truth is None or truth is self.prediction.value or new_layer is None:
            named = [x for x in self.ground_truth.choices if "truth" in x.name.lower()]
            if named:
                self.ground_truth.value = truth = named[-1]
        made_by_seglab = new_layer is not None and new_layer.metadata.get(ROLE_KEY) in (
            "threshold",
            "clean-up",
        )
        if made_by_seglab and new_layer in layers:
            self.prediction.value = new_layer
        elif new_layer is None or self.prediction.value is truth:
            labels = [
                layer
                for layer in layers
                if isinstance(layer, napari.layers.Labels) and layer is not truth
            ]
            if labels:
                self.prediction.value = labels[-1]

    def _update_foreground(self, *_: Any) -> None:
        """Offer the foreground-class choice when the prediction is not known to be a mask.

        The choice made is kept while it is still offered (e.g. after painting).
        """
        layer = self.prediction.value
        data = None if layer is None else self._data(layer)
        values = [] if data is None else foreground.known_values(data)
        self._values = values
        needed = values is None or len(values) > 1
        before = self.foreground_class.value
        self.needs_foreground_class = needed
        self.foreground_class.reset_choices()
        offered = list(self.foreground_class.choices)
        self.foreground_class.value = before if needed and before in offered else foreground.ASK
        self.foreground_class.visible = needed

    def _class_choices(self, _widget: Any = None) -> list[tuple[str, Any]]:
        """The foreground-class choices for the prediction (a magicgui choices callable)."""
        return foreground.choices_for(self._values if self.needs_foreground_class else [])

    def _chosen_class(self) -> int | str | None:
        """The foreground class for the core (None: the prediction must be a mask)."""
        self._update_foreground()  # the prediction may have been painted since
        chosen = self.foreground_class.value if self.needs_foreground_class else None
        if chosen == foreground.ASK and self._values is not None:  # known: several values
            name = self.prediction.value.name
            raise SegLabInputError(
                f"The prediction {name!r} holds {foreground.shown_values(self._values)}: it is "
                "not a mask. Choose its foreground class above (a class of a classifier's "
                "segmentation, or 'any object' for instance labels)."
            )
        return None if chosen == foreground.ASK else chosen

    def _toggle_comparison(self, shown: bool) -> None:
        """Show the comparison in place of the tables, legend and buttons (it has F1, MCC,
        IoU, boundary F1 and the DSB score of every prediction): the panel keeps its height."""
        self.comparison.visible = shown
        for part in (self.table, self.objects_table, self.legend, self._buttons):
            part.visible = not shown

    def truth_objects(self) -> str:
        """``"labels"`` or ``"components"``, as the core's ``truth_objects``."""
        return "labels" if self.truth_labels.value else "components"

    def export_comparison_csv(self, path):
        """Write the last comparison to a CSV file (see :class:`ComparisonPanel`)."""
        return self.comparison.export_comparison_csv(path)

    @property
    def busy(self) -> bool:
        """Whether an evaluation is running."""
        return self.worker is not None

    @staticmethod
    def _data(layer) -> Any:
        """The layer's data (its full resolution), not read."""
        return layer.data[0] if getattr(layer, "multiscale", False) else layer.data

    def _array(self, layer, role: str) -> Any:
        """The layer's data, not read (a lazy layer is computed chunk by chunk in the job)."""
        if layer is None:
            kinds = "a Labels layer" if role == "prediction" else "a Labels or Image layer"
            raise SegLabInputError(f"Choose a {role} layer ({kinds}).")
        if getattr(layer, "rgb", False):
            raise SegLabInputError(
                f"The {role} {layer.name!r} is an RGB image; a mask or label image is needed."
            )
        return self._data(layer)

    def run(self, *, block: bool = False):
        """Evaluate the prediction against the ground truth; show layers and tables.

        Parameters
        ----------
        block : bool
            Compute in the calling thread and return when done (for scripts).

        Returns
        -------
        GeneratorWorker or None
            The worker (None when blocking or on bad input, which is reported in napari's
            notifications and changes nothing).
        """
        if self.busy:
            show_error("SegLab is still validating; wait for it to finish.")
            return None
        prediction_layer, truth_layer = self.prediction.value, self.ground_truth.value
        try:
            prediction = self._array(prediction_layer, "prediction")
            truth = self._array(truth_layer, "ground truth")
            if prediction_layer is truth_layer:
                raise SegLabInputError(
                    f"Prediction and ground truth are the same layer {truth_layer.name!r}: "
                    "choose a segmentation as the prediction (make one with Threshold or "
                    "Pixel classifier first)."
                )
            if prediction.shape != truth.shape:
                raise SegLabInputError(
                    f"The prediction {prediction_layer.name!r} has shape {prediction.shape} but "
                    f"the ground truth {truth_layer.name!r} has shape {truth.shape}; they must "
                    "cover the same pixels."
                )
            options = {
                "foreground_class": self._chosen_class(),
                "iou_threshold": self.iou_threshold.value,
                "truth_objects": self.truth_objects(),
            }
            extra = {
                "families": tuple(k for k, box in self.family_boxes.items() if box.value),
                "spacing": tuple(float(v) for v in prediction_layer.scale[-prediction.ndim :]),
            }
        except SegLabInputError as err:
            show_error(str(err))
            self._refused(err)
            return None
        pair = f"{prediction_layer.name!r}"
        if options["foreground_class"] is not None:
            pair += f" (foreground class {options['foreground_class']})"
        pair += f" against {truth_layer.name!r}"
        misplaced = placement_differences(prediction_layer, truth_layer)
        if misplaced:  # compared all the same: a truth opened without the image's pixel size
            show_warning(overlay_warning([prediction_layer], truth_layer))

        def apply(output) -> None:
            evaluation, masks, families, objects = output
            gone = [x.name for x in (prediction_layer, truth_layer) if x not in self.viewer.layers]
            if gone:  # deleted while validating: nothing is added for it
                show_info(f"Validation discarded: {gone[0]!r} was removed from the viewer.")
                self._say(f"Discarded: {gone[0]!r} was removed from the viewer while validating.")
                return
            self.families = families
            self._show(prediction_layer, truth_layer, evaluation, masks, options, objects)
            self._results_of = pair
            self.status.value = f"Results of {pair}." + (
                f" They do not overlay in the viewer ({misplaced}): compared pixel by pixel."
                if misplaced
                else ""
            )
            counts = evaluation.counts
            if counts.tp + counts.fn == 0:
                show_info(
                    f"The ground truth {truth_layer.name!r} has no foreground pixel: precision, "
                    "recall and F1 are 0 (or 1 if nothing is predicted) by convention; see "
                    "docs/metrics.md."
                )

        def finished() -> None:
            self.worker = None
            self.run_button.enabled = True
            self.cancel_button.enabled = False

        self.run_button.enabled = False
        self.cancel_button.enabled = not block
        self._say(f"Validating {pair}…")
        self.worker = run_job(
            evaluation_job,
            prediction,
            truth,
            options,
            extra,
            on_returned=apply,
            on_finished=finished,
            what="Validate",
            steps=4,
            owner=self,
            block=block,
            on_refused=self._refused,
            on_cancelled=lambda: self._say("Cancelled: nothing changed."),
        )
        return self.worker

    def cancel(self) -> None:
        """Drop the evaluation in progress: it stops once its current step (pixel scores,
        confusion layers, instance and boundary scores, object layers) is done, and nothing
        is changed."""
        if self.worker is not None:
            self.worker.quit()

    def _refused(self, error: BaseException) -> None:
        self._say(f"Nothing changed: {error}")

    def _say(self, news: str) -> None:
        """Put `news` in the status line, and whose the results still shown are."""
        earlier = f" The results below are still those of {self._results_of}."
        self.status.value = news + (earlier if self._results_of else "")

    def _show(self, prediction_layer, truth_layer, evaluation, masks, options, objects) -> None:
        self.result = evaluation
        colors = self.palette.value.colors
        totals = next(row for row in evaluation.rows() if row["plane"] == "total")
        metrics = {**totals, "prediction": prediction_layer.name, "truth": truth_layer.name}
        metrics["foreground_class"] = options["foreground_class"]
        if evaluation.objects is not None:
            metrics["objects"] = asdict(evaluation.objects)
        counts = asdict(evaluation.counts)
        names = []
        for key in CLASSES:
            name = f"{prediction_layer.name} {key}"
            previous = next((lay for lay in self.viewer.layers if lay.name == name), None)
            again = previous is not None and name in self._names  # the user's choice stays
            visible = previous.visible if again else key != "TN"
            show_output(
                self.viewer,
                masks[key],
                name=name,
                like=prediction_layer,
                colors={1: colors[key]},
                visible=visible,
                opacity=0.7,
                features={
                    "index": [1],
                    "class": [key],
                    "pixels": [counts[key.lower()]],
                    "meaning": [MEANING[key]],
                },
                role=ROLE,
                metadata={"class": key, "metrics": metrics},
            )
            names.append(name)
        names += show_objects(self.viewer, prediction_layer, objects, metrics, self._names)
        self._names = tuple(names)
        hide_earlier(self.viewer, names)
        self._fill_tables(evaluation)
        self._update_legend()
        self.copy_button.enabled = self.export_button.enabled = True

    def _fill_tables(self, evaluation: Evaluation) -> None:
        self.table.value = metrics_table(evaluation)
        self.objects_table.value = objects_table(evaluation, self.families)

    def _apply_palette(self, *_: Any) -> None:
        from .._layers import label_colormap

        colors = self.palette.value.colors
        for layer in self.viewer.layers:
            if layer.name in self._names and "class" in layer.metadata:  # TP / FP / FN / TN
                layer.colormap = label_colormap({1: colors[layer.metadata["class"]]})
        self._update_legend()

    def _update_legend(self) -> None:
        self.legend.value = legend_html(self.palette.value.colors, self.result)
