"""Chunk-by-chunk evaluation: exact counts summed over the chunks, lazy confusion masks."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from scipy import ndimage as ndi

import napari_seglab as sl
from napari_seglab.core.metrics import confusion_masks, evaluate, match_objects


@pytest.fixture
def truth(volume):
    return (ndi.uniform_filter(volume, 5) > 135).astype(np.uint8) * 255


def test_evaluate_counts_and_planes(mask, truth, lazy):
    expected = evaluate(mask, truth)
    result = sl.evaluate(lazy(mask), lazy(truth))
    assert result.counts == expected.counts
    assert result.planes == expected.planes
    assert list(result.rows()) == list(expected.rows())
    # Object matching needs the whole arrays: loaded explicitly, they give the same objects.
    assert result.objects is None and expected.objects is not None
    loaded = evaluate(np.asarray(lazy(mask)), np.asarray(lazy(truth)), objects=True)
    assert loaded.objects == expected.objects


def test_evaluate_kesm_against_published_counts(lazy):
    image, truth = sl.load_kesm()
    result = sl.threshold(lazy(image, (100, 120)), "otsu", foreground="dark", median_size=3)
    assert result.value == 175
    counts = sl.evaluate(result.mask, lazy(truth, (100, 120))).counts
    assert counts == sl.ConfusionCounts(tp=5595, fp=122, fn=1863, tn=254564)


def test_objects_none_true_false(mask, truth, lazy):
    assert evaluate(mask, truth).objects == evaluate(mask, truth, objects=True).objects
    assert evaluate(mask, truth).objects is not None
    assert evaluate(mask, truth, objects=False).objects is None
    assert evaluate(lazy(mask), truth).objects is None
    assert evaluate(mask, lazy(truth), objects=False).objects is None
    for pred, true in ((lazy(mask), truth), (mask, lazy(truth))):
        with pytest.raises(sl.SegLabInputError, match=r"whole arrays.*numpy\.asarray"):
            evaluate(pred, true, objects=True)


def test_match_objects_refuses_dask(mask, lazy):
    with pytest.raises(sl.SegLabInputError, match="Object matching needs the whole arrays"):
        match_objects(lazy(mask), mask)


def test_lazy_confusion_masks_equal_in_memory(mask, truth, lazy):
    expected = confusion_masks(mask, truth)
    result = confusion_masks(lazy(mask), lazy(truth, (1, 50, 60)))
    assert set(result) == {"TP", "FP", "FN", "TN"}
    for key, values in result.items():
        assert isinstance(values, da.Array) and values.dtype == np.uint8
        assert values.chunks == lazy(mask).chunks
        np.testing.assert_array_equal(values.compute(), expected[key])
    mixed = confusion_masks(mask, lazy(truth))["FN"]
    assert isinstance(mixed, da.Array)
    np.testing.assert_array_equal(mixed.compute(), expected["FN"])


def test_lazy_confusion_masks_refuse_several_truth_values_when_read(mask, lazy):
    labels = ndi.label(mask)[0]
    masks = confusion_masks(lazy(mask), lazy(labels))  # nothing is read yet
    with pytest.raises(sl.SegLabInputError, match="binary mask"):
        masks["TP"].compute()


def test_lazy_bad_input(mask, lazy):
    with pytest.raises(sl.SegLabInputError, match="shape"):
        evaluate(lazy(mask), mask[:, :-1])
    with pytest.raises(sl.SegLabInputError, match=r"different non-zero values \(from 1 to"):
        evaluate(lazy(mask), lazy(ndi.label(mask)[0]))
    with pytest.raises(sl.SegLabInputError, match="at least 2 dimensions"):
        confusion_masks(lazy(mask[0, 0], 40), mask[0, 0])


@pytest.mark.parametrize("which", ["prediction", "ground truth"])
def test_lazy_nan_values_are_refused_like_in_memory(mask, lazy, which):
    with_nan = mask.astype(np.float32)
    with_nan[1, 100, 150] = np.nan
    pred, truth = (with_nan, mask) if which == "prediction" else (mask, with_nan)
    with pytest.raises(sl.SegLabInputError, match=f"The {which} contains NaN"):
        evaluate(pred, truth)
    with pytest.raises(sl.SegLabInputError, match=f"The {which} contains NaN"):
        evaluate(lazy(pred), lazy(truth))
    with pytest.raises(sl.SegLabInputError, match=f"The {which} contains NaN"):
        confusion_masks(lazy(pred), lazy(truth))["TP"].compute()


@pytest.mark.parametrize("dtypes", [("uint8", "uint8"), ("uint16", "bool"), ("int16", "uint8")])
@pytest.mark.parametrize("foreground_class", [None, 3, 300])
def test_chunk_stats_equal_a_numpy_reference(dtypes, foreground_class):
    # The unsigned path (branch-free) and the general one give the same numbers.
    from napari_seglab.core.metrics._kernels import chunk_stats

    rng = np.random.default_rng(5)
    pred = (rng.integers(0, 4, (3, 7, 9)) * rng.integers(0, 2, (3, 7, 9))).astype(dtypes[0])
    truth = (rng.integers(0, 3, (3, 7, 9)) > 1).astype(dtypes[1])
    if dtypes[1] == "uint8":
        truth *= 5
    fg = pred != 0 if foreground_class is None else pred == foreground_class
    t_nz, p_nz = truth[truth != 0], pred[pred != 0]
    expected = np.zeros((3, 9))
    expected[:, 0] = (fg & (truth != 0)).sum(axis=(1, 2))
    expected[:, 1], expected[:, 2] = fg.sum(axis=(1, 2)), (truth != 0).sum(axis=(1, 2))
    expected[:, 3:5] = t_nz.min(), t_nz.max()
    expected[:, 7:9] = p_nz.min(), p_nz.max()
    np.testing.assert_array_equal(chunk_stats(pred, truth, foreground_class), expected)
    empty = chunk_stats(np.zeros_like(pred), np.zeros_like(truth), foreground_class)
    np.testing.assert_array_equal(empty[:, 3:5], [[np.inf, -np.inf]] * 3)
    np.testing.assert_array_equal(empty[:, 7:9], [[np.inf, -np.inf]] * 3)
