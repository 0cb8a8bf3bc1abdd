"""The classifier session without Qt: train, preview a plane, refine, apply, save and load."""

from __future__ import annotations

import doctest
import subprocess
import sys

import numpy as np
import pytest
from classifier_helpers import stroke_disks

from napari_seglab._widgets.classifier import ClassifierSession, jobs
from napari_seglab._widgets.classifier import session as session_module
from napari_seglab._widgets.classifier.plans import Forest, ImageSource, Result, Training
from napari_seglab.core import SegLabInputError, evaluate
from napari_seglab.core.classifier import FeatureSettings, PixelClassifier

SETTINGS = FeatureSettings(sigmas=(1, 2, 4))
FOREST = Forest(n_estimators=20, max_depth=8)


def direct(image, strokes, settings=SETTINGS, forest=FOREST) -> PixelClassifier:
    """The same classifier as the session's, trained directly."""
    return PixelClassifier(
        settings,
        class_names={1: "tissue", 2: "vessel"},
        random_state=0,
        n_estimators=forest.n_estimators,
        max_depth=forest.max_depth,
        class_weight=forest.class_weight,
    ).fit(image, strokes)


def results_of(plan) -> list[Result]:
    """Every result a run brings, in order: previews first, then the one it returns."""
    steps, results = jobs.run(plan, lambda: False, lambda fraction: None), []
    while True:
        try:
            result = next(steps)
        except StopIteration as stop:
            return [*results, stop.value]
        if result is not None:
            results.append(result)


def train(session, source, strokes, **options) -> Result:
    return session.train(
        [Training(source, strokes, "strokes")],
        settings=SETTINGS,
        forest=FOREST,
        class_names=["tissue", "vessel"],
        probability_of=2,
        foreground=2,
        **options,
    )


def test_train_then_apply_equals_the_pixel_classifier_itself(kesm_tile):
    image, truth = kesm_tile
    strokes = stroke_disks(truth)
    source = ImageSource(names=("KESM",), arrays=(image,))
    session = ClassifierSession()
    trained = train(session, source, strokes, plane=())
    assert trained.classifier is session.classifier
    assert trained.message.startswith(f"Trained on {np.count_nonzero(strokes)} painted pixels.")
    assert "Segmented 'KESM' into 2 classes: the plane in view." in trained.message

    applied = session.apply(source, probability_of=2, foreground=2)
    (output,) = applied.outputs
    assert output.plane is None and applied.classifier is None
    expected = direct(image, strokes).segment(image)
    np.testing.assert_array_equal(output.labels, expected.labels)
    np.testing.assert_array_equal(output.foreground, expected.labels == 2)
    np.testing.assert_allclose(output.probability, expected.probability(2))
    np.testing.assert_allclose(output.uncertainty, expected.uncertainty)
    np.testing.assert_array_equal(trained.outputs[0].labels, output.labels)  # the plane: all
    assert evaluate(output.foreground, truth).scores.f1 > 0.8


def test_live_preview_comes_first_then_the_plane_is_refined(kesm_tile, monkeypatch):
    image, truth = kesm_tile
    monkeypatch.setattr("napari_seglab._widgets.classifier.jobs.PREVIEW_PIXELS", 64 * 64)
    source = ImageSource(names=("KESM",), arrays=(image,))
    session = ClassifierSession()
    strokes = stroke_disks(truth)
    item = [Training(source, strokes, "strokes")]
    options = {"settings": SETTINGS, "forest": FOREST, "plane": ()}
    plan = session.plan_training(item, live=True, foreground=2, **options)
    # as the widget does: plan, run (off-thread), accept
    preview, labels, final = results_of(plan)
    for result in (preview, labels, final):
        session.accept(result)
    assert "a preview of the part on screen (1/8 resolution)" in preview.message
    assert preview.outputs[0].probability is None  # labels only, until refined
    assert labels.outputs[0].probability is None and final.outputs[0].probability is not None
    expected = direct(image, strokes).predict(image)
    np.testing.assert_array_equal(labels.outputs[0].labels, expected)
    np.testing.assert_array_equal(final.outputs[0].labels, expected)
    np.testing.assert_array_equal(preview.outputs[0].labels[::8, ::8], expected[::8, ::8])
    kept = session.preview  # the plane's features at full resolution (they fit)
    assert kept is not None and kept.step == 1 and kept.shape == image.shape

    # the same strokes again: nothing to do; a new stroke reuses the plane's kept features
    assert session.plan_training(item, live=True, **options) is None
    assert session.request(item, **options) == plan.request
    more = strokes.copy()
    more[stroke_disks(truth, per_class=3, seed=5) > 0] = 1
    moved = session.plan_training([Training(source, more)], live=True, **options)
    assert moved.request != plan.request
    session.complete(moved)
    assert session.preview is kept
    session.drop_preview()
    assert session.preview is None


def test_features_of_a_part_seen_before_a_zoom_out_are_kept(kesm_tile, monkeypatch):
    from napari_seglab._widgets.classifier.view import ViewRegion

    made = []
    preview_class = jobs.PlanePreview

    class Counted(preview_class):
        def __init__(self, *args, **kwargs):
            made.append(kwargs["region"])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(jobs, "PlanePreview", Counted)
    image, truth = kesm_tile
    source = ImageSource(names=("KESM",), arrays=(image,))
    session = ClassifierSession()
    zoomed = ViewRegion(slice(10, 60), slice(20, 90))
    options = {"settings": SETTINGS, "forest": FOREST, "plane": (), "live": True}
    strokes = stroke_disks(truth)
    for view, seed in ((zoomed, 1), (None, 2), (zoomed, 3)):  # zoom in, out, in again
        strokes[stroke_disks(truth, per_class=1, seed=seed) > 0] = 1
        made.clear()
        session.complete(
            session.plan_training([Training(source, strokes.copy())], view=view, **options)
        )
        if view is None:  # the whole plane: its own features, at full resolution
            assert made[0] == (slice(0, image.shape[0]), slice(0, image.shape[1]))
    # back on the zoomed part: its features were kept with the whole plane's (both fit)
    assert zoomed.region not in made


def test_a_preview_kept_under_two_keys_counts_once_in_the_budget(kesm_tile, monkeypatch):
    from napari_seglab._widgets.classifier.plans import KeptPreview
    from napari_seglab.core.classifier import PlanePreview

    image, _ = kesm_tile
    fine = PlanePreview(image, SETTINGS, region=(slice(0, 64), slice(0, 64)))
    assert fine.subsampled(1) is fine  # the screen-resolution preview of a 1:1 view
    seen = PlanePreview(image, SETTINGS, region=(slice(64, 128), slice(0, 64)))
    plane = ("KESM", (), SETTINGS, b"digest")
    new = (KeptPreview((*plane, "fine"), fine), KeptPreview((*plane, "coarse"), fine))
    older = (KeptPreview((*plane, "seen before"), seen),)
    monkeypatch.setattr(session_module, "feature_budget", lambda: 2 * fine.nbytes)
    assert session_module._merged(new, older) == (*new, *older)
    monkeypatch.setattr(session_module, "feature_budget", lambda: 2 * fine.nbytes - 1)
    assert session_module._merged(new, older) == new


def test_save_load_round_trip_applies_to_another_image(kesm_tile, tmp_path):
    image, truth = kesm_tile
    session = ClassifierSession()
    train(session, ImageSource(names=("KESM",), arrays=(image,)), stroke_disks(truth))
    path = session.save(tmp_path / "vessels.npz")
    fresh = ClassifierSession()
    loaded = fresh.load(path)
    assert loaded.class_names == {1: "tissue", 2: "vessel"}
    other = ImageSource(names=("copy",), arrays=(image.copy(),))
    np.testing.assert_array_equal(
        fresh.apply(other).outputs[0].labels, session.apply(other).outputs[0].labels
    )


def test_refusals_say_what_is_wrong(kesm_tile):
    image, truth = kesm_tile
    source = ImageSource(names=("KESM",), arrays=(image,))
    session = ClassifierSession()
    options = {"settings": SETTINGS, "class_names": ["tissue", "vessel"]}
    with pytest.raises(SegLabInputError, match="Train or load a classifier first"):
        session.plan_apply(source)
    with pytest.raises(SegLabInputError, match="There is no classifier to save"):
        session.save("never.npz")
    blank = np.zeros(image.shape, np.uint8)
    with pytest.raises(SegLabInputError, match=r"No strokes yet: paint label 1 \(tissue\)"):
        session.plan_training([Training(source, blank)], **options)
    one = np.where(stroke_disks(truth) == 2, 2, 0).astype(np.uint8)
    with pytest.raises(SegLabInputError, match=r"Only class 2 \(vessel\)"):
        session.plan_training([Training(source, one)], **options)
    with pytest.raises(SegLabInputError, match=r"'small' has shape \(10, 10\)"):
        session.plan_training([Training(source, blank[:10, :10], "small")], **options)
    rgb = ImageSource(names=("rgb",), arrays=(np.stack([image] * 3, -1),), rgb=True)
    with pytest.raises(SegLabInputError, match=r"with 3 channel\(s\), but .KESM. has 1"):
        items = [Training(source, stroke_disks(truth)), Training(rgb, stroke_disks(truth), "c")]
        session.plan_training(items, **options)

    # an image edited after training is refused when applied (strokes are kept: retrain)
    edited = image.copy()
    source = ImageSource(names=("KESM",), arrays=(edited,))
    train(session, source, stroke_disks(truth))
    edited[:] = 255 - edited
    plan = session.plan_apply(source)
    assert plan.check_edit
    with pytest.raises(SegLabInputError, match="edited after the classifier was trained"):
        session.complete(plan)


def test_a_lazy_stack_is_read_only_where_painted_or_segmented(kesm_tile):
    import dask.array as da

    image, truth = kesm_tile
    planes = np.stack([image[:128, :128], image[128:256, :128], image[256:384, :128]])
    truths = np.stack([truth[:128, :128], truth[128:256, :128], truth[256:384, :128]])
    read: list[int] = []

    def record(block, block_info=None):
        read.append(block_info[None]["chunk-location"][0])
        return block

    lazy = da.from_array(planes, chunks=(1, 128, 128)).map_blocks(record, dtype=planes.dtype)
    strokes = np.zeros(planes.shape, np.uint8)
    strokes[0] = stroke_disks(truths[0], per_class=3)
    strokes[2] = stroke_disks(truths[2], per_class=3, seed=1)
    source = ImageSource(names=("lazy",), arrays=(lazy,))
    assert source.lazy
    session = ClassifierSession()
    result = train(session, source, strokes, plane=(2,))
    assert 1 not in read and {0, 2} <= set(read)
    assert result.outputs[0].plane == (2,) and result.outputs[0].labels.shape == (128, 128)
    whole = session.apply(source).outputs[0].labels
    np.testing.assert_array_equal(whole[2], result.outputs[0].labels)


def test_the_session_needs_no_qt():
    code = (
        "import sys; import napari_seglab._widgets.classifier.session; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'napari', 'qtpy', 'PyQt6', 'PyQt5', 'magicgui', 'superqt'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_docstring_examples():
    failures, _ = doctest.testmod(session_module, optionflags=doctest.ELLIPSIS)
    assert failures == 0


def test_a_painted_label_without_a_name_is_refused(kesm_tile):
    image, truth = kesm_tile
    source = ImageSource(names=("KESM",), arrays=(image,))
    strokes = stroke_disks(truth)
    strokes[:3, :3] = 255  # e.g. painted with a label picked by mistake
    with pytest.raises(SegLabInputError, match=r"Label 255 is painted .* no class name"):
        ClassifierSession().plan_training(
            [Training(source, strokes)], settings=SETTINGS, class_names=["tissue", "vessel"]
        )
