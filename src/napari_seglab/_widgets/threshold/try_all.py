"""The "Try all" part of the threshold widget: every global method compared, then used.

:class:`TryAllPanel` holds the ground-truth choice, the table of methods and the current
comparison; its jobs run through the :class:`~.widget.ThresholdWidget` it belongs to (one job
at a time, one Cancel button), and it drives :func:`napari_seglab.core.threshold.iter_try_all`
(in :func:`._jobs.try_all_job`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import ComboBox, Container, PushButton
from napari.utils.notifications import show_error, show_warning

from ...core import SegLabInputError
from ...core._validation import check_same_shape
from ...core.threshold import GLOBAL_METHODS, ThresholdMethod, TryAllResult
from .._shared import is_lazy, layer_choices, plane_in_view, show_output
from ._jobs import clean_job, try_all_job
from ._table import METHOD_NAMES, MethodTable

if TYPE_CHECKING:
    from ._jobs import Source
    from .widget import ThresholdWidget

__all__ = ["FOREGROUND_COLOR", "TryAllPanel"]

FOREGROUND_COLOR = {1: "#56B4E9"}  # Okabe-Ito sky blue


class TryAllPanel(Container):
    """Ground truth, "Try all" button, table of methods and "Use selected method".

    Parameters
    ----------
    owner : ThresholdWidget
        The widget whose image, options, histogram and job runner are used.

    Attributes
    ----------
    result : TryAllResult or None
        The outcome of the last :meth:`try_all`.
    """

    def __init__(self, owner: ThresholdWidget) -> None:
        import napari.layers

        self.owner = owner
        self.result: TryAllResult | None = None
        self._source: Source | None = None  # what the result was computed from
        self._generation = 0  # counts the changes of settings (see invalidate)
        self.ground_truth = ComboBox(
            label="ground truth",
            choices=layer_choices(owner.viewer, napari.layers.Labels, napari.layers.Image),
            nullable=True,
            value=None,
        )
        self.try_all_button = PushButton(text="Try all global methods")
        self.use_button = PushButton(text="Use selected method", enabled=False)
        self.table = MethodTable(on_select=self._show_method_plane, on_activate=self._use_row)
        truth_row = Container(widgets=[self.ground_truth], labels=True)
        truth_row.margins = (0, 0, 0, 0)
        super().__init__(  # no label column: the table uses the panel's whole width
            widgets=[truth_row, self.try_all_button, self.table, self.use_button],
            labels=False,
        )
        self.margins = (0, 0, 0, 0)
        self.try_all_button.changed.connect(self.try_all)
        self.use_button.changed.connect(self._use_selected)

    def try_all(self, *, block: bool = False):
        """Run every global method on the chosen image; rank them if a ground truth is chosen.

        Successful masks go to the Labels layer ``"<image> try-all"`` stacked along a new
        leading axis in table order; failures are listed in the table with their reason.

        Parameters
        ----------
        block : bool
            Compute in the calling thread and return when done.

        Returns
        -------
        GeneratorWorker or None
        """
        try:
            source = self.owner.source()
            # Any global method: each method's own options are checked with its outcome.
            options = self.owner.threshold_options(source.data.shape, method=ThresholdMethod.OTSU)
            truth = self._truth_for(source.layer, source.data)
        except SegLabInputError as err:
            self.owner.refuse(str(err))
            return None
        generation = self._generation

        def apply(output) -> None:
            if generation != self._generation:
                self.owner.summary.value = (
                    "The settings changed during 'Try all': its result was dropped; "
                    "press 'Try all global methods' again."
                )
                return
            if self.owner.is_open(source.layer):
                self._show(source, *output)

        return self.owner.start(
            try_all_job,
            source.data,
            truth,
            options,
            on_returned=apply,
            what=f"Try all thresholds on {source.layer.name!r}",
            steps=len(GLOBAL_METHODS) + 1,
            block=block,
        )

    def _show(self, source: Source, result: TryAllResult, stack, hist) -> None:
        """Show a comparison: the stacked masks, the table, the thresholds, any warning."""
        layer = source.layer
        self.result, self._source = result, source
        succeeded = [o for o in result.outcomes if o.result is not None]
        if succeeded:
            show_output(
                self.owner.viewer,
                stack,
                name=f"{layer.name} try-all",
                like=layer,
                plane=None if source.plane is None else (slice(None), *source.plane),
                shape=None if source.shape is None else (len(succeeded), *source.shape),
                colors=FOREGROUND_COLOR,
                leading_axes=("method",),
                role="try-all",
                metadata={
                    "source": layer.name,
                    "methods": [o.method.value for o in succeeded],
                    "thresholds": [o.result.value for o in succeeded],
                    "note": source.note,
                },
            )
        values = [np.ravel(o.result.value) for o in succeeded if o.result.value is not None]
        self.owner.histogram.set_data(*hist, np.concatenate(values) if values else ())
        self.table.show_result(result)  # selects the first row: highlights its threshold
        if result.warning:
            show_warning(result.warning)
        notes = [result.warning, source.note, *sorted({o.result.note for o in succeeded})]
        n_methods = len(result.outcomes)
        head = f"Try all on {layer.name!r}: {len(succeeded)} of {n_methods} methods succeeded"
        self.owner.summary.value = "\n".join([head, *(n for n in notes if n)])

    def invalidate(self, *_: Any) -> None:
        """Forget the comparison: a setting it was made with has changed."""
        self._generation += 1
        if self.result is None:
            return
        self.result, self._source = None, None
        self.table.show_result(None)
        self.use_button.enabled = False
        self.owner.summary.value = "The settings changed: press 'Try all global methods' again."

    def _truth_for(self, layer, source: Any) -> Any:
        """The ground truth's data (read by the job), its shape checked against the image."""
        truth_layer = self.ground_truth.value
        if truth_layer is None:
            return None
        if truth_layer is layer:
            raise SegLabInputError("The ground truth must be another layer than the image.")
        data = truth_layer.data[0] if truth_layer.multiscale else truth_layer.data
        if is_lazy(layer) and layer.ndim > 2 and data.ndim == layer.ndim:
            # the image is previewed on the plane in view: take the same plane of the truth
            return plane_in_view(truth_layer, self.owner.viewer)[0]
        plane_shape = source.shape[:-1] if layer.rgb else source.shape
        check_same_shape(np.broadcast_to(False, plane_shape), data, ("image", "ground truth"))
        return data

    def _show_method_plane(self, row: int) -> None:
        """Move the viewer's method slider to the method of `row`, and highlight its value."""
        if self.result is None or self._source is None:
            return
        outcome = self.result.outcomes[row]
        name = f"{self._source.layer.name} try-all"
        if outcome.result is None or name not in self.owner.viewer.layers:
            return
        self._highlight(outcome.result.value)
        layer = self.owner.viewer.layers[name]
        methods = layer.metadata.get("methods", [])
        if outcome.method.value in methods:
            axis = self.owner.viewer.dims.ndim - layer.ndim
            self.owner.viewer.dims.set_current_step(axis, methods.index(outcome.method.value))

    def _highlight(self, value: float | np.ndarray | None) -> None:
        plot = self.owner.histogram
        if value is not None and plot.counts.size:
            plot.set_data(plot.counts, plot.edges, plot.thresholds, highlight=value)

    def _use_selected(self) -> None:
        row = self.table.selected_row
        self._use_row(0 if row is None else row)

    def _use_row(self, row: int) -> None:
        if self.result is not None and 0 <= row < len(self.result.outcomes):
            self.use_method(self.result.outcomes[row].method)

    def use_method(self, name: ThresholdMethod | str | None = None, *, block: bool = False):
        """Make a method from the last :meth:`try_all` the current result.

        Its mask (after the clean-up options, applied off the GUI thread) goes to
        ``"<image> <method>"``, exactly as if it had been run alone, and the method box is
        set to it.

        Parameters
        ----------
        name : ThresholdMethod or str, optional
            The method, e.g. ``"yen"``; by default the best (the first of the table).
        block : bool
            Compute in the calling thread and return when done.

        Returns
        -------
        GeneratorWorker or None
        """
        if self.result is None or self._source is None:
            show_error("Run 'Try all' first.")
            return None
        try:
            result = self.result
            outcome = result.best if name is None else result[ThresholdMethod(name)]
        except (SegLabInputError, KeyError, ValueError) as err:
            show_error(f"No result for {name!r}: {err}")
            return None
        if outcome.result is None:
            show_error(f"{METHOD_NAMES[outcome.method]} failed on this image: {outcome.error}")
            return None
        source = self._source
        if source.layer not in self.owner.viewer.layers:
            show_error(f"The image {source.layer.name!r} is no longer open.")
            return None
        clean = self.owner.cleanup_options()

        def apply(mask: np.ndarray) -> None:
            if not self.owner.is_open(source.layer):
                return
            self.owner.method.value = outcome.method
            self.owner.show_result(source, outcome.result, mask, clean=clean)
            self._highlight(outcome.result.value)

        return self.owner.start(
            clean_job,
            outcome.result.mask,
            clean,
            on_returned=apply,
            what=f"Use {METHOD_NAMES[outcome.method]} on {source.layer.name!r}",
            steps=1,
            block=block,
        )
