"""Cluster widget: k-means of pixel or superpixel colours, and one cluster as a mask.

A thin shell over :func:`napari_seglab.cluster`, computed off the GUI thread. The cluster ids
go to the Labels layer ``"<image> clusters"`` (1 = darkest ... k = brightest; updated in place
when run again), the superpixel boundaries optionally to ``"<image> superpixel boundaries"``.
"Use as foreground" writes one cluster as the 0/1 mask ``"<image> cluster N"``, which Clean up
and Validate take like any segmentation. A re-run keeps these outputs in step with its
clusters: it removes the boundaries it no longer makes, updates the masks of the clusters that
still exist and removes the others. Cancel drops a run once the step under way is done (see
:func:`napari_seglab.core.cluster.iter_cluster` for how long one may take); so does closing its
image layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSpinBox,
    Label,
    PushButton,
    Select,
    SpinBox,
    create_widget,
)
from napari.utils.notifications import show_error, show_warning

from ..core import ClusterResult, ClusterUnits, ColourSpace, SegLabInputError
from ..core.cluster import iter_cluster
from ._shared import ROLE_KEY, layer_choices, output_layer, run_job, show_output

if TYPE_CHECKING:
    import napari

__all__ = ["ClusterWidget"]

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
"""Cluster colours up to k = 7 (Okabe & Ito: safe for every common colour-vision deficiency)."""
MASK_ROLE = "cluster-foreground"
"""The role of the masks written by "Use as foreground"."""
CANCELLED = "Cancelled: nothing changed."


def _cluster_job(data: Any, settings: dict):
    return (yield from iter_cluster(data, **settings))  # each step's name, then the result


def _mask_job(result: ClusterResult, cluster_id: int):
    yield
    return result.mask(cluster_id)


def _data(layer: napari.layers.Layer) -> Any:
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data


class ClusterWidget(Container):
    """Group an image's pixels (or superpixels) into k colour clusters with k-means.

    Parameters
    ----------
    napari_viewer : napari.Viewer

    Attributes
    ----------
    result : ClusterResult or None
        The last clustering (ids, centres, superpixels).
    source : napari.layers.Image or None
        The image layer it was computed from.
    worker : GeneratorWorker or None
        The job in progress, if any; :meth:`cancel` stops it.

    Examples
    --------
    In the napari console::

        widget = ClusterWidget(viewer)
        widget.image.value = viewer.layers["H&E"]
        widget.k.value = 3
        widget.run(block=True)                      # -> layer "H&E clusters"
        widget.use_cluster(1, block=True)           # -> layer "H&E cluster 1" (0/1 mask)
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        import napari.layers

        self.viewer = napari_viewer
        self.result: ClusterResult | None = None
        self.source: napari.layers.Image | None = None
        self.worker = None
        self._step: str | None = None  # the step of the job in progress
        self.image = create_widget(annotation=napari.layers.Image, label="image")
        self.more_channels = Select(
            label="more channels",
            choices=layer_choices(napari_viewer, napari.layers.Image),
            tooltip="Grayscale layers stacked with the image as channels (space: channels)",
        )
        self.more_channels.native.setFixedHeight(56)
        self.space = ComboBox(
            label="space",
            choices=[("auto (Lab for RGB)", None)] + [(str(s), s) for s in ColourSpace],
            value=None,
        )
        self.units = ComboBox(label="units", choices=[(str(u), u) for u in ClusterUnits])
        self.k = SpinBox(label="clusters (k)", value=3, min=2, max=64)
        self.seed = SpinBox(label="seed", value=0, min=0, max=2**31 - 1)
        self.position_weight = FloatSpinBox(
            label="position weight",
            value=0.0,
            min=0.0,
            max=10.0,
            step=0.1,
            tooltip="0 = colour only; larger = spatially compact clusters",
        )
        self._add_superpixel_controls()
        self.run_button = PushButton(text="Cluster")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.status = Label(value="")
        self.status.native.setWordWrap(True)
        self.summary = Label(value="")
        self.cluster_id = SpinBox(label="cluster", value=1, min=1, max=3)
        self.use_button = PushButton(text="Use as foreground", enabled=False)
        super().__init__(
            widgets=[
                self.image,
                self.more_channels,
                self.space,
                self.units,
                self.k,
                self.seed,
                self.position_weight,
                self.n_segments,
                self.compactness,
                self.scale,
                self.sigma,
                self.min_size,
                self.boundaries,
                Container(
                    widgets=[self.run_button, self.cancel_button],
                    layout="horizontal",
                    labels=False,
                ),
                self.status,
                self.summary,
                Container(widgets=[self.cluster_id, self.use_button], layout="horizontal"),
            ]
        )
        self.native.layout().addStretch(1)  # spare height below the controls, not between
        self.run_button.changed.connect(lambda: self.run())
        self.cancel_button.changed.connect(self.cancel)
        self.use_button.changed.connect(lambda: self.use_cluster())
        self.units.changed.connect(self._show_unit_settings)
        self._show_unit_settings()

    def _add_superpixel_controls(self) -> None:
        self.n_segments = SpinBox(label="SLIC segments", value=400, min=2, max=10**6)
        self.compactness = FloatSpinBox(label="SLIC compactness", value=10.0, min=0.01, max=1e3)
        self.scale = FloatSpinBox(label="Felzenszwalb scale", value=100.0, min=0.01, max=1e5)
        self.sigma = FloatSpinBox(label="Felzenszwalb sigma", value=0.8, min=0.0, max=20.0)
        self.min_size = SpinBox(label="Felzenszwalb min size", value=20, min=0, max=10**6)
        self.boundaries = CheckBox(text="show superpixel boundaries", value=False)

    def _show_unit_settings(self) -> None:
        units = self.units.value
        for widget in (self.n_segments, self.compactness):
            widget.visible = units is ClusterUnits.SLIC
        for widget in (self.scale, self.sigma, self.min_size):
            widget.visible = units is ClusterUnits.FELZENSZWALB
        self.boundaries.visible = units is not ClusterUnits.PIXELS

    @property
    def busy(self) -> bool:
        """Whether a clustering (or a mask) is being computed."""
        return self.worker is not None

    def settings(self) -> dict:
        """The keyword arguments of :func:`napari_seglab.cluster` the controls describe."""
        return {
            "k": self.k.value,
            "space": self.space.value,
            "position_weight": self.position_weight.value,
            "units": self.units.value,
            "n_segments": self.n_segments.value,
            "compactness": self.compactness.value,
            "scale": self.scale.value,
            "sigma": self.sigma.value,
            "min_size": self.min_size.value,
            "boundaries": self.boundaries.value and self.units.value is not ClusterUnits.PIXELS,
            "seed": self.seed.value,
        }

    def _input(self, layer: napari.layers.Image) -> tuple[Any, dict]:
        extra = [other for other in self.more_channels.value if other is not layer]
        if not extra:
            return _data(layer), {"rgb": bool(layer.rgb)}
        if layer.rgb or any(other.rgb for other in extra):
            raise SegLabInputError("Only grayscale layers can be stacked as channels.")
        return [_data(layer), *(_data(other) for other in extra)], {}

    def _start(self, job, *args, on_returned, what: str, doing: str, block: bool):
        def returned(value: Any) -> None:
            self.status.value = ""
            on_returned(value)

        def refused(error: BaseException) -> None:
            self.status.value = f"Nothing changed: {error}"

        def finished() -> None:
            self.worker = None
            self.run_button.enabled = True
            self.cancel_button.enabled = False
            self.use_button.enabled = self.result is not None

        def step_started(step: str | None) -> None:
            cancelling = self.worker is not None and self.worker.abort_requested
            if step is not None and not cancelling:
                self._step = step
                self.status.value = f"{doing}: {step}…"

        self.run_button.enabled = self.use_button.enabled = False
        self.cancel_button.enabled = not block
        self._step = None
        self.status.value = f"{doing}…"
        self.worker = run_job(
            job,
            *args,
            on_returned=returned,
            on_finished=finished,
            on_refused=refused,
            on_yielded=step_started,
            on_cancelled=lambda: setattr(self.status, "value", CANCELLED),
            what=what,
            steps=0,  # the steps take very different times: the status line names each
            owner=self,
            block=block,
        )
        return self.worker

    def cancel(self) -> None:
        """Drop the job in progress: it stops once its current step is done (the k-means fit
        or the superpixels of a large image may take a while), and nothing is changed."""
        if self.worker is None:
            return
        self.worker.quit()
        self.cancel_button.enabled = False
        step = f" ({self._step})" if self._step else ""
        self.status.value = f"Cancelling once the current step{step} is done…"

    def run(self, *, block: bool = False):
        """Cluster the chosen image into ``"<image> clusters"`` (in place on re-run).

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
            show_error("SegLab is still clustering; wait for it to finish, or press Cancel.")
            return None
        layer = self.image.value
        try:
            if layer is None:
                raise SegLabInputError("Choose an image layer to cluster.")
            data, flags = self._input(layer)
        except SegLabInputError as err:
            show_error(str(err))
            return None
        settings = {**self.settings(), **flags}

        def apply(result: ClusterResult) -> None:
            if self._still_open(layer):
                self._show(layer, result)

        return self._start(
            _cluster_job,
            data,
            settings,
            on_returned=apply,
            what="Cluster",
            doing="Clustering",
            block=block,
        )

    def _still_open(self, layer: napari.layers.Image) -> bool:
        """Whether `layer` is still in the viewer; if not, say that its result was dropped."""
        if layer in self.viewer.layers:
            return True
        show_warning(
            f"The layer {layer.name!r} was closed while it was being clustered: the result was "
            "dropped."
        )
        return False

    def _show(self, layer: napari.layers.Image, result: ClusterResult) -> None:
        self.result, self.source = result, layer
        o = result.options
        metadata = {
            "source": layer.name,
            "k": o.k,
            "space": o.space.value,
            "units": o.units.value,
            "seed": o.seed,
            "position_weight": o.position_weight,
            "order": "1 = darkest ... k = brightest",
        }
        colors = dict(enumerate(OKABE_ITO, start=1)) if o.k <= len(OKABE_ITO) else None
        show_output(
            self.viewer,
            result.labels,
            name=f"{layer.name} clusters",
            like=layer,
            role="cluster",
            colors=colors,
            metadata=metadata,
            opacity=0.6,
        )
        boundaries = f"{layer.name} superpixel boundaries"
        if result.boundaries is not None:
            show_output(
                self.viewer,
                result.boundaries,
                name=boundaries,
                like=layer,
                role="superpixels",
                colors={1: "#F0E442"},
                metadata={"source": layer.name, "units": o.units.value},
            )
        elif (stale := output_layer(self.viewer, boundaries)) is not None:
            self.viewer.layers.remove(stale)
        for mask in self._masks_of(layer):  # each shows one cluster of the last run, or none
            cluster_id = mask.metadata["cluster"]
            if cluster_id <= o.k:
                self._show_mask(layer, result, cluster_id, result.mask(cluster_id))
            else:
                self.viewer.layers.remove(mask)
        self.summary.value = result.describe()
        self.cluster_id.max = o.k

    def _masks_of(self, layer: napari.layers.Image) -> list[napari.layers.Labels]:
        """The cluster masks this widget wrote for `layer` (not a user's copy of one)."""
        return [
            mask
            for mask in self.viewer.layers
            if mask.metadata.get(ROLE_KEY) == MASK_ROLE
            and mask.metadata.get("source") == layer.name
            and mask.name == f"{layer.name} cluster {mask.metadata.get('cluster')}"
        ]

    def _show_mask(
        self, layer: napari.layers.Image, result: ClusterResult, cluster_id: int, mask: Any
    ) -> None:
        show_output(
            self.viewer,
            mask,
            name=f"{layer.name} cluster {cluster_id}",
            like=layer,
            role=MASK_ROLE,
            colors={1: "#0072B2"},
            metadata={"source": layer.name, "cluster": int(cluster_id), "k": result.k},
        )

    def use_cluster(self, cluster_id: int | None = None, *, block: bool = False):
        """Write one cluster as the 0/1 mask ``"<image> cluster N"`` (role :data:`MASK_ROLE`).

        Parameters
        ----------
        cluster_id : int, optional
            1 (darkest) to k (brightest); default: the one chosen in the widget.
        block : bool
            Compute in the calling thread and return when done.
        """
        if self.busy:
            show_error("SegLab is still clustering; wait for it to finish, or press Cancel.")
            return None
        if self.result is None or self.source is None:
            show_error("Cluster an image first.")
            return None
        cluster_id = self.cluster_id.value if cluster_id is None else cluster_id
        layer, result = self.source, self.result
        if layer not in self.viewer.layers:
            show_error(
                f"The layer {layer.name!r} was closed after it was clustered: choose an image "
                "and press Cluster first."
            )
            return None

        def apply(mask: Any) -> None:
            if self._still_open(layer):
                self._show_mask(layer, result, cluster_id, mask)

        return self._start(
            _mask_job,
            result,
            cluster_id,
            on_returned=apply,
            what="Cluster mask",
            doing="Making the mask",
            block=block,
        )
