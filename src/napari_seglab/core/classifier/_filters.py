"""The filters behind the features: Gaussian smoothing, derivatives, tensors and Gabor.

Each function works on one float32 block of one channel (the filtered axes only) and writes
the features of one scale, in the order of :func:`~.features.feature_names`. The compiled
kernels (:mod:`._correlate`, :mod:`._derivatives`) are imported on first use: numba takes
about half a second to import.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .features import FeatureSettings

__all__ = ["DOG_RATIO", "GABOR_ANGLES", "STRUCTURE_OUTER", "TRUNCATE", "radius"]

TRUNCATE = 4.0
"""Gaussian kernels reach ``TRUNCATE * sigma`` pixels (rounded), as in scipy.ndimage."""
DOG_RATIO = 1.6
"""The difference of Gaussians is ``G(sigma) - G(DOG_RATIO * sigma)``."""
STRUCTURE_OUTER = 0.5
"""The structure tensor averages gradient products over ``STRUCTURE_OUTER * sigma``."""
GABOR_ANGLES: tuple[int, ...] = (0, 45, 90, 135)
"""Orientations of the Gabor filters, in degrees."""


def radius(sigma: float) -> int:
    """Radius in pixels of the Gaussian kernel of standard deviation `sigma`."""
    return int(TRUNCATE * float(sigma) + 0.5)


def _gaussian_half_weights(sigma: float) -> np.ndarray:
    x = np.arange(radius(sigma) + 1, dtype=float)
    phi = np.exp(-0.5 * (x / sigma) ** 2)
    phi /= phi[0] + 2 * phi[1:].sum()
    return phi


def smooth(
    data: np.ndarray,
    sigmas: Sequence[float],
    axes: Sequence[int],
    keep: Sequence[tuple[int, int]] | None = None,
) -> np.ndarray:
    """Separable Gaussian; with `keep`, only those (start, stop) ranges of each axis."""
    from ._correlate import correlate_axis

    out = data
    for i, (sigma, axis) in enumerate(zip(sigmas, axes, strict=True)):
        out = correlate_axis(
            out,
            _gaussian_half_weights(sigma),
            axis=axis,
            symmetric=True,
            keep=None if keep is None else keep[i],
        )
    return out


def _gabor_magnitude(
    data: np.ndarray, sigma_yx: Sequence[float], angle: float, wavelength: float
) -> np.ndarray:
    """Magnitude of a separable complex Gabor filter over the last two axes."""
    from ._correlate import correlate_axis

    theta = math.radians(angle)
    k_y = 2 * math.pi / wavelength * math.sin(theta)
    k_x = 2 * math.pi / wavelength * math.cos(theta)

    def filt(src: np.ndarray, sigma: float, k: float, axis: int) -> tuple[np.ndarray, ...]:
        # Convolution with g(u) exp(i k u): real part symmetric, imaginary part antisymmetric
        # (our antisymmetric convention is sum w_k (x[i+k] - x[i-k]) = conv with -w_k sin).
        g = _gaussian_half_weights(sigma)
        u = np.arange(g.size)
        real = correlate_axis(src, g * np.cos(k * u), axis=axis, symmetric=True)
        if k == 0:
            return real, None
        weights = -g * np.sin(k * u)
        weights[0] = 0.0
        imag = correlate_axis(src, weights, axis=axis, symmetric=False)
        return real, imag

    yr, yi = filt(data, sigma_yx[0], k_y, data.ndim - 2)
    rr, ri = filt(yr, sigma_yx[1], k_x, data.ndim - 1)
    real, imag = rr, ri if ri is not None else np.zeros_like(rr)
    if yi is not None:
        ir, ii = filt(yi, sigma_yx[1], k_x, data.ndim - 1)
        if ii is not None:
            real = real - ii
        imag = imag + ir
    return np.sqrt(real * real + imag * imag)


def _eigenvalues_3d(elements: np.ndarray, out: np.ndarray) -> None:
    """Eigenvalues of symmetric 3 x 3 matrices, largest first, into the C-contiguous planes `out`.

    `elements` holds the upper triangle row by row: (6, ...).
    """
    from ._derivatives import eigvalsh3

    if not all(plane.flags.c_contiguous for plane in out):
        raise ValueError("The eigenvalues' output planes must be C-contiguous.")
    flat = [np.ascontiguousarray(e).reshape(-1) for e in elements]
    eigvalsh3(*flat, *(plane.reshape(-1) for plane in out))


def _derivative_planes(
    smoothed: np.ndarray,
    settings: FeatureSettings,
    inner: tuple[slice, ...],
    out: np.ndarray,
    index: int,
) -> int:
    """Gradient magnitude, Hessian eigenvalues and Laplacian into `out` from plane `index`."""
    from ._derivatives import derivative_features

    ndim = settings.ndim
    i_grad = i_hess = i_log = -1
    if settings.edges:
        i_grad, index = index, index + 1
    if settings.hessian:
        i_hess, index = index, index + ndim
    if settings.log:
        i_log, index = index, index + 1
    inv_spacing = np.ones(3)
    inv_spacing[3 - ndim :] = 1.0 / settings._spacing()
    origin = np.zeros(3, np.int64)
    origin[3 - ndim :] = [c.start for c in inner]
    out3 = out.reshape(out.shape[0], *(1,) * (4 - out.ndim), *out.shape[1:])
    derivative_features(
        smoothed.reshape((1,) * (3 - ndim) + smoothed.shape),
        inv_spacing,
        ndim == 3,
        origin,
        out3,
        i_grad,
        i_hess,
        i_log,
    )
    return index


def _structure_tensor(
    smoothed: np.ndarray,
    sig: np.ndarray,
    settings: FeatureSettings,
    inner: tuple[slice, ...],
    out: np.ndarray,
) -> None:
    """Eigenvalues of the structure tensor over `inner` of `smoothed`, largest first, to `out`.

    The gradients (np.gradient's, of the image smoothed at ``sigma``) are multiplied where the
    outer Gaussian needs them, ``radius(STRUCTURE_OUTER * sigma)`` around `inner` (`smoothed`
    holds one more pixel for the differences, or ends at the image's edge), and the products
    are smoothed with that Gaussian and cropped to `inner` in the same passes.
    """
    from ._correlate import correlate_axis, reflect_index
    from ._derivatives import gradient_products, structure_tensor_2d

    ndim = settings.ndim
    outer = STRUCTURE_OUTER * sig
    box = [
        slice(max(0, c.start - radius(s)), min(n, c.stop + radius(s)))
        for c, s, n in zip(inner, outer, smoothed.shape, strict=True)
    ]
    inv_spacing = np.ones(3)
    inv_spacing[3 - ndim :] = 1.0 / settings._spacing()
    if ndim == 2:
        # One fused pass: each task forms the gradient products of its rows' window in a ring
        # of rows and smooths them along both axes straight into the eigenvalues.
        import numba

        weights = [_gaussian_half_weights(s).astype(np.float32) for s in outer]
        rows = inner[0].stop - inner[0].start
        structure_tensor_2d(
            smoothed,
            inv_spacing,
            np.array([box[0].start, box[0].stop, box[1].start, box[1].stop], np.int64),
            np.array([c for sl in inner for c in (sl.start, sl.stop)], np.int64),
            *weights,
            *(
                reflect_index(b.stop - b.start, w.size - 1)
                for b, w in zip(box, weights, strict=True)
            ),
            max(16, -(-rows // (2 * numba.get_num_threads()))),
            out[0],
            out[1],
        )
        return
    # 3D: the six gradient products of the box, smoothed along each axis in turn.
    products = np.empty((6, *(b.stop - b.start for b in box)), np.float32)
    origin = np.array([b.start for b in box], np.int64)
    gradient_products(smoothed, inv_spacing, True, origin, products)
    for axis in range(ndim):
        keep = (inner[axis].start - box[axis].start, inner[axis].stop - box[axis].start)
        products = correlate_axis(
            products,
            _gaussian_half_weights(outer[axis]),
            axis=axis + 1,
            symmetric=True,
            keep=keep,
        )
    _eigenvalues_3d(products, out)


def sigma_features(
    block: np.ndarray,
    sigma: float,
    settings: FeatureSettings,
    out: np.ndarray,
    first: int,
    crop: tuple[slice, ...],
    first_axis: int = 0,
) -> None:
    """Features of one channel at one scale: computed on `block`, cropped into `out`.

    `out` is (F, *region) and receives planes ``first, first + 1, ...`` in name order.
    """
    ndim = settings.ndim
    axes = list(range(ndim))
    sig = settings._sigmas_per_axis(sigma)
    # Smooth only the region plus the 2 pixels the finite differences need (the structure
    # tensor: ``1 + radius(STRUCTURE_OUTER * sigma)``): each 1D pass drops the halo of its
    # axis as soon as it has served.
    differentiate = settings.edges or settings.hessian or settings.log
    margin = np.full(ndim, 2 if differentiate else 0)
    if settings.structure_tensor:
        reach = [1 + radius(STRUCTURE_OUTER * s) for s in sig]
        margin = np.maximum(margin, reach)
    keep = [
        (max(0, c.start - int(m)), min(n, c.stop + int(m)))
        for c, m, n in zip(crop, margin, block.shape, strict=True)
    ]
    # Filter first along the axis the image is cut into strips along (the longest non-last
    # one, as in :func:`strip_axis`): its halo is the largest and is dropped right away.
    order = sorted(axes, key=lambda a: a != first_axis)
    smoothed = smooth(block, sig[order], order, [keep[a] for a in order])
    inner = tuple(slice(c.start - k[0], c.stop - k[0]) for c, k in zip(crop, keep, strict=True))
    index = first
    if settings.intensity:
        out[index] = smoothed[inner]
        index += 1
    if differentiate:
        index = _derivative_planes(smoothed, settings, inner, out, index)
    if settings.dog:
        wide = smooth(block, DOG_RATIO * sig, axes, [(c.start, c.stop) for c in crop])
        out[index] = smoothed[inner] - wide
        index += 1
    if settings.structure_tensor:
        _structure_tensor(smoothed, sig, settings, inner, out[index : index + ndim])
        index += ndim
    if settings.gabor:
        plane = smooth(block, sig[:1], [0]) if ndim == 3 else block
        wavelength = max(3.0 * sigma, 3.0)
        for angle in GABOR_ANGLES:
            out[index] = _gabor_magnitude(plane, sig[-2:], angle, wavelength)[crop]
            index += 1


def strip_axis(shape: Sequence[int]) -> int:
    """The axis tiles cut along: the longest but the last (contiguous) one."""
    return int(np.argmax(shape[:-1]))


def region_features(
    source: np.ndarray,
    settings: FeatureSettings,
    region: Sequence[slice],
    out: np.ndarray,
) -> None:
    """Features of `region` of `source` (C, *filtered axes) into `out` (F, *region shape).

    With 3 channels and ``settings.luminance``, the luminance (:func:`luminance`) of each
    block gets its features after those of the channels.
    """
    n_channels = source.shape[0]
    grey = settings._adds_luminance(n_channels)
    spatial = source.shape[1:]
    per_sigma = len(settings._components())
    per_channel = per_sigma * len(settings.sigmas)
    first_axis = strip_axis(spatial)
    for s_index, sigma in enumerate(settings.sigmas):
        halo = settings.halo(sigma)
        block_slices = []
        crop = []
        for sl, h, n in zip(region, halo, spatial, strict=True):
            lo = max(0, sl.start - h)
            hi = min(n, sl.stop + h)
            block_slices.append(slice(lo, hi))
            crop.append(slice(sl.start - lo, sl.stop - lo))
        planes = [source[(channel, *block_slices)] for channel in range(n_channels)]
        if grey:
            planes.append(luminance(source[(slice(None), *block_slices)]))
        for channel, plane in enumerate(planes):
            block = np.ascontiguousarray(plane, dtype=np.float32)
            first = channel * per_channel + s_index * per_sigma
            sigma_features(block, sigma, settings, out, first, tuple(crop), first_axis)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Luminance (*spatial) of channels (3, *spatial), as ``skimage.color.rgb2gray``.

    Computed in float32 from the channels' values (not rescaled as integer images would be
    by rgb2gray): ``0.2125 R + 0.7154 G + 0.0721 B``. Each pixel's value depends on its own
    channels only, so a block gives the whole image's values bit for bit.
    """
    from skimage.color import rgb2gray

    return rgb2gray(np.asarray(rgb, dtype=np.float32), channel_axis=0)
