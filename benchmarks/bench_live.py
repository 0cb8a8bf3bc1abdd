"""Live feedback in a real (headless) napari viewer: stroke -> the part on screen, in full.

    xvfb-run -a python benchmarks/bench_live.py           # 2048^2, 8 strokes per row
    xvfb-run -a python benchmarks/bench_live.py --quick   # 512^2, 3 strokes
    xvfb-run -a python benchmarks/bench_live.py --write   # also update README.md
    xvfb-run -a python benchmarks/bench_live.py --on-screen-only  # the update a user has
    xvfb-run -a python benchmarks/bench_live.py --on-screen-only --trace  # where the time goes

A napari ``Viewer(show=False)`` (never shown; a virtual X server gives vispy the OpenGL
context that Qt's offscreen platform lacks) with a 1000 x 1000 canvas shows a synthetic 2048
x 2048 plane (blobs on a textured background, the image of ``bench_classifier.py``) and
SegLab's classifier widget with *Live update* on and the default features and forest. After
a first training, strokes are painted one by one (a few disks of one class inside the truth,
within the part on screen, written with ``Labels.data_setitem`` as napari's brush writes
them, then napari's ``paint`` event, as the brush sends it at the end of a stroke). For each
stroke: the time until its first visible change (the screen-resolution preview), until the
labels of the part of the plane on screen are shown at full resolution (what the user sees:
the probability and uncertainty layers are hidden unless turned on), and until the
probability and uncertainty are there too. The next stroke follows 0.3 s later (looking at
the result), cancelling what is left of the run (the rest of the plane).

Two views, the plane whole in the canvas and zoomed in 4x on its centre, each measured with
the view-driven update (*on screen*) and, in the same run and alternating stroke by stroke,
with the whole-plane update that does not look at the view (*whole plane*: the plane
previewed at screen resolution, then all of it in full). A 20 ms ``QTimer`` records the
longest gap of Qt's event loop (the GUI's responsiveness) during each series. The two updates
share the live update's feature budget, so features one of them kept may be dropped for the
other's; ``--on-screen-only`` measures the view-driven update alone, as a user has it.
``--trace`` also prints, per row, from the stroke to the start of the retraining (planning,
and waiting for the run the stroke replaced to stop), the retraining, and the prediction of
the labels of the part on screen.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_classifier import make_image, make_strokes  # noqa: E402

CANVAS = (1000, 1000)
LOOK_S = 0.3  # the user looks at a result before the next stroke
MODES = ("on screen", "whole plane")


def _wait(app, done, timeout_s: float) -> bool:
    """Run Qt's event loop until `done()` (checked every 2 ms) or the timeout."""
    from qtpy.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: done() and loop.quit())
    poll.start(2)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    if not done():
        loop.exec()
    poll.stop()
    return done()


class Gaps:
    """The longest interval between ticks of a 20 ms QTimer while it runs."""

    def __init__(self) -> None:
        from qtpy.QtCore import QTimer

        self.gaps: list[float] = []
        self._last = None
        self._timer = QTimer()
        self._timer.setInterval(20)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append(now - self._last)
        self._last = now

    def start(self) -> None:
        self._last = None
        self._timer.start()

    def stop(self) -> list[float]:
        self._timer.stop()
        gaps, self.gaps = self.gaps, []
        return gaps


class Trace:
    """Timestamps of the widget's retraining and prediction, stroke by stroke (``--trace``).

    Wraps ``PixelClassifier.fit`` and ``PlanePreview.predict`` for the rest of the process.
    """

    def __init__(self) -> None:
        from napari_seglab.core.classifier import _model, _preview

        self.events: list[tuple[float, str]] = []
        self._wrap(_model.PixelClassifier, "fit", "fit")
        self._wrap(_preview.PlanePreview, "predict", "predict")

    def _wrap(self, cls: type, name: str, label: str) -> None:
        method = getattr(cls, name)

        def timed(*args, **kwargs):
            self.events.append((time.perf_counter(), f"{label} start"))
            try:
                return method(*args, **kwargs)
            finally:
                self.events.append((time.perf_counter(), f"{label} end"))

        setattr(cls, name, timed)

    def stroke(self, t0: float) -> None:
        self.events.append((t0, "stroke"))

    def steps(self) -> dict[str, float] | None:
        """The last stroke's stroke -> retraining, retraining and prediction, in seconds."""
        t0 = next(t for t, what in reversed(self.events) if what == "stroke")
        seen: dict[str, float] = {}
        for t, what in self.events:
            if t >= t0:
                seen.setdefault(what, t)
        if not {"fit start", "fit end", "predict start", "predict end"} <= seen.keys():
            return None
        return {
            "to retraining": seen["fit start"] - t0,
            "retraining": seen["fit end"] - seen["fit start"],
            "prediction": seen["predict end"] - seen["predict start"],
        }


def run(
    size: int, n_strokes: int, modes: tuple[str, ...] = MODES, trace: Trace | None = None
) -> dict:
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_seglab._widgets.classifier import ClassifierWidget, inputs
    from napari_seglab._widgets.classifier.view import region_in_view

    image, truth = make_image((size, size))
    viewer = napari.Viewer(show=False)
    app = QApplication.instance()
    layer = viewer.add_image(image, name="plane")
    viewer.canvas.size = CANVAS
    widget = ClassifierWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.controls.image.value = layer
    training = widget.add_training_layer()
    widget.controls.classes.value = "background, blob"
    shown = []
    widget.shown.connect(shown.append)

    seen_view = inputs.region_in_view
    whole_plane = {"on": False}

    def view_of(viewer_, layer_, shape):
        return None if whole_plane["on"] else seen_view(viewer_, layer_, shape)

    inputs.region_in_view = view_of

    def paint(strokes: np.ndarray) -> float:
        where = np.nonzero(strokes)
        # as napari's brush writes a stroke: with undo history, redrawing the changed part
        training.data_setitem(where, strokes[where])
        t0 = time.perf_counter()
        training.events.paint(value=[])
        if trace is not None:
            trace.stroke(t0)
        return t0

    def full_on_screen(view, since: int, probability: bool) -> bool:
        """Whether a result since `since` covers `view` at full resolution (with its
        probabilities when `probability`, else the labels are enough)."""
        for result in shown[since:]:
            for output in result.outputs:
                region = output.region
                if output.step > 1 or (probability and output.probability is None):
                    continue
                if region is None or view is None:
                    return True
                if all(
                    r.start <= v.start and v.stop <= r.stop
                    for r, v in zip(region, view, strict=True)
                ):
                    return True
        return False

    def set_view(zoom_factor: float) -> None:
        viewer.reset_view()
        viewer.scene.camera.zoom = viewer.scene.camera.zoom * zoom_factor

    # first training (also warms the compiled code up and keeps the features of the plane)
    set_view(1.0)
    widget.controls.live.value = True
    paint(make_strokes(truth, 0.0005, seed=1))
    _wait(app, lambda: shown and not widget.busy, 600)

    rng = np.random.default_rng(5)
    gaps = Gaps()
    out = {}
    for name, zoom in (("whole", 1.0), ("zoom4x", 4.0)):
        set_view(zoom)
        view = region_in_view(viewer, layer, image.shape)
        _wait(app, lambda: not widget.busy, 600)
        series = {f"{what} {mode}": [] for what in ("first", "labels", "full") for mode in modes}
        series_gaps = {mode: [] for mode in modes}
        steps = {mode: [] for mode in modes}
        for k in range(len(modes) * n_strokes):
            mode = modes[k % len(modes)]
            whole_plane["on"] = mode == "whole plane"
            # a few disks of one class inside the truth, within the part on screen
            label = 1 + k % 2
            inside = np.zeros(image.shape, bool)
            inside[view.region] = (truth[view.region] > 0) == (label == 2)
            candidates = np.argwhere(inside)
            pick = candidates[rng.choice(len(candidates), 6, replace=False)]
            strokes = np.zeros(image.shape, np.uint8)
            for r, c in pick:
                strokes[max(r - 2, 0) : r + 3, max(c - 2, 0) : c + 3] = label
            strokes[truth.astype(bool) != (label == 2)] = 0
            since = len(shown)
            gaps.start()
            t0 = paint(strokes)
            _wait(app, lambda since=since: len(shown) > since, 600)
            series[f"first {mode}"].append(time.perf_counter() - t0)
            _wait(app, lambda v=view, n=since: full_on_screen(v.region, n, False), 600)
            series[f"labels {mode}"].append(time.perf_counter() - t0)
            _wait(app, lambda v=view, n=since: full_on_screen(v.region, n, True), 600)
            series[f"full {mode}"].append(time.perf_counter() - t0)
            _wait(app, lambda: False, LOOK_S)
            series_gaps[mode].extend(gaps.stop())
            if trace is not None and (step := trace.steps()) is not None:
                steps[mode].append(step)
            times = ", ".join(
                f"{w} {series[f'{w} {mode}'][-1]:.2f} s" for w in ("first", "labels", "full")
            )
            print(f"... {name} {mode}: {times}", file=sys.stderr)
        out[name] = {
            "view": [view.rows.start, view.rows.stop, view.cols.start, view.cols.stop],
            "step": view.step,
            **series,
            "gaps": {mode: max(g) if g else 0.0 for mode, g in series_gaps.items()},
            "steps": steps,
        }
    widget.controls.live.value = False
    widget.cancel()
    _wait(app, lambda: not widget.busy, 600)
    viewer.close()
    return out


def _median(values: list[float]) -> str:
    from _readme import spread

    return spread(values, ".2f", " s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="512^2, 3 strokes (development)")
    parser.add_argument("--write", action="store_true", help="write the table to README.md")
    parser.add_argument(
        "--on-screen-only",
        action="store_true",
        help="only the view-driven update (no whole-plane strokes sharing its kept features)",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="also print where each row's time goes (retraining, prediction, waiting)",
    )
    options = parser.parse_args()
    modes = MODES[:1] if options.on_screen_only else MODES
    size, n_strokes = (512, 3) if options.quick else (2048, 8)
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result = run(size, n_strokes, modes, Trace() if options.trace else None)
    load_after = os.getloadavg()
    targets = {"whole": 0.25, "zoom4x": 0.15}
    rows = [
        "| view (part on screen, data px per screen px) | update | stroke → first change | "
        "stroke → labels on screen in full (target) | stroke → with probabilities | "
        "longest event-loop gap (target 0.10 s) |",
        "|---|---|---|---|---|---|",
    ]
    for name, label in (("whole", "plane whole"), ("zoom4x", "zoomed in 4x")):
        r = result[name]
        rows0, rows1, cols0, cols1 = r["view"]
        where = f"{label} ({rows1 - rows0} x {cols1 - cols0} px, {r['step']})"
        for mode in modes:
            rows.append(
                f"| {where} | {mode} | {_median(r[f'first {mode}'])} | "
                f"{_median(r[f'labels {mode}'])} (≤ {targets[name]:.2f} s) | "
                f"{_median(r[f'full {mode}'])} | {r['gaps'][mode]:.2f} s |"
            )
    from _readme import machine, publish

    header = (
        f"Run {started} with `xvfb-run -a python benchmarks/bench_live.py"
        f"{' --quick' if options.quick else ''}"
        f"{' --on-screen-only' if options.on_screen_only else ''}` on {machine()}: "
        f"a {size}² plane in a {CANVAS[0]} x {CANVAS[1]} canvas, default features and forest, "
        f"medians (min-max) of {n_strokes} strokes per row"
        f"{', the two updates alternating stroke by stroke' if len(modes) > 1 else ''}. "
        f"Load average before / after: {load_before[0]:.1f} / {load_after[0]:.1f} "
        "(the machine was shared with other jobs when it exceeds the CPU count)."
    )
    table = "\n".join(rows)
    if options.trace:
        from _readme import spread

        for name in ("whole", "zoom4x"):
            for mode, steps in result[name]["steps"].items():
                parts = (
                    ", ".join(
                        f"{what} {spread([s[what] for s in steps], '.3f', ' s')}"
                        for what in steps[0]
                    )
                    if steps
                    else "no retraining seen"
                )
                print(f"{name} {mode} (medians of {len(steps)} strokes): {parts}")
    publish("live-benchmark", header, table, options.write)


if __name__ == "__main__":
    main()
