"""Issue 9 item 10: a negative or fractional clean-up size is refused, 0 and 1 stay "off"."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from napari_seglab.core import SegLabInputError, clean_up, fill_small_holes, remove_small_objects

MASK = np.zeros((8, 8), np.uint8)
MASK[1:6, 1:6] = 1
MASK[3, 3] = 0
MASK[7, 7] = 1


@pytest.mark.parametrize("size", [-1, -64, 2.5, None, True, "5"])
@pytest.mark.parametrize("data", [MASK, da.from_array(MASK, chunks=4)], ids=["numpy", "dask"])
def test_bad_sizes_are_refused(size, data):
    with pytest.raises(SegLabInputError, match="object size must be a whole number"):
        remove_small_objects(data, size)
    with pytest.raises(SegLabInputError, match="hole size must be a whole number"):
        fill_small_holes(data, size)
    with pytest.raises(SegLabInputError, match="object size"):
        clean_up(data, remove_smaller_than=size)
    with pytest.raises(SegLabInputError, match="hole size"):
        clean_up(data, fill_holes_smaller_than=size)


@pytest.mark.parametrize("size", [0, 1, np.int64(1)])
def test_zero_and_one_are_off(size):
    np.testing.assert_array_equal(remove_small_objects(MASK, size), MASK)
    np.testing.assert_array_equal(fill_small_holes(MASK, size), MASK)
    out = clean_up(da.from_array(MASK, chunks=4), remove_smaller_than=size)
    np.testing.assert_array_equal(np.asarray(out), MASK)
    assert remove_small_objects(MASK, np.int64(2))[7, 7] == 0
