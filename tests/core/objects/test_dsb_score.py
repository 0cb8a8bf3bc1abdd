"""Must hold (issue 10) with the library's own scorer: on the DSB 2018 fluorescence nuclei,
Otsu + watershed splitting has a higher mean DSB score (``score_instances(...).dsb_score``
against the instance labels) than Otsu + connected components."""

from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np
import tifffile

from napari_seglab import label_objects, score_instances, threshold


def _scores(shared_data):
    folder = shared_data / "dsb2018_fluo_nuclei"
    pairs = json.loads((folder / "pairs.json").read_text())["pairs"]
    components, split = [], []
    for pair in pairs:
        image = iio.imread(folder / pair["image"])
        truth = tifffile.imread(folder / pair["instance_labels"])
        mask = threshold(image, "otsu", foreground=pair["polarity"]).mask
        components.append(score_instances(label_objects(mask, min_size=20).labels, truth))
        watershed = label_objects(mask, method="watershed", min_distance=7, min_size=20)
        split.append(score_instances(watershed.labels, truth))
    return components, split


def test_watershed_beats_components_on_the_official_score(shared_data):
    """Otsu (bright), objects of at least 20 pixels, the 6 images of dsb2018_fluo_nuclei;
    ``score_instances(labels, truth).dsb_score`` per image and mean (measured 2026-12-02):

    components:                   0.2065 0.7303 0.4603 0.1868 0.0469 0.2124  mean 0.3072
    watershed, seeds 7 px apart:  0.2474 0.8429 0.4565 0.1377 0.2059 0.2676  mean 0.3596

    The private scorer of ``test_dsb_nuclei.py`` (IoU > t, assignment on IoU alone) gives the
    same per-image scores except 0.2665 for the last image (mean 0.3595), where
    the rules differ: IoU >= t here, and the assignment first maximises the number of pairs.
    """
    components, split = _scores(shared_data)
    mean_c = np.mean([s.dsb_score for s in components])
    mean_w = np.mean([s.dsb_score for s in split])
    assert len(components) == 6
    np.testing.assert_allclose(mean_c, 0.3072, atol=5e-4)
    np.testing.assert_allclose(mean_w, 0.3596, atol=5e-4)
    assert mean_w > mean_c + 0.04
    np.testing.assert_allclose(split[1].dsb_score, 0.8429, atol=5e-4)
