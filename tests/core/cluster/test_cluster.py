"""napari_seglab.cluster equals scikit-image + scikit-learn called directly; lazy; refusals."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.color import rgb2lab
from skimage.segmentation import felzenszwalb, find_boundaries, slic
from sklearn.cluster import KMeans, MiniBatchKMeans

import napari_seglab as sl
from napari_seglab import SegLabInputError


def _colour_image(seed: int = 0, shape=(48, 64)) -> np.ndarray:
    """Three colours (purple blobs, pink, white) plus noise, like a small H&E crop."""
    rng = np.random.default_rng(seed)
    smooth = ndi.gaussian_filter(rng.normal(size=shape), 3)
    image = np.empty((*shape, 3))
    image[...] = (235, 225, 235)
    image[smooth > 0.02] = (200, 120, 170)
    image[smooth > 0.12] = (90, 40, 140)
    image += rng.normal(0, 8, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    return _colour_image()


def _same_partition(ours: np.ndarray, theirs: np.ndarray, result) -> None:
    """Our ids are scikit-learn's clusters renamed by brightness (L*, luminance, mean)."""
    mapping = {}
    for a, b in zip(theirs.ravel(), ours.ravel(), strict=True):
        assert mapping.setdefault(int(a), int(b)) == int(b)
    assert sorted(mapping.values()) == list(range(1, result.k + 1))
    assert np.all(np.diff(result.brightness) >= 0)


def test_lab_pixels_equal_kmeans_of_rgb2lab(rgb):
    result = sl.cluster(rgb, 3, rgb=True, seed=3)
    features = rgb2lab(rgb).reshape(-1, 3)
    km = KMeans(n_clusters=3, random_state=3, n_init=4).fit(features)
    assert result.labels.dtype == np.uint8 and result.labels.shape == rgb.shape[:2]
    _same_partition(result.labels, km.predict(features).reshape(rgb.shape[:2]), result)
    expected = km.cluster_centers_[np.argsort(km.cluster_centers_[:, 0])]
    np.testing.assert_allclose(result.centres, expected)
    assert result.feature_names == ("L*", "a*", "b*")
    assert result.n_fitted == rgb.shape[0] * rgb.shape[1]


def test_rgb_space_and_luminance_order(rgb):
    result = sl.cluster(rgb, 3, rgb=True, space="rgb")
    features = (rgb / 255.0).reshape(-1, 3)
    km = KMeans(n_clusters=3, random_state=0, n_init=4).fit(features)
    _same_partition(result.labels, km.predict(features).reshape(rgb.shape[:2]), result)
    luminance = result.centres @ [0.2125, 0.7154, 0.0721]
    assert np.all(np.diff(luminance) > 0)


def test_slic_superpixels_clustered_by_mean_colour(rgb):
    result = sl.cluster(rgb, 3, rgb=True, units="slic", n_segments=60, compactness=8)
    segments = slic(rgb, n_segments=60, compactness=8, start_label=1, channel_axis=-1)
    np.testing.assert_array_equal(result.superpixels, segments)
    lab = rgb2lab(rgb)
    ids = np.arange(1, segments.max() + 1)
    means = np.stack([ndi.mean(lab[..., c], segments, ids) for c in range(3)], 1)
    km = KMeans(n_clusters=3, random_state=0, n_init=4).fit(means)
    _same_partition(result.labels, km.predict(means)[segments - 1], result)
    assert result.n_fitted == segments.max()
    np.testing.assert_allclose(np.sort(result.centres[:, 0]), np.sort(km.cluster_centers_[:, 0]))


def test_felzenszwalb_superpixels_and_boundaries(rgb):
    result = sl.cluster(
        rgb, 2, rgb=True, units="felzenszwalb", scale=50, sigma=0.5, min_size=10, boundaries=True
    )
    segments = felzenszwalb(rgb, scale=50, sigma=0.5, min_size=10, channel_axis=-1) + 1
    np.testing.assert_array_equal(result.superpixels, segments)
    assert result.boundaries.dtype == np.uint8
    np.testing.assert_array_equal(result.boundaries, find_boundaries(segments))


def test_position_weight_joins_the_scaled_coordinates(rgb):
    result = sl.cluster(rgb, 3, rgb=True, position_weight=0.5)
    y, x = np.indices(rgb.shape[:2])
    scale = 0.5 * 100 / max(rgb.shape[:2])
    rows = np.hstack([rgb2lab(rgb).reshape(-1, 3), np.stack([y.ravel(), x.ravel()], 1) * scale])
    km = KMeans(n_clusters=3, random_state=0, n_init=4).fit(rows)
    _same_partition(result.labels, km.predict(rows).reshape(rgb.shape[:2]), result)
    assert result.feature_names[-2:] == ("Y", "X")
    assert result.centres[:, 3].max() <= rgb.shape[0]  # back in pixels


def test_big_images_use_minibatch_kmeans(rgb):
    result = sl.cluster(rgb, 3, rgb=True, minibatch_above=1000)
    features = rgb2lab(rgb).reshape(-1, 3)
    km = MiniBatchKMeans(n_clusters=3, random_state=0, n_init=4, batch_size=4096).fit(features)
    _same_partition(result.labels, km.predict(features).reshape(rgb.shape[:2]), result)


def test_channels_as_a_list_an_axis_or_grayscale(rgb):
    as_list = sl.cluster([rgb[..., 0], rgb[..., 1], rgb[..., 2]], 3)
    on_axis = sl.cluster(np.moveaxis(rgb, -1, 0), 3, channel_axis=0)
    np.testing.assert_array_equal(as_list.labels, on_axis.labels)
    assert as_list.options.space is sl.ColourSpace.CHANNELS
    km = KMeans(n_clusters=3, random_state=0, n_init=4).fit(rgb.reshape(-1, 3).astype(float))
    _same_partition(as_list.labels, km.labels_.reshape(rgb.shape[:2]), as_list)
    gray = sl.cluster(rgb[..., 1], 2)
    assert gray.feature_names == ("channel 0",) and gray.centres.shape == (2, 1)


def test_same_image_same_ids_and_masks(rgb):
    first = sl.cluster(rgb, 3, rgb=True, seed=7)
    again = sl.cluster(rgb.copy(), 3, rgb=True, seed=7)
    np.testing.assert_array_equal(first.labels, again.labels)
    mask = first.mask(1)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 1}
    np.testing.assert_array_equal(mask, first.labels == 1)
    assert first.centres[0, 0] < first.centres[2, 0]  # 1 is the darkest
    assert "cluster 1 (darkest)" in first.describe()


def test_stack_shares_centres_and_has_superpixels_per_plane(rgb):
    stack = np.stack([rgb, _colour_image(1)])
    result = sl.cluster(stack, 3, rgb=True, units="slic", n_segments=50)
    for z in range(2):
        expected = slic(stack[z], n_segments=50, start_label=1, channel_axis=-1)
        np.testing.assert_array_equal(result.superpixels[z], expected)
    assert result.labels.shape == stack.shape[:3]


def test_lazy_labels_equal_in_memory_when_every_chunk_is_sampled(rgb):
    stack = np.stack([rgb, _colour_image(1), _colour_image(2)])
    for units in ("pixels", "slic"):
        eager = sl.cluster(stack, 3, rgb=True, units=units, boundaries=True)
        lazy = sl.cluster(
            da.from_array(stack, chunks=(1, 48, 64, 3)), 3, rgb=True, units=units, boundaries=True
        )
        assert isinstance(lazy.labels, da.Array) and lazy.labels.dtype == np.uint8
        np.testing.assert_allclose(lazy.centres, eager.centres)
        np.testing.assert_array_equal(lazy.labels.compute(), eager.labels)
        if units == "slic":
            np.testing.assert_array_equal(lazy.superpixels.compute(), eager.superpixels)
            np.testing.assert_array_equal(lazy.boundaries.compute(), eager.boundaries)
        assert isinstance(lazy.mask(2), da.Array)


def test_lazy_fits_on_a_sample_and_labels_every_chunk_with_those_centres(rgb):
    big = np.concatenate([rgb, _colour_image(5)], axis=1)
    result = sl.cluster(
        da.from_array(big, chunks=(16, 16, 3)), 3, rgb=True, sample_chunks=4, position_weight=0.2
    )
    assert result.n_fitted == 4 * 16 * 16
    lab = rgb2lab(big).reshape(-1, 3)
    y, x = np.indices(big.shape[:2])
    scale = 0.2 * 100 / max(big.shape[:2])
    rows = np.hstack([lab, np.stack([y.ravel(), x.ravel()], 1)])
    centres = result.centres
    distance = (((rows[:, None, :3] - centres[None, :, :3]) ** 2).sum(-1)) + (
        ((rows[:, None, 3:] - centres[None, :, 3:]) * scale) ** 2
    ).sum(-1)
    nearest = distance.argmin(1).reshape(big.shape[:2]) + 1
    assert isinstance(result.labels, da.Array)
    np.testing.assert_array_equal(result.labels.compute(), nearest)


def test_lazy_superpixels_need_whole_planes(rgb):
    with pytest.raises(SegLabInputError, match="whole planes"):
        sl.cluster(da.from_array(rgb, chunks=(16, 16, 3)), 3, rgb=True, units="slic")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda im: sl.cluster(im, 1, rgb=True), r"k >= 2"),
        (lambda im: sl.cluster(im, 2.5, rgb=True), r"k >= 2"),
        (lambda im: sl.cluster(im[..., 0], 3, space="lab"), "Lab needs an RGB image"),
        (lambda im: sl.cluster(im[..., 0], 3, space="rgb"), "RGB needs an RGB image"),
        (lambda im: sl.cluster(im, 3, channel_axis=3), "Channel axis 3 does not exist"),
        (lambda im: sl.cluster(im[..., :2], 3, rgb=True), "3 or 4 channels"),
        (lambda im: sl.cluster(im, 3, rgb=True, space="hsv"), "Unknown colour space"),
        (lambda im: sl.cluster(im, 3, rgb=True, units="watershed"), "Unknown unit"),
        (lambda im: sl.cluster(im, 3, rgb=True, position_weight=-1), "position weight"),
        (lambda im: sl.cluster(im, 3, rgb=True, units="slic", n_segments=0), "n segments"),
        (lambda im: sl.cluster([im[..., 0], im[:5, :, 0]], 3), "different shapes"),
        (lambda im: sl.cluster(im, 3, rgb=True).mask(4), "Cluster 4 does not exist"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(rgb, call, message):
    before = rgb.copy()
    with pytest.raises(SegLabInputError, match=message):
        call(rgb)
    np.testing.assert_array_equal(rgb, before)


def test_more_clusters_than_colours_is_refused():
    two_colours = np.zeros((10, 10, 3), np.uint8)
    two_colours[:, 5:] = 200
    with pytest.raises(SegLabInputError, match="only 2 distinct colour"):
        sl.cluster(two_colours, 3, rgb=True)
    with pytest.raises(SegLabInputError, match="only 2 distinct colour"):
        sl.cluster(da.from_array(two_colours, chunks=(5, 5, 3)), 3, rgb=True)
    # one colour: no k would do (k >= 2), so the message does not offer one
    with pytest.raises(SegLabInputError, match=r"single colour.*nothing to cluster"):
        sl.cluster(np.zeros((10, 10, 3), np.uint8), 2, rgb=True)


def test_nan_is_refused_in_memory_and_in_the_lazy_sample():
    image = np.random.default_rng(0).random((20, 20, 3))
    image[4, 4, 1] = np.nan
    with pytest.raises(SegLabInputError, match="NaN"):
        sl.cluster(image, 2, rgb=True)
    with pytest.raises(SegLabInputError, match="NaN"):
        sl.cluster(da.from_array(image, chunks=(10, 10, 3)), 2, rgb=True)


@pytest.mark.parametrize(
    ("settings", "steps"),
    [
        ({}, ["colours", "k-means fit", "fit", "labels", "predict"]),
        ({"units": "slic", "boundaries": True},
         ["superpixels", "colours", "k-means fit", "fit", "labels", "predict", "boundaries"]),
    ],
)  # fmt: skip
def test_iter_cluster_yields_each_step_before_it_runs(rgb, monkeypatch, settings, steps):
    """The fit and the labelling are steps of their own, so a caller that stops between
    steps (a cancelled widget) never waits for both."""
    from napari_seglab.core.cluster import _eager, _model, iter_cluster

    seen = []
    fit, predict = _eager.fit, _model.KMeansModel.predict
    monkeypatch.setattr(_eager, "fit", lambda *a: seen.append("fit") or fit(*a))
    monkeypatch.setattr(
        _model.KMeansModel, "predict", lambda *a: seen.append("predict") or predict(*a)
    )
    generator = iter_cluster(rgb, 3, rgb=True, **settings)
    while True:
        try:
            seen.append(next(generator))
        except StopIteration as done:
            result = done.value
            break
    assert seen == steps
    expected = sl.cluster(rgb, 3, rgb=True, **settings)
    np.testing.assert_array_equal(result.labels, expected.labels)
    np.testing.assert_array_equal(result.centres, expected.centres)
    if settings:
        np.testing.assert_array_equal(result.boundaries, expected.boundaries)


def test_iter_cluster_of_a_dask_array_reads_the_sample_then_fits(rgb):
    from napari_seglab.core.cluster import iter_cluster

    lazy = da.from_array(np.stack([rgb, rgb[::-1]]), chunks=(1, -1, -1, -1))
    generator = iter_cluster(lazy, 3, rgb=True)
    assert [next(generator), next(generator)] == ["sample", "k-means fit"]
    with pytest.raises(StopIteration) as done:
        next(generator)
    assert isinstance(done.value.value.labels, da.Array)
