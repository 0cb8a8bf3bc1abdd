"""Every chunk-by-chunk result equals the in-memory one, on volumes spanning many chunks."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from scipy import ndimage as ndi

import napari_seglab as sl
from napari_seglab.core import chunked
from napari_seglab.core.cleanup import clean_up, fill_small_holes, remove_small_objects
from napari_seglab.core.metrics import evaluate
from napari_seglab.core.threshold import median_filter, threshold

SHAPE = (3, 130, 170)
CHUNKS = (1, 32, 40)


@pytest.fixture(scope="module")
def volume() -> np.ndarray:
    """Smooth blobs plus noise: objects of every size, many crossing chunk borders."""
    rng = np.random.default_rng(0)
    smooth = ndi.gaussian_filter(rng.normal(size=SHAPE), (0.5, 4, 4))
    img = 120 + 900 * smooth + rng.normal(0, 12, SHAPE)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def mask(volume) -> np.ndarray:
    return (volume > 140).astype(np.uint8)


def lazy(arr: np.ndarray, chunks=CHUNKS) -> da.Array:
    return da.from_array(arr, chunks=chunks)


def test_fixture_has_objects_across_chunk_borders(mask):
    labels, n = ndi.label(mask[0])
    crossing = {int(v) for v in np.unique(labels[31:33, :]) if v} & {
        int(v) for v in np.unique(labels[:, 39:41]) if v
    }
    assert n > 50 and crossing


@pytest.mark.parametrize(("size", "ndim"), [(3, 2), (5, 2), (3, 3)])
def test_median_equals_in_memory_including_borders(volume, size, ndim):
    out = chunked.median_filter(lazy(volume), size, ndim=ndim)
    assert isinstance(out, da.Array)
    np.testing.assert_array_equal(out.compute(), median_filter(volume, size, ndim=ndim))


def test_public_median_dispatches_on_dask(volume):
    out = sl.median_filter(lazy(volume), 3)
    assert isinstance(out, da.Array)
    np.testing.assert_array_equal(out.compute(), median_filter(volume, 3))


@pytest.mark.parametrize("method", [*sl.GLOBAL_METHODS])
def test_global_thresholds_exact_for_integers(volume, method):
    expected = threshold(volume, method, foreground="dark", median_size=3)
    result = sl.threshold(lazy(volume), method, foreground="dark", median_size=3)
    assert isinstance(result.mask, da.Array)
    assert result.value == expected.value
    np.testing.assert_array_equal(result.mask.compute(), expected.mask)


@pytest.mark.parametrize("dtype", [np.uint16, np.int32])
def test_integer_histogram_matches_scikit_image(volume, dtype):
    from skimage.exposure import histogram

    img = volume.astype(dtype) * 3 - 100
    counts, centers = chunked.histogram(lazy(img))[0]
    expected = histogram(img.ravel(), source_range="image")
    np.testing.assert_array_equal(counts, expected[0])
    np.testing.assert_array_equal(centers, expected[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["otsu", "yen", "isodata", "triangle", "multi_otsu"])
def test_float_thresholds_match_scikit_image_binning(volume, dtype, method):
    rng = np.random.default_rng(1)
    img = (volume / 255.0 + rng.normal(0, 0.01, volume.shape)).astype(dtype)
    expected = threshold(img, method)
    result = sl.threshold(lazy(img), method)
    assert result.value == expected.value
    np.testing.assert_array_equal(result.mask.compute(), expected.mask)


def test_per_plane_global_thresholds(volume):
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
def test_local_thresholds_with_halo(volume, method, options, per_plane):
    rng = np.random.default_rng(2)
    img = volume + rng.uniform(0, 0.5, volume.shape)  # no exact ties with the local mean
    expected = threshold(img, method, per_plane=per_plane, **options)
    chunks = CHUNKS if per_plane else (3, 32, 40)  # a 3D window needs all 3 planes
    result = sl.threshold(lazy(img, chunks), method, per_plane=per_plane, **options)
    assert result.value is None
    np.testing.assert_array_equal(result.mask.compute(), expected.mask)


def test_manual_and_rgb_channel(volume):
    rgb = np.stack([volume, 255 - volume, volume // 2], axis=-1)
    expected = threshold(rgb, "manual", value=100, rgb=True, channel=1)
    result = sl.threshold(lazy(rgb, (1, 32, 40, 3)), "manual", value=100, rgb=True, channel=1)
    np.testing.assert_array_equal(result.mask.compute(), expected.mask)
    lum = sl.threshold(lazy(rgb, (1, 32, 40, 3)), "otsu", rgb=True)
    assert lum.value == threshold(rgb, "otsu", rgb=True).value


@pytest.mark.parametrize("connectivity", [1, 2, 3])
def test_remove_small_objects_across_chunks(mask, connectivity):
    expected = remove_small_objects(mask, 40, connectivity=connectivity)
    result = sl.remove_small_objects(lazy(mask), 40, connectivity=connectivity)
    assert isinstance(result, da.Array)
    np.testing.assert_array_equal(result.compute(), expected)
    # Objects that cross borders are kept whole: sizes counted per chunk would remove more.
    assert expected.sum() > 0


def test_object_spanning_every_chunk_is_measured_whole():
    snake = np.zeros((130, 170), np.uint8)
    snake[5, :] = 1
    snake[5:125, 165] = 1
    snake[125, 10:166] = 1
    result = sl.remove_small_objects(lazy(snake, (32, 40)), 400)
    np.testing.assert_array_equal(result.compute(), snake)
    gone = sl.remove_small_objects(lazy(snake, (32, 40)), int(snake.sum()) + 1)
    assert int(gone.sum().compute()) == 0


def test_diagonal_contact_across_chunk_corner():
    img = np.zeros((64, 80), np.uint8)
    img[31, 39] = img[32, 40] = 1  # touch only through a corner shared by four chunks
    for connectivity, kept in ((1, 0), (2, 2)):
        out = sl.remove_small_objects(lazy(img, (32, 40)), 2, connectivity=connectivity)
        assert int(out.sum().compute()) == kept
        assert (out.compute() == remove_small_objects(img, 2, connectivity=connectivity)).all()


@pytest.mark.parametrize("connectivity", [1, 3])
def test_fill_small_holes_across_chunks(mask, connectivity):
    expected = fill_small_holes(mask, 30, connectivity=connectivity)
    result = sl.fill_small_holes(lazy(mask), 30, connectivity=connectivity)
    np.testing.assert_array_equal(result.compute(), expected)
    assert (expected != mask).any()


@pytest.mark.parametrize("dtype", [bool, np.uint8])
def test_clean_up_and_label_images(mask, dtype):
    data = mask.astype(dtype) * (1 if dtype is bool else 255)
    expected = clean_up(data, remove_smaller_than=25, fill_holes_smaller_than=20)
    result = sl.clean_up(lazy(data), remove_smaller_than=25, fill_holes_smaller_than=20)
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(result.compute(), expected)
    labels = ndi.label(mask)[0].astype(np.int32)
    np.testing.assert_array_equal(
        sl.remove_small_objects(lazy(labels), 30).compute(), remove_small_objects(labels, 30)
    )


def test_fill_holes_refuses_multi_label_images():
    labels = np.zeros((64, 64), np.int32)
    labels[:10, :10], labels[30:, 30:] = 1, 2
    with pytest.raises(sl.SegLabInputError, match="binary mask"):
        sl.fill_small_holes(lazy(labels, 16), 5)


def test_evaluate_counts_and_planes(mask, volume):
    truth = (ndi.uniform_filter(volume, 5) > 135).astype(np.uint8) * 255
    expected = evaluate(mask, truth)
    result = sl.evaluate(lazy(mask), lazy(truth))
    assert result.counts == expected.counts
    assert result.planes == expected.planes
    assert result.objects == expected.objects
    assert list(result.rows()) == list(expected.rows())


def test_evaluate_kesm_against_published_counts():
    image, truth = sl.load_kesm()
    result = sl.threshold(lazy(image, (100, 120)), "otsu", foreground="dark", median_size=3)
    assert result.value == 175
    counts = sl.evaluate(result.mask, lazy(truth, (100, 120))).counts
    assert counts == sl.ConfusionCounts(tp=5595, fp=122, fn=1863, tn=254564)


def test_bad_lazy_inputs(volume):
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


@pytest.fixture(scope="module")
def classifier(volume):
    from napari_seglab.core.classifier import PixelClassifier
    from napari_seglab.core.features import FeatureSettings

    strokes = np.zeros(volume.shape[1:], np.uint8)
    strokes[::9, ::9] = (volume[0, ::9, ::9] > 140) + 1
    settings = FeatureSettings(sigmas=(1, 4))
    return PixelClassifier(settings, n_estimators=8).fit(volume[0], strokes)


def test_predict_with_halo_equals_in_memory(volume, classifier):
    result = classifier.predict(lazy(volume))  # the public method dispatches to chunked
    assert isinstance(result, da.Array) and result.numblocks[1:] == (4, 5)  # 130 = 32+32+32+34
    np.testing.assert_array_equal(result.compute(), classifier.predict(volume))


def test_predict_refuses_other_channels_and_thin_chunks(volume, classifier):
    rgb = np.stack([volume[0]] * 3, axis=-1)
    with pytest.raises(sl.SegLabInputError, match="trained on images with 1 channel"):
        chunked.predict(classifier, lazy(rgb, (32, 40, 3)), channel_axis=-1)
    with pytest.raises(sl.SegLabInputError, match="needs a halo of 18 pixels"):
        chunked.predict(classifier, lazy(volume, (1, 8, 8)))


def test_0_255_mask_clean_up_across_chunks(mask):
    data = mask * np.uint8(255)
    expected = remove_small_objects(data, 40)
    assert set(np.unique(expected)) == {0, 255} and expected.sum() < data.sum()
    np.testing.assert_array_equal(sl.remove_small_objects(lazy(data), 40).compute(), expected)


def test_clean_up_fills_like_in_memory_when_every_object_is_removed():
    # Removal empties the 0/255 mask, so the whole (small) image becomes one hole: in
    # memory it is filled with 1 (no foreground value is left to copy).
    data = np.zeros((8, 10), np.uint8)
    data[2, 3] = 255
    expected = clean_up(data, remove_smaller_than=2, fill_holes_smaller_than=100)
    result = sl.clean_up(lazy(data, (4, 5)), remove_smaller_than=2, fill_holes_smaller_than=100)
    np.testing.assert_array_equal(result.compute(), expected)
    assert (expected == 1).all()


def test_clean_up_shares_passes_and_equals_the_two_steps(mask):
    # The fused clean-up equals removing then filling with the public functions, across
    # chunks, for a 3D connectivity that links chunks through their corners.
    expected = fill_small_holes(remove_small_objects(mask, 40, connectivity=3), 60, connectivity=3)
    result = sl.clean_up(
        lazy(mask), remove_smaller_than=40, fill_holes_smaller_than=60, connectivity=3
    )
    np.testing.assert_array_equal(result.compute(), expected)
    assert (expected != mask).any()
