"""Suggest where to paint: the most uncertain regions, as rectangles the user steps through.

Once a run that brought an uncertainty map is over (a refined plane, an applied image, or a
live update that went through the whole plane part by part) and the user has paused for
RANK_DELAY_MS, :func:`~napari_seglab.core.classifier.suggest_regions` ranks the plane's
most uncertain compact regions (a stroke before then makes them stale: they are not ranked,
and the live update keeps both CPU cores); they are drawn as rectangles in the
``"<image> suggestions"`` Shapes layer (updated in place), and *Previous* / *Next* move the
camera onto each one (centre and zoom) and set the plane.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import CheckBox, PushButton
from qtpy.QtCore import QTimer

from ...core.classifier import RegionSuggestion, suggest_regions
from .._layers import geometry_of
from .._shared import ROLE_KEY, index_in_view, output_layer, stop_workers_at_exit
from .layers import ROLE
from .view import camera_of

if TYPE_CHECKING:
    import napari
    import napari.layers

    from .plans import Output, Result

__all__ = ["Suggestions"]

N_REGIONS = 5
RANK_DELAY_MS = 500  # regions are ranked once the user pauses (ranking a 2048^2 plane: 0.35 s)
FILL = "#00000000"
EDGE = "#ffd700"  # gold: visible on grey, magma and the class colours alike
OUTPUTS = ("uncertainty", "segmentation")  # the output layers a live update fills
VIEW_MARGIN = 3.0  # the region takes 1 / VIEW_MARGIN of the canvas ...
VIEW_MIN = 32  # ... or, when smaller, a box of this many pixels does (its surroundings show)


class Suggestions:
    """*Suggest where to paint* in the classifier panel: a toggle, Previous and Next.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
    image : callable
        Returns the image layer being trained on (the panel's *Image*), or ``None``.
    """

    def __init__(self, viewer: napari.viewer.Viewer, image: Any) -> None:
        self._viewer = viewer
        self._image = image
        self.regions: list[RegionSuggestion] = []
        self.current = -1
        self._layer_of: napari.layers.Image | None = None
        self._latest: Result | None = None
        self._waiting: Result | None = None  # ranked when the timer fires
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._rank_waiting)
        self._generation = 0
        self._workers: set = set()
        self.show = CheckBox(value=True, text="Suggest where to paint")
        self.show.tooltip = (
            "After each training, outline the most uncertain regions (borders between "
            "classes left out): strokes there teach the classifier most."
        )
        self.previous_button = PushButton(text="◀")
        self.next_button = PushButton(text="▶")
        self.previous_button.tooltip = "Previous suggested region: centre the view on it."
        self.next_button.tooltip = "Next suggested region (most uncertain first)."
        self.info = ""
        self.previous_button.changed.connect(lambda: self.go(self.current - 1))
        self.next_button.changed.connect(lambda: self.go(self.current + 1))
        self.show.changed.connect(self._on_toggled)
        self._enable()

    def widgets(self) -> list:
        """The toggle and the Previous / Next buttons, for the panel's last row."""
        return [self.show, self.previous_button, self.next_button]

    # ------------------------------------------------------------------ results
    def update(self, result: Result) -> None:
        """Note a result shown; its regions are ranked once its run is over (:meth:`finished`)."""
        self._latest = result

    def finished(self, cancelled: bool) -> None:
        """A run is over: rank the regions of its last result, unless it was cancelled, once
        RANK_DELAY_MS have passed without a new run."""
        result, self._latest = self._latest, None
        if result is not None and not cancelled:
            self._waiting = result
            self._timer.start(RANK_DELAY_MS)

    def _rank_waiting(self) -> None:
        result, self._waiting = self._waiting, None
        if result is not None:
            self.rank(result)

    def rank(self, result: Result) -> None:
        """Rank the regions of the image's uncertainty in `result` (in a worker thread: a
        large plane takes a second) and draw them; :attr:`pending` until they are drawn."""
        if not self.show.value:
            return
        layer = self._image()
        output = _output_for(result, layer)
        if output is None or output.uncertainty is None:
            return
        if output.region is None:
            uncertainty, labels, index = self._plane(output, layer)
        else:  # a live update's last part: the plane, whole, is in the output layers
            index = tuple(output.plane or ())
            plane = self._shown_plane(layer, index)
            if plane is None:
                return
            uncertainty, labels = plane
        from napari.qt.threading import create_worker

        self._generation += 1
        generation = self._generation
        worker = create_worker(
            suggest_regions, uncertainty.copy(), labels.copy(), n_regions=N_REGIONS
        )
        worker.returned.connect(lambda found: self._ranked(found, index, layer, generation))
        worker.finished.connect(lambda: self._workers.discard(worker))
        self._workers.add(worker)
        stop_workers_at_exit()
        worker.start()

    def drop_pending(self) -> None:
        """Forget the rankings waiting or under way (a new run makes them stale): they are
        not drawn."""
        self._generation += 1  # first: a ranking under way is dropped whatever follows
        self._waiting = None
        self._timer.stop()

    def close(self) -> None:
        """Rank nothing more (the widget is gone): the rankings under way are dropped."""
        with contextlib.suppress(RuntimeError):  # Qt may have deleted the timer already
            self.drop_pending()
        for worker in list(self._workers):
            worker.quit()

    @property
    def pending(self) -> bool:
        """Whether regions are waiting to be ranked or being ranked."""
        return self._timer.isActive() or bool(self._workers)

    def _ranked(
        self,
        found: list[RegionSuggestion],
        index: tuple[int, ...],
        layer: napari.layers.Image,
        generation: int,
    ) -> None:
        if generation != self._generation or layer not in self._viewer.layers:
            return  # a later ranking is on its way, or the image is gone
        self.regions = [_placed(r, index) for r in found]
        self._layer_of = layer
        self.current = -1
        self._draw(layer)
        self._say(
            f"{len(self.regions)} uncertain region(s) outlined: press Next to go to them."
            if self.regions
            else "No uncertain region left on this plane."
        )
        self._enable()

    def _shown_plane(
        self, layer: napari.layers.Image, plane: tuple[int, ...]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The uncertainty and labels of `plane` as the output layers show them."""
        found = [output_layer(self._viewer, f"{layer.name} {what}") for what in OUTPUTS]
        if any(out is None for out in found):
            return None
        uncertainty, labels = (np.asarray(out.data[plane]) for out in found)
        return uncertainty, labels

    def _plane(
        self, output: Output, layer: napari.layers.Image
    ) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
        """The uncertainty and labels of the plane in view, and its leading-axis index."""
        uncertainty, labels = output.uncertainty, output.labels
        lead = tuple(output.plane or ())
        extra = uncertainty.ndim - 2
        if extra:  # the whole image (or a volume): the plane the viewer shows
            inner = index_in_view(layer, self._viewer, uncertainty.shape[:extra], first=len(lead))
            uncertainty, labels, lead = uncertainty[inner], labels[inner], (*lead, *inner)
        return np.asarray(uncertainty), np.asarray(labels), lead

    def _draw(self, layer: napari.layers.Image) -> None:
        name = f"{layer.name} suggestions"
        ndim = layer.ndim
        boxes = [_rectangle(r) for r in self.regions]
        active = self._viewer.layers.selection.active
        existing = output_layer(self._viewer, name)
        if existing is not None and existing.ndim != ndim:
            self._viewer.layers.remove(existing)
            existing = None
        if existing is None:
            if not boxes:
                return
            existing = self._viewer.add_shapes(
                name=name,
                ndim=ndim,
                metadata={ROLE_KEY: ROLE},
                **geometry_of(layer, ndim=ndim),
            )
        existing.data = []
        if boxes:
            existing.add_rectangles(
                boxes, edge_width=_edge_width(layer), edge_color=EDGE, face_color=FILL
            )
        if active is not None and active in self._viewer.layers:
            self._viewer.layers.selection.active = active  # keep the brush on the strokes

    # ------------------------------------------------------------------ navigation
    def go(self, i: int) -> RegionSuggestion | None:
        """Centre the view on suggestion `i` (wrapping around), zoomed onto it.

        Returns
        -------
        RegionSuggestion or None
            The region shown, or ``None`` when there is none.
        """
        layer = self._layer_of
        if not self.regions or layer is None or layer not in self._viewer.layers:
            return None
        self.current = i % len(self.regions)
        region = self.regions[self.current]
        world = np.asarray(layer.data_to_world(region.centre))
        n_lead = len(region.bbox) - 2
        first_axis = self._viewer.dims.ndim - len(world)
        for axis in range(n_lead):
            self._viewer.dims.set_point(first_axis + axis, world[axis])
        camera_of(self._viewer).center = tuple(world[-2:])
        scale = np.abs(np.asarray(layer.scale[-2:], float))
        sizes = np.array([b - a for a, b in region.bbox[-2:]]) * scale
        canvas = np.asarray(self._viewer.canvas.size, float)
        camera_of(self._viewer).zoom = float(
            np.min(canvas / (VIEW_MARGIN * np.maximum(sizes, VIEW_MIN * scale)))
        )
        self._say(
            f"Region {self.current + 1} of {len(self.regions)}: {region.size} px, "
            f"mean uncertainty {region.mean_uncertainty:.2f}."
        )
        return region

    def _on_toggled(self, on: bool) -> None:
        layer = self._layer_of
        if not on and layer is not None:
            shapes = output_layer(self._viewer, f"{layer.name} suggestions")
            if shapes is not None:
                self._viewer.layers.remove(shapes)
            self.regions, self.current = [], -1
        self._enable()

    def _say(self, message: str) -> None:
        """Tell the user (napari's status bar), and keep it in :attr:`info`."""
        self.info = message
        self._viewer.status = message

    def _enable(self) -> None:
        for button in (self.previous_button, self.next_button):
            button.enabled = bool(self.regions)


def _output_for(result: Result, layer: Any) -> Output | None:
    if layer is None:
        return None
    return next(
        (o for o in result.outputs if o.source.ids[:1] == (layer.unique_id,)),
        next((o for o in result.outputs if o.source.name == layer.name), None),
    )


def _placed(region: RegionSuggestion, lead: tuple[int, ...]) -> RegionSuggestion:
    """`region` (of a plane) in the coordinates of the whole layer (leading index first)."""
    if not lead:
        return region
    return RegionSuggestion(
        score=region.score,
        mean_uncertainty=region.mean_uncertainty,
        size=region.size,
        centre=(*map(float, lead), *region.centre),
        bbox=(*((i, i + 1) for i in lead), *region.bbox),
    )


def _rectangle(region: RegionSuggestion) -> np.ndarray:
    """The 4 corners of a region's box (in data coordinates, on its plane)."""
    lead = [a for a, _ in region.bbox[:-2]]
    (y0, y1), (x0, x1) = region.bbox[-2:]
    top, bottom, left, right = y0 - 0.5, y1 - 0.5, x0 - 0.5, x1 - 0.5
    corners = [(top, left), (top, right), (bottom, right), (bottom, left)]
    return np.array([[*lead, *c] for c in corners], float)


def _edge_width(layer: Any) -> float:
    """About 2 screen pixels at the zoom that shows the whole image."""
    spatial = layer.data.shape[:-1] if layer.rgb else layer.data.shape
    return max(1.0, max(spatial[-2:]) / 400)
