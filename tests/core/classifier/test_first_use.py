"""What a new user meets first: compiling, an RGB array, a stray label, odd settings."""

from __future__ import annotations

import json

import dask.array as da
import imageio.v3 as iio
import numpy as np
import pytest

from napari_seglab.core import FeatureSettings, PixelClassifier, SegLabInputError
from napari_seglab.core.classifier import (
    PlanePreview,
    TrainingCache,
    compiled_code_cached,
    compute_features,
    warm_up,
)
from napari_seglab.core.classifier import _warmup as warmup_module

FAST = FeatureSettings(sigmas=(1, 2))


@pytest.fixture(scope="module")
def he_image(shared_data):
    """A real RGB histology image (H&E) with its nuclei mask."""
    folder = shared_data / "dsb2018_he_histology_nuclei"
    pair = json.loads((folder / "pairs.json").read_text())["pairs"][0]
    return iio.imread(folder / pair["image"])[..., :3], iio.imread(folder / pair["mask"]) > 0


def strokes_for(truth: np.ndarray) -> np.ndarray:
    strokes = np.zeros(truth.shape, np.uint8)
    rows, cols = np.nonzero(truth)
    strokes[rows[::40], cols[::40]] = 2
    rows, cols = np.nonzero(~truth)
    strokes[rows[::200], cols[::200]] = 1
    return strokes


def test_warm_up_compiles_every_kernel_that_real_work_uses(he_image):
    warm_up()
    assert compiled_code_cached()
    before = {k: len(k.signatures) for k in warmup_module.kernels()}
    assert all(n >= 1 for n in before.values())
    rgb, truth = he_image
    strokes = strokes_for(truth)
    gray = rgb[..., 0]
    settings = FeatureSettings(sigmas=(1, 3), log=True, dog=True, structure_tensor=True)
    for image, axis in ((rgb, -1), (gray, None), (gray.astype(np.float64), None)):
        clf = PixelClassifier(settings, n_estimators=3).fit(image, strokes, channel_axis=axis)
        clf.segment(image, channel_axis=axis)
        PlanePreview(image, settings, channel_axis=axis, max_pixels=4096).segment(clf)
    stack = np.stack([gray[:64, :64]] * 4)
    strokes3 = np.stack([strokes[:64, :64]] * 4)
    strokes3[:, 0, :2], strokes3[:, 1, :2] = 1, 2
    for mode in ("2d", "3d"):
        features = FeatureSettings(sigmas=(1,), mode=mode, spacing=(3, 1, 1)[-int(mode[0]) :])
        clf = PixelClassifier(features, class_weight=None, n_estimators=2)
        clf.fit(stack, strokes3, channel_axis=None, cache=TrainingCache())
        clf.predict(da.from_array(stack, chunks=(4, 32, 32)), channel_axis=None).compute()
        compute_features(stack, features, channel_axis=None)
    after = {k: len(k.signatures) for k in warmup_module.kernels()}
    assert after == before  # nothing was compiled after the warm-up


def test_a_one_line_notice_only_when_compiling_is_needed(synthetic_pair, capsys, monkeypatch):
    image, strokes = synthetic_pair
    monkeypatch.setattr(warmup_module, "_noticed", type(warmup_module._noticed)())
    monkeypatch.setattr(warmup_module, "compiled_code_cached", lambda: False)
    PixelClassifier(FAST, n_estimators=2).fit(image, strokes)
    PixelClassifier(FAST, n_estimators=2).fit(image, strokes)
    err = capsys.readouterr().err
    assert err == warmup_module.NOTICE + "\n"  # once, one line
    monkeypatch.setattr(warmup_module, "_noticed", type(warmup_module._noticed)())
    monkeypatch.setattr(warmup_module, "compiled_code_cached", lambda: True)
    PixelClassifier(FAST, n_estimators=2).fit(image, strokes)
    assert capsys.readouterr().err == ""


@pytest.fixture(scope="module")
def synthetic_pair():
    rng = np.random.default_rng(0)
    image = rng.normal(100, 5, (48, 64)).astype(np.float32)
    image[10:30, 10:30] += 40
    strokes = np.zeros(image.shape, np.uint8)
    strokes[15:20, 15:20], strokes[40:44, 40:60] = 2, 1
    return image, strokes


def test_an_rgb_array_without_channel_axis_is_refused(he_image):
    rgb, truth = he_image
    strokes = strokes_for(truth)
    clf = PixelClassifier(FAST, n_estimators=2)
    with pytest.raises(SegLabInputError, match=r"looks like RGB.*channel_axis=-1"):
        clf.fit(rgb, strokes)
    assert not clf.is_fitted
    clf.fit(rgb, strokes, channel_axis=-1)
    for call in (clf.predict, clf.predict_proba, clf.segment):
        with pytest.raises(SegLabInputError, match="channel_axis=-1"):
            call(rgb)
    with pytest.raises(SegLabInputError, match="channel_axis=-1"):
        clf.predict(da.from_array(rgb))
    with pytest.raises(SegLabInputError, match="channel_axis=-1"):
        compute_features(rgb, FAST)
    with pytest.raises(SegLabInputError, match="channel_axis=-1"):
        PlanePreview(rgb, FAST)
    # a volume whose last axis really is spatial: asked for explicitly
    volume = PixelClassifier(FeatureSettings(sigmas=(1,), mode="3d"), n_estimators=2)
    small = rgb[:40, :40].astype(np.float32)
    painted = np.zeros(small.shape, np.uint8)
    painted[2:6, 2:6], painted[30:34, 30:34] = 1, 2
    volume.fit(small, painted, channel_axis=None)
    assert volume.predict(small, channel_axis=None).shape == small.shape
    # a 3-plane z-stack (planes first, as napari shows it) is not mistaken for colour
    stack = np.moveaxis(small, -1, 0)
    PixelClassifier(FAST, n_estimators=2).fit(stack, np.moveaxis(painted, -1, 0))


def test_a_painted_label_without_a_class_name_is_refused(synthetic_pair):
    image, strokes = synthetic_pair
    strokes = strokes.copy()
    strokes[2:4, 2:4] = 255  # a stray label (e.g. the brush's last label in another tool)
    clf = PixelClassifier(FAST, class_names={1: "background", 2: "cell"}, n_estimators=2)
    with pytest.raises(SegLabInputError, match=r"Label\(s\) 255 are painted but have no class"):
        clf.fit(image, strokes)
    assert not clf.is_fitted
    # without names, every painted label is a class named after its id (documented)
    unnamed = PixelClassifier(FAST, n_estimators=2).fit(image, strokes)
    assert unnamed.class_names[255] == "class 255"
