"""The chunked clean-up's labelling gives scipy.ndimage.label's labels exactly."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_seglab.core.cleanup._label import (
    count,
    label,
    label_faces,
    relabel,
    run_sizes,
    runs,
    runs_outside,
)


@pytest.mark.parametrize(("ndim", "connectivity"), [(2, 1), (2, 2), (3, 1), (3, 2), (3, 3)])
@pytest.mark.parametrize("density", [0.0, 0.3, 0.6, 1.0])
def test_same_labels_as_scipy(ndim, connectivity, density):
    rng = np.random.default_rng(ndim * 10 + connectivity)
    structure = ndi.generate_binary_structure(ndim, connectivity)
    mask = rng.random((6, 37, 41)[-ndim:]) < density
    for data in (mask, mask[..., ::2], ~mask):  # also a strided view and the background
        labels, n = label(data, structure)
        expected, n_expected = ndi.label(data, structure)
        assert n == n_expected
        np.testing.assert_array_equal(labels, expected)
        np.testing.assert_array_equal(
            count(labels, n), np.bincount(labels.ravel(), minlength=n + 1)
        )
        table = rng.random(n + 1) < 0.5
        table[0] = False
        np.testing.assert_array_equal(relabel(data, structure, table), table[expected])


def test_long_runs_and_spirals():
    # A spiral joins many runs into one object only at its end: the union-find must merge
    # labels created far apart, and number the objects by their first voxel.
    spiral = np.zeros((41, 41), bool)
    spiral[[0, -1], :] = spiral[:, [0, -1]] = True
    spiral[2:-2:4, 2:] = True
    spiral[4:-2:4, :-2] = True
    spiral[1, -1] = spiral[-2, 0] = True
    structure = ndi.generate_binary_structure(2, 1)
    labels, n = label(spiral, structure)
    np.testing.assert_array_equal(labels, ndi.label(spiral, structure)[0])
    assert n == ndi.label(spiral, structure)[1]


@pytest.mark.parametrize("width", [64, 67, 1027])
def test_long_runs_stepped_over_a_word_at_a_time(width):
    # Runs and gaps of 1 to 40 voxels: whole 64-bit words of foreground or background are
    # stepped over, the ends found byte by byte, rows not aligned to words (odd widths).
    rng = np.random.default_rng(width)
    lengths = rng.integers(1, 40, 4 * 5 * width)
    values = np.repeat(np.arange(lengths.size) % 2, lengths)[: 4 * 5 * width]
    mask = values.reshape(4, 5, width).astype(bool)
    structure = ndi.generate_binary_structure(3, 1)
    for data in (mask, mask[:, :, 1:], mask * rng.integers(1, 256, mask.shape).astype(np.uint8)):
        labels, n = label(data, structure)
        expected, n_expected = ndi.label(data != 0, structure)
        assert n == n_expected
        np.testing.assert_array_equal(labels, expected)


@pytest.mark.parametrize(("ndim", "connectivity"), [(2, 1), (2, 2), (3, 1), (3, 3)])
@pytest.mark.parametrize("shape", [(5, 9, 17), (1, 1, 8), (3, 1, 1)])
@pytest.mark.parametrize("density", [0.3, 0.6, 1.0])
def test_faces_and_gaps_from_the_runs(ndim, connectivity, shape, density):
    # The faces painted from the runs equal the label image's face slices, and the runs
    # outside the kept runs label the inverse of the kept objects' mask as scipy does.
    rng = np.random.default_rng(ndim + connectivity)
    structure = ndi.generate_binary_structure(ndim, connectivity)
    mask = rng.random(shape[-ndim:]) < density
    expected, n = ndi.label(mask, structure)
    low, high, n_found, sizes = label_faces(mask, structure)
    assert n_found == n
    np.testing.assert_array_equal(sizes, np.bincount(expected.ravel(), minlength=n + 1))
    for axis in range(ndim):
        np.testing.assert_array_equal(low[axis], np.take(expected, 0, axis=axis))
        np.testing.assert_array_equal(high[axis], np.take(expected, -1, axis=axis))
    found = runs(mask, structure)
    keep = rng.random(n + 1) < 0.5
    gaps = runs_outside(found, keep[found[3]], mask.shape, structure)
    inverse, n_inverse = ndi.label(~keep[expected] | ~mask, structure)
    assert gaps[4] == n_inverse
    painted = np.zeros(mask.shape, np.int64)
    for row, (a, b) in enumerate(zip(gaps[0][:-1], gaps[0][1:], strict=True)):
        for i in range(a, b):
            painted.reshape(-1, mask.shape[-1])[row, gaps[1][i] : gaps[2][i]] = gaps[3][i]
    np.testing.assert_array_equal(painted, inverse)
    np.testing.assert_array_equal(
        run_sizes(gaps, mask.size), np.bincount(inverse.ravel(), minlength=n_inverse + 1)
    )
