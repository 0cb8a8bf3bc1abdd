"""The threshold widget's controls and their wiring.

A thin shell over :func:`napari_seglab.core.threshold.threshold` and
:func:`napari_seglab.core.threshold.iter_try_all`: the controls make one
:class:`~napari_seglab.core.threshold.ThresholdOptions`, and every computation (reading the
layer, median, threshold, clean-up, scores) runs off the GUI thread (:mod:`._jobs`). Outputs,
written through ``show_output``:

- ``"<image> <method>"``: uint8 Labels (1 = foreground), updated in place when re-run;
- ``"<image> try-all"``: every method that succeeded, stacked along a new leading "method" axis
  (best first when a ground truth is chosen), so the slider flips between methods over the
  image. Selecting a row of the table moves the slider to that method.

Lazy layers (dask, zarr, multiscale) are previewed on the plane in view only; the whole volume
is the job of "Apply to whole volume".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSpinBox,
    Label,
    PushButton,
    SpinBox,
)
from napari.utils.notifications import show_warning

from ...core import SegLabInputError
from ...core.threshold import (
    Foreground,
    ThresholdMethod,
    ThresholdOptions,
    ThresholdResult,
    TryAllResult,
    prepare_image,
    value_from_image,
)
from .._histogram import HistogramPlot
from .._shared import is_lazy, layer_choices, plane_in_view, show_output, strided_sample
from ._jobs import Source, shown, threshold_job
from ._layout import scroll_body
from ._runner import JobRunner
from ._table import METHOD_NAMES
from .try_all import FOREGROUND_COLOR, TryAllPanel

if TYPE_CHECKING:
    import napari

__all__ = ["ThresholdWidget"]


COLOUR_CHOICES = [("luminance", None), ("red", 0), ("green", 1), ("blue", 2)]
METHOD_FIELDS = ("value", "classes", "boundary", "block_size", "offset", "window_size", "k")
"""The controls named after the ThresholdOptions field they set."""
SAMPLE_PIXELS = 2**20
"""The Manual value's starting point is computed on a regular sample of at most this many."""


class ThresholdWidget(JobRunner, Container):
    """Threshold an Image layer with one method, or compare every global method.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        The viewer whose layers are read and written.

    Attributes
    ----------
    result : ThresholdResult or None
        The current result (from :meth:`run` or :meth:`use_method`).
    try_all_result : TryAllResult or None
        The outcome of the last :meth:`try_all`.
    try_all_panel : TryAllPanel
        Ground truth, "Try all" button, :attr:`table` of methods and "Use selected method"
        (also reachable as :attr:`ground_truth`, :attr:`try_all_button`, :attr:`use_button`).
    worker : GeneratorWorker or None
        The computation in progress, if any.
    table : MethodTable
        The methods of the last :meth:`try_all` (a magicgui ``Table``).

    Examples
    --------
    In the napari console, with the KESM sample open::

        widget = ThresholdWidget(viewer)
        widget.foreground.value = Foreground.DARK
        widget.median_size.value = 3
        widget.run(block=True)  # adds "KESM vessels otsu"
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:

        self.viewer = napari_viewer
        self.result: ThresholdResult | None = None
        self.worker = None
        self._manual_for: tuple | None = None  # the image (and colour) the value was set for
        self._make_controls(napari_viewer)
        self.histogram = HistogramPlot()
        self.try_all_panel = panel = TryAllPanel(self)
        self.ground_truth, self.table = panel.ground_truth, panel.table
        self.try_all_button, self.use_button = panel.try_all_button, panel.use_button
        body = Container(
            widgets=[
                self.image,
                self.colour,
                self.median_size,
                self.median_3d,
                self.foreground,
                self.method,
                *(getattr(self, name) for name in METHOD_FIELDS),
                self.per_plane,
                self.plane_3d,
                self.remove_smaller_than,
                self.fill_holes_smaller_than,
                Container(widgets=[self.run_button, self.cancel_button], layout="horizontal"),
                self.summary,
                panel,
            ]
        )
        # magicgui has no plot widget: the histogram goes in below the summary
        body.native.layout().insertWidget(body.index(self.summary) + 1, self.histogram)
        super().__init__(widgets=[body])
        scroll_body(self, body)  # every control reachable on a laptop screen
        self.image.changed.connect(self._update_visibility)
        self.method.changed.connect(self._update_visibility)
        self.colour.changed.connect(self._update_visibility)
        self.per_plane.changed.connect(self._update_visibility)
        self.run_button.changed.connect(self.run)
        self.cancel_button.changed.connect(self.cancel)
        for control in self.try_all_inputs():  # a comparison of other settings is stale
            control.changed.connect(panel.invalidate)
        self._update_visibility()

    def try_all_inputs(self) -> list:
        """The controls whose values a "Try all" comparison depends on."""
        return [
            self.image,
            self.colour,
            self.median_size,
            self.median_3d,
            self.foreground,
            self.classes,
            self.boundary,
            self.per_plane,
            self.plane_3d,
            self.ground_truth,
        ]

    def _make_controls(self, viewer: napari.Viewer) -> None:
        import napari.layers

        # Layer lists are magicgui choices; napari calls reset_choices when layers change.
        self.image = ComboBox(label="image", choices=layer_choices(viewer, napari.layers.Image))
        self.colour = ComboBox(label="colour", choices=COLOUR_CHOICES, visible=False)
        self.median_size = SpinBox(
            label="median size", value=0, min=0, max=99, tooltip="0 = no median filter"
        )
        self.median_3d = CheckBox(label="median in 3D", value=False, visible=False)
        self.foreground = ComboBox(
            label="foreground",
            choices=[("bright objects", Foreground.BRIGHT), ("dark objects", Foreground.DARK)],
        )
        self.method = ComboBox(
            label="method", choices=[(name, m) for m, name in METHOD_NAMES.items()]
        )
        self.value = FloatSpinBox(label="threshold", value=128, min=-1e12, max=1e12, step=1)
        self.classes = SpinBox(label="classes", value=3, min=2, max=6)
        self.boundary = SpinBox(
            label="boundary", value=1, min=1, max=5, tooltip="1 = between the two darkest"
        )
        self.block_size = SpinBox(label="block size", value=35, min=3, max=2001, step=2)
        self.offset = FloatSpinBox(label="offset", value=0, min=-1e12, max=1e12)
        self.window_size = SpinBox(label="window", value=15, min=3, max=2001, step=2)
        self.k = FloatSpinBox(label="k", value=0.2, min=-5, max=5, step=0.05)
        for box in (self.value, self.offset):  # float images live in [0, 1]: keep decimals
            box.native.setDecimals(6)
        self.per_plane = CheckBox(label="threshold each plane", value=False, visible=False)
        self.plane_3d = CheckBox(label="planes are 3D", value=False, visible=False)
        self.remove_smaller_than = SpinBox(
            label="remove objects <", value=0, min=0, max=10**9, tooltip="pixels; 0 = off"
        )
        self.fill_holes_smaller_than = SpinBox(
            label="fill holes <", value=0, min=0, max=10**9, tooltip="pixels; 0 = off"
        )
        self.run_button = PushButton(text="Threshold")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.summary = Label(value="")
        self.summary.native.setWordWrap(True)

    # ---- options ------------------------------------------------------------------------
    def _update_visibility(self, *_: Any) -> None:
        layer = self.image.value
        rgb = bool(layer is not None and layer.rgb)
        ndim = 0 if layer is None else layer.ndim
        method = self.method.value
        self.colour.visible = rgb
        self.median_3d.visible = ndim >= 3
        self.value.visible = method is ThresholdMethod.MANUAL
        self.classes.visible = self.boundary.visible = method is ThresholdMethod.MULTI_OTSU
        self.block_size.visible = self.offset.visible = method is ThresholdMethod.LOCAL_MEAN
        local_window = method in (ThresholdMethod.NIBLACK, ThresholdMethod.SAUVOLA)
        self.window_size.visible = self.k.visible = local_window
        self.per_plane.visible = ndim >= 3
        self.plane_3d.visible = ndim >= 4 and self.per_plane.value
        if layer is not None and method is ThresholdMethod.MANUAL:
            self._check_manual_value(layer, self.colour.value if rgb else None)

    def _check_manual_value(self, layer: napari.layers.Image, channel: int | None) -> None:
        """Once per image (and colour): a Manual value outside its values becomes its Otsu
        value, so that the first Manual run shows a mask to adjust rather than none."""
        if self._manual_for == (layer.unique_id, channel):
            return  # the value was set for this image: leave it, even out of range
        self._manual_for = (layer.unique_id, channel)
        lo, hi, start = _manual_start(layer, channel)
        if not lo <= self.value.value <= hi:  # within the box's range (+-1e12)
            self.value.value = min(max(start, self.value.min), self.value.max)

    def source(self) -> Source:
        """The chosen layer, the data to threshold (the plane in view if lazy), a note.

        Only the plane in view of a lazy layer is read here; other data is read by the job.
        """
        layer = self.image.value
        if layer is None:
            raise SegLabInputError("Choose an image layer to threshold (open one first).")
        data = layer.data[0] if layer.multiscale else layer.data
        if is_lazy(layer) and layer.ndim > 2:
            plane, index = plane_in_view(layer, self.viewer)
            note = f"preview of plane {index}; use 'Apply to whole volume' for every plane"
            shape = tuple(data.shape[:-1] if layer.rgb else data.shape)
            return Source(layer, plane, note, index, shape)
        return Source(layer, data, "")

    def is_open(self, layer: napari.layers.Layer) -> bool:
        """Whether `layer` is still in the viewer; if not, say that its result is dropped."""
        if layer in self.viewer.layers:
            return True
        self.summary.value = (
            f"The image {layer.name!r} was closed during the computation: its result was dropped."
        )
        show_warning(self.summary.value)
        return False

    def threshold_options(self, shape: tuple[int, ...], method: ThresholdMethod | None = None):
        """The :class:`ThresholdOptions` the controls describe, for data of `shape`.

        Raises
        ------
        SegLabInputError
            For a combination of options the method cannot use.
        """
        layer = self.image.value
        rgb = bool(layer is not None and layer.rgb)
        ndim = len(shape) - int(rgb)
        per_plane = ndim >= 3 and self.per_plane.value
        return ThresholdOptions(
            method=self.method.value if method is None else method,
            foreground=self.foreground.value,
            median_size=self.median_size.value,
            median_ndim=3 if self.median_3d.value and ndim >= 3 else 2,
            per_plane=per_plane,
            plane_ndim=3 if per_plane and ndim >= 4 and self.plane_3d.value else 2,
            rgb=rgb,
            channel=self.colour.value if rgb else None,
            **{name: getattr(self, name).value for name in METHOD_FIELDS},
        )

    def cleanup_options(self) -> dict:
        """The clean-up step's keywords for :func:`napari_seglab.core.clean_up` (0 = off)."""
        return {
            "remove_smaller_than": self.remove_smaller_than.value,
            "fill_holes_smaller_than": self.fill_holes_smaller_than.value,
        }

    # ---- running ------------------------------------------------------------------------
    def run(self, *, block: bool = False):
        """Threshold the chosen image with the chosen method and options.

        The mask goes to the Labels layer ``"<image> <method>"`` (created, or updated in
        place), the value(s) to :attr:`summary` and the histogram.

        Parameters
        ----------
        block : bool
            Compute in the calling thread and return when done (for scripts).

        Returns
        -------
        GeneratorWorker or None
            The worker computing the result (None when blocking or on bad input, which is
            reported in napari's notifications).
        """
        try:
            source = self.source()
            options = self.threshold_options(source.data.shape)
        except SegLabInputError as err:
            self.refuse(str(err))
            return None
        clean = self.cleanup_options()

        def apply(output) -> None:
            result, mask, hist = output
            if not self.is_open(source.layer):
                return
            self.show_result(source, result, mask, clean=clean)
            self.histogram.set_data(*hist, () if result.value is None else result.value)

        return self.start(
            threshold_job,
            source.data,
            options,
            clean,
            on_returned=apply,
            what=f"Threshold ({METHOD_NAMES[options.method]}) of {source.layer.name!r}",
            steps=2,
            block=block,
        )

    def show_result(
        self,
        source: Source,
        result: ThresholdResult,
        mask: np.ndarray,
        *,
        clean: dict | None = None,
    ) -> None:
        """Make `result` (with its cleaned `mask`) current: output layer and summary.

        Both are for the image of `source`, also when another has been chosen since the run
        began (the summary then says so). `clean` holds the clean-up options the mask was
        made with (default: the current ones, :meth:`cleanup_options`).
        """
        self.result = result
        layer = source.layer
        clean = self.cleanup_options() if clean is None else clean
        cleaned = {k: v for k, v in clean.items() if v}
        show_output(
            self.viewer,
            mask,
            name=f"{layer.name} {result.method.value}",
            like=layer,
            plane=source.plane,
            shape=source.shape,
            colors=FOREGROUND_COLOR,
            role="threshold",
            metadata={
                "source": layer.name,
                "method": result.method.value,
                "foreground": result.foreground.value,
                "threshold": result.value,
                "clean_up": cleaned,
                "note": source.note,
            },
        )
        text = f"{METHOD_NAMES[result.method]} threshold of {layer.name!r}: {shown(result.value)}"
        text += f"; foreground {result.foreground.value}"
        if result.foreground is Foreground.DARK and result.value is not None:
            text += " (pixels <= threshold)"
        side = {0: "no pixel is foreground", 2: "every pixel is foreground"}.get(
            int(mask.max()) + int(mask.min()) if mask.size else 0
        )
        notes = [n for n in (result.note, source.note) if n]
        if side is not None and result.value is not None:  # e.g. a manual value out of range
            notes.insert(0, f"{side}: check the threshold and the foreground side")
        chosen = self.image.value
        if chosen is not None and chosen is not layer:  # chosen during the run
            notes.append(f"{chosen.name!r} is chosen now: press Threshold for it")
        self.summary.value = "\n".join([text, *notes])

    # ---- try all (see TryAllPanel) --------------------------------------------------------
    @property
    def try_all_result(self) -> TryAllResult | None:
        """The outcome of the last :meth:`try_all`."""
        return self.try_all_panel.result

    def try_all(self, *, block: bool = False):
        """Run every global method on the chosen image (see :meth:`TryAllPanel.try_all`)."""
        return self.try_all_panel.try_all(block=block)

    def use_method(self, name: ThresholdMethod | str | None = None, *, block: bool = False):
        """Make a method of the last :meth:`try_all` the result (see ``TryAllPanel``)."""
        return self.try_all_panel.use_method(name, block=block)


def _manual_start(layer: napari.layers.Image, channel: int | None) -> tuple[float, float, float]:
    """The range of the values `layer` is thresholded on, and a Manual value to start from.

    An image in memory: the range and the Otsu value of a regular sample of at most
    :data:`SAMPLE_PIXELS` pixels (a few milliseconds), of its luminance or `channel` when it
    is RGB. A lazy image (dask, zarr, pyramid) is not read: napari's contrast limits (its
    estimate of the range when the layer was opened, unless changed) and their middle; so is
    an image Otsu refuses (constant, NaN).
    """
    if not is_lazy(layer):
        sample = strided_sample(layer.data, SAMPLE_PIXELS, layer.ndim)  # not RGB's colours
        try:
            gray = prepare_image(sample, rgb=bool(layer.rgb), channel=channel)
            otsu = value_from_image(gray, ThresholdOptions())
        except SegLabInputError:
            pass
        else:
            return float(gray.min()), float(gray.max()), float(otsu)
    lo, hi = (float(x) for x in layer.contrast_limits)
    if layer.rgb and channel is None and np.issubdtype(layer.dtype, np.integer):
        lo, hi = 0.0, 1.0  # the luminance of an integer RGB image is in [0, 1]
    return lo, hi, (lo + hi) / 2
