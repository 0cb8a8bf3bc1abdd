"""The Objects widget, opened through napari's plugin machinery in a real headless viewer."""

from __future__ import annotations

import json

import dask.array as da
import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
from skimage.measure import regionprops_table

from napari_seglab import label_objects, measure_objects
from napari_seglab._widgets import objects as objects_module
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


def dsb_instance_labels(shared_data) -> tuple[np.ndarray, np.ndarray]:
    """A DSB 2018 fluorescence image and its expert instance labels, edited as a user might:
    every third nucleus removed (gaps in the numbers) and one renumbered 65535."""
    folder = shared_data / "dsb2018_fluo_nuclei"
    pair = json.loads((folder / "pairs.json").read_text())["pairs"][1]
    labels = tifffile.imread(folder / pair["instance_labels"])
    ids = np.unique(labels)[1:]
    edited = np.where(np.isin(labels, ids[::3]), 0, labels)
    edited[labels == ids[1]] = 65535
    return iio.imread(folder / pair["image"]), edited


def test_an_instance_labels_layer_is_measured_as_labelled(make_napari_viewer, shared_data, wait):
    """Expert instance labels: "as labelled" is chosen for them, the objects keep the layer's
    numbers (touching nuclei stay apart), the table equals regionprops_table, the user's
    layer is not touched, and a row selects the object of its label, not of its index."""
    viewer = make_napari_viewer()
    image, labels = dsb_instance_labels(shared_data)
    before = labels.copy()
    viewer.add_image(image, name="dsb", scale=(0.5, 0.25), translate=(10, 20))
    nuclei = viewer.add_labels(labels, name="nuclei", scale=(0.5, 0.25), translate=(10, 20))
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Objects")
    assert widget.source.value is nuclei and widget.method.value == "labels"
    assert widget.per_plane.native.isHidden() and widget.connectivity.native.isHidden()
    widget.intensity.value = viewer.layers["dsb"]
    widget.run()
    wait(widget)
    layer, table = viewer.layers["nuclei objects"], widget.measurements
    np.testing.assert_array_equal(layer.data, labels)
    assert not np.shares_memory(layer.data, nuclei.data)
    np.testing.assert_array_equal(nuclei.data, before)
    ids = np.unique(labels)[1:]
    assert widget.status.value == f"{ids.size} objects (as labelled)"
    assert widget.table.shape[0] == len(table) == ids.size
    properties = ("label", "area", "centroid", "bbox", "intensity_mean", "eccentricity")
    expected = regionprops_table(labels, image, properties=properties, spacing=(0.5, 0.25))
    for name, values in expected.items():
        np.testing.assert_allclose(table[name], values, err_msg=name)
    np.testing.assert_array_equal(layer.features["index"], ids)
    for label in (65535, ids[ids.size // 2]):  # the last row, and one after the gaps
        row = int(np.flatnonzero(ids == label)[0])
        assert label != row + 1
        widget.table.native.selectRow(row)  # what a click on the row does
        assert layer.selected_label == label
        at = np.flatnonzero(expected["label"] == label)[0]
        centre = (expected["centroid-0"][at] + 10, expected["centroid-1"][at] + 20)
        np.testing.assert_allclose(viewer.scene.camera.center[-2:], centre)


def test_as_labelled_is_chosen_the_first_time_an_instance_layer_is(
    make_napari_viewer, monkeypatch
):
    """Preselected once per layer: the user's choice stands when the layer is chosen again,
    and a mask first chosen leaves "as labelled" (which would make it one object)."""
    viewer = make_napari_viewer()
    mask, _ = nuclei()
    cells = label_objects(mask).labels
    masks = viewer.add_labels(mask, name="mask")
    instances = viewer.add_labels(cells, name="cells")
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Objects")
    assert widget.source.value is instances and widget.method.value == "labels"
    widget.method.value = "watershed"  # the user's choice
    widget.source.value = masks
    assert widget.method.value == "watershed"
    widget.method.value = "labels"
    widget.source.value = instances  # chosen before: the user's choice stays
    widget.source.value = masks
    assert widget.method.value == "labels"
    widget.run(block=True)  # a mask as labelled: refused with what to choose instead
    assert "choose connected components or split touching" in widget.status.value
    widget.source.value = viewer.add_labels(mask * 2, name="another mask")
    assert widget.method.value == "components" and not widget.per_plane.native.isHidden()
    widget.source.value = viewer.add_labels(cells[:, ::-1], name="more cells")
    assert widget.method.value == "labels"
    widget.run(block=True)
    assert widget.status.value.startswith("3 objects (as labelled);")  # ; not measured: ...
    np.testing.assert_array_equal(widget.output.data, cells[:, ::-1])
    monkeypatch.setattr(objects_module, "GUESS_PIXELS", 100)  # then too large to look at:
    widget.source.value = viewer.add_labels(da.from_array(mask, chunks=30), name="lazy mask")
    assert widget.method.value == "labels"  # unknown, so the method stays
    widget.source.value = viewer.add_labels(mask[::4, ::4], name="small mask")  # 345 pixels
    assert widget.method.value == "components"  # looked at on a strided sample


def test_as_labelled_min_size_keeps_the_numbers_of_the_rest(make_napari_viewer):
    viewer = make_napari_viewer()
    cells = np.zeros((30, 40), np.uint16)
    cells[2:12, 2:12], cells[15:17, 15:17], cells[20:28, 30:38] = 40, 7, 900
    viewer.add_labels(cells, name="cells")
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Objects")
    widget.min_size.value = 10
    widget.run(block=True)
    assert widget.measurements["label"].tolist() == [40, 900]
    np.testing.assert_array_equal(widget.output.data, np.where(cells == 7, 0, cells))
    assert widget.status.value.startswith("2 objects (as labelled, at least 10 pixels)")
    widget.table.native.selectRow(1)
    assert widget.output.selected_label == 900
