"""Mistyped names, odd options and unusual images: one clear sentence, or a sensible result."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from napari_seglab import load_kesm
from napari_seglab.core import SegLabInputError
from napari_seglab.core.threshold import (
    GLOBAL_METHODS,
    Foreground,
    ThresholdMethod,
    ThresholdOptions,
    median_filter,
    threshold,
    try_all_thresholds,
)


@pytest.fixture(scope="module")
def kesm() -> np.ndarray:
    return load_kesm()[0]


@pytest.mark.parametrize("name", ["Otsu", "OTSU", " otsu "])
def test_method_names_ignore_case(kesm, name):
    assert ThresholdMethod(name) is ThresholdMethod.OTSU
    assert (
        threshold(kesm, name, foreground="Dark").value
        == threshold(kesm, "otsu", foreground="dark").value
    )
    assert ThresholdMethod("Multi-Otsu") is ThresholdMethod.MULTI_OTSU
    assert Foreground("BRIGHT") is Foreground.BRIGHT


@pytest.mark.parametrize(
    "call",
    [
        lambda img: threshold(img, "otsuu"),
        lambda img: ThresholdOptions("otsuu"),
        lambda img: try_all_thresholds(img, methods=["otsu", "otsuu"]),
        lambda img: try_all_thresholds(da.from_array(img, chunks=128), methods=["otsuu"]),
    ],
)
def test_a_mistyped_method_lists_the_valid_names(kesm, call):
    with pytest.raises(
        SegLabInputError, match=r"Unknown threshold method 'otsuu'; choose one of 'otsu', 'li'"
    ):
        call(kesm)


def test_a_mistyped_foreground_lists_the_valid_names(kesm):
    with pytest.raises(
        SegLabInputError, match=r"Unknown foreground 'drak'; choose one of 'bright', 'dark'"
    ):
        threshold(kesm, foreground="drak")


@pytest.mark.parametrize("size", [2, 4, 10])
def test_an_even_median_size_is_refused(kesm, size):
    message = f"median size must be odd .* not {size}.* Use {size - 1} or {size + 1}"
    for call in (
        lambda img: threshold(img, median_size=size),
        lambda img: median_filter(img, size),
        lambda img: median_filter(da.from_array(img, chunks=128), size),
        lambda img: ThresholdOptions(median_size=size),
    ):
        with pytest.raises(SegLabInputError, match=message):
            call(kesm)


@pytest.mark.parametrize("size", [-1, -3, 2.5, True])
def test_negative_or_fractional_median_sizes_are_refused(kesm, size):
    with pytest.raises(SegLabInputError, match="median size must be"):
        threshold(kesm, median_size=size)
    with pytest.raises(SegLabInputError, match="median size must be"):
        median_filter(kesm, size)


@pytest.mark.parametrize("method", ["otsu", "mean", "li", "triangle", "multi_otsu"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("foreground", ["bright", "dark"])
def test_a_blank_plane_is_nan_and_background_lazily_too(kesm, method, dtype, foreground):
    stack = np.stack([kesm, np.full_like(kesm, 7), kesm // 2]).astype(dtype)
    chunked = da.from_array(stack, chunks=(1, 128, 128))
    if method == "li" and dtype == np.float32:  # scikit-image's li iterates over the pixels
        with pytest.raises(SegLabInputError, match="li on a lazy floating-point image"):
            threshold(chunked, method, per_plane=True, foreground=foreground)
        return
    eager = threshold(stack, method, per_plane=True, foreground=foreground)
    lazy = threshold(chunked, method, per_plane=True, foreground=foreground)
    np.testing.assert_array_equal(eager.value, lazy.value)
    assert np.isnan(lazy.value[1])
    np.testing.assert_array_equal(eager.mask, lazy.mask.compute())
    assert not eager.mask[1].any()


@pytest.mark.parametrize(
    ("fill", "message"), [(0, "no foreground pixel"), (1, "foreground everywhere")]
)
@pytest.mark.parametrize("lazy", [False, True])
def test_try_all_against_an_empty_or_full_truth_warns_and_does_not_rank(kesm, fill, message, lazy):
    truth = np.full(kesm.shape, fill, np.uint8)
    image = da.from_array(kesm, chunks=128) if lazy else kesm
    truth = da.from_array(truth, chunks=128) if lazy else truth
    result = try_all_thresholds(image, ground_truth=truth, foreground="dark")
    assert message in result.warning and not result.ranked
    assert [o.method for o in result.outcomes] == list(GLOBAL_METHODS)
    assert all(o.evaluation is not None for o in result.outcomes if o.result is not None)


def test_try_all_with_a_real_truth_ranks_without_warning(kesm):
    _, truth = load_kesm()
    result = try_all_thresholds(kesm, ground_truth=truth, foreground="dark")
    assert result.ranked and result.warning == ""


def test_half_floats_give_the_same_threshold_lazily(kesm):
    half = kesm.astype(np.float16)  # lazily the histogram was of float16 bins: 175.25
    assert threshold(da.from_array(half, chunks=128)).value == threshold(half).value


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "high"])
def test_a_manual_value_that_is_no_finite_number_is_refused(kesm, value):
    with pytest.raises(SegLabInputError, match="manual threshold must be a"):
        threshold(kesm, "manual", value=value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"method": "multi_otsu", "classes": 3.5}, "number of classes must be a whole number"),
        ({"method": "sauvola", "window_size": "15"}, "window size must be a whole number"),
    ],
)
def test_counts_must_be_whole_numbers(kesm, options, message):
    with pytest.raises(SegLabInputError, match=message):
        threshold(kesm, **options)
    assert threshold(kesm, "niblack", window_size=15.0).mask.shape == kesm.shape


def test_multi_otsu_with_more_classes_than_values_says_choose_fewer():
    three = np.tile(np.array([0, 1, 2], np.uint8), (10, 10))
    for image in (three, da.from_array(three, chunks=5)):
        with pytest.raises(SegLabInputError, match=r"into 5 classes: .* Choose fewer classes"):
            threshold(image, "multi_otsu", classes=5)


def test_a_median_wider_than_the_image_is_refused(kesm):
    # (a MemoryError from scipy's footprint before)
    for image in (kesm, da.from_array(kesm, chunks=256)):
        with pytest.raises(SegLabInputError, match="median size 2001 is larger than the image"):
            threshold(image, median_size=2001)


def test_a_local_method_on_a_plane_chunked_stack_suggests_per_plane(kesm):
    stack = da.from_array(np.stack([kesm, kesm // 2, kesm // 3]), chunks=(1, 256, 256))
    with pytest.raises(SegLabInputError, match=r"per_plane=True"):
        threshold(stack, "sauvola")
    mask = threshold(stack, "sauvola", per_plane=True).mask.compute()
    np.testing.assert_array_equal(mask[1], threshold(kesm // 2, "sauvola").mask)
