"""napari_seglab.edges equals scikit-image / scipy called directly, in memory and by chunks.

scikit-image's filters rescale integer images into [0, 1]; napari_seglab.edges keeps the pixel
values, so its results equal scikit-image's on the image as float64 (``as_floats``).
"""

from __future__ import annotations

import dask.array as da
import imageio.v3 as iio
import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import feature, filters

import napari_seglab as sl
from napari_seglab import SegLabInputError

FIRST_DERIVATIVES = ("sobel", "scharr", "prewitt", "farid")


@pytest.fixture(scope="module")
def plane(volume) -> np.ndarray:
    return volume[0]


def as_floats(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64)


@pytest.mark.parametrize("method", [*FIRST_DERIVATIVES, "roberts", "laplace"])
def test_magnitude_equals_scikit_image(plane, method):
    expected = getattr(filters, method)(as_floats(plane))
    result = sl.edges(plane, method)
    assert result.dtype == expected.dtype == np.float64
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("method", FIRST_DERIVATIVES)
@pytest.mark.parametrize(("direction", "suffix"), [("horizontal", "h"), ("vertical", "v")])
def test_directions_equal_scikit_image(plane, method, direction, suffix):
    expected = getattr(filters, f"{method}_{suffix}")(as_floats(plane))
    np.testing.assert_array_equal(sl.edges(plane, method, direction=direction), expected)


def test_float32_keeps_scikit_image_dtype(plane):
    image = plane.astype(np.float32) / 255
    result = sl.edges(image, "sobel")
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, filters.sobel(image))


def test_laplacian_of_gaussian_equals_scipy(plane):
    expected = ndi.gaussian_laplace(as_floats(plane), sigma=2.0)
    np.testing.assert_array_equal(sl.edges(plane, "log", sigma=2.0), expected)


def test_canny_equals_scikit_image_as_a_mask(plane):
    expected = feature.canny(as_floats(plane), sigma=1.5, low_threshold=20, high_threshold=40)
    result = sl.edges(plane, "canny", sigma=1.5, low_threshold=20, high_threshold=40)
    assert result.dtype == np.uint8 and set(np.unique(result)) <= {0, 1}
    np.testing.assert_array_equal(result, expected.astype(np.uint8))
    assert plane.min() == 0 and plane.max() == 255  # automatic = scikit-image's default here
    np.testing.assert_array_equal(sl.edges(plane, "canny"), feature.canny(plane).astype(np.uint8))


@pytest.fixture(scope="module")
def nuclei(shared_data) -> np.ndarray:
    """A BBBC039 U2OS nuclei image: 12-bit values (120 to 4095) stored as uint16."""
    folder = shared_data / "bbbc039_u2os_nuclei" / "images"
    image = iio.imread(sorted(folder.glob("*.tif"))[0])
    assert image.dtype == np.uint16 and image.max() == 4095
    return image


def test_canny_automatic_thresholds_follow_the_image_range(nuclei):
    """10% / 20% of max - min: 12 bits in uint16, uint32 or float give the same edges."""
    found = sl.edges(nuclei, "canny")
    spread = float(nuclei.max()) - float(nuclei.min())
    expected = feature.canny(
        nuclei.astype(float), low_threshold=0.1 * spread, high_threshold=0.2 * spread
    )
    np.testing.assert_array_equal(found, expected.astype(np.uint8))
    for copy in (nuclei.astype(np.float32), nuclei.astype(np.uint32) * 1000, nuclei - 2000.0):
        np.testing.assert_array_equal(sl.edges(copy, "canny"), found)
    # about the edges of scikit-image's default on the same image stretched to 8 bits
    eight_bit = np.round((nuclei - float(nuclei.min())) / spread * 255).astype(np.uint8)
    n_eight_bit = int(feature.canny(eight_bit).sum())
    assert abs(int(found.sum()) - n_eight_bit) < 0.05 * n_eight_bit
    lazy = sl.edges(da.from_array(nuclei[None], chunks=(1, -1, -1)), "canny")
    np.testing.assert_array_equal(lazy.compute()[0], found)


def test_canny_automatic_thresholds_on_a_mask_and_a_flat_image(nuclei):
    mask = nuclei > 400
    outline = sl.edges(mask, "canny")
    assert outline.sum() > 1000
    np.testing.assert_array_equal(outline, sl.edges(mask.astype(np.float64), "canny"))
    assert not sl.edges(np.full((60, 60), 7, np.uint16), "canny").any()


def test_canny_one_explicit_threshold_beyond_the_automatic_other_is_refused(nuclei):
    with pytest.raises(SegLabInputError, match="above the automatic high threshold"):
        sl.edges(nuclei, "canny", low_threshold=3000)
    with pytest.raises(SegLabInputError, match="below the automatic low threshold"):
        sl.edges(nuclei, "canny", high_threshold=100)


@pytest.mark.parametrize(
    ("smoothing", "size", "first"),
    [
        ("gaussian", 1.5, lambda im: filters.gaussian(im, sigma=1.5)),
        ("median", 5, lambda im: ndi.median_filter(im, size=5, mode="reflect")),
    ],
)
def test_smoothing_first_equals_scikit_image(plane, smoothing, size, first):
    expected = filters.prewitt(first(as_floats(plane)))
    result = sl.edges(plane, "prewitt", smoothing=smoothing, smoothing_size=size)
    np.testing.assert_array_equal(result, expected)


def test_stack_is_filtered_plane_by_plane(volume):
    result = sl.edges(volume, "scharr", direction="horizontal")
    assert result.shape == volume.shape
    for z in range(volume.shape[0]):
        np.testing.assert_array_equal(result[z], filters.scharr_h(as_floats(volume[z])))


@pytest.mark.parametrize("method", ["sobel", "scharr", "prewitt", "farid", "laplace"])
def test_3d_equals_scikit_image_in_3d(volume, method):
    expected = getattr(filters, method)(as_floats(volume))
    np.testing.assert_array_equal(sl.edges(volume, method, dims=3), expected)


def test_3d_directions_use_the_y_and_x_axes(volume):
    vertical = sl.edges(volume, "sobel", direction="vertical", dims=3)
    np.testing.assert_array_equal(vertical, filters.sobel(as_floats(volume), axis=2))
    horizontal = sl.edges(volume, "sobel", direction="horizontal", dims=3)
    np.testing.assert_array_equal(horizontal, filters.sobel(as_floats(volume), axis=1))


def test_rgb_filters_the_luminance():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    expected = filters.sobel(sl.to_grayscale(rgb, rgb=True))
    np.testing.assert_array_equal(sl.edges(rgb, "sobel", rgb=True), expected)
    lazy = sl.edges(da.from_array(rgb, chunks=(16, 16, 1)), "sobel", rgb=True)
    np.testing.assert_array_equal(lazy.compute(), expected)


EVERY_FILTER = [*FIRST_DERIVATIVES, "roberts", "laplace", "log"]


@pytest.mark.parametrize("method", EVERY_FILTER)
def test_response_is_in_pixel_values_whatever_the_data_type(nuclei, method):
    """The 12-bit nuclei as uint16, float32, (u)int32, int64: one response, in pixel values."""
    expected = sl.edges(nuclei.astype(np.float64), method)
    result = sl.edges(nuclei, method)
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, expected)
    if method == "sobel":
        assert 1000 < result.max() < 2000  # a nucleus' rim: a step of ~1000 grey levels
    as_float32 = sl.edges(nuclei.astype(np.float32), method)
    assert as_float32.dtype == np.float32
    np.testing.assert_allclose(as_float32, expected, rtol=1e-5, atol=1e-3)
    for dtype in (np.int32, np.uint32, np.int64):
        np.testing.assert_array_equal(sl.edges(nuclei.astype(dtype), method), expected)
    lazy = sl.edges(da.from_array(nuclei, chunks=(130, 174)), method)
    np.testing.assert_array_equal(lazy.compute(), expected)


def test_64_bit_integers_and_booleans_are_filtered_as_their_values(nuclei):
    mask = nuclei > 400
    np.testing.assert_array_equal(sl.edges(mask, "sobel"), filters.sobel(as_floats(mask)))
    wide = nuclei.astype(np.int64) * 10**9
    found = sl.edges(wide, "canny", low_threshold=2e10, high_threshold=5e10)
    np.testing.assert_array_equal(
        found, sl.edges(nuclei, "canny", low_threshold=20, high_threshold=50)
    )


LAZY_CASES = [
    {"method": "sobel"},
    {"method": "scharr", "direction": "vertical"},
    {"method": "prewitt", "direction": "horizontal"},
    {"method": "farid"},
    {"method": "farid", "direction": "vertical"},
    {"method": "roberts"},
    {"method": "laplace"},
    {"method": "log", "sigma": 2.5},
    {"method": "sobel", "smoothing": "gaussian", "smoothing_size": 2.0},
    {"method": "laplace", "smoothing": "median", "smoothing_size": 5},
    {"method": "sobel", "dims": 3},
    {"method": "log", "sigma": 1.0, "dims": 3, "smoothing": "median", "smoothing_size": 3},
]


@pytest.mark.parametrize("options", LAZY_CASES, ids=lambda o: "-".join(map(str, o.values())))
def test_lazy_equals_in_memory_exactly(volume, lazy, options):
    expected = sl.edges(volume, **options)
    chunks = (2, 32, 40) if options.get("dims") == 3 else (1, 32, 40)
    result = sl.edges(lazy(volume, chunks=chunks), **options)
    assert isinstance(result, da.Array) and result.dtype == expected.dtype
    np.testing.assert_array_equal(result.compute(), expected)


def test_lazy_canny_runs_plane_by_plane(volume, lazy):
    expected = sl.edges(volume, "canny", sigma=2)
    result = sl.edges(lazy(volume, chunks=(1, 130, 170)), "canny", sigma=2)
    assert isinstance(result, da.Array)
    np.testing.assert_array_equal(result.compute(), expected)
    with pytest.raises(SegLabInputError, match="whole planes"):
        sl.edges(lazy(volume), "canny")


def test_lazy_refuses_chunks_thinner_than_the_halo(volume, lazy):
    with pytest.raises(SegLabInputError, match="halo"):
        sl.edges(lazy(volume, chunks=(1, 4, 4)), "log", sigma=3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "gabor"}, "Unknown edge method"),
        ({"method": "laplace", "direction": "vertical"}, "no vertical component"),
        ({"method": "sobel", "direction": "diagonal"}, "Unknown direction"),
        ({"method": "roberts", "dims": 3}, "2D images only"),
        ({"method": "canny", "dims": 3}, "2D images only"),
        ({"method": "log", "sigma": 0}, "positive sigma"),
        ({"method": "canny", "low_threshold": 50, "high_threshold": 10}, "must not exceed"),
        ({"method": "sobel", "smoothing": "gaussian", "smoothing_size": -1}, "positive"),
        ({"method": "sobel", "smoothing": "median", "smoothing_size": 2.5}, "whole number"),
        ({"method": "sobel", "smoothing": "bilateral"}, "Unknown smoothing"),
    ],
)
def test_bad_options_are_refused(plane, kwargs, message):
    before = plane.copy()
    with pytest.raises(SegLabInputError, match=message):
        sl.edges(plane, **kwargs)
    np.testing.assert_array_equal(plane, before)


def test_bad_images_are_refused(plane):
    with_nan = plane.astype(float)
    with_nan[3, 3] = np.nan
    with pytest.raises(SegLabInputError, match="NaN"):
        sl.edges(with_nan, "sobel")
    with pytest.raises(SegLabInputError, match="at least 3"):
        sl.edges(plane, "sobel", dims=3)
    with pytest.raises(SegLabInputError, match="RGB"):
        sl.edges(plane, "sobel", rgb=True)
