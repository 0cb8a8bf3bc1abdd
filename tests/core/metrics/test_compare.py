"""Several predictions on one ground truth, best first (issue 10 "Compare methods")."""

from __future__ import annotations

import csv

import dask.array as da
import numpy as np
import pytest

from napari_seglab import load_kesm
from napari_seglab.core import SegLabInputError, threshold
from napari_seglab.core.metrics import compare_predictions, evaluate


@pytest.fixture(scope="module")
def kesm():
    image, truth = load_kesm()
    masks = {
        m: threshold(image, m, foreground="dark", median_size=3).mask
        for m in ("otsu", "li", "yen")
    }
    return truth, masks


def test_rows_best_first_with_the_same_numbers_as_evaluate(kesm, tmp_path):
    truth, masks = kesm
    classes = np.where(masks["otsu"] != 0, 2, 1).astype(np.uint8)
    result = compare_predictions(
        {**masks, "classifier": classes}, truth, foreground_classes={"classifier": 2}
    )
    mcc = [row["mcc"] for row in result.rows]
    assert mcc == sorted(mcc, reverse=True)
    by_name = {row["prediction"]: row for row in result.rows}
    for name, mask in masks.items():
        assert by_name[name]["mcc"] == evaluate(mask, truth).scores.mcc
    assert by_name["classifier"]["tp"] == 5595 and by_name["otsu"]["cl_dice"] == pytest.approx(
        0.8777, abs=5e-5
    )
    ranked = compare_predictions(masks, truth, rank_by="boundary_f1")
    assert [r["boundary_f1"] for r in ranked.rows] == sorted(
        (r["boundary_f1"] for r in ranked.rows), reverse=True
    )
    with result.to_csv(tmp_path / "compare.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["prediction"] for r in rows] == [r["prediction"] for r in result.rows]


def test_lazy_pixel_only_and_bad_input(kesm):
    truth, masks = kesm
    lazy = compare_predictions(
        {"otsu": da.from_array(masks["otsu"], chunks=128)}, truth, objects_and_boundaries=False
    )
    assert lazy.rows[0]["tp"] == 5595 and "boundary_f1" not in lazy.rows[0]
    with pytest.raises(SegLabInputError, match="whole arrays in memory"):
        compare_predictions({"otsu": da.from_array(masks["otsu"], chunks=128)}, truth)
    with pytest.raises(SegLabInputError, match="at least one"):
        compare_predictions({}, truth)
    with pytest.raises(SegLabInputError, match="choose one of"):
        compare_predictions(masks, truth, rank_by="speed")
    with pytest.raises(SegLabInputError, match="needs objects_and_boundaries"):
        compare_predictions(masks, truth, rank_by="cl_dice", objects_and_boundaries=False)
    with pytest.raises(SegLabInputError, match="not a mask"):
        compare_predictions({"raw": load_kesm()[0]}, truth)


def test_an_instance_labels_truth_keeps_touching_objects_apart():
    truth = np.zeros((8, 8), np.uint16)
    truth[:, :4], truth[:, 4:] = 1, 2
    merged = (truth > 0).astype(np.uint8)
    result = compare_predictions(
        {"merged": merged, "split": truth},
        truth,
        rank_by="dsb_score",
        foreground_classes={"split": "any"},
        truth_objects="labels",
    )
    rows = {row["prediction"]: row for row in result.rows}
    assert result.rows[0]["prediction"] == "split"
    assert rows["split"]["dsb_score"] == 1.0 and rows["merged"]["instance_f1_75"] == 0.0
    assert rows["merged"]["f1"] == 1.0  # the pixels agree


def test_a_spacing_gives_distances_in_its_units_and_a_one_pixel_tolerance(kesm):
    truth, masks = kesm
    from napari_seglab.core.metrics import boundary_scores

    row = compare_predictions({"otsu": masks["otsu"]}, truth, spacing=(2.0, 2.0)).rows[0]
    in_pixels = compare_predictions({"otsu": masks["otsu"]}, truth).rows[0]
    expected = boundary_scores(masks["otsu"], truth, tolerance=2.0, spacing=2.0)
    assert row["hd95"] == expected.hd95 == pytest.approx(2 * in_pixels["hd95"])
    assert (row["boundary_f1"], row["nsd"]) == (expected.boundary_f1, expected.nsd)
    assert (row["boundary_f1"], row["nsd"]) == (in_pixels["boundary_f1"], in_pixels["nsd"])
    with pytest.raises(SegLabInputError, match="spacing must be"):
        compare_predictions({"otsu": masks["otsu"]}, truth, spacing=(1.0, 0.0))
