"""Live feedback where the user looks: the part on screen first, then the rest; the class
balance and the Update button."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from classifier_helpers import WAIT_MS, paint, stroke_disks

from napari_seglab._widgets.classifier import ClassifierSession, ClassifierWidget, jobs
from napari_seglab._widgets.classifier.balance import balance_text, class_counts
from napari_seglab._widgets.classifier.plans import Forest, ImageSource, Training
from napari_seglab._widgets.classifier.view import ViewRegion, region_in_view
from napari_seglab.core.classifier import FeatureSettings, PixelClassifier

SETTINGS = FeatureSettings(sigmas=(1, 2, 4))
FOREST = Forest(n_estimators=20, max_depth=8)


def direct(image, strokes) -> PixelClassifier:
    """The session's classifier, trained directly."""
    return PixelClassifier(
        SETTINGS,
        random_state=0,
        n_estimators=FOREST.n_estimators,
        max_depth=FOREST.max_depth,
        class_weight=FOREST.class_weight,
    ).fit(image, strokes)


def results_of(plan, stop_after: int | None = None) -> list:
    """The results a live run brings, in order (only the first `stop_after` ones)."""
    steps, results = jobs.run(plan, lambda: False, lambda fraction: None), []
    while stop_after is None or len(results) < stop_after:
        try:
            result = next(steps)
        except StopIteration as stop:
            return [*results, stop.value]
        if result is not None:
            results.append(result)
    steps.close()
    return results


def live_plan(session, source, strokes, view):
    return session.plan_training(
        [Training(source, strokes)],
        settings=SETTINGS,
        forest=FOREST,
        plane=(),
        live=True,
        foreground=2,
        probability_of=2,
        view=view,
    )


def test_the_part_on_screen_comes_first_and_equals_the_whole_plane_result(kesm_tile, monkeypatch):
    image, truth = kesm_tile
    monkeypatch.setattr(jobs, "TILE", 128)
    strokes = stroke_disks(truth)
    source = ImageSource(names=("KESM",), arrays=(image,))
    session = ClassifierSession()
    view = ViewRegion(slice(100, 300), slice(50, 261), step=2)  # zoomed out: 2 px a screen px
    results = results_of(live_plan(session, source, strokes, view))
    expected = direct(image, strokes).segment(image)

    coarse, labels, fine, *rest = (r.outputs[0] for r in results)
    assert coarse.region == labels.region == fine.region == view.region
    assert coarse.probability is None and "1/2 resolution" in results[0].message
    assert (coarse.step, labels.step, fine.step) == (2, 1, 1)
    np.testing.assert_array_equal(coarse.labels[::2, ::2], expected.labels[view.region][::2, ::2])
    # at full resolution the part on screen is exactly the whole plane's result there: the
    # labels first, then with probabilities and uncertainty
    assert labels.probability is None and "Probabilities next" in results[1].message
    np.testing.assert_array_equal(labels.labels, expected.labels[view.region])
    np.testing.assert_array_equal(fine.labels, expected.labels[view.region])
    np.testing.assert_array_equal(fine.probability, expected.probability(2)[view.region])
    np.testing.assert_array_equal(fine.uncertainty, expected.uncertainty[view.region])
    # then the rest of the plane, tile by tile, the tiles nearest the view first
    assembled = np.zeros(image.shape, np.uint8)
    assembled[view.region] = fine.labels
    for output in rest:
        assert output.probability is not None
        done = assembled[output.region] > 0
        assert not done.all()  # each tile brings pixels not segmented before
        np.testing.assert_array_equal(output.labels[done], assembled[output.region][done])
        assembled[output.region] = output.labels
    np.testing.assert_array_equal(assembled, expected.labels)
    first_tile = rest[0].region
    assert first_tile[0].start < 300 and first_tile[0].stop > 100  # touches the view
    for result in results:
        session.accept(result)
    assert session.covered(source.key, ()).all()
    assert live_plan(session, source, strokes, view) is None  # nothing left to do


def test_a_pan_extends_the_result_to_the_newly_visible_part_without_retraining(kesm_tile):
    image, truth = kesm_tile
    strokes = stroke_disks(truth)
    source = ImageSource(names=("KESM",), arrays=(image,))
    session = ClassifierSession()
    before = ViewRegion(slice(0, 128), slice(0, 128))  # zoomed in: full resolution at once
    labels, first = results_of(live_plan(session, source, strokes, before), stop_after=2)
    assert labels.outputs[0].region == first.outputs[0].region == before.region
    assert labels.outputs[0].probability is None and first.outputs[0].probability is not None
    session.accept(labels)
    assert session.covered(source.key, ()) is None  # labels alone: not done yet
    session.accept(first)  # the user pans before the rest of the plane is done
    after = ViewRegion(slice(0, 128), slice(64, 192))  # half a screen to the right
    plan = live_plan(session, source, strokes, after)
    assert plan.train is None  # same strokes: the classifier is kept
    newly = results_of(plan, stop_after=2)[1].outputs[0]
    # only what was not on screen before
    assert newly.region == (slice(0, 128), slice(128, 192)) and newly.probability is not None
    covered = session.covered(source.key, ())
    assert covered[:128, :128].all() and not covered[128:].any() and not covered[:, 128:].any()
    expected = direct(image, strokes).segment(image)
    np.testing.assert_array_equal(newly.labels, expected.labels[newly.region])
    # a pan back to what is done already leaves only the rest of the plane to do
    session.accept(results_of(plan, stop_after=2)[1])
    again = results_of(live_plan(session, source, strokes, before), stop_after=1)[0]
    assert again.outputs[0].region != before.region
    assert not session.covered(source.key, ())[again.outputs[0].region].all()


def test_asked_for_the_stack_the_live_update_ends_with_every_plane(kesm_tile):
    image, truth = kesm_tile
    stack = np.stack([image[:128, :128], image[128:256, :128], image[256:384, :128]])
    strokes = np.zeros(stack.shape, np.uint8)
    strokes[1] = stroke_disks(truth[128:256, :128], per_class=6)
    source = ImageSource(names=("stack",), arrays=(stack,))
    session = ClassifierSession()
    options = {"settings": SETTINGS, "forest": FOREST, "live": True, "foreground": 2}
    view = ViewRegion(slice(0, 64), slice(0, 64))
    plan = session.plan_training(
        [Training(source, strokes)], plane=(1,), view=view, stack=True, **options
    )
    results = results_of(plan)
    assert results[0].outputs[0].region == view.region and results[0].outputs[0].plane == (1,)
    whole = results[-1].outputs[0]
    assert whole.plane is None and whole.region is None
    clf = direct(stack[1], strokes[1])
    np.testing.assert_array_equal(whole.labels, np.stack([clf.predict(p) for p in stack]))
    for result in results:
        session.accept(result)
    again = session.plan_training(
        [Training(source, strokes)], plane=(1,), view=view, stack=True, **options
    )
    assert again is None  # the plane and the stack are up to date


def test_class_balance_counts_painted_pixels_and_warns_about_a_rare_class():
    strokes = np.zeros((100, 100), np.uint8)
    strokes[:20] = 1  # 2000 px
    strokes[50, :60] = 2  # 60 px: 2.9 %
    counts = class_counts([strokes, np.where(strokes == 2, 3, 0).astype(np.uint16)])
    assert counts == {1: 2000, 2: 60, 3: 60}
    text, warning = balance_text({1: 2000, 2: 60}, ["tissue", "vessel"])
    assert text == "Painted: tissue 2,000 px (97 %), vessel 60 px (2.9 %)"
    assert "'vessel'" in warning
    assert balance_text({1: 950, 2: 50}, ["tissue", "vessel"])[1] is None  # 5 %: enough
    # nearly all of the strokes in one class is not shown as all of them
    assert balance_text({1: 998, 2: 2}, ["tissue", "vessel"])[0].endswith(
        "(99.8 %), vessel 2 px (0.2 %)"
    )
    # a named class not painted yet, while two others are
    assert "'c'" in balance_text({1: 50, 2: 50}, ["a", "b", "c"])[1]
    assert balance_text({}, ["a", "b"]) == ("Painted: nothing yet.", None)


# ---------------------------------------------------------------------------- in a viewer
@pytest.fixture
def widget_kesm(make_napari_viewer, new_widget, kesm_tile):
    image, truth = kesm_tile
    viewer = make_napari_viewer()
    layer = viewer.add_image(image, name="KESM")
    widget = new_widget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.controls.image.value = layer
    widget.controls.scales.value = "1, 2, 4"
    widget.controls.trees.value = 20
    return viewer, widget, image, truth


def hold_the_rest_of_the_plane(monkeypatch) -> tuple[threading.Event, list]:
    """The rest of the plane waits (in the worker) until `released` is set or the run is
    cancelled; `cancels` collects the cancel callables of the runs that waited."""
    released, cancels = threading.Event(), []
    exact = jobs._exact

    def held(plan, data, crop, classifier, region, budget, cancel):
        cancels.append(cancel)
        while not (released.is_set() or cancel()):
            time.sleep(0.005)
        return (yield from exact(plan, data, crop, classifier, region, budget, cancel))

    monkeypatch.setattr(jobs, "_exact", held)
    return released, cancels


def zoom_in_on_a_corner(viewer) -> None:
    viewer.canvas.size = (100, 100)
    camera = viewer.scene.camera
    camera.center, camera.zoom = (0, 50, 50), 2.0


def test_a_new_stroke_cancels_the_run_going_on_at_once(qtbot, widget_kesm, monkeypatch):
    viewer, widget, image, truth = widget_kesm
    released, cancels = hold_the_rest_of_the_plane(monkeypatch)
    shown = []
    widget.shown.connect(lambda result: shown.append(result))
    training = widget.add_training_layer()
    zoom_in_on_a_corner(viewer)
    widget.controls.live.value = True
    paint(training, stroke_disks(truth))
    qtbot.waitUntil(lambda: len(shown) >= 1 and len(cancels) >= 1, timeout=WAIT_MS)
    assert widget.busy and not cancels[0]()  # the part on screen is shown, the rest waits
    first = shown[-1].classifier
    paint(training, stroke_disks(truth, per_class=5, seed=9))
    assert cancels[0]()  # at once, not after the countdown
    before = len(shown)
    qtbot.waitUntil(lambda: len(shown) > before, timeout=WAIT_MS)
    released.set()
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)
    # nothing of the first run is shown after the second stroke
    assert all(result.classifier is not first for result in shown[before:])
    # what is shown at the end is the classifier of both strokes, over the whole plane
    expected = direct(image, np.asarray(training.data)).predict(image)
    np.testing.assert_array_equal(viewer.layers["KESM segmentation"].data, expected)


def test_zoomed_in_the_first_result_is_the_part_on_screen_at_full_resolution(qtbot, widget_kesm):
    viewer, widget, image, truth = widget_kesm
    shown = []
    widget.shown.connect(lambda result: shown.append(result))
    training = widget.add_training_layer()
    viewer.canvas.size = (200, 300)
    viewer.scene.camera.center = (0, 100, 400)
    viewer.scene.camera.zoom = 2.0
    view = region_in_view(viewer, viewer.layers["KESM"], image.shape)
    assert view.size < image.size // 4
    widget.controls.live.value = True
    paint(training, stroke_disks(truth))
    qtbot.waitUntil(lambda: len(shown) >= 2, timeout=WAIT_MS)
    labels, output = (result.outputs[0] for result in shown[:2])
    assert labels.region == view.region and labels.probability is None
    assert output.region == view.region and output.probability is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)
    expected = direct(image, np.asarray(training.data)).predict(image)
    np.testing.assert_array_equal(viewer.layers["KESM segmentation"].data, expected)


def test_update_button_once_and_the_balance_warning(qtbot, widget_kesm):
    viewer, widget, image, truth = widget_kesm
    training = widget.add_training_layer()
    strokes = np.zeros(truth.shape, np.uint8)
    strokes[stroke_disks(truth, per_class=40) == 1] = 1
    strokes[stroke_disks(truth, per_class=1, seed=3) == 2] = 2
    paint(training, strokes)
    assert widget._balance.counts == class_counts([strokes])
    assert (
        "\u26a0" in widget.controls.class_balance.value
        and "'foreground'" in widget.controls.class_balance.value
    )
    assert widget.busy is False  # live update is off: painting alone runs nothing
    with qtbot.waitSignal(widget.shown, timeout=WAIT_MS):
        widget.controls.update_button.changed.emit(True)
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)
    expected = direct(image, strokes).predict(image)
    np.testing.assert_array_equal(viewer.layers["KESM segmentation"].data, expected)
    assert widget.update() is None and widget.status.startswith("Up to date")


def test_closing_the_panel_stops_its_run_and_timers_and_frees_its_widgets(
    qtbot, make_napari_viewer, kesm_tile, monkeypatch, notifications
):
    # napari's close button takes the panel out of its dock but never destroys it: the panel
    # went on training on each stroke, and PyQt's clean-up of it at exit crashed Python.
    image, truth = kesm_tile
    viewer = make_napari_viewer()
    viewer.add_image(image, name="KESM")
    widget = ClassifierWidget(viewer)
    dock = viewer.window.add_dock_widget(widget)
    widget.controls.image.value = viewer.layers["KESM"]
    widget.controls.scales.value = "1, 2, 4"
    widget.controls.trees.value = 20
    _, cancels = hold_the_rest_of_the_plane(monkeypatch)
    shown = []
    widget.shown.connect(lambda result: shown.append(result))
    training = widget.add_training_layer()
    zoom_in_on_a_corner(viewer)
    widget.controls.live.value = True
    paint(training, stroke_disks(truth))
    qtbot.waitUntil(lambda: len(shown) >= 1 and len(cancels) >= 1, timeout=WAIT_MS)
    viewer.camera.zoom *= 1.5  # a pan or zoom starts the countdown of the next update
    assert widget.busy and not cancels[0]() and widget._live._timer.isActive()

    with qtbot.waitSignal(widget.native.destroyed, timeout=5000):
        viewer.window.remove_dock_widget(dock)  # what its close button does
    assert cancels[0]()  # the run is cancelled at once
    assert not widget._live._timer.isActive()
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)  # and its worker has quit
    before = len(shown)
    paint(training, stroke_disks(truth, per_class=5, seed=9))
    viewer.camera.zoom *= 1.5
    viewer.add_image(image, name="another")  # napari resets the pickers of its dock widgets
    qtbot.wait(500)  # longer than the countdowns
    assert len(cancels) == 1 and widget._runner.job is None and len(shown) == before
    assert not widget._suggestions.pending
    assert "KESM segmentation" in viewer.layers and not notifications.errors()
