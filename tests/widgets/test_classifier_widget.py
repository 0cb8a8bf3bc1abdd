"""The pixel classifier widget in a headless viewer: strokes in, layers out."""

from __future__ import annotations

import time

import imageio.v3 as iio
import numpy as np
import pytest
from classifier_helpers import WAIT_MS, paint, stroke_disks, wait_idle
from qtpy.QtCore import QTimer

import napari_seglab
from napari_seglab._widgets.classifier import ClassifierWidget, Scope
from napari_seglab.core import evaluate


def test_add_training_layer_matches_image_and_does_not_pile_up(kesm):
    viewer, widget, image, _ = kesm
    training = widget.add_training_layer()
    assert training.data.shape == image.data.shape and training.data.dtype == np.uint8
    assert not training.data.any()
    np.testing.assert_allclose(training.scale, image.scale)
    np.testing.assert_allclose(training.translate, image.translate)
    assert viewer.layers.selection.active is training
    assert training.mode == "paint" and training.selected_label == 1
    assert training.metadata["seglab_training_for"] == ["KESM"]
    assert widget.add_training_layer() is training
    assert len(viewer.layers) == 2


def test_add_training_layer_refuses_a_pyramid_and_adds_no_layer(kesm, errors):
    viewer, widget, image, _ = kesm
    big = image.data
    levels = [big, big[::2, ::2], big[::4, ::4]]
    pyramid = viewer.add_image(levels, multiscale=True, name="pyramid")
    widget.reset_choices()
    widget.controls.image.value = pyramid
    before = list(viewer.layers)
    assert widget.add_training_layer() is None
    assert list(viewer.layers) == before  # no Labels layer that training would refuse
    message = errors()[-1]
    assert message.startswith("'pyramid' is a multiscale (pyramid) image")
    assert "Apply to whole volume" in message and widget.status == message
    assert widget.controls.training.value is None

    # a pyramid among the channels is refused the same way
    widget.controls.image.value = image
    widget.controls.channels.value = [pyramid]
    assert widget.add_training_layer() is None
    assert list(viewer.layers) == before
    assert errors()[-1].startswith("'pyramid' is a multiscale (pyramid) image")

    # its full-resolution level as a layer of its own gets its training layer
    level = viewer.add_image(pyramid.data[0], name="pyramid level 0", scale=pyramid.scale)
    widget.reset_choices()
    widget.controls.image.value = level
    widget.controls.channels.value = []
    training = widget.add_training_layer()
    assert training is not None and training.data.shape == big.shape


def test_train_segments_kesm_better_than_otsu(qtbot, kesm):
    viewer, widget, image, truth = kesm
    training = widget.add_training_layer()
    paint(training, stroke_disks(truth))
    worker = widget.train()
    assert worker is not None
    wait_idle(qtbot, widget)
    seg = viewer.layers["KESM segmentation"]
    assert set(np.unique(seg.data)) == {1, 2}
    np.testing.assert_allclose(seg.scale, image.scale)
    for label in (1, 2):
        np.testing.assert_allclose(
            seg.colormap.map(np.array([label])), training.colormap.map(np.array([label]))
        )
    foreground = viewer.layers["KESM foreground"].data
    assert foreground.dtype == np.uint8
    np.testing.assert_array_equal(foreground, seg.data == 2)
    probability = viewer.layers["KESM probability"].data.copy()
    uncertainty = viewer.layers["KESM uncertainty"].data
    assert probability.min() >= 0 and probability.max() <= 1
    np.testing.assert_array_equal(probability > 0.5, seg.data == 2)
    assert uncertainty.min() >= 0 and uncertainty.max() <= 0.5
    f1 = evaluate(foreground, truth).scores.f1
    assert f1 > 0.80, f1  # median 3 + Otsu: 0.849; 0.14% of the pixels are painted
    assert widget.controls.importance.shape[0] > 0

    # the probability of the other class, from the same classifier: the complement
    widget.controls.probability_of.value = 1
    widget.predict("plane")
    wait_idle(qtbot, widget)
    assert viewer.layers["KESM probability"].metadata["seglab_probability_of"] == "background"
    np.testing.assert_allclose(viewer.layers["KESM probability"].data, 1 - probability, atol=1e-6)

    # training again updates the same layers instead of adding new ones
    n_layers = len(viewer.layers)
    widget.train()
    assert widget.status == "Working..."  # the compiled code is loaded by now
    wait_idle(qtbot, widget)
    assert len(viewer.layers) == n_layers
    assert training.data.any()  # the user's strokes are untouched


def test_live_update_follows_strokes_and_undo(qtbot, kesm):
    viewer, widget, _, truth = kesm
    training = widget.add_training_layer()
    widget.controls.live.value = True
    strokes = stroke_disks(truth)
    paint(training, strokes)
    qtbot.waitUntil(lambda: "KESM segmentation" in viewer.layers, timeout=WAIT_MS)
    wait_idle(qtbot, widget)
    first = viewer.layers["KESM segmentation"].data.copy()
    assert set(np.unique(first)) == {1, 2}

    # a wrong stroke through the brush (which records undo history): label a big
    # foreground-looking area as background; the segmentation changes after the debounce
    region = np.zeros_like(truth, bool)
    region[truth > 0] = True
    coords = np.argwhere(region)[:: max(1, region.sum() // 40)]
    training.selected_label = 1
    training.brush_size = 9
    training._begin_stroke()  # one undo step for the whole stroke, as a mouse drag makes
    for r, c in coords:
        training.paint((r, c), 1, refresh=False)
    training._commit_stroke()
    training.refresh()
    qtbot.waitUntil(
        lambda: not np.array_equal(viewer.layers["KESM segmentation"].data, first),
        timeout=WAIT_MS,
    )
    wait_idle(qtbot, widget)

    # undo brings the strokes back, and the live update brings the first result back
    training.undo()
    qtbot.waitUntil(
        lambda: np.array_equal(viewer.layers["KESM segmentation"].data, first), timeout=WAIT_MS
    )
    assert viewer.layers.selection.active is training  # the brush stays on the strokes


def test_live_preview_of_a_large_plane_comes_first_then_full_resolution(qtbot, kesm, monkeypatch):
    viewer, widget, image, truth = kesm
    # The KESM tile stands in for a large plane: preview grids of at most 64 x 64 pixels.
    monkeypatch.setattr("napari_seglab._widgets.classifier.jobs.PREVIEW_PIXELS", 64 * 64)
    shown = []  # (status, segmentation) after each result the widget shows

    def record(result) -> None:
        assert widget.status == result.message
        shown.append((widget.status, viewer.layers["KESM segmentation"].data.copy()))

    widget.shown.connect(record)
    training = widget.add_training_layer()
    widget.controls.live.value = True
    paint(training, stroke_disks(truth))
    qtbot.waitUntil(lambda: any("preview" not in m for m, _ in shown), timeout=WAIT_MS)
    wait_idle(qtbot, widget)
    eighth = "a preview of the part on screen (1/8 resolution)"
    previews = [labels for message, labels in shown if eighth in message]
    assert previews, [message for message, _ in shown]
    final = viewer.layers["KESM segmentation"].data
    expected = widget.classifier.predict(image.data)
    np.testing.assert_array_equal(final, expected)
    # The preview is the full result on every 8th pixel, repeated over 8 x 8 blocks.
    np.testing.assert_array_equal(previews[-1][::8, ::8], expected[::8, ::8])
    assert np.array_equal(previews[-1][:8, :8], np.full((8, 8), expected[0, 0]))
    # Another stroke reuses the kept features of the plane: same key, new classifier.
    kept = widget.session.preview
    assert kept is not None
    paint(training, stroke_disks(truth, per_class=3, seed=5))
    qtbot.waitUntil(lambda: len([m for m, _ in shown if eighth in m]) >= 2, timeout=WAIT_MS)
    wait_idle(qtbot, widget)
    assert widget.session.preview is kept
    widget.controls.live.value = False
    assert widget.session.preview is None


def test_stack_strokes_on_two_planes_plane_in_view_and_whole_stack(
    qtbot, make_napari_viewer, new_widget
):
    image, truth = napari_seglab.load_kesm()
    stack = np.stack([image[:128, :128], image[128:256, :128], image[256:384, :128]])
    truth3 = np.stack([truth[:128, :128], truth[128:256, :128], truth[256:384, :128]])
    viewer = make_napari_viewer()
    layer = viewer.add_image(stack, name="stack", scale=(4, 1, 1))
    widget = new_widget(viewer)
    widget.controls.image.value = layer
    training = widget.add_training_layer()
    assert training.data.shape == stack.shape
    paint(training, stroke_disks(truth3[0], per_class=3, radius=2), (0,))
    paint(training, stroke_disks(truth3[2], per_class=3, radius=2, seed=1), (2,))
    viewer.dims.set_point(0, 8.0)  # world z = 8 -> plane 2 with scale 4
    widget.train()
    wait_idle(qtbot, widget)
    seg = viewer.layers["stack segmentation"].data
    assert seg.shape == stack.shape
    assert seg[2].all() and not seg[0].any() and not seg[1].any()  # only the plane in view

    # with live update on, moving to another plane segments it with the same classifier
    classifier = widget.classifier
    widget.controls.live.value = True
    viewer.dims.set_point(0, 4.0)  # plane 1
    qtbot.waitUntil(lambda: viewer.layers["stack segmentation"].data[1].all(), timeout=WAIT_MS)
    wait_idle(qtbot, widget)
    assert widget.classifier is classifier  # not retrained: the strokes did not change
    widget.controls.live.value = False

    assert widget.predict("all") is not None
    wait_idle(qtbot, widget)
    seg = viewer.layers["stack segmentation"].data
    assert all(set(np.unique(seg[z])) == {1, 2} for z in range(3))
    assert evaluate(seg == 2, truth3).scores.f1 > 0.7


def test_rgb_and_several_channel_layers(qtbot, make_napari_viewer, new_widget, shared_data):
    folder = shared_data / "dsb2018_he_histology_nuclei"
    rgb = iio.imread(next(iter(sorted((folder / "images").glob("*.png")))))
    truth = iio.imread(next(iter(sorted((folder / "masks").glob("*.png")))))
    viewer = make_napari_viewer()
    he = viewer.add_image(rgb, name="H&E", rgb=True)
    widget = new_widget(viewer)
    widget.controls.image.value = he
    training = widget.add_training_layer()
    assert training.data.shape == truth.shape
    strokes = stroke_disks(truth, per_class=5)
    paint(training, strokes)
    widget.train()
    wait_idle(qtbot, widget)
    f1_rgb = evaluate(viewer.layers["H&E foreground"].data, truth).scores.f1
    assert f1_rgb > 0.8

    # the same colours as three single-channel layers used as channels
    red, green, blue = (
        viewer.add_image(rgb[..., i], name=n) for i, n in enumerate(("red", "green", "blue"))
    )
    widget.reset_choices()
    widget.controls.image.value = red
    widget.controls.channels.value = [green, blue]
    widget.controls.all_training.value = False
    channel_training = widget.add_training_layer()
    assert channel_training.metadata["seglab_training_for"] == ["red", "green", "blue"]
    paint(channel_training, strokes)
    widget.train()
    wait_idle(qtbot, widget)
    assert widget.classifier.n_channels == 3
    np.testing.assert_array_equal(
        viewer.layers["red segmentation"].data, viewer.layers["H&E segmentation"].data
    )


def test_the_luminance_box_sets_the_features_and_follows_a_loaded_classifier(
    qtbot, make_napari_viewer, new_widget, tmp_path
):
    image, truth = napari_seglab.load_kesm()
    image, truth = image[:128, :128], truth[:128, :128]
    rgb = np.stack([image, 255 - image, image // 2], axis=-1).astype(np.uint8)
    viewer = make_napari_viewer()
    layer = viewer.add_image(rgb, name="colour", rgb=True)
    widget = new_widget(viewer)
    c = widget.controls
    assert c.luminance.value is True and "luminance" in c.luminance.tooltip  # the default
    c.image.value = layer
    c.scales.value = "1, 2"
    paint(widget.add_training_layer(), stroke_disks(truth, per_class=6))
    widget.train()
    wait_idle(qtbot, widget)
    names = widget.classifier.feature_names_
    assert widget.classifier.features.luminance and names[-1].startswith("grey_")
    assert any(row[0].startswith("grey_") for row in c.importance.data.to_list())
    c.luminance.value = False
    widget.train()
    wait_idle(qtbot, widget)
    assert not widget.classifier.features.luminance
    assert len(widget.classifier.feature_names_) == len(names) * 3 // 4
    assert widget.save(tmp_path / "no_grey.npz")
    fresh = new_widget(viewer)
    assert fresh.controls.luminance.value is True
    assert fresh.load(tmp_path / "no_grey.npz")
    assert fresh.controls.luminance.value is False


def test_strokes_from_several_images_train_one_classifier(qtbot, make_napari_viewer, new_widget):
    image, truth = napari_seglab.load_kesm()
    viewer = make_napari_viewer()
    widget = new_widget(viewer)
    top = viewer.add_image(image[:256], name="top")
    bottom = viewer.add_image(image[256:], name="bottom")
    widget.reset_choices()
    widget.controls.image.value = top
    top_training = widget.add_training_layer()
    paint(top_training, np.where(stroke_disks(truth[:256]) == 1, 1, 0).astype(np.uint8))
    widget.controls.image.value = bottom
    bottom_training = widget.add_training_layer()
    paint(bottom_training, np.where(stroke_disks(truth[256:]) == 2, 2, 0).astype(np.uint8))
    # each image alone has one class only; together they have both
    widget.controls.all_training.value = False
    assert widget.train() is None
    widget.controls.all_training.value = True
    widget.train()
    wait_idle(qtbot, widget)
    assert set(np.unique(viewer.layers["bottom segmentation"].data)) == {1, 2}
    assert "Trained on" in widget.status


def test_save_load_round_trip_and_apply_to_another_image(
    qtbot, kesm, new_widget, tmp_path, errors
):
    viewer, widget, image, truth = kesm
    training = widget.add_training_layer()
    paint(training, stroke_disks(truth))
    widget.controls.trees.value = 20
    widget.controls.classes.value = "tissue, vessel"
    widget.train()
    wait_idle(qtbot, widget)
    expected = viewer.layers["KESM segmentation"].data.copy()
    path = tmp_path / "vessels.npz"
    assert widget.save(path)

    other_viewer_layer = viewer.add_image(image.data.copy(), name="copy")
    fresh = new_widget(viewer)
    assert fresh.load(path)
    assert fresh.class_names == ["tissue", "vessel"]
    assert fresh.controls.foreground.value == 2  # no class is called "foreground": the last one
    assert fresh.controls.trees.value == 20
    fresh.predict(Scope.OTHER, image=other_viewer_layer)
    wait_idle(qtbot, fresh)
    np.testing.assert_array_equal(viewer.layers["copy segmentation"].data, expected)
    assert errors() == []


def test_bad_input_shows_an_error_and_changes_nothing(qtbot, kesm, tmp_path, errors):
    viewer, widget, image, truth = kesm
    names = [layer.name for layer in viewer.layers]

    assert widget.train() is None  # no training layer
    training = widget.add_training_layer()
    names.append(training.name)
    assert widget.train() is None  # no strokes
    assert "No strokes" in errors()[-1]
    paint(training, np.where(stroke_disks(truth) == 2, 2, 0).astype(np.uint8))
    assert widget.train() is None  # one class only
    assert "Only class 2 (foreground)" in errors()[-1]
    assert widget.predict("plane") is None  # nothing trained yet
    assert widget.save(tmp_path / "x.npz") is False
    assert not (tmp_path / "x.npz").exists()

    not_a_classifier = tmp_path / "notes.npz"
    not_a_classifier.write_text("hello")
    assert widget.load(not_a_classifier) is False
    assert widget.classifier is None

    wrong = viewer.add_labels(np.zeros((10, 10), np.uint8), name="wrong shape")
    names.append(wrong.name)
    widget.controls.training.value = wrong
    wrong.data[2:4, 2:4] = 1
    wrong.data[6:8, 6:8] = 2
    assert widget.train() is None
    assert "has shape (10, 10)" in errors()[-1]

    nan_image = image.data.astype(np.float32)
    nan_image[5, 5] = np.nan
    nan_layer = viewer.add_image(nan_image, name="with NaN")
    names.append(nan_layer.name)
    widget.reset_choices()
    widget.controls.image.value = nan_layer
    widget.controls.training.value = training
    training.data[:] = stroke_disks(truth)
    assert widget.train() is not None  # the image is read, and refused, off the GUI thread
    wait_idle(qtbot, widget)
    assert "NaN" in errors()[-1]
    assert widget.classifier is None
    assert [layer.name for layer in viewer.layers] == names


def test_image_edited_after_training_and_wrong_channel_count(qtbot, kesm, errors):
    viewer, widget, image, truth = kesm
    training = widget.add_training_layer()
    paint(training, stroke_disks(truth))
    widget.train()
    wait_idle(qtbot, widget)
    before = viewer.layers["KESM segmentation"].data.copy()

    image.data = 255 - image.data
    widget.predict("all")
    wait_idle(qtbot, widget)
    assert "edited after the classifier was trained" in errors()[-1]
    np.testing.assert_array_equal(viewer.layers["KESM segmentation"].data, before)

    rgb = viewer.add_image(np.stack([image.data] * 3, axis=-1), name="rgb", rgb=True)
    widget.predict("other", image=rgb)
    wait_idle(qtbot, widget)
    assert "channel" in errors()[-1]
    assert "rgb segmentation" not in viewer.layers


def test_cancel_stops_the_run_and_writes_nothing(qtbot, make_napari_viewer, new_widget, errors):
    image, truth = napari_seglab.load_kesm()
    viewer = make_napari_viewer()
    stack = np.stack([image] * 12)
    layer = viewer.add_image(stack, name="stack")
    widget = new_widget(viewer)
    widget.controls.image.value = layer
    training = widget.add_training_layer()
    paint(training, stroke_disks(truth), (0,))
    widget.train()
    wait_idle(qtbot, widget)
    before = viewer.layers["stack segmentation"].data.copy()

    worker = widget.predict("all")
    with qtbot.waitSignal(worker.yielded, timeout=WAIT_MS):
        pass
    widget.cancel()
    wait_idle(qtbot, widget)
    assert "Cancelled" in widget.status
    np.testing.assert_array_equal(viewer.layers["stack segmentation"].data, before)
    assert errors() == []


def test_training_on_a_lazy_stack_reads_only_the_painted_planes(
    qtbot, make_napari_viewer, new_widget
):
    import dask.array as da

    image, truth = napari_seglab.load_kesm()
    planes = np.stack([image[:128, :128], image[128:256, :128], image[256:384, :128]])
    truths = np.stack([truth[:128, :128], truth[128:256, :128], truth[256:384, :128]])
    read: list[int] = []

    def record(block, block_info=None):
        read.append(block_info[None]["chunk-location"][0])
        return block

    lazy = da.from_array(planes, chunks=(1, 128, 128)).map_blocks(record, dtype=planes.dtype)
    viewer = make_napari_viewer()
    layer = viewer.add_image(lazy, name="lazy")
    widget = new_widget(viewer)
    widget.controls.image.value = layer
    training = widget.add_training_layer()
    # The lazy image may be larger than memory: its training layer keeps painted planes only.
    assert not isinstance(training.data, np.ndarray)
    paint(training, stroke_disks(truths[0], per_class=3), (0,))
    paint(training, stroke_disks(truths[2], per_class=3, seed=1), (2,))
    assert sorted(k for k in training.data.store.chunks if k.startswith("c/")) == [
        "c/0/0/0",
        "c/2/0/0",
    ]
    # napari's own brush and undo work on it.
    training.selected_label = 1
    training.paint((2, 5, 5), 1)
    assert training.data[2, 5, 5] == 1
    training.undo()
    assert training.data[2, 5, 5] == stroke_disks(truths[2], per_class=3, seed=1)[5, 5]
    viewer.dims.set_point(0, 2)
    qtbot.wait(50)
    read.clear()
    widget.train()
    wait_idle(qtbot, widget)
    assert "Trained on" in widget.status
    assert 1 not in read and {0, 2} <= set(read)  # plane 1 has no strokes and is not in view
    segmentation = viewer.layers["lazy segmentation"].data
    assert set(np.unique(segmentation[2])) == {1, 2}
    # Outputs of a lazy image store only the planes written.
    assert sorted(k for k in segmentation.store.chunks if k.startswith("c/")) == ["c/2/0/0"]


def test_gui_stays_responsive_while_training_and_predicting_a_large_image(
    qtbot, make_napari_viewer, new_widget
):
    image, truth = napari_seglab.load_kesm()
    big, big_truth = np.tile(image, (4, 4)), np.tile(truth, (4, 4))  # 2048 x 2048
    viewer = make_napari_viewer()
    layer = viewer.add_image(big, name="big")
    widget = new_widget(viewer)
    widget.controls.image.value = layer
    training = widget.add_training_layer()
    paint(training, stroke_disks(big_truth, per_class=8))
    # A first, quick run (one shallow tree) adds the output layers: adding a layer to a viewer
    # is napari's own work on the GUI thread (0.3-0.8 s each under Xvfb's software OpenGL),
    # paid once per layer. What must not freeze the GUI is our training and prediction, timed
    # from here on with the default forest.
    widget.controls.trees.value, widget.controls.depth.value = 1, 2
    widget.train()
    wait_idle(qtbot, widget)
    widget.controls.trees.value, widget.controls.depth.value = 50, 10
    paint(training, stroke_disks(big_truth, per_class=8, seed=1))
    # The next stroke is drawn now: finding disks inside the truth of a 2048 x 2048 plane is
    # the test's own work on the GUI thread (0.3-0.6 s), not the widget's.
    stroke = stroke_disks(big_truth, per_class=4, seed=2)

    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    qtbot.wait(100)
    widget.train()  # features, forest and a prediction of all 4 million pixels: seconds of work
    wait_idle(qtbot, widget)
    assert "Trained on" in widget.status
    # A live update: retraining, a preview of every other pixel, then the full plane.
    widget.controls.live.value = True
    paint(training, stroke)
    qtbot.waitUntil(lambda: widget.busy, timeout=WAIT_MS)
    wait_idle(qtbot, widget)
    assert "classes: the part on screen." in widget.status
    qtbot.wait(100)
    timer.stop()

    gaps = np.diff(ticks) * 1000
    assert len(gaps) > 50  # the run lasted over a second, so the bound below means something
    # The machine is shared with other jobs, so one late tick may come from the OS scheduler
    # rather than from us: the largest gap is left out and the next one must stay under
    # 200 ms. Training or predicting on the GUI thread would stall it for whole seconds.
    assert np.sort(gaps)[-2] < 200, np.sort(gaps)[-5:]
    assert np.median(gaps) < 40, np.median(gaps)


def test_3d_features_use_the_layer_scale_and_the_plane_in_view_matches_the_stack(
    qtbot, make_napari_viewer, new_widget
):
    image, truth = napari_seglab.load_kesm()
    stack = np.stack(
        [image[:96, :96], image[96:192, :96], image[192:288, :96], image[:96, 96:192]]
    )
    truth3 = np.stack(
        [truth[:96, :96], truth[96:192, :96], truth[192:288, :96], truth[:96, 96:192]]
    )
    viewer = make_napari_viewer()
    layer = viewer.add_image(stack, name="stack", scale=(3, 1, 1))
    widget = new_widget(viewer)
    widget.controls.image.value = layer
    widget.controls.features_3d.value = True
    widget.controls.scales.value = "1, 2"
    training = widget.add_training_layer()
    for z in (0, 3):
        paint(training, stroke_disks(truth3[z], per_class=4, radius=1, seed=z), (z,))
    viewer.dims.set_point(0, 6.0)  # plane 2
    widget.train()
    wait_idle(qtbot, widget)
    assert widget.classifier.features.mode == "3d"
    assert widget.classifier.features.spacing == (3.0, 1.0, 1.0)
    plane = viewer.layers["stack segmentation"].data[2].copy()
    assert set(np.unique(plane)) == {1, 2}
    widget.predict("all")
    wait_idle(qtbot, widget)
    whole = viewer.layers["stack segmentation"].data
    # the plane in view came from a slab with the features' full context: exactly the same
    np.testing.assert_array_equal(whole[2], plane)


def test_opened_through_the_plugin_manifest_follows_the_layer_list(qtbot, make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Pixel classifier")
    assert isinstance(widget, ClassifierWidget)
    image, truth = napari_seglab.load_kesm()
    # napari's own reset_choices wiring keeps the layer pickers current
    layer = viewer.add_image(image[:128, :128], name="tile")
    assert layer in widget.controls.image.choices
    widget.controls.image.value = layer
    training = widget.add_training_layer()  # napari hands plugins a proxy of its viewer
    assert widget.controls.training.value == training
    paint(training, stroke_disks(truth[:128, :128], per_class=4))
    widget.train()
    wait_idle(qtbot, widget)
    assert "Trained on" in widget.status
    assert viewer.layers["tile segmentation"].metadata["seglab_role"] == "classifier"
    viewer.layers.remove(layer)
    assert layer not in widget.controls.image.choices
    widget.close()


@pytest.fixture
def plugin_kesm(qtbot, make_napari_viewer):
    """The KESM sample (image, ground truth) and the widget opened from napari's plugin menu."""
    viewer = make_napari_viewer()
    viewer.open_sample("napari-seglab", "kesm")
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Pixel classifier")
    yield viewer, widget, viewer.layers["KESM vessels"], viewer.layers["KESM ground truth"]
    widget.controls.live.value = False
    widget.cancel()
    wait_idle(qtbot, widget)


def test_panel_starts_on_the_open_image_and_never_on_the_ground_truth(plugin_kesm, errors):
    viewer, widget, image, truth = plugin_kesm
    c = widget.controls
    assert c.image.value is image
    assert c.training.value is None  # the ground truth is not a training layer...
    assert truth in c.training.choices  # ...unless the user chooses it
    training = widget.add_training_layer()
    assert training is not None and c.training.value == training
    assert not errors()
    # a second image: its own training layer is made, the first one's is not offered
    other = viewer.add_image(image.data[:64, :64], name="crop")
    viewer.layers.selection.active = other
    c.image.value = other
    assert c.training.value is None


def test_renaming_the_image_keeps_the_selection_and_the_training_link(qtbot, plugin_kesm):
    viewer, widget, image, truth = plugin_kesm
    c = widget.controls
    training = widget.add_training_layer()
    paint(training, stroke_disks(truth.data, per_class=6))
    image.name = "renamed"
    assert c.image.value is image
    c.training.value = None
    c.image.value = None
    c.image.value = image
    assert c.training.value == training  # found by identity, not by its old name
    assert widget.add_training_layer() == training  # not a second one
    widget.train()
    wait_idle(qtbot, widget)
    assert "Trained on" in widget.status
    assert "renamed segmentation" in viewer.layers


def test_outputs_are_never_offered_as_the_training_layer(qtbot, plugin_kesm):
    viewer, widget, _, truth = plugin_kesm
    training = widget.add_training_layer()
    paint(training, stroke_disks(truth.data, per_class=6))
    widget.train()
    wait_idle(qtbot, widget)
    segmentation = viewer.layers["KESM vessels segmentation"]
    assert segmentation not in widget.controls.training.choices
    viewer.layers.remove(training)
    assert widget.controls.training.value is None


def test_a_refused_run_shows_its_reason_in_the_status(qtbot, plugin_kesm, errors):
    _, widget, image, truth = plugin_kesm
    training = widget.add_training_layer()
    paint(training, stroke_disks(truth.data, per_class=6))
    widget.train()
    wait_idle(qtbot, widget)
    image.data = 255 - image.data
    widget.predict("all")
    wait_idle(qtbot, widget)
    assert "edited after the classifier was trained" in errors()[-1]
    assert "edited after the classifier was trained" in widget.status
    assert widget.predict("other") is None  # refused before starting
    assert widget.status == errors()[-1]


def test_outputs_of_an_image_deleted_during_the_run_are_dropped(qtbot, plugin_kesm):
    viewer, widget, image, truth = plugin_kesm
    training = widget.add_training_layer()
    paint(training, stroke_disks(truth.data, per_class=6))
    names = [layer.name for layer in viewer.layers]
    assert widget.train() is not None
    viewer.layers.remove(image)
    wait_idle(qtbot, widget)
    assert [layer.name for layer in viewer.layers] == [n for n in names if n != "KESM vessels"]
    assert "was removed" in widget.status


def test_a_stray_label_is_refused_in_the_status(qtbot, plugin_kesm, errors):
    viewer, widget, _, truth = plugin_kesm
    training = widget.add_training_layer()
    strokes = stroke_disks(truth.data, per_class=6)
    strokes[:3, :3] = 255
    paint(training, strokes)
    assert widget.train() is None
    assert "Label 255 is painted" in errors()[-1] and "Label 255" in widget.status
    assert "KESM vessels segmentation" not in viewer.layers


def test_the_panel_fits_a_laptop_screen(plugin_kesm):
    from qtpy.QtWidgets import QScrollArea
    from superqt import QCollapsible

    _, widget, _, _ = plugin_kesm
    scroll = widget.native.findChild(QScrollArea)
    assert scroll is not None  # unfolded, every control stays reachable
    content = scroll.widget()
    height = content.sizeHint().height()
    assert height <= 650, height  # folded: fits 1366 x 768 (it needed 962 px)
    folds = content.findChildren(QCollapsible)
    assert [f.text() for f in folds] == ["Features", "Model", "Outputs and feature importance"]
    assert not any(f.isExpanded() for f in folds)


def test_classes_emptied_or_twice_are_refused_without_a_traceback(plugin_kesm, errors):
    viewer, widget, _, truth = plugin_kesm
    paint(widget.add_training_layer(), stroke_disks(truth.data, per_class=6))
    widget.controls.classes.value = ""  # raised inside the signal before
    assert widget.train() is None
    assert "Type the class names in 'Classes'" in errors()[-1]
    widget.controls.classes.value = "cell, cell"
    assert widget.train() is None
    assert "'cell' is given twice" in errors()[-1]
    assert "KESM vessels segmentation" not in viewer.layers


def test_train_on_all_skips_training_layers_of_another_kind(qtbot, plugin_kesm, errors):
    viewer, widget, image, truth = plugin_kesm
    c = widget.controls
    paint(widget.add_training_layer(), stroke_disks(truth.data, per_class=6))  # 2D, grey
    rgb = viewer.add_image(np.stack([image.data] * 3, -1), name="rgb", rgb=True)
    c.image.value = rgb
    paint(widget.add_training_layer(), stroke_disks(truth.data, per_class=6))
    assert widget.train() is not None  # refused before: the grey layer has 1 channel
    wait_idle(qtbot, widget)
    assert "Trained on" in widget.status and widget.classifier.n_channels == 3
    stack = viewer.add_image(np.stack([image.data[:64, :64]] * 4), name="stack")
    c.image.value = stack
    strokes = np.zeros((4, 64, 64), np.uint8)
    strokes[:, :64] = stroke_disks(truth.data[:64, :64], per_class=4)
    paint(widget.add_training_layer(), strokes)
    c.features_3d.value = True  # the 2D training layers cannot join 3D features
    c.scales.value = "1"
    assert widget.train() is not None
    wait_idle(qtbot, widget)
    assert "Trained on" in widget.status, errors()


GAP_PROBE = r"""
import json, sys, time
import numpy as np
import napari
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication
import napari_seglab
from napari_seglab._widgets.classifier.warmup import warm_up_done

viewer = napari.Viewer(show=True)
image, truth = napari_seglab.load_kesm()
layer = viewer.add_image(image, name="KESM")
strokes = np.zeros(truth.shape, np.uint8)
strokes[truth == 0] = 1
strokes[truth > 0] = 2
strokes[::2] = 0
strokes[:, ::2] = 0
viewer.add_labels(strokes, name="strokes", metadata={"seglab_training_for": ["KESM"]})
app = QApplication.instance()
ticks = []
timer = QTimer()
timer.setInterval(20)
timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
timer.start()


def spin(done, limit=600.0):
    end = time.perf_counter() + limit
    while not done() and time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.002)


def worst(since):
    # the two largest gaps (ms) since `since`, largest last
    ticks.append(time.perf_counter())
    gaps = np.diff([since, *[t for t in ticks if t >= since]]) * 1000
    return sorted(gaps.tolist())[-2:]


spin(lambda: len(ticks) > 5)
_, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Pixel classifier")
start = time.perf_counter()
spin(warm_up_done)
spin(lambda: time.perf_counter() > start + 3)
phases = {"warm_up_s": time.perf_counter() - start, "warm_up_gap_ms": worst(start)}
for phase in ("first_train", "second_train"):
    start = time.perf_counter()
    widget.train()
    spin(lambda: not widget.busy)
    phases[phase + "_s"] = time.perf_counter() - start
    spin(lambda: time.perf_counter() > start + phases[phase + "_s"] + 0.3)
    phases[phase + "_gap_ms"] = worst(start)
phases["status"] = widget.status
sys.stdout.write(json.dumps(phases) + "\n")
viewer.close()
"""


def test_the_event_loop_keeps_running_while_the_code_loads_and_trains(tmp_path):
    """In a new process (as a new napari session): a 20 ms QTimer through the warm-up that
    opening the widget starts, a first training and a second one. Before the warm-up, the
    first training loaded (or compiled) the code in the worker, freezing the GUI 1.0-1.4 s."""
    import json
    import os
    import subprocess
    import sys

    script = tmp_path / "probe.py"
    script.write_text(GAP_PROBE)
    env = {**os.environ, "NAPARI_APPLICATION_GUI_NOTIFICATION_LEVEL": "error"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    phases = json.loads(done.stdout.strip().splitlines()[-1])
    assert "Trained on" in phases["status"]
    # loading the cached code in a thread: each kernel holds the interpreter lock while it
    # loads (measured 250-470 ms on the 2-core test machine; 200 ms is the aim)
    assert phases["warm_up_gap_ms"][-1] < 1000, phases
    # a training once the output layers exist: the GUI never waits for the classifier (the
    # machine is shared: one late tick may be the OS scheduler's, the next must be < 200 ms)
    assert phases["second_train_gap_ms"][0] < 200, phases
