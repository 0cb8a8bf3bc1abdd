"""Chunk-by-chunk evaluation: exact counts summed over the chunks."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

import napari_seglab as sl
from napari_seglab.core.metrics import evaluate


def test_evaluate_counts_and_planes(mask, volume, lazy):
    truth = (ndi.uniform_filter(volume, 5) > 135).astype(np.uint8) * 255
    expected = evaluate(mask, truth)
    result = sl.evaluate(lazy(mask), lazy(truth))
    assert result.counts == expected.counts
    assert result.planes == expected.planes
    assert result.objects == expected.objects
    assert list(result.rows()) == list(expected.rows())


def test_evaluate_kesm_against_published_counts(lazy):
    image, truth = sl.load_kesm()
    result = sl.threshold(lazy(image, (100, 120)), "otsu", foreground="dark", median_size=3)
    assert result.value == 175
    counts = sl.evaluate(result.mask, lazy(truth, (100, 120))).counts
    assert counts == sl.ConfusionCounts(tp=5595, fp=122, fn=1863, tn=254564)
