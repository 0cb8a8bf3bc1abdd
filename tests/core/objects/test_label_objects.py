"""label_objects: scipy's components, scikit-image's watershed, spacing, per plane, lazy, and
an instance labelling taken as labelled."""

from __future__ import annotations

import json

import dask.array as da
import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
from scipy import ndimage as ndi
from skimage.feature import peak_local_max
from skimage.measure import regionprops_table
from skimage.morphology import h_maxima
from skimage.segmentation import watershed

from napari_seglab import SegLabInputError, label_objects, measure_objects


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    fa, fb = np.ravel(a), np.ravel(b)
    if not np.array_equal(fa > 0, fb > 0):
        return False
    pairs = np.unique(np.stack([fa[fa > 0], fb[fb > 0]]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))


def disks(centres, radius, shape=(40, 60)) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    out = np.zeros(shape, bool)
    for cy, cx in centres:
        out |= (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
    return out


@pytest.mark.parametrize("connectivity", [1, 2, 3])
def test_components_equal_scipy(mask, connectivity):
    result = label_objects(mask, connectivity=connectivity)
    expected, n = ndi.label(mask, ndi.generate_binary_structure(3, connectivity))
    assert result.n_objects == n and result.method == "components"
    np.testing.assert_array_equal(result.labels, expected)
    assert result.labels.dtype == np.min_scalar_type(n)


def test_watershed_equals_scikit_image_with_the_same_seeds():
    mask = disks([(20, 15), (20, 27), (12, 45), (26, 47)], 8)
    result = label_objects(mask, method="watershed", min_distance=4)
    distance = ndi.distance_transform_edt(mask)
    components = ndi.label(mask)[0]
    peaks = peak_local_max(distance, min_distance=4, labels=components, exclude_border=False)
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    expected = watershed(-distance, markers, mask=mask)
    assert result.n_objects == 4 == ndi.label(mask)[1] + 2
    np.testing.assert_array_equal(result.labels, expected)


def test_h_maxima_seeds_equal_scikit_image():
    mask = disks([(20, 15), (20, 27), (20, 45)], 8)
    result = label_objects(mask, method="watershed", h=1.0)
    distance = ndi.distance_transform_edt(mask)
    markers = ndi.label(h_maxima(distance, 1.0))[0]
    expected = watershed(-distance, markers, mask=mask)
    assert result.n_objects == 3
    assert same_partition(result.labels, expected)
    assert "h-maxima" in result.describe()


def test_anisotropic_spacing_changes_the_distance_transform():
    """Two cells joined by a neck at x = 30, pixels 3x longer along y than along x. In
    physical units the distance is highest in the middle of each cell: two seeds, split at
    the neck. In pixel units the bar is a long ridge of equal distance: six seeds."""
    mask = np.zeros((12, 60), bool)
    mask[2:10, 5:55] = True
    mask[2:4, 28:32] = mask[8:10, 28:32] = False  # a neck at x = 30
    physical = ndi.distance_transform_edt(mask, sampling=(3.0, 1.0))
    pixels = ndi.distance_transform_edt(mask)
    assert not np.allclose(physical, pixels)
    result = label_objects(mask, method="watershed", min_distance=8, spacing=(3.0, 1.0))
    components = ndi.label(mask)[0]
    peaks = peak_local_max(physical, min_distance=8, labels=components, exclude_border=False)
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    np.testing.assert_array_equal(result.labels, watershed(-physical, markers, mask=mask))
    assert result.n_objects == 2
    assert set(np.unique(result.labels[:, :30])) == {0, 1}
    assert set(np.unique(result.labels[:, 30:])) == {0, 2}
    assert label_objects(mask, method="watershed", min_distance=8).n_objects == 6


def test_3d_with_spacing_splits_touching_balls():
    zz, yy, xx = np.mgrid[:12, :30, :40]
    balls = ((zz - 6) * 2.0) ** 2 + (yy - 15) ** 2 + (xx - 12) ** 2 <= 64
    balls |= ((zz - 6) * 2.0) ** 2 + (yy - 15) ** 2 + (xx - 26) ** 2 <= 64
    assert label_objects(balls).n_objects == 1
    split = label_objects(balls, method="watershed", min_distance=5, spacing=(2.0, 1.0, 1.0))
    assert split.n_objects == 2 and split.spacing == (2.0, 1.0, 1.0)


def test_per_plane_labels_each_plane_alone():
    plane = disks([(20, 15), (20, 27)], 8)
    stack = np.stack([plane, plane, np.zeros_like(plane)])
    joined = label_objects(stack)
    alone = label_objects(stack, per_plane=True)
    assert joined.n_objects == 1 and alone.n_objects == 2
    split = label_objects(stack, method="watershed", min_distance=4, per_plane=True)
    assert split.n_objects == 4
    assert set(np.unique(split.labels[0])) & set(np.unique(split.labels[1])) == {0}
    assert "per plane" in split.describe()


def test_min_size_drops_small_objects_and_renumbers(mask):
    expected, _ = ndi.label(mask, ndi.generate_binary_structure(3, 1))
    sizes = np.bincount(expected.ravel())
    result = label_objects(mask, min_size=30)
    assert result.n_objects == int((sizes[1:] >= 30).sum())
    assert same_partition(result.labels, np.where(sizes[expected] >= 30, expected, 0))
    assert result.labels.max() == result.n_objects


def test_probability_map_and_watershed_on_it():
    mask = disks([(20, 15), (20, 27)], 8)
    probability = ndi.gaussian_filter(ndi.distance_transform_edt(mask), 1) / 8
    probability = np.clip(probability, 0, 1)
    from_probability = label_objects(probability, method="watershed", use_probability=True, h=0.05)
    assert from_probability.n_objects == 2
    assert np.array_equal(from_probability.labels > 0, probability >= 0.5)


def test_lazy_components_equal_scipy_without_loading(mask, lazy):
    result = label_objects(lazy(mask), min_size=5)
    assert isinstance(result.labels, da.Array)
    expected, _ = ndi.label(mask)
    sizes = np.bincount(expected.ravel())
    assert same_partition(result.labels.compute(), np.where(sizes[expected] >= 5, expected, 0))
    planes = label_objects(lazy(mask), per_plane=True)
    assert same_partition(planes.labels.compute(), label_objects(mask, per_plane=True).labels)


def test_lazy_watershed_is_refused(mask, lazy):
    with pytest.raises(SegLabInputError, match="whole objects"):
        label_objects(lazy(mask), method="watershed")


@pytest.mark.parametrize(
    ("data", "options", "message"),
    [
        (np.array([[0, 1], [2, 0]]), {}, "labels image"),
        (np.array([[0, -1], [1, 0]]), {}, "negative"),
        (np.array([[0.0, np.nan], [1.0, 0.0]]), {}, "NaN"),
        (np.array([[0.0, 3.0], [1.0, 0.0]]), {}, r"\[0, 1\]"),
        (np.zeros((4, 4), bool), {}, "no foreground"),
        (np.ones((4, 4), bool), {"spacing": (1.0, 1.0, 1.0)}, "spacing"),
        (np.ones((4, 4), bool), {"spacing": (1.0, 0.0)}, "positive"),
        (np.ones((4, 4), bool), {"use_probability": True}, "probability map"),
        (np.ones((4, 4), bool), {"connectivity": 3}, "Connectivity"),
        (np.ones((4, 4), bool), {"per_plane": True}, "each plane alone"),  # not row by row
        (np.ones((4, 4), bool), {"method": "watershed", "h": 0}, "h must"),
        (np.ones(4, bool), {}, "2 dimensions"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(data, options, message):
    before = data.copy()
    with pytest.raises(SegLabInputError, match=message):
        label_objects(data, **options)
    np.testing.assert_array_equal(data, before)


@pytest.mark.parametrize(
    ("data", "options", "steps"),
    [
        (
            np.array([[0, 1], [2, 0]]),
            {},
            ["'as labelled (each value one object)'", "Threshold widget", "Convert to Image"],
        ),
        (np.array([[0.0, 3.0], [1.0, 0.0]]), {}, ["Threshold widget"]),
        (np.ones((4, 4), bool), {"use_probability": True}, ["untick 'flood the probability'"]),
        (da.ones((4, 4), bool), {"method": "watershed"}, ["choose connected components"]),
    ],
)
def test_refusals_say_what_to_do_in_napari(data, options, steps):
    """These messages reach the Objects widget: each names the step to take there, and
    code only as the Python alternative (never as the only way)."""
    with pytest.raises(SegLabInputError) as refused:
        label_objects(data, **options)
    message = str(refused.value)
    assert all(step in message for step in steps), message
    assert "`" not in message and "pass " not in message
    positions = [message.index(step) for step in steps]
    assert positions == sorted(positions), message  # in this order: the likeliest first


def test_lazy_bad_input_is_refused(lazy):
    labels = np.zeros((3, 64, 80), np.uint8)
    labels[0, :5, :5], labels[2, -5:, -5:] = 1, 2
    with pytest.raises(SegLabInputError, match="labels image"):
        label_objects(lazy(labels))
    with pytest.raises(SegLabInputError, match="NaN"):
        label_objects(lazy(np.where(labels > 0, np.nan, 0.2)))


# --- method="labels": an instance labelling measured as it is numbered ---------------------

ALL_2D = ("label", "area", "centroid", "bbox", "intensity_mean", "intensity_max",
          "eccentricity", "solidity")  # fmt: skip


def dsb_pairs(shared_data):
    """The six DSB 2018 fluorescence images and their expert instance labels, renumbered as
    after an edit: every third nucleus removed (gaps) and one numbered 65535."""
    folder = shared_data / "dsb2018_fluo_nuclei"
    for pair in json.loads((folder / "pairs.json").read_text())["pairs"]:
        image = iio.imread(folder / pair["image"])
        labels = tifffile.imread(folder / pair["instance_labels"])
        ids = np.unique(labels)[1:]
        edited = np.where(np.isin(labels, ids[::3]), 0, labels)
        edited[labels == ids[1]] = 65535
        yield image, edited


class Reads:
    """An array that records the number of elements of every read (what dask loads)."""

    def __init__(self, arr: np.ndarray) -> None:
        self.arr, self.shape, self.dtype, self.ndim = arr, arr.shape, arr.dtype, arr.ndim
        self.sizes: list[int] = []

    def __getitem__(self, key):
        part = self.arr[key]
        self.sizes.append(part.size)
        return part


def test_as_labelled_keeps_the_numbers_and_measures_like_regionprops(shared_data):
    """The objects are the values of the labelling, with their numbers (gaps and 65535
    included): the table's `label` column is the user's, and every column equals
    scikit-image's regionprops_table on the same labels."""
    for image, labels in dsb_pairs(shared_data):
        objects = label_objects(labels, method="labels")
        np.testing.assert_array_equal(objects.labels, labels)
        assert objects.labels is not labels and objects.labels.dtype == np.uint16
        assert objects.n_objects == len(np.unique(labels)) - 1 < labels.max() == 65535
        assert objects.describe() == f"{objects.n_objects} objects (as labelled)"
        table = measure_objects(objects.labels, image, spacing=(0.5, 2.0))
        expected = regionprops_table(labels, image, properties=ALL_2D, spacing=(0.5, 2.0))
        assert table.names == list(expected)
        for name, values in expected.items():
            np.testing.assert_allclose(table[name], values, rtol=1e-12, err_msg=name)


def test_as_labelled_min_size_drops_objects_without_renumbering(shared_data):
    _, labels = next(dsb_pairs(shared_data))
    before = labels.copy()
    ids, sizes = np.unique(labels[labels > 0], return_counts=True)
    min_size = int(np.median(sizes))
    objects = label_objects(labels, method="labels", min_size=min_size)
    small = ids[sizes < min_size]
    assert small.size and objects.n_objects == int((sizes >= min_size).sum())
    np.testing.assert_array_equal(objects.labels, np.where(np.isin(labels, small), 0, labels))
    assert f"at least {min_size} pixels" in objects.describe()
    np.testing.assert_array_equal(labels, before)  # the input is unchanged


def test_as_labelled_lazy_equals_in_memory_without_loading_it_whole(shared_data):
    """Chunk by chunk: the labels stay lazy, n_objects is counted from the chunks' values, and
    no read is larger than a chunk; the table equals the in-memory one."""
    for image, labels in dsb_pairs(shared_data):
        source = Reads(labels)
        lazy_labels = da.from_array(source, chunks=(64, 80), asarray=False)
        objects = label_objects(lazy_labels, method="labels", min_size=30)
        eager = label_objects(labels, method="labels", min_size=30)
        assert isinstance(objects.labels, da.Array) and objects.n_objects == eager.n_objects
        assert max(source.sizes) <= 64 * 80
        np.testing.assert_array_equal(objects.labels.compute(), eager.labels)
        assert objects.labels.dtype == eager.labels.dtype
        table = measure_objects(objects.labels, da.from_array(image, chunks=(64, 80)))
        expected = measure_objects(eager.labels, image)
        assert set(table.names) < set(expected.names)  # no eccentricity, solidity lazily
        for name in table.names:
            np.testing.assert_allclose(table[name], expected[name], err_msg=name)
        assert max(source.sizes) <= 64 * 80


def test_as_labelled_mask_is_one_object_and_numbers_may_be_huge():
    mask = np.zeros((6, 8), bool)
    mask[1:3, 1:3] = mask[4:6, 5:8] = True
    one = label_objects(mask, method="labels")
    assert one.n_objects == 1 and one.labels.dtype == np.uint8
    np.testing.assert_array_equal(one.labels, mask)
    white = label_objects(mask.astype(np.uint8) * 255, method="labels")
    assert white.n_objects == 1 and set(np.unique(white.labels)) == {0, 255}
    labels = np.zeros((6, 8), np.uint64)
    labels[0, 0], labels[5, 7] = 2**40, 2**63 - 1  # no table of 2**63 counts
    huge = label_objects(labels, method="labels")
    assert huge.n_objects == 2 and huge.labels.dtype == np.uint64
    assert measure_objects(huge.labels)["label"].tolist() == [2**40, 2**63 - 1]


@pytest.mark.parametrize(
    ("data", "options", "message"),
    [
        (np.array([[0.0, 1.0], [2.0, 0.0]]), {}, "Convert to Labels"),
        (np.array([[0.0, np.nan], [2.0, 0.0]], np.float32), {}, "float32 values"),
        (np.array([[0, -3], [2, 0]]), {}, "down to -3"),
        (np.zeros((4, 4), np.uint16), {}, "no objects"),
        (np.array([[0, 2**63 + 1], [2, 0]], np.uint64), {}, "renumber"),
        (np.ones((2, 4, 4), np.uint8), {"per_plane": True}, "untick"),
        (np.ones(4, np.uint8), {}, "2 dimensions"),
    ],
)
def test_as_labelled_bad_input_is_refused(data, options, message, lazy):
    for given in [data] + [lazy(data, chunks=2)] * (data.ndim > 1):
        with pytest.raises(SegLabInputError, match=message):
            label_objects(given, method="labels", **options)
