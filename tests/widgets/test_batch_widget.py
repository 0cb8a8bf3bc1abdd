"""Apply to whole volume: chunk by chunk into zarr, lazily shown, cancellable, never loads all."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import zarr
from napari.utils.colormaps.standardize_color import transform_color

import napari_seglab as sl
from napari_seglab._widgets.batch import BatchWidget
from napari_seglab.core.io import open_image


def recording(array: np.ndarray, chunks) -> tuple[da.Array, list]:
    """A dask array that remembers the shape of every block read from it."""
    seen: list[tuple[int, ...]] = []

    def read(block):
        seen.append(block.shape)
        return block

    return da.from_array(array, chunks=chunks).map_blocks(read, dtype=array.dtype), seen


@pytest.fixture
def widget(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Apply to whole volume")
    assert isinstance(widget, BatchWidget)
    return viewer, widget


def finish(widget, qtbot):
    worker = widget.run()
    assert worker is not None
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        pass


def test_threshold_whole_volume_lazily(widget, qtbot, tmp_path):
    viewer, widget = widget
    image, _ = sl.load_kesm()
    volume = np.stack([image, image[::-1], image[:, ::-1]])
    data, seen = recording(volume, (1, 128, 128))
    layer = viewer.add_image(data, name="kesm stack", scale=(2.0, 0.5, 0.5))
    widget.reset_choices()
    out = tmp_path / "vessels.zarr"
    widget.set_options(
        image=layer, operation="threshold", method="otsu", foreground="dark", median=3,
        output=out,
    )  # fmt: skip
    finish(widget, qtbot)

    result = viewer.layers["kesm stack volume"]
    assert isinstance(result.data, da.Array)  # opened lazily from the store
    expected = sl.threshold(volume, "otsu", foreground="dark", median_size=3).mask
    np.testing.assert_array_equal(np.asarray(result.data), expected)
    assert tuple(result.scale) == (2.0, 0.5, 0.5)
    assert max(np.prod(s) for s in seen) <= 128 * 128  # chunk by chunk, never the whole
    assert not (tmp_path / "vessels.zarr.partial").exists()

    # Re-running updates the same layer (after saying yes to replacing the output).
    asked = []
    widget.confirm_overwrite = lambda path: asked.append(path) or True
    n_layers = len(viewer.layers)
    widget.set_options(operation="threshold", foreground="bright")
    finish(widget, qtbot)
    assert len(viewer.layers) == n_layers and asked == [out]
    np.testing.assert_array_equal(
        np.asarray(viewer.layers["kesm stack volume"].data), 1 - expected
    )


def test_clean_up_labels_layer(widget, qtbot, tmp_path):
    viewer, widget = widget
    image, _ = sl.load_kesm()
    mask = sl.threshold(image, "otsu", foreground="dark").mask
    layer = viewer.add_labels(da.from_array(mask, chunks=100), name="mask")
    widget.reset_choices()
    widget.set_options(
        image=layer, operation="clean up", remove_smaller_than=30, fill_holes_smaller_than=30,
        output=tmp_path / "clean.zarr",
    )  # fmt: skip
    finish(widget, qtbot)
    expected = sl.clean_up(mask, remove_smaller_than=30, fill_holes_smaller_than=30)
    np.testing.assert_array_equal(open_image(tmp_path / "clean.zarr").compute(), expected)
    # The layer's small chunks were worked on in groups (here: one), as seglab does.
    assert zarr.open_array(tmp_path / "clean.zarr", mode="r").chunks == mask.shape


def test_cancel_leaves_nothing(widget, qtbot, tmp_path):
    viewer, widget = widget
    volume = np.random.default_rng(0).integers(0, 255, (40, 256, 256), dtype=np.uint8)
    layer = viewer.add_image(da.from_array(volume, chunks=(1, 64, 64)), name="noise")
    widget.reset_choices()
    out = tmp_path / "noise.zarr"
    widget.set_options(image=layer, operation="threshold", median=5, output=out)
    worker = widget.run()
    widget.cancel()
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        pass
    assert "cancelled" in widget.status
    assert not out.exists() and not (tmp_path / "noise.zarr.partial").exists()
    assert "noise volume" not in viewer.layers


def test_refused_input_is_reported(widget, tmp_path, monkeypatch):
    viewer, widget = widget
    errors = []
    monkeypatch.setattr("napari.utils.notifications.show_error", errors.append)
    assert widget.run() is None  # no layer
    layer = viewer.add_image(np.zeros((8, 8), np.uint8), name="tiny")
    widget.reset_choices()
    widget.set_options(image=layer, output=tmp_path / "out.tif")
    assert widget.run() is None
    foreign = tmp_path / "someone_elses.zarr"
    zarr.open_array(foreign, mode="w", shape=(8, 8), dtype="u1")
    widget.set_options(output=foreign)
    assert widget.run() is None
    assert len(errors) == 3
    assert "image layer" in errors[0] and ".zarr" in errors[1] and "not written by" in errors[2]
    assert widget.status.startswith("not started")


def test_classifier_file_on_whole_volume(widget, qtbot, tmp_path):
    from napari_seglab.core.classifier import FeatureSettings, PixelClassifier

    viewer, widget = widget
    image, truth = sl.load_kesm()
    strokes = np.zeros_like(truth)
    strokes[::11, ::11] = truth[::11, ::11] + 1
    classifier = PixelClassifier(FeatureSettings(sigmas=(1, 2)), n_estimators=5)
    path = classifier.fit(image, strokes).save(tmp_path / "model.npz")
    layer = viewer.add_image(da.from_array(image, chunks=128), name="kesm")
    widget.reset_choices()
    widget.set_options(
        image=layer, operation="pixel classifier", classifier=path, output=tmp_path / "c.zarr"
    )
    finish(widget, qtbot)
    shown = viewer.layers["kesm volume"]
    np.testing.assert_array_equal(np.asarray(shown.data), classifier.predict(image))
    assert zarr.open_array(tmp_path / "c.zarr", mode="r").chunks == (128, 128)  # not grouped


def kesm_classifier(tmp_path):
    from napari_seglab.core.classifier import FeatureSettings, PixelClassifier

    image, truth = sl.load_kesm()
    strokes = np.zeros_like(truth)
    strokes[::11, ::11] = truth[::11, ::11] + 1
    classifier = PixelClassifier(FeatureSettings(sigmas=(1, 2)), n_estimators=5)
    return classifier.fit(image, strokes), classifier.save(tmp_path / "model.npz")


def test_output_over_the_input_store_is_refused(widget, tmp_path, monkeypatch):
    # issue 9, item 3: the output set to the store the layer reads replaced the image.
    viewer, widget = widget
    errors = []
    monkeypatch.setattr("napari.utils.notifications.show_error", errors.append)
    widget.confirm_overwrite = lambda path: True  # the user would say yes: refused anyway
    image, _ = sl.load_kesm()
    store = tmp_path / "kesm.zarr"
    sl.save(image, store, attrs={"seglab": {"step": "threshold"}})  # any store SegLab wrote
    opened = viewer.open(str(store), plugin="napari")[0]  # File > Open: source.path is set
    lazily = viewer.add_image(open_image(store), name="from python")  # only in the dask graph
    for layer in (opened, lazily):
        widget.reset_choices()
        for out in (store, store / "inner.zarr"):
            widget.set_options(image=layer, operation="threshold", output=out)
            assert widget.run() is None
    assert len(errors) == 4 and all("would destroy the image being read" in e for e in errors)
    assert widget.status.startswith("not started")
    np.testing.assert_array_equal(open_image(store).compute(), image)


def test_existing_output_is_replaced_only_after_asking(widget, qtbot, tmp_path, monkeypatch):
    from qtpy.QtWidgets import QMessageBox

    viewer, widget = widget
    image, _ = sl.load_kesm()
    layer = viewer.add_image(da.from_array(image, chunks=256), name="kesm")
    widget.reset_choices()
    out = tmp_path / "mask.zarr"
    widget.set_options(image=layer, operation="threshold", foreground="dark", output=out)
    finish(widget, qtbot)
    first = open_image(out).compute()
    questions = []

    def answer(parent, title, text, *args):
        questions.append(text)
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", answer)  # the real dialog, answered "No"
    widget.set_options(foreground="bright")
    assert widget.run() is None
    assert len(questions) == 1 and str(out) in questions[0]
    assert "kept" in widget.status
    np.testing.assert_array_equal(open_image(out).compute(), first)
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Yes)
    finish(widget, qtbot)
    np.testing.assert_array_equal(open_image(out).compute(), 1 - first)


def test_classes_after_a_mask_get_class_colours(widget, qtbot, tmp_path):
    # issue 9, item 9: class ids written into the layer of an earlier mask kept its colours
    # (class 1, the background, orange; class 2, the vessels, invisible).
    from napari_seglab._widgets.classifier.controls import color_for

    viewer, widget = widget
    widget.confirm_overwrite = lambda path: True
    classifier, path = kesm_classifier(tmp_path)
    image, _ = sl.load_kesm()
    layer = viewer.add_image(da.from_array(image, chunks=256), name="kesm")
    widget.reset_choices()
    out = tmp_path / "out.zarr"
    widget.set_options(image=layer, operation="threshold", foreground="dark", output=out)
    finish(widget, qtbot)
    shown = viewer.layers["kesm volume"]
    widget.set_options(operation="pixel classifier", classifier=path)
    finish(widget, qtbot)
    assert viewer.layers["kesm volume"] is shown  # the same layer, updated
    colormap = shown.colormap
    for class_id in (1, 2):
        np.testing.assert_allclose(
            colormap.map(class_id), transform_color(color_for(class_id))[0], atol=1e-6
        )
    assert shown.colormap.map(0)[3] == 0
    # The mask of one class: back to the mask colour, 0/1 values.
    widget.set_options(foreground_class=2)
    finish(widget, qtbot)
    np.testing.assert_array_equal(np.asarray(shown.data), classifier.predict(image) == 2)
    np.testing.assert_allclose(shown.colormap.map(1), transform_color("#E69F00")[0], atol=1e-6)
    assert shown.colormap.map(2)[3] == 0
    assert open_image(out).compute().max() == 1


def test_refusals_and_failures_never_leave_working(widget, qtbot, tmp_path, monkeypatch):
    viewer, widget = widget
    errors = []
    monkeypatch.setattr("napari.utils.notifications.show_error", errors.append)
    monkeypatch.setattr("napari_seglab._widgets._shared.show_error", errors.append)
    _, path = kesm_classifier(tmp_path)
    layer = viewer.add_image(da.zeros((64, 64), chunks=32, dtype=np.uint8), name="flat")
    widget.reset_choices()
    widget.set_options(
        image=layer, operation="pixel classifier", classifier=path, foreground_class=3,
        output=tmp_path / "o.zarr",
    )  # fmt: skip
    assert widget.run() is None
    assert "no class 3" in errors[-1] and widget.status.startswith("not started")
    (tmp_path / "fake.npz").write_bytes(b"not a classifier")
    widget.set_options(classifier=tmp_path / "fake.npz", foreground_class=0)
    assert widget.run() is None and "fake.npz" in errors[-1]
    widget.set_options(operation="threshold")  # a constant image: refused inside the worker
    finish(widget, qtbot)
    assert widget.status.startswith("failed") and "constant" in errors[-1]
    assert not (tmp_path / "o.zarr").exists()


def test_clean_up_refuses_a_grayscale_image_layer(widget, qtbot, tmp_path, monkeypatch):
    # issue 9, item 10 (in the panel): grey levels were taken as labels without a word.
    viewer, widget = widget
    errors = []
    monkeypatch.setattr("napari.utils.notifications.show_error", errors.append)
    image, truth = sl.load_kesm()
    grey = viewer.add_image(da.from_array(image, chunks=128), name="grey")
    mask = viewer.add_image(da.from_array(truth * 255, chunks=128), name="mask as image")
    widget.reset_choices()
    widget.set_options(image=grey, operation="clean up", output=tmp_path / "c.zarr")
    assert widget.run() is None and "not a mask: threshold it first" in errors[-1]
    widget.set_options(image=mask)
    finish(widget, qtbot)  # 0/255 in an image layer is a mask
    assert (tmp_path / "c.zarr").exists()


def test_image_removed_during_the_run(widget, qtbot, tmp_path):
    viewer, widget = widget
    image, _ = sl.load_kesm()
    layer = viewer.add_image(da.from_array(image, chunks=128), name="kesm")
    widget.reset_choices()
    widget.set_options(image=layer, operation="threshold", median=3, output=tmp_path / "m.zarr")
    worker = widget.run()
    viewer.layers.remove(layer)
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        pass
    assert "kesm volume" not in viewer.layers and "was removed" in widget.status
    assert (tmp_path / "m.zarr").exists()


def test_writes_an_ome_zarr_pyramid_with_the_layer_scale(widget, qtbot, tmp_path):
    viewer, widget = widget
    image, _ = sl.load_kesm()
    volume = np.stack([image, image[::-1]])
    layer = viewer.add_image(
        da.from_array(volume, chunks=(1, 256, 256)), name="kesm", scale=(3.0, 0.5, 0.5),
        units=("micrometer",) * 3,
    )  # fmt: skip
    widget.reset_choices()
    out = tmp_path / "vessels.ome.zarr"
    widget.set_options(image=layer, operation="threshold", method="otsu", output=out)
    finish(widget, qtbot)

    expected = sl.threshold(volume, "otsu").mask
    written = open_image(out)
    np.testing.assert_array_equal(written.compute(), expected)
    assert written.metadata.scale == (3.0, 0.5, 0.5)
    assert written.metadata.units == ("micrometer",) * 3
    assert written.metadata.levels == ((2, 512, 512), (2, 256, 256)) and written.metadata.labels
    np.testing.assert_array_equal(open_image(out, level=1).compute(), expected[:, ::2, ::2])
    assert widget.status == f"wrote {out}"
