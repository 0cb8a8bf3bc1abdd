"""Screenshots of the pixel classifier widget for docs/classifier.md, taken from the real widget.

Run from the repository root under a (virtual) X server:

    xvfb-run -a -s "-screen 0 1920x1080x24" python docs/make_classifier_screenshots.py
    xvfb-run -s "-screen 0 1920x1080x24" python docs/make_classifier_screenshots.py --suggestions

The second takes only the pictures of *Suggest where to paint*, in a 1920 x 1080 window with
the widget opened the way a user does (Plugins > SegLab > Pixel classifier).

The strokes are drawn the way a user would: a few lines through the tissue (background) and
a few vessels painted over (foreground), placed with the KESM ground truth. The live-update
pictures open the widget through napari's Plugins menu in a 1920 x 1080 window, as a user
would, on a 2048 x 2048 mosaic of the tile.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

# napari settings go to a throwaway file, so that the ones below never touch the user's own
os.environ["NAPARI_CONFIG"] = str(Path(tempfile.mkdtemp()) / "settings.yaml")

import napari
import numpy as np
from napari.settings import get_settings
from PIL import Image
from qtpy.QtWidgets import QApplication
from scipy.ndimage import binary_erosion
from skimage.draw import line

import napari_seglab
from napari_seglab._widgets.classifier import ClassifierWidget
from napari_seglab._widgets.classifier.view import camera_of

try:  # run as a script from the repository root: docs/ is on the path
    from make_layout_screenshots import _menu_action
except ImportError:  # imported as docs.make_classifier_screenshots
    from docs.make_layout_screenshots import _menu_action

OUT = Path(__file__).parent / "images"
MAX_BYTES = 300_000


def strokes_like_a_user(truth: np.ndarray) -> np.ndarray:
    """Label 1 along a few lines through the tissue, 2 over a few vessels."""
    strokes = np.zeros(truth.shape, np.uint8)
    # background: horizontal and slanted segments, kept only where the truth is background
    for r0, c0, r1, c1 in [
        (40, 20, 60, 140),
        (200, 300, 215, 460),
        (330, 60, 360, 200),
        (450, 250, 470, 400),
        (120, 380, 150, 490),
    ]:
        rr, cc = line(r0, c0, r1, c1)
        keep = truth[rr, cc] == 0
        strokes[rr[keep], cc[keep]] = 1
        strokes[np.clip(rr[keep] + 1, 0, 511), cc[keep]] = 1  # 2 px wide
    # foreground: the user paints over a few vessels (their truth, one pixel in from the edge)
    vessels = binary_erosion(truth > 0)
    for r, c in [(100, 100), (260, 260), (400, 420), (300, 120), (60, 400), (470, 60)]:
        window = np.zeros_like(vessels)
        window[max(r - 30, 0) : r + 30, max(c - 30, 0) : c + 30] = True
        strokes[vessels & window] = 2
    out = strokes
    return out


def wait_until_idle(widget: ClassifierWidget) -> None:
    app = QApplication.instance()
    while widget.busy:
        app.processEvents()
        time.sleep(0.02)
    for _ in range(30):  # let napari redraw
        app.processEvents()
        time.sleep(0.02)


def save(viewer: napari.Viewer, name: str, *, canvas_only: bool = False) -> Path:
    """Screenshot to PNG, palette-quantised so that each file stays under 300 KB."""
    shot = viewer.screenshot(canvas_only=canvas_only, flash=False)
    image = Image.fromarray(shot[..., :3])
    path = OUT / f"{name}.png"
    for colors in (256, 128, 64):
        image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        if path.stat().st_size < MAX_BYTES:
            break
    return path


def main() -> None:
    # keep napari's own notices (e.g. its PyQt5 deprecation warning) out of the pictures
    get_settings().application.gui_notification_level = "error"
    OUT.mkdir(exist_ok=True)
    image, truth = napari_seglab.load_kesm()
    viewer = napari.Viewer(title="SegLab pixel classifier")
    viewer.window.resize(1500, 950)
    layer = viewer.add_image(image, name="KESM vessels")
    widget = ClassifierWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Pixel classifier", area="right")
    widget.controls.image.value = layer
    wait_until_idle(widget)  # let the dock take its place before fitting the image in view
    viewer.reset_view()

    training = widget.add_training_layer()
    training.data[:] = strokes_like_a_user(truth)
    training.refresh()
    wait_until_idle(widget)
    viewer.reset_view()  # the panel has taken its final size: fit the image in what is left
    wait_until_idle(widget)
    save(viewer, "classifier_1_strokes")

    widget.train()
    wait_until_idle(widget)
    viewer.layers.selection.active = training
    save(viewer, "classifier_2_segmentation")

    viewer.layers["KESM vessels segmentation"].visible = False
    viewer.layers["KESM vessels uncertainty"].visible = True
    training.visible = True
    wait_until_idle(widget)
    save(viewer, "classifier_3_uncertainty")

    viewer.layers["KESM vessels uncertainty"].visible = False
    viewer.layers["KESM vessels foreground"].visible = True
    training.visible = False
    wait_until_idle(widget)
    save(viewer, "classifier_4_foreground", canvas_only=True)

    viewer.close()
    live_and_balance(truth, image)
    check_sizes()


def _opened_from_the_menu(viewer: napari.Viewer) -> ClassifierWidget:
    """The widget opened as a user does (Plugins > SegLab > Pixel classifier), in a 1920 x
    1080 window."""
    from qtpy.QtWidgets import QMainWindow

    app = QApplication.instance()
    window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMainWindow))
    window.setGeometry(0, 0, 1920, 1080)  # maximised (Xvfb has no window manager)
    _menu_action(window, "Plugins", "SegLab", "Pixel classifier").trigger()
    for _ in range(5):
        app.processEvents()
    widget = next(iter(viewer.window.dock_widgets.values()))
    assert isinstance(widget, ClassifierWidget), widget
    return widget


def live_and_balance(truth: np.ndarray, tile: np.ndarray) -> None:
    """Live update zoomed in on a 2048 x 2048 plane, and the class balance's warning."""
    image, big_truth = np.tile(tile, (4, 4)), np.tile(truth, (4, 4))
    viewer = napari.Viewer(title="SegLab pixel classifier")
    layer = viewer.add_image(image, name="KESM mosaic")
    widget = _opened_from_the_menu(viewer)
    widget.controls.image.value = layer
    app = QApplication.instance()
    wait_until_idle(widget)
    viewer.reset_view()

    training = widget.add_training_layer()
    # a first training on the tile's strokes, repeated over the mosaic
    strokes = np.tile(strokes_like_a_user(truth), (4, 4))
    training.data[:] = strokes
    training.refresh()
    widget.train()
    wait_until_idle(widget)
    # zoom in 4x on the middle, tick Live update, and paint one more stroke there
    camera = camera_of(viewer)
    height, width = viewer.canvas.size
    camera.center = (1024, 1024)
    camera.zoom = 4 * min(height, width) / 2048  # 4x the zoom that shows the plane whole
    widget.controls.live.value = True
    wait_until_idle(widget)
    shots = []

    def on_shown(result) -> None:
        if "part on screen" in result.message:
            shots.append(result)

    widget.shown.connect(on_shown)
    vessels = binary_erosion(big_truth > 0) & (strokes == 0)
    window_mask = np.zeros_like(vessels)
    window_mask[1000:1060, 980:1060] = True
    training.data[vessels & window_mask] = 2
    training.refresh()
    training.events.paint(value=[])
    while not shots:
        app.processEvents()
        time.sleep(0.01)
    for _ in range(3):  # lay the status line out (the next tiles may come meanwhile)
        app.processEvents()
    save(viewer, "classifier_5_live_zoomed")
    wait_until_idle(widget)
    widget.shown.disconnect(on_shown)
    widget.controls.live.value = False

    # the class balance: erase the vessel strokes but the one just painted: a rare class
    training.data[(training.data == 2) & ~window_mask] = 0
    training.refresh()
    training.events.paint(value=[])
    wait_until_idle(widget)
    save(viewer, "classifier_6_balance")
    viewer.close()


def suggestions() -> None:
    """The suggested regions after a first training, then the view on the first one."""
    get_settings().application.gui_notification_level = "error"
    OUT.mkdir(exist_ok=True)
    viewer = napari.Viewer(title="SegLab pixel classifier")
    widget = _opened_from_the_menu(viewer)
    viewer.open_sample("napari-seglab", "kesm")
    layer, truth = viewer.layers["KESM vessels"], viewer.layers["KESM ground truth"]
    truth.visible = False
    widget.controls.image.value = layer
    training = widget.add_training_layer()
    strokes = strokes_like_a_user(truth.data)
    strokes[strokes == 2] = 0  # a first try: one vessel and two lines painted
    strokes[256:] = np.where(strokes[256:] == 1, 0, strokes[256:])
    vessels = binary_erosion(truth.data > 0)
    window = np.zeros_like(vessels)
    window[70:130, 70:130] = True
    strokes[vessels & window] = 2
    training.data[:] = strokes
    training.refresh()
    wait_until_idle(widget)
    widget.train()
    wait_until_idle(widget)
    viewer.layers.selection.active = training
    viewer.reset_view()
    wait_until_idle(widget)
    save(viewer, "classifier_5_suggestions")
    widget.suggestions.next_button.clicked.emit()
    wait_until_idle(widget)
    save(viewer, "classifier_6_suggestion_zoomed")
    check_sizes()
    viewer.close()


def check_sizes() -> None:
    for path in sorted(OUT.glob("classifier_*.png")):
        size = path.stat().st_size
        assert size < MAX_BYTES, f"{path} is {size} bytes"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suggestions", action="store_true", help="only Suggest where to paint")
    if parser.parse_args().suggestions:
        suggestions()
    else:
        main()
