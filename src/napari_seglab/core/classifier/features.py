"""Multiscale pixel features for the pixel classifier.

For each channel and each scale ``sigma`` the image is smoothed once with a separable Gaussian
(float32, scipy.ndimage's "reflect" boundary, kernel radius ``4 sigma``); every chosen feature
family is then derived from that smoothed image, as in scikit-image's
:func:`skimage.feature.multiscale_basic_features`:

========================= =================================================================
``intensity``             the smoothed image
``edges``                 gradient magnitude (central differences of the smoothed image)
``hessian``               eigenvalues of the Hessian (texture, ridges, blobs), largest first
``log``                   Laplacian of Gaussian (trace of the Hessian)
``dog``                   difference of Gaussians, ``G(sigma) - G(1.6 sigma)``
``structure_tensor``      eigenvalues of the structure tensor (gradients at ``sigma``,
                          averaged over ``sigma / 2``), largest first
``gabor``                 magnitude of Gabor filters at 0, 45, 90 and 135 degrees in the plane
                          of the last two axes (Gaussian envelope ``sigma``, wavelength
                          ``max(3 sigma, 3)`` pixels)
========================= =================================================================

Features are computed tile by tile with the halo each scale needs, so a tile gives exactly
the values the whole image would, memory stays bounded, and training only computes features
around the painted pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .._validation import SegLabInputError

__all__ = ["FAMILIES", "FeatureSettings", "compute_features", "feature_names"]

FAMILIES: tuple[str, ...] = (
    "intensity",
    "edges",
    "hessian",
    "log",
    "dog",
    "structure_tensor",
    "gabor",
)
"""The feature families, in the order their features appear."""

TRUNCATE = 4.0
DOG_RATIO = 1.6
STRUCTURE_OUTER = 0.5
GABOR_ANGLES: tuple[int, ...] = (0, 45, 90, 135)
_STRIP_VOXELS = 1 << 19


@dataclass(frozen=True)
class FeatureSettings:
    """Which features a pixel classifier computes, at which scales, in 2D or 3D.

    Parameters
    ----------
    sigmas : sequence of float
        Scales (Gaussian standard deviations, in pixels of the finest axis), sorted and
        de-duplicated. Between 0.3 and 64.
    intensity, edges, hessian, log, dog, structure_tensor, gabor : bool
        The feature families to compute (see :mod:`napari_seglab.core.classifier.features`).
        At least one must be on.
    mode : {"2d", "3d"}
        ``"2d"`` filters each plane of the last two axes on its own (stacks and time-lapses
        are treated plane by plane); ``"3d"`` filters the last three axes together.
    spacing : sequence of float, optional
        Pixel size along the filtered axes (2 values in 2D, 3 in 3D), e.g. the napari layer's
        ``scale[-2:]`` or ``scale[-3:]``. Scales are shrunk along coarser axes and derivatives
        are taken in physical units. ``None`` means isotropic.

    Examples
    --------
    >>> settings = FeatureSettings(sigmas=(1, 4), log=True)
    >>> settings.sigmas
    (1.0, 4.0)
    >>> FeatureSettings.from_dict(settings.to_dict()) == settings
    True
    """

    sigmas: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
    intensity: bool = True
    edges: bool = True
    hessian: bool = True
    log: bool = False
    dog: bool = False
    structure_tensor: bool = False
    gabor: bool = False
    mode: str = "2d"
    spacing: tuple[float, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        try:
            sigmas = sorted({float(s) for s in np.atleast_1d(np.asarray(self.sigmas, float))})
        except (TypeError, ValueError):
            raise SegLabInputError(
                f"Feature scales must be numbers, not {self.sigmas!r}."
            ) from None
        if not sigmas:
            raise SegLabInputError("Choose at least one feature scale (sigma).")
        bad = [s for s in sigmas if not (0.3 <= s <= 64)]
        if bad:
            raise SegLabInputError(
                f"Feature scales must lie between 0.3 and 64 pixels; got {bad}."
            )
        object.__setattr__(self, "sigmas", tuple(sigmas))
        for family in FAMILIES:
            value = getattr(self, family)
            if not isinstance(value, bool | np.bool_):
                raise SegLabInputError(f"`{family}` must be True or False, not {value!r}.")
            object.__setattr__(self, family, bool(value))
        if not any(getattr(self, family) for family in FAMILIES):
            raise SegLabInputError(
                "Choose at least one feature family (e.g. intensity, edges, hessian)."
            )
        mode = str(self.mode).lower()
        if mode not in ("2d", "3d"):
            raise SegLabInputError(f'The feature mode must be "2d" or "3d", not {self.mode!r}.')
        object.__setattr__(self, "mode", mode)
        if self.spacing is not None:
            try:
                spacing = tuple(float(s) for s in np.atleast_1d(self.spacing))
            except (TypeError, ValueError):
                raise SegLabInputError(
                    f"The spacing must be numbers, not {self.spacing!r}."
                ) from None
            if len(spacing) != self.ndim:
                raise SegLabInputError(
                    f"Mode {mode!r} needs {self.ndim} spacing values (one per filtered axis), "
                    f"not {len(spacing)}: {spacing}."
                )
            if not all(math.isfinite(s) and s > 0 for s in spacing):
                raise SegLabInputError(f"Spacing values must be positive, not {spacing}.")
            object.__setattr__(self, "spacing", spacing)

    @property
    def ndim(self) -> int:
        """Number of axes filtered together: 2 or 3."""
        return 3 if self.mode == "3d" else 2

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (JSON-ready) that :meth:`from_dict` turns back into settings."""
        out = asdict(self)
        out["sigmas"] = list(self.sigmas)
        out["spacing"] = None if self.spacing is None else list(self.spacing)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSettings:
        """Settings from a dictionary written by :meth:`to_dict`; unknown keys are refused."""
        if not isinstance(data, Mapping):
            raise SegLabInputError("Feature settings must be a dictionary.")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SegLabInputError(
                f"Unknown feature setting(s) {unknown}; known ones are {sorted(known)}. "
                "The file may come from a newer napari-seglab."
            )
        return cls(**data)

    def _spacing(self) -> np.ndarray:
        """Relative pixel size per filtered axis (the finest axis is 1)."""
        if self.spacing is None:
            return np.ones(self.ndim)
        spacing = np.asarray(self.spacing, float)
        return spacing / spacing.min()

    def _sigmas_per_axis(self, sigma: float) -> np.ndarray:
        return sigma / self._spacing()

    def halo(self, sigma: float) -> np.ndarray:
        """Pixels of context each filtered axis needs for exact features at scale `sigma`."""
        sig = self._sigmas_per_axis(sigma)
        halo = np.array([_radius(s) for s in sig]) + 2
        if self.dog:
            halo = np.maximum(halo, [_radius(DOG_RATIO * s) for s in sig])
        if self.structure_tensor:
            outer = [_radius(s) + 1 + _radius(STRUCTURE_OUTER * s) for s in sig]
            halo = np.maximum(halo, outer)
        return halo.astype(int)


def _radius(sigma: float) -> int:
    return int(TRUNCATE * float(sigma) + 0.5)


def _family_components(family: str, ndim: int) -> list[str]:
    if family == "intensity":
        return ["gaussian"]
    if family == "edges":
        return ["gradient_magnitude"]
    if family == "hessian":
        return [f"hessian_eig{i + 1}" for i in range(ndim)]
    if family == "log":
        return ["laplacian"]
    if family == "dog":
        return ["dog"]
    if family == "structure_tensor":
        return [f"structure_eig{i + 1}" for i in range(ndim)]
    return [f"gabor_{angle}" for angle in GABOR_ANGLES]


def _per_sigma_names(settings: FeatureSettings) -> list[str]:
    names: list[str] = []
    for family in FAMILIES:
        if getattr(settings, family):
            names.extend(_family_components(family, settings.ndim))
    return names


def feature_names(settings: FeatureSettings, n_channels: int = 1) -> list[str]:
    """Names of the features :func:`compute_features` returns, in order.

    Parameters
    ----------
    settings : FeatureSettings
    n_channels : int
        Number of image channels; with more than one, names start with ``ch<i>_``.

    Returns
    -------
    list of str
        ``<component>_s<sigma>``, ordered by channel, then scale, then family.

    Examples
    --------
    >>> feature_names(FeatureSettings(sigmas=(1,), hessian=False))
    ['gaussian_s1', 'gradient_magnitude_s1']
    """
    per_sigma = _per_sigma_names(settings)
    names = []
    for channel in range(int(n_channels)):
        prefix = f"ch{channel}_" if n_channels > 1 else ""
        for sigma in settings.sigmas:
            names.extend(f"{prefix}{name}_s{sigma:g}" for name in per_sigma)
    return names


# --- filtering --------------------------------------------------------------------------------


def _gaussian_half_weights(sigma: float) -> np.ndarray:
    radius = _radius(sigma)
    x = np.arange(radius + 1, dtype=float)
    phi = np.exp(-0.5 * (x / sigma) ** 2)
    phi /= phi[0] + 2 * phi[1:].sum()
    return phi


def _smooth(
    data: np.ndarray,
    sigmas: Sequence[float],
    axes: Sequence[int],
    keep: Sequence[tuple[int, int]] | None = None,
) -> np.ndarray:
    """Separable Gaussian; with `keep`, only those (start, stop) ranges of each axis."""
    from . import _kernels

    out = data
    for i, (sigma, axis) in enumerate(zip(sigmas, axes, strict=True)):
        out = _kernels.correlate_axis(
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
    from . import _kernels

    theta = math.radians(angle)
    k_y = 2 * math.pi / wavelength * math.sin(theta)
    k_x = 2 * math.pi / wavelength * math.cos(theta)

    def filt(src: np.ndarray, sigma: float, k: float, axis: int) -> tuple[np.ndarray, ...]:
        # Convolution with g(u) exp(i k u): real part symmetric, imaginary part antisymmetric
        # (our antisymmetric convention is sum w_k (x[i+k] - x[i-k]) = conv with -w_k sin).
        g = _gaussian_half_weights(sigma)
        u = np.arange(g.size)
        real = _kernels.correlate_axis(src, g * np.cos(k * u), axis=axis, symmetric=True)
        if k == 0:
            return real, None
        weights = -g * np.sin(k * u)
        weights[0] = 0.0
        imag = _kernels.correlate_axis(src, weights, axis=axis, symmetric=False)
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


def _eigenvalues(elements: dict[tuple[int, int], np.ndarray], ndim: int) -> list[np.ndarray]:
    from . import _kernels

    shape = elements[0, 0].shape
    flat = {k: np.ascontiguousarray(v).reshape(-1) for k, v in elements.items()}
    outs = [np.empty(flat[0, 0].size, np.float32) for _ in range(ndim)]
    if ndim == 2:
        _kernels.eigvalsh2(flat[0, 0], flat[0, 1], flat[1, 1], *outs)
    else:
        _kernels.eigvalsh3(
            flat[0, 0], flat[0, 1], flat[0, 2], flat[1, 1], flat[1, 2], flat[2, 2], *outs
        )
    return [o.reshape(shape) for o in outs]


def _sigma_features(
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
    from . import _kernels

    ndim = settings.ndim
    axes = list(range(ndim))
    sig = settings._sigmas_per_axis(sigma)
    spacing = settings._spacing()
    # Smooth only the region plus the 2 pixels the finite differences need: each 1D pass
    # drops the halo of its axis as soon as it has served.
    margin = 2 if (settings.edges or settings.hessian or settings.log) else 0
    keep = [
        (max(0, c.start - margin), min(n, c.stop + margin))
        for c, n in zip(crop, block.shape, strict=True)
    ]
    # Filter first along the axis the image is cut into strips along (the longest non-last
    # one, as in `_strips`): its halo is the largest and is dropped right away.
    order = sorted(axes, key=lambda a: a != first_axis)
    smoothed = _smooth(block, sig[order], order, [keep[a] for a in order])
    inner = tuple(slice(c.start - k[0], c.stop - k[0]) for c, k in zip(crop, keep, strict=True))
    index = first
    if settings.intensity:
        out[index] = smoothed[inner]
        index += 1
    if settings.edges or settings.hessian or settings.log:
        i_grad = i_hess = i_log = -1
        if settings.edges:
            i_grad, index = index, index + 1
        if settings.hessian:
            i_hess, index = index, index + ndim
        if settings.log:
            i_log, index = index, index + 1
        inv_spacing = np.ones(3)
        inv_spacing[3 - ndim :] = 1.0 / spacing
        origin = np.zeros(3, np.int64)
        origin[3 - ndim :] = [c.start for c in inner]
        out3 = out.reshape(out.shape[0], *(1,) * (4 - out.ndim), *out.shape[1:])
        _kernels.derivative_features(
            smoothed.reshape((1,) * (3 - ndim) + smoothed.shape),
            inv_spacing,
            ndim == 3,
            origin,
            out3,
            i_grad,
            i_hess,
            i_log,
        )
    if settings.dog:
        wide = _smooth(block, DOG_RATIO * sig, axes, [(c.start, c.stop) for c in crop])
        out[index] = smoothed[inner] - wide
        index += 1
    if settings.structure_tensor:
        full = _smooth(block, sig, axes)
        grads = [
            np.gradient(full, float(spacing[a]), axis=a).astype(np.float32, copy=False)
            for a in axes
        ]
        outer = STRUCTURE_OUTER * sig
        tensor = {
            (i, j): _smooth(grads[i] * grads[j], outer, axes) for i in axes for j in axes if j >= i
        }
        for eigenvalues in _eigenvalues(tensor, ndim):
            out[index] = eigenvalues[crop]
            index += 1
    if settings.gabor:
        plane = _smooth(block, sig[:1], [0]) if ndim == 3 else block
        wavelength = max(3.0 * sigma, 3.0)
        for angle in GABOR_ANGLES:
            out[index] = _gabor_magnitude(plane, sig[-2:], angle, wavelength)[crop]
            index += 1


def _region_features(
    source: np.ndarray,
    settings: FeatureSettings,
    region: Sequence[slice],
    out: np.ndarray,
) -> None:
    """Features of `region` of `source` (C, *filtered axes) into `out` (F, *region shape)."""
    n_channels = source.shape[0]
    spatial = source.shape[1:]
    per_sigma = len(_per_sigma_names(settings))
    per_channel = per_sigma * len(settings.sigmas)
    first_axis = _strip_axis(spatial)
    for s_index, sigma in enumerate(settings.sigmas):
        halo = settings.halo(sigma)
        block_slices = []
        crop = []
        for sl, h, n in zip(region, halo, spatial, strict=True):
            lo = max(0, sl.start - h)
            hi = min(n, sl.stop + h)
            block_slices.append(slice(lo, hi))
            crop.append(slice(sl.start - lo, sl.stop - lo))
        for channel in range(n_channels):
            block = np.ascontiguousarray(source[(channel, *block_slices)], dtype=np.float32)
            first = channel * per_channel + s_index * per_sigma
            _sigma_features(block, sigma, settings, out, first, tuple(crop), first_axis)


# --- images, channels and tiling ----------------------------------------------------------------


def _channels_first(
    image: ArrayLike, settings: FeatureSettings, channel_axis: int | None, *, name: str = "image"
) -> np.ndarray:
    """Return a (C, *spatial) view of `image` after checking it."""
    from .._validation import as_image

    arr = as_image(image, name=name, allow_constant=True)
    if channel_axis is None:
        arr = arr[np.newaxis]
    else:
        if not -arr.ndim <= channel_axis < arr.ndim:
            raise SegLabInputError(
                f"channel_axis={channel_axis} does not exist in the {name} of shape {arr.shape}."
            )
        arr = np.moveaxis(arr, channel_axis, 0)
    if arr.ndim - 1 < settings.ndim:
        raise SegLabInputError(
            f"Features in mode {settings.mode!r} need an {name} with at least {settings.ndim} "
            f"spatial axes; this one has spatial shape {arr.shape[1:]}."
        )
    return arr


def _strip_axis(shape: Sequence[int]) -> int:
    """The axis tiles cut along: the longest but the last (contiguous) one."""
    return int(np.argmax(shape[:-1]))


def _strips(shape: Sequence[int], n_features: int) -> tuple[int, list[slice]]:
    """Split the filtered shape along its longest non-last axis into strips of bounded size."""
    axis = _strip_axis(shape)
    other = int(np.prod(shape, dtype=np.int64)) // shape[axis]
    budget = max(_STRIP_VOXELS * 24 // max(n_features, 1), 1)
    length = int(min(shape[axis], max(32, budget // max(other, 1))))
    return axis, [slice(i, min(i + length, shape[axis])) for i in range(0, shape[axis], length)]


def _iter_tiles(
    spatial: Sequence[int], settings: FeatureSettings, n_features: int
) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...]]]:
    """Yield (leading index, filtered region) covering the whole image."""
    lead_shape = tuple(spatial[: len(spatial) - settings.ndim])
    filtered = tuple(spatial[len(spatial) - settings.ndim :])
    axis, strips = _strips(filtered, n_features)
    for lead in np.ndindex(*lead_shape):
        for strip in strips:
            region = [slice(0, n) for n in filtered]
            region[axis] = strip
            yield lead, tuple(region)


def compute_features(
    image: ArrayLike,
    settings: FeatureSettings | None = None,
    *,
    channel_axis: int | None = None,
    mask: ArrayLike | None = None,
    dtype: DTypeLike = np.float32,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Multiscale features of every pixel (or of the pixels in `mask`).

    Parameters
    ----------
    image : array_like
        Grayscale image of 2 or more dimensions, or a multi-channel image with
        `channel_axis`. Leading axes beyond the filtered ones (2 in mode "2d", 3 in "3d") are
        processed plane by plane (or volume by volume).
    settings : FeatureSettings, optional
        Defaults to ``FeatureSettings()``.
    channel_axis : int, optional
        Axis holding channels (``-1`` for RGB); each channel gets its own features.
    mask : array_like of bool, optional
        Spatial-shaped mask: only these pixels' features are computed (around them, with the
        context each scale needs) and returned, as rows in C order of the mask.
    dtype : dtype
        Output type; the computation is float32.
    progress : callable, optional
        Called as ``progress(done, total)`` after each tile.

    Returns
    -------
    numpy.ndarray
        ``spatial_shape + (n_features,)``, or ``(n_mask_pixels, n_features)`` with `mask`.
        Column ``i`` is ``feature_names(settings, n_channels)[i]``.

    Raises
    ------
    SegLabInputError
        For NaN, too few dimensions, a bad channel axis or a mask of another shape.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.random.default_rng(0).random((64, 80))
    >>> compute_features(image, FeatureSettings(sigmas=(1, 2))).shape
    (64, 80, 8)
    """
    from . import _kernels

    settings = FeatureSettings() if settings is None else settings
    source = _channels_first(image, settings, channel_axis)
    spatial = source.shape[1:]
    n_features = len(feature_names(settings, source.shape[0]))
    if mask is not None:
        mask_arr = np.asarray(mask, dtype=bool)
        if mask_arr.shape != spatial:
            raise SegLabInputError(
                f"The mask has shape {mask_arr.shape} but the image's spatial shape is {spatial}."
            )
        rows = _masked_features(source, settings, mask_arr, progress=progress)
        return rows.T.astype(dtype, copy=False)
    out = np.empty((*spatial, n_features), dtype=dtype)
    tiles = list(_iter_tiles(spatial, settings, n_features))
    for done, (lead, region) in enumerate(tiles, start=1):
        shape = tuple(sl.stop - sl.start for sl in region)
        planar = np.empty((n_features, *shape), np.float32)
        _region_features(source[(slice(None), *lead)], settings, region, planar)
        _kernels.features_last(planar, out[(*lead, *region)])
        if progress is not None:
            progress(done, len(tiles))
    return out


def _masked_features(
    source: np.ndarray,
    settings: FeatureSettings,
    mask: np.ndarray,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Features (F, n) of the mask's pixels, computed only around them (C order of the mask)."""
    spatial = source.shape[1:]
    n_features = len(feature_names(settings, source.shape[0]))
    n_lead = len(spatial) - settings.ndim
    lead_shape = spatial[:n_lead]
    filtered = spatial[n_lead:]
    axis, strips = _strips(filtered, n_features)
    jobs = []
    for lead in np.ndindex(*lead_shape):
        plane_mask = mask[lead]
        if not plane_mask.any():
            continue
        for strip in strips:
            index = [slice(None)] * len(filtered)
            index[axis] = strip
            strip_mask = plane_mask[tuple(index)]
            if not strip_mask.any():
                continue
            region = []
            for a in range(len(filtered)):
                other = tuple(b for b in range(len(filtered)) if b != a)
                hit = np.flatnonzero(strip_mask.any(axis=other))
                start = hit[0] + (strip.start if a == axis else 0)
                stop = hit[-1] + 1 + (strip.start if a == axis else 0)
                region.append(slice(int(start), int(stop)))
            jobs.append((lead, tuple(region)))
    pieces = []
    for done, (lead, region) in enumerate(jobs, start=1):
        shape = tuple(sl.stop - sl.start for sl in region)
        planar = np.empty((n_features, *shape), np.float32)
        _region_features(source[(slice(None), *lead)], settings, region, planar)
        pieces.append(planar[:, mask[(*lead, *region)]])
        if progress is not None:
            progress(done, len(jobs))
    if not pieces:
        return np.empty((n_features, 0), np.float32)
    # Regions come plane by plane and strip by strip, so the rows follow the mask's C order
    # except across the non-first axes of a strip; restore C order exactly.
    return np.concatenate(pieces, axis=1)[:, _mask_order(mask, jobs)]


def _mask_order(
    mask: np.ndarray, jobs: list[tuple[tuple[int, ...], tuple[slice, ...]]]
) -> np.ndarray:
    """Permutation from the job order of the mask's pixels to the mask's C order."""
    flat_index = np.arange(mask.size, dtype=np.int64).reshape(mask.shape)
    gathered = [flat_index[(*lead, *region)][mask[(*lead, *region)]] for lead, region in jobs]
    return np.argsort(np.concatenate(gathered), kind="stable")
