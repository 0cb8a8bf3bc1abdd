"""``python -m napari_seglab``: napari with the KESM sample and SegLab's widgets docked.

Options
-------
--demo
    Run the KESM example first: foreground dark, median 3, Otsu, then validate against the
    ground truth (TP cyan, FP magenta, FN yellow).
--screenshot PATH
    Save a PNG of the whole window to PATH and exit without showing it (implies --demo
    unless --no-demo is given). napari draws with OpenGL, which Qt's "offscreen" platform
    cannot provide; so on Linux without a display (or with ``QT_QPA_PLATFORM=offscreen``) the
    command re-runs itself under ``xvfb-run`` (package ``xvfb``) when that is installed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m napari_seglab",
        description="Open napari with the KESM sample and SegLab's Threshold and Validate "
        "widgets docked.",
    )
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        type=Path,
        help="save a PNG of the whole window and exit without showing it",
    )
    demo = parser.add_mutually_exclusive_group()
    demo.add_argument(
        "--demo",
        action="store_true",
        default=None,
        help="threshold (dark, median 3, Otsu) and validate the sample first "
        "(default with --screenshot)",
    )
    demo.add_argument("--no-demo", dest="demo", action="store_false")
    return parser


def open_viewer(*, demo: bool = False, show: bool = True):
    """Open napari with the KESM sample and the Threshold and Validate widgets docked (tabbed).

    Parameters
    ----------
    demo : bool
        Also run the KESM example: foreground dark, median 3, Otsu, validated against the
        ground truth.
    show : bool
        Show the window (False for screenshots without a window on screen).

    Returns
    -------
    viewer : napari.Viewer
    threshold_widget : ThresholdWidget
    validation_widget : ValidationWidget
    """
    import napari

    from ..core import Foreground, ThresholdMethod

    viewer = napari.Viewer(title="SegLab", show=show)
    viewer.open_sample("napari-seglab", "kesm")
    _, threshold_widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Threshold")
    # Tabbed with Threshold: the two panels stacked would not fit a 1080-pixel-high screen.
    validation_dock, validation_widget = viewer.window.add_plugin_dock_widget(
        "napari-seglab", "Validate", tabify=True
    )
    if demo:
        image = viewer.layers["KESM vessels"]
        threshold_widget.image.value = image
        threshold_widget.foreground.value = Foreground.DARK
        threshold_widget.median_size.value = 3
        threshold_widget.method.value = ThresholdMethod.OTSU
        threshold_widget.run(block=True)
        validation_widget.prediction.value = viewer.layers["KESM vessels otsu"]
        validation_widget.ground_truth.value = viewer.layers["KESM ground truth"]
        validation_widget.run(block=True)
        viewer.layers["KESM vessels otsu"].visible = False
        viewer.layers.selection.active = image
        validation_dock.raise_()  # show the scores of the example
    return viewer, threshold_widget, validation_widget


def _needs_virtual_display() -> bool:
    """True on Linux without a screen, or with Qt's offscreen platform (no OpenGL there)."""
    if not sys.platform.startswith("linux"):
        return False
    no_screen = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return no_screen or os.environ.get("QT_QPA_PLATFORM") == "offscreen"


def _rerun_under_xvfb(argv: list[str]) -> int:
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        sys.stderr.write(
            "napari needs a display with OpenGL to take a screenshot, and none was found.\n"
            "Install Xvfb (e.g. `sudo apt-get install xvfb`) and run this again, or run it "
            "on a desktop.\n"
        )
        return 1
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    command = [xvfb_run, "-a", sys.executable, "-m", "napari_seglab", *argv]
    return subprocess.run(command, env=env, check=False).returncode


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m napari_seglab``; returns the exit status."""
    args = _parser().parse_args(argv)
    demo = args.demo if args.demo is not None else args.screenshot is not None
    if args.screenshot is None:
        import napari

        open_viewer(demo=demo)
        napari.run()
        return 0
    if _needs_virtual_display():
        return _rerun_under_xvfb(sys.argv[1:] if argv is None else list(argv))
    viewer, *_ = open_viewer(demo=demo, show=False)
    try:
        viewer.window.resize(1400, 900)
        viewer.screenshot(str(args.screenshot), canvas_only=False)
    finally:
        viewer.close()
    return 0
