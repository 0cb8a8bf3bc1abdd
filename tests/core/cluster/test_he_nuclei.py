"""Lab k-means against Otsu on the H&E nuclei of the 2018 Data Science Bowl (real data).

The nuclei cluster is chosen by the documented rule users get too: ids are ordered by
brightness (Lab L*), so the haematoxylin-stained nuclei are cluster 1, the darkest. Nothing
looks at the ground truth to pick it.

Measured (``python -m pytest tests/core/cluster/test_he_nuclei.py -q -p no:xvfb``; seed 0,
n_init 4; F1 from ``napari_seglab.evaluate(...).scores.f1``):

=========================================  ======  ======  ======  ======  ======  ======  ======
image                                      00ae65  0121d6  01d44a  0bf33d  0c2550  0d3640  mean
=========================================  ======  ======  ======  ======  ======  ======  ======
Otsu on luminance, foreground dark         0.8899  0.7869  0.8733  0.8809  0.8899  0.8221  0.8572
Lab k-means, k = 3, cluster 1 (darkest)    0.7966  0.8759  0.6925  0.6023  0.8619  0.6861  0.7525
Lab k-means, k = 2, cluster 1 (darkest)    0.9077  0.7685  0.8800  0.8787  0.8963  0.8436  0.8625
=========================================  ======  ======  ======  ======  ======  ======  ======

So the issue's claim "Lab k-means with k = 3 beats Otsu" does **not** hold on these images:
where the tissue fills the frame (01d44a, 0bf33d, 0d3640) the three clusters are stroma, pale
nuclei and dark nuclear cores, and the darkest cluster misses the pale nuclei. With k = 2
(nuclei against everything else) Lab k-means does beat Otsu on luminance. The k = 3 claim is
kept as a strict expected failure, so that it shows in every run and flips if it ever holds.
"""

from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np
import pytest

import napari_seglab as sl

OTSU = [0.8899, 0.7869, 0.8733, 0.8809, 0.8899, 0.8221]
LAB_K3 = [0.7966, 0.8759, 0.6925, 0.6023, 0.8619, 0.6861]
LAB_K2 = [0.9077, 0.7685, 0.8800, 0.8787, 0.8963, 0.8436]


@pytest.fixture(scope="module")
def scores(shared_data) -> dict[str, list[float]]:
    folder = shared_data / "dsb2018_he_histology_nuclei"
    pairs = json.loads((folder / "pairs.json").read_text())["pairs"]
    out: dict[str, list[float]] = {"otsu": [], "k3": [], "k2": []}
    for pair in pairs:
        assert pair["polarity"] == "dark"
        image = iio.imread(folder / pair["image"])
        truth = iio.imread(folder / pair["mask"])
        otsu = sl.threshold(image, "otsu", rgb=True, foreground="dark").mask
        out["otsu"].append(sl.evaluate(otsu, truth).scores.f1)
        for k in (3, 2):
            nuclei = sl.cluster(image, k, rgb=True, space="lab").mask(1)  # feeds Validate as is
            out[f"k{k}"].append(sl.evaluate(nuclei, truth).scores.f1)
    return out


def test_measured_f1_scores(scores):
    np.testing.assert_allclose(scores["otsu"], OTSU, atol=5e-5)
    np.testing.assert_allclose(scores["k3"], LAB_K3, atol=5e-5)
    np.testing.assert_allclose(scores["k2"], LAB_K2, atol=5e-5)


def test_lab_kmeans_nuclei_against_everything_else_beats_otsu(scores):
    assert np.mean(scores["k2"]) > np.mean(scores["otsu"])  # 0.8625 > 0.8572


@pytest.mark.xfail(
    strict=True,
    reason="measured: Lab k-means k=3, darkest cluster, mean F1 0.7525 < Otsu 0.8572",
)
def test_issue_claim_lab_kmeans_k3_beats_otsu(scores):
    assert np.mean(scores["k3"]) > np.mean(scores["otsu"])
