"""The seglab command end to end on the KESM sample, locally and on a dask cluster."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr

import napari_seglab as sl
from napari_seglab import cli
from napari_seglab.cli import _steps as cli_steps
from napari_seglab.cli._parser import parser as cli_parser
from napari_seglab.cli._steps import threshold_options
from napari_seglab.core import open_image, save

KESM_COUNTS = {"tp": 5595, "fp": 122, "fn": 1863, "tn": 254564}
SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture
def sample(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["sample", str(tmp_path)]) == 0
    return tmp_path


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main([*args, "--quiet"] if args[0] != "sample" else args)
    out, err = capsys.readouterr()
    return code, out, err


def csv_total(path: Path) -> dict:
    with path.open() as fh:
        rows = [row for row in csv.DictReader(fh) if row["plane"] == "total"]
    return {k: int(rows[0][k]) for k in KESM_COUNTS}


CLEAN_30 = {"remove_smaller_than": 30, "fill_holes_smaller_than": 30}


def clean_30(source: str, output: str, capsys) -> None:
    """``seglab clean`` removing objects and filling holes of fewer than 30 pixels."""
    code, _, _ = run(
        ["clean", source, "-o", output, "--remove-smaller-than", "30",
         "--fill-holes-smaller-than", "30"],
        capsys,
    )  # fmt: skip
    assert code == 0


def kesm_strokes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The KESM image, its ground truth and sparse training strokes (class = truth + 1)."""
    image, truth = sl.load_kesm()
    strokes = np.zeros_like(truth)
    strokes[::11, ::11] = truth[::11, ::11] + 1
    return image, truth, strokes


def test_help_is_for_biologists(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for step in ("threshold", "clean", "classify", "evaluate", "--scheduler"):
        assert step in text
    assert "seglab threshold kesm_grayscale.png -o vessels.zarr" in text


def test_kesm_threshold_clean_evaluate_matches_in_memory(sample, capsys):
    image, truth = sl.load_kesm()
    code, out, _ = run(
        ["threshold", "kesm_grayscale.png", "-o", "vessels.zarr", "--method", "otsu",
         "--foreground", "dark", "--median", "3", "--chunks", "100,120"],
        capsys,
    )  # fmt: skip
    assert code == 0 and "otsu: 175 (foreground dark)" in out
    expected = sl.threshold(image, "otsu", foreground="dark", median_size=3).mask
    written = open_image("vessels.zarr")
    np.testing.assert_array_equal(written.compute(), expected)
    assert written.chunks == ((100,) * 5 + (12,), (120,) * 4 + (32,))

    clean_30("vessels.zarr", "clean.tif", capsys)
    np.testing.assert_array_equal(tifffile.imread("clean.tif"), sl.clean_up(expected, **CLEAN_30))

    code, out, _ = run(
        ["evaluate", "vessels.zarr", "kesm_groundtruth.png", "--csv", "scores.csv"], capsys
    )
    assert code == 0
    assert "5595  122  1863  254564" in out and "0.8493" in out
    assert csv_total(Path("scores.csv")) == KESM_COUNTS
    assert "matched" not in out  # object matching only when asked for

    code, objects_out, _ = run(
        ["evaluate", "vessels.zarr", "kesm_groundtruth.png", "--objects"], capsys
    )
    assert code == 0
    assert objects_out.splitlines()[:2] == out.splitlines()[:2]  # the same pixel table
    objects = sl.evaluate(expected, truth, objects=True).objects
    assert f"{objects.matched} matched" in objects_out


def test_small_file_chunks_are_processed_in_groups(tmp_path, capsys, monkeypatch):
    """A store of small chunks is read in groups of them; the results stay exact; classify
    keeps the file's chunks (its memory follows the chunk size)."""
    from napari_seglab.core import io
    from napari_seglab.core.classifier import FeatureSettings, PixelClassifier

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(io, "GROUPED_CHUNK_BYTES", 64 * 1024)
    image, truth = sl.load_kesm()
    volume = np.stack([image, image[::-1], image[:, ::-1], image.T])
    truths = np.stack([truth, truth[::-1], truth[:, ::-1], truth.T])
    mask = sl.threshold(volume, "otsu", foreground="dark").mask
    zarr.create_array("mask.zarr", data=mask, chunks=(1, 32, 32))
    zarr.create_array("truth.zarr", data=truths, chunks=(1, 32, 32))
    clean_30("mask.zarr", "clean.zarr", capsys)
    written = open_image("clean.zarr")
    assert written.chunksize == (4, 128, 128)  # 64 file chunks in each
    expected = sl.clean_up(mask, **CLEAN_30)
    np.testing.assert_array_equal(written.compute(), expected)
    code, _, _ = run(["evaluate", "clean.zarr", "truth.zarr", "--csv", "scores.csv"], capsys)
    assert code == 0
    counts = sl.evaluate(expected, truths).counts
    assert csv_total(Path("scores.csv")) == {k: getattr(counts, k) for k in KESM_COUNTS}

    _, _, strokes = kesm_strokes()
    PixelClassifier(FeatureSettings(sigmas=(1,)), n_estimators=4).fit(image, strokes).save("c.npz")
    zarr.create_array("image.zarr", data=volume[:1], chunks=(1, 128, 128))
    code, _, _ = run(
        ["classify", "image.zarr", "-o", "classes.zarr", "--classifier", "c.npz"], capsys
    )
    assert code == 0 and open_image("classes.zarr").chunksize == (1, 128, 128)


def test_on_a_local_dask_cluster(sample, capsys):
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        code, out, _ = run(
            ["threshold", "kesm_grayscale.png", "-o", "v.zarr", "--foreground", "dark",
             "--median", "3", "--chunks", "128,128", "--scheduler", address],
            capsys,
        )  # fmt: skip
        assert code == 0 and "otsu: 175" in out
        code, out, _ = run(
            ["clean", "v.zarr", "-o", "c.zarr", "--remove-smaller-than", "30",
             "--scheduler", address],
            capsys,
        )  # fmt: skip
        assert code == 0
        code, out, _ = run(
            ["evaluate", "v.zarr", "kesm_groundtruth.png", "--csv", "s.csv", "--scheduler",
             address],
            capsys,
        )  # fmt: skip
        assert code == 0
    assert csv_total(Path("s.csv")) == KESM_COUNTS
    mask = open_image("v.zarr").compute()
    np.testing.assert_array_equal(
        open_image("c.zarr").compute(), sl.remove_small_objects(mask, 30)
    )


def test_real_subprocess(sample):
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-m", "napari_seglab.cli"]
    done = subprocess.run(
        [*command, "threshold", "kesm_grayscale.png", "-o", "v.zarr", "--foreground", "dark",
         "--median", "3"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "otsu: 175" in done.stdout and "100% Completed" in done.stderr
    bad = subprocess.run(
        [*command, "evaluate", "v.zarr", "missing.png"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "missing.png does not exist" in bad.stderr and "Traceback" not in bad.stderr


def test_bad_inputs_give_a_message_and_non_zero_exit(sample, capsys, monkeypatch):
    cases = [
        (["threshold", "nothere.tif", "-o", "o.zarr"], "does not exist"),
        (["threshold", "kesm_grayscale.png", "-o", "o.hdf5"], "results are written as .zarr"),
        (["evaluate", "kesm_grayscale.png", "notes.txt"], "unknown image format"),
        (["threshold", "kesm_grayscale.png", "-o", "o.zarr", "--median", "9", "--chunks",
          "3,3"], "needs a halo of 4 pixels"),
        (["threshold", "kesm_grayscale.png", "-o", "o.zarr", "--chunks", "64,64,1"],
         "has 2 dimensions"),
    ]  # fmt: skip
    Path("notes.txt").write_text("not an image")
    np.save("small.npy", np.zeros((10, 10), np.uint8))
    cases.append((["evaluate", "small.npy", "kesm_groundtruth.png"], "they must cover"))
    monkeypatch.setattr(cli_steps, "CONNECT_TIMEOUT", "1s")
    cases.append(
        (["evaluate", "small.npy", "small.npy", "--scheduler", "tcp://127.0.0.1:9"],
         "Could not connect to a dask scheduler")
    )  # fmt: skip
    monkeypatch.setattr(cli_steps, "OBJECT_PIXELS", 100)
    cases.append(
        (["evaluate", "kesm_groundtruth.png", "kesm_groundtruth.png", "--objects"],
         "only done for up to 100 pixels")
    )  # fmt: skip
    cases.append(
        (["evaluate", "small.npy", "kesm_groundtruth.png", "--objects"], "they must cover")
    )  # fmt: skip
    cases.append(
        (["threshold", "kesm_grayscale.png", "-o", "o.zarr", "--method", "local_mean",
          "--block-size", "4"], "block size must be odd")
    )  # fmt: skip
    cases.append(
        (["threshold", "kesm_grayscale.png", "-o", "o.zarr", "--method", "manual"],
         "needs a threshold value")
    )  # fmt: skip
    cases.append(
        (["evaluate", "small.npy", "small.npy", "--csv", "nowhere/s.csv"], "does not exist")
    )  # fmt: skip
    save(np.zeros((4, 4), np.uint8), "exists.zarr")
    cases.append(
        (["threshold", "kesm_grayscale.png", "-o", "exists.zarr", "--median", "3"],
         "already exists")
    )  # fmt: skip
    for args, message in cases:
        code, _, err = run(args, capsys)
        assert code == 2, args
        assert message in err and "Traceback" not in err, err
    assert not Path("o.zarr").exists()
    assert sorted(p.name for p in Path().iterdir() if "zarr" in p.name) == ["exists.zarr"]


def test_every_threshold_option_reaches_the_options(sample):
    from dataclasses import fields

    from napari_seglab.core.threshold import ThresholdOptions

    args = cli_parser().parse_args(
        ["threshold", "in.png", "-o", "o.zarr", "--method", "multi_otsu", "--foreground",
         "dark", "--median", "5", "--median-3d", "--per-plane", "--value", "7", "--classes",
         "4", "--boundary", "2", "--block-size", "9", "--offset", "1.5", "--window-size",
         "11", "--k", "0.3"]
    )  # fmt: skip
    assert threshold_options(args) == ThresholdOptions(
        "multi_otsu", "dark", median_size=5, median_ndim=3, per_plane=True, value=7.0,
        classes=4, boundary=2, block_size=9, offset=1.5, window_size=11, k=0.3,
    )  # fmt: skip
    defaults = threshold_options(cli_parser().parse_args(["threshold", "a.png", "-o", "o.zarr"]))
    assert defaults == ThresholdOptions()
    assert {f.name for f in fields(ThresholdOptions)} - set(vars(args)) == {
        "plane_ndim",
        "rgb",
        "channel",
    }


def test_classify_with_a_saved_classifier(sample, capsys):
    from napari_seglab.core.classifier import FeatureSettings, PixelClassifier

    image, _, strokes = kesm_strokes()
    classifier = PixelClassifier(FeatureSettings(sigmas=(1, 2, 4)), n_estimators=8)
    classifier.fit(image, strokes).save("vessels.npz")
    code, out, _ = run(
        ["classify", "kesm_grayscale.png", "-o", "classes.zarr", "--classifier", "vessels.npz",
         "--chunks", "128,200"],
        capsys,
    )  # fmt: skip
    assert code == 0, out
    np.testing.assert_array_equal(open_image("classes.zarr").compute(), classifier.predict(image))
    rgb = np.stack([image] * 3, axis=-1)
    tifffile.imwrite("rgb.tif", rgb)
    for args, message in (
        (["--channel-axis", "-1"], "trained on images with 1 channel"),
        (["--chunks", "8,8"], "needs a halo of 26 pixels"),
    ):
        source = "rgb.tif" if "--channel-axis" in args else "kesm_grayscale.png"
        code, _, err = run(
            ["classify", source, "-o", "bad.zarr", "--classifier", "vessels.npz", *args], capsys
        )
        assert code == 2 and message in err and "Traceback" not in err
    Path("fake.npz").write_bytes(b"not a classifier")
    code, _, err = run(
        ["classify", "kesm_grayscale.png", "-o", "bad.zarr", "--classifier", "fake.npz"], capsys
    )
    assert code == 2 and "fake.npz" in err


def test_one_output_check_for_save_and_every_step(tmp_path, capsys):
    from napari_seglab.core.io import check_output

    assert check_output(tmp_path / "new.zarr") == tmp_path / "new.zarr"
    (tmp_path / "old.tif").write_bytes(b"")
    assert check_output(tmp_path / "old.tif", overwrite=True).name == "old.tif"
    for path, message in [
        (tmp_path / "old.tif", "already exists"),
        (tmp_path / "mask.png", "results are written as .zarr"),
        (tmp_path / "missing" / "mask.zarr", "does not exist"),
    ]:
        with pytest.raises(sl.SegLabInputError, match=message):
            check_output(path)
        with pytest.raises(sl.SegLabInputError, match=message):
            save(np.zeros((4, 4), np.uint8), path)
        for step in (["threshold", "in.png"], ["clean", "in.zarr"]):  # refused before reading
            code, _, err = run([*step, "-o", str(path)], capsys)
            assert code == 2 and message in err


def test_output_over_its_own_input_is_refused(sample, capsys):
    # issue 9, item 3: "seglab threshold x.zarr -o x.zarr --overwrite" replaced the image.
    image, _ = sl.load_kesm()
    save(image, "x.zarr")
    for args in (
        ["threshold", "x.zarr", "-o", "x.zarr", "--overwrite"],
        ["threshold", "x.zarr", "-o", "x.zarr", "--overwrite", "--median", "3"],
        ["threshold", "x.zarr", "-o", "x.zarr/inner.zarr"],
        ["clean", "x.zarr", "-o", "x.zarr", "--overwrite", "--labels"],
        ["evaluate", "x.zarr", "kesm_groundtruth.png", "--csv", "kesm_groundtruth.png"],
    ):
        code, _, err = run(args, capsys)
        assert code == 2 and "Traceback" not in err, args
        assert "would destroy the image being read" in err or "is one of the inputs" in err
    np.testing.assert_array_equal(open_image("x.zarr").compute(), image)
    assert sorted(p.name for p in Path().iterdir()) == [
        "kesm_grayscale.png", "kesm_groundtruth.png", "x.zarr"
    ]  # fmt: skip


def rgb_tile() -> np.ndarray:
    image, _ = sl.load_kesm()
    return np.stack([image, image // 2, 255 - image], axis=-1)[:256, :320]


def test_rgb_image_is_read_as_colour(sample, capsys):
    # issue 9, item 5: an RGB PNG gave a (256, 320, 3) mask.
    import imageio.v3 as iio

    rgb = rgb_tile()
    iio.imwrite("rgb.png", rgb)
    code, out, _ = run(["threshold", "rgb.png", "-o", "lum.zarr"], capsys)
    assert code == 0 and "a colour image, thresholded on its luminance" in out
    expected = sl.threshold(rgb, "otsu", rgb=True).mask
    np.testing.assert_array_equal(open_image("lum.zarr").compute(), expected)
    code, _, _ = run(["threshold", "rgb.png", "-o", "blue.zarr", "--rgb", "channel", "2"], capsys)
    assert code == 0
    blue = open_image("blue.zarr").compute()
    np.testing.assert_array_equal(blue, sl.threshold(rgb[..., 2], "otsu").mask)
    code, _, _ = run(["threshold", "rgb.png", "-o", "planes.zarr", "--rgb", "none"], capsys)
    assert code == 0 and open_image("planes.zarr").shape == (256, 320, 3)
    for args, message in [
        (["threshold", "rgb.png", "-o", "o.zarr", "--rgb", "channel", "3"], "choose 0 to 2"),
        (["threshold", "kesm_grayscale.png", "-o", "o.zarr", "--rgb", "luminance"],
         "is not a colour image"),
        (["clean", "rgb.png", "-o", "o.zarr"], "rgb.png is an RGB(A) colour image"),
        (["evaluate", "rgb.png", "kesm_groundtruth.png"], "a prediction must be a mask"),
        (["evaluate", "lum.zarr", "rgb.png"], "a ground truth must be a mask"),
    ]:  # fmt: skip
        code, _, err = run(args, capsys)
        assert code == 2 and message in err and "Traceback" not in err, (args, err)
    assert not Path("o.zarr").exists()


def test_classify_with_a_saved_scikit_learn_classifier(sample, capsys):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from napari_seglab.core.classifier import FeatureSettings, PixelClassifier

    image, _, strokes = kesm_strokes()
    estimator = make_pipeline(StandardScaler(), LogisticRegression())
    classifier = PixelClassifier(FeatureSettings(sigmas=(1, 2)), estimator=estimator)
    classifier.fit(image, strokes).save("vessels.skops")
    code, out, _ = run(
        ["classify", "kesm_grayscale.png", "-o", "classes.zarr", "--classifier", "vessels.skops",
         "--chunks", "128,200"],
        capsys,
    )  # fmt: skip
    assert code == 0, out
    np.testing.assert_array_equal(open_image("classes.zarr").compute(), classifier.predict(image))


def test_rgb_image_with_a_classifier(sample, capsys):
    import imageio.v3 as iio

    from napari_seglab.core.classifier import FeatureSettings, PixelClassifier

    rgb = rgb_tile()
    iio.imwrite("rgb.png", rgb)
    strokes = np.zeros(rgb.shape[:2], np.uint8)
    strokes[::9, ::9] = 1 + (rgb[::9, ::9, 0] < 150)
    grey = PixelClassifier(FeatureSettings(sigmas=(1,)), n_estimators=3).fit(rgb[..., 0], strokes)
    grey.save("grey.npz")
    colour = PixelClassifier(FeatureSettings(sigmas=(1,)), n_estimators=3)
    colour.fit(rgb, strokes, channel_axis=-1).save("colour.npz")
    code, _, _ = run(["classify", "rgb.png", "-o", "c.zarr", "--classifier", "colour.npz"], capsys)
    assert code == 0  # channels last, as napari shows it
    np.testing.assert_array_equal(
        open_image("c.zarr").compute(), colour.predict(rgb, channel_axis=-1)
    )
    code, _, err = run(["classify", "rgb.png", "-o", "g.zarr", "--classifier", "grey.npz"], capsys)
    assert code == 2 and "trained on single-channel images: add --rgb channel N" in err
    code, _, _ = run(
        ["classify", "rgb.png", "-o", "g.zarr", "--classifier", "grey.npz", "--rgb", "channel",
         "0"],
        capsys,
    )  # fmt: skip
    assert code == 0
    np.testing.assert_array_equal(open_image("g.zarr").compute(), grey.predict(rgb[..., 0]))


def test_classify_then_evaluate_with_a_foreground_class(sample, capsys):
    # issue 9, item 4: class ids 1, 2 were scored as if every non-zero pixel were foreground.
    from napari_seglab.core.classifier import FeatureSettings, PixelClassifier

    image, truth, strokes = kesm_strokes()
    classifier = PixelClassifier(FeatureSettings(sigmas=(1, 2)), n_estimators=5)
    classifier.fit(image, strokes).save("vessels.npz")
    classes = classifier.predict(image)
    code, _, _ = run(
        ["classify", "kesm_grayscale.png", "-o", "ids.zarr", "--classifier", "vessels.npz"],
        capsys,
    )
    assert code == 0
    code, _, err = run(["evaluate", "ids.zarr", "kesm_groundtruth.png"], capsys)
    assert code == 2 and "add --foreground-class N" in err
    batch = {"step": "pixel classifier", "classes": {"1": "a", "2": "b"}, "foreground_class": None}
    save(classes, "batch.zarr", attrs={"seglab": batch})  # as Apply to whole volume writes
    code, _, err = run(["evaluate", "batch.zarr", "kesm_groundtruth.png"], capsys)
    assert code == 2 and "(1 = a, 2 = b); add --foreground-class N" in err
    code, out, _ = run(
        ["evaluate", "ids.zarr", "kesm_groundtruth.png", "--foreground-class", "2", "--csv",
         "s.csv"],
        capsys,
    )  # fmt: skip
    assert code == 0
    expected = sl.evaluate(classes == 2, truth).counts
    assert csv_total(Path("s.csv")) == {k: getattr(expected, k) for k in KESM_COUNTS}
    code, out, _ = run(
        ["classify", "kesm_grayscale.png", "-o", "fg.zarr", "--classifier", "vessels.npz",
         "--foreground-class", "2"],
        capsys,
    )  # fmt: skip
    assert code == 0 and "mask of class 2" in out
    mask = open_image("fg.zarr").compute()
    np.testing.assert_array_equal(mask, (classes == 2).astype(np.uint8))
    code, _, _ = run(["evaluate", "fg.zarr", "kesm_groundtruth.png", "--csv", "m.csv"], capsys)
    assert code == 0 and csv_total(Path("m.csv")) == csv_total(Path("s.csv"))
    code, _, err = run(
        ["classify", "kesm_grayscale.png", "-o", "x.zarr", "--classifier", "vessels.npz",
         "--foreground-class", "3"],
        capsys,
    )  # fmt: skip
    assert code == 2 and "knows the classes 1 (background), 2 (foreground)" in err


def test_clean_refuses_a_grayscale_image(sample, capsys):
    # issue 9, item 10: grey levels were silently taken as labels.
    image, truth = sl.load_kesm()
    code, _, err = run(["clean", "kesm_grayscale.png", "-o", "c.zarr"], capsys)
    assert code == 2 and "is not a mask" in err and "--labels" in err
    save((image > 150).astype(np.uint8) + 1, "classes.zarr")  # class ids 1 and 2
    code, _, err = run(["clean", "classes.zarr", "-o", "c.zarr"], capsys)
    assert code == 2 and "2 different values (1, 2)" in err
    assert not Path("c.zarr").exists()
    code, _, _ = run(["clean", "kesm_groundtruth.png", "-o", "c.zarr", "--remove-smaller-than",
                      "30"], capsys)  # fmt: skip
    assert code == 0  # 0/255: a mask
    np.testing.assert_array_equal(
        open_image("c.zarr").compute() > 0, sl.clean_up(truth, remove_smaller_than=30) > 0
    )
    code, _, _ = run(
        ["clean", "classes.zarr", "-o", "l.zarr", "--labels", "--remove-smaller-than", "5"],
        capsys,
    )
    assert code == 0


def test_negative_sizes_and_class_ids_are_refused(sample, capsys):
    for args in (
        ["clean", "kesm_groundtruth.png", "-o", "c.zarr", "--remove-smaller-than", "-3"],
        ["clean", "kesm_groundtruth.png", "-o", "c.zarr", "--fill-holes-smaller-than", "-1"],
        ["evaluate", "kesm_groundtruth.png", "kesm_groundtruth.png", "--foreground-class", "0"],
    ):
        with pytest.raises(SystemExit) as exit_:
            cli.main(args)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert "must be 0 (off) or more" in err or "class ids start at 1" in err
    assert not Path("c.zarr").exists()


def test_every_output_is_checked_before_reading_anything(sample, capsys, monkeypatch):
    # issue 9, item 10: each step refuses a bad output or --csv before opening any input.
    import napari_seglab.core.io as io

    def never(*args, **kwargs):
        raise AssertionError("an input was read before the output was checked")

    monkeypatch.setattr(io, "open_image", never)
    Path("folder").mkdir()
    steps = [
        ["threshold", "kesm_grayscale.png", "-o"],
        ["clean", "kesm_groundtruth.png", "-o"],
        ["classify", "kesm_grayscale.png", "--classifier", "missing.npz", "-o"],
        ["evaluate", "kesm_grayscale.png", "kesm_groundtruth.png", "--csv"],
    ]
    for step in steps:
        for target, message in [
            ("missing/out.zarr" if step[0] != "evaluate" else "missing/s.csv", "does not exist"),
            ("folder", "folder"),
        ]:
            code, _, err = run([*step, target], capsys)
            assert code == 2 and message in err and "Traceback" not in err, (step, err)


def test_warmup_leaves_the_classifier_code_ready(capsys):
    from napari_seglab.core.classifier import compiled_code_cached

    assert cli.main(["warmup"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("done") and compiled_code_cached()
