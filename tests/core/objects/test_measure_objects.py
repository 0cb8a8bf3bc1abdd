"""measure_objects: regionprops_table's values, in memory and chunk by chunk."""

from __future__ import annotations

import json
import time

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
from scipy import ndimage as ndi
from skimage.measure import regionprops_table

from napari_seglab import SegLabInputError, label_objects, measure_objects

ALL_2D = ("label", "area", "centroid", "bbox", "intensity_mean", "intensity_max",
          "eccentricity", "solidity")  # fmt: skip


def test_2d_measurements_equal_regionprops_table(volume, mask):
    labels = ndi.label(mask[1])[0]
    table = measure_objects(labels, volume[1], spacing=(0.5, 2.0))
    expected = regionprops_table(labels, volume[1], properties=ALL_2D, spacing=(0.5, 2.0))
    assert table.names == list(expected) and len(table) == labels.max()
    for name, values in expected.items():
        np.testing.assert_allclose(table[name], values, err_msg=name)
    assert table.omitted == ()


def _assert_equal_tables(table, expected) -> None:
    assert table.names == list(expected)
    for name, values in expected.items():
        assert table[name].dtype == values.dtype, name
        np.testing.assert_allclose(table[name], values, rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("spacing", [(1.0, 1.0), (0.5, 2.0)])
def test_equals_regionprops_table_on_dsb_nuclei(shared_data, spacing):
    """The experts' instance labels of the six DSB 2018 fluorescence images: every column,
    eccentricity and solidity included, as scikit-image computes them object by object."""
    folder = shared_data / "dsb2018_fluo_nuclei"
    for pair in json.loads((folder / "pairs.json").read_text())["pairs"]:
        image = iio.imread(folder / pair["image"])
        labels = tifffile.imread(folder / pair["instance_labels"])
        table = measure_objects(labels, image, spacing=spacing)
        expected = regionprops_table(labels, image, properties=ALL_2D, spacing=spacing)
        assert len(table) == len(np.unique(labels)) - 1
        _assert_equal_tables(table, expected)


def test_3d_equals_regionprops_table_on_a_stack_of_nuclei(shared_data):
    """The six BBBC039 nuclei masks stacked into a volume: objects reach across planes."""
    folder = shared_data / "bbbc039_u2os_nuclei"
    pairs = json.loads((folder / "pairs.json").read_text())["pairs"]
    image = np.stack([iio.imread(folder / pair["image"]) for pair in pairs])
    labels = ndi.label(np.stack([iio.imread(folder / pair["mask"]) for pair in pairs]))[0]
    spacing = (2.0, 0.5, 0.5)
    table = measure_objects(labels, image, spacing=spacing)
    expected = regionprops_table(labels, image, properties=ALL_2D[:6], spacing=spacing)
    assert (np.asarray(expected["bbox-3"]) - expected["bbox-0"] > 1).any()  # across planes
    _assert_equal_tables(table, expected)


def test_shapes_of_tiny_and_rectangular_objects_equal_regionprops():
    """Single pixels, lines, squares (solidity 1 without a hull), diagonal pairs and specks
    of the same shape, with label numbers that are not 1..n."""
    labels = np.zeros((40, 50), np.int32)
    labels[2, 3] = 9
    labels[5, 2:12] = 4
    labels[8:12, 30:34] = 100_000
    labels[20, 20] = labels[21, 21] = 7  # one object through a corner
    for k, (r, c) in enumerate([(30, 5), (30, 15), (33, 40)]):
        labels[r, c : c + 3] = labels[r + 1, c] = 20 + k  # three L-shaped specks
    labels[14:19, 40:45] = 3
    labels[16, 42] = 0  # a square with a hole
    table = measure_objects(labels, labels.astype(np.float32), spacing=(0.7, 1.3))
    expected = regionprops_table(labels, labels, properties=ALL_2D, spacing=(0.7, 1.3))
    _assert_equal_tables(table, expected)


def test_many_objects_are_measured_fast():
    """65,536 one-pixel objects: regionprops_table needs about 30 s for these (a Python loop
    over the objects, mostly in the inertia tensor and the convex hull)."""
    mask = np.zeros((1024, 1024), np.uint8)
    mask[::4, ::4] = 1
    labels = label_objects(mask).labels
    intensity = np.random.default_rng(0).random(mask.shape).astype(np.float32)
    start = time.perf_counter()
    table = measure_objects(labels, intensity)
    assert time.perf_counter() - start < 5
    assert len(table) == 65_536 and table.omitted == ()
    np.testing.assert_array_equal(table["eccentricity"], 0)
    np.testing.assert_array_equal(table["solidity"], 1)
    np.testing.assert_array_equal(table["intensity_mean"], intensity[::4, ::4].ravel())
    np.testing.assert_array_equal(table["centroid-1"], np.tile(np.arange(0, 1024, 4), 256))


def test_3d_physical_volume_and_centroid(volume, mask):
    labels = ndi.label(mask)[0]
    table = measure_objects(labels, volume, spacing=(4.0, 1.0, 1.0))
    assert "eccentricity" not in table.names and "eccentricity: 2D only" in table.omitted
    sizes = np.bincount(labels.ravel())[1:]
    np.testing.assert_allclose(table["area"], sizes * 4.0)
    centre = ndi.center_of_mass(mask, labels, np.arange(1, labels.max() + 1))
    np.testing.assert_allclose(table["centroid-0"], np.array(centre)[:, 0] * 4.0)


def test_lazy_table_equals_the_in_memory_one(volume, mask, lazy):
    labels = label_objects(mask).labels
    eager = measure_objects(labels, volume, spacing=(2.0, 0.5, 0.5))
    table = measure_objects(lazy(labels), lazy(volume), spacing=(2.0, 0.5, 0.5))
    assert table.names == eager.names
    for name in eager.names:
        np.testing.assert_allclose(table[name], eager[name], err_msg=name)
    plane = ndi.label(mask[0])[0]
    flat = measure_objects(lazy(plane, chunks=(32, 40)), volume[0])
    assert "eccentricity" not in flat.names and any("lazy" in o for o in flat.omitted)
    for name in flat.names:
        np.testing.assert_allclose(flat[name], measure_objects(plane, volume[0])[name])


def test_lazy_labels_from_label_objects_are_measured_lazily(mask, lazy):
    result = label_objects(lazy(mask))
    table = measure_objects(result.labels)
    assert len(table) == result.n_objects
    assert table["area"].sum() == mask.sum()


def test_csv_export(tmp_path):
    labels = np.zeros((5, 5), np.uint16)
    labels[:2, :2], labels[3:, 1:] = 3, 7
    table = measure_objects(labels, properties=("label", "area", "bbox"))
    lines = table.to_csv(tmp_path / "t.csv").read_text().splitlines()
    assert lines == ["label,area,bbox-0,bbox-1,bbox-2,bbox-3", "3,4.0,0,0,2,2", "7,8.0,3,1,5,5"]


def test_no_objects_gives_an_empty_table():
    table = measure_objects(np.zeros((4, 4), np.uint8), properties=("label", "area"))
    assert len(table) == 0


@pytest.mark.parametrize(
    ("labels", "options", "message"),
    [
        (np.array([[True, False], [False, True]]), {}, "mask"),
        (np.array([[1, 0, 1], [0, 0, 0]], np.uint8), {}, "mask"),
        (np.array([[0.0, 1.5], [2.0, 0.0]]), {}, "integers"),
        (np.array([[0, -2], [1, 0]]), {}, "positive"),
        (np.array([[0, 1], [2, 0]]), {"spacing": (1.0,)}, "spacing"),
        (np.array([[0, 1], [2, 0]]), {"intensity": np.zeros((3, 3))}, "shape"),
        (np.array([[0, 1], [2, 0]]), {"properties": ("label", "intensity_mean")}, "intensity"),
        (np.array([[0, 1], [2, 0]]), {"properties": ("perimeter",)}, "Unknown"),
        (np.zeros((2, 3, 3), np.uint8), {"properties": ("solidity",)}, "2D only"),
        (np.array([[0, 2**63 + 5], [1, 0]], np.uint64), {}, "renumber"),  # not wrapped round
    ],
)
def test_bad_input_is_refused(labels, options, message):
    with pytest.raises(SegLabInputError, match=message):
        measure_objects(labels, **options)


def test_largest_uint64_labels_are_refused_lazily_too(lazy):
    labels = np.zeros((40, 50), np.uint64)
    labels[:5, :5], labels[-5:, -5:] = 3, 2**64 - 1  # would be measured as label -1
    with pytest.raises(SegLabInputError, match="renumber"):
        measure_objects(lazy(labels, chunks=20))
    labels[-5:, -5:] = 2**63 - 1  # the largest that can be: measured with its own number
    table = measure_objects(lazy(labels, chunks=20), properties=("label", "area"))
    assert table["label"].tolist() == [3, 2**63 - 1] and table["area"].tolist() == [25, 25]


@pytest.mark.parametrize(
    "mask", [np.array([[1, 0, 1]], np.uint8).repeat(2, 0), np.eye(3, dtype=bool)]
)
def test_a_mask_refusal_says_how_to_number_its_objects(mask):
    """Measuring a mask 'as labelled' reaches this in the Objects widget: it names the
    widget's choices that number the objects."""
    with pytest.raises(SegLabInputError) as refused:
        measure_objects(mask)
    message = str(refused.value)
    assert "choose connected components or split touching" in message, message
    assert message.index("Objects widget") < message.index("in Python")
