"""The classifier chunk by chunk: the same classes as in memory, chunk borders included."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

import napari_seglab as sl
from napari_seglab.core.classifier._lazy import predict as lazy_predict


@pytest.fixture(scope="module")
def classifier(volume):
    from napari_seglab.core.classifier import FeatureSettings, PixelClassifier

    strokes = np.zeros(volume.shape[1:], np.uint8)
    strokes[::9, ::9] = (volume[0, ::9, ::9] > 140) + 1
    settings = FeatureSettings(sigmas=(1, 4))
    return PixelClassifier(settings, n_estimators=8).fit(volume[0], strokes)


def test_predict_with_halo_equals_in_memory(volume, classifier, lazy):
    result = classifier.predict(lazy(volume))  # the public method dispatches to chunked
    assert isinstance(result, da.Array) and result.numblocks[1:] == (4, 5)  # 130 = 32+32+32+34
    np.testing.assert_array_equal(result.compute(), classifier.predict(volume))


def test_predict_refuses_other_channels_and_thin_chunks(volume, classifier, lazy):
    rgb = np.stack([volume[0]] * 3, axis=-1)
    with pytest.raises(sl.SegLabInputError, match="trained on images with 1 channel"):
        lazy_predict(classifier, lazy(rgb, (32, 40, 3)), channel_axis=-1)
    with pytest.raises(sl.SegLabInputError, match="needs a halo of 18 pixels"):
        lazy_predict(classifier, lazy(volume, (1, 8, 8)))
