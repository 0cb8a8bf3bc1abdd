"""The interactive benchmark's simulated user: seeded, reproducible, painting the truth."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest

PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_interactive.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_interactive", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _truth() -> np.ndarray:
    truth = np.zeros((48, 64), np.uint8)
    truth[8:24, 8:30] = 1
    truth[30:44, 40:60] = 1
    return truth


def _session(bench, seed: int) -> list[np.ndarray]:
    """Start, then correct a fixed wrong prediction (all background) three times."""
    truth = _truth()
    user = bench.SimulatedUser(truth, seed)
    states = [user.start().copy()]
    labels = np.ones(truth.shape, np.uint8)
    for _ in range(3):
        assert user.correct(labels)
        states.append(user.strokes.copy())
        labels[user.strokes == 2] = 2  # the stroke's pixels are now right
    assert user.n_strokes == 7
    return states


def test_the_same_seed_paints_the_same_strokes(bench):
    first, again = _session(bench, 3), _session(bench, 3)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = _session(bench, 4)
    assert not np.array_equal(first[0], other[0])


def test_strokes_are_short_lines_inside_the_true_class(bench):
    truth = _truth()
    states = _session(bench, 0)
    start = states[0]
    for cls in (1, 2):
        painted = start == cls
        assert np.all(truth[painted] == cls - 1)  # inside the ground truth of that class
        assert 2 <= painted.sum() <= 2 * 2 * (bench.STROKE_LENGTH + 1)
    # corrections on an all-background prediction: foreground strokes in the largest error
    for before, after in itertools.pairwise(states):
        new = (after != before) & (after > 0)
        assert new.any() and np.all(after[new] == 2) and np.all(truth[new] == 1)
    first_correction = (states[1] != states[0]) & (states[1] > 0)
    assert first_correction[8:24, 8:30].any()  # the larger object (16 x 22) first


def test_no_error_no_stroke_and_a_box_is_respected(bench):
    truth = _truth()
    user = bench.SimulatedUser(truth, 0)
    before = user.start().copy()
    assert not user.correct(truth + 1)  # a perfect prediction: nothing to correct
    labels = np.ones(truth.shape, np.uint8)
    assert user.correct(labels, box=(slice(28, 48), slice(36, 64)))
    new = user.strokes != before
    assert new[30:44, 40:60].any() and not new[8:24, 8:30].any()


def test_f1_and_strokes_to_a_level(bench):
    truth = _truth()
    assert bench.f1_score(truth + 1, truth) == 1.0
    assert bench.f1_score(np.ones_like(truth), truth) == 0.0
    curve = [0, 0, 0, 0, 0.5, 0.6, 0.9, 0.95]
    assert bench.strokes_to(curve, 0.9) == 6
    assert bench.strokes_to(curve, 0.99) == len(curve)
    assert bench._sigmas("seglab-s0.5-16-suggest") == (0.5, 1, 2, 4, 8, 16)
    assert bench._sigmas("seglab") is None


def test_variant_names_set_the_feature_families(bench):
    from napari_seglab import FeatureSettings

    assert bench.feature_settings("seglab") == FeatureSettings()
    basic = bench.feature_settings("seglab-s1-8-basic")
    assert basic.sigmas == (1, 2, 4, 8) and basic.intensity and basic.edges and basic.hessian
    assert not (basic.log or basic.dog or basic.structure_tensor or basic.gabor)
    logged = bench.feature_settings("seglab-s1-8-basic-log")
    assert logged.log and not logged.dog


def test_variant_names_set_the_luminance_and_colours(bench):
    assert bench.feature_settings("seglab").luminance
    for name in ("seglab-nogrey", "seglab-lab", "seglab-s1-8-hed-rf"):
        assert not bench.feature_settings(name).luminance, name
    rgb = np.random.default_rng(0).random((8, 9, 3)).astype(np.float32)
    assert bench.colour_transform(rgb, ["seglab", "nogrey"]) is rgb
    for part in ("lab", "hed"):
        out = bench.colour_transform(rgb, ["seglab", part])
        assert out.shape == rgb.shape and out.dtype == np.float32


def test_variant_name_parts_set_forest_options_and_smoothing(bench):
    parts = ["seglab", "s0.5", "16", "log", "trees100", "depth0", "noweight"]
    assert bench._forest_options(parts) == {
        "n_estimators": 100,
        "max_depth": None,
        "class_weight": None,
    }
    assert bench.PLAIN.fullmatch("seglab-s0.5-16") and bench.PLAIN.fullmatch("skimage")
    assert not bench.PLAIN.fullmatch("seglab-s0.5-16-log")

    class Result:  # a one-pixel foreground spike among certain background
        classes = (1, 2)
        probabilities = np.zeros((9, 9, 2), np.float32)

    Result.probabilities[..., 0] = 1
    Result.probabilities[4, 4] = (0.4, 0.6)
    labels, uncertainty = bench._smoothed(Result, 1.0)
    assert (labels == 1).all() and uncertainty.max() < 0.1


def test_the_target_check_needs_its_baseline(bench):
    curve = {"strokes": [4, 5, 6], "f1": [0.8, 0.9, 0.95, 0.96]}
    datasets = {"a": {"skimage": curve, "seglab": {**curve, "strokes": [2, 3, 4]}}}
    (line,) = bench.target_check(datasets)
    assert line.startswith("seglab: -40% strokes") and "30 % fewer at every level" in line
    del datasets["a"]["skimage"]
    assert bench.target_check(datasets) == [
        "no comparison: add skimage to --methods to compare with it"
    ]
