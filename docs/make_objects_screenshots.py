"""Photograph the Objects widget at work on DSB 2018 nuclei, on a 1366 x 768 screen.

    xvfb-run -a -s "-screen 0 1366x768x24" python docs/make_objects_screenshots.py

As in ``make_layout_screenshots.py``: the window fills the virtual screen and the widget is
opened from the Plugins menu. The nuclei are thresholded (Otsu), split by the watershed, one
row of the table is clicked; the script saves ``docs/images/objects-widget.png`` and prints
whether the window still fits the screen with the table filled.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("NAPARI_APPLICATION_GUI_NOTIFICATION_LEVEL", "error")

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data" / "dsb2018_fluo_nuclei"


def main(width: int = 1366, height: int = 768) -> int:
    import imageio.v3 as iio
    import napari
    from make_layout_screenshots import _alive, _menu_action
    from qtpy.QtWidgets import QApplication, QMainWindow

    import napari_seglab as sl

    pair = json.loads((DATA / "pairs.json").read_text())["pairs"][1]
    image = iio.imread(DATA / pair["image"])
    viewer = napari.Viewer(title="SegLab")
    window = next(w for w in QApplication.topLevelWidgets() if _alive(w, QMainWindow))
    window.setGeometry(0, 0, width, height)
    viewer.add_image(image, name="nuclei")
    viewer.add_labels(sl.threshold(image, "otsu").mask, name="nuclei otsu")
    _menu_action(window, "Plugins", "SegLab", "Objects").trigger()
    QApplication.processEvents()
    widget = next(iter(viewer.window.dock_widgets.values()))
    widget.source.value = viewer.layers["nuclei otsu"]
    widget.intensity.value = viewer.layers["nuclei"]
    widget.method.value = "watershed"
    widget.min_size.value = 20
    widget.run(block=True)
    widget.table.native.selectRow(5)
    for _ in range(5):
        QApplication.processEvents()
    fits = window.height() <= height
    sys.stdout.write(f"{width}x{height} Objects with a table: window {window.height()} px high, "
                     f"{'fits' if fits else 'CUT OFF'}; {widget.status.value}\n")  # fmt: skip
    shot = viewer.screenshot(canvas_only=False, flash=False)
    iio.imwrite(HERE / "images" / "objects-widget.png", np.asarray(shot)[..., :3])
    viewer.close()
    return 0 if fits else 1


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
