"""The Cluster widget in a real viewer: opened from the plugin menu, run, re-run, use a cluster."""

from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np
import pytest

import napari_seglab as sl
from napari_seglab._widgets._shared import ROLE_KEY


@pytest.fixture
def he(shared_data):
    folder = shared_data / "dsb2018_he_histology_nuclei"
    pair = json.loads((folder / "pairs.json").read_text())["pairs"][0]
    return iio.imread(folder / pair["image"]), iio.imread(folder / pair["mask"])


@pytest.fixture
def he_viewer(make_napari_viewer, he):
    viewer = make_napari_viewer()
    image, truth = he
    viewer.add_image(image, name="H&E", rgb=True, scale=(0.5, 0.5))
    viewer.add_labels(truth, name="H&E ground truth")
    return viewer


def _open(viewer):
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Cluster")
    return widget


def test_cluster_run_rerun_and_use_as_foreground(he_viewer, he, wait, notifications):
    image, truth = he
    widget = _open(he_viewer)
    widget.image.value = he_viewer.layers["H&E"]
    widget.run()
    wait(widget, timeout=60_000)
    layer = he_viewer.layers["H&E clusters"]
    assert layer.metadata[ROLE_KEY] == "cluster" and layer.metadata["k"] == 3
    expected = sl.cluster(image, 3, rgb=True)
    np.testing.assert_array_equal(layer.data, expected.labels)
    assert tuple(layer.scale) == (0.5, 0.5)
    assert "cluster 1 (darkest)" in widget.summary.value

    n_layers = len(he_viewer.layers)
    widget.k.value = 2
    widget.run(block=True)
    assert len(he_viewer.layers) == n_layers
    assert he_viewer.layers["H&E clusters"] is layer and layer.data.max() == 2

    widget.k.value = 3
    widget.run(block=True)
    widget.use_cluster(1, block=True)
    mask_layer = he_viewer.layers["H&E cluster 1"]
    assert mask_layer.metadata[ROLE_KEY] == "cluster-foreground"
    assert mask_layer.data.dtype == np.uint8 and set(np.unique(mask_layer.data)) == {0, 1}
    f1 = sl.evaluate(mask_layer.data, he_viewer.layers["H&E ground truth"].data).scores.f1
    assert f1 == pytest.approx(sl.evaluate(expected.mask(1), truth).scores.f1)
    assert f1 == pytest.approx(0.7966, abs=5e-5)  # see tests/core/cluster/test_he_nuclei.py
    assert not notifications.errors()


def test_superpixel_boundaries_layer(he_viewer, he):
    image, _ = he
    widget = _open(he_viewer)
    widget.image.value = he_viewer.layers["H&E"]
    widget.units.value = sl.ClusterUnits.SLIC
    assert not widget.n_segments.native.isHidden() and widget.scale.native.isHidden()
    widget.n_segments.value = 200
    widget.boundaries.value = True
    widget.run(block=True)
    boundaries = he_viewer.layers["H&E superpixel boundaries"]
    expected = sl.cluster(image, 3, rgb=True, units="slic", n_segments=200, boundaries=True)
    np.testing.assert_array_equal(boundaries.data, expected.boundaries)
    np.testing.assert_array_equal(he_viewer.layers["H&E clusters"].data, expected.labels)


def test_layers_as_channels_and_bad_input(make_napari_viewer, notifications):
    viewer = make_napari_viewer()
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, (30, 40)).astype(np.uint8) * 60
    viewer.add_image(a, name="a")
    viewer.add_image(255 - a, name="b")
    widget = _open(viewer)
    widget.image.value = viewer.layers["a"]
    widget.more_channels.value = [viewer.layers["b"]]
    widget.run(block=True)
    expected = sl.cluster([a, 255 - a]).labels
    np.testing.assert_array_equal(viewer.layers["a clusters"].data, expected)

    n_layers = len(viewer.layers)
    widget.more_channels.value = []
    widget.space.value = sl.ColourSpace.LAB  # a grayscale image asked for Lab
    widget.run(block=True)
    assert any("Lab needs an RGB image" in e for e in notifications.errors())
    assert len(viewer.layers) == n_layers


def test_lazy_layer_gives_lazy_clusters(make_napari_viewer):
    import dask.array as da

    image, _ = sl.load_kesm()
    viewer = make_napari_viewer()
    viewer.add_image(da.from_array(image, chunks=128), name="lazy KESM")
    widget = _open(viewer)
    widget.image.value = viewer.layers["lazy KESM"]
    widget.k.value = 2
    widget.run(block=True)
    labels = viewer.layers["lazy KESM clusters"].data
    assert isinstance(labels, da.Array) and labels.shape == image.shape
    assert widget.result.n_fitted == 8 * 128 * 128  # fitted on 8 of the 16 chunks
    widget.use_cluster(1, block=True)
    assert isinstance(viewer.layers["lazy KESM cluster 1"].data, da.Array)


def test_rerun_updates_or_removes_its_stale_layers(he_viewer, he):
    """Boundaries and cluster masks of an earlier run never outlive the settings that made
    them; a user's copy of an output, and another image's outputs, are left alone."""
    image, _ = he
    layers = he_viewer.layers
    other = he_viewer.add_image(image[..., 0], name="red")
    widget = _open(he_viewer)
    widget.units.value = sl.ClusterUnits.SLIC
    widget.n_segments.value = 200
    widget.boundaries.value = True
    widget.image.value = other
    widget.run(block=True)
    widget.image.value = layers["H&E"]
    widget.run(block=True)
    widget.use_cluster(1, block=True)
    widget.use_cluster(3, block=True)
    boundaries = layers["H&E superpixel boundaries"]
    copy = he_viewer.add_labels(
        boundaries.data.copy(), name="H&E superpixel boundaries copy", metadata=boundaries.metadata
    )

    widget.boundaries.value = False  # the same superpixels, no boundaries asked for
    widget.run(block=True)
    assert "H&E superpixel boundaries" not in layers
    assert "H&E cluster 1" in layers and "H&E cluster 3" in layers

    mask_1 = layers["H&E cluster 1"]
    widget.units.value = sl.ClusterUnits.PIXELS
    widget.k.value = 2
    widget.run(block=True)
    expected = sl.cluster(image, 2, rgb=True)
    assert layers["H&E cluster 1"] is mask_1 and mask_1.metadata["k"] == 2
    np.testing.assert_array_equal(mask_1.data, expected.mask(1))
    assert "H&E cluster 3" not in layers  # k = 2 has no cluster 3
    assert copy in layers and "red superpixel boundaries" in layers


def test_result_of_a_closed_image_is_dropped(he_viewer, wait, notifications):
    widget = _open(he_viewer)
    widget.image.value = he_viewer.layers["H&E"]
    widget.run()  # off the GUI thread: its result arrives after the layer is gone
    he_viewer.layers.remove("H&E")
    wait(widget, timeout=60_000)
    assert "H&E clusters" not in he_viewer.layers and widget.result is None
    assert any("'H&E' was closed" in w for w in notifications.warnings())

    image = he_viewer.add_image(np.arange(64, dtype=np.uint8).reshape(8, 8), name="ramp")
    widget.image.value = image
    widget.run(block=True)
    widget.use_cluster(1)
    he_viewer.layers.remove(image)
    wait(widget)
    assert "ramp cluster 1" not in he_viewer.layers
    assert any("'ramp' was closed" in w for w in notifications.warnings()[1:])
    widget.use_cluster(1, block=True)  # its image is gone: nothing to place a mask over
    assert "ramp cluster 1" not in he_viewer.layers
    assert any("'ramp' was closed" in e for e in notifications.errors())


def test_cancel_stops_the_run_and_changes_nothing(make_napari_viewer, wait, qtbot):
    viewer = make_napari_viewer()
    noise = np.random.default_rng(0).integers(0, 256, (512, 512), dtype=np.uint8)
    viewer.add_image(noise, name="noise")
    widget = _open(viewer)
    widget.image.value = viewer.layers["noise"]
    widget.run()
    assert widget.cancel_button.enabled and not widget.run_button.enabled
    widget.cancel_button.native.click()
    assert widget.status.value.startswith("Cancelling")
    wait(widget)
    assert "noise clusters" not in viewer.layers and widget.result is None
    assert widget.status.value == "Cancelled: nothing changed."
    assert widget.run_button.enabled and not widget.cancel_button.enabled

    widget.run()  # a run after a cancel is not cancelled; the status names each step
    qtbot.waitUntil(lambda: widget.status.value == "Clustering: k-means fit…", timeout=30_000)
    wait(widget)
    assert "noise clusters" in viewer.layers and widget.status.value == ""
