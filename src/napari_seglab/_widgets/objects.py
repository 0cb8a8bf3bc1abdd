"""Objects widget: split a mask into numbered objects (or take those of an instance labels
layer as they are numbered), measure them, find each one.

A thin shell over :func:`napari_seglab.label_objects` and :func:`napari_seglab.measure_objects`,
computed off the GUI thread. The first time a Labels layer with several values (an instance
labelling) is chosen, the method becomes "as labelled"; a mask or an image chosen for the
first time leaves "as labelled" for connected components. The objects go to the Labels layer
``"<input> objects"`` (updated in place when re-run; a copy, never the input layer) with the
measurements in its ``features``; the table is shown in the widget (its first
:data:`TABLE_ROWS` rows: a Qt table of more would freeze the GUI while it fills), exported
whole with :meth:`ObjectsWidget.export_csv`, and clicking a row selects that object (by its
label) and centres the view on it (on its plane, for a stack). Cancel drops a run's result
(the step under way, labelling or measuring, finishes first); so does closing its input layer.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    Label,
    PushButton,
    SpinBox,
    Table,
)
from napari.utils.notifications import show_error, show_info, show_warning

from ..core import ObjectLabels, ObjectTable, SplitMethod, label_objects, measure_objects
from ._shared import ROLE_KEY, layer_choices, output_layer, run_job, show_output, strided_sample

if TYPE_CHECKING:
    import napari
    import napari.layers

__all__ = ["ObjectsWidget"]

ROLE = "objects"
TABLE_ROWS = 1000
"""The most rows the widget's table shows (filling ~0.2 s); the layer's features hold all."""
GUESS_PIXELS = 1 << 22
"""The most pixels read (on the GUI thread) to tell an instance labelling from a mask."""


def _array(layer: napari.layers.Layer | None) -> Any:
    """A layer's data as numpy, or dask when it is not in memory (zarr, multiscale)."""
    if layer is None:
        return None
    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    if isinstance(data, np.ndarray) or type(data).__module__.startswith("dask"):
        return data
    import dask.array as da

    return da.from_array(data, chunks=getattr(data, "chunks", "auto"))


def _one_channel(viewer: napari.Viewer, *kinds: type, exclude_role: str | None = None):
    """A ``choices`` callable: the viewer's layers of `kinds` that are not RGB images.

    Points, shapes and the like, and RGB images (three values per pixel), are never offered:
    none of them is a mask, a probability map or an intensity image.
    """
    layers = layer_choices(viewer, *kinds, exclude_role=exclude_role)
    return lambda _widget=None: [
        (name, layer) for name, layer in layers() if not getattr(layer, "rgb", False)
    ]


def _several_values(layer: napari.layers.Labels) -> bool | None:
    """Whether a Labels layer holds more than one positive value (an instance labelling).

    In-memory data is looked at on an evenly strided sample of about :data:`GUESS_PIXELS`
    pixels, a pyramid at its coarsest level; a lazy array larger than that is not read
    (None: unknown).

    Examples
    --------
    >>> from napari.layers import Labels
    >>> cells = np.zeros((4, 4), np.uint8); cells[0, 0], cells[3, 3] = 2, 5
    >>> _several_values(Labels(cells)), _several_values(Labels(cells > 0))
    (True, False)
    """
    data = layer.data[-1] if getattr(layer, "multiscale", False) else layer.data
    if isinstance(data, np.ndarray):
        sample = strided_sample(data, GUESS_PIXELS)
    elif data.size <= GUESS_PIXELS:
        sample = np.asarray(data)
    else:
        return None
    positive = sample[sample > 0]
    return bool(positive.size and positive.min() != positive.max())


def _objects_job(data: Any, intensity: Any, options: dict, spacing: tuple[float, ...]):
    objects = label_objects(data, spacing=spacing, **options)
    yield
    table = measure_objects(objects.labels, intensity, spacing=spacing)
    yield  # a cancel while measuring still drops the result
    return objects, table


def _shown(values: np.ndarray) -> list:
    """Column values for the table on screen (floats rounded for reading)."""
    if np.issubdtype(values.dtype, np.floating):
        return np.round(values, 3).tolist()
    return values.tolist()


class ObjectsWidget(Container):
    """Label objects in a mask or probability layer, or take those of an instance labels
    layer as they are numbered, and measure each one.

    Parameters
    ----------
    napari_viewer : napari.Viewer

    Attributes
    ----------
    objects : ObjectLabels or None
        The last labelling.
    measurements : ObjectTable or None
        The last measurement table (one row per object).
    worker : GeneratorWorker or None
        The job in progress, if any.

    Examples
    --------
    In the napari console::

        widget = ObjectsWidget(viewer)
        widget.source.value = viewer.layers["nuclei otsu"]
        widget.method.value = "watershed"
        widget.run(block=True)
        widget.export_csv("nuclei.csv")
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        from napari.layers import Image, Labels

        self.viewer = napari_viewer
        self.objects: ObjectLabels | None = None
        self.measurements: ObjectTable | None = None
        self.worker = None
        self._input_name = ""
        self._suggested = False
        self._seen: weakref.WeakSet = weakref.WeakSet()  # layers chosen at least once
        self.source = ComboBox(
            label="mask / probability / labels",
            choices=_one_channel(napari_viewer, Labels, Image, exclude_role=ROLE),
        )
        self.intensity = ComboBox(
            label="measure image", choices=_one_channel(napari_viewer, Image), nullable=True
        )
        self.method = ComboBox(
            label="objects",
            choices=[
                ("connected components", "components"),
                ("split touching", "watershed"),
                ("as labelled (each value one object)", "labels"),
            ],
            value="components",
        )
        self.min_distance = SpinBox(label="seeds apart (px)", value=7, min=1, max=10_000)
        self.h = FloatSpinBox(label="h-maxima (0 = off)", value=0.0, min=0.0, max=1e6, step=0.5)
        self.use_probability = CheckBox(text="flood the probability", value=False)
        self.min_size = SpinBox(label="min size (px)", value=0, min=0, max=10**9)
        self.per_plane = CheckBox(text="each plane alone (time-lapse)", value=False)
        self.connectivity = SpinBox(label="connectivity", value=1, min=1, max=3)
        self.run_button = PushButton(text="Find objects")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.status = Label(value="")
        self.status.native.setWordWrap(True)
        self.table = Table(value={"label": []})
        self.table.read_only = True
        self.table.min_height = 160
        self.csv_path = FileEdit(mode="w", label="CSV file", filter="*.csv")
        self.export_button = PushButton(text="Export CSV", enabled=False)
        self._watershed_only = (self.min_distance, self.h, self.use_probability)
        self._not_as_labelled = (self.per_plane, self.connectivity)  # labels are given
        controls = [self.source, self.intensity, self.method, *self._watershed_only,
                    self.min_size, self.per_plane, self.connectivity,
                    Container(widgets=[self.run_button, self.cancel_button], layout="horizontal",
                              labels=False)]  # fmt: skip
        results = [self.status, self.table, self.csv_path, self.export_button]
        super().__init__(widgets=[*controls, *results])
        self.method.changed.connect(self._method_changed)
        self.source.changed.connect(self._source_changed)
        self.run_button.changed.connect(self.run)
        self.cancel_button.changed.connect(self.cancel)
        self.export_button.changed.connect(lambda: self.export_csv(self.csv_path.value))
        self.table.native.itemSelectionChanged.connect(self._row_selected)
        self._method_changed()
        self._source_changed(self.source.value)

    def reset_choices(self, *args: Any) -> None:
        """Refresh the layer pickers (napari calls it when layers change); the first time,
        start on the newest Labels layer that is not an objects output (a mask, or an
        instance labelling)."""
        import napari.layers

        super().reset_choices(*args)
        if self._suggested or not self.source.choices:
            return
        self._suggested = True
        masks = [
            layer
            for layer in self.source.choices
            if isinstance(layer, napari.layers.Labels) and layer.metadata.get(ROLE_KEY) != ROLE
        ]
        if masks:
            self.source.value = masks[-1]
        self._source_changed(self.source.value)  # also when it was chosen already

    def _method_changed(self, *_: Any) -> None:
        for widget in self._watershed_only:
            widget.visible = self.method.value == "watershed"
        for widget in self._not_as_labelled:
            widget.visible = self.method.value != "labels"

    def _source_changed(self, layer: napari.layers.Layer | None) -> None:
        """The first time a layer is chosen, choose the method that fits it: "as labelled"
        for a Labels layer with several values, not "as labelled" for a mask or an image
        (a lazy Labels layer too large to look at keeps the method)."""
        import napari.layers

        if layer is None or layer in self._seen:
            return
        self._seen.add(layer)
        several = _several_values(layer) if isinstance(layer, napari.layers.Labels) else False
        if several:
            self.method.value = "labels"
        elif several is False and self.method.value == "labels":
            self.method.value = "components"

    @property
    def busy(self) -> bool:
        """Whether a job is running."""
        return self.worker is not None

    @property
    def output(self) -> napari.layers.Labels | None:
        """The objects layer of the current input, if it exists."""
        return output_layer(self.viewer, f"{self._input_name} objects")

    def options(self) -> dict:
        """The keyword arguments of :func:`napari_seglab.label_objects` set in the widget."""
        source = self.source.value
        ndim = source.ndim if source is not None else 2
        per_plane = self.per_plane.value and self.method.value != "labels"  # hidden then
        return {
            "method": SplitMethod(self.method.value),
            "min_distance": self.min_distance.value,
            "h": self.h.value or None,
            "use_probability": self.use_probability.value,
            "min_size": self.min_size.value,
            "per_plane": per_plane,
            "connectivity": min(self.connectivity.value, ndim - per_plane),
        }

    def run(self, *, block: bool = False) -> None:
        """Label and measure the chosen layer (off the GUI thread unless `block`)."""
        layer = self.source.value
        if layer is None or self.busy:
            if layer is None:
                show_error("Choose a mask, probability or labels layer first.")
            return
        intensity = self.intensity.value
        self.run_button.enabled = False
        self.cancel_button.enabled = not block
        self.status.value = "finding objects…"
        self.worker = run_job(
            _objects_job,
            _array(layer),
            _array(intensity),
            self.options(),
            tuple(float(s) for s in layer.scale),
            on_returned=lambda result: self._apply(layer, result),
            on_finished=self._finished,
            what="Objects",
            steps=2,
            owner=self,
            block=block,
            on_refused=self._refused,
            on_cancelled=self._cancelled,
        )

    def _refused(self, error: BaseException) -> None:
        self.status.value = f"Nothing changed: {error}"

    def _cancelled(self) -> None:
        self.status.value = "Cancelled: nothing changed."

    def cancel(self) -> None:
        """Drop the run in progress: it stops once its current step (labelling or measuring)
        is done, and nothing is changed."""
        if self.worker is not None:
            self.worker.quit()

    def _finished(self) -> None:
        self.worker = None
        self.run_button.enabled = True
        self.cancel_button.enabled = False

    def _apply(self, layer: napari.layers.Layer, result: tuple[ObjectLabels, ObjectTable]):
        if layer not in self.viewer.layers:
            self.status.value = (
                f"The layer {layer.name!r} was closed during the computation: its objects were "
                "dropped."
            )
            show_warning(self.status.value)
            return
        self._show(layer, *result)

    def _show(self, layer: napari.layers.Layer, objects: ObjectLabels, table: ObjectTable) -> None:
        self.objects, self.measurements = objects, table
        self._input_name = layer.name
        features = {"index": table["label"], **table.columns}
        show_output(
            self.viewer,
            objects.labels,
            name=f"{layer.name} objects",
            like=layer,
            role=ROLE,
            features=features,
            metadata={"n_objects": objects.n_objects, "method": objects.method},
        )
        rows = slice(TABLE_ROWS)  # the first rows, in the order of the measurements
        self.table.value = {name: _shown(values[rows]) for name, values in table.columns.items()}
        self.export_button.enabled = True
        note = f"; not measured: {', '.join(table.omitted)}" if table.omitted else ""
        if len(table) > TABLE_ROWS:
            note += (
                f". The table lists the first {TABLE_ROWS:,} of the {len(table):,} objects; "
                "all of them are in Export CSV and in the objects layer's features"
            )
        self.status.value = objects.describe() + note

    def export_csv(self, path: str | Path) -> Path | None:
        """Write the measurement table to `path` (CSV); None when nothing was measured."""
        if self.measurements is None:
            show_error("Find objects first: there is no table to export.")
            return None
        written = self.measurements.to_csv(path)
        show_info(f"Saved {len(self.measurements)} objects to {written}")
        return written

    def _row_selected(self) -> None:
        # The object is the row's label (its number in the layer), not the row's index:
        # labels taken as labelled have gaps, and need not start at 1.
        rows = sorted({index.row() for index in self.table.native.selectedIndexes()})
        if rows and self.measurements is not None:
            column = self.table.column_headers.index("label")
            self.select_object(int(self.table.data[rows[0], column]))

    def select_object(self, label: int) -> None:
        """Select object `label` in the objects layer and centre the view on its centroid.

        For a stack, the viewer moves to the object's plane as well.
        """
        layer, table = self.output, self.measurements
        if layer is None or table is None or "centroid-0" not in table.names:
            return
        rows = np.flatnonzero(table["label"] == label)
        if not rows.size:
            return
        centroid = [table[f"centroid-{a}"][rows[0]] for a in range(layer.ndim)]
        data_point = np.asarray(centroid) / np.asarray(layer.scale)  # physical -> pixels
        world = np.asarray(layer.data_to_world(data_point))
        first = self.viewer.dims.ndim - layer.ndim  # viewer axis of the layer's first
        centre = {first + a: float(v) for a, v in enumerate(world)}
        layer.selected_label = int(label)
        displayed = self.viewer.dims.displayed
        for axis, value in centre.items():
            if axis not in displayed:
                self.viewer.dims.set_point(axis, value)
        self.viewer.scene.camera.center = tuple(centre[a] for a in displayed if a in centre)
