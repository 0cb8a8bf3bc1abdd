import numpy as np
import pytest

from napari_seglab._widgets.cleanup import Connectivity


@pytest.fixture
def viewer_and_widget(make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Clean up")
    return viewer, widget


def test_clean_up_2d_updates_its_output(viewer_and_widget, qtbot):
    viewer, widget = viewer_and_widget
    mask = np.zeros((40, 40), np.uint8)
    mask[2, 2] = 1  # a one-pixel speck
    mask[10:30, 10:30] = 1
    mask[15:17, 15:17] = 0  # a 4-pixel hole
    layer = viewer.add_labels(mask, name="mask", scale=(0.5, 0.5))
    before = mask.copy()
    widget.labels_layer.value = layer
    widget.remove_smaller_than.value = 2
    widget.fill_holes_smaller_than.value = 5
    widget.call_button.native.click()  # runs in a worker thread
    qtbot.waitUntil(lambda: "mask cleaned" in viewer.layers, timeout=10_000)

    out = viewer.layers["mask cleaned"]
    assert out.data[2, 2] == 0 and out.data[15:17, 15:17].all()
    assert int(out.data.sum()) == 400
    assert out.metadata["foreground_pixels_before"] == int(mask.sum())
    assert out.metadata["foreground_pixels_after"] == 400
    assert tuple(out.scale) == (0.5, 0.5)
    np.testing.assert_array_equal(layer.data, before)

    n_layers = len(viewer.layers)
    widget.fill_holes_smaller_than.value = 4  # holes of 4 pixels are no longer filled
    widget(block=True)
    assert len(viewer.layers) == n_layers
    assert viewer.layers["mask cleaned"] is out
    assert not out.data[15:17, 15:17].any()


def test_clean_up_3d_connectivity(viewer_and_widget):
    viewer, widget = viewer_and_widget
    volume = np.zeros((4, 4, 4), np.uint8)
    volume[0, 0, 0] = volume[1, 1, 1] = 1  # touching by a corner only
    layer = viewer.add_labels(volume, name="vol")
    widget.labels_layer.value = layer
    widget.remove_smaller_than.value = 2
    widget.fill_holes_smaller_than.value = 0
    widget.connectivity.value = Connectivity.FACES
    widget(block=True)
    assert viewer.layers["vol cleaned"].data.sum() == 0
    widget.connectivity.value = Connectivity.CORNERS
    widget(block=True)
    assert viewer.layers["vol cleaned"].data.sum() == 2


def test_all_neighbours_in_2d_and_bad_input(viewer_and_widget, notifications):
    viewer, widget = viewer_and_widget
    widget(block=True)
    assert "Choose a Labels layer" in notifications.errors()[-1]

    diagonal = np.eye(6, dtype=np.uint8)
    viewer.add_labels(diagonal, name="diagonal")
    widget.labels_layer.value = viewer.layers["diagonal"]
    widget.remove_smaller_than.value = 3
    widget.fill_holes_smaller_than.value = 0
    widget.connectivity.value = Connectivity.CORNERS  # 8-connected in 2D: one 6-pixel object
    widget(block=True)
    np.testing.assert_array_equal(viewer.layers["diagonal cleaned"].data, diagonal)

    negative = np.zeros((8, 8), np.int8)
    negative[0, 0] = -1
    viewer.add_labels(negative, name="negative")
    widget.labels_layer.value = viewer.layers["negative"]
    widget(block=True)
    assert "negative" in notifications.errors()[-1]
    assert "negative cleaned" not in viewer.layers


def test_lazy_layer_is_cleaned_chunk_by_chunk(viewer_and_widget):
    import dask.array as da

    from napari_seglab.core import clean_up

    viewer, widget = viewer_and_widget
    mask = np.zeros((64, 80), np.uint8)
    mask[31, 39] = 1  # a speck on a chunk corner
    mask[10:50, 20:60] = 1
    mask[30:33, 38:41] = 0  # a hole across four chunks
    mask[31, 39] = 1
    layer = viewer.add_labels(da.from_array(mask, chunks=(32, 40)), name="lazy")
    widget.labels_layer.value = layer
    widget.remove_smaller_than.value = 2
    widget.fill_holes_smaller_than.value = 10
    widget(block=True)
    out = viewer.layers["lazy cleaned"]
    assert isinstance(out.data, da.Array)
    expected = clean_up(mask, remove_smaller_than=2, fill_holes_smaller_than=10)
    np.testing.assert_array_equal(out.data.compute(), expected)
    # not counted: that would compute every chunk before napari shows the ones on screen
    assert "foreground_pixels_after" not in out.metadata


def test_result_of_a_closed_layer_is_dropped(viewer_and_widget, qtbot, notifications):
    viewer, widget = viewer_and_widget
    widget.labels_layer.value = viewer.add_labels(np.eye(40, dtype=np.uint8), name="mask")
    widget.call_button.native.click()  # off the GUI thread: the result comes after the close
    viewer.layers.remove("mask")
    qtbot.waitUntil(lambda: bool(notifications.warnings()), timeout=10_000)
    assert "'mask' was closed" in notifications.warnings()[0]
    assert "mask cleaned" not in viewer.layers and not notifications.errors()


def test_cancel_stops_the_clean_up_and_changes_nothing(viewer_and_widget, wait, notifications):
    viewer, widget = viewer_and_widget
    specks = np.random.default_rng(0).random((1024, 1024)) > 0.7  # the cancel lands mid-run
    widget.labels_layer.value = viewer.add_labels(specks.astype(np.uint8), name="mask")
    widget.call_button.native.click()
    assert widget.cancel_button.enabled and not widget.call_button.enabled
    widget.cancel_button.native.click()
    wait(widget)
    assert "mask cleaned" not in viewer.layers
    assert "Clean up cancelled: nothing changed." in notifications.of("info")
    assert widget.call_button.enabled and not widget.cancel_button.enabled

    widget.call_button.native.click()  # a run after a cancel is not cancelled
    wait(widget)
    assert "mask cleaned" in viewer.layers and not notifications.errors()
