"""Screenshots of "Segment without training" from the real Cluster and Edges widgets.

    xvfb-run -a -s "-screen 0 1366x768x24" python docs/make_untrained_screenshots.py

Each widget is opened through napari's plugin machinery in a 1366 x 768 window and driven
through its public methods, as a user would click it: Cluster on an H&E image of the 2018
Data Science Bowl (../shared/data), Edges on the KESM sample. The PNGs land in
``docs/images/``; the F1 scores shown in the page are printed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("NAPARI_APPLICATION_GUI_NOTIFICATION_LEVEL", "error")

DOCS = Path(__file__).resolve().parent
IMAGES = DOCS / "images"
HE = DOCS.parents[1] / "shared" / "data" / "dsb2018_he_histology_nuclei"


def _shoot(viewer, name: str, zoom: float = 1.0) -> None:
    import imageio.v3 as iio
    from qtpy.QtWidgets import QApplication

    for _ in range(5):
        QApplication.processEvents()
    if zoom:
        viewer.reset_view()
        viewer.scene.camera.zoom *= zoom
    shot = viewer.screenshot(canvas_only=False, flash=False)
    iio.imwrite(IMAGES / name, np.asarray(shot)[..., :3], optimize=True)


def _viewer():
    import napari

    viewer = napari.Viewer(title="SegLab")
    viewer.window.resize(1366, 768)
    return viewer


def cluster_he() -> None:
    import imageio.v3 as iio

    import napari_seglab as sl

    pair = json.loads((HE / "pairs.json").read_text())["pairs"][0]
    image, truth = iio.imread(HE / pair["image"]), iio.imread(HE / pair["mask"])
    viewer = _viewer()
    viewer.add_image(image, name="H&E", rgb=True)
    viewer.add_labels(truth, name="H&E ground truth", visible=False)
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Cluster")
    widget.image.value = viewer.layers["H&E"]
    widget.run(block=True)
    _shoot(viewer, "cluster-he-k3.png")
    widget.use_cluster(1, block=True)
    viewer.layers["H&E clusters"].visible = False
    mask = viewer.layers["H&E cluster 1"].data
    f1 = sl.evaluate(mask, truth).scores.f1
    sys.stdout.write(f"H&E {pair['image']}: k-means k=3, cluster 1 F1 {f1:.4f}\n")
    _shoot(viewer, "cluster-he-foreground.png")
    widget.units.value = sl.ClusterUnits.SLIC
    widget.boundaries.value = True
    widget.run(block=True)
    viewer.layers["H&E clusters"].visible = True
    viewer.layers["H&E cluster 1"].visible = False
    _shoot(viewer, "cluster-he-slic.png", zoom=2.0)
    viewer.close()


def edges_kesm() -> None:
    import napari_seglab as sl

    viewer = _viewer()
    viewer.open_sample("napari-seglab", "kesm")
    viewer.layers["KESM ground truth"].visible = False
    edges_dock, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Edges")
    widget.image.value = viewer.layers["KESM vessels"]
    widget.run(block=True)
    viewer.layers["KESM vessels"].visible = False
    _shoot(viewer, "edges-kesm-sobel.png")
    widget.method.value = sl.EdgeMethod.CANNY
    widget.sigma.value = 2.0
    widget.run(block=True)
    viewer.layers["KESM vessels"].visible = True
    _shoot(viewer, "edges-kesm-canny.png")
    _, clusters = viewer.window.add_plugin_dock_widget("napari-seglab", "Cluster")
    clusters.image.value = viewer.layers["KESM vessels"]
    clusters.k.value = 2
    clusters.run(block=True)
    clusters.use_cluster(1, block=True)
    viewer.layers["KESM vessels clusters"].visible = False
    viewer.layers["KESM vessels edges"].visible = False
    edges_dock.close()
    _shoot(viewer, "cluster-kesm-k2.png")
    mask, truth = viewer.layers["KESM vessels cluster 1"].data, viewer.layers["KESM ground truth"]
    f1 = sl.evaluate(mask, truth.data).scores.f1
    sys.stdout.write(f"KESM: k-means k=2, cluster 1 F1 {f1:.4f}\n")
    viewer.close()


if __name__ == "__main__":
    IMAGES.mkdir(exist_ok=True)
    cluster_he()
    edges_kesm()
