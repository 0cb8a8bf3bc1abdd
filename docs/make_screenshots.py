"""Make the user guide's screenshots from the real widgets (run under a display or Xvfb).

    xvfb-run -a python docs/make_screenshots.py

Every picture comes from the widgets' public methods on the KESM sample, as a user would
produce it by clicking; the PNGs land in ``docs/images/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

# keep napari's own notices (e.g. the PyQt5 deprecation toast) out of the pictures
os.environ.setdefault("NAPARI_APPLICATION_GUI_NOTIFICATION_LEVEL", "error")

IMAGES = Path(__file__).resolve().parent / "images"
MAX_WIDTH = 1100


def save(array: np.ndarray, name: str) -> None:
    """Write an RGB(A) screenshot, shrunk to at most MAX_WIDTH pixels wide."""
    import imageio.v3 as iio
    from skimage.transform import rescale

    rgb = array[..., :3]
    if rgb.shape[1] > MAX_WIDTH:
        factor = MAX_WIDTH / rgb.shape[1]
        rgb = rescale(rgb, factor, channel_axis=-1, anti_aliasing=True, preserve_range=True)
    iio.imwrite(IMAGES / name, np.round(rgb).astype(np.uint8), optimize=True)


def grab(widget) -> np.ndarray:
    """A docked widget as an RGB array (Qt's own rendering of it)."""
    from qtpy.QtGui import QImage

    image = widget.native.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    height, width = image.height(), image.width()
    buffer = image.constBits().asarray(image.bytesPerLine() * height)
    rows = np.frombuffer(buffer, np.uint8).reshape(height, image.bytesPerLine())
    return rows[:, : width * 3].reshape(height, width, 3).copy()


def main() -> None:
    from qtpy.QtWidgets import QApplication

    from napari_seglab._widgets._launcher import open_viewer

    IMAGES.mkdir(exist_ok=True)
    viewer, thresholder, validator = open_viewer(demo=True, show=True)
    viewer.window.resize(1500, 1000)
    QApplication.processEvents()

    # 1. the whole window after the demo: threshold (dark, median 3, Otsu) and validation
    save(viewer.screenshot(canvas_only=False), "quickstart.png")
    save(grab(thresholder), "threshold-widget.png")
    save(grab(validator), "validate-widget.png")

    # 2. the confusion overlay, zoomed on a few vessels
    viewer.scene.camera.center = (170, 250)
    viewer.scene.camera.zoom = viewer.scene.camera.zoom * 2.5
    QApplication.processEvents()
    shot = viewer.screenshot(canvas_only=True)
    rows = (shot.shape[0] - shot.shape[1]) // 2
    save(shot[rows : rows + shot.shape[1]] if rows > 0 else shot, "confusion-overlay.png")
    viewer.reset_view()

    # 3. try all methods against the ground truth (Validate undocked to give the table room)
    viewer.window.remove_dock_widget(validator.native)
    thresholder.ground_truth.value = viewer.layers["KESM ground truth"]
    thresholder.try_all(block=True)
    for name in ("KESM vessels otsu TP", "KESM vessels otsu FP", "KESM vessels otsu FN"):
        viewer.layers[name].visible = False
    QApplication.processEvents()
    save(grab(thresholder), "try-all-widget.png")
    thresholder.use_method("yen")
    save(viewer.screenshot(canvas_only=False), "try-all.png")
    viewer.close()


if __name__ == "__main__":
    main()
