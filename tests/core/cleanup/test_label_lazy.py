"""Labels of a lazy mask across chunk borders: the same partition as scipy.ndimage.label."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_seglab.core.cleanup import label_lazy


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two label images split the same foreground into the same objects."""
    fa, fb = a.ravel(), b.ravel()
    if not np.array_equal(fa > 0, fb > 0):
        return False
    pairs = np.unique(np.stack([fa[fa > 0], fb[fb > 0]]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))


@pytest.mark.parametrize("connectivity", [1, 2, 3])
def test_partition_equals_scipy_across_chunk_borders(mask, lazy, connectivity):
    structure = ndi.generate_binary_structure(3, connectivity)
    expected, n_expected = ndi.label(mask, structure)
    labels, n = label_lazy(lazy(mask), structure)
    out = labels.compute()
    assert n == n_expected == out.max()
    assert same_partition(out, expected)
    assert out.dtype == np.min_scalar_type(n)
    assert labels.chunks == lazy(mask).chunks


def test_planes_on_their_own_and_2d(mask, lazy):
    planar = np.zeros((3, 3, 3), bool)
    planar[1] = ndi.generate_binary_structure(2, 1)
    expected, n_expected = ndi.label(mask, planar)
    labels, n = label_lazy(lazy(mask), planar)
    assert n == n_expected and same_partition(labels.compute(), expected)
    plane, n_plane = ndi.label(mask[1])
    labels, n = label_lazy(lazy(mask[1], chunks=(32, 40)), ndi.generate_binary_structure(2, 1))
    assert n == n_plane and same_partition(labels.compute(), plane)


def test_min_size_counts_objects_whole(mask, lazy):
    structure = ndi.generate_binary_structure(3, 1)
    expected, _ = ndi.label(mask, structure)
    sizes = np.bincount(expected.ravel())
    big = sizes >= 40
    big[0] = False
    labels, n = label_lazy(lazy(mask), structure, min_size=40)
    assert n == big.sum()
    assert same_partition(labels.compute(), np.where(big[expected], expected, 0))


def test_empty_mask(lazy):
    labels, n = label_lazy(lazy(np.zeros((3, 70, 90), bool)), ndi.generate_binary_structure(3, 1))
    assert n == 0 and not labels.compute().any()


def test_objects_numbered_chunk_by_chunk_in_c_order(lazy):
    # The merge takes the longest axis first (here the second: chunk (1, 0) before (0, 1));
    # the numbers still follow the chunks in C order, then each chunk's label order.
    mask = np.zeros((4, 12), bool)
    mask[0, 2:4] = True  # first seen in chunk (0, 0), crosses into (0, 1)
    mask[0, 5] = True  # in chunk (0, 1), after the first object's part there
    mask[3, 0] = True  # in chunk (1, 0)
    labels, n = label_lazy(lazy(mask, chunks=(2, 3)), ndi.generate_binary_structure(2, 1))
    out = labels.compute()
    assert n == 3
    assert (out[0, 2], out[0, 3], out[0, 5], out[3, 0]) == (1, 1, 2, 3)
