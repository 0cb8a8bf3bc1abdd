"""Features: values against scipy / scikit-image, settings, tiling, masks, channels, 3D."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.feature import hessian_matrix_eigvals

from napari_seglab.core import FeatureSettings, SegLabInputError, compute_features, feature_names
from napari_seglab.core.classifier import _tiles as tiles_module

ALL = {
    "intensity": True,
    "edges": True,
    "hessian": True,
    "log": True,
    "dog": True,
    "structure_tensor": True,
    "gabor": True,
}
NONE = dict.fromkeys(ALL, False)


def only(family: str, **settings) -> FeatureSettings:
    """Settings with one feature family on."""
    return FeatureSettings(**{**NONE, family: True}, **settings)


def _col(features, settings, name, n_channels=1):
    return features[..., feature_names(settings, n_channels).index(name)]


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(1)
    img = ndi.gaussian_filter(rng.random((90, 110)), 1.5).astype(np.float32) * 4
    img[30:60, 40:80] += 0.5
    return img


def _reference_2d(img, sigma):
    """The features computed the plain (slow) way with scipy and numpy."""
    g = ndi.gaussian_filter(img.astype(np.float64), sigma, mode="reflect", truncate=4.0)
    gy, gx = np.gradient(g)
    hyy, hyx, hxx = np.gradient(gy, axis=0), np.gradient(gy, axis=1), np.gradient(gx, axis=1)
    tensor = [
        ndi.gaussian_filter(a * b, sigma / 2, mode="reflect", truncate=4.0)
        for a, b in ((gy, gy), (gy, gx), (gx, gx))
    ]
    return {
        "gaussian": g,
        "gradient_magnitude": np.hypot(gy, gx),
        "hessian_eig": hessian_matrix_eigvals([hyy, hyx, hxx]),
        "laplacian": hyy + hxx,
        "dog": g - ndi.gaussian_filter(img.astype(np.float64), 1.6 * sigma, truncate=4.0),
        "structure_eig": hessian_matrix_eigvals(tensor),
    }


@pytest.mark.parametrize("sigma", [0.5, 1.0, 3.0])
def test_features_match_scipy_and_skimage_2d(image, sigma):
    settings = FeatureSettings(sigmas=(sigma,), **ALL)
    feats = compute_features(image, settings)
    ref = _reference_2d(image, sigma)
    scale = np.abs(image).max()
    tag = f"s{sigma:g}"
    for name in ("gaussian", "gradient_magnitude", "laplacian", "dog"):
        np.testing.assert_allclose(
            _col(feats, settings, f"{name}_{tag}"), ref[name], atol=2e-5 * scale, err_msg=name
        )
    for i in range(2):
        np.testing.assert_allclose(
            _col(feats, settings, f"hessian_eig{i + 1}_{tag}"),
            ref["hessian_eig"][i],
            atol=2e-5 * scale,
        )
        np.testing.assert_allclose(
            _col(feats, settings, f"structure_eig{i + 1}_{tag}"),
            ref["structure_eig"][i],
            atol=2e-5 * scale**2,
        )


def test_gabor_matches_direct_complex_convolution(image):
    sigma = 2.0
    settings = only("gabor", sigmas=(sigma,))
    feats = compute_features(image, settings)
    radius = int(4 * sigma + 0.5)
    u = np.arange(-radius, radius + 1)
    g = np.exp(-0.5 * (u / sigma) ** 2)
    g /= g.sum()
    wavelength = max(3 * sigma, 3)
    for angle in (0, 45, 90, 135):
        theta = np.deg2rad(angle)
        ky = 2 * np.pi / wavelength * np.sin(theta)
        kx = 2 * np.pi / wavelength * np.cos(theta)
        kernel = np.outer(g, g) * np.exp(1j * (ky * u[:, None] + kx * u[None, :]))
        real = ndi.convolve(image.astype(float), kernel.real, mode="reflect")
        imag = ndi.convolve(image.astype(float), kernel.imag, mode="reflect")
        np.testing.assert_allclose(
            _col(feats, settings, f"gabor_{angle}_s2"), np.hypot(real, imag), atol=1e-5
        )


def test_3d_features_and_anisotropic_spacing():
    rng = np.random.default_rng(2)
    vol = ndi.gaussian_filter(rng.random((12, 40, 36)), 1).astype(np.float32)
    settings = FeatureSettings(sigmas=(2.0,), mode="3d", spacing=(4.0, 1.0, 1.0), log=True)
    feats = compute_features(vol, settings)
    assert feats.shape == (12, 40, 36, len(feature_names(settings)))
    assert feature_names(settings)[:5] == [
        "gaussian_s2",
        "gradient_magnitude_s2",
        "hessian_eig1_s2",
        "hessian_eig2_s2",
        "hessian_eig3_s2",
    ]
    # The scale shrinks along the coarse axis; derivatives are per physical unit.
    g = ndi.gaussian_filter(vol.astype(float), (0.5, 2.0, 2.0), truncate=4.0)
    np.testing.assert_allclose(_col(feats, settings, "gaussian_s2"), g, atol=1e-5)
    grads = np.gradient(g, 4.0, 1.0, 1.0)
    hess = [
        np.gradient(grads[i], (4.0, 1.0, 1.0)[j], axis=j) for i in range(3) for j in range(i, 3)
    ]
    eig = hessian_matrix_eigvals(hess)
    for i in range(3):
        np.testing.assert_allclose(
            _col(feats, settings, f"hessian_eig{i + 1}_s2"), eig[i], atol=1e-5
        )
    np.testing.assert_allclose(
        _col(feats, settings, "laplacian_s2"), hess[0] + hess[3] + hess[5], atol=1e-5
    )


def test_2d_mode_filters_each_plane_of_a_stack(image):
    stack = np.stack([image, image[::-1].copy(), 2 * image])
    settings = FeatureSettings(sigmas=(1, 2))
    feats = compute_features(stack, settings)
    for z in range(3):
        np.testing.assert_array_equal(feats[z], compute_features(stack[z], settings))


def test_tiles_give_the_same_features_as_the_whole_image(image, monkeypatch):
    settings = FeatureSettings(sigmas=(1, 4), **ALL)
    whole = compute_features(image, settings)
    monkeypatch.setattr(tiles_module, "_STRIP_VOXELS", 64)  # strips of 32 rows
    assert len(tiles_module.strips(image.shape, 40)[1]) == 3
    tiled = compute_features(image, settings)
    np.testing.assert_allclose(tiled, whole, atol=1e-6)


def test_mask_computes_only_the_masked_pixels_with_the_same_values(image):
    settings = FeatureSettings(sigmas=(1, 8), dog=True, structure_tensor=True)
    mask = np.zeros(image.shape, bool)
    mask[5:9, 3:20] = True
    mask[70, 100:] = True
    whole = compute_features(image, settings)
    rows = compute_features(image, settings, mask=mask)
    assert rows.shape == (mask.sum(), whole.shape[-1])
    np.testing.assert_allclose(rows, whole[mask], atol=1e-6)


def test_channels_get_their_own_features(image):
    rgb = np.stack([image, 1 - image, image**2], axis=-1)
    settings = FeatureSettings(sigmas=(1, 2), luminance=False)
    names = feature_names(settings, 3)
    feats = compute_features(rgb, settings, channel_axis=-1)
    assert feats.shape == (*image.shape, 3 * len(feature_names(settings)))
    assert names[0] == "ch0_gaussian_s1" and names[-1].startswith("ch2_")
    per_channel = len(feature_names(settings))
    for c in range(3):
        np.testing.assert_array_equal(
            feats[..., c * per_channel : (c + 1) * per_channel],
            compute_features(rgb[..., c], settings),
        )
    channels_first = compute_features(np.moveaxis(rgb, -1, 0), settings, channel_axis=0)
    np.testing.assert_array_equal(channels_first, feats)


@pytest.fixture(scope="module")
def rgb(image):
    """An 8-bit RGB image whose channels differ (values 0-255, not rescaled to 0-1)."""
    channels = [image, image.max() - image, image**2]
    return np.stack([np.rint(255 * c / c.max()) for c in channels], axis=-1).astype(np.uint8)


def test_rgb_gets_the_features_of_its_luminance(rgb):
    from skimage.color import rgb2gray

    settings = FeatureSettings(sigmas=(1, 2))
    assert settings.luminance  # the default
    per_channel = len(feature_names(settings))
    names = feature_names(settings, 3)
    assert len(names) == 4 * per_channel
    assert names[3 * per_channel - 1].startswith("ch2_")
    assert names[3 * per_channel :] == [f"grey_{name}" for name in feature_names(settings)]
    feats = compute_features(rgb, settings, channel_axis=-1)
    assert feats.shape == (*rgb.shape[:2], 4 * per_channel)
    grey = rgb2gray(rgb.astype(np.float32))  # the channels' values: 0.2125 R + ...
    assert 50 < grey.max() <= 255
    for sigma in settings.sigmas:
        smoothed = ndi.gaussian_filter(grey.astype(np.float64), sigma, truncate=4.0)
        np.testing.assert_allclose(
            _col(feats, settings, f"grey_gaussian_s{sigma:g}", 3), smoothed, atol=2e-5 * 255
        )
    # The channels' own features are those without the luminance; a channel axis first gives
    # the same features.
    alone = compute_features(rgb, FeatureSettings(sigmas=(1, 2), luminance=False), channel_axis=-1)
    np.testing.assert_array_equal(feats[..., : 3 * per_channel], alone)
    first = compute_features(np.moveaxis(rgb, -1, 0), settings, channel_axis=0)
    np.testing.assert_array_equal(first, feats)


def test_luminance_off_gives_the_features_of_the_channels_alone(rgb):
    settings = FeatureSettings(sigmas=(1, 2), luminance=False)
    names = feature_names(settings, 3)
    assert len(names) == 3 * len(feature_names(settings)) and names[-1].startswith("ch2_")
    feats = compute_features(rgb, settings, channel_axis=-1)
    per_channel = len(feature_names(settings))
    for c in range(3):
        np.testing.assert_array_equal(
            feats[..., c * per_channel : (c + 1) * per_channel],
            compute_features(rgb[..., c], settings),
        )


@pytest.mark.parametrize("n_channels", [1, 2, 4])
def test_luminance_leaves_other_channel_counts_alone(image, n_channels):
    stack = np.stack([image * (c + 1) for c in range(n_channels)], axis=-1)
    on, off = FeatureSettings(sigmas=(1, 2)), FeatureSettings(sigmas=(1, 2), luminance=False)
    assert feature_names(on, n_channels) == feature_names(off, n_channels)
    assert not any(name.startswith("grey_") for name in feature_names(on, n_channels))
    axis = None if n_channels == 1 else -1
    data = image if n_channels == 1 else stack
    np.testing.assert_array_equal(
        compute_features(data, on, channel_axis=axis),
        compute_features(data, off, channel_axis=axis),
    )


def test_luminance_features_of_tiles_and_masks_equal_the_whole_image(rgb, monkeypatch):
    settings = FeatureSettings(sigmas=(1, 4), structure_tensor=True)
    whole = compute_features(rgb, settings, channel_axis=-1)
    assert whole.shape[-1] == 4 * len(feature_names(settings))  # R, G, B and luminance
    mask = np.zeros(rgb.shape[:2], bool)
    mask[5:9, 3:20] = True
    mask[70, 100:] = True
    rows = compute_features(rgb, settings, channel_axis=-1, mask=mask)
    np.testing.assert_array_equal(rows, whole[mask])
    monkeypatch.setattr(tiles_module, "_STRIP_VOXELS", 64)  # strips of 32 rows
    np.testing.assert_array_equal(compute_features(rgb, settings, channel_axis=-1), whole)


def test_settings_without_luminance_load_with_it_off():
    data = FeatureSettings().to_dict()
    assert data["luminance"] is True
    assert FeatureSettings.from_dict(data) == FeatureSettings()
    del data["luminance"]  # as written before the option existed
    old = FeatureSettings.from_dict(data)
    assert old.luminance is False
    assert old == FeatureSettings(luminance=False)
    channels = [n for n in feature_names(FeatureSettings(), 3) if not n.startswith("grey_")]
    assert feature_names(old, 3) == channels
    with pytest.raises(SegLabInputError, match="True or False"):
        FeatureSettings(luminance="yes")


def test_settings_round_trip_and_validation():
    settings = FeatureSettings(sigmas=[4, 1, 1], gabor=True, mode="3D", spacing=(2, 1, 1))
    assert settings.sigmas == (1.0, 4.0)
    assert settings.mode == "3d"
    data = settings.to_dict()
    assert FeatureSettings.from_dict(data) == settings
    import json

    assert FeatureSettings.from_dict(json.loads(json.dumps(data))) == settings
    with pytest.raises(SegLabInputError, match="Unknown feature setting"):
        FeatureSettings.from_dict({**data, "wavelets": True})
    with pytest.raises(SegLabInputError, match="at least one feature family"):
        FeatureSettings(**NONE)
    with pytest.raises(SegLabInputError, match=r"between 0\.3 and 64"):
        FeatureSettings(sigmas=(0.1,))
    with pytest.raises(SegLabInputError, match="needs 2 spacing values"):
        FeatureSettings(spacing=(1, 1, 1))
    with pytest.raises(SegLabInputError, match='"2d" or "3d"'):
        FeatureSettings(mode="4d")
    with pytest.raises(SegLabInputError, match="True or False"):
        FeatureSettings(log="yes")


def test_bad_images_are_refused(image):
    bad = image.copy()
    bad[3, 4] = np.nan
    with pytest.raises(SegLabInputError, match="NaN"):
        compute_features(bad)
    with pytest.raises(SegLabInputError, match="at least 3 spatial axes"):
        compute_features(image, FeatureSettings(mode="3d"))
    with pytest.raises(SegLabInputError, match="mask has shape"):
        compute_features(image, mask=np.ones((3, 3), bool))
    with pytest.raises(SegLabInputError, match="channel_axis=5"):
        compute_features(image, channel_axis=5)


def test_the_one_3x3_eigenvalue_solver_matches_numpy_also_near_diagonal():
    from napari_seglab.core.classifier._derivatives import eigvalsh3

    rng = np.random.default_rng(1)
    diagonal = rng.normal(size=(6000, 3))
    diagonal[::3, 1] = diagonal[::3, 0]  # repeated eigenvalues
    off = (
        rng.normal(size=(6000, 3)) * np.repeat([1.0, 1e-3, 1e-5, 1e-8, 1e-12, 0.0], 1000)[:, None]
    )
    matrices = np.zeros((6000, 3, 3))
    matrices[:, [0, 1, 2], [0, 1, 2]] = diagonal
    for (i, j), column in zip([(0, 1), (0, 2), (1, 2)], off.T, strict=True):
        matrices[:, i, j] = matrices[:, j, i] = column
    matrices = matrices.astype(np.float32)
    parts = [np.ascontiguousarray(matrices[:, i, j]) for i, j in [(0, 0), (0, 1), (0, 2)]]
    parts += [np.ascontiguousarray(matrices[:, i, j]) for i, j in [(1, 1), (1, 2), (2, 2)]]
    outs = [np.empty(6000, np.float32) for _ in range(3)]
    eigvalsh3(*parts, *outs)
    expected = np.linalg.eigvalsh(matrices.astype(np.float64))[:, ::-1]
    scale = np.abs(expected).max(axis=1, keepdims=True)
    error = np.abs(np.stack(outs, axis=1) - expected) / np.maximum(scale, 1e-30)
    np.testing.assert_array_less(error, 1e-6)


def test_3d_structure_tensor_eigenvalues_match_numpy(image):
    vol = np.stack([image[:40, :48], image[10:50, 5:53], image[20:60, 10:58]]).astype(float)
    settings = only("structure_tensor", sigmas=(1,), mode="3d")
    feats = compute_features(vol, settings)
    smooth = ndi.gaussian_filter(vol.astype(np.float32), 1.0, mode="reflect", truncate=4.0)
    grads = np.gradient(smooth)
    tensor = np.empty((*vol.shape, 3, 3))
    for i in range(3):
        for j in range(3):
            tensor[..., i, j] = ndi.gaussian_filter(
                grads[i] * grads[j], 0.5, mode="reflect", truncate=4.0
            )
    expected = np.linalg.eigvalsh(tensor)[..., ::-1]
    scale = np.abs(expected).max()
    np.testing.assert_allclose(feats, expected, atol=2e-5 * scale)


def _structure_reference(img, sigma, spacing):
    """Structure-tensor eigenvalues the plain way: scipy smoothing, np.gradient, numpy eig."""
    spacing = np.asarray(spacing, float)
    sig = sigma / (spacing / spacing.min())
    g = ndi.gaussian_filter(img.astype(np.float64), sig, mode="reflect", truncate=4.0)
    grads = np.gradient(g, *spacing)
    tensor = np.empty((*img.shape, img.ndim, img.ndim))
    for i in range(img.ndim):
        for j in range(img.ndim):
            tensor[..., i, j] = ndi.gaussian_filter(
                grads[i] * grads[j], sig / 2, mode="reflect", truncate=4.0
            )
    return np.linalg.eigvalsh(tensor)[..., ::-1]


@pytest.mark.parametrize(
    ("mode", "sigma", "spacing"),
    [("2d", 1.0, (1.0, 2.5)), ("2d", 3.0, (2.0, 1.0)), ("3d", 1.5, (2.0, 1.0, 1.0))],
)
def test_structure_tensor_with_anisotropic_spacing_matches_scipy(image, mode, sigma, spacing):
    data = image if mode == "2d" else np.stack([image[:, :60], image[::-1, 20:80], image[:, 50:]])
    settings = only("structure_tensor", sigmas=(sigma,), mode=mode, spacing=spacing)
    feats = compute_features(data, settings)
    expected = _structure_reference(data, sigma, spacing)
    np.testing.assert_allclose(feats, expected, atol=2e-5 * np.abs(expected).max())
