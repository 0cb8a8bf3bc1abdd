"""The classifier chunk by chunk: the same classes as in memory, chunk borders included."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

import napari_seglab as sl
from napari_seglab.core.classifier._lazy import predict as lazy_predict


@pytest.fixture(scope="module")
def classifier(volume):
    from napari_seglab.core.classifier import FeatureSettings, PixelClassifier

    strokes = np.zeros(volume.shape[1:], np.uint8)
    strokes[::9, ::9] = (volume[0, ::9, ::9] > 140) + 1
    settings = FeatureSettings(sigmas=(1, 4))
    return PixelClassifier(settings, n_estimators=8).fit(volume[0], strokes)


def test_predict_with_halo_equals_in_memory(volume, classifier, lazy):
    result = classifier.predict(lazy(volume))  # the public method dispatches to chunked
    assert isinstance(result, da.Array) and result.chunks[1:] == (  # chunks of 32 x 40 merged
        (32, 32, 32, 34),  # where thinner than the halo of 26 (DoG at sigma 4)
        (40, 40, 40, 50),
    )
    np.testing.assert_array_equal(result.compute(), classifier.predict(volume))


def test_predict_in_3d_computes_each_chunk_within_its_halo_as_in_memory():
    from napari_seglab.core.classifier import FeatureSettings, PixelClassifier

    rng = np.random.default_rng(1)
    image = (rng.random((14, 30, 36)) * 255).astype(np.uint8)
    strokes = np.zeros(image.shape, np.uint8)
    strokes[::3, ::5, ::5] = (image[::3, ::5, ::5] > 127) + 1
    clf = PixelClassifier(FeatureSettings(sigmas=(1,), mode="3d"), n_estimators=4)
    clf.fit(image, strokes)
    lazy_image = da.from_array(image, chunks=(7, 12, 14))  # a halo of 6 along every axis
    result = clf.segment(lazy_image)
    whole = clf.segment(image)
    np.testing.assert_array_equal(result.labels.compute(), whole.labels)
    np.testing.assert_array_equal(result.probabilities.compute(), whole.probabilities)
    np.testing.assert_array_equal(clf.predict(lazy_image).compute(), clf.predict(image))


@pytest.mark.parametrize(("concurrent", "n_jobs"), [(True, 2), (False, None)])
def test_each_chunk_runs_on_one_numba_thread_where_launches_run_at_once(
    volume, lazy, monkeypatch, concurrent, n_jobs
):
    """Chunks side by side, one numba thread each, whatever the classifier's n_jobs; where
    launches run one at a time (numba's workqueue layer), each chunk keeps every thread."""
    import numba

    from napari_seglab.core.classifier import FeatureSettings, PixelClassifier, _numba, _traversal

    strokes = np.zeros(volume.shape[1:], np.uint8)
    strokes[::9, ::9] = (volume[0, ::9, ::9] > 140) + 1
    clf = PixelClassifier(FeatureSettings(sigmas=(1,)), n_estimators=4, n_jobs=n_jobs)
    clf.fit(volume[0], strokes)
    expected = clf.predict(volume)
    monkeypatch.setattr(_numba.LAUNCH, "_safe", concurrent)
    if not concurrent:  # what numba reports where neither OpenMP nor TBB is installed
        monkeypatch.setattr(numba, "threading_layer", lambda: "workqueue")
    votes, seen = _traversal.forest_votes, []

    def counted(*args, **kwargs):
        seen.append(numba.get_num_threads())
        return votes(*args, **kwargs)

    monkeypatch.setattr(_traversal, "forest_votes", counted)
    result = lazy_predict(clf, lazy(volume, (1, 32, 40))).compute(scheduler="threads")
    np.testing.assert_array_equal(result, expected)
    assert seen and set(seen) == ({1} if concurrent else {min(2, numba.config.NUMBA_NUM_THREADS)})


def test_predict_refuses_other_channels_and_thin_chunks(volume, classifier, lazy):
    rgb = np.stack([volume[0]] * 3, axis=-1)
    with pytest.raises(sl.SegLabInputError, match="trained on images with 1 channel"):
        lazy_predict(classifier, lazy(rgb, (32, 40, 3)), channel_axis=-1)
    with pytest.raises(sl.SegLabInputError, match="needs a halo of 26 pixels"):
        lazy_predict(classifier, lazy(volume, (1, 8, 8)))


class Reads:
    """An array that records the regions dask reads from it (each a tuple of slices)."""

    def __init__(self, arr: np.ndarray) -> None:
        self.arr, self.shape, self.dtype, self.ndim = arr, arr.shape, arr.dtype, arr.ndim
        self.regions: list[tuple] = []

    def __getitem__(self, index):
        self.regions.append(index)
        return self.arr[index]


def test_segment_and_predict_proba_are_lazy_and_equal_in_memory(volume, classifier, lazy):
    result = classifier.segment(lazy(volume))
    assert all(isinstance(a, da.Array) for a in (result.labels, result.probabilities))
    assert isinstance(result.uncertainty, da.Array) and result.classes == (1, 2)
    labels, proba, doubt = da.compute(result.labels, result.probabilities, result.uncertainty)
    whole = classifier.segment(volume)
    np.testing.assert_array_equal(labels, whole.labels)
    np.testing.assert_array_equal(proba, whole.probabilities)
    np.testing.assert_array_equal(doubt, whole.uncertainty)
    assert labels.dtype == np.uint8 and proba.dtype == doubt.dtype == np.float32
    np.testing.assert_array_equal(
        classifier.predict_proba(lazy(volume)).compute(), whole.probabilities
    )
    np.testing.assert_array_equal(result.probability(2).compute(), whole.probability(2))


def test_segment_of_a_lazy_rgb_image_keeps_the_channels_whole(volume, lazy):
    from napari_seglab.core.classifier import FeatureSettings, PixelClassifier

    rgb = np.stack([volume[0], 255 - volume[0], volume[0] // 2], axis=-1)
    strokes = np.zeros(rgb.shape[:2], np.uint8)
    strokes[::9, ::9] = (volume[0, ::9, ::9] > 140) + 1
    clf = PixelClassifier(FeatureSettings(sigmas=(1, 2)), n_estimators=4)
    clf.fit(rgb, strokes, channel_axis=-1)
    result = clf.segment(lazy(rgb, (32, 40, 1)), channel_axis=-1)
    np.testing.assert_array_equal(
        result.probabilities.compute(), clf.segment(rgb, channel_axis=-1).probabilities
    )


def test_compute_features_is_lazy_and_equal_in_memory(volume, lazy):
    from napari_seglab.core.classifier import FeatureSettings, compute_features

    settings = FeatureSettings(sigmas=(1, 3), structure_tensor=True, dog=True)
    features = compute_features(lazy(volume), settings)
    assert isinstance(features, da.Array) and features.chunks[-1] == (features.shape[-1],)
    np.testing.assert_array_equal(features.compute(), compute_features(volume, settings))
    with pytest.raises(sl.SegLabInputError, match="needs an image in memory"):
        compute_features(lazy(volume), settings, mask=volume > 140)
    with pytest.raises(sl.SegLabInputError, match="needs a halo"):
        compute_features(lazy(volume, (1, 8, 8)), settings)


def test_fit_reads_only_the_painted_planes_and_learns_the_same_forest(volume, lazy):
    from napari_seglab.core.classifier import FeatureSettings, PixelClassifier

    strokes = np.zeros(volume.shape, np.uint8)
    strokes[1, 40:90:7, 30:120:9] = (volume[1, 40:90:7, 30:120:9] > 140) + 1
    strokes[2, 100:104, 10:20] = 1
    settings = FeatureSettings(sigmas=(1, 2))
    plain = PixelClassifier(settings, n_estimators=4).fit(volume, strokes)
    source = Reads(volume)
    image = da.from_array(source, chunks=(1, 32, 40))
    for painted in (strokes, lazy(strokes)):
        source.regions.clear()
        fitted = PixelClassifier(settings, n_estimators=4).fit(image, painted)
        for name in ("feature", "threshold", "leaf"):
            np.testing.assert_array_equal(fitted._model.arrays[name], plain._model.arrays[name])
        assert {region[0].start for region in source.regions} == {1, 2}  # not plane 0
        read = sum(int(np.prod([s.stop - s.start for s in r])) for r in source.regions)
        assert read < volume[1:].size  # around the strokes only


def test_fit_on_lazy_input_still_checks_the_annotations(volume, lazy):
    from napari_seglab.core.classifier import FeatureSettings, PixelClassifier

    clf = PixelClassifier(FeatureSettings(sigmas=(1,)), n_estimators=2)
    with pytest.raises(sl.SegLabInputError, match="have shape"):
        clf.fit(lazy(volume), np.zeros(volume.shape[1:], np.uint8))
    negative = np.zeros(volume.shape, np.int16)
    negative[2, 5, 5] = -1
    with pytest.raises(sl.SegLabInputError, match="between 0"):
        clf.fit(lazy(volume), lazy(negative))
    with pytest.raises(sl.SegLabInputError, match="No strokes"):
        clf.fit(lazy(volume), lazy(np.zeros(volume.shape, np.uint8)))


def test_classifying_lazy_features_is_refused(volume, classifier, lazy):
    from napari_seglab.core.classifier import compute_features

    features = compute_features(lazy(volume), classifier.features)
    with pytest.raises(sl.SegLabInputError, match="call predict or segment on the image"):
        classifier.predict_features(features)


def test_a_plane_preview_of_a_dask_plane_is_refused(volume, lazy):
    from napari_seglab.core.classifier import FeatureSettings, PlanePreview

    with pytest.raises(sl.SegLabInputError, match="in memory"):
        PlanePreview(lazy(volume)[0], FeatureSettings(sigmas=(1,)))
    PlanePreview(np.asarray(lazy(volume)[0]), FeatureSettings(sigmas=(1,)))  # as it says


def test_lazy_rgb_features_with_the_luminance_equal_in_memory(volume, lazy):
    from napari_seglab.core.classifier import FeatureSettings, compute_features, feature_names

    rgb = np.stack([volume[:2], 255 - volume[:2], volume[:2] // 2], axis=-1)
    settings = FeatureSettings(sigmas=(1, 3))
    features = compute_features(lazy(rgb, (1, 32, 40, 3)), settings, channel_axis=-1)
    assert (
        features.shape[-1] == len(feature_names(settings, 3)) == 4 * len(feature_names(settings))
    )
    assert features.chunks[-1] == (features.shape[-1],)
    np.testing.assert_array_equal(
        features.compute(), compute_features(rgb, settings, channel_axis=-1)
    )
    # Channels first, as a dask array of one chunk per channel.
    first = compute_features(
        lazy(np.moveaxis(rgb, -1, 0), (1, 1, 32, 40)), settings, channel_axis=0
    )
    np.testing.assert_array_equal(first.compute(), features.compute())
