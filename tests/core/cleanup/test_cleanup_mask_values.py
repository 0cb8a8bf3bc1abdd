"""Clean-up of masks stored with one foreground value other than 1 (e.g. 0/255 PNG masks)."""

from __future__ import annotations

import numpy as np

from napari_seglab.core.cleanup import remove_small_objects


def test_0_255_mask_is_split_into_connected_components():
    mask = np.zeros((20, 20), np.uint8)
    mask[1, 1] = 255  # a speck
    mask[5:15, 5:15] = 255  # a square of 100 pixels
    out = remove_small_objects(mask, 2)
    assert out.dtype == np.uint8 and out[1, 1] == 0
    np.testing.assert_array_equal(out[5:15, 5:15], 255)  # the value is kept
    assert int((out == 255).sum()) == 100
    # A label image (several values) still removes whole labels.
    labels = mask.astype(np.int32)
    labels[5:15, 5:15] = 7
    np.testing.assert_array_equal(remove_small_objects(labels, 2), np.where(labels == 7, 7, 0))
