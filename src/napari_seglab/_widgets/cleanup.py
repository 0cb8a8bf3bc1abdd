"""Clean-up widget: remove small objects and fill small holes of a Labels layer.

A typed function over :func:`napari_seglab.core.cleanup.clean_up`; its signature is the UI. The
work runs off the GUI thread (progress in napari's activity dock). The result goes to the
Labels layer ``"<labels> cleaned"``, updated in place when the widget runs again; the input
layer is never modified. A lazy layer (dask, zarr) is cleaned chunk by chunk and its result
stays lazy. A result whose input layer was closed during the computation is dropped.
"""

from enum import Enum
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui import magic_factory
from napari.utils.notifications import show_warning

from ..core import SegLabInputError, clean_up
from ._shared import numpy_or_dask, report_error, run_job, show_output

if TYPE_CHECKING:
    import napari

__all__ = ["Connectivity", "clean_up_widget"]


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


def _foreground(data: Any) -> int:
    import dask.array as da

    return int(
        da.count_nonzero(data).compute() if isinstance(data, da.Array) else np.count_nonzero(data)
    )


def _clean_up_job(source: Any, options: dict):
    data = numpy_or_dask(source)
    options = {**options, "connectivity": min(options["connectivity"], data.ndim)}
    cleaned = clean_up(data, **options)  # a lazy layer: object sizes now, pixels when shown
    yield
    counts = {"foreground_pixels_before": _foreground(data)}
    counts["foreground_pixels_after"] = _foreground(cleaned)
    yield
    return cleaned, counts


@magic_factory(
    call_button="Clean up",
    labels_layer={"label": "labels"},
    remove_smaller_than={"min": 0, "max": 10**9, "tooltip": "pixels (voxels in 3D); 0 = off"},
    fill_holes_smaller_than={"min": 0, "max": 10**9, "tooltip": "pixels (voxels); 0 = off"},
    connectivity={"choices": [(str(c), c) for c in Connectivity]},
    block={"visible": False},
)
def clean_up_widget(
    viewer: "napari.Viewer",
    labels_layer: "napari.layers.Labels",
    remove_smaller_than: int = 64,
    fill_holes_smaller_than: int = 64,
    connectivity: Connectivity = Connectivity.FACES,
    block: bool = False,
) -> None:
    """Remove objects and fill holes smaller than the given sizes, into ``"<labels> cleaned"``.

    Works on 2D and 3D masks and label images (see
    :func:`napari_seglab.core.cleanup.clean_up`). Bad input, or a layer closed during the
    computation, is reported in napari's notifications and adds nothing. ``block=True`` (for
    scripts) runs in the calling thread and returns once the layer is updated.
    """
    if labels_layer is None:
        report_error(SegLabInputError("Choose a Labels layer to clean up."), what="Clean up")
        return None
    source = labels_layer.data[0] if labels_layer.multiscale else labels_layer.data
    options = {
        "remove_smaller_than": remove_smaller_than,
        "fill_holes_smaller_than": fill_holes_smaller_than,
        "connectivity": connectivity.value,
    }

    def apply(result: tuple[Any, dict]) -> None:
        if labels_layer not in viewer.layers:
            show_warning(
                f"The layer {labels_layer.name!r} was closed while it was being cleaned up: "
                "the result was dropped."
            )
            return
        cleaned, counts = result
        meta = {"source": labels_layer.name, **options, **counts}
        show_output(
            viewer,
            cleaned,
            name=f"{labels_layer.name} cleaned",
            like=labels_layer,
            role="clean-up",
            metadata=meta,
        )

    run_job(
        _clean_up_job,
        source,
        options,
        on_returned=apply,
        on_finished=lambda: None,
        what="Clean up",
        steps=2,
        block=block,
    )
