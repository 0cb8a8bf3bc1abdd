"""The Objects widget, opened through napari's plugin machinery in a real headless viewer."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from napari_seglab import label_objects, measure_objects
from napari_seglab._widgets.objects import TABLE_ROWS


def nuclei(shape=(60, 90)) -> tuple[np.ndarray, np.ndarray]:
    """Two pairs of touching disks and a lone one; an intensity image bright inside."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    mask = np.zeros(shape, bool)
    for cy, cx in ((20, 15), (20, 29), (42, 55), (42, 69), (15, 75)):
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= 64
    intensity = (mask * 100 + xx).astype(np.float32)
    return mask.astype(np.uint8), intensity


@pytest.fixture
def objects_widget(make_napari_viewer):
    viewer = make_napari_viewer()
    mask, intensity = nuclei()
    viewer.add_image(intensity, name="nuclei", scale=(0.5, 0.25), translate=(10, 20))
    viewer.add_labels(mask, name="mask", scale=(0.5, 0.25), translate=(10, 20))
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Objects")
    widget.source.value = viewer.layers["mask"]
    widget.intensity.value = viewer.layers["nuclei"]
    return viewer, widget


def test_split_measure_and_update_in_place(objects_widget, wait, notifications):
    viewer, widget = objects_widget
    widget.run()  # off the GUI thread
    wait(widget)
    layer = viewer.layers["mask objects"]
    assert widget.objects.n_objects == 3 and layer.data.max() == 3
    assert widget.min_distance.native.isHidden()  # watershed options hidden for components
    widget.method.value = "watershed"
    assert not widget.min_distance.native.isHidden()
    widget.min_distance.value = 5
    widget.run()
    wait(widget)
    assert viewer.layers["mask objects"] is layer and len(viewer.layers) == 3
    mask, intensity = nuclei()
    expected = label_objects(mask, method="watershed", min_distance=5, spacing=(0.5, 0.25))
    np.testing.assert_array_equal(layer.data, expected.labels)
    assert expected.n_objects == 5 == widget.table.shape[0]
    table = measure_objects(expected.labels, intensity, spacing=(0.5, 0.25))
    np.testing.assert_allclose(layer.features["intensity_mean"], table["intensity_mean"])
    np.testing.assert_array_equal(layer.features["index"], table["label"])
    assert tuple(layer.scale) == (0.5, 0.25) and tuple(layer.translate) == (10, 20)
    assert "5 objects" in widget.status.value and not notifications.errors()


def test_clicking_a_row_selects_and_centres_the_object(objects_widget):
    viewer, widget = objects_widget
    widget.method.value = "watershed"
    widget.min_distance.value = 5
    widget.run(block=True)
    layer, table = widget.output, widget.measurements
    row = 3
    widget.table.native.selectRow(row)  # what a click on the row does
    label = int(table["label"][row])
    assert layer.selected_label == label
    centre = (table["centroid-0"][row] + 10, table["centroid-1"][row] + 20)  # world
    np.testing.assert_allclose(viewer.scene.camera.center[-2:], centre)


def test_stack_moves_to_the_objects_plane(make_napari_viewer):
    viewer = make_napari_viewer()
    mask, _ = nuclei()
    stack = np.zeros((4, *mask.shape), np.uint8)
    stack[2] = mask
    viewer.add_labels(stack, name="stack", scale=(2.0, 1.0, 1.0))
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Objects")
    widget.source.value = viewer.layers["stack"]
    widget.per_plane.value = True
    widget.run(block=True)
    assert widget.objects.n_objects == 3 and widget.objects.per_plane
    viewer.dims.set_point(0, 0)
    widget.select_object(2)
    assert viewer.dims.point[0] == pytest.approx(4.0)  # plane 2 at scale 2


def test_export_csv(objects_widget, tmp_path):
    _, widget = objects_widget
    assert widget.export_csv(tmp_path / "none.csv") is None  # nothing measured yet
    widget.run(block=True)
    path = widget.export_csv(tmp_path / "objects.csv")
    lines = path.read_text().splitlines()
    assert lines[0].startswith("label,area,centroid-0") and len(lines) == 1 + 3


def test_lazy_layer_gives_lazy_objects(make_napari_viewer):
    viewer = make_napari_viewer()
    mask, _ = nuclei()
    viewer.add_labels(da.from_array(mask, chunks=(20, 30)), name="big")
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Objects")
    widget.source.value = viewer.layers["big"]
    widget.run(block=True)
    assert isinstance(widget.objects.labels, da.Array) and widget.objects.n_objects == 3
    assert "eccentricity" in widget.status.value  # says what was not measured


def test_refused_input_is_reported_and_changes_nothing(objects_widget, wait, notifications):
    viewer, widget = objects_widget
    widget.source.value = viewer.layers["nuclei"]  # floats outside [0, 1]
    widget.run(block=True)
    assert any("probability map" in e for e in notifications.errors())
    assert "nuclei objects" not in viewer.layers and widget.objects is None
    assert widget.status.value.startswith("Nothing changed:")  # the widget says why too
    # an empty mask, off the GUI thread: the status line says why nothing was found
    widget.source.value = viewer.add_labels(np.zeros((8, 8), np.uint8), name="empty")
    widget.run()
    wait(widget)
    assert "no foreground pixels" in widget.status.value
    assert "empty objects" not in viewer.layers


def test_starts_on_a_mask_layer(make_napari_viewer):
    viewer = make_napari_viewer()
    mask, intensity = nuclei()
    viewer.add_image(intensity, name="nuclei")
    viewer.add_labels(mask, name="mask")
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Objects")
    assert widget.source.value is viewer.layers["mask"]


def test_only_masks_probabilities_and_one_channel_images_are_offered(make_napari_viewer):
    """Points, shapes and RGB images are neither masks nor intensities: not in the lists."""
    viewer = make_napari_viewer()
    mask, intensity = nuclei()
    labels = viewer.add_labels(mask, name="mask")
    gray = viewer.add_image(intensity, name="nuclei")
    viewer.add_points(np.array([[10, 10], [40, 60]]), name="points")
    viewer.add_shapes([np.array([[0, 0], [20, 30]])], shape_type="rectangle", name="shapes")
    viewer.add_image(np.zeros((*mask.shape, 3), np.uint8), name="colour", rgb=True)
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Objects")
    widget.run(block=True)
    objects = viewer.layers["mask objects"]
    assert widget.source.choices == (labels, gray)  # not its own output either
    assert widget.intensity.choices == (None, gray)
    assert objects not in widget.source.choices


def test_many_objects_fill_a_bounded_table_and_rows_still_find_them(make_napari_viewer):
    """65,536 one-pixel objects: the table (filled on the GUI thread) lists the first
    TABLE_ROWS, says where all of them are, and a row still centres on its object."""
    viewer = make_napari_viewer()
    mask = np.zeros((1024, 1024), np.uint8)
    mask[::4, ::4] = 1
    viewer.add_labels(mask, name="dots", scale=(0.5, 0.5))
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Objects")
    widget.source.value = viewer.layers["dots"]
    widget.run(block=True)
    layer, table = widget.output, widget.measurements
    assert len(table) == len(layer.features) == 65_536
    assert widget.table.shape[0] == TABLE_ROWS < len(table)
    assert "first 1,000 of the 65,536 objects" in widget.status.value
    assert "Export CSV" in widget.status.value and "features" in widget.status.value
    row = TABLE_ROWS - 1
    widget.table.native.selectRow(row)
    assert layer.selected_label == table["label"][row]
    centre = (table["centroid-0"][row], table["centroid-1"][row])
    np.testing.assert_allclose(viewer.scene.camera.center[-2:], centre)


def test_result_of_a_closed_layer_is_dropped(objects_widget, wait):
    viewer, widget = objects_widget
    widget.run()  # off the GUI thread: its result arrives after the layer is gone
    viewer.layers.remove("mask")
    wait(widget)
    assert "mask objects" not in viewer.layers and widget.objects is None
    assert "'mask' was closed" in widget.status.value


def test_cancel_stops_the_run_and_changes_nothing(make_napari_viewer, wait):
    viewer = make_napari_viewer()
    mask = np.zeros((1024, 1024), np.uint8)
    mask[::4, ::4] = 1  # labelling takes a while: the cancel lands before it is done
    viewer.add_labels(mask, name="dots")
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Objects")
    widget.run()
    assert widget.cancel_button.enabled and not widget.run_button.enabled
    widget.cancel_button.native.click()
    wait(widget)
    assert "dots objects" not in viewer.layers and widget.measurements is None
    assert widget.status.value == "Cancelled: nothing changed."
    assert widget.run_button.enabled and not widget.cancel_button.enabled
