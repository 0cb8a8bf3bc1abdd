"""One rule for lazy input: every public function computes a dask array lazily or refuses it.

The whole public API (``napari_seglab.__all__``) is walked with dask arrays that fail the test
if anything loads them whole (``numpy.asarray`` or ``.compute()`` of an array as large as the
input): each function must either give lazy results (dask arrays, computed chunk by chunk
when asked) or raise a clear :class:`SegLabInputError`.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator

import dask
import dask.array as da
import numpy as np
import pytest

import napari_seglab as sl

SHAPE = (64, 80)
CHUNKS = (32, 40)


class LoadedWhole(AssertionError):
    """A public function loaded a lazy input whole."""


@contextlib.contextmanager
def no_whole_loads(limit: int) -> Iterator[None]:
    """Fail on ``numpy.asarray`` or ``compute`` of any dask array of `limit` or more elements."""
    real_array, real_compute, real_dask_compute = (
        da.Array.__array__,
        da.Array.compute,
        dask.compute,
    )

    def check(value: object) -> None:
        if isinstance(value, da.Array) and value.size >= limit:
            raise LoadedWhole(f"a dask array of shape {value.shape} was loaded whole")

    def array(self, *args, **kwargs):
        check(self)
        return real_array(self, *args, **kwargs)

    def compute(self, *args, **kwargs):
        check(self)
        return real_compute(self, *args, **kwargs)

    def dask_compute(*args, **kwargs):
        for value in args:
            check(value)
        return real_dask_compute(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(da.Array, "__array__", array)
        patch.setattr(da.Array, "compute", compute)
        patch.setattr(dask, "compute", dask_compute)
        yield


def _data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    image = rng.normal(100, 10, SHAPE)
    image[16:48, 20:60] += 60
    truth = np.zeros(SHAPE, np.uint8)
    truth[16:48, 20:60] = 1
    strokes = np.zeros(SHAPE, np.uint8)
    strokes[2:6, 2:70] = 1
    strokes[30:34, 25:55] = 2
    corner = np.zeros(SHAPE, np.uint8)  # strokes in one corner: fit reads only around them
    corner[2:4, 2:12] = 1
    corner[6:8, 2:12] = 2
    return {
        "image": image.astype(np.float32),
        "uint8": np.clip(image, 0, 255).astype(np.uint8),
        "rgb": np.stack([np.clip(image, 0, 255).astype(np.uint8)] * 3, axis=-1),
        "truth": truth,
        "mask": (image > 130).astype(np.uint8),
        "strokes": strokes,
        "corner strokes": corner,
    }


DATA = _data()


def lazy(name: str) -> da.Array:
    arr = DATA[name]
    return da.from_array(arr, chunks=CHUNKS + arr.shape[2:])


def _classifier() -> sl.PixelClassifier:
    settings = sl.FeatureSettings(sigmas=(1, 2))
    return sl.PixelClassifier(settings, n_estimators=4).fit(DATA["image"], DATA["strokes"])


def _calls() -> dict[str, Callable[[], object]]:
    settings = sl.FeatureSettings(sigmas=(1, 2))
    return {
        "threshold": lambda: sl.threshold(lazy("uint8"), "otsu"),
        "median_filter": lambda: sl.median_filter(lazy("uint8"), 3),
        "try_all_thresholds": lambda: sl.try_all_thresholds(
            lazy("uint8"), ground_truth=lazy("truth")
        ),
        "to_grayscale": lambda: sl.to_grayscale(lazy("rgb"), rgb=True),
        "clean_up": lambda: sl.clean_up(
            lazy("mask"), remove_smaller_than=5, fill_holes_smaller_than=5
        ),
        "remove_small_objects": lambda: sl.remove_small_objects(lazy("mask"), 5),
        "fill_small_holes": lambda: sl.fill_small_holes(lazy("mask"), 5),
        "evaluate": lambda: sl.evaluate(lazy("mask"), lazy("truth")),
        "confusion_masks": lambda: sl.confusion_masks(lazy("mask"), lazy("truth")),
        "match_objects": lambda: sl.match_objects(lazy("mask"), lazy("truth")),
        "compute_features": lambda: sl.compute_features(lazy("image"), settings),
        "PixelClassifier.fit": lambda: sl.PixelClassifier(settings, n_estimators=4).fit(
            lazy("image"), DATA["corner strokes"]
        ),
        "PixelClassifier.predict": lambda: _classifier().predict(lazy("image")),
        "PixelClassifier.predict_proba": lambda: _classifier().predict_proba(lazy("image")),
        "PixelClassifier.segment": lambda: _classifier().segment(lazy("image")),
        "PlanePreview": lambda: sl.PlanePreview(lazy("image"), settings),
        "save": lambda: sl.save(lazy("mask"), _tmp_output()),
        "save.ome_zarr": lambda: sl.save(lazy("image"), _tmp_output(".ome.zarr"), levels=2),
        "label_objects": lambda: sl.label_objects(lazy("mask"), min_size=3),
        "label_objects.watershed": lambda: sl.label_objects(lazy("mask"), method="watershed"),
        "measure_objects": lambda: sl.measure_objects(lazy("truth"), lazy("image")),
        "cluster": lambda: sl.cluster(lazy("image"), 3),
        "score_instances": lambda: sl.score_instances(lazy("mask"), lazy("truth")),
        "boundary_scores": lambda: sl.boundary_scores(lazy("mask"), lazy("truth")),
        "compare_predictions": lambda: sl.compare_predictions(
            {"mask": lazy("mask")}, lazy("truth")
        ),
        "edges": lambda: sl.edges(lazy("image"), "sobel"),
        "suggest_regions": lambda: sl.suggest_regions(lazy("image")),
    }


def _tmp_output(suffix: str = ".zarr"):
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp()) / f"out{suffix}"


# Public names that take no image array (values, settings, files, results, errors).
NO_ARRAY_INPUT = {
    "GLOBAL_METHODS",
    "BoundaryScores",
    "Cancelled",
    "ClusterOptions",
    "ClusterResult",
    "ClusterUnits",
    "ColourSpace",
    "Comparison",
    "ConfusionCounts",
    "EdgeDirection",
    "EdgeMethod",
    "EdgeOptions",
    "EdgeSmoothing",
    "Evaluation",
    "FeatureSettings",
    "Foreground",
    "ImageMetadata",
    "InstanceScores",
    "ObjectLabels",
    "ObjectMetrics",
    "ObjectTable",
    "RegionSuggestion",
    "Scores",
    "SegLabInputError",
    "Segmentation",
    "SplitMethod",
    "ThresholdMethod",
    "ThresholdOptions",
    "ThresholdResult",
    "TrainingCache",  # used through PixelClassifier.fit
    "TryAllResult",
    "feature_names",
    "load_kesm",
    "open_image",  # takes a path and reads nothing yet
}


def test_every_public_name_is_walked():
    walked = {name.partition(".")[0] for name in _calls()}
    assert set(sl.__all__) - NO_ARRAY_INPUT == walked
    for name in NO_ARRAY_INPUT & set(sl.__all__):
        obj = getattr(sl, name)
        if inspect.isfunction(obj):
            parameters = inspect.signature(obj).parameters
            assert not {"image", "data", "labels", "prediction"} & set(parameters), name


def _lazy_leaves(result: object) -> Iterator[object]:
    """The array-like values a result holds (dask arrays, numpy arrays), recursively."""
    if isinstance(result, da.Array | np.ndarray):
        yield result
    elif isinstance(result, dict):
        for value in result.values():
            yield from _lazy_leaves(value)
    elif isinstance(result, list | tuple):
        for value in result:
            yield from _lazy_leaves(value)
    elif hasattr(result, "__dataclass_fields__"):
        for field in result.__dataclass_fields__:
            yield from _lazy_leaves(getattr(result, field))


@pytest.mark.parametrize("name", sorted(_calls()))
def test_lazy_or_refused(name):
    call = _calls()[name]
    try:
        with no_whole_loads(limit=min(a.size for a in DATA.values()) // 2):
            result = call()
    except sl.SegLabInputError as err:
        assert "dask" in str(err).lower() or "lazy" in str(err).lower() or "chunk" in str(err), (
            f"{name} refused a lazy input without saying so: {err}"
        )
        return
    big = [a for a in _lazy_leaves(result) if a.size >= DATA["mask"].size // 2]
    assert all(isinstance(a, da.Array) for a in big), f"{name} returned loaded arrays"
