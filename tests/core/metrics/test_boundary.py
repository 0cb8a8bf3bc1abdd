"""Boundary and centreline scores (issue 10): hand-computed cases, scipy as the reference."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from scipy.spatial.distance import directed_hausdorff

from napari_seglab import load_kesm
from napari_seglab.core import SegLabInputError, threshold
from napari_seglab.core.metrics import boundary_scores, cl_dice
from napari_seglab.core.metrics._boundary import boundary_of

SQUARE = np.zeros((8, 8), np.uint8)
SQUARE[2:6, 2:6] = 1


def test_identical_masks():
    s = boundary_scores(SQUARE, SQUARE)
    assert (s.boundary_f1, s.nsd, s.hausdorff, s.hd95, s.assd, s.cl_dice) == (1, 1, 0, 0, 0, 1)


def test_shift_by_one_row_with_anisotropic_spacing_by_hand():
    shifted = np.roll(SQUARE, 1, axis=0)
    # 12 boundary pixels each; the 4 of the far row of each lie 1 row = 2 units away, the
    # others 0 or 1 unit (a column away): 8 of 12 within the tolerance 1.
    s = boundary_scores(shifted, SQUARE, spacing=(2.0, 1.0))
    assert s.hausdorff == 2.0 and s.hd95 == 2.0
    assert s.boundary_precision == s.boundary_recall == pytest.approx(8 / 12)
    assert s.nsd == pytest.approx(16 / 24)
    assert s.assd == pytest.approx((4 * 2 + 2 * 1) * 2 / 24)  # (3,3), (3,4) are 1 away
    wide = boundary_scores(shifted, SQUARE, spacing=(2.0, 1.0), tolerance=2.0)
    assert wide.boundary_f1 == 1.0 and wide.nsd == 1.0
    assert boundary_scores(shifted, SQUARE, spacing=0.5).hausdorff == 0.5


def test_empty_sides():
    empty = np.zeros_like(SQUARE)
    both = boundary_scores(empty, empty)
    assert (both.boundary_f1, both.nsd, both.hausdorff, both.cl_dice) == (1, 1, 0, 1)
    one = boundary_scores(empty, SQUARE)
    assert (one.boundary_f1, one.nsd, one.cl_dice) == (0, 0, 0)
    assert one.hausdorff == one.hd95 == one.assd == float("inf")


def test_cl_dice_of_a_broken_vessel_by_hand():
    vessel = np.zeros((9, 15), bool)
    vessel[4, 1:14] = True
    broken = vessel.copy()
    broken[4, 7] = False
    assert cl_dice(broken, vessel) == pytest.approx(24 / 25)
    assert boundary_scores(broken, vessel).cl_dice == pytest.approx(24 / 25)


def test_hausdorff_equals_scipy_on_kesm_in_2d_and_3d():
    image, truth = load_kesm()
    mask = threshold(image, "otsu", foreground="dark", median_size=3).mask
    spacing = (1.5, 0.7)
    s = boundary_scores(mask, truth, spacing=spacing)
    a = np.argwhere(boundary_of(mask != 0)) * spacing
    b = np.argwhere(boundary_of(truth != 0)) * spacing
    assert s.hausdorff == pytest.approx(
        max(directed_hausdorff(a, b)[0], directed_hausdorff(b, a)[0])
    )
    assert 0 < s.hd95 <= s.hausdorff and 0 < s.assd < s.hd95
    assert 0 < s.boundary_f1 < 1 and 0 < s.cl_dice < 1
    vol_m, vol_t = np.stack([mask[:64, :64]] * 3), np.stack([truth[:64, :64]] * 3)
    s3 = boundary_scores(vol_m, vol_t, spacing=(4.0, 1.0, 1.0))
    assert s3.hausdorff >= 0 and 0 <= s3.cl_dice <= 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spacing": (1.0, 1.0, 1.0)}, "spacing"),
        ({"spacing": (1.0, 0.0)}, "spacing"),
        ({"spacing": "x"}, "spacing"),
        ({"tolerance": -1}, "tolerance"),
    ],
)
def test_bad_options(kwargs, message):
    with pytest.raises(SegLabInputError, match=message):
        boundary_scores(SQUARE, SQUARE, **kwargs)


def test_bad_inputs():
    with pytest.raises(SegLabInputError, match="whole arrays in memory"):
        boundary_scores(da.from_array(SQUARE), SQUARE)
    with pytest.raises(SegLabInputError, match="not a mask"):
        boundary_scores(SQUARE * np.arange(8, dtype=np.uint8), SQUARE)
    with pytest.raises(SegLabInputError, match="shape"):
        boundary_scores(SQUARE[:, :7], SQUARE)


def test_kesm_reference_numbers_of_docs_metrics_md():
    image, truth = load_kesm()
    mask = threshold(image, "otsu", foreground="dark", median_size=3).mask
    s = boundary_scores(mask, truth, tolerance=1.0)
    assert (round(s.boundary_f1, 4), round(s.nsd, 4), round(s.cl_dice, 4)) == (
        0.8331,
        0.8305,
        0.8777,
    )
    assert (round(s.hausdorff, 2), round(s.hd95, 2), round(s.assd, 2)) == (41.63, 11.09, 1.52)
