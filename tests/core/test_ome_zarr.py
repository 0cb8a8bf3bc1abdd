"""OME-Zarr in and out: levels, channels, metadata, pyramids of labels and images, bad stores."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import dask.array as da
import numpy as np
import pytest
import zarr
from ome_zarr.format import FormatV04
from ome_zarr.writer import write_image

import napari_seglab as sl
from napari_seglab.core import ImageMetadata, open_image, save

RNG = np.random.default_rng(12)
UM = "micrometer"


def ome_store(path, data, axes, scale, units=None, **kwargs):
    """An OME-Zarr image written by the ome-zarr package itself (levels 2x smaller in y, x)."""
    group = zarr.open_group(path, mode="w", **kwargs.pop("group", {}))
    axes_units = {a: u for a, u in zip(axes, units or (), strict=False) if u}
    write_image(
        data, group, axes=list(axes), scale=dict(zip(axes, scale, strict=True)),
        axes_units=axes_units or None, scale_factors=[2, 4], **kwargs,
    )  # fmt: skip
    return path


def attrs_of(path):
    return json.loads((path / "zarr.json").read_text())["attributes"]


def edit_attrs(path, change):
    meta = json.loads((path / "zarr.json").read_text())
    change(meta["attributes"]["ome"]["multiscales"][0])
    (path / "zarr.json").write_text(json.dumps(meta))


@pytest.fixture
def volume_store(tmp_path):
    """A 3D (z, y, x) uint16 image of 2 x 0.5 x 0.5 micrometer voxels, 3 levels."""
    data = RNG.integers(0, 4000, (6, 64, 48), dtype=np.uint16)
    return ome_store(tmp_path / "volume.ome.zarr", data, "zyx", (2.0, 0.5, 0.5), (UM,) * 3), data


def test_reads_every_level_with_its_scale_and_units(volume_store):
    path, data = volume_store
    image = open_image(path)
    assert isinstance(image, da.Array)
    np.testing.assert_array_equal(image.compute(), data)
    meta = image.metadata
    assert meta.axes == ("z", "y", "x") and meta.types == ("space",) * 3
    assert meta.scale == (2.0, 0.5, 0.5) and meta.units == (UM,) * 3
    assert meta.levels == ((6, 64, 48), (6, 32, 24), (6, 16, 12)) and not meta.labels
    level = open_image(path, level=2)
    assert level.shape == (6, 16, 12) and level.metadata.level == 2
    assert level.metadata.scale == (2.0, 2.0, 2.0)


def test_reads_ngff_04_stores_too(tmp_path):
    data = RNG.integers(0, 255, (40, 30), dtype=np.uint8)
    path = ome_store(
        tmp_path / "old.ome.zarr", data, "yx", (0.3, 0.3), fmt=FormatV04(),
        group={"zarr_format": 2},
    )  # fmt: skip
    assert (path / ".zattrs").exists()
    image = open_image(path)
    np.testing.assert_array_equal(image.compute(), data)
    assert image.metadata.scale == (0.3, 0.3)


def test_a_channel_of_a_5d_store(tmp_path):
    data = RNG.integers(0, 255, (2, 3, 4, 32, 32), dtype=np.uint8)
    path = ome_store(tmp_path / "tczyx.ome.zarr", data, "tczyx", (1.0, 1.0, 1.5, 0.5, 0.5))
    with pytest.raises(sl.SegLabInputError, match=r"has 3 channels .* choose one with channel="):
        open_image(path)
    np.testing.assert_array_equal(open_image(path, channel=2).compute(), data[:, 2])
    image = open_image(path, channel=2, level=1)
    stored = zarr.open_array(path / "s1", mode="r")[:, 2]  # as ome-zarr downsampled it
    np.testing.assert_array_equal(image.compute(), stored)
    assert image.metadata.axes == ("t", "z", "y", "x") and image.metadata.channel == 2
    assert image.metadata.scale == (1.0, 1.5, 1.0, 1.0) and image.metadata.channels == 3
    with pytest.raises(sl.SegLabInputError, match=r"channel=3: .* has 3 channels \(0 to 2\)"):
        open_image(path, channel=3)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "bool", "int32"])
@pytest.mark.parametrize("shape", [(70, 90), (5, 70, 90)])
@pytest.mark.parametrize("lazy", [False, True])
def test_round_trip_of_every_kind(tmp_path, dtype, shape, lazy):
    if dtype == "bool":
        data = RNG.random(shape) > 0.5
    elif dtype == "float32":
        data = RNG.random(shape, dtype=np.float32)
    else:  # int32: labels with many ids
        data = RNG.integers(0, 250 if dtype == "uint8" else 60_000, shape).astype(dtype)
    given = da.from_array(data, chunks=(2, 32, 40)[-len(shape) :]) if lazy else data
    path = save(given, tmp_path / "out.ome.zarr", levels=3)
    back = open_image(path)
    assert back.dtype == data.dtype
    np.testing.assert_array_equal(back.compute(), data)
    labels = dtype != "float32"
    assert back.metadata.labels is labels
    assert back.metadata.levels == tuple(
        (*shape[:-2], shape[-2] // 2**k, shape[-1] // 2**k) for k in range(3)
    )
    for k in (1, 2):
        level = open_image(path, level=k).compute()
        h, w = shape[-2] // 2**k, shape[-1] // 2**k
        if labels:  # every 2**k-th pixel: never averaged
            np.testing.assert_array_equal(level, data[..., :: 2**k, :: 2**k][..., :h, :w])
        else:  # the mean of 2**k x 2**k pixels
            blocks = data[..., : h * 2**k, : w * 2**k].reshape(*shape[:-2], h, 2**k, w, 2**k)
            np.testing.assert_allclose(level, blocks.mean(axis=(-3, -1)), rtol=1e-5)


def test_labels_are_never_averaged(tmp_path):
    labels = np.zeros((64, 64), np.uint16)
    labels[::2, ::2], labels[1::2, 1::2] = 3, 7  # averages of 2 x 2 pixels would be 2 or 5
    save(labels, tmp_path / "labels.ome.zarr", levels=3)
    for k in (1, 2):
        values = np.unique(open_image(tmp_path / "labels.ome.zarr", level=k).compute())
        assert set(values.tolist()) <= {0, 3, 7}
    image = save(labels, tmp_path / "image.ome.zarr", levels=2, labels=False)
    assert set(np.unique(open_image(image, level=1).compute()).tolist()) == {2}  # 10 / 4


def test_metadata_is_copied_from_the_input(volume_store, tmp_path):
    path, data = volume_store
    image = open_image(path)
    result = sl.threshold(image, "otsu")
    out = save(result.mask, tmp_path / "mask.ome.zarr", metadata=image.metadata, levels=2)
    mask = open_image(out)
    np.testing.assert_array_equal(mask.compute(), sl.threshold(data, "otsu").mask)
    assert mask.metadata.axes == ("z", "y", "x") and mask.metadata.units == (UM,) * 3
    assert mask.metadata.scale == (2.0, 0.5, 0.5) and mask.metadata.labels
    assert open_image(out, level=1).metadata.scale == (2.0, 1.0, 1.0)
    written = attrs_of(out)["ome"]
    assert written["version"] == "0.5" and "image-label" in written
    # A level read as input: the pyramid of the result starts at its scale.
    small = open_image(path, level=1)
    again = save(small > 2000, tmp_path / "small.ome.zarr", metadata=small.metadata, levels=1)
    assert open_image(again).metadata.scale == (2.0, 1.0, 1.0)


def test_pyramid_of_a_lazy_pipeline_equals_the_in_memory_result(volume_store, tmp_path):
    path, data = volume_store
    image = open_image(path, chunks=(2, 32, 24))
    mask = sl.threshold(image, "otsu").mask
    clean = sl.clean_up(mask, remove_smaller_than=4, fill_holes_smaller_than=4)
    save(clean, tmp_path / "clean.ome.zarr", metadata=image.metadata)
    expected = sl.clean_up(
        sl.threshold(data, "otsu").mask, remove_smaller_than=4, fill_holes_smaller_than=4
    )
    np.testing.assert_array_equal(open_image(tmp_path / "clean.ome.zarr").compute(), expected)
    assert sl.open_image(tmp_path / "clean.ome.zarr").metadata.levels == ((6, 64, 48),)


def test_levels_are_written_level_by_level_from_the_one_before(tmp_path):
    reads = []

    def count(block):
        if block.size:  # not dask's look at an empty block
            reads.append(block.shape)
        return block

    data = RNG.integers(0, 2, (128, 96), dtype=np.uint8)
    source = da.from_array(data, chunks=(32, 32)).map_blocks(count, dtype=np.uint8)
    save(source, tmp_path / "p.ome.zarr", levels=3)
    assert len(reads) == 12  # each chunk computed once: the smaller levels read level 0 back
    stored = zarr.open_array(tmp_path / "p.ome.zarr" / "1", mode="r")
    assert stored.shape == (64, 48) and stored.chunks == (32, 32)


def test_default_pyramid_halves_down_to_256(tmp_path):
    path = save(da.zeros((1100, 600), chunks=512, dtype=np.uint8), tmp_path / "big.ome.zarr")
    assert open_image(path).metadata.levels == ((1100, 600), (550, 300), (275, 150), (137, 75))


def test_plain_zarr_and_tiff_outputs_stay(tmp_path):
    data = RNG.integers(0, 2, (30, 40), dtype=np.uint8)
    assert "ome" not in dict(zarr.open(save(data, tmp_path / "m.zarr")).attrs)
    np.testing.assert_array_equal(open_image(save(data, tmp_path / "m.tif")).compute(), data)


# --------------------------------------------------------------------------- bad input
def test_a_level_that_does_not_exist(volume_store):
    path, _ = volume_store
    with pytest.raises(sl.SegLabInputError, match=r"level=3: .* has 3 levels \(0: \(6, 64, 48\)"):
        open_image(path, level=3)


def test_level_and_channel_of_a_plain_image(tmp_path):
    plain = save(np.zeros((8, 8), np.uint8), tmp_path / "plain.zarr")
    with pytest.raises(sl.SegLabInputError, match="not an OME-Zarr pyramid; it has one level"):
        open_image(plain, level=1)
    with pytest.raises(sl.SegLabInputError, match="not an OME-Zarr image with a channel axis"):
        open_image(plain, channel=0)


def test_a_listed_level_that_is_missing(volume_store):
    path, _ = volume_store
    shutil.rmtree(path / "s1")
    with pytest.raises(sl.SegLabInputError, match="lists the levels s0, s1, s2, but s1 is"):
        open_image(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda ms: ms["datasets"][1]["coordinateTransformations"][0].update(scale=[1, 1]),
            r"level s1\): the image has 3 axes but its scale has 2 values",
        ),
        (lambda ms: ms["axes"].pop(0), "names 2 axes .* but the image has 3 dimensions"),
        (lambda ms: ms.update(datasets=[]), "lists no pyramid levels"),
        (
            lambda ms: ms["axes"][0].update(name="angle", type="rotation"),
            r"axes SegLab cannot use: angle \(rotation\)",
        ),
    ],
)
def test_metadata_that_does_not_match_the_data(volume_store, change, message):
    path, _ = volume_store
    edit_attrs(path, change)
    with pytest.raises(sl.SegLabInputError, match=message):
        open_image(path)


def test_unsupported_axes_order(tmp_path):
    path = ome_store(tmp_path / "o.ome.zarr", np.zeros((4, 16, 16), np.uint8), "zyx", (1, 1, 1))
    edit_attrs(path, lambda ms: ms["axes"][-1].update(name="c", type="channel"))  # z, y, c
    with pytest.raises(sl.SegLabInputError, match="unsupported OME-Zarr axes"):
        open_image(path)


def test_never_written_inside_an_input_store(volume_store):
    path, _ = volume_store
    image = open_image(path)
    for inside in (path / "labels" / "mask.ome.zarr", path / "s9.zarr"):
        with pytest.raises(sl.SegLabInputError, match="lies inside the zarr group"):
            save(image > 5, inside)
    assert sorted(p.name for p in path.iterdir()) == ["s0", "s1", "s2", "zarr.json"]


def test_bad_output_settings_are_refused_before_any_work(tmp_path):
    data = da.zeros((40, 40), chunks=20, dtype=np.uint8)
    with pytest.raises(sl.SegLabInputError, match="halve 5 times at most, so choose 1 to 6"):
        save(data, tmp_path / "a.ome.zarr", levels=7)
    with pytest.raises(sl.SegLabInputError, match=r"metadata has 3 axes .* result has 2"):
        save(data, tmp_path / "a.ome.zarr", metadata=ImageMetadata.default((3, 40, 40)))
    meta = ImageMetadata.default((40, 40, 40))
    data = da.zeros((40, 40, 40), chunks=20, dtype=np.uint8)
    with pytest.raises(sl.SegLabInputError, match="cannot be written as OME-Zarr"):
        save(data, tmp_path / "a.ome.zarr", metadata=replace(meta, axes=("x", "y", "x")))
    with pytest.raises(sl.SegLabInputError, match="'time' axis must be first"):
        time_second = replace(meta, types=("space", "time", "space"))
        save(data, tmp_path / "a.ome.zarr", metadata=time_second)
    with pytest.raises(sl.SegLabInputError, match="3 axes, 2 types"):
        replace(meta, types=("space", "space"))
    assert not any(tmp_path.iterdir())


def test_progress_over_all_levels_and_cancel_leaves_nothing(tmp_path):
    data = da.from_array(RNG.integers(0, 2, (256, 256), dtype=np.uint8), chunks=64)
    seen: list[tuple[int, int]] = []
    save(data, tmp_path / "p.ome.zarr", levels=3, progress=lambda d, t: seen.append((d, t)))
    done = [d for d, _ in seen]
    assert done == sorted(done) and seen[-1] == (1000, 1000) and {t for _, t in seen} == {1000}
    with pytest.raises(sl.Cancelled):
        save(data, tmp_path / "c.ome.zarr", levels=3, cancel=lambda: True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.ome.zarr"]
