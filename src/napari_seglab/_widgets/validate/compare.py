"""The Validate panel's comparison: several predictions on one ground truth, best first."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from magicgui.widgets import ComboBox, Container, Label, PushButton, Select, Table
from napari.utils.notifications import show_error, show_info, show_warning

from ...core import SegLabInputError
from ...core.metrics import RANKABLE, Comparison, compare_predictions
from .._shared import layer_choices, numpy_or_dask, run_job
from . import foreground
from .layers import ROLE
from .placement import overlay_warning
from .plot import F1Plot

if TYPE_CHECKING:
    from .widget import ValidationWidget

__all__ = ["COLUMNS", "ComparisonPanel"]

COLUMNS = {
    "prediction": "prediction",
    "f1": "F1",
    "mcc": "MCC",
    "iou": "IoU",
    "boundary_f1": "bound. F1",
    "dsb_score": "DSB",
    "pq": "PQ",
    "hd95": "HD95",
}
"""Columns of the comparison table: score key -> header (the CSV holds every score)."""


def _comparison_job(predictions: dict, truth: Any, options: dict):
    """One prediction at a time, so that a cancel (``worker.quit()``) lands between two."""
    truth = numpy_or_dask(truth)
    rows, instances = [], {}
    for name, data in predictions.items():
        yield
        one = compare_predictions({name: numpy_or_dask(data)}, truth, **options)
        rows += one.rows
        instances.update(one.instances)
    yield  # a cancel during the last one still drops the comparison
    rank = options["rank_by"]  # as compare_predictions ranks: best first, ties in given order
    return Comparison(rank, tuple(sorted(rows, key=lambda row: -row[rank])), instances)


class ComparisonPanel(Container):
    """Pick several Labels layers, compare them on the Validate panel's ground truth.

    Attributes
    ----------
    comparison : Comparison or None
        The last comparison (rows best first).
    worker : GeneratorWorker or None
        The comparison in progress, if any (:meth:`cancel` drops it).
    status : magicgui.widgets.Label
        What the last run did, and which ground truth the comparison shown is on (a refused
        run keeps the earlier comparison and says so).
    """

    def __init__(self, validate: ValidationWidget) -> None:
        import napari.layers

        self._validate = validate
        self.comparison: Comparison | None = None
        self.worker = None
        self._truth_name = ""  # the ground truth of the comparison shown
        viewer = validate.viewer
        self.predictions = Select(
            label="compare",
            choices=layer_choices(viewer, napari.layers.Labels, exclude_role=ROLE),
            tooltip="Predictions to compare (Ctrl+click): one row each, best first",
        )
        self.predictions.native.setMaximumHeight(60)
        self.rank_by = ComboBox(label="rank by", choices=list(RANKABLE), value="mcc")
        self.compare_button = PushButton(text="Compare")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.status = Label(value="")
        self.status.native.setWordWrap(True)
        self.export_button = PushButton(text="Export comparison CSV…", enabled=False)
        self.table = Table(label="comparison")
        self.table.read_only = True
        self.table.min_height = 110
        self.table.native.verticalHeader().hide()
        self.plot = F1Plot()
        super().__init__(
            widgets=[
                self.predictions,
                Container(
                    widgets=[self.rank_by, self.compare_button, self.cancel_button],
                    layout="horizontal",
                    labels=False,
                ),
                self.status,
                self.table,
                self.export_button,
            ],
            labels=False,  # the table takes the panel's whole width
        )
        self.native.layout().addWidget(self.plot)
        self.compare_button.changed.connect(self.run)
        self.cancel_button.changed.connect(self.cancel)
        self.export_button.changed.connect(self._ask_export)
        self.rank_by.changed.connect(self._rerank)
        self.table.native.itemSelectionChanged.connect(self._plot_selected)

    @property
    def busy(self) -> bool:
        """Whether a comparison is running."""
        return self.worker is not None

    def _inputs(self) -> tuple[dict, Any, dict]:
        """The chosen predictions' data, the ground truth's and the compare options."""
        validate = self._validate
        layers = list(self.predictions.value)
        if not layers:
            raise SegLabInputError("Choose the predictions to compare (Ctrl+click in the list).")
        truth_layer = validate.ground_truth.value
        truth = validate._array(truth_layer, "ground truth")
        predictions, classes = {}, {}
        for layer in layers:
            data = validate._array(layer, "prediction")
            if layer is truth_layer:
                raise SegLabInputError(f"{layer.name!r} is the ground truth; do not compare it.")
            if data.shape != truth.shape:
                raise SegLabInputError(
                    f"The prediction {layer.name!r} has shape {data.shape} but the ground "
                    f"truth {truth_layer.name!r} has shape {truth.shape}; they must cover the "
                    "same pixels."
                )
            values = foreground.known_values(validate._data(layer))
            if values is None or len(values) > 1:  # not a mask: the class chosen above
                chosen = validate.foreground_class.value
                if chosen == foreground.ASK or layer is not validate.prediction.value:
                    raise SegLabInputError(
                        f"The prediction {layer.name!r} is not a mask: choose it as the "
                        "prediction above and pick its foreground class, or compare masks."
                    )
                classes[layer.name] = chosen
            predictions[layer.name] = data
        options = {
            "rank_by": self.rank_by.value,
            "foreground_classes": classes,
            "truth_objects": validate.truth_objects(),
            "spacing": tuple(float(v) for v in truth_layer.scale[-truth.ndim :]),
        }
        return predictions, truth, options

    def run(self, *, block: bool = False):
        """Compare the chosen predictions; fill the table and plot the best one's F1.

        Returns
        -------
        GeneratorWorker or None
            As :meth:`ValidationWidget.run`.
        """
        if self.worker is not None:
            show_error("SegLab is still comparing; wait for it to finish.")
            return None
        try:
            predictions, truth, options = self._inputs()
        except SegLabInputError as err:
            show_error(str(err))
            self._refused(err)
            return None
        truth_layer = self._validate.ground_truth.value
        truth_name = truth_layer.name
        compared = [*self.predictions.value, truth_layer]
        warning = overlay_warning(compared[:-1], truth_layer)
        if warning:  # compared all the same, as in Validate
            show_warning(warning)

        def shown(comparison: Comparison) -> None:
            gone = [x.name for x in compared if x not in self._validate.viewer.layers]
            if gone:  # deleted while comparing: as in Validate, nothing is shown for it
                show_info(f"Comparison discarded: {gone[0]!r} was removed from the viewer.")
                self._say(f"Discarded: {gone[0]!r} was removed from the viewer while comparing.")
                return
            self._truth_name = truth_name
            self._show(comparison)
            self.status.value = f"Compared against the ground truth {truth_name!r}."

        def finished() -> None:
            self.worker = None
            self.compare_button.enabled = True
            self.cancel_button.enabled = False

        self.compare_button.enabled = False
        self.cancel_button.enabled = not block
        self._say(f"Comparing against {truth_name!r}…")
        self.worker = run_job(
            _comparison_job,
            predictions,
            truth,
            options,
            on_returned=shown,
            on_finished=finished,
            what="Compare",
            steps=len(predictions) + 1,
            owner=self,
            block=block,
            on_refused=self._refused,
            on_cancelled=lambda: self._say("Cancelled: nothing changed."),
        )
        return self.worker

    def cancel(self) -> None:
        """Drop the comparison in progress: it stops once the prediction being scored is
        done, and nothing is changed."""
        if self.worker is not None:
            self.worker.quit()

    def _refused(self, error: BaseException) -> None:
        self._say(f"Nothing changed: {error}")

    def _say(self, news: str) -> None:
        """Put `news` in the status line, and whose the comparison still shown is."""
        earlier = f" The comparison below is still the one against {self._truth_name!r}."
        self.status.value = news + (earlier if self.comparison is not None else "")

    def _show(self, comparison: Comparison) -> None:
        self.comparison = comparison
        self.table.value = {
            "data": [[_cell(row.get(c, "")) for c in COLUMNS] for row in comparison.rows],
            "index": [str(i + 1) for i in range(len(comparison.rows))],
            "columns": list(COLUMNS.values()),
        }
        self.table.native.resizeColumnsToContents()
        self.export_button.enabled = True
        self._plot(comparison.rows[0]["prediction"])

    def _rerank(self, *_: Any) -> None:
        if self.comparison is not None and self.rank_by.value in self.comparison.rows[0]:
            rows = sorted(self.comparison.rows, key=lambda row: -row[self.rank_by.value])
            self._show(Comparison(self.rank_by.value, tuple(rows), self.comparison.instances))

    def _plot_selected(self) -> None:
        rows = {index.row() for index in self.table.native.selectedIndexes()}
        if self.comparison is not None and len(rows) == 1:
            self._plot(self.comparison.rows[rows.pop()]["prediction"])

    def _plot(self, name: str) -> None:
        scores = None if self.comparison is None else self.comparison.instances.get(name)
        if scores is not None:
            self.plot.set_data(
                [m.threshold for m in scores.matches], [m.f1 for m in scores.matches], name
            )

    def export_comparison_csv(self, path: str | Path) -> Path | None:
        """Write the comparison (every pixel, instance and boundary score; one row per
        prediction, best first) to a CSV file; None (and a notification) before a comparison."""
        if self.comparison is None:
            show_error("Compare first: there is no comparison to export.")
            return None
        return self.comparison.to_csv(path)

    def _ask_export(self) -> None:
        from qtpy.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(
            self.native, "Export comparison", "comparison.csv", "CSV files (*.csv)"
        )
        if path:
            self.export_comparison_csv(path)


def _cell(value: Any) -> Any:
    return f"{value:.3f}" if isinstance(value, float) else value
