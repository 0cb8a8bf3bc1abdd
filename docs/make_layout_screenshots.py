"""Open every SegLab widget through napari's own menus and photograph the window.

    xvfb-run -a -s "-screen 0 1920x1080x24" python docs/make_layout_screenshots.py 1920x1080
    xvfb-run -a -s "-screen 0 1366x768x24" python docs/make_layout_screenshots.py 1366x768

The window is maximised on the virtual screen, the KESM sample is opened from
File > Open Sample, and each widget is opened by triggering its entry in the Plugins menu, as
a user would click it. For each one the script saves ``docs/images/layout-<size>-<widget>.png``
and prints whether the dock's content fits the window's height without scrolling (a widget
that does not fit must scroll, and every control must stay reachable).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("NAPARI_APPLICATION_GUI_NOTIFICATION_LEVEL", "error")

IMAGES = Path(__file__).resolve().parent / "images"


def _menu_action(window, *path: str):
    """The QAction reached by following menu titles (``&`` accelerators ignored)."""
    from qtpy.QtWidgets import QMenu

    def clean(text: str) -> str:
        return text.replace("&", "").strip()

    actions = window.menuBar().actions()
    for depth, title in enumerate(path):
        found = next((a for a in actions if clean(a.text()).startswith(title)), None)
        if found is None:
            names = [clean(a.text()) for a in actions]
            raise LookupError(f"no menu entry {title!r} among {names}")
        if depth == len(path) - 1:
            return found
        menu = found.menu()
        if isinstance(menu, QMenu):
            menu.aboutToShow.emit()  # napari fills some menus when they open
        actions = menu.actions()
    raise LookupError(path)


def main(size: str) -> int:
    import imageio.v3 as iio
    import napari
    from npe2 import PluginManifest
    from qtpy.QtWidgets import QApplication, QMainWindow

    manifest = PluginManifest.from_file(Path(__file__).resolve().parents[1] / "napari.yaml")
    widgets = [w.display_name for w in manifest.contributions.widgets]
    IMAGES.mkdir(exist_ok=True)
    failures = 0
    for name in widgets:
        viewer = napari.Viewer(title="SegLab")
        window = next(w for w in QApplication.topLevelWidgets() if _alive(w, QMainWindow))
        width, height = (int(v) for v in size.split("x"))
        window.setGeometry(0, 0, width, height)  # maximised (Xvfb has no window manager)
        QApplication.processEvents()
        _menu_action(window, "File", "Open Sample", "KESM vessels").trigger()
        _menu_action(window, "Plugins", "SegLab", name).trigger()
        for _ in range(5):
            QApplication.processEvents()
        inner = next(iter(viewer.window.dock_widgets.values()))
        content = getattr(inner, "native", inner)
        needed = content.sizeHint().height()
        # Without a window manager a window grows past the screen to hold a dock that does
        # not fit: on a real screen its bottom would be cut off.
        fits = window.height() <= height
        verdict = "fits" if fits else "scrolls" if _scrolls(content) else "CUT OFF"
        sys.stdout.write(
            f"{size} {name}: window {window.width()}x{window.height()}, widget needs "
            f"{needed} px: {verdict}\n"
        )
        shot = viewer.screenshot(canvas_only=False, flash=False)
        slug = name.lower().replace(" ", "-")
        iio.imwrite(IMAGES / f"layout-{size}-{slug}.png", np.asarray(shot)[..., :3])
        failures += verdict == "CUT OFF"
        viewer.close()
    return 1 if failures else 0


def _alive(widget, kind) -> bool:
    """Whether `widget` is a `kind` whose Qt object still exists and shows."""
    try:
        return isinstance(widget, kind) and widget.isVisible()
    except RuntimeError:  # deleted on the C++ side (an earlier, closed viewer)
        return False


def _scrolls(widget) -> bool:
    """Whether the widget sits in a scroll area (so that every control stays reachable)."""
    from qtpy.QtWidgets import QScrollArea

    parent = widget
    while parent is not None:
        if isinstance(parent, QScrollArea):
            return True
        parent = parent.parentWidget()
    return bool(widget.findChildren(QScrollArea))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "1920x1080"))
