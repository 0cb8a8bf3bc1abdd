"""Edges widget: Sobel and its relatives, the Laplacian and Canny on an image layer.

A thin shell over :func:`napari_seglab.edges`, computed off the GUI thread. The response goes
to the Image layer ``"<image> edges"`` (Canny: a 0/1 Labels mask of the same name), updated in
place when run again. Canny finding no edge, or an image layer closed during the computation,
adds and changes no layer and says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import ComboBox, Container, FloatSpinBox, PushButton, create_widget
from napari.utils.notifications import show_error, show_warning

from ..core import EdgeDirection, EdgeMethod, EdgeSmoothing, SegLabInputError, edges
from ._shared import is_lazy, run_job, show_output

if TYPE_CHECKING:
    import napari

__all__ = ["EdgesWidget"]


def _edges_job(data: Any, settings: dict, lazy: bool):
    yield
    response = edges(data, **settings)
    yield
    limits = None if lazy else (float(np.min(response)), float(np.max(response)))
    return response, limits


class EdgesWidget(Container):
    """Find edges in an image layer with a filter of scikit-image.

    Parameters
    ----------
    napari_viewer : napari.Viewer

    Attributes
    ----------
    worker : GeneratorWorker or None
        The job in progress, if any.

    Examples
    --------
    In the napari console::

        widget = EdgesWidget(viewer)
        widget.method.value = EdgeMethod.CANNY
        widget.run(block=True)  # -> Labels layer "<image> edges"
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        import napari.layers

        self.viewer = napari_viewer
        self.worker = None
        self.image = create_widget(annotation=napari.layers.Image, label="image")
        self.method = ComboBox(label="filter", choices=[(str(m), m) for m in EdgeMethod])
        self.direction = ComboBox(label="direction", choices=[(str(d), d) for d in EdgeDirection])
        self.sigma = FloatSpinBox(label="sigma", value=1.0, min=0.1, max=50.0, step=0.5)
        self.low_threshold = FloatSpinBox(
            label="low threshold (0: auto)",
            value=0.0,
            min=0.0,
            max=1e9,
            tooltip=(
                "Canny: weaker edges, kept where they touch strong ones; on the gradient "
                "magnitude of the smoothed image, in pixel-value units. "
                "0 = 10% of the image's range (max - min)"
            ),
        )
        self.high_threshold = FloatSpinBox(
            label="high threshold (0: auto)",
            value=0.0,
            min=0.0,
            max=1e9,
            tooltip=(
                "Canny: strong edges; on the gradient magnitude of the smoothed image, in "
                "pixel-value units. 0 = 20% of the image's range (max - min)"
            ),
        )
        self.smoothing = ComboBox(label="smoothing", choices=[(str(s), s) for s in EdgeSmoothing])
        self.smoothing_size = FloatSpinBox(label="smoothing size", value=1.0, min=0.1, max=50.0)
        self.dims = ComboBox(label="dimensions", choices=[("2D, plane by plane", 2), ("3D", 3)])
        self.run_button = PushButton(text="Find edges")
        super().__init__(
            widgets=[
                self.image,
                self.method,
                self.direction,
                self.sigma,
                self.low_threshold,
                self.high_threshold,
                self.smoothing,
                self.smoothing_size,
                self.dims,
                self.run_button,
            ]
        )
        self.run_button.changed.connect(lambda: self.run())
        self.method.changed.connect(self._show_method_settings)
        self.smoothing.changed.connect(self._show_method_settings)
        self._show_method_settings()

    def _show_method_settings(self) -> None:
        method = self.method.value
        self.direction.visible = method.directional
        self.sigma.visible = method in (EdgeMethod.LOG, EdgeMethod.CANNY)
        self.low_threshold.visible = self.high_threshold.visible = method is EdgeMethod.CANNY
        self.smoothing_size.visible = self.smoothing.value is not EdgeSmoothing.NONE

    @property
    def busy(self) -> bool:
        """Whether a filter is running."""
        return self.worker is not None

    def settings(self) -> dict:
        """The keyword arguments of :func:`napari_seglab.edges` the controls describe."""
        method = self.method.value
        return {
            "method": method,
            "direction": self.direction.value if method.directional else EdgeDirection.MAGNITUDE,
            "sigma": self.sigma.value,
            "low_threshold": self.low_threshold.value or None,
            "high_threshold": self.high_threshold.value or None,
            "smoothing": self.smoothing.value,
            "smoothing_size": self.smoothing_size.value,
            "dims": self.dims.value,
        }

    def run(self, *, block: bool = False):
        """Filter the chosen image into ``"<image> edges"`` (in place on re-run).

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
            show_error("SegLab is still finding edges; wait for it to finish.")
            return None
        layer = self.image.value
        if layer is None:
            show_error(str(SegLabInputError("Choose an image layer to find edges in.")))
            return None
        data = layer.data[0] if layer.multiscale else layer.data
        settings = {**self.settings(), "rgb": bool(layer.rgb)}

        def apply(output: tuple[Any, tuple[float, float] | None]) -> None:
            response, limits = output
            if layer not in self.viewer.layers:
                show_warning(
                    f"The layer {layer.name!r} was closed while its edges were being found: "
                    "the result was dropped."
                )
                return
            canny = settings["method"] is EdgeMethod.CANNY
            if canny and limits is not None and limits[1] == 0:  # a mask without a 1
                show_warning(
                    f"Canny found no edges in {layer.name!r} with these settings: try lower "
                    "thresholds or a smaller sigma. No layer was added or changed."
                )
                return
            extra: dict[str, Any] = {}
            if canny:
                extra["colors"] = {1: "#E69F00"}
            else:
                extra["colormap"] = "gray"
                extra["blending"] = "additive"
                if limits is not None and limits[0] < limits[1]:
                    extra["contrast_limits"] = limits
            show_output(
                self.viewer,
                response,
                name=f"{layer.name} edges",
                like=layer,
                role="edges",
                kind="labels" if canny else "image",
                metadata={
                    "source": layer.name,
                    **{k: (v.value if hasattr(v, "value") else v) for k, v in settings.items()},
                },
                **extra,
            )

        def finished() -> None:
            self.worker = None
            self.run_button.enabled = True

        self.run_button.enabled = False
        self.worker = run_job(
            _edges_job,
            data,
            settings,
            is_lazy(layer),
            on_returned=apply,
            on_finished=finished,
            what="Edges",
            steps=2,
            owner=self,
            block=block,
        )
        return self.worker
