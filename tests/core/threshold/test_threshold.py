"""Thresholds on real images, against the published baselines and scikit-image itself."""

from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import filters
from skimage.color import rgb2gray

from napari_seglab import load_kesm
from napari_seglab.core import SegLabInputError, ThresholdMethod, threshold, try_all_thresholds
from napari_seglab.core.threshold import GLOBAL_METHODS, ThresholdOptions, median_filter


def _pairs(shared_data, folder):
    meta = json.loads((shared_data / folder / "pairs.json").read_text())
    for pair in meta["pairs"]:
        image = iio.imread(shared_data / folder / pair["image"])
        mask = iio.imread(shared_data / folder / pair["mask"])
        yield pair, image, mask


def test_kesm_dark_median_otsu_reproduces_the_article_pipeline():
    # The article inverts the tile, median-filters it (3 x 3), and keeps `inverted > otsu`.
    image, _ = load_kesm()
    inverted = ndi.median_filter(255 - image, size=3)
    article = inverted > filters.threshold_otsu(inverted)

    result = threshold(image, "otsu", foreground="dark", median_size=3)

    assert result.value == 175
    assert result.mask.dtype == np.uint8
    np.testing.assert_array_equal(result.mask, article)


def test_bright_and_dark_masks_are_complements():
    image, _ = load_kesm()
    bright = threshold(image, "li", median_size=3).mask
    dark = threshold(image, "li", foreground="dark", median_size=3).mask
    np.testing.assert_array_equal(bright + dark, np.ones_like(bright))


@pytest.mark.parametrize(
    "folder", ["bbbc039_u2os_nuclei", "dsb2018_fluo_nuclei", "dsb2018_he_histology_nuclei"]
)
def test_otsu_matches_the_manifest_baselines(shared_data, folder):
    # MANIFEST.md of each data set lists the Otsu threshold of `median 3 + Otsu`, with RGB
    # turned into luminance first; thresholds must agree to the printed precision.
    manifest = (shared_data / folder / "MANIFEST.md").read_text()
    for pair, image, _mask in _pairs(shared_data, folder):
        is_rgb = image.ndim == 3
        result = threshold(image, "otsu", foreground=pair["polarity"], median_size=3, rgb=is_rgb)
        row = next(line for line in manifest.splitlines() if f"`{pair['image']}`" in line)
        published = float(row.split("|")[9])
        decimals = 4 if is_rgb else 0
        assert round(result.value, decimals) == pytest.approx(published, abs=10**-decimals)


def test_rgb_luminance_and_channel_choice(shared_data):
    _, image, _ = next(_pairs(shared_data, "dsb2018_he_histology_nuclei"))
    luminance = threshold(image, "otsu", foreground="dark", rgb=True)
    assert luminance.value == pytest.approx(filters.threshold_otsu(rgb2gray(image)))
    red = threshold(image, "otsu", foreground="dark", rgb=True, channel=0)
    assert red.value == filters.threshold_otsu(image[..., 0])
    assert red.mask.shape == image.shape[:2]
    with pytest.raises(SegLabInputError, match="Channel 5 does not exist"):
        threshold(image, rgb=True, channel=5)


@pytest.mark.parametrize("method", [m.value for m in GLOBAL_METHODS if m.value != "multi_otsu"])
def test_every_global_method_equals_scikit_image(method):
    image, _ = load_kesm()
    result = threshold(image, method)
    expected = getattr(filters, f"threshold_{method}")(image)
    assert result.value == pytest.approx(expected)
    np.testing.assert_array_equal(result.mask, image > expected)


def test_multi_otsu_boundary_and_manual_value():
    image, _ = load_kesm()
    values = filters.threshold_multiotsu(image, classes=3)
    assert threshold(image, "multi_otsu", classes=3, boundary=2).value == values[1]
    assert threshold(image, "manual", value=100).mask.sum() == np.count_nonzero(image > 100)
    with pytest.raises(SegLabInputError, match="boundary must be 1 to 2"):
        threshold(image, "multi_otsu", classes=3, boundary=3)
    with pytest.raises(SegLabInputError, match="needs a threshold value"):
        threshold(image, "manual")


def _searched_bins(monkeypatch, name: str) -> list[int]:
    """The number of histogram bins of each call of scikit-image's ``filters.<name>``."""
    searched, function = [], getattr(filters, name)

    def recorded(**kwargs):
        searched.append(len(kwargs["hist"][0]))
        return function(**kwargs)

    monkeypatch.setattr(filters, name, recorded)
    return searched


@pytest.mark.parametrize("classes", [3, 6])
def test_multi_otsu_searches_a_bounded_histogram_of_a_16_bit_image(classes, monkeypatch):
    """One bin per value of a 16-bit image, or scikit-image's 256 bins for 6 classes, would
    take minutes; the search gets merged bins, and still finds the populations."""
    import dask.array as da

    from napari_seglab.core.threshold import _methods

    rng = np.random.default_rng(0)
    levels = np.linspace(3000, 62000, classes)
    image = rng.choice(levels, (96, 96)) + rng.normal(0, 400, (96, 96))
    image = np.clip(image, 0, 65535).astype(np.uint16)
    image[0, 0], image[0, 1] = 0, 65535  # the full 16-bit range
    searched = _searched_bins(monkeypatch, "threshold_multiotsu")
    for boundary in range(1, classes):
        value = threshold(image, "multi_otsu", classes=classes, boundary=boundary).value
        assert levels[boundary - 1] < value < levels[boundary]
        lazy = threshold(da.from_array(image, chunks=32), "multi_otsu", classes=classes,
                         boundary=boundary)  # fmt: skip
        assert lazy.value == value
    from math import comb

    assert all(comb(n, classes - 1) <= _methods.MULTI_OTSU_SEARCH for n in searched)
    assert min(searched) > 32  # merged, not collapsed


def test_minimum_smooths_at_most_256_bins_of_a_16_bit_image(monkeypatch):
    """Smoothing one bin per value of a 16-bit image until two maxima are left took minutes
    (and then failed); it gets scikit-image's 256 bins for floating-point images."""
    import dask.array as da

    rng = np.random.default_rng(1)
    image = np.where(rng.random((96, 96)) < 0.3, 50000, 9000) + rng.normal(0, 1500, (96, 96))
    image = np.clip(image, 0, 65535).astype(np.uint16)
    image[0, 0], image[0, 1] = 0, 65535
    searched = _searched_bins(monkeypatch, "threshold_minimum")
    value = threshold(image, "minimum").value
    assert 9000 < value < 50000
    assert threshold(da.from_array(image, chunks=32), "minimum").value == value
    assert searched == [256, 256]


@pytest.mark.parametrize(
    ("method", "options", "reference"),
    [
        (
            "local_mean",
            {"block_size": 51, "offset": 5},
            lambda im: filters.threshold_local(im, 51, method="mean", offset=5),
        ),
        (
            "niblack",
            {"window_size": 25, "k": 0.1},
            lambda im: filters.threshold_niblack(im, window_size=25, k=0.1),
        ),
        (
            "sauvola",
            {"window_size": 25, "k": 0.1},
            lambda im: filters.threshold_sauvola(im, window_size=25, k=0.1),
        ),
    ],
)
def test_local_methods(method, options, reference):
    image, _ = load_kesm()
    result = threshold(image, method, foreground="dark", **options)
    assert result.value is None
    np.testing.assert_array_equal(result.mask, image <= reference(image))
    assert "local" in result.describe()


def test_even_block_size_is_refused():
    image, _ = load_kesm()
    with pytest.raises(SegLabInputError, match="odd"):
        threshold(image, "local_mean", block_size=40)


def test_per_plane_equals_each_plane_alone(shared_data):
    stack = np.stack([image for _, image, _ in _pairs(shared_data, "bbbc039_u2os_nuclei")])
    result = threshold(stack, "otsu", median_size=3, per_plane=True)
    assert result.value.shape == (stack.shape[0],)
    for i, plane in enumerate(stack):
        alone = threshold(plane, "otsu", median_size=3)
        assert result.value[i] == alone.value
        np.testing.assert_array_equal(result.mask[i], alone.mask)
    whole = threshold(stack, "otsu", median_size=3)
    assert np.ndim(whole.value) == 0
    assert "over 6 planes" in result.describe()


def test_median_per_plane_differs_from_3d_median(shared_data):
    stack = np.stack([image for _, image, _ in _pairs(shared_data, "bbbc039_u2os_nuclei")])
    planewise = median_filter(stack, 3, ndim=2)
    np.testing.assert_array_equal(planewise[2], ndi.median_filter(stack[2], size=3))
    volumetric = median_filter(stack, 3, ndim=3)
    np.testing.assert_array_equal(volumetric, ndi.median_filter(stack, size=3))


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.full((8, 8), 7, np.uint8), "constant"),
        (np.array([[0.0, np.nan], [1.0, 2.0]]), "NaN"),
        (np.zeros((0, 5)), "empty"),
        (np.arange(5.0), "at least 2 dimensions"),
        (np.array([["a", "b"], ["c", "d"]]), "integer or floating-point"),
        (np.zeros((6, 6, 3), np.uint8), "constant"),
    ],
)
def test_bad_images_raise_clear_errors(image, message):
    with pytest.raises(SegLabInputError, match=message):
        threshold(image)


def test_input_is_never_modified():
    image, _ = load_kesm()
    before = image.copy()
    threshold(image, "otsu", foreground="dark", median_size=3)
    try_all_thresholds(image, median_size=3)
    np.testing.assert_array_equal(image, before)


def test_try_all_ranks_by_mcc_with_ground_truth():
    image, truth = load_kesm()
    result = try_all_thresholds(image, foreground="dark", median_size=3, ground_truth=truth)
    assert result.ranked
    mccs = [o.evaluation.scores.mcc for o in result.outcomes]
    assert mccs == sorted(mccs, reverse=True)
    assert result.best.method is ThresholdMethod.YEN
    assert result["otsu"].evaluation.counts.tp == 5595
    assert {row["method"] for row in result.table()} == {m.value for m in GLOBAL_METHODS}


def test_try_all_reports_a_failing_method_and_runs_the_others():
    # A ramp has a flat histogram: no two peaks for the minimum method to split between.
    ramp = np.tile(np.linspace(0.0, 1.0, 64), (64, 1))
    seen = []
    result = try_all_thresholds(ramp, progress=lambda done, total, m: seen.append(done))
    assert seen == list(range(1, len(GLOBAL_METHODS) + 1))
    failed = result["minimum"]
    assert failed.result is None
    assert "minimum cannot threshold this image" in failed.error
    assert result["otsu"].result is not None
    assert not result.ranked


def test_try_all_refuses_a_ground_truth_of_another_shape():
    image, truth = load_kesm()
    with pytest.raises(SegLabInputError, match="shape"):
        try_all_thresholds(image, ground_truth=truth[:100])


def test_blank_planes_stay_background_when_thresholding_each_plane():
    image, _ = load_kesm()
    stack = np.stack([image, np.zeros_like(image), image])
    result = threshold(stack, "otsu", foreground="dark", median_size=3, per_plane=True)
    assert result.value[0] == result.value[2] == 175
    assert np.isnan(result.value[1])
    assert not result.mask[1].any()
    np.testing.assert_array_equal(result.mask[0], result.mask[2])
    assert "(1 blank, left as background)" in result.describe()


def test_half_float_images_are_accepted():
    image, _ = load_kesm()
    half = (image / 255).astype(np.float16)
    result = threshold(half, "otsu", foreground="dark", median_size=3)
    reference = threshold(half.astype(np.float32), "otsu", foreground="dark", median_size=3)
    np.testing.assert_array_equal(result.mask, reference.mask)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"method": "local_mean", "block_size": 4}, "block size must be odd"),
        ({"method": "niblack", "window_size": 1}, "window size must be odd"),
        ({"method": "multi_otsu", "classes": 1}, "at least 2 classes"),
        ({"method": "multi_otsu", "classes": 3, "boundary": 0}, "boundary must be 1 to 2"),
        ({"method": "manual"}, "needs a threshold value"),
        ({"median_size": -1}, "median size must be 0"),
        ({"median_ndim": 4}, "median_ndim must be 2 or 3"),
        ({"plane_ndim": 1}, "plane_ndim must be 2 or 3"),
        ({"method": "fancy"}, "Unknown threshold method 'fancy'"),
        ({"foreground": "grey"}, "Unknown foreground"),
    ],
)
def test_options_are_checked_once_when_made(options, message):
    with pytest.raises(SegLabInputError, match=message):
        ThresholdOptions(**options)
    image, _ = load_kesm()
    with pytest.raises(SegLabInputError, match=message):
        threshold(image, **options)


def test_options_of_other_methods_are_not_checked():
    options = ThresholdOptions("otsu", block_size=4, classes=1, window_size=2)
    assert options.method is ThresholdMethod.OTSU
    with pytest.raises(SegLabInputError, match="block size"):
        options.with_method("local_mean")


def test_options_object_and_keywords_give_the_same_result():
    image, truth = load_kesm()
    options = ThresholdOptions("otsu", foreground="dark", median_size=3)
    by_object = threshold(image, options=options)
    by_keywords = threshold(image, "otsu", foreground="dark", median_size=3)
    np.testing.assert_array_equal(by_object.mask, by_keywords.mask)
    assert threshold(image, "yen", options=options).method is ThresholdMethod.YEN
    assert try_all_thresholds(image, options=options, ground_truth=truth).best.method == "yen"
    with pytest.raises(TypeError, match="median"):
        threshold(image, "otsu", median=3)
