"""Live update: the plane in view follows the strokes while the user paints.

Each brush stroke (or undo) cancels the live run going on at once and restarts a short
countdown; when it ends, a training and an update of the part of the plane on screen start.
A pan or zoom restarts a longer countdown: then a run that still matches the strokes and the
view is left to finish, and one that does not is cancelled and started anew (without
retraining) on the newly visible part.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QTimer

if TYPE_CHECKING:
    from .plans import Request
    from .runner import Runner

__all__ = ["LIVE_DELAY_MS", "VIEW_DELAY_MS", "LiveUpdate"]

# After a stroke: at the next turn of Qt's event loop (napari reports a stroke once, when it
# ends; the events of one undo arrive together).
LIVE_DELAY_MS = 0
VIEW_DELAY_MS = 150  # after the camera last moved (it reports every frame of a pan)


class LiveUpdate:
    """Debounced live updates of the plane in view.

    Parameters
    ----------
    enabled : callable
        Whether live update is on (the *Live update* check box).
    runner : Runner
        Runs the updates; its current job tells whether one is going on.
    request : callable
        What an update would bring up to date now (None when it cannot run).
    start, cancel : callable
        Start a live update; cancel the current run.
    """

    def __init__(
        self,
        *,
        enabled: Callable[[], bool],
        runner: Runner,
        request: Callable[[], Request | None],
        start: Callable[[], Any],
        cancel: Callable[[], None],
    ) -> None:
        self._enabled, self._runner, self._request = enabled, runner, request
        self._start, self._cancel = start, cancel
        self._pending = False
        self._watched: list = []
        self._camera: Any = None
        self.closed = False
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.tick)

    def schedule(self, _event: Any = None) -> None:
        """The strokes changed: cancel the live run going on, and (re)start the countdown."""
        if self.closed or not self._enabled():
            return
        job = self._runner.job
        if job is not None and job.live:
            self._pending = True  # run again once the stale run has stopped
            self._cancel()
        self._timer.start(LIVE_DELAY_MS)

    def schedule_view(self, _event: Any = None) -> None:
        """The view moved: (re)start the countdown, unless a stroke's is shorter."""
        if self.closed or not self._enabled():
            return
        if not (self._timer.isActive() and self._timer.interval() < VIEW_DELAY_MS):
            self._timer.start(VIEW_DELAY_MS)

    def watch_view(self, camera: Any) -> None:
        """Follow pans and zooms of napari's `camera` (None: stop following)."""
        if self._camera is not None:
            self._camera.events.center.disconnect(self.schedule_view)
            self._camera.events.zoom.disconnect(self.schedule_view)
        self._camera = camera
        if camera is not None:
            camera.events.center.connect(self.schedule_view)
            camera.events.zoom.connect(self.schedule_view)

    def stop(self) -> None:
        """Drop the countdown."""
        self._timer.stop()

    def watch(self, layers: list) -> None:
        """Follow the strokes of exactly these Labels layers.

        Brush strokes fire `paint`; undo and redo only refresh the layer (`set_data`).
        """
        for layer in self._watched:
            if layer not in layers:
                _unwatch(layer, self.schedule)
        for layer in layers:
            if layer not in self._watched:
                layer.events.paint.connect(self.schedule)
                layer.events.set_data.connect(self.schedule)
        self._watched = list(layers)

    def tick(self) -> None:
        """The countdown ended: update, unless the run going on is still current."""
        if self.closed or not self._enabled():
            return
        job = self._runner.job
        if job is None:
            self._start()
        elif not job.live:
            self._timer.start(VIEW_DELAY_MS)  # an explicit run is going on: try again later
        elif job.cancel.is_set() or job.request != self._request():
            self._pending = True  # run again once the stale run has stopped
            self._cancel()

    def finished(self) -> None:
        """A run ended: start the update that was waiting for it, if any."""
        if self._pending:
            self._pending = False
            self.tick()

    def close(self) -> None:
        """Stop for good (the widget is gone)."""
        self.closed = True
        with contextlib.suppress(RuntimeError):  # Qt may have deleted the timer already
            self._timer.stop()
        self.watch([])
        self.watch_view(None)


def _unwatch(layer: Any, callback: Callable) -> None:
    for emitter in ("paint", "set_data"):
        getattr(layer.events, emitter).disconnect(callback)
