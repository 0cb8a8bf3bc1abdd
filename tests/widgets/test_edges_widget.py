"""The Edges widget in a real viewer on the KESM sample: filter, re-run in place, Canny mask."""

from __future__ import annotations

import numpy as np

import napari_seglab as sl
from napari_seglab._widgets._shared import ROLE_KEY


def _open(viewer):
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Edges")
    widget.image.value = viewer.layers["KESM vessels"]
    return widget


def test_edges_run_rerun_in_place_and_canny(kesm_viewer, wait, notifications):
    image = kesm_viewer.layers["KESM vessels"].data
    widget = _open(kesm_viewer)
    widget.run()
    wait(widget)
    layer = kesm_viewer.layers["KESM vessels edges"]
    assert layer.metadata[ROLE_KEY] == "edges" and layer.metadata["method"] == "sobel"
    np.testing.assert_array_equal(layer.data, sl.edges(image, "sobel"))

    n_layers = len(kesm_viewer.layers)
    widget.method.value = sl.EdgeMethod.SCHARR
    widget.direction.value = sl.EdgeDirection.VERTICAL
    widget.smoothing.value = sl.EdgeSmoothing.MEDIAN
    widget.smoothing_size.value = 3
    widget.run(block=True)
    assert kesm_viewer.layers["KESM vessels edges"] is layer
    assert len(kesm_viewer.layers) == n_layers
    options = {"direction": "vertical", "smoothing": "median", "smoothing_size": 3}
    expected = sl.edges(image, "scharr", **options)
    np.testing.assert_array_equal(layer.data, expected)

    widget.method.value = sl.EdgeMethod.CANNY
    assert not widget.low_threshold.native.isHidden() and widget.direction.native.isHidden()
    widget.smoothing.value = sl.EdgeSmoothing.NONE
    widget.sigma.value = 2.0
    widget.run(block=True)
    mask = kesm_viewer.layers["KESM vessels edges"]
    assert mask.__class__.__name__ == "Labels" and len(kesm_viewer.layers) == n_layers
    np.testing.assert_array_equal(mask.data, sl.edges(image, "canny", sigma=2.0))
    assert not notifications.errors()


def test_bad_settings_are_reported_and_change_nothing(kesm_viewer, notifications):
    widget = _open(kesm_viewer)
    widget.method.value = sl.EdgeMethod.CANNY
    widget.low_threshold.value = 50
    widget.high_threshold.value = 10
    n_layers = len(kesm_viewer.layers)
    widget.run(block=True)
    assert any("must not exceed" in e for e in notifications.errors())
    assert len(kesm_viewer.layers) == n_layers


def test_canny_without_edges_says_so_and_adds_nothing(kesm_viewer, notifications):
    widget = _open(kesm_viewer)
    widget.method.value = sl.EdgeMethod.CANNY
    widget.low_threshold.value = 1e6  # above any gradient of an 8-bit image
    widget.high_threshold.value = 2e6
    n_layers = len(kesm_viewer.layers)
    widget.run(block=True)
    assert any("found no edges in 'KESM vessels'" in w for w in notifications.warnings())
    assert len(kesm_viewer.layers) == n_layers and not notifications.errors()


def test_result_of_a_closed_image_is_dropped(kesm_viewer, wait, notifications):
    widget = _open(kesm_viewer)
    n_layers = len(kesm_viewer.layers)
    widget.run()  # off the GUI thread: its result arrives after the layer is gone
    kesm_viewer.layers.remove("KESM vessels")
    wait(widget)
    assert "KESM vessels edges" not in kesm_viewer.layers
    assert len(kesm_viewer.layers) == n_layers - 1
    assert any("'KESM vessels' was closed" in w for w in notifications.warnings())
