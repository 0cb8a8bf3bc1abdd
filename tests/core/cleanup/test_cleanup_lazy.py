"""Chunk-by-chunk clean-up equals the in-memory one: objects measured across chunk borders."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from scipy import ndimage as ndi

import napari_seglab as sl
from napari_seglab.core.cleanup import clean_up, fill_small_holes, remove_small_objects


@pytest.mark.parametrize("connectivity", [1, 2, 3])
def test_remove_small_objects_across_chunks(mask, connectivity, lazy):
    expected = remove_small_objects(mask, 40, connectivity=connectivity)
    result = sl.remove_small_objects(lazy(mask), 40, connectivity=connectivity)
    assert isinstance(result, da.Array)
    np.testing.assert_array_equal(result.compute(), expected)
    # Objects that cross borders are kept whole: sizes counted per chunk would remove more.
    assert expected.sum() > 0


def test_object_spanning_every_chunk_is_measured_whole(lazy):
    snake = np.zeros((130, 170), np.uint8)
    snake[5, :] = 1
    snake[5:125, 165] = 1
    snake[125, 10:166] = 1
    result = sl.remove_small_objects(lazy(snake, (32, 40)), 400)
    np.testing.assert_array_equal(result.compute(), snake)
    gone = sl.remove_small_objects(lazy(snake, (32, 40)), int(snake.sum()) + 1)
    assert int(gone.sum().compute()) == 0


def test_diagonal_contact_across_chunk_corner(lazy):
    img = np.zeros((64, 80), np.uint8)
    img[31, 39] = img[32, 40] = 1  # touch only through a corner shared by four chunks
    for connectivity, kept in ((1, 0), (2, 2)):
        out = sl.remove_small_objects(lazy(img, (32, 40)), 2, connectivity=connectivity)
        assert int(out.sum().compute()) == kept
        assert (out.compute() == remove_small_objects(img, 2, connectivity=connectivity)).all()


def test_anti_diagonal_contacts_across_chunk_corners(lazy):
    # Chunks that touch only through a corner or an edge, the later one lower along an axis
    # (steps such as (1, -1) and (1, 1, -1) between chunks).
    img = np.zeros((64, 80), np.uint8)
    img[31, 40] = img[32, 39] = 1
    for connectivity, kept in ((1, 0), (2, 2)):
        out = sl.remove_small_objects(lazy(img, (32, 40)), 2, connectivity=connectivity)
        assert int(out.sum().compute()) == kept
    vol = np.zeros((8, 8, 8), np.uint8)
    vol[3, 3, 4] = vol[4, 4, 3] = 1  # only through a corner shared by eight chunks
    vol[3, 4, 1] = vol[4, 3, 1] = 1  # through an edge
    for connectivity in (1, 2, 3):
        out = sl.remove_small_objects(lazy(vol, (4, 4, 4)), 2, connectivity=connectivity)
        expected = remove_small_objects(vol, 2, connectivity=connectivity)
        assert expected.sum() == (0, 2, 4)[connectivity - 1]
        np.testing.assert_array_equal(out.compute(), expected)


@pytest.mark.parametrize("connectivity", [1, 3])
def test_fill_small_holes_across_chunks(mask, connectivity, lazy):
    expected = fill_small_holes(mask, 30, connectivity=connectivity)
    result = sl.fill_small_holes(lazy(mask), 30, connectivity=connectivity)
    np.testing.assert_array_equal(result.compute(), expected)
    assert (expected != mask).any()


@pytest.mark.parametrize("dtype", [bool, np.uint8])
def test_clean_up_and_label_images(mask, dtype, lazy):
    data = mask.astype(dtype) * (1 if dtype is bool else 255)
    expected = clean_up(data, remove_smaller_than=25, fill_holes_smaller_than=20)
    result = sl.clean_up(lazy(data), remove_smaller_than=25, fill_holes_smaller_than=20)
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(result.compute(), expected)
    labels = ndi.label(mask)[0].astype(np.int32)
    np.testing.assert_array_equal(
        sl.remove_small_objects(lazy(labels), 30).compute(), remove_small_objects(labels, 30)
    )


def test_fill_holes_refuses_multi_label_images(lazy):
    labels = np.zeros((64, 64), np.int32)
    labels[:10, :10], labels[30:, 30:] = 1, 2
    with pytest.raises(sl.SegLabInputError, match="binary mask"):
        sl.fill_small_holes(lazy(labels, 16), 5)


def test_0_255_mask_clean_up_across_chunks(mask, lazy):
    data = mask * np.uint8(255)
    expected = remove_small_objects(data, 40)
    assert set(np.unique(expected)) == {0, 255} and expected.sum() < data.sum()
    np.testing.assert_array_equal(sl.remove_small_objects(lazy(data), 40).compute(), expected)


def test_clean_up_fills_like_in_memory_when_every_object_is_removed(lazy):
    # Removal empties the 0/255 mask, so the whole (small) image becomes one hole: in
    # memory it is filled with 1 (no foreground value is left to copy).
    data = np.zeros((8, 10), np.uint8)
    data[2, 3] = 255
    expected = clean_up(data, remove_smaller_than=2, fill_holes_smaller_than=100)
    result = sl.clean_up(lazy(data, (4, 5)), remove_smaller_than=2, fill_holes_smaller_than=100)
    np.testing.assert_array_equal(result.compute(), expected)
    assert (expected == 1).all()


def test_clean_up_shares_passes_and_equals_the_two_steps(mask, lazy):
    # The fused clean-up equals removing then filling with the public functions, across
    # chunks, for a 3D connectivity that links chunks through their corners.
    expected = fill_small_holes(remove_small_objects(mask, 40, connectivity=3), 60, connectivity=3)
    result = sl.clean_up(
        lazy(mask), remove_smaller_than=40, fill_holes_smaller_than=60, connectivity=3
    )
    np.testing.assert_array_equal(result.compute(), expected)
    assert (expected != mask).any()


@pytest.mark.parametrize("values", [(0, -1), (0, -1, 3)])
def test_negative_labels_are_refused_like_in_memory(values, lazy):
    # Found where the value range is computed, for a mask (one non-zero value) as for labels.
    labels = np.zeros((8, 10), np.int8)
    labels[:2, :2], labels[5:, 5:] = values[1], values[-1]
    for function in (sl.remove_small_objects, sl.fill_small_holes):
        with pytest.raises(sl.SegLabInputError, match="negative values down to -1"):
            function(labels, 2)
        with pytest.raises(sl.SegLabInputError, match="negative values down to -1"):
            function(lazy(labels, (4, 5)), 2)
    with pytest.raises(sl.SegLabInputError, match="negative values down to -1"):
        sl.clean_up(lazy(labels, (4, 5)), remove_smaller_than=2)


def test_chunked_steps_do_not_import_dask_distributed(tmp_path):
    # dask imports dask.distributed (about 0.3 s) on a first computation that names no
    # scheduler; with no cluster connected, SegLab's passes run the threaded one directly.
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, dask.array as da, napari_seglab as sl\n"
        "from napari_seglab.core.io import save\n"
        "image = da.from_array((np.arange(4096) % 251).astype('u1').reshape(16, 16, 16), 8)\n"
        "mask = sl.threshold(image, 'otsu').mask\n"
        "out = sl.clean_up(mask, remove_smaller_than=3, fill_holes_smaller_than=3)\n"
        f"save(out, {str(tmp_path / 'out.zarr')!r})\n"
        "sl.evaluate(out, mask)\n"
        "sl.measure_objects(sl.label_objects(out).labels)\n"
        "rgb = (np.arange(3072) % 253).astype('u1').reshape(32, 32, 3)\n"
        "sl.cluster(da.from_array(rgb, (16, 16, 3)), 2, rgb=True)\n"
        "assert 'distributed' not in sys.modules, 'dask.distributed was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_removed_object_joins_holes_across_a_chunk_border(lazy):
    # A one-pixel object at (3, 5) keeps four holes apart: (3, 3:5) and (2, 5), (4, 5) in
    # the left chunk, (3, 6:8) across the border in the right one. Removing it makes one
    # hole of 7 pixels: filled below 8, not below 5 (each hole alone would be).
    data = np.ones((8, 12), np.uint8)
    data[3, 3:5] = data[3, 6:8] = data[2, 5] = data[4, 5] = 0
    cases = {(2, 5): 7, (2, 8): 0, (0, 5): 0, (2, 0): 7}  # (remove, fill): pixels left 0
    for (remove, fill), zeros in cases.items():
        expected = clean_up(data, remove_smaller_than=remove, fill_holes_smaller_than=fill)
        assert int((expected == 0).sum()) == zeros
        result = sl.clean_up(
            lazy(data, (8, 6)), remove_smaller_than=remove, fill_holes_smaller_than=fill
        )
        np.testing.assert_array_equal(result.compute(), expected)


@pytest.mark.parametrize("seed", range(4))
def test_random_masks_clean_up_like_in_memory(seed):
    # Random 2D, 3D and 4D masks (4D: labelled by scipy), chunks, connectivities and sizes:
    # removed objects that join holes, holes and objects crossing chunk faces, edges and
    # corners.
    rng = np.random.default_rng(seed)
    for _ in range(40):
        ndim = int(rng.choice([2, 3, 4], p=[0.45, 0.45, 0.1]))
        shape = tuple(int(v) for v in rng.integers(3, {2: 30, 3: 12, 4: 6}[ndim], ndim))
        mask = rng.random(shape) < rng.uniform(0.2, 0.8)
        if rng.random() < 0.5:
            mask = ndi.binary_opening(mask)
        chunks = tuple(int(v) for v in rng.integers(1, max(2, min(shape)), ndim))
        connectivity = int(rng.integers(1, ndim + 1))
        remove, fill = (int(v) for v in rng.integers(0, 12, 2))
        expected = clean_up(
            mask,
            remove_smaller_than=remove,
            fill_holes_smaller_than=fill,
            connectivity=connectivity,
        )
        result = sl.clean_up(
            da.from_array(mask, chunks=chunks),
            remove_smaller_than=remove,
            fill_holes_smaller_than=fill,
            connectivity=connectivity,
        )
        np.testing.assert_array_equal(result.compute(), expected)
