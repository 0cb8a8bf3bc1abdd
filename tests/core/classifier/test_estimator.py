"""PixelClassifier(estimator=...): a scikit-learn classifier on SegLab's rows and tiles."""

from __future__ import annotations

import json
import os
import zipfile

import dask.array as da
import numpy as np
import pytest
import skops.io
from scipy import ndimage as ndi
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from napari_seglab.core import Cancelled, FeatureSettings, PixelClassifier, SegLabInputError
from napari_seglab.core.classifier import _tiles as tiles_module

FAST = FeatureSettings(sigmas=(1, 2, 4))


@pytest.fixture(scope="module")
def blobs():
    """Three bright disks on noise, with strokes on a few pixels of each class."""
    rng = np.random.default_rng(0)
    truth = np.zeros((96, 128), bool)
    yy, xx = np.mgrid[:96, :128]
    for cy, cx, r in ((25, 30, 12), (60, 90, 15), (70, 30, 9)):
        truth |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
    image = (ndi.gaussian_filter(truth * 40.0, 1.5) + rng.normal(100, 6, truth.shape)).astype(
        np.float32
    )
    strokes = np.zeros(truth.shape, np.uint8)
    strokes[ndi.binary_erosion(~truth, iterations=6) & (rng.random(truth.shape) < 0.05)] = 1
    strokes[ndi.binary_erosion(truth, iterations=3) & (rng.random(truth.shape) < 0.2)] = 2
    return image, truth, strokes


def f1(labels, truth):
    found = labels == 2
    return 2 * (found & truth).sum() / (found.sum() + truth.sum())


ESTIMATORS = {
    "extra trees": ExtraTreesClassifier(n_estimators=20, random_state=0),
    "pipeline": make_pipeline(StandardScaler(), LogisticRegression()),
    "hist gradient boosting": HistGradientBoostingClassifier(max_iter=20, random_state=0),
}


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_estimator_segments_and_round_trips_through_a_file(blobs, tmp_path, name):
    image, truth, strokes = blobs
    estimator = ESTIMATORS[name]
    clf = PixelClassifier(FAST, estimator=estimator, class_names={1: "bg", 2: "disk"})
    clf.fit(image, strokes)
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)  # the estimator given is cloned, never fitted itself
    labels = clf.predict(image)
    assert labels.dtype == np.uint8 and f1(labels, truth) > 0.8
    path = clf.save(tmp_path / "model.skops")
    with zipfile.ZipFile(path) as archive:
        assert "schema.json" in archive.namelist()  # skops, not pickle
    loaded = PixelClassifier.load(path)
    assert type(loaded.estimator_) is type(estimator)
    assert loaded.class_names == {1: "bg", 2: "disk"} and loaded.features == clf.features
    other = image[::-1].copy()
    np.testing.assert_array_equal(loaded.predict(other), clf.predict(other))
    np.testing.assert_array_equal(loaded.predict_proba(other), clf.predict_proba(other))


def test_estimator_learns_from_the_forests_rows_and_predicts_through_its_tiles(blobs, monkeypatch):
    image, _, strokes = blobs
    estimator = ExtraTreesClassifier(n_estimators=10, random_state=1)
    clf = PixelClassifier(FAST, estimator=estimator).fit(image, strokes)
    x, y, _ = clf._training_arrays(image, strokes, channel_axis=None)
    assert y.size == np.count_nonzero(strokes)
    reference = clone(estimator).fit(x, y)
    features = clf.feature_names_
    from napari_seglab.core import compute_features

    feats = compute_features(image, FAST).reshape(-1, len(features))
    expected = reference.predict_proba(feats).reshape(*image.shape, 2)
    whole = clf.segment(image)
    np.testing.assert_allclose(whole.probabilities, expected, atol=1e-6)
    np.testing.assert_allclose(whole.uncertainty, 1 - expected.max(axis=-1), atol=1e-6)
    monkeypatch.setattr(tiles_module, "_STRIP_VOXELS", 64)
    calls = []
    tiled = clf.segment(image, progress=lambda done, total: calls.append((done, total)))
    assert len(calls) == 3 and calls[-1] == (3, 3)
    np.testing.assert_array_equal(tiled.labels, whole.labels)
    polled = []
    with pytest.raises(Cancelled):
        clf.predict(image, cancel=lambda: polled.append(1) or len(polled) > 1)
    assert len(polled) == 2  # stopped between the first and the second tile
    importances = clf.feature_importances()
    assert set(importances) == set(features) and sum(importances.values()) == pytest.approx(1)


def test_estimator_on_dask_input_stays_lazy(blobs):
    image, _, strokes = blobs
    clf = PixelClassifier(FAST, estimator=make_pipeline(StandardScaler(), LogisticRegression()))
    lazy_image = da.from_array(image, chunks=(48, 64))
    lazy_strokes = da.from_array(strokes, chunks=(48, 64))
    clf.fit(lazy_image, lazy_strokes)
    labels = clf.predict(lazy_image)
    result = clf.segment(lazy_image)
    assert isinstance(labels, da.Array) and labels.numblocks == (2, 2)
    assert isinstance(result.probabilities, da.Array)
    np.testing.assert_array_equal(labels.compute(), clf.predict(image))
    np.testing.assert_allclose(result.probabilities.compute(), clf.predict_proba(image), atol=1e-6)


def test_estimator_without_predict_proba_gives_one_hot_probabilities(blobs):
    image, truth, strokes = blobs
    clf = PixelClassifier(FAST, estimator=make_pipeline(StandardScaler(), LinearSVC()))
    result = clf.fit(image, strokes).segment(image)
    assert set(np.unique(result.probabilities)) == {0.0, 1.0}
    # a linear model on strokes far inside each class: 0.88 with these features
    assert np.all(result.uncertainty == 0) and f1(result.labels, truth) > 0.85
    assert clf.feature_importances() == {}


@pytest.mark.parametrize("wrong", [StandardScaler(), KMeans(2), "ExtraTreesClassifier"])
def test_what_is_not_a_classifier_is_refused(wrong):
    with pytest.raises(SegLabInputError, match="must be a scikit-learn classifier"):
        PixelClassifier(estimator=wrong)


class Payload:
    """Rebuilding this object (what loading its file would do) creates a file."""

    def __init__(self, target):
        self.target = str(target)

    def __setstate__(self, state):
        with open(state["target"], "w") as out:
            out.write("ran")


def _skops_file(path, header, estimator, **extra):
    skops.io.dump({"header": json.dumps(header), "estimator": estimator, **extra}, path)
    return path


def test_skops_files_with_untrusted_types_are_refused_unloaded(blobs, tmp_path):
    image, _, strokes = blobs
    good = PixelClassifier(FAST, estimator=ExtraTreesClassifier(5, random_state=0))
    good = good.fit(image, strokes).save(tmp_path / "good.skops")
    content = skops.io.load(good, trusted=skops.io.get_untrusted_types(file=good))
    header, estimator = json.loads(content["header"]), content["estimator"]
    marker = tmp_path / "ran"

    # An object of a class of its own: trusting what the file names would run its code.
    crafted = _skops_file(tmp_path / "object.skops", header, estimator, x=Payload(marker))
    with pytest.raises(SegLabInputError, match=r"holds test_estimator\.Payload, which is not"):
        PixelClassifier.load(crafted)
    assert not marker.exists()
    skops.io.load(crafted, trusted=skops.io.get_untrusted_types(file=crafted))
    assert marker.exists()  # what the refusal prevented
    marker.unlink()

    # A function that runs commands, as the estimator.
    crafted = _skops_file(tmp_path / "function.skops", header, os.system)
    with pytest.raises(SegLabInputError, match=r"holds \w+\.system, which is not"):
        PixelClassifier.load(crafted)

    # Trusted types, but not a SegLab classifier file or not one that fits its header.
    cases = {
        "regressor.skops": ({**header}, StandardScaler().fit(np.ones((3, 2))), "classifier"),
        "classes.skops": ({**header, "classes": [1, 3]}, estimator, "classes do not match"),
        "newer.skops": ({**header, "format_version": 99}, estimator, "format 99"),
        "older.skops": ({**header, "format_version": 1}, estimator, "edited"),
        "features.skops": (
            {**header, "features": {**header["features"], "sigmas": [1, 2]}},
            estimator,
            "features do not match",
        ),
    }
    for name, (changed, fitted, message) in cases.items():
        with pytest.raises(SegLabInputError, match=message):
            PixelClassifier.load(_skops_file(tmp_path / name, changed, fitted))
    skops.io.dump({"weights": np.ones(3)}, tmp_path / "other.skops")
    with pytest.raises(SegLabInputError, match="not a napari-seglab classifier"):
        PixelClassifier.load(tmp_path / "other.skops")


def test_forest_files_keep_format_1(blobs, tmp_path):
    image, _, strokes = blobs
    clf = PixelClassifier(FAST, n_estimators=3).fit(image, strokes)
    path = clf.save(tmp_path / "f.npz")
    with np.load(path) as archive:
        assert json.loads(archive["header"].tobytes())["format_version"] == 1
    loaded = PixelClassifier.load(path)
    assert loaded.estimator is None and loaded.estimator_ is None
    np.testing.assert_array_equal(loaded.predict_proba(image), clf.predict_proba(image))


def test_skops_files_without_luminance_load_with_it_off(blobs, tmp_path):
    image, _, strokes = blobs
    rgb = np.stack([image, 255 - image, image / 2], axis=-1)
    off = FeatureSettings(sigmas=FAST.sigmas, luminance=False)
    old = PixelClassifier(off, estimator=ExtraTreesClassifier(5, random_state=0))
    old.fit(rgb, strokes, channel_axis=-1)
    path = old.save(tmp_path / "old.skops")
    content = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
    header = json.loads(content["header"])
    assert header["features"]["luminance"] is False
    del header["features"]["luminance"]  # as an earlier napari-seglab wrote it
    loaded = PixelClassifier.load(
        _skops_file(tmp_path / "earlier.skops", header, content["estimator"])
    )
    assert loaded.features == off and loaded.feature_names_ == old.feature_names_
    np.testing.assert_array_equal(
        loaded.predict_proba(rgb, channel_axis=-1), old.predict_proba(rgb, channel_axis=-1)
    )
