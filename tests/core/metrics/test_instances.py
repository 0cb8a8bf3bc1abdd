"""Instance scoring over IoU thresholds (issue 10): hand-computed cases and the DSB labels."""

from __future__ import annotations

import dask.array as da
import imageio.v3 as iio
import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_seglab.core import SegLabInputError
from napari_seglab.core.metrics import THRESHOLDS, instance_labels, score_instances

TWO = np.zeros((4, 8), np.uint8)
TWO[:, :4], TWO[:, 4:] = 1, 2  # two touching 4 x 4 nuclei


def test_thresholds_are_the_dsb_ones():
    assert THRESHOLDS == (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def test_touching_instances_stay_separate_and_a_mask_truth_merges_them():
    perfect = score_instances(TWO, TWO)
    assert (perfect.n_true, perfect.n_predicted, perfect.dsb_score) == (2, 2, 1.0)
    assert all((m.tp, m.fp, m.fn, m.pq) == (2, 0, 0, 1.0) for m in perfect.matches)
    merged = score_instances(TWO > 0, TWO > 0)  # a mask truth: one component
    assert merged.n_true == 1 and merged.dsb_score == 1.0


def test_one_prediction_over_two_truths():
    # The merged object has IoU 16 / 32 = 0.5 with each nucleus: one match at 0.5 only.
    scores = score_instances(TWO > 0, TWO)
    at_half = scores.at(0.5)
    assert (at_half.tp, at_half.fp, at_half.fn) == (1, 0, 1)
    assert at_half.accuracy == pytest.approx(0.5)
    assert at_half.precision == 1.0 and at_half.recall == 0.5
    assert at_half.pq == pytest.approx(0.5 / (1 + 0 + 0.5))  # = SQ 0.5 x RQ 2/3
    assert at_half.pq == pytest.approx(at_half.mean_matched_iou * at_half.f1)
    for m in scores.matches[1:]:
        assert (m.tp, m.fp, m.fn, m.accuracy, m.pq) == (0, 1, 2, 0.0, 0.0)
    assert scores.dsb_score == pytest.approx(0.05)


def test_shifted_object_iou_by_hand():
    truth = np.zeros((10, 10), np.uint8)
    truth[0:4, 0:5] = 1  # 20 pixels
    pred = np.zeros_like(truth)
    pred[0:4, 1:6] = 1  # shifted by one: IoU 16 / 24 = 2/3
    scores = score_instances(pred, truth)
    assert [m.tp for m in scores.matches] == [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert scores.at(0.65).mean_matched_iou == pytest.approx(2 / 3)
    assert scores.dsb_score == pytest.approx(0.4)


def test_empty_sides():
    empty = np.zeros((4, 6), np.uint8)
    assert score_instances(empty, empty).dsb_score == 1.0  # agree that there is nothing
    none_found = score_instances(empty, TWO[:, :6].copy()).at(0.5)
    assert (none_found.tp, none_found.fn, none_found.f1, none_found.pq) == (0, 2, 0.0, 0.0)
    spurious = score_instances(TWO[:, :6].copy(), empty).at(0.5)
    assert (spurious.fp, spurious.precision, spurious.accuracy) == (2, 0.0, 0.0)


def test_hungarian_prefers_more_matches_at_low_thresholds():
    # Truths A = [0, 10), B = [10, 20); P1 = [4, 17) has IoU 6/17 with A and 7/16 with B,
    # P2 = [17, 20) has IoU 3/10 with B. A greedy best-IoU pick (P1-B) leaves one match only.
    truth = np.zeros((1, 20), np.uint8)
    truth[0, 0:10], truth[0, 10:20] = 1, 2
    pred = np.zeros_like(truth)
    pred[0, 4:17], pred[0, 17:20] = 1, 2
    match = score_instances(pred, truth, thresholds=(0.25,)).at(0.25)
    assert (match.tp, match.fp, match.fn) == (2, 0, 0)
    assert match.mean_matched_iou == pytest.approx((6 / 17 + 3 / 10) / 2)


def reference_ious(pred: np.ndarray, truth: np.ndarray) -> list[float]:
    """IoU of every overlapping pair, object by object with plain numpy (the reference)."""
    ious = []
    for t in np.unique(truth[truth > 0]):
        t_mask = truth == t
        for p in np.unique(pred[t_mask & (pred > 0)]):
            p_mask = pred == p
            ious.append((t_mask & p_mask).sum() / (t_mask | p_mask).sum())
    return ious


def test_dsb_labels_against_a_reference(shared_data):
    truth = iio.imread(
        shared_data / "dsb2018_fluo_nuclei" / "labels" / "003cee89357d_instances.tif"
    )
    n = len(np.unique(truth)) - 1
    assert score_instances(truth, truth).dsb_score == 1.0
    # A prediction that is off: eroded nuclei, shifted by 2 pixels, every fifth one missing.
    pred = np.where(ndi.binary_erosion(truth > 0, iterations=1), truth, 0)
    pred = np.roll(pred, 2, axis=1)
    pred[np.isin(pred, np.unique(truth)[1::5])] = 0
    scores = score_instances(pred, truth)
    ious = np.array(reference_ious(pred, truth))
    n_pred = len(np.unique(pred)) - 1
    for m in scores.matches[1:]:  # above 0.5 a match is unique: count the pairs
        tp = int((ious >= m.threshold).sum())
        assert (m.tp, m.fp, m.fn) == (tp, n_pred - tp, n - tp), m.threshold
        assert m.accuracy == pytest.approx(tp / (tp + (n_pred - tp) + (n - tp)))
        matched = ious[ious >= m.threshold]
        assert m.pq == pytest.approx(matched.sum() / (tp + (n_pred - tp) / 2 + (n - tp) / 2))
    assert 0 < scores.dsb_score < 1
    # the mask truth merges touching nuclei: fewer true objects than the instance labels
    assert score_instances(pred, truth > 0).n_true == ndi.label(truth > 0)[1] < n


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.full((4, 8), 0.5), "non-integer"),
        (-TWO.astype(np.int8), "negative labels"),
        (np.zeros((4, 7), np.uint8), "shape"),
        (da.from_array(TWO), "whole arrays in memory"),
    ],
)
def test_bad_input(bad, message):
    with pytest.raises(SegLabInputError, match=message):
        score_instances(bad, TWO)
    with pytest.raises(SegLabInputError, match="thresholds"):
        score_instances(TWO, TWO, thresholds=(0.0, 0.5))


def test_instance_labels_keeps_ids_and_labels_masks():
    labels, n = instance_labels(np.array([[0, 5, 5, 9]] * 2))
    assert n == 2 and labels.max() == 2
    assert instance_labels(np.array([[0, 255, 0, 255]] * 2))[1] == 2


def test_kesm_reference_numbers_of_docs_metrics_md():
    from napari_seglab import load_kesm
    from napari_seglab.core import threshold

    image, truth = load_kesm()
    mask = threshold(image, "otsu", foreground="dark", median_size=3).mask
    scores = score_instances(mask, truth)
    assert (scores.n_true, scores.n_predicted) == (75, 66)
    assert (round(scores.dsb_score, 4), round(scores.at(0.5).f1, 4)) == (0.2543, 0.6241)
    assert round(scores.at(0.5).pq, 4) == 0.4914


def test_object_outcomes_agree_with_the_counts(shared_data):
    from napari_seglab.core.metrics import object_outcomes

    truth = iio.imread(
        shared_data / "dsb2018_fluo_nuclei" / "labels" / "003cee89357d_instances.tif"
    )
    pred = np.roll(np.where(ndi.binary_erosion(truth > 0), truth, 0), 2, axis=1)
    for t in (0.5, 0.8):
        out = object_outcomes(pred, truth, iou_threshold=t)
        match = score_instances(pred, truth, thresholds=(t,)).at(t)
        counted = {k: len(np.unique(v)) - 1 for k, v in out.items()}
        assert counted == {"matched": match.tp, "spurious": match.fp, "missed": match.fn}
        assert not (out["matched"].astype(bool) & out["spurious"].astype(bool)).any()
    with pytest.raises(SegLabInputError, match="IoU threshold"):
        object_outcomes(pred, truth, iou_threshold=0)


def test_per_plane_scores_each_plane_and_pools_the_counts():
    truth = np.zeros((2, 4, 8), np.uint8)
    truth[:, :, :4], truth[:, :, 4:] = 1, 2
    pred = truth.copy()
    pred[1] = truth[1] > 0  # plane 1: both nuclei merged into one object
    scores = score_instances(pred, truth, per_plane=True)
    assert [index for index, _ in scores.planes] == [(0,), (1,)]
    assert scores.planes[0][1].dsb_score == 1.0
    assert scores.planes[1][1].at(0.5).tp == 1
    assert (scores.n_true, scores.n_predicted) == (4, 3)
    pooled = scores.at(0.55)
    assert (pooled.tp, pooled.fp, pooled.fn) == (2, 1, 2)
    assert scores.mean_plane_dsb_score == pytest.approx((1.0 + 0.05) / 2)


def test_per_plane_keeps_time_points_apart():
    """The same object in two frames is two objects, not one volume object."""
    truth = np.zeros((2, 6, 6), np.uint8)
    truth[:, 1:4, 1:4] = 1
    volume = score_instances(truth, truth)
    assert volume.n_true == 1 and not volume.planes
    assert score_instances(truth, truth, per_plane=True).n_true == 2


def test_per_plane_needs_a_stack():
    with pytest.raises(SegLabInputError, match="per_plane needs a stack"):
        score_instances(np.ones((4, 4), np.uint8), np.ones((4, 4), np.uint8), per_plane=True)


def _dense_reference(pred, truth, t):
    """One Hungarian assignment over every object (the rule, without the shortcut)."""
    from scipy.optimize import linear_sum_assignment

    from napari_seglab.core.metrics._instances import _iou_matrix

    p, n_p = instance_labels(pred, "prediction")
    g, n_t = instance_labels(truth)
    iou = _iou_matrix(p, n_p, g, n_t)
    r, c = linear_sum_assignment(-(iou >= t).astype(float) - iou / (2 * min(iou.shape)))
    return int((iou[r, c] >= t).sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_assignment_shortcut_equals_one_full_assignment(seed):
    """From IoU 0.5 up only ties at exactly 0.5 are assigned; same TP as the full rule."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((64, 64), np.int32)
    for i in range(40):
        y, x = rng.integers(0, 60, 2)
        truth[y : y + rng.integers(2, 9), x : x + rng.integers(2, 9)] = i + 1
    pred = np.roll(truth, (rng.integers(0, 2), rng.integers(0, 2)), axis=(0, 1))
    pred[:, ::7] = 0  # cut some objects
    halves = truth.copy()
    halves[truth > 0] = 1  # merges: IoU ties at 0.5 where two equal objects touch
    for prediction in (pred, halves):
        scores = score_instances(prediction, truth, thresholds=(0.3, 0.5, 0.7))
        for t in (0.3, 0.5, 0.7):
            assert scores.at(t).tp == _dense_reference(prediction, truth, t)
