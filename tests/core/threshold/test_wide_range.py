"""Integer images of a wide range: the histogram's memory is bounded, numpy and dask agree."""

from __future__ import annotations

import time
import tracemalloc

import dask.array as da
import numpy as np
import pytest
from skimage import filters

from napari_seglab.core import SegLabInputError
from napari_seglab.core.threshold import GLOBAL_METHODS, histogram, threshold, try_all_thresholds
from napari_seglab.core.threshold._histogram import means

EXACT_VALUES, NBINS = 2**16, 256  # one bin per value up to 65,536 values, else 256 bins

WIDE = [
    (np.int32, 0, 10**9),
    (np.uint32, 0, 4 * 10**9),
    (np.int64, -(2**62), 2**62),
    (np.uint64, 2**63, 2**64 - 1),
]


def _image(dtype, low: int, high: int, shape=(256, 256)) -> np.ndarray:
    """Noise over the whole range, and a brighter block (something to find)."""
    rng = np.random.default_rng(0)
    image = rng.integers(low, high, shape, dtype=dtype, endpoint=True)
    top = high - (high - low) // 8
    block = (slice(shape[0] // 4, shape[0] // 2), slice(64, 192))
    image[block] = rng.integers(top, high, (shape[0] // 4, 128), dtype=dtype, endpoint=True)
    return image


def test_int32_up_to_1e9_is_thresholded_in_little_time_and_memory():
    image = _image(np.int32, 0, 10**9)
    tracemalloc.start()
    start = time.perf_counter()
    result = threshold(image, "otsu")
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100e6 and elapsed < 5
    assert 0 < result.value < 10**9
    assert f"{NBINS} equal bins" in result.note and "65,536" in result.note
    assert result.note in result.describe()
    # the bright block is found
    assert result.mask[64:128, 64:192].mean() > 0.99


@pytest.mark.parametrize(("dtype", "low", "high"), WIDE)
@pytest.mark.parametrize("method", [m.value for m in GLOBAL_METHODS])
def test_every_global_method_in_memory_equals_lazy(dtype, low, high, method):
    image = _image(dtype, low, high)
    eager = threshold(image, method, median_size=3)
    lazy = threshold(da.from_array(image, chunks=(64, 100)), method, median_size=3)
    assert np.isfinite(eager.value)
    assert eager.value == lazy.value
    np.testing.assert_array_equal(eager.mask, lazy.mask.compute())
    assert eager.note == lazy.note
    assert bool(eager.note) == (method != "mean")


@pytest.mark.parametrize("per_plane", [False, True])
def test_try_all_on_a_wide_stack_in_memory_equals_lazy(per_plane):
    stack = np.stack([_image(np.int32, 0, 10**9, (64, 256)), _image(np.int32, 0, 1000, (64, 256))])
    eager = try_all_thresholds(stack, per_plane=per_plane)
    lazy = try_all_thresholds(da.from_array(stack, chunks=(1, 32, 64)), per_plane=per_plane)
    for a, b in zip(eager.outcomes, lazy.outcomes, strict=True):
        assert a.error == b.error
        if a.result is not None:
            np.testing.assert_array_equal(a.result.value, b.result.value)
            assert a.result.note == b.result.note
    if per_plane:  # only the first plane is binned
        assert eager["otsu"].result.note.startswith("1 of 2 planes span more than")


def test_narrow_ranges_keep_one_bin_per_value():
    image = _image(np.uint16, 0, 2**16 - 1)  # 65,536 values: the most that stay exact
    image[0, :2] = 0, 2**16 - 1
    assert int(image.max()) - int(image.min()) + 1 == EXACT_VALUES
    counts, centers = histogram(da.from_array(image, chunks=100))[0]
    assert counts.size == EXACT_VALUES and centers.dtype.kind == "i"
    result = threshold(image, "otsu")
    assert result.value == filters.threshold_otsu(image) and result.note == ""


def test_int64_near_its_limits_with_a_narrow_range_is_refused_clearly():
    # scikit-image counted every value from 0 up ("array is too big"); thresholds are
    # float64, which cannot tell 2**62 + 1 from 2**62: refused, instead of an empty mask.
    small = _image(np.int64, 0, 1000)
    for shifted in (small + 2**62, small - 2**62):
        for image in (shifted, da.from_array(shifted, chunks=100)):
            with pytest.raises(SegLabInputError, match="Subtract an offset first"):
                threshold(image, "otsu")
    wide = _image(np.int64, 2**62, 2**62 + 2**58)  # bins far wider than float64's spacing
    assert 0 < threshold(wide, "otsu").mask.mean() < 1


def test_means_are_exact_for_int64_and_uint64_near_their_limits():
    for values in ([2**63 - 1] * 999 + [2**63 - 4], [2**64 - 1] * 999 + [0]):
        dtype = np.int64 if values[0] < 2**63 else np.uint64
        image = np.array(values, dtype).reshape(10, 100)
        expected = sum(values) / len(values)
        assert means(da.from_array(image, chunks=7), 0)[0] == expected
        assert threshold(image, "mean").value == expected
