"""Suggest where to paint, in the classifier widget: rectangles, Previous / Next, the plane."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_seglab._widgets.classifier import ClassifierWidget, suggestions
from napari_seglab._widgets.classifier.suggestions import N_REGIONS

WAIT_MS = 300_000  # a cold numba cache compiles the core's kernels on the first fit
SQUARE = (slice(30, 60), slice(14, 44))


def _ambiguous() -> tuple[np.ndarray, np.ndarray]:
    """Dark left, bright right, and a mid-grey square painted as both classes."""
    rng = np.random.default_rng(0)
    image = np.full((96, 128), 50.0)
    image[:, 64:] = 150
    image = ndi.gaussian_filter(image, 1.0)
    image[SQUARE] = 100
    image += rng.normal(0, 3, image.shape)
    strokes = np.zeros(image.shape, np.uint8)
    strokes[75:79, 10:50] = 1
    strokes[75:79, 80:120] = 2
    strokes[32:34, 16:42] = 1
    strokes[56:58, 16:42] = 2
    return image.astype(np.float32), strokes


def _paint(layer, strokes: np.ndarray, index: tuple = ()) -> None:
    plane = np.asarray(layer.data[index])
    plane[strokes > 0] = strokes[strokes > 0]
    layer.data[index] = plane
    layer.events.paint(value=[])


@pytest.fixture
def widget_of(qtbot, make_napari_viewer):
    widgets: list[ClassifierWidget] = []

    def make(data, **kwargs):
        viewer = make_napari_viewer()
        layer = viewer.add_image(data, name="img", **kwargs)
        widgets.append(ClassifierWidget(viewer))
        widgets[-1].controls.image.value = layer
        return viewer, widgets[-1], layer

    yield make
    for widget in widgets:
        widget.cancel()
        qtbot.waitUntil(lambda w=widget: not w.busy, timeout=WAIT_MS)


def _train(qtbot, widget) -> None:
    widget.train()
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)


def test_regions_drawn_in_one_layer_and_the_camera_goes_to_them(qtbot, widget_of):
    image, strokes = _ambiguous()
    viewer, widget, layer = widget_of(image, scale=(0.5, 0.5), translate=(3, 4))
    widget.controls.scales.value = "1, 2"
    _paint(widget.add_training_layer(), strokes)
    _train(qtbot, widget)
    regions = widget.suggestions.regions
    assert regions, "the ambiguous square is uncertain"
    shapes = viewer.layers["img suggestions"]
    assert shapes.metadata["seglab_role"] == "classifier"
    assert len(shapes.data) == len(regions)
    np.testing.assert_allclose(shapes.scale, layer.scale)
    np.testing.assert_allclose(shapes.translate, layer.translate)
    (y0, y1), (x0, x1) = regions[0].bbox
    assert y0 < 45 < y1 and x0 < 29 < x1  # the square's centre is inside the first box
    corners = shapes.data[0]
    assert corners[:, 0].min() == pytest.approx(y0 - 0.5) and corners[:, 1].max() == (
        pytest.approx(x1 - 0.5)
    )
    assert viewer.layers.selection.active.name == "img training"  # the brush stays put

    shown = widget.suggestions.go(0)
    assert shown is regions[0] and "Region 1 of" in widget.suggestions.info
    assert viewer.status == widget.suggestions.info
    np.testing.assert_allclose(viewer.scene.camera.center[-2:], layer.data_to_world(shown.centre))
    box = np.array([y1 - y0, x1 - x0]) * 0.5
    visible = np.asarray(viewer.canvas.size) / viewer.scene.camera.zoom
    assert np.all(visible >= box) and np.any(visible <= 4 * box)  # zoomed onto the box
    widget.suggestions.previous_button.clicked.emit()
    assert widget.suggestions.current == len(regions) - 1  # wraps around

    _train(qtbot, widget)  # retraining updates the same layer
    assert [x.name for x in viewer.layers].count("img suggestions") == 1
    widget.suggestions.show.value = False
    assert "img suggestions" not in viewer.layers
    assert not widget.suggestions.next_button.enabled


def test_on_a_stack_the_plane_in_view_and_next_sets_the_plane(qtbot, widget_of):
    image, strokes = _ambiguous()
    flat = np.where(np.arange(128) < 64, 50.0, 150.0)[None, :] * np.ones((96, 1))
    stack = np.stack([flat, flat, image]).astype(np.float32)
    viewer, widget, _ = widget_of(stack, scale=(4, 1, 1))
    widget.controls.scales.value = "1, 2"
    _paint(widget.add_training_layer(), strokes, (2,))
    viewer.dims.set_point(0, 8.0)  # world z = 8: plane 2
    _train(qtbot, widget)
    regions = widget.suggestions.regions
    assert regions and all(r.bbox[0] == (2, 3) for r in regions)
    shapes = viewer.layers["img suggestions"]
    assert shapes.ndim == 3 and np.all(shapes.data[0][:, 0] == 2)
    viewer.dims.set_point(0, 0.0)
    widget.suggestions.next_button.clicked.emit()
    assert viewer.dims.point[0] == pytest.approx(8.0)


def _painted(widget_of):
    """A widget on the ambiguous image, its strokes painted (not trained yet)."""
    image, strokes = _ambiguous()
    _, widget, _ = widget_of(image)
    widget.controls.scales.value = "1, 2"
    training = widget.add_training_layer()
    _paint(training, strokes)
    return image, widget, training


def _live_stroke(widget, training) -> None:
    """Live update on, and one more stroke of class 2."""
    widget.controls.live.value = True
    extra = np.zeros(training.data.shape, np.uint8)
    extra[10:12, 80:120] = 2
    _paint(training, extra)


def _assert_regions_of_the_current_classifier(widget, image, rank) -> None:
    seg = widget.classifier.segment(image)
    expected = rank(seg.uncertainty, seg.labels, n_regions=N_REGIONS)
    assert [r.bbox for r in widget.suggestions.regions] == [r.bbox for r in expected]


def test_a_stroke_while_regions_are_ranked_starts_a_live_run(qtbot, widget_of, monkeypatch):
    released, ranked, rank = threading.Event(), [], suggestions.suggest_regions

    def slow(*args, **kwargs):  # the ranking waits until released
        ranked.append(True)
        released.wait(WAIT_MS / 1000)
        return rank(*args, **kwargs)

    image, widget, training = _painted(widget_of)
    monkeypatch.setattr(suggestions, "suggest_regions", slow)
    widget.train()
    qtbot.waitUntil(lambda: bool(ranked), timeout=WAIT_MS)
    first = widget.classifier
    _live_stroke(widget, training)  # the ranking of the first training is still going on
    qtbot.waitUntil(lambda: widget.classifier is not first, timeout=WAIT_MS)
    released.set()
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)
    assert widget.classifier.is_fitted and len(ranked) == 2
    # the regions drawn are the second classifier's (the first ranking was dropped)
    _assert_regions_of_the_current_classifier(widget, image, rank)


def test_a_stroke_before_the_pause_drops_the_ranking(qtbot, widget_of, monkeypatch):
    ranked, rank = [], suggestions.suggest_regions

    def counted(*args, **kwargs):
        ranked.append(True)
        return rank(*args, **kwargs)

    image, widget, training = _painted(widget_of)
    monkeypatch.setattr(suggestions, "suggest_regions", counted)
    monkeypatch.setattr(suggestions, "RANK_DELAY_MS", 600_000)  # the user never pauses
    widget.train()
    qtbot.waitUntil(lambda: widget.classifier is not None, timeout=WAIT_MS)
    first = widget.classifier
    qtbot.waitUntil(lambda: widget.suggestions.pending, timeout=WAIT_MS)
    assert not ranked  # waiting for a pause
    _live_stroke(widget, training)
    monkeypatch.setattr(suggestions, "RANK_DELAY_MS", 0)  # now the user pauses
    qtbot.waitUntil(lambda: widget.classifier is not first, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)
    assert len(ranked) == 1  # the first classifier's regions were never ranked
    _assert_regions_of_the_current_classifier(widget, image, rank)
