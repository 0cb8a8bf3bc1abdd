"""Reading and writing files: lazily, atomically, never over an input, clear refusals."""

from __future__ import annotations

import os

import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr

import napari_seglab as sl
from napari_seglab.core import Cancelled, open_image, save
from napari_seglab.core.io import check_output, input_paths


def test_output_is_never_half_written(tmp_path):
    def explode(block):
        if block.min() > 0:
            raise KeyboardInterrupt
        return block

    data = da.arange(64 * 64, chunks=512).reshape(64, 64).map_blocks(explode)
    out = tmp_path / "result.zarr"
    with pytest.raises(KeyboardInterrupt):
        save(data, out)
    assert not out.exists() and not (tmp_path / "result.zarr.partial").exists()
    with pytest.raises(Cancelled):
        save(da.ones((64, 64), chunks=8), out, cancel=lambda: True)
    assert list(tmp_path.iterdir()) == []
    # A store left by a killed run is refused, not mistaken for a result.
    (tmp_path / "killed.zarr.partial").mkdir()
    with pytest.raises(sl.SegLabInputError, match="interrupted run"):
        open_image(tmp_path / "killed.zarr.partial")
    # An existing output is replaced only by a complete new one.
    save(da.zeros((8, 8), chunks=4), out)
    with pytest.raises(sl.SegLabInputError, match="already exists"):
        save(da.ones((8, 8), chunks=4), out)
    save(da.ones((8, 8), chunks=4), out, overwrite=True)
    assert int(open_image(out).sum().compute()) == 64


def test_reads_tiff_pages_lazily(tmp_path):
    stack = np.random.default_rng(0).integers(0, 255, (3, 130, 170), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "stack.tif", stack)
    image = open_image(tmp_path / "stack.tif")
    assert isinstance(image, da.Array) and image.chunks[0] == (1, 1, 1)
    np.testing.assert_array_equal(image.compute(), stack)


def test_a_result_is_never_written_over_its_own_input(tmp_path):
    # issue 9, item 3: an output at (or around, or inside) the store the input reads.
    store = save(np.arange(64, dtype=np.uint8).reshape(8, 8), tmp_path / "image.zarr")
    image = open_image(store)
    assert input_paths(image > 10) == (store.resolve(),)
    for out in (store, tmp_path / "image.zarr" / "inner.zarr"):
        with pytest.raises(sl.SegLabInputError, match="would destroy the image being read"):
            save(image > 10, out, overwrite=True)  # found in the dask graph
    with pytest.raises(sl.SegLabInputError, match="is the input"):
        check_output(store, overwrite=True, inputs=[str(store)])  # inputs given as paths
    np.testing.assert_array_equal(open_image(store).compute(), np.arange(64).reshape(8, 8))
    # A TIFF read through tifffile's zarr interface and an array inside a group, too.
    tifffile.imwrite(tmp_path / "stack.tif", np.ones((2, 40, 40), np.uint8))
    stack = open_image(tmp_path / "stack.tif")
    assert input_paths(stack + 1) == ((tmp_path / "stack.tif").resolve(),)
    with pytest.raises(sl.SegLabInputError, match="is the input"):
        save(stack + 1, tmp_path / "stack.tif", overwrite=True)
    group = zarr.open_group(tmp_path / "pyramid.zarr", mode="w")
    group.create_array("0", shape=(8, 8), dtype="u1")
    level = da.from_zarr(group["0"], inline_array=True)
    assert input_paths(level) == ((tmp_path / "pyramid.zarr" / "0").resolve(),)
    with pytest.raises(sl.SegLabInputError, match="holds the input"):
        save(level, tmp_path / "pyramid.zarr", overwrite=True)
    # Any other path is fine, and data in memory read nothing.
    assert save(image > 10, tmp_path / "mask.zarr").exists()
    assert input_paths(np.zeros(3)) == ()


def test_a_plain_folder_is_never_replaced(tmp_path):
    # Before: "-o my_folder --overwrite" deleted the folder and everything in it.
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.txt").write_text("precious")
    with pytest.raises(sl.SegLabInputError, match="not a zarr store; SegLab never replaces"):
        save(np.zeros((4, 4), np.uint8), folder, overwrite=True)
    assert (folder / "chapter1.txt").read_text() == "precious"


def test_output_checks(tmp_path, monkeypatch):
    with pytest.raises(sl.SegLabInputError, match=r"results are written as .zarr .* not .hdf5"):
        check_output(tmp_path / "mask.hdf5")
    with pytest.raises(sl.SegLabInputError, match="without suffix"):
        check_output(tmp_path / "mask")
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as for a non-root user
    with pytest.raises(sl.SegLabInputError, match="cannot be written to"):
        check_output(tmp_path / "mask.zarr")


def test_unreadable_inputs_are_named_clearly(tmp_path):
    (tmp_path / "notes.png").write_text("not an image at all")
    (tmp_path / "empty.zarr").mkdir()
    (tmp_path / "plain").mkdir()
    (tmp_path / "file.zarr").write_text("a file")
    zarr.open_group(tmp_path / "group.zarr", mode="w").create_group("labels")
    np.save(tmp_path / "objects.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
    with tifffile.TiffWriter(tmp_path / "two.tif") as tif:
        tif.write(np.zeros((40, 50), np.uint8), photometric="minisblack")
        tif.write(np.ones((20, 30), np.uint16), photometric="minisblack")
    for name, message in [
        ("notes.png", "not a readable PNG image"),
        ("empty.zarr", "is a folder but not a zarr store"),
        ("plain", "is a folder, not an image"),
        ("file.zarr", "is a file, but a zarr store is a folder"),
        ("group.zarr", "zarr group without any image array in it"),
        ("objects.npy", "holds Python objects, not pixel values"),
        ("two.tif", r"holds 2 separate images \(\(40, 50\), \(20, 30\)\)"),
    ]:
        with pytest.raises(sl.SegLabInputError, match=message) as refused:
            open_image(tmp_path / name)
        assert "pip install" not in str(refused.value)


def test_grey_and_alpha_png_is_one_grey_image(tmp_path):
    # Before: a (512, 512, 2) image whose alpha plane was thresholded with the grey one.
    import imageio.v3 as iio

    image, _ = sl.load_kesm()
    iio.imwrite(tmp_path / "la.png", np.stack([image, np.full_like(image, 255)], axis=-1))
    np.testing.assert_array_equal(open_image(tmp_path / "la.png").compute(), image)
    rgba = np.stack([image, image, image, np.full_like(image, 255)], axis=-1)
    iio.imwrite(tmp_path / "rgba.png", rgba)
    assert open_image(tmp_path / "rgba.png").shape == (512, 512, 4)


def test_small_file_chunks_are_grouped_into_whole_blocks_of_them():
    from napari_seglab.core.io import grouped_chunks

    for chunks, shape, itemsize in [
        ((64, 64, 64), (256, 2048, 2048), 1),
        ((1, 512, 512), (799, 8026, 17480), 2),
        ((1, 100, 100, 3), (40, 1000, 1000, 3), 1),
        ((30, 70), (100, 1000), 4),
    ]:
        grouped = grouped_chunks(chunks, shape, itemsize, 1 << 20)
        for g, c, n in zip(grouped, chunks, shape, strict=True):
            assert g == n or g % c == 0  # never a part of a file chunk
        size = int(np.prod(grouped)) * itemsize
        assert size <= 1 << 20 and (size > 1 << 19 or grouped == shape)
    assert grouped_chunks((256, 2048), (1000, 4096), 4, 1 << 20) == (256, 2048)  # kept
    assert grouped_chunks((10, 10), (30, 40), 1, 1 << 20) == (30, 40)  # the whole image
    # an OME-Zarr channel axis stays one channel per chunk: one channel is read
    assert grouped_chunks((1, 1, 4, 32, 32), (2, 3, 4, 32, 32), 1, 1 << 20, (1,)) == (
        2, 1, 4, 32, 32,
    )  # fmt: skip


def test_open_image_reads_grouped_chunks_from_zarr_tiff_and_ome_zarr(tmp_path):
    from ome_zarr.writer import write_image

    rng = np.random.default_rng(3)
    volume = rng.integers(0, 255, (16, 96, 80), dtype=np.uint8)
    zarr.create_array(tmp_path / "v.zarr", data=volume, chunks=(4, 16, 16))
    tifffile.imwrite(tmp_path / "v.tif", volume)  # one chunk per page
    group = zarr.open_group(tmp_path / "v.ome.zarr", mode="w")
    write_image(
        volume, group, axes="zyx", scale_factors=[2], storage_options={"chunks": (4, 16, 16)}
    )
    for name, own in [
        ("v.zarr", (4, 16, 16)),
        ("v.tif", (1, 96, 80)),
        ("v.ome.zarr", (4, 16, 16)),
    ]:
        assert max(open_image(tmp_path / name).chunks[0]) == own[0]
        image = open_image(tmp_path / name, min_chunk_bytes=40_000)
        assert image.chunksize != own and int(np.prod(image.chunksize)) <= 40_000
        np.testing.assert_array_equal(image.compute(), volume)
        assert image.metadata.axes == ("z", "y", "x")
        # explicit chunks win over the grouping
        assert open_image(
            tmp_path / name, chunks=(2, 48, 40), min_chunk_bytes=40_000
        ).chunksize == (2, 48, 40)


def test_regroup_merges_small_dask_chunks_only():
    from napari_seglab.core.io import regroup

    small = da.arange(64 * 96 * 80, dtype=np.uint16).reshape(64, 96, 80).rechunk((4, 16, 16))
    grouped = regroup(small, 40_000)
    assert grouped.chunksize != small.chunksize and int(np.prod(grouped.chunksize)) * 2 <= 40_000
    np.testing.assert_array_equal(grouped.compute(), small.compute())
    big = small.rechunk((64, 96, 80))
    assert regroup(big, 40_000) is big


def test_one_channel_of_a_grouped_ome_zarr(tmp_path):
    from ome_zarr.writer import write_image

    data = np.random.default_rng(4).integers(0, 255, (2, 3, 4, 64, 64), dtype=np.uint8)
    group = zarr.open_group(tmp_path / "tczyx.ome.zarr", mode="w")
    write_image(
        data, group, axes="tczyx", scale_factors=[2],
        storage_options={"chunks": (1, 1, 1, 16, 16)},
    )  # fmt: skip
    image = open_image(tmp_path / "tczyx.ome.zarr", channel=1, min_chunk_bytes=1 << 20)
    assert image.chunksize == (2, 4, 64, 64)
    np.testing.assert_array_equal(image.compute(), data[:, 1])
