"""Every seglab step reads and writes OME-Zarr: --level, --channel, --pyramid, metadata kept."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import zarr
from ome_zarr.writer import write_image
from test_cli import kesm_strokes, run, sample  # noqa: F401 (fixture)

import napari_seglab as sl
from napari_seglab.core import open_image

UM = "micrometer"


def test_kesm_steps_into_ome_zarr_match_in_memory(sample, capsys):  # noqa: F811
    image, _ = sl.load_kesm()
    code, out, _ = run(
        ["threshold", "kesm_grayscale.png", "-o", "vessels.ome.zarr", "--method", "otsu",
         "--foreground", "dark", "--median", "3", "--chunks", "100,120"],
        capsys,
    )  # fmt: skip
    assert code == 0 and "wrote vessels.ome.zarr" in out
    expected = sl.threshold(image, "otsu", foreground="dark", median_size=3).mask
    written = open_image("vessels.ome.zarr")
    np.testing.assert_array_equal(written.compute(), expected)
    assert written.metadata.levels == ((512, 512), (256, 256)) and written.metadata.labels
    np.testing.assert_array_equal(
        open_image("vessels.ome.zarr", level=1).compute(), expected[::2, ::2]
    )
    assert zarr.open_group("vessels.ome.zarr").attrs["seglab"]["step"] == "threshold"

    code, out, _ = run(["evaluate", "vessels.ome.zarr", "kesm_groundtruth.png"], capsys)
    assert code == 0 and "5595  122  1863  254564" in out

    code, _, _ = run(
        ["clean", "vessels.ome.zarr", "-o", "clean.ome.zarr", "--remove-smaller-than", "30",
         "--fill-holes-smaller-than", "30", "--pyramid", "3"],
        capsys,
    )  # fmt: skip
    assert code == 0
    clean = sl.clean_up(expected, remove_smaller_than=30, fill_holes_smaller_than=30)
    np.testing.assert_array_equal(open_image("clean.ome.zarr").compute(), clean)
    np.testing.assert_array_equal(open_image("clean.ome.zarr", level=2).compute(), clean[::4, ::4])


def test_classify_writes_ome_zarr(sample, capsys):  # noqa: F811
    from napari_seglab.core.classifier import FeatureSettings, PixelClassifier

    image, _, strokes = kesm_strokes()
    classifier = PixelClassifier(FeatureSettings(sigmas=(1, 2)), n_estimators=4)
    classifier.fit(image, strokes).save("vessels.npz")
    code, out, _ = run(
        ["classify", "kesm_grayscale.png", "-o", "classes.ome.zarr", "--classifier",
         "vessels.npz"],
        capsys,
    )  # fmt: skip
    assert code == 0, out
    classes = classifier.predict(image)
    np.testing.assert_array_equal(open_image("classes.ome.zarr").compute(), classes)
    level = open_image("classes.ome.zarr", level=1).compute()
    np.testing.assert_array_equal(level, classes[::2, ::2])  # class ids, never averaged
    code, out, _ = run(
        ["evaluate", "classes.ome.zarr", "kesm_groundtruth.png", "--foreground-class", "2"], capsys
    )
    assert code == 0, out


@pytest.fixture
def stack(tmp_path, monkeypatch) -> tuple[Path, np.ndarray]:
    """A (c, z, y, x) OME-Zarr of 2 channels, 3 x 0.5 x 0.5 micrometer voxels, 3 levels."""
    monkeypatch.chdir(tmp_path)
    data = np.random.default_rng(3).integers(0, 255, (2, 4, 96, 80), dtype=np.uint8)
    group = zarr.open_group(tmp_path / "stack.ome.zarr", mode="w")
    write_image(
        data, group, axes="czyx", scale={"c": 1.0, "z": 3.0, "y": 0.5, "x": 0.5},
        axes_units={"z": UM, "y": UM, "x": UM}, scale_factors=[2, 4],
    )  # fmt: skip
    return tmp_path / "stack.ome.zarr", data


def test_level_and_channel_of_an_ome_zarr_input(stack, capsys):
    path, data = stack
    code, out, _ = run(
        ["threshold", str(path), "-o", "mask.ome.zarr", "--channel", "1", "--method", "li"],
        capsys,
    )
    assert code == 0, out
    mask = open_image("mask.ome.zarr")
    np.testing.assert_array_equal(mask.compute(), sl.threshold(data[1], "li").mask)
    assert mask.metadata.axes == ("z", "y", "x") and mask.metadata.units == (UM,) * 3
    assert mask.metadata.scale == (3.0, 0.5, 0.5)

    code, out, _ = run(
        ["threshold", str(path), "-o", "small.ome.zarr", "--channel", "0", "--level", "1"],
        capsys,
    )
    assert code == 0, out
    small = open_image("small.ome.zarr")
    assert small.shape == (4, 48, 40) and small.metadata.scale == (3.0, 1.0, 1.0)
    reference = open_image(path, level=1, channel=0).compute()
    np.testing.assert_array_equal(small.compute(), sl.threshold(reference, "otsu").mask)

    code, out, _ = run(["threshold", str(path), "-o", "plain.zarr", "--channel", "0"], capsys)
    assert code == 0 and "ome" not in dict(zarr.open("plain.zarr").attrs)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "has 2 channels .* --channel N"),
        (["--channel", "0", "--level", "4"], r"level=4: .* has 3 levels"),
        (["--channel", "2"], r"channel=2: .* has 2 channels \(0 to 1\)"),
        (["--channel", "0", "--pyramid", "9"], "halve 6 times at most, so choose 1 to 7"),
    ],
)
def test_bad_ome_zarr_input_gives_a_message(stack, capsys, args, message):
    path, _ = stack
    code, _, err = run(["threshold", str(path), "-o", "out.ome.zarr", *args], capsys)
    assert code == 2 and "Traceback" not in err
    assert re.search(message, err), err
    assert not Path("out.ome.zarr").exists()


def test_pyramid_needs_an_ome_zarr_output_and_inputs_stay_untouched(stack, capsys):
    path, _ = stack
    code, _, err = run(
        ["threshold", str(path), "-o", "m.zarr", "--channel", "0", "--pyramid", "2"], capsys
    )
    assert code == 2 and "only an OME-Zarr output has pyramid levels" in err
    inside = path / "labels" / "mask.ome.zarr"
    code, _, err = run(["threshold", str(path), "-o", str(inside), "--channel", "0"], capsys)
    assert code == 2 and "lies inside the input" in err
    assert not (path / "labels").exists()
