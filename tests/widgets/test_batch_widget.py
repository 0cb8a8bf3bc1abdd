"""Apply to whole volume: chunk by chunk into zarr, lazily shown, cancellable, never loads all."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

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

    # Re-running updates the same layer.
    n_layers = len(viewer.layers)
    widget.set_options(operation="threshold", foreground="bright")
    finish(widget, qtbot)
    assert len(viewer.layers) == n_layers
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
    assert "cancelled" in widget._status.value
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
    foreign.mkdir()
    widget.set_options(output=foreign)
    assert widget.run() is None
    assert len(errors) == 3
    assert "image layer" in errors[0] and ".zarr" in errors[1] and "not written by" in errors[2]


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
