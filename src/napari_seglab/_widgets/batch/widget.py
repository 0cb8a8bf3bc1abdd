"""The Apply to whole volume panel: controls, the question, the output layer."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from magicgui.widgets import (
    ComboBox,
    Container,
    FileEdit,
    Label,
    ProgressBar,
    PushButton,
    SpinBox,
)

from ...core import SegLabInputError
from ...core.threshold import Foreground, ThresholdMethod
from .._shared import show_output, tie_to
from ..classifier.controls import color_for
from ._work import (
    Operation,
    check_mask_layer,
    check_written_by_seglab,
    classifier_options,
    metadata_of,
    process,
    sources_of,
)

if TYPE_CHECKING:
    import napari
    import napari.layers

__all__ = ["BatchWidget"]

MASK_COLOR = {1: "#E69F00"}  # Okabe-Ito orange


class BatchWidget(Container):
    """Run one operation over a whole (possibly larger than memory) image into a zarr store.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        The viewer whose layers can be processed (napari passes it when it opens the widget).

    Notes
    -----
    Scripts and tests call :meth:`run` (returns the worker) and :meth:`cancel`, and may
    replace :meth:`confirm_overwrite` (e.g. ``widget.confirm_overwrite = lambda path: True``).
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__(labels=True)
        self._viewer = napari_viewer
        self._cancelled = threading.Event()
        self._done = (0, 1)
        self.worker: Any = None
        self.output_layer: napari.layers.Labels | None = None

        self._layer = ComboBox(label="image", choices=self._layer_choices)
        self._operation = ComboBox(label="operation", choices=list(Operation))
        self._method = ComboBox(
            label="method",
            choices=[m for m in ThresholdMethod if m is not ThresholdMethod.MANUAL],
            value=ThresholdMethod.OTSU,
        )
        self._foreground = ComboBox(label="objects are", choices=list(Foreground))
        self._median = SpinBox(label="median size", min=0, max=31, value=0)
        self._remove = SpinBox(label="remove smaller than", min=0, max=10**9, value=0)
        self._fill = SpinBox(label="fill holes smaller than", min=0, max=10**9, value=0)
        self._classifier = FileEdit(label="classifier file", mode="r", filter="*.npz *.skops")
        self._class = SpinBox(
            label="foreground class",
            min=0,
            max=255,
            value=0,
            tooltip="0: write the class ids; N: write the 0/1 mask of class N (e.g. to "
            "validate or clean it)",
        )
        self._output = FileEdit(
            label="output (.zarr)",
            mode="w",
            filter="*.zarr",
            tooltip="name.ome.zarr: an OME-Zarr pyramid with the layer's scale and units, "
            "which napari opens at the level that fits the screen; name.zarr: one plain array",
        )
        self._run = PushButton(text="Apply to whole volume")
        self._cancel = PushButton(text="Cancel", enabled=False)
        self._progress = ProgressBar(label="progress", min=0, max=1000, value=0)
        self._status = Label(value="")
        self.extend(
            [
                self._layer,
                self._operation,
                self._method,
                self._foreground,
                self._median,
                self._remove,
                self._fill,
                self._classifier,
                self._class,
                self._output,
                self._run,
                self._cancel,
                self._progress,
                self._status,
            ]
        )
        self._operation.changed.connect(self._show_options)
        self._run.changed.connect(self.run)
        self._cancel.changed.connect(self.cancel)
        self._show_options()

        from qtpy.QtCore import QTimer

        self._timer = QTimer(self.native)  # stops with the panel
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._show_progress)

    # -------------------------------------------------------------------------- options
    def _layer_choices(self, _widget: Any = None) -> list[tuple[str, Any]]:
        import napari.layers

        return [
            (layer.name, layer)
            for layer in self._viewer.layers
            if isinstance(layer, napari.layers.Image | napari.layers.Labels)
            and layer is not self.output_layer
        ]

    def _show_options(self, *_: Any) -> None:
        operation = Operation(self._operation.value)
        for widget in (self._method, self._foreground, self._median):
            widget.visible = operation is Operation.THRESHOLD
        for widget in (self._remove, self._fill):
            widget.visible = operation is Operation.CLEAN_UP
        self._classifier.visible = self._class.visible = operation is Operation.CLASSIFY

    def set_options(self, **options: Any) -> None:
        """Set widget values by name, e.g. ``set_options(operation="threshold", median=3)``.

        Names: ``image``, ``operation``, ``method``, ``foreground``, ``median``,
        ``remove_smaller_than``, ``fill_holes_smaller_than``, ``classifier``,
        ``foreground_class`` (0: class ids), ``output``.
        """
        widgets = {
            "image": self._layer,
            "operation": self._operation,
            "method": self._method,
            "foreground": self._foreground,
            "median": self._median,
            "remove_smaller_than": self._remove,
            "fill_holes_smaller_than": self._fill,
            "classifier": self._classifier,
            "foreground_class": self._class,
            "output": self._output,
        }
        for name, value in options.items():
            widget = widgets[name]
            if widget in (self._operation, self._method, self._foreground):
                value = type(widget.choices[0])(value)
            widget.value = value

    # ------------------------------------------------------------------------------ run
    def _job(self) -> tuple[Any, Path, dict, napari.layers.Layer]:
        """Check the inputs and build the lazy computation (on the GUI thread: cheap)."""
        import dask.array as da

        from ...core._blocks import is_lazy
        from ...core.io import check_output

        layer = self._layer.value
        if layer is None:
            raise SegLabInputError("Choose an image layer to process.")
        output = Path(self._output.value)
        if output.suffix.lower() != ".zarr":
            raise SegLabInputError(
                "Choose an output path ending in .zarr (or .ome.zarr for an OME-Zarr pyramid)."
            )
        check_output(output, overwrite=True, inputs=sources_of(layer))
        if output.exists():
            check_written_by_seglab(output)
        data = layer.data[0] if layer.multiscale else layer.data
        if not is_lazy(data):
            data = da.from_array(data, chunks="auto")  # a view: nothing is copied
        options = self._options(layer)
        if Operation(options["step"]) is Operation.CLEAN_UP:
            check_mask_layer(layer, data)
        return data, output, options, layer

    def _options(self, layer: napari.layers.Layer) -> dict:
        """The chosen operation and its settings, as plain values (stored with the output)."""
        operation = Operation(self._operation.value)
        options: dict[str, Any] = {"step": operation.value, "input": layer.name}
        rgb = bool(getattr(layer, "rgb", False))
        if operation is Operation.THRESHOLD:
            options |= {
                "method": self._method.value.value,
                "foreground": self._foreground.value.value,
                "median": self._median.value,
            }
        elif operation is Operation.CLEAN_UP:
            if rgb:
                raise SegLabInputError("Clean-up needs a mask or label layer, not an RGB image.")
            options |= {
                "remove_smaller_than": self._remove.value,
                "fill_holes_smaller_than": self._fill.value,
            }
        else:
            options |= classifier_options(Path(self._classifier.value), self._class.value)
        return options | {"rgb": rgb}

    def confirm_overwrite(self, path: Path) -> bool:
        """Ask whether to replace the existing output `path` (replaceable by scripts/tests)."""
        from qtpy.QtWidgets import QMessageBox

        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self.native,
            "Replace the output?",
            f"{path} already exists (an earlier result of SegLab).\n\nReplace it with the "
            "new result? It is replaced only once the new one is complete.",
            buttons.Yes | buttons.No,
            buttons.No,
        )
        return answer == buttons.Yes

    @property
    def status(self) -> str:
        """The status line: what the last run did, or why it did not start."""
        return self._status.value

    def run(self, *_: Any) -> Any:
        """Start processing; returns the worker (None if the input was refused)."""
        from napari.qt.threading import create_worker
        from napari.utils.notifications import show_error

        try:
            data, output, options, layer = self._job()
        except SegLabInputError as err:
            self._status.value = "not started (see the message)"
            show_error(str(err))
            return None
        if output.exists() and not self.confirm_overwrite(output):
            self._status.value = f"not started: {output.name} was kept"
            return None
        self._cancelled.clear()
        self._done = (0, 1)
        self._progress.value = 0
        self._status.value = "working..."
        self._run.enabled, self._cancel.enabled = False, True
        self.worker = create_worker(
            process,
            data,
            output,
            options,
            self._cancelled,
            self._report,
            metadata_of(layer, data.ndim - bool(getattr(layer, "rgb", False))),
            _start_thread=False,
            _ignore_errors=True,  # errors are shown by self._failed, Cancel is not an error
        )
        # The viewer closed meanwhile: stop at the next chunk, as Cancel does (nothing is
        # written), and touch no widget.
        owned = tie_to(self.worker, self, on_gone=self._cancelled.set)
        self.worker.returned.connect(owned(lambda path: self._show(path, layer, options)))
        self.worker.errored.connect(owned(self._failed))
        self.worker.finished.connect(owned(self._finished))
        self._timer.start()
        self.worker.start()
        return self.worker

    def cancel(self, *_: Any) -> None:
        """Stop the running job at its next chunk; nothing is written."""
        self._cancelled.set()
        if self.worker is not None:
            self.worker.quit()
        self._status.value = "cancelling..."

    def _report(self, done: int, total: int) -> None:  # called from the worker thread
        self._done = (done, max(total, 1))

    def _show_progress(self) -> None:
        done, total = self._done
        self._progress.value = int(1000 * done / total)

    def _finished(self) -> None:
        self._timer.stop()
        self._run.enabled, self._cancel.enabled = True, False

    def _failed(self, err: BaseException) -> None:
        from ...core import Cancelled
        from .._shared import report_error

        if isinstance(err, Cancelled):
            self._status.value = "cancelled: nothing was written"
            return
        self._status.value = "failed (see the message)"
        report_error(err, what="Apply to whole volume")

    def _show(self, path: Path, like: napari.layers.Layer, options: dict) -> None:
        """Open the written store lazily as the output Labels layer (updated on re-run)."""
        from ...core.io import open_image

        self._progress.value = 1000
        if like not in self._viewer.layers:  # removed while the work ran: the file is the result
            self._status.value = f"wrote {path} (not shown: {like.name} was removed)"
            return
        classes = options.get("classes") if options.get("foreground_class") is None else None
        # Explicit colours every time: a layer that showed a mask must not keep its colours
        # for class ids (class 1 orange, class 2 invisible), nor the other way round.
        colors = {int(k): color_for(int(k)) for k in classes} if classes else MASK_COLOR
        try:
            layer = show_output(
                self._viewer,
                open_image(path),
                name=f"{like.name} volume",
                like=like,
                role="batch",
                colors=colors,
                metadata={"path": str(path)},
            )
        except Exception as err:  # e.g. the store was removed meanwhile: never stay "working"
            self._failed(err)
            return
        self.output_layer = layer
        self._status.value = f"wrote {path}"
