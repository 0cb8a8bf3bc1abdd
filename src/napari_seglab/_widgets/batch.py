"""Apply to whole volume: threshold, clean up or classify a large image chunk by chunk.

A thin shell over the chunked core (the lazy halves of :mod:`napari_seglab.core`) and
:func:`napari_seglab.core.io.save`: the layer's data (dask, zarr or numpy) is processed chunk
by chunk off the GUI thread, written atomically to a zarr store with progress and a working
Cancel, and shown lazily as the Labels layer ``"<image> volume"`` (updated on re-run).
"""

from __future__ import annotations

import threading
from enum import StrEnum
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

from ..core import SegLabInputError
from ..core.threshold import Foreground, ThresholdMethod
from ._shared import show_output

if TYPE_CHECKING:
    import napari
    import napari.layers

__all__ = ["BatchWidget", "Operation"]

MASK_COLOR = {1: "#E69F00"}  # Okabe-Ito orange


class Operation(StrEnum):
    """What "Apply to whole volume" does."""

    THRESHOLD = "threshold"
    CLEAN_UP = "clean up"
    CLASSIFY = "pixel classifier"


class BatchWidget(Container):
    """Run one operation over a whole (possibly larger than memory) image into a zarr store.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        The viewer whose layers can be processed (napari passes it when it opens the widget).

    Notes
    -----
    Scripts and tests call :meth:`run` (returns the worker) and :meth:`cancel`.
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
        self._classifier = FileEdit(label="classifier file", mode="r", filter="*.npz")
        self._output = FileEdit(label="output (.zarr)", mode="w", filter="*.zarr")
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

        self._timer = QTimer()
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
        self._classifier.visible = operation is Operation.CLASSIFY

    def set_options(self, **options: Any) -> None:
        """Set widget values by name, e.g. ``set_options(operation="threshold", median=3)``.

        Names: ``image``, ``operation``, ``method``, ``foreground``, ``median``,
        ``remove_smaller_than``, ``fill_holes_smaller_than``, ``classifier``, ``output``.
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

        from ..core._blocks import is_lazy

        layer = self._layer.value
        if layer is None:
            raise SegLabInputError("Choose an image layer to process.")
        output = Path(self._output.value)
        if output.suffix.lower() != ".zarr":
            raise SegLabInputError("Choose an output path ending in .zarr.")
        if output.exists():
            import zarr

            try:
                made_by_us = "seglab" in zarr.open(output, mode="r").attrs
            except Exception:  # not a zarr store at all
                made_by_us = False
            if not made_by_us:
                raise SegLabInputError(
                    f"{output} exists and was not written by SegLab; choose another path."
                )
        data = layer.data[0] if layer.multiscale else layer.data
        if not is_lazy(data):
            data = da.from_array(data, chunks="auto")  # a view: nothing is copied
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
            options |= {
                "remove_smaller_than": self._remove.value,
                "fill_holes_smaller_than": self._fill.value,
            }
            if rgb:
                raise SegLabInputError("Clean-up needs a mask or label layer, not an RGB image.")
        else:
            path = Path(self._classifier.value)
            if not path.is_file():
                raise SegLabInputError("Choose a classifier file saved by SegLab.")
            options["classifier"] = str(path)
        return data, output, options | {"rgb": rgb}, layer

    def run(self, *_: Any) -> Any:
        """Start processing; returns the worker (None if the input was refused)."""
        from napari.qt.threading import create_worker
        from napari.utils.notifications import show_error

        try:
            data, output, options, layer = self._job()
        except SegLabInputError as err:
            show_error(str(err))
            return None
        self._cancelled.clear()
        self._done = (0, 1)
        self._progress.value = 0
        self._status.value = "working..."
        self._run.enabled, self._cancel.enabled = False, True
        self.worker = create_worker(
            _process,
            data,
            output,
            options,
            self._cancelled,
            self._report,
            _start_thread=False,
            _ignore_errors=True,  # errors are shown by self._failed, Cancel is not an error
        )
        self.worker.returned.connect(lambda path: self._show(path, layer, options))
        self.worker.errored.connect(self._failed)
        self.worker.finished.connect(self._finished)
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

    def _failed(self, err: Exception) -> None:
        from napari.utils.notifications import show_error

        from ..core import Cancelled

        if isinstance(err, Cancelled):
            self._status.value = "cancelled: nothing was written"
            return
        self._status.value = "failed"
        show_error(
            str(err) if isinstance(err, SegLabInputError) else f"{type(err).__name__}: {err}"
        )

    def _show(self, path: Path, like: napari.layers.Layer, options: dict) -> None:
        """Open the written store lazily as the output Labels layer (updated on re-run)."""
        from ..core.io import open_image

        is_mask = Operation(options["step"]) is not Operation.CLASSIFY
        layer = show_output(
            self._viewer,
            open_image(path),
            name=f"{like.name} volume",
            like=like,
            role="batch",
            colors=MASK_COLOR if is_mask else None,
            metadata={"path": str(path)},
        )
        self.output_layer = layer
        self._progress.value = 1000
        self._status.value = f"wrote {path}"


def _process(data: Any, output: Path, options: dict, cancelled: threading.Event, report) -> Path:
    """The work done off the GUI thread: every pass reports progress and honours Cancel."""
    from ..core.cleanup import clean_up
    from ..core.io import save, watch
    from ..core.threshold import threshold

    step = Operation(options["step"])
    with watch(report, cancelled.is_set):
        if step is Operation.THRESHOLD:
            result = threshold(
                data,
                options["method"],
                foreground=options["foreground"],
                median_size=options["median"],
                rgb=options["rgb"],
            ).mask
        elif step is Operation.CLEAN_UP:
            result = clean_up(
                data,
                remove_smaller_than=options["remove_smaller_than"],
                fill_holes_smaller_than=options["fill_holes_smaller_than"],
            )
        else:
            result = _classify(data, options)
        return save(
            result,
            output,
            overwrite=True,
            attrs={"seglab": options},
            progress=report,
            cancel=cancelled.is_set,
        )


def _classify(data: Any, options: dict) -> Any:
    from ..core.classifier import PixelClassifier

    classifier = PixelClassifier.load(options["classifier"])
    return classifier.predict(data, channel_axis=-1 if options["rgb"] else None)
