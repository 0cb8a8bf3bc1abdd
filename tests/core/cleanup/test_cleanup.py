from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_seglab import load_kesm
from napari_seglab.core import SegLabInputError, clean_up, fill_small_holes, remove_small_objects
from napari_seglab.core import threshold as threshold_image


def _kesm_mask():
    image, _ = load_kesm()
    return threshold_image(image, "otsu", foreground="dark", median_size=3).mask


def test_objects_smaller_than_n_are_removed_and_size_n_is_kept():
    mask = np.zeros((10, 10), np.uint8)
    mask[0, 0:3] = 1  # 3 pixels
    mask[5:7, 5:7] = 1  # 4 pixels
    out = remove_small_objects(mask, 4)
    assert out.dtype == np.uint8
    assert out[0].sum() == 0
    assert out[5:7, 5:7].all()
    assert remove_small_objects(mask, 5).sum() == 0


def test_real_mask_object_sizes_after_removal():
    mask = _kesm_mask()
    out = remove_small_objects(mask, 20)
    labels, n = ndi.label(out)
    sizes = np.bincount(labels.ravel())[1:]
    assert n > 0 and sizes.min() >= 20
    before, _ = ndi.label(mask)
    kept = np.bincount(before.ravel())[1:] >= 20
    assert n == kept.sum()


def test_connectivity_decides_what_touches():
    diagonal = np.eye(4, dtype=np.uint8)
    assert remove_small_objects(diagonal, 2, connectivity=1).sum() == 0
    np.testing.assert_array_equal(remove_small_objects(diagonal, 2, connectivity=2), diagonal)


def test_small_holes_are_filled_and_large_ones_kept():
    mask = np.ones((12, 12), np.uint8)
    mask[2, 2] = 0  # 1-pixel hole
    mask[6:10, 6:10] = 0  # 16-pixel hole
    out = fill_small_holes(mask, 10)
    assert out[2, 2] == 1
    assert out[6:10, 6:10].sum() == 0


def test_label_images_keep_their_labels():
    labels = np.zeros((9, 9), np.uint16)
    labels[1:4, 1:4] = 7
    labels[2, 2] = 0
    labels[6:8, 6:8] = 3
    labels[0, 8] = 5
    out = clean_up(labels, remove_smaller_than=2, fill_holes_smaller_than=2)
    assert out.dtype == np.uint16
    assert out[2, 2] == 7
    assert set(np.unique(out)) == {0, 3, 7}


def test_3d_volume():
    rng = np.random.default_rng(0)
    volume = (rng.random((20, 30, 30)) > 0.7).astype(np.uint8)
    out = remove_small_objects(volume, 10, connectivity=1)
    labels, _ = ndi.label(out)
    assert np.bincount(labels.ravel())[1:].min() >= 10


def test_input_is_not_modified_and_zero_is_a_no_op():
    mask = _kesm_mask()
    before = mask.copy()
    out = clean_up(mask, remove_smaller_than=50, fill_holes_smaller_than=50)
    np.testing.assert_array_equal(mask, before)
    assert not np.array_equal(out, mask)
    np.testing.assert_array_equal(clean_up(mask), mask)


@pytest.mark.parametrize(
    ("labels", "kwargs", "message"),
    [
        (np.zeros((4, 4), float), {}, "integer or boolean"),
        (np.zeros(4, np.uint8), {}, "2D or 3D"),
        (np.zeros((4, 4), np.uint8), {"connectivity": 3}, "Connectivity must be 1 to 2"),
    ],
)
def test_bad_input(labels, kwargs, message):
    with pytest.raises(SegLabInputError, match=message):
        remove_small_objects(labels, 3, **kwargs)


def test_a_0_255_mask_is_cleaned_like_a_0_1_mask():
    mask = _kesm_mask()
    as_255 = clean_up(mask * 255, remove_smaller_than=20, fill_holes_smaller_than=20)
    as_1 = clean_up(mask, remove_smaller_than=20, fill_holes_smaller_than=20)
    assert as_255.dtype == np.uint8 and set(np.unique(as_255)) == {0, 255}
    np.testing.assert_array_equal(as_255 // 255, as_1)


def test_negative_labels_are_refused():
    labels = np.zeros((6, 6), np.int8)
    labels[0, 0] = -1
    with pytest.raises(SegLabInputError, match="negative"):
        clean_up(labels, remove_smaller_than=2)
