from __future__ import annotations

import csv

import imageio.v3 as iio
import numpy as np
import pytest
from sklearn import metrics as skm

from napari_seglab import load_kesm
from napari_seglab.core import (
    ConfusionCounts,
    SegLabInputError,
    confusion_masks,
    evaluate,
    match_objects,
    threshold,
)

ORIGINAL = np.array([1, 0, 1, 0, 1, 1, 0, 0, 0]).reshape(3, 3)
PREDICTED = np.array([1, 0, 1, 0, 0, 1, 1, 0, 0]).reshape(3, 3)


def test_kesm_article_counts_and_scores():
    image, truth = load_kesm()
    mask = threshold(image, "otsu", foreground="dark", median_size=3).mask
    result = evaluate(mask, truth * 255)
    assert result.counts == ConfusionCounts(tp=5595, fp=122, fn=1863, tn=254564)
    assert result.scores.accuracy == pytest.approx(0.99242783, abs=1e-8)
    assert result.scores.f1 == pytest.approx(0.84933586, abs=1e-8)
    assert result.scores.mcc == pytest.approx(0.85339102, abs=1e-8)


def test_scores_equal_scikit_learn_on_real_data():
    image, truth = load_kesm()
    mask = threshold(image, "li", median_size=3).mask
    s = evaluate(mask, truth).scores
    y_true, y_pred = truth.ravel(), mask.ravel()
    assert s.precision == pytest.approx(skm.precision_score(y_true, y_pred))
    assert s.recall == pytest.approx(skm.recall_score(y_true, y_pred))
    assert s.f1 == pytest.approx(skm.f1_score(y_true, y_pred))
    assert s.iou == pytest.approx(skm.jaccard_score(y_true, y_pred))
    assert s.mcc == pytest.approx(skm.matthews_corrcoef(y_true, y_pred))
    assert s.balanced_accuracy == pytest.approx(skm.balanced_accuracy_score(y_true, y_pred))
    tn, fp, fn, tp = skm.confusion_matrix(y_true, y_pred).ravel()
    assert evaluate(mask, truth).counts == ConfusionCounts(int(tp), int(fp), int(fn), int(tn))


def test_small_worked_example():
    result = evaluate(PREDICTED, ORIGINAL)
    assert result.counts == ConfusionCounts(tp=3, fp=1, fn=1, tn=4)
    assert result.scores.f1 == pytest.approx(0.75)
    masks = confusion_masks(PREDICTED, ORIGINAL)
    assert {k: int(v.sum()) for k, v in masks.items()} == {"TP": 3, "FP": 1, "FN": 1, "TN": 4}
    assert sum(masks.values()).max() == 1


ZEROS, ONES = np.zeros((3, 3), np.uint8), np.ones((3, 3), np.uint8)


@pytest.mark.parametrize(
    ("pred", "truth", "expected"),
    [
        # both empty: perfect agreement that there is nothing
        (ZEROS, ZEROS, dict(precision=1, recall=1, f1=1, iou=1, mcc=1, specificity=1)),
        # both full: perfect agreement
        (ONES, ONES, dict(precision=1, recall=1, f1=1, iou=1, mcc=1, specificity=1)),
        # everything wrong, one class each
        (ONES, ZEROS, dict(precision=0, recall=0, f1=0, iou=0, mcc=-1, specificity=0)),
        (ZEROS, ONES, dict(precision=0, recall=0, f1=0, iou=0, mcc=-1, specificity=0)),
        # nothing predicted in an image with foreground: no correlation measurable
        (ZEROS, ORIGINAL, dict(precision=0, recall=0, f1=0, iou=0, mcc=0, specificity=1)),
        # everything predicted: recall 1, no correlation measurable
        (ONES, ORIGINAL, dict(recall=1, specificity=0, mcc=0, precision=4 / 9)),
    ],
)
def test_edge_cases_are_defined(pred, truth, expected):
    scores = evaluate(pred, truth, objects=False).scores
    for name, value in expected.items():
        assert getattr(scores, name) == pytest.approx(value), name
    assert not any(np.isnan(v) for v in vars(scores).values())


def test_counts_are_exact_at_any_size():
    # Scores of a 10**13-voxel comparison: Python integers, no overflow or rounding of counts.
    huge = ConfusionCounts(tp=4 * 10**12, fp=10**9 + 1, fn=10**9 + 3, tn=6 * 10**12)
    assert huge.total == 10**13 + 2 * 10**9 + 4
    assert 0.999 < huge.scores().mcc < 1
    assert (huge + huge).tp == 8 * 10**12


def test_per_plane_rows_sum_to_the_total(shared_data):
    folder = shared_data / "bbbc039_u2os_nuclei"
    names = sorted(p.name for p in (folder / "images").iterdir())[:3]
    stack = np.stack([iio.imread(folder / "images" / n) for n in names])
    truth = np.stack([iio.imread(folder / "masks" / n.replace(".tif", ".png")) for n in names])
    pred = threshold(stack, "otsu", median_size=3, per_plane=True).mask
    result = evaluate(pred, truth)
    assert len(result.planes) == 3
    total = sum((c for _, c in result.planes), ConfusionCounts(0, 0, 0, 0))
    assert total == result.counts
    for i, ((index, counts), p, t) in enumerate(zip(result.planes, pred, truth, strict=True)):
        assert index == (i,)
        assert counts == evaluate(p, t, objects=False).counts
    rows = list(result.rows())
    assert [r["plane"] for r in rows] == ["0", "1", "2", "total"]


def test_object_metrics_on_instance_labels(shared_data):
    labels = iio.imread(
        shared_data / "dsb2018_fluo_nuclei" / "labels" / "003cee89357d_instances.tif"
    )
    truth = (labels > 0).astype(np.uint8)
    perfect = match_objects(labels, truth)
    # touching nuclei merge into one component of the binary truth, so compare with ndi.label
    from scipy import ndimage as ndi

    n_components = ndi.label(truth)[1]
    assert perfect.n_true == n_components
    assert perfect.n_predicted == len(np.unique(labels)) - 1

    same = match_objects(truth, truth)
    assert (same.matched, same.missed, same.spurious) == (n_components, 0, 0)
    assert same.f1 == 1.0 and same.mean_matched_iou == 1.0

    shifted = np.roll(truth, 40, axis=1)
    poor = match_objects(shifted, truth)
    assert poor.matched < n_components and poor.spurious > 0 and poor.missed > 0


def test_lower_iou_threshold_matches_one_to_one():
    truth = np.zeros((20, 20), np.uint8)
    truth[2:8, 2:8] = 1
    pred = np.zeros_like(truth)
    pred[2:8, 5:11] = 1  # IoU = 18 / 54 = 1/3
    assert match_objects(pred, truth).matched == 0
    low = match_objects(pred, truth, iou_threshold=0.3)
    assert low.matched == 1 and low.mean_matched_iou == pytest.approx(1 / 3)
    both_empty = match_objects(np.zeros_like(truth), np.zeros_like(truth))
    assert both_empty.f1 == 1.0


def test_csv_export(tmp_path):
    image, truth = load_kesm()
    mask = threshold(image, "otsu", foreground="dark", median_size=3).mask
    path = evaluate(mask, truth).to_csv(tmp_path / "metrics.csv")
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1 and rows[0]["plane"] == "total"
    counts = tuple(rows[0][k] for k in ("tp", "fp", "fn", "tn"))
    assert counts == ("5595", "122", "1863", "254564")
    assert (rows[0]["object_n_true"], rows[0]["object_matched"]) == ("75", "44")


def test_csv_of_a_stack_is_one_rectangular_table(tmp_path):
    image, truth = load_kesm()
    stack, truths = np.stack([image, image[::-1]]), np.stack([truth, truth[::-1]])
    mask = threshold(stack, "otsu", foreground="dark", median_size=3).mask
    with evaluate(mask, truths).to_csv(tmp_path / "m.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["plane"] for r in rows] == ["0", "1", "total"]
    assert {len(r) for r in rows} == {len(rows[0])}
    assert rows[0]["object_matched"] == "" and rows[2]["object_matched"] != ""


def test_a_0_255_prediction_is_a_mask_not_one_big_label():
    _, truth = load_kesm()
    as_255 = evaluate(truth * 255, truth).objects
    assert as_255 == evaluate(truth, truth).objects
    assert as_255.n_predicted == as_255.matched == 75


@pytest.mark.parametrize(
    ("pred", "truth", "message"),
    [
        (ZEROS, np.zeros((4, 4)), "shape"),
        (ZEROS, np.array([[0, 1, 2]] * 3), "different non-zero values"),
        (ZEROS, np.full((3, 3), np.nan), "NaN"),
    ],
)
def test_bad_ground_truth(pred, truth, message):
    with pytest.raises(SegLabInputError, match=message):
        evaluate(pred, truth)
