"""Issue 9 item 4: a prediction is a mask, or a labels image with a chosen foreground class."""

from __future__ import annotations

import dask.array as da
import imageio.v3 as iio
import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_seglab import load_kesm
from napari_seglab.core import SegLabInputError, confusion_masks, evaluate, threshold


@pytest.fixture(scope="module")
def kesm():
    image, truth = load_kesm()
    mask = threshold(image, "otsu", foreground="dark", median_size=3).mask
    return image, truth, mask


@pytest.fixture(scope="module")
def classes(kesm):
    """A classifier-like segmentation: class 1 = background, class 2 = vessels."""
    _, _, mask = kesm
    return np.where(mask != 0, 2, 1).astype(np.uint8)


def lazy(arr, chunks=(128, 160)):
    return da.from_array(arr, chunks=chunks)


def test_raw_image_as_prediction_is_refused(kesm):
    image, truth, _ = kesm
    for pred in (image, lazy(image)):
        with pytest.raises(SegLabInputError, match=r"not a mask.*raw image"):
            evaluate(pred, truth)
    with pytest.raises(SegLabInputError, match="not a mask"):
        confusion_masks(image, truth)
    with pytest.raises(SegLabInputError, match="not a mask"):
        confusion_masks(lazy(image), truth)["TP"].compute()


def test_probability_map_is_refused_with_what_to_do(kesm):
    image, truth, _ = kesm
    probability = image.astype(np.float32) / 255
    for pred in (probability, lazy(probability)):
        with pytest.raises(SegLabInputError, match=r"probability map.*probability > 0.5"):
            evaluate(pred, truth)
    with pytest.raises(SegLabInputError, match="labels image"):
        evaluate(probability, truth, foreground_class=1)


def test_class_ids_need_a_foreground_class(kesm, classes):
    _, truth, mask = kesm
    with pytest.raises(SegLabInputError, match=r"2 different non-zero values.*foreground class"):
        evaluate(classes, truth)
    chosen = evaluate(classes, truth, foreground_class=2)
    expected = evaluate(mask, truth)
    assert chosen.counts == expected.counts == evaluate(mask * 255, truth).counts
    assert (chosen.counts.tp, chosen.counts.fn) == (5595, 1863)  # the article's numbers
    assert chosen.objects == expected.objects
    lazy_chosen = evaluate(lazy(classes), lazy(truth), foreground_class=2)
    assert lazy_chosen.counts == expected.counts
    masks = confusion_masks(lazy(classes), truth, foreground_class=2)
    np.testing.assert_array_equal(masks["FP"].compute(), confusion_masks(mask, truth)["FP"])
    with pytest.raises(SegLabInputError, match="several non-zero values"):
        evaluate(lazy(classes), truth)


def test_a_class_no_pixel_has_is_refused(kesm, classes):
    _, truth, mask = kesm
    for pred in (classes, lazy(classes)):
        with pytest.raises(SegLabInputError, match=r"foreground class 3.*from 1 to 2"):
            evaluate(pred, truth, foreground_class=3)
    with pytest.raises(SegLabInputError, match="foreground class 1"):
        evaluate(mask * 255, truth, foreground_class=1)
    # an empty prediction is a prediction of nothing, whatever the class
    assert evaluate(np.zeros_like(mask), truth, foreground_class=3).counts.tp == 0


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "all", [1, 2]])
def test_bad_foreground_class(kesm, classes, bad):
    _, truth, _ = kesm
    with pytest.raises(SegLabInputError, match="foreground class must be"):
        evaluate(classes, truth, foreground_class=bad)
    with pytest.raises(SegLabInputError, match="foreground class must be"):
        evaluate(lazy(classes), truth, foreground_class=bad)


def test_instance_labels_with_any_keep_their_objects(shared_data):
    labels = iio.imread(
        shared_data / "dsb2018_fluo_nuclei" / "labels" / "003cee89357d_instances.tif"
    )
    truth = labels > 0
    with pytest.raises(SegLabInputError, match="instance labels"):
        evaluate(labels, truth)
    result = evaluate(labels, truth, foreground_class="any")
    assert result.scores.f1 == 1.0
    assert result.objects.n_predicted == len(np.unique(labels)) - 1
    assert result.objects.n_true == ndi.label(truth)[1]  # a mask truth: its components
    assert evaluate(labels, truth, foreground_class="any object").counts == result.counts
    assert evaluate(lazy(labels, 64), truth, foreground_class="any").counts == result.counts


@pytest.mark.parametrize(
    ("pred_shape", "truth_shape", "hint"),
    [
        ((3, 512, 512), (512, 512), r"prediction is a stack.*`prediction\[0\]`"),
        ((512, 512), (512, 512, 3), "ground truth looks like an RGB image"),
    ],
)
def test_shape_mismatch_says_what_it_looks_like(pred_shape, truth_shape, hint):
    pred, truth = np.zeros(pred_shape, np.uint8), np.zeros(truth_shape, np.uint8)
    for p in (pred, lazy(pred, 256)):
        with pytest.raises(SegLabInputError, match=hint):
            evaluate(p, truth)


def test_a_raw_image_as_ground_truth_is_not_told_to_pass_mask_gt_0(kesm):
    image, _, mask = kesm
    for truth in (image, lazy(image)):
        with pytest.raises(SegLabInputError, match="a raw image is not a ground truth"):
            evaluate(mask, truth)
