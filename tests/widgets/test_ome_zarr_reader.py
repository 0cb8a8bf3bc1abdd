"""A written OME-Zarr store opens in napari as a multiscale layer with its scale and units."""

from __future__ import annotations

from dataclasses import replace

import dask.array as da
import numpy as np
import pytest
import zarr
from ome_zarr.writer import write_image

import napari_seglab as sl
from napari_seglab._widgets.reader import get_reader

UM = "micrometer"


@pytest.mark.slow
def test_a_written_mask_opens_as_multiscale_labels(make_napari_viewer, tmp_path):
    image, _ = sl.load_kesm()
    volume = np.stack([image, image[::-1], image[:, ::-1]])
    meta = replace(sl.ImageMetadata.default(volume.shape), scale=(4.0, 0.5, 0.5), units=(UM,) * 3)
    mask = sl.threshold(da.from_array(volume, chunks=(1, 256, 256)), "otsu").mask
    path = sl.save(mask, tmp_path / "vessels.ome.zarr", metadata=meta, levels=3)

    viewer = make_napari_viewer()
    (layer,) = viewer.open(path, plugin="napari-seglab")
    assert layer.__class__.__name__ == "Labels" and layer.multiscale
    assert [level.shape for level in layer.data] == [(3, 512, 512), (3, 256, 256), (3, 128, 128)]
    assert tuple(layer.scale) == (4.0, 0.5, 0.5)
    assert [str(u) for u in layer.units] == [UM] * 3
    assert tuple(layer.axis_labels) == ("z", "y", "x")
    assert isinstance(layer.data[0], da.Array)  # lazy: napari reads the level it shows
    np.testing.assert_array_equal(np.asarray(layer.data[1][1]), np.asarray(mask[1, ::2, ::2]))


def test_an_image_opens_as_multiscale_images_one_per_channel(make_napari_viewer, tmp_path):
    data = np.random.default_rng(0).integers(0, 255, (2, 64, 64), dtype=np.uint8)
    group = zarr.open_group(tmp_path / "cells.ome.zarr", mode="w")
    write_image(
        data, group, axes="cyx", scale={"c": 1.0, "y": 0.25, "x": 0.25},
        axes_units={"y": UM, "x": UM}, scale_factors=[2],
    )  # fmt: skip
    viewer = make_napari_viewer()
    layers = viewer.open(tmp_path / "cells.ome.zarr", plugin="napari-seglab")
    assert [layer.name for layer in layers] == ["cells channel 0", "cells channel 1"]
    for channel, layer in enumerate(layers):
        assert layer.__class__.__name__ == "Image" and layer.multiscale
        assert tuple(layer.scale) == (0.25, 0.25)
        np.testing.assert_array_equal(np.asarray(layer.data[0]), data[channel])


def test_only_ome_zarr_stores_are_claimed(tmp_path):
    plain = sl.save(np.zeros((8, 8), np.uint8), tmp_path / "plain.zarr")
    assert get_reader(str(plain)) is None
    assert get_reader(str(tmp_path / "missing.ome.zarr")) is None
    one = sl.save(np.zeros((8, 8), np.uint8), tmp_path / "one.ome.zarr")
    assert get_reader([str(one)]) is not None
