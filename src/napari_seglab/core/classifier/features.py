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

An image of exactly 3 channels (RGB) gets, by default, the features of a fourth channel too:
its luminance, weighted as scikit-image's :func:`skimage.color.rgb2gray` weighs it
(``0.2125 R + 0.7154 G + 0.0721 B``, in float32). Its features are named ``grey_...``, after
those of ``ch0_``, ``ch1_`` and ``ch2_``. On the H&E images of
``benchmarks/bench_interactive.py`` it needs fewer corrective strokes; ``luminance=False``
gives the features of the three channels alone.

Features are computed tile by tile with the halo each scale needs, so a tile gives exactly
the values the whole image would, memory stays bounded, and training only computes features
around the painted pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .._blocks import is_lazy
from .._validation import SegLabInputError
from ._filters import DOG_RATIO, GABOR_ANGLES, STRUCTURE_OUTER, radius, region_features
from ._lazy import map_with_halo
from ._tiles import NOT_GIVEN, channel_axis_of, channels_first, iter_tiles, masked_features

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


@dataclass(frozen=True)
class FeatureSettings:
    """Which features a pixel classifier computes, at which scales, in 2D or 3D.

    Parameters
    ----------
    sigmas : sequence of float
        Scales (Gaussian standard deviations, in pixels of the finest axis), sorted and
        de-duplicated. Between 0.3 and 64. Default: 0.5, 1, 2, 4, 8.
    intensity, edges, hessian, log, dog, structure_tensor, gabor : bool
        The feature families to compute (see :mod:`napari_seglab.core.classifier.features`).
        At least one must be on. Default: all but the structure tensor and Gabor filters
        (the defaults need the fewest corrective strokes on ``benchmarks/bench_interactive.py``).
    mode : {"2d", "3d"}
        ``"2d"`` filters each plane of the last two axes on its own (stacks and time-lapses
        are treated plane by plane); ``"3d"`` filters the last three axes together.
    spacing : sequence of float, optional
        Pixel size along the filtered axes (2 values in 2D, 3 in 3D), e.g. the napari layer's
        ``scale[-2:]`` or ``scale[-3:]``. Scales are shrunk along coarser axes and derivatives
        are taken in physical units. ``None`` means isotropic.
    luminance : bool
        For an image of exactly 3 channels (RGB), also compute every feature of its luminance
        (``skimage.color.rgb2gray``: ``0.2125 R + 0.7154 G + 0.0721 B``, in float32), named
        ``grey_<component>_s<sigma>``. Images of any other channel count are unaffected.
        Default: True (fewer corrective strokes on the H&E images of
        ``benchmarks/bench_interactive.py``). Settings read by :meth:`from_dict` without this
        key (files of an earlier napari-seglab) get False, so that they give the features
        they were trained on.

    Examples
    --------
    >>> settings = FeatureSettings(sigmas=(1, 4), log=True)
    >>> settings.sigmas
    (1.0, 4.0)
    >>> FeatureSettings.from_dict(settings.to_dict()) == settings
    True
    >>> settings.luminance, FeatureSettings.from_dict({}).luminance  # {}: an earlier file
    (True, False)
    """

    sigmas: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
    intensity: bool = True
    edges: bool = True
    hessian: bool = True
    log: bool = True
    dog: bool = True
    structure_tensor: bool = False
    gabor: bool = False
    mode: str = "2d"
    spacing: tuple[float, ...] | None = field(default=None)
    luminance: bool = True

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
        if not isinstance(self.luminance, bool | np.bool_):
            raise SegLabInputError(f"`luminance` must be True or False, not {self.luminance!r}.")
        object.__setattr__(self, "luminance", bool(self.luminance))
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
        """Settings from a dictionary written by :meth:`to_dict`; unknown keys are refused.

        A dictionary without ``luminance`` (written before that option existed) gives
        ``luminance=False``: the features its classifier was trained on.
        """
        if not isinstance(data, Mapping):
            raise SegLabInputError("Feature settings must be a dictionary.")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SegLabInputError(
                f"Unknown feature setting(s) {unknown}; known ones are {sorted(known)}. "
                "The file may come from a newer napari-seglab."
            )
        return cls(**{"luminance": False, **data})

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
        halo = np.array([radius(s) for s in sig]) + 2
        if self.dog:
            halo = np.maximum(halo, [radius(DOG_RATIO * s) for s in sig])
        if self.structure_tensor:
            outer = [radius(s) + 1 + radius(STRUCTURE_OUTER * s) for s in sig]
            halo = np.maximum(halo, outer)
        return halo.astype(int)

    def _components(self) -> list[str]:
        """Names of the features of one channel at one scale, in order."""
        names: list[str] = []
        for family in FAMILIES:
            if getattr(self, family):
                names.extend(_family_components(family, self.ndim))
        return names

    def _adds_luminance(self, n_channels: int) -> bool:
        """Whether an image of `n_channels` channels gets a luminance channel's features."""
        return self.luminance and int(n_channels) == 3

    def _n_channels(self, n_channels: int) -> int:
        """Channels that get features: the image's, plus its luminance for RGB."""
        return int(n_channels) + self._adds_luminance(n_channels)

    def _n_features(self, n_channels: int) -> int:
        return len(self._components()) * len(self.sigmas) * self._n_channels(n_channels)


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


def feature_names(settings: FeatureSettings, n_channels: int = 1) -> list[str]:
    """Names of the features :func:`compute_features` returns, in order.

    Parameters
    ----------
    settings : FeatureSettings
    n_channels : int
        Number of image channels; with more than one, names start with ``ch<i>_``. With 3
        channels and ``settings.luminance``, the luminance's features follow, named
        ``grey_...``.

    Returns
    -------
    list of str
        ``<component>_s<sigma>``, ordered by channel, then scale, then family.

    Examples
    --------
    >>> feature_names(FeatureSettings(sigmas=(1,), hessian=False))
    ['gaussian_s1', 'gradient_magnitude_s1', 'laplacian_s1', 'dog_s1']
    >>> feature_names(FeatureSettings(sigmas=(1,), intensity=True, edges=False, hessian=False,
    ...                               log=False, dog=False), 3)
    ['ch0_gaussian_s1', 'ch1_gaussian_s1', 'ch2_gaussian_s1', 'grey_gaussian_s1']
    """
    per_sigma = settings._components()
    prefixes = [f"ch{channel}_" if n_channels > 1 else "" for channel in range(int(n_channels))]
    if settings._adds_luminance(n_channels):
        prefixes.append("grey_")
    names = []
    for prefix in prefixes:
        for sigma in settings.sigmas:
            names.extend(f"{prefix}{name}_s{sigma:g}" for name in per_sigma)
    return names


def compute_features(
    image: ArrayLike,
    settings: FeatureSettings | None = None,
    *,
    channel_axis: int | None = NOT_GIVEN,
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
        processed plane by plane (or volume by volume). A dask array gives a dask array,
        computed chunk by chunk with the halo the largest scale needs (the same values).
    settings : FeatureSettings, optional
        Defaults to ``FeatureSettings()``.
    channel_axis : int, optional
        Axis holding channels (``-1`` for RGB); each channel gets its own features, and an
        image of 3 channels those of its luminance too (``settings.luminance``).
    mask : array_like of bool, optional
        Spatial-shaped mask: only these pixels' features are computed (around them, with the
        context each scale needs) and returned, as rows in C order of the mask. In-memory
        images only.
    dtype : dtype
        Output type; the computation is float32.
    progress : callable, optional
        Called as ``progress(done, total)`` after each tile (in-memory images; a dask
        result is computed later, chunk by chunk, and reports nothing here).

    Returns
    -------
    numpy.ndarray or dask.array.Array
        ``spatial_shape + (n_features,)``, or ``(n_mask_pixels, n_features)`` with `mask`.
        Column ``i`` is ``feature_names(settings, n_channels)[i]``.

    Raises
    ------
    SegLabInputError
        For NaN, too few dimensions, a bad channel axis or a mask of another shape; for a
        dask image, with a `mask` or chunks thinner than the halo.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.random.default_rng(0).random((64, 80))
    >>> compute_features(image, FeatureSettings(sigmas=(1, 2))).shape
    (64, 80, 12)
    """
    settings = FeatureSettings() if settings is None else settings
    channel_axis = channel_axis_of(image, channel_axis)
    if is_lazy(image):
        return _lazy_features(image, settings, channel_axis, mask, dtype)
    source = channels_first(image, settings, channel_axis)
    spatial = source.shape[1:]
    n_features = settings._n_features(source.shape[0])
    if mask is not None:
        mask_arr = np.asarray(mask, dtype=bool)
        if mask_arr.shape != spatial:
            raise SegLabInputError(
                f"The mask has shape {mask_arr.shape} but the image's spatial shape is {spatial}."
            )
        rows = masked_features(source, settings, mask_arr, progress=progress)
        return rows.T.astype(dtype, copy=False)
    from ._correlate import features_last

    out = np.empty((*spatial, n_features), dtype=dtype)
    tiles = list(iter_tiles(spatial, settings, n_features))
    for done, (lead, region) in enumerate(tiles, start=1):
        shape = tuple(sl.stop - sl.start for sl in region)
        planar = np.empty((n_features, *shape), np.float32)
        region_features(source[(slice(None), *lead)], settings, region, planar)
        features_last(planar, out[(*lead, *region)])
        if progress is not None:
            progress(done, len(tiles))
    return out


def _lazy_features(
    image: Any,
    settings: FeatureSettings,
    channel_axis: int | None,
    mask: Any,
    dtype: DTypeLike,
) -> Any:
    """:func:`compute_features` of a dask image, chunk by chunk (no mask)."""
    if mask is not None:
        raise SegLabInputError(
            "compute_features(mask=...) needs an image in memory: the rows of a mask cannot be "
            "known before computing. For a dask image, pass the planes that hold the mask "
            "(e.g. np.asarray(image[k])), or compute all features lazily without a mask."
        )
    n_channels = 1 if channel_axis is None else image.shape[channel_axis]

    def one(block: np.ndarray, axis: int | None, window: tuple[slice, ...]) -> np.ndarray:
        return compute_features(block, settings, channel_axis=axis, dtype=dtype)[window]

    return map_with_halo(
        image,
        settings,
        one,
        dtype=dtype,
        channel_axis=channel_axis,
        out_channels=settings._n_features(n_channels),
    )
