"""Clean-up widget: remove small objects and fill small holes of a Labels layer.

A :class:`magicgui.widgets.FunctionGui` over :func:`napari_seglab.core.cleanup.clean_up`: the
signature of :meth:`CleanUpWidget.clean_up` is the UI, plus a Cancel button (the one piece of
state is the job in progress). The work runs off the GUI thread (progress in napari's activity
dock). The result goes to the Labels layer ``"<labels> cleaned"``, updated in place when the
widget runs again; the input layer is never modified. A lazy layer (dask, zarr) is cleaned
chunk by chunk and its result stays lazy. Cancel drops a run once its current step (removing
objects, filling holes) is done; so does closing its input layer. The output layer's metadata
holds the options and, for a layer in memory, its foreground pixels before and after.
"""

from enum import Enum
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import FunctionGui, PushButton
from napari.utils.notifications import show_error, show_info, show_warning

from ..core import SegLabInputError, clean_up, fill_small_holes, remove_small_objects
from ._shared import numpy_or_dask, report_error, run_job, show_output

if TYPE_CHECKING:
    import napari
    import napari.layers
    from napari.qt.threading import GeneratorWorker

__all__ = ["CleanUpWidget", "Connectivity"]

CANCELLED = "Clean up cancelled: nothing changed."


class Connectivity(Enum):
    """Which neighbours touch: the ``connectivity`` of scipy / scikit-image.

    ``CORNERS`` means every neighbour: 8 in 2D (the same as ``EDGES``), 26 in 3D.
    """

    FACES = 1
    EDGES = 2
    CORNERS = 3

    def __str__(self) -> str:
        return {
            1: "faces (4 in 2D, 6 in 3D)",
            2: "edges (8 in 2D, 18 in 3D)",
            3: "all neighbours (8 in 2D, 26 in 3D)",
        }[self.value]


def _clean_up_job(source: Any, options: dict):
    data = numpy_or_dask(source)
    connectivity = min(options["connectivity"], data.ndim)
    if isinstance(data, np.ndarray):  # the two steps of clean_up, one at a time
        cleaned = remove_small_objects(
            data, options["remove_smaller_than"], connectivity=connectivity
        )
        yield
        cleaned = fill_small_holes(
            cleaned, options["fill_holes_smaller_than"], connectivity=connectivity
        )
        yield
        counts = {
            "foreground_pixels_before": int(np.count_nonzero(data)),
            "foreground_pixels_after": int(np.count_nonzero(cleaned)),
        }
    else:  # both in the same passes over the chunks: object sizes now, pixels when shown
        cleaned = clean_up(data, **{**options, "connectivity": connectivity})
        yield
        counts = {}  # counting would compute the whole result before napari shows a chunk
    yield
    return cleaned, counts


class CleanUpWidget(FunctionGui):
    """Remove small objects and fill small holes of a Labels layer, into ``"<labels> cleaned"``.

    The controls are the parameters of :meth:`clean_up`; **Clean up** calls it with their
    values, off the GUI thread, and **Cancel** (enabled while it runs) drops the run.

    Parameters
    ----------
    napari_viewer : napari.Viewer

    Attributes
    ----------
    worker : GeneratorWorker or None
        The job in progress, if any; :meth:`cancel` stops it.

    Examples
    --------
    In the napari console::

        widget = CleanUpWidget(viewer)
        viewer.window.add_dock_widget(widget)
        widget.labels_layer.value = viewer.layers["nuclei otsu"]
        widget.remove_smaller_than.value = 30
        widget(block=True)  # -> layer "nuclei otsu cleaned"
    """

    def __init__(self, napari_viewer: "napari.Viewer") -> None:
        self.viewer = napari_viewer
        self.worker: GeneratorWorker | None = None
        super().__init__(
            self.clean_up,
            call_button="Clean up",
            param_options={
                "labels_layer": {"label": "labels"},
                "remove_smaller_than": {
                    "min": 0,
                    "max": 10**9,
                    "tooltip": "pixels (voxels in 3D); 0 = off",
                },
                "fill_holes_smaller_than": {
                    "min": 0,
                    "max": 10**9,
                    "tooltip": "pixels (voxels); 0 = off",
                },
                "connectivity": {"choices": [(str(c), c) for c in Connectivity]},
                "block": {"visible": False},
            },
        )
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.cancel_button.changed.connect(self.cancel)
        self.append(self.cancel_button)
        # magicgui enables its button again once the call returns; the job may still run
        self.call_button.changed.connect(self._show_busy)

    def _show_busy(self) -> None:
        self.call_button.enabled = not self.busy

    @property
    def busy(self) -> bool:
        """Whether a clean-up is running."""
        return self.worker is not None

    def clean_up(
        self,
        labels_layer: "napari.layers.Labels",
        remove_smaller_than: int = 64,
        fill_holes_smaller_than: int = 64,
        connectivity: Connectivity = Connectivity.FACES,
        block: bool = False,
    ) -> None:
        """Clean up a Labels layer into ``"<labels> cleaned"`` (what the button runs).

        Works on 2D and 3D masks and label images (see
        :func:`napari_seglab.core.cleanup.clean_up`). Bad input, or a layer closed during the
        computation, is reported in napari's notifications and adds nothing.

        Parameters
        ----------
        labels_layer : napari.layers.Labels
            The mask or label image to clean up; it is never modified.
        remove_smaller_than : int
            Objects of fewer pixels (voxels) are removed; 0 = off.
        fill_holes_smaller_than : int
            Holes of fewer pixels (voxels) are filled; 0 = off.
        connectivity : Connectivity
            Which neighbours touch.
        block : bool
            Run in the calling thread and return once the layer is updated (for scripts).
        """
        if self.busy:
            show_error("SegLab is still cleaning up; wait for it to finish, or press Cancel.")
            return
        if labels_layer is None:
            report_error(SegLabInputError("Choose a Labels layer to clean up."), what="Clean up")
            return
        source = labels_layer.data[0] if labels_layer.multiscale else labels_layer.data
        options = {
            "remove_smaller_than": remove_smaller_than,
            "fill_holes_smaller_than": fill_holes_smaller_than,
            "connectivity": connectivity.value,
        }

        def apply(result: tuple[Any, dict]) -> None:
            if labels_layer not in self.viewer.layers:
                show_warning(
                    f"The layer {labels_layer.name!r} was closed while it was being cleaned "
                    "up: the result was dropped."
                )
                return
            cleaned, counts = result
            show_output(
                self.viewer,
                cleaned,
                name=f"{labels_layer.name} cleaned",
                like=labels_layer,
                role="clean-up",
                metadata={"source": labels_layer.name, **options, **counts},
            )

        def finished() -> None:
            self.worker = None
            self.call_button.enabled = True
            self.cancel_button.enabled = False

        self.call_button.enabled = False
        self.cancel_button.enabled = not block
        self.worker = run_job(
            _clean_up_job,
            source,
            options,
            on_returned=apply,
            on_finished=finished,
            on_cancelled=lambda: show_info(CANCELLED),
            what="Clean up",
            steps=3,
            owner=self,
            block=block,
        )

    def cancel(self) -> None:
        """Drop the clean-up in progress: it stops once its current step (removing objects,
        filling holes) is done, and nothing is changed."""
        if self.worker is not None:
            self.worker.quit()
            self.cancel_button.enabled = False
