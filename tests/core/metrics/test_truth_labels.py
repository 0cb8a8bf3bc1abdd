"""An instance labels ground truth in evaluate (``truth_objects="labels"``)."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import tifffile

from napari_seglab.core import SegLabInputError
from napari_seglab.core.metrics import evaluate, match_objects


def _touching():
    truth = np.zeros((4, 8), np.uint16)
    truth[:, :4], truth[:, 4:] = 1, 2
    return truth


def test_touching_true_objects_stay_separate():
    truth = _touching()
    result = evaluate(truth > 0, truth, truth_objects="labels")
    # One merged prediction overlaps both by IoU 0.5: one match, one miss (not two matches).
    objects = result.objects
    assert (objects.n_true, objects.matched, objects.missed, objects.spurious) == (2, 1, 1, 0)
    assert result.counts.tp == 32 and result.scores.f1 == 1.0  # pixels: truth > 0
    assert evaluate(truth > 0, truth > 0).objects.n_true == 1  # a mask: its components


def test_a_labels_truth_without_the_option_names_it():
    with pytest.raises(SegLabInputError, match="2 different non-zero values") as err:
        evaluate(_touching() > 0, _touching())
    assert "truth_objects='labels'" in str(err.value)


@pytest.mark.parametrize(
    ("truth", "message"),
    [
        (np.full((4, 8), 0.5), "non-integer"),
        (np.array([[0, -1], [2, 1]]), "negative labels"),
        (np.array([[0, 1], [2, 1]], dtype="U1"), "data type"),
    ],
)
def test_bad_labels_truth(truth, message):
    with pytest.raises(SegLabInputError, match=message):
        evaluate(np.ones(truth.shape, bool), truth, truth_objects="labels")


def test_bad_truth_objects_value():
    with pytest.raises(SegLabInputError, match="truth_objects must be"):
        evaluate(_touching() > 0, _touching(), truth_objects="instances")


def test_one_labelled_object_is_one_object_even_if_split():
    truth = np.zeros((4, 8), np.uint8)
    truth[:, :2] = truth[:, 6:] = 1  # one id, two pieces
    assert match_objects(truth, truth, truth_objects="labels").n_true == 1
    assert match_objects(truth, truth).n_true == 2


def test_lazy_labels_truth_counts_its_foreground():
    truth = _touching()
    lazy = da.from_array(np.stack([truth, truth]), chunks=(1, 4, 4))
    result = evaluate(lazy > 0, lazy, truth_objects="labels")
    assert result.counts.tp == 64 and result.objects is None
    with pytest.raises(SegLabInputError, match="instance labels"):
        evaluate(lazy > 0, lazy.astype(float), truth_objects="labels")


def test_dsb_instance_labels(shared_data):
    folder = shared_data / "dsb2018_fluo_nuclei"
    truth = tifffile.imread(next((folder / "labels").glob("*.tif")))
    result = evaluate(truth, truth, foreground_class="any", truth_objects="labels")
    assert result.objects.n_true == len(np.unique(truth)) - 1
    assert result.objects.matched == result.objects.n_true
    assert result.scores.f1 == 1.0
