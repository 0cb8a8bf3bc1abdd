"""suggest_regions: where to paint next, on images whose uncertain region is known."""

from __future__ import annotations

import numpy as np
import pytest

from napari_seglab import FeatureSettings, PixelClassifier, SegLabInputError, suggest_regions


def _ambiguous_image() -> tuple[np.ndarray, np.ndarray, tuple[slice, slice]]:
    """Dark left, bright right (a blurred step), and a mid-grey square painted as both classes.

    The square is truly ambiguous, so the forest is unsure there; the step's few mid-grey
    pixels look like the square, so the class border is unsure too, but thin.
    """
    from scipy import ndimage as ndi

    rng = np.random.default_rng(0)
    image = np.full((96, 128), 50.0)
    image[:, 64:] = 150
    image = ndi.gaussian_filter(image, 1.0)
    unseen = (slice(30, 60), slice(14, 44))
    image[unseen] = 100
    image += rng.normal(0, 3, image.shape)
    strokes = np.zeros(image.shape, np.uint8)
    strokes[75:79, 10:50] = 1
    strokes[75:79, 80:120] = 2
    strokes[32:34, 16:42] = 1  # the square: painted as both classes
    strokes[56:58, 16:42] = 2
    return image, strokes, unseen


def test_the_ambiguous_region_is_suggested_and_the_class_border_is_not():
    image, strokes, unseen = _ambiguous_image()
    clf = PixelClassifier(FeatureSettings(sigmas=(1, 2)), n_estimators=20, random_state=0)
    result = clf.fit(image, strokes).segment(image)
    assert result.uncertainty[:, 62:66].max() > 0.2  # the class border is unsure, thin
    suggestions = suggest_regions(
        result.uncertainty, result.labels, min_uncertainty=0.15, border=6
    )
    assert suggestions, "the ambiguous square is uncertain"
    best = suggestions[0]
    (y0, y1), (x0, x1) = best.bbox
    assert unseen[0].start - 5 <= y0 < y1 <= unseen[0].stop + 5
    assert unseen[1].start - 5 <= x0 < x1 <= unseen[1].stop + 5
    assert y1 - y0 > 15 and x1 - x0 > 15
    cy, cx = best.centre
    assert 38 <= cy <= 52 and 22 <= cx <= 36
    for s in suggestions:  # nothing on the class border at x = 64
        assert not s.bbox[1][0] <= 64 < s.bbox[1][1]
    assert [s.score for s in suggestions] == sorted((s.score for s in suggestions), reverse=True)
    unsuppressed = suggest_regions(result.uncertainty, min_uncertainty=0.15, border=0)
    assert any(s.bbox[1][0] <= 64 < s.bbox[1][1] for s in unsuppressed)


def test_ranking_size_and_mean():
    uncertainty = np.zeros((80, 80), np.float32)
    uncertainty[5:15, 5:15] = 0.4  # 100 px: total 40
    uncertainty[40:70, 40:70] = 0.3  # 900 px: total 270
    uncertainty[5:8, 60:63] = 0.5  # 9 px: below min_size
    suggestions = suggest_regions(uncertainty, border=1, min_size=20)
    assert [s.bbox for s in suggestions] == [((40, 70), (40, 70)), ((5, 15), (5, 15))]
    assert suggestions[0].mean_uncertainty == pytest.approx(0.3, abs=1e-6)
    assert 80 <= suggestions[1].size <= 100  # smoothing and opening round the corners
    assert suggest_regions(uncertainty, border=1, min_size=20, n_regions=1)[0].size > 850
    assert suggest_regions(uncertainty, min_uncertainty=0.45) == []
    image = np.zeros((80, 80))
    assert np.all(image[suggestions[0].slices] == 0) and image[suggestions[0].slices].shape == (
        30,
        30,
    )


def test_a_plane_of_a_stack_in_stack_coordinates():
    uncertainty = np.zeros((3, 60, 60), np.float32)
    uncertainty[2, 10:30, 20:40] = 0.45
    labels = np.ones((3, 60, 60), np.uint8)
    labels[:, :, 50:] = 2  # a class border, on every plane
    uncertainty[:, :, 49:51] = 0.5
    suggestions = suggest_regions(uncertainty, labels, plane=(2,))
    assert len(suggestions) == 1
    assert suggestions[0].bbox == ((2, 3), (10, 30), (20, 40))
    assert suggestions[0].centre == pytest.approx((2, 19.5, 29.5), abs=0.2)
    assert suggest_regions(uncertainty, labels, plane=(0,)) == []
    assert suggest_regions(uncertainty, labels, plane=(-1,))[0].bbox[0] == (2, 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"uncertainty": np.zeros((2, 8, 8))}, "plane="),
        ({"uncertainty": np.zeros((2, 8, 8)), "plane": (5,)}, "does not index"),
        ({"uncertainty": np.zeros(8)}, "at least 2 dimensions"),
        ({"uncertainty": np.zeros((8, 8)), "labels": np.zeros((8, 9))}, "do not match"),
        ({"uncertainty": np.zeros((8, 8)), "labels": np.zeros((9, 8)), "border": 0}, "match"),
        ({"uncertainty": np.zeros((8, 8)), "min_uncertainty": 2}, "min_uncertainty"),
        ({"uncertainty": np.zeros((8, 8)), "n_regions": 0}, "n_regions"),
    ],
)
def test_bad_input_is_refused_clearly(kwargs, message):
    with pytest.raises(SegLabInputError, match=message):
        suggest_regions(**kwargs)
