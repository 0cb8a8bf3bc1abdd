"""Chunk-by-chunk thresholds equal the in-memory ones, on volumes spanning many chunks."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

import napari_seglab as sl
from napari_seglab.core.threshold import histogram, median_filter, threshold
from napari_seglab.core.threshold._lazy import median_filter as lazy_median_filter

CHUNKS = (1, 32, 40)


@pytest.mark.parametrize(("size", "ndim"), [(3, 2), (5, 2), (3, 3)])
def test_median_equals_in_memory_including_borders(volume, size, ndim, lazy):
    out = lazy_median_filter(lazy(volume), size, ndim=ndim)
    assert isinstance(out, da.Array)
    np.testing.assert_array_equal(out.compute(), median_filter(volume, size, ndim=ndim))


def test_public_median_dispatches_on_dask(volume, lazy):
    out = sl.median_filter(lazy(volume), 3)
    assert isinstance(out, da.Array)
    np.testing.assert_array_equal(out.compute(), median_filter(volume, 3))


@pytest.mark.parametrize("method", [*sl.GLOBAL_METHODS])
def test_global_thresholds_exact_for_integers(volume, method, lazy):
    expected = threshold(volume, method, foreground="dark", median_size=3)
    result = sl.threshold(lazy(volume), method, foreground="dark", median_size=3)
    assert isinstance(result.mask, da.Array)
    assert result.value == expected.value
    np.testing.assert_array_equal(result.mask.compute(), expected.mask)


@pytest.mark.parametrize("dtype", [np.uint16, np.int32])
def test_integer_histogram_matches_scikit_image(volume, dtype, lazy):
    from skimage.exposure import histogram as skimage_histogram

    img = volume.astype(dtype) * 3 - 100
    counts, centers = histogram(lazy(img))[0]
    expected = skimage_histogram(img.ravel(), source_range="image")
    np.testing.assert_array_equal(counts, expected[0])
    np.testing.assert_array_equal(centers, expected[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["otsu", "yen", "isodata", "triangle", "multi_otsu"])
def test_float_thresholds_match_scikit_image_binning(volume, dtype, method, lazy):
    rng = np.random.default_rng(1)
    img = (volume / 255.0 + rng.normal(0, 0.01, volume.shape)).astype(dtype)
    expected = threshold(img, method)
    result = sl.threshold(lazy(img), method)
    assert result.value == expected.value
    np.testing.assert_array_equal(result.mask.compute(), expected.mask)


def test_per_plane_global_thresholds(volume, lazy):
    img = volume.copy()
    img[1] = img[1] // 2 + 60
    expected = threshold(img, "otsu", per_plane=True, median_size=3)
    result = sl.threshold(lazy(img), "otsu", per_plane=True, median_size=3)
    np.testing.assert_array_equal(result.value, expected.value)
    np.testing.assert_array_equal(result.mask.compute(), expected.mask)


@pytest.mark.parametrize(
    ("method", "options"),
    [
        ("local_mean", {"block_size": 15, "offset": -0.5}),
        ("niblack", {"window_size": 11, "k": 0.1}),
        ("sauvola", {"window_size": 11}),
    ],
)
@pytest.mark.parametrize("per_plane", [True, False])
def test_local_thresholds_with_halo(volume, method, options, per_plane, lazy):
    rng = np.random.default_rng(2)
    img = volume + rng.uniform(0, 0.5, volume.shape)  # no exact ties with the local mean
    expected = threshold(img, method, per_plane=per_plane, **options)
    chunks = CHUNKS if per_plane else (3, 32, 40)  # a 3D window needs all 3 planes
    result = sl.threshold(lazy(img, chunks), method, per_plane=per_plane, **options)
    assert result.value is None
    np.testing.assert_array_equal(result.mask.compute(), expected.mask)


def test_manual_and_rgb_channel(volume, lazy):
    rgb = np.stack([volume, 255 - volume, volume // 2], axis=-1)
    expected = threshold(rgb, "manual", value=100, rgb=True, channel=1)
    result = sl.threshold(lazy(rgb, (1, 32, 40, 3)), "manual", value=100, rgb=True, channel=1)
    np.testing.assert_array_equal(result.mask.compute(), expected.mask)
    lum = sl.threshold(lazy(rgb, (1, 32, 40, 3)), "otsu", rgb=True)
    assert lum.value == threshold(rgb, "otsu", rgb=True).value


def test_bad_lazy_inputs(volume, lazy):
    with pytest.raises(sl.SegLabInputError, match="halo"):
        sl.median_filter(lazy(volume, (1, 2, 2)), 7)
    with pytest.raises(sl.SegLabInputError, match="shape"):
        sl.evaluate(lazy(volume), lazy(volume[:, :-1]))
    with pytest.raises(sl.SegLabInputError, match="NaN"):
        sl.threshold(lazy(np.array([[0.0, np.nan], [1.0, 2.0]]), 1), "otsu")
    with pytest.raises(sl.SegLabInputError, match="constant"):
        sl.threshold(lazy(np.ones((40, 40), np.uint8), 8), "otsu")
    with pytest.raises(sl.SegLabInputError, match="li on a lazy floating"):
        sl.threshold(lazy(volume / 255.0), "li")
    with pytest.raises(sl.SegLabInputError, match="block size"):
        sl.threshold(lazy(volume), "local_mean", block_size=4)


@pytest.mark.parametrize("per_plane", [False, True])
def test_try_all_on_dask_equals_in_memory(volume, mask, lazy, per_plane):
    truth = np.roll(mask, 2, axis=-1)  # not the threshold itself: scores below 1
    expected = sl.try_all_thresholds(
        volume, foreground="dark", median_size=3, per_plane=per_plane, ground_truth=truth
    )
    result = sl.try_all_thresholds(
        lazy(volume), foreground="dark", median_size=3, per_plane=per_plane, ground_truth=truth
    )
    assert [o.method for o in result.outcomes] == [o.method for o in expected.outcomes]
    for got, want in zip(result.outcomes, expected.outcomes, strict=True):
        assert got.error == want.error
        if want.result is None:
            continue
        assert isinstance(got.result.mask, da.Array)
        np.testing.assert_array_equal(got.result.value, want.result.value)
        np.testing.assert_array_equal(got.result.mask.compute(), want.result.mask)
        assert got.evaluation.counts == want.evaluation.counts
        assert got.evaluation.planes == want.evaluation.planes


def test_try_all_on_dask_reads_one_histogram_for_every_method(volume, lazy, monkeypatch):
    from napari_seglab.core.threshold import _lazy

    passes = []
    real = _lazy.histogram
    monkeypatch.setattr(_lazy, "histogram", lambda *a, **k: passes.append(1) or real(*a, **k))
    image = lazy(volume)
    result = sl.try_all_thresholds(image, ground_truth=lazy(volume > 140))
    assert len(passes) == 1
    assert result.ranked and result.best.evaluation is not None
    truth = sl.try_all_thresholds(volume, ground_truth=volume > 140)
    assert result.best.method is truth.best.method


def test_prepare_image_and_iter_try_all_stay_lazy(volume, lazy):
    from napari_seglab.core.threshold import iter_try_all, prepare_image

    rgb = np.stack([volume, 255 - volume, volume // 2], axis=-1)
    prepared = prepare_image(lazy(rgb, (1, 32, 40, 3)), rgb=True, channel=1, median_size=3)
    assert isinstance(prepared, da.Array)
    np.testing.assert_array_equal(
        prepared.compute(), prepare_image(rgb, rgb=True, channel=1, median_size=3)
    )
    outcomes = list(iter_try_all(lazy(volume), methods=["otsu", "li"], foreground="dark"))
    assert [o.method.value for o in outcomes] == ["otsu", "li"]
    assert all(isinstance(o.result.mask, da.Array) for o in outcomes)
