"""Global and local thresholds, with an optional median filter first.

Foreground may be bright (``image > t``) or dark (``image <= t``). The dark rule is the exact
complement of the bright one, so thresholding an image for dark objects gives the same mask as
inverting it and thresholding for bright ones (as the KESM vessel article does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import is_lazy
from .._validation import SegLabInputError, as_image, as_mask, check_same_shape, to_grayscale

__all__ = [
    "GLOBAL_METHODS",
    "Foreground",
    "MethodOutcome",
    "ThresholdMethod",
    "ThresholdResult",
    "TryAllResult",
    "apply_threshold",
    "iter_try_all",
    "median_filter",
    "prepare_image",
    "threshold",
    "threshold_value",
    "try_all_thresholds",
]


class Foreground(StrEnum):
    """Whether the objects of interest are brighter or darker than their surroundings."""

    BRIGHT = "bright"
    DARK = "dark"


class ThresholdMethod(StrEnum):
    """Threshold methods: the automatic global ones, a manual value, and three local ones."""

    OTSU = "otsu"
    LI = "li"
    YEN = "yen"
    TRIANGLE = "triangle"
    ISODATA = "isodata"
    MEAN = "mean"
    MINIMUM = "minimum"
    MULTI_OTSU = "multi_otsu"
    MANUAL = "manual"
    LOCAL_MEAN = "local_mean"
    NIBLACK = "niblack"
    SAUVOLA = "sauvola"

    @property
    def is_global(self) -> bool:
        """True for the methods that give one value per image (or per plane)."""
        return self in GLOBAL_METHODS or self is ThresholdMethod.MANUAL


GLOBAL_METHODS: tuple[ThresholdMethod, ...] = (
    ThresholdMethod.OTSU,
    ThresholdMethod.LI,
    ThresholdMethod.YEN,
    ThresholdMethod.TRIANGLE,
    ThresholdMethod.ISODATA,
    ThresholdMethod.MEAN,
    ThresholdMethod.MINIMUM,
    ThresholdMethod.MULTI_OTSU,
)
"""The automatic global methods that :func:`try_all_thresholds` compares."""


def _global_function(method: ThresholdMethod) -> Callable[[np.ndarray], float]:
    from skimage import filters

    return {
        ThresholdMethod.OTSU: filters.threshold_otsu,
        ThresholdMethod.LI: filters.threshold_li,
        ThresholdMethod.YEN: filters.threshold_yen,
        ThresholdMethod.TRIANGLE: filters.threshold_triangle,
        ThresholdMethod.ISODATA: filters.threshold_isodata,
        ThresholdMethod.MEAN: filters.threshold_mean,
        ThresholdMethod.MINIMUM: filters.threshold_minimum,
    }[method]


def median_filter(image: ArrayLike, size: int = 3, *, ndim: int = 2) -> np.ndarray:
    """Median-filter the last `ndim` axes of an image, leaving leading axes alone.

    Parameters
    ----------
    image : array_like
        Grayscale image of shape ``(..., Y, X)`` (or ``(..., Z, Y, X)`` with ``ndim=3``).
    size : int
        Width of the (square or cubic) window, in pixels. 0 or 1 returns the image unchanged.
    ndim : int
        2 filters each plane on its own; 3 filters in 3D over the last three axes.

    Returns
    -------
    numpy.ndarray
        Filtered image of the same shape and dtype. Borders are handled by reflection.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((5, 5), np.uint8); img[2, 2] = 255
    >>> int(median_filter(img, 3).max())
    0
    """
    if is_lazy(image):  # chunk by chunk, same result
        from ._lazy import median_filter as lazy_median_filter

        return lazy_median_filter(image, size, ndim=ndim)
    arr = as_image(image, allow_constant=True)
    if size < 0:
        raise SegLabInputError(f"The median size must be 0 (off) or positive, not {size}.")
    if size <= 1:
        return arr
    if ndim not in (2, 3) or ndim > arr.ndim:
        raise SegLabInputError(
            f"A {ndim}D median cannot run on an image with {arr.ndim} dimensions."
        )
    from scipy import ndimage as ndi

    window = (1,) * (arr.ndim - ndim) + (size,) * ndim
    return ndi.median_filter(arr, size=window, mode="reflect")


def prepare_image(
    image: ArrayLike,
    *,
    rgb: bool = False,
    channel: int | None = None,
    median_size: int = 0,
    median_ndim: int = 2,
) -> np.ndarray:
    """Grayscale conversion, checks and the optional median filter that precede thresholding.

    Parameters
    ----------
    image : array_like
        Image as described in :func:`threshold`.
    rgb, channel
        See :func:`napari_seglab.core.to_grayscale`.
    median_size, median_ndim
        See :func:`median_filter`; ``median_size=0`` skips the filter.

    Returns
    -------
    numpy.ndarray
        The image the threshold is computed on.
    """
    gray = as_image(to_grayscale(image, rgb=rgb, channel=channel))
    return median_filter(gray, median_size, ndim=median_ndim)


def _iter_planes(shape: tuple[int, ...], plane_ndim: int) -> Iterator[tuple[int, ...]]:
    yield from np.ndindex(*shape[: len(shape) - plane_ndim])


def threshold_value(
    image: np.ndarray,
    method: ThresholdMethod | str,
    *,
    value: float | None = None,
    classes: int = 3,
    boundary: int = 1,
    block_size: int = 35,
    offset: float = 0.0,
    window_size: int = 15,
    k: float = 0.2,
) -> float | np.ndarray:
    """Compute the threshold of one (already prepared) grayscale image.

    Parameters
    ----------
    image : numpy.ndarray
        Grayscale image, any number of dimensions (local methods work in N-D).
    method : ThresholdMethod or str
        Method name, e.g. ``"otsu"``.
    value : float, optional
        The threshold for ``method="manual"``.
    classes, boundary : int
        For ``"multi_otsu"``: number of classes, and which boundary separates foreground from
        background (1 = between the darkest class and the next).
    block_size, offset : int, float
        For ``"local_mean"``: odd neighbourhood width, and a constant subtracted from the local
        mean.
    window_size, k : int, float
        For ``"niblack"`` and ``"sauvola"``.

    Returns
    -------
    float or numpy.ndarray
        A scalar for global methods; an array of the image's shape for local ones.

    Raises
    ------
    SegLabInputError
        If the method cannot run on this image (the message says why).
    """
    method = ThresholdMethod(method)
    from skimage import filters

    try:
        if method is ThresholdMethod.MANUAL:
            if value is None:
                raise SegLabInputError("The manual method needs a threshold value.")
            return float(value)
        if method is ThresholdMethod.MULTI_OTSU:
            if classes < 2:
                raise SegLabInputError("Multi-Otsu needs at least 2 classes.")
            if not 1 <= boundary < classes:
                raise SegLabInputError(
                    f"With {classes} classes the boundary must be 1 to {classes - 1}, not "
                    f"{boundary}."
                )
            return float(filters.threshold_multiotsu(image, classes=classes)[boundary - 1])
        if method is ThresholdMethod.LOCAL_MEAN:
            if block_size < 3 or block_size % 2 == 0:
                raise SegLabInputError(f"The block size must be odd and >= 3, not {block_size}.")
            return filters.threshold_local(image, block_size, method="mean", offset=offset)
        if method is ThresholdMethod.NIBLACK:
            return filters.threshold_niblack(image, window_size=window_size, k=k)
        if method is ThresholdMethod.SAUVOLA:
            return filters.threshold_sauvola(image, window_size=window_size, k=k)
        return float(_global_function(method)(image))
    except SegLabInputError:
        raise
    except (RuntimeError, ValueError) as err:
        raise SegLabInputError(f"{method.value} cannot threshold this image: {err}") from err


def apply_threshold(
    image: np.ndarray, value: float | np.ndarray, foreground: Foreground | str = "bright"
) -> np.ndarray:
    """Binarize an image: ``image > value`` for bright, ``image <= value`` for dark objects.

    Returns
    -------
    numpy.ndarray of uint8
        1 for foreground, 0 for background.
    """
    if Foreground(foreground) is Foreground.BRIGHT:
        return (image > value).view(np.uint8)
    return (image <= value).view(np.uint8)


@dataclass(frozen=True)
class ThresholdResult:
    """What :func:`threshold` returns.

    Attributes
    ----------
    mask : numpy.ndarray of uint8
        1 = foreground, 0 = background; same shape as the (grayscale) input.
    method : ThresholdMethod
    foreground : Foreground
    value : float or numpy.ndarray or None
        The threshold: a float for a global method over the whole image, an array with one
        value per plane (shape of the leading axes) with ``per_plane=True`` (NaN for a blank,
        constant plane, which is left as background), ``None`` for local methods (whose
        threshold differs at every pixel).
    """

    mask: np.ndarray
    method: ThresholdMethod
    foreground: Foreground
    value: float | np.ndarray | None

    def describe(self) -> str:
        """A one-line summary such as ``"otsu: 175 (foreground dark)"``."""
        if self.value is None:
            shown = "local"
        elif np.ndim(self.value) == 0:
            shown = f"{self.value:.6g}"
        else:
            vals = np.asarray(self.value)
            blank = int(np.isnan(vals).sum())
            if blank == vals.size:
                shown = f"none: all {vals.size} planes are blank"
            else:
                shown = f"{np.nanmin(vals):.6g} to {np.nanmax(vals):.6g} over {vals.size} planes"
            if 0 < blank < vals.size:
                shown += f" ({blank} blank, left as background)"
        return f"{self.method.value}: {shown} (foreground {self.foreground.value})"


def _threshold_prepared(
    prepared: np.ndarray,
    method: ThresholdMethod,
    foreground: Foreground,
    *,
    per_plane: bool,
    plane_ndim: int,
    options: dict,
) -> ThresholdResult:
    if per_plane and prepared.ndim > plane_ndim:
        # A blank plane (empty slice, dropped frame) has nothing to separate: it stays
        # background, and its threshold is NaN, instead of failing the whole stack.
        values = np.full(prepared.shape[: prepared.ndim - plane_ndim], np.nan)
        mask = np.zeros(prepared.shape, dtype=np.uint8)
        for idx in _iter_planes(prepared.shape, plane_ndim):
            plane = prepared[idx]
            if method is not ThresholdMethod.MANUAL and plane.min() == plane.max():
                continue
            value = threshold_value(plane, method, **options)
            mask[idx] = apply_threshold(plane, value, foreground)
            if method.is_global:
                values[idx] = value
        return ThresholdResult(mask, method, foreground, values if method.is_global else None)
    value = threshold_value(prepared, method, **options)
    mask = apply_threshold(prepared, value, foreground)
    return ThresholdResult(mask, method, foreground, value if method.is_global else None)


def threshold(
    image: ArrayLike,
    method: ThresholdMethod | str = "otsu",
    *,
    foreground: Foreground | str = "bright",
    median_size: int = 0,
    median_ndim: int = 2,
    per_plane: bool = False,
    plane_ndim: int = 2,
    rgb: bool = False,
    channel: int | None = None,
    value: float | None = None,
    classes: int = 3,
    boundary: int = 1,
    block_size: int = 35,
    offset: float = 0.0,
    window_size: int = 15,
    k: float = 0.2,
) -> ThresholdResult:
    """Segment an image into foreground and background with one threshold method.

    Parameters
    ----------
    image : array_like
        2D image ``(Y, X)``, 3D stack ``(Z, Y, X)``, or any leading axes (time, ...), integer
        or floating point. With ``rgb=True`` the last axis holds 3 or 4 colour channels.
    method : ThresholdMethod or str
        One of :class:`ThresholdMethod`: ``"otsu"``, ``"li"``, ``"yen"``, ``"triangle"``,
        ``"isodata"``, ``"mean"``, ``"minimum"``, ``"multi_otsu"``, ``"manual"``,
        ``"local_mean"``, ``"niblack"``, ``"sauvola"``.
    foreground : {"bright", "dark"}
        Bright objects are ``image > t``; dark objects are ``image <= t``.
    median_size : int
        Width of a median filter applied first (0 = none); see :func:`median_filter`.
    median_ndim : {2, 3}
        Median per plane (2) or in 3D (3).
    per_plane : bool
        Compute a separate threshold for each plane (last `plane_ndim` axes) instead of one
        for the whole stack.
    plane_ndim : {2, 3}
        What a "plane" is for `per_plane`: 2D images, or 3D volumes of a time-lapse.
    rgb, channel
        Colour input: luminance, or the given channel (see
        :func:`napari_seglab.core.to_grayscale`).
    value, classes, boundary, block_size, offset, window_size, k
        Method options, see :func:`threshold_value`.

    Returns
    -------
    ThresholdResult
        ``.mask`` (uint8, 1 = foreground) and ``.value`` (the threshold(s) used). For a dask
        array input the mask is a lazy dask array, computed chunk by chunk (see
        :mod:`napari_seglab.core.threshold._lazy`).

    Raises
    ------
    SegLabInputError
        For an empty, constant, non-numeric or NaN-holding image, or a method that cannot run
        on it (e.g. ``"minimum"`` on a histogram without two peaks).

    Examples
    --------
    >>> import numpy as np
    >>> img = np.array([[10, 10, 200], [10, 200, 200]], dtype=np.uint8)
    >>> result = threshold(img, "otsu")
    >>> result.mask
    array([[0, 0, 1],
           [0, 1, 1]], dtype=uint8)
    >>> int(threshold(img, "otsu", foreground="dark").mask.sum())
    3
    """
    method = ThresholdMethod(method)
    options = dict(
        value=value,
        classes=classes,
        boundary=boundary,
        block_size=block_size,
        offset=offset,
        window_size=window_size,
        k=k,
    )
    if is_lazy(image):  # chunk by chunk, same result
        from ._lazy import threshold as lazy_threshold

        return lazy_threshold(
            image,
            method,
            foreground=foreground,
            median_size=median_size,
            median_ndim=median_ndim,
            per_plane=per_plane,
            plane_ndim=plane_ndim,
            rgb=rgb,
            channel=channel,
            **options,
        )
    prepared = prepare_image(
        image, rgb=rgb, channel=channel, median_size=median_size, median_ndim=median_ndim
    )
    return _threshold_prepared(
        prepared,
        method,
        Foreground(foreground),
        per_plane=per_plane,
        plane_ndim=plane_ndim,
        options=options,
    )


@dataclass(frozen=True)
class MethodOutcome:
    """One row of :class:`TryAllResult`.

    Attributes
    ----------
    method : ThresholdMethod
    result : ThresholdResult or None
        ``None`` when the method failed on this image.
    error : str or None
        Why the method failed.
    evaluation : napari_seglab.core.metrics.Evaluation or None
        Scores against the ground truth, when one was given.
    """

    method: ThresholdMethod
    result: ThresholdResult | None
    error: str | None = None
    evaluation: object | None = None


@dataclass(frozen=True)
class TryAllResult:
    """The outcome of every global method, best first when a ground truth was given."""

    outcomes: list[MethodOutcome] = field(default_factory=list)
    ranked: bool = False

    @classmethod
    def from_outcomes(cls, outcomes: Sequence[MethodOutcome]) -> TryAllResult:
        """Collect outcomes, ranked by MCC, then F1 (failures last) if they were scored."""
        ranked = any(o.evaluation is not None for o in outcomes)
        if ranked:
            outcomes = sorted(
                outcomes,
                key=lambda o: (
                    o.evaluation is None,
                    -(o.evaluation.scores.mcc if o.evaluation else 0.0),
                    -(o.evaluation.scores.f1 if o.evaluation else 0.0),
                ),
            )
        return cls(list(outcomes), ranked=ranked)

    @property
    def best(self) -> MethodOutcome:
        """The best-scoring method (by MCC, then F1), or the first that succeeded."""
        for outcome in self.outcomes:
            if outcome.result is not None:
                return outcome
        raise SegLabInputError("No threshold method succeeded on this image.")

    def __getitem__(self, method: ThresholdMethod | str) -> MethodOutcome:
        method = ThresholdMethod(method)
        for outcome in self.outcomes:
            if outcome.method is method:
                return outcome
        raise KeyError(method.value)

    def table(self) -> list[dict]:
        """One dict per method: threshold, and F1 / MCC / IoU when ranked, or the error."""
        rows = []
        for outcome in self.outcomes:
            row: dict = {"method": outcome.method.value}
            if outcome.result is None:
                row["threshold"] = None
                row["error"] = outcome.error
            else:
                row["threshold"] = outcome.result.value
                row["error"] = None
            if outcome.evaluation is not None:
                scores = outcome.evaluation.scores
                row.update(mcc=scores.mcc, f1=scores.f1, iou=scores.iou)
            rows.append(row)
        return rows


def try_all_thresholds(
    image: ArrayLike,
    *,
    foreground: Foreground | str = "bright",
    ground_truth: ArrayLike | None = None,
    methods: Sequence[ThresholdMethod | str] = GLOBAL_METHODS,
    median_size: int = 0,
    median_ndim: int = 2,
    per_plane: bool = False,
    plane_ndim: int = 2,
    rgb: bool = False,
    channel: int | None = None,
    classes: int = 3,
    boundary: int = 1,
    progress: Callable[[int, int, ThresholdMethod], None] | None = None,
) -> TryAllResult:
    """Run every global threshold method on the same image, and rank them if possible.

    A method that fails on the image (for instance ``"minimum"`` on a histogram with a single
    peak) is reported with its reason and does not stop the others.

    Parameters
    ----------
    image : array_like
        As in :func:`threshold`.
    foreground : {"bright", "dark"}
    ground_truth : array_like, optional
        Binary mask of the image's (grayscale) shape. When given, the methods are ranked by
        MCC, then F1 (best first), and each outcome carries its evaluation.
    methods : sequence of ThresholdMethod or str
        Which methods to run; every automatic global method by default.
    median_size, median_ndim, per_plane, plane_ndim, rgb, channel, classes, boundary
        As in :func:`threshold`.
    progress : callable, optional
        Called as ``progress(done, total, method)`` after each method (for progress bars).

    Returns
    -------
    TryAllResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> img = rng.normal(50, 5, (64, 64)); img[16:48, 16:48] += 100
    >>> truth = np.zeros((64, 64), np.uint8); truth[16:48, 16:48] = 1
    >>> result = try_all_thresholds(img, ground_truth=truth)
    >>> result.best.evaluation.scores.f1 > 0.99
    True
    """
    prepared = prepare_image(
        image, rgb=rgb, channel=channel, median_size=median_size, median_ndim=median_ndim
    )
    truth = None
    if ground_truth is not None:
        check_same_shape(prepared, np.asarray(ground_truth), ("image", "ground truth"))
        truth = as_mask(ground_truth, name="ground truth", binary=True)
    methods = [ThresholdMethod(m) for m in methods]
    outcomes = []
    for outcome in iter_try_all(
        prepared,
        foreground=foreground,
        truth=truth,
        methods=methods,
        per_plane=per_plane,
        plane_ndim=plane_ndim,
        classes=classes,
        boundary=boundary,
    ):
        outcomes.append(outcome)
        if progress is not None:
            progress(len(outcomes), len(methods), outcome.method)
    return TryAllResult.from_outcomes(outcomes)


def iter_try_all(
    prepared: np.ndarray,
    *,
    foreground: Foreground | str = "bright",
    truth: np.ndarray | None = None,
    methods: Sequence[ThresholdMethod | str] = GLOBAL_METHODS,
    per_plane: bool = False,
    plane_ndim: int = 2,
    classes: int = 3,
    boundary: int = 1,
) -> Iterator[MethodOutcome]:
    """The outcomes of :func:`try_all_thresholds`, one method at a time, unranked.

    For callers that report progress or stop between methods (the threshold widget).

    Parameters
    ----------
    prepared : numpy.ndarray
        The image as returned by :func:`prepare_image` (checked, grayscale, filtered).
    truth : numpy.ndarray of bool, optional
        The ground truth as a boolean mask of the same shape, to score each method.
    foreground, methods, per_plane, plane_ndim, classes, boundary
        As in :func:`try_all_thresholds`.

    Yields
    ------
    MethodOutcome
        In the order of `methods`; rank them with :meth:`TryAllResult.from_outcomes`.
    """
    from ..metrics import evaluate

    foreground = Foreground(foreground)
    for method in (ThresholdMethod(m) for m in methods):
        try:
            result = _threshold_prepared(
                prepared,
                method,
                foreground,
                per_plane=per_plane,
                plane_ndim=plane_ndim,
                options=dict(classes=classes, boundary=boundary),
            )
        except SegLabInputError as err:
            yield MethodOutcome(method, None, str(err))
        else:
            scored = None if truth is None else evaluate(result.mask, truth, objects=False)
            yield MethodOutcome(method, result, None, scored)
