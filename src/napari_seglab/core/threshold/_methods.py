"""Threshold methods and their options, and the one table that maps them to scikit-image.

:class:`ThresholdOptions` holds every choice a threshold takes (method, foreground, the
preparation of the image, the method's own parameters) and checks them once, when built.
The value of a threshold comes from the image itself (:func:`value_from_image`, in memory) or
from its histogram (:func:`value_from_histogram`, for dask arrays); both go through the same
table and the same manual / multi-Otsu rules.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import SegLabInputError
from ._choices import GLOBAL_METHODS, Foreground, ThresholdMethod
from ._histogram import (
    NBINS,
    exact_mean,
    integer_histogram,
    li_from_histogram,
    triangle_from_histogram,
)
from ._median import check_median_size

__all__ = [
    "GLOBAL_METHODS",
    "Foreground",
    "ThresholdMethod",
    "ThresholdOptions",
    "apply_threshold",
    "value_from_histogram",
    "value_from_image",
]


_SKIMAGE = {
    ThresholdMethod.OTSU: "threshold_otsu",
    ThresholdMethod.LI: "threshold_li",
    ThresholdMethod.YEN: "threshold_yen",
    ThresholdMethod.TRIANGLE: "threshold_triangle",
    ThresholdMethod.ISODATA: "threshold_isodata",
    ThresholdMethod.MEAN: "threshold_mean",
    ThresholdMethod.MINIMUM: "threshold_minimum",
    ThresholdMethod.MULTI_OTSU: "threshold_multiotsu",
}
"""The scikit-image function (in ``skimage.filters``) of each automatic global method."""


_METHOD_INTEGERS = {
    ThresholdMethod.MULTI_OTSU: ("classes", "boundary"),
    ThresholdMethod.LOCAL_MEAN: ("block_size",),
    ThresholdMethod.NIBLACK: ("window_size",),
    ThresholdMethod.SAUVOLA: ("window_size",),
}
"""The options of each method that count something (whole numbers: 15.0 is taken as 15)."""


def _whole(name: str, value: Any) -> int:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    shown = {"classes": "number of classes"}.get(name, name.replace("_", " "))
    raise SegLabInputError(f"The {shown} must be a whole number, not {value!r}.")


def _finite_value(value: Any) -> float:
    """The manual threshold as a float: required, a number, and finite."""
    if value is None:
        raise SegLabInputError("The manual method needs a threshold value.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SegLabInputError(f"The manual threshold must be a number, not {value!r}.") from None
    if not np.isfinite(number):
        raise SegLabInputError(
            f"The manual threshold must be a finite number, not {number}: every pixel would "
            "be on the same side."
        )
    return number


def _odd(name: str, width: int) -> None:
    if width < 3 or width % 2 == 0:
        raise SegLabInputError(f"The {name} must be odd and >= 3, not {width}.")


@dataclass(frozen=True)
class ThresholdOptions:
    """Every choice of a threshold, checked once when the options are made.

    Parameters
    ----------
    method : ThresholdMethod or str
        One of :class:`ThresholdMethod`: ``"otsu"``, ``"li"``, ``"yen"``, ``"triangle"``,
        ``"isodata"``, ``"mean"``, ``"minimum"``, ``"multi_otsu"``, ``"manual"``,
        ``"local_mean"``, ``"niblack"``, ``"sauvola"``.
    foreground : {"bright", "dark"}
        Bright objects are ``image > t``; dark objects are ``image <= t``.
    median_size : int
        Width of a median filter applied first (0 = none).
    median_ndim : {2, 3}
        Median per plane (2) or in 3D (3).
    per_plane : bool
        Compute a separate threshold for each plane (last `plane_ndim` axes) instead of one
        for the whole stack.
    plane_ndim : {2, 3}
        What a "plane" is for `per_plane`: 2D images, or 3D volumes of a time-lapse.
    rgb : bool
        The last axis holds 3 or 4 colour channels.
    channel : int, optional
        With `rgb`: threshold this channel instead of the luminance.
    value : float, optional
        The threshold for ``method="manual"`` (required there).
    classes, boundary : int
        For ``"multi_otsu"``: number of classes (>= 2), and which boundary separates
        foreground from background (1 = between the darkest class and the next). Its search
        grows as ``comb(bins, classes - 1)``: a histogram too fine for it (one bin per value
        of a 16-bit image; scikit-image's 256 bins for 6 classes) is merged into the most
        equal bins whose search stays within ``MULTI_OTSU_SEARCH`` (2e7) combinations
        (``"minimum"`` likewise smooths at most 256 bins).
    block_size, offset : int, float
        For ``"local_mean"``: odd neighbourhood width (>= 3), and a constant subtracted from
        the local mean.
    window_size, k : int, float
        For ``"niblack"`` and ``"sauvola"``: odd window width (>= 3) and the k parameter.

    Raises
    ------
    SegLabInputError
        For an unknown method or foreground, or an option the method cannot use (an even
        block size, a boundary outside the classes, a manual method without a value ...).
        Options of other methods than the chosen one are not checked.

    Examples
    --------
    >>> options = ThresholdOptions("otsu", foreground="dark", median_size=3)
    >>> options.method, options.foreground
    (<ThresholdMethod.OTSU: 'otsu'>, <Foreground.DARK: 'dark'>)
    >>> ThresholdOptions("local_mean", block_size=40)
    Traceback (most recent call last):
    ...
    napari_seglab.core._validation.SegLabInputError: The block size must be odd and >= 3, ...
    """

    method: ThresholdMethod = ThresholdMethod.OTSU
    foreground: Foreground = Foreground.BRIGHT
    median_size: int = 0
    median_ndim: int = 2
    per_plane: bool = False
    plane_ndim: int = 2
    rgb: bool = False
    channel: int | None = None
    value: float | None = None
    classes: int = 3
    boundary: int = 1
    block_size: int = 35
    offset: float = 0.0
    window_size: int = 15
    k: float = 0.2

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", ThresholdMethod(self.method))
        object.__setattr__(self, "foreground", Foreground(self.foreground))
        check_median_size(self.median_size)
        for name in ("median_ndim", "plane_ndim"):
            if getattr(self, name) not in (2, 3):
                raise SegLabInputError(f"{name} must be 2 or 3, not {getattr(self, name)}.")
        self._check_method()

    def _check_method(self) -> None:
        method = self.method
        if method is ThresholdMethod.MANUAL:
            object.__setattr__(self, "value", _finite_value(self.value))
        for name in _METHOD_INTEGERS.get(method, ()):
            object.__setattr__(self, name, _whole(name, getattr(self, name)))
        if method is ThresholdMethod.MULTI_OTSU:
            if self.classes < 2:
                raise SegLabInputError("Multi-Otsu needs at least 2 classes.")
            if not 1 <= self.boundary < self.classes:
                raise SegLabInputError(
                    f"With {self.classes} classes the boundary must be 1 to "
                    f"{self.classes - 1}, not {self.boundary}."
                )
        if method is ThresholdMethod.LOCAL_MEAN:
            _odd("block size", self.block_size)
        if method in (ThresholdMethod.NIBLACK, ThresholdMethod.SAUVOLA):
            _odd("window size", self.window_size)

    @classmethod
    def build(cls, options: ThresholdOptions | None = None, **settings: Any) -> ThresholdOptions:
        """`options` with `settings` replaced (fields of this class), or new options.

        The one way the public functions turn their keywords into options.

        Examples
        --------
        >>> ThresholdOptions.build(method="yen").method.value
        'yen'
        >>> ThresholdOptions.build(ThresholdOptions(median_size=3), method="li").median_size
        3
        """
        unknown = set(settings) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"Unknown threshold option(s): {', '.join(sorted(unknown))}.")
        if options is None:
            return cls(**settings)
        return dataclasses.replace(options, **settings) if settings else options

    def with_method(self, method: ThresholdMethod | str) -> ThresholdOptions:
        """The same options with another method (checked for that method)."""
        return dataclasses.replace(self, method=method)

    def for_prepared(self) -> ThresholdOptions:
        """The options for an image already prepared with these (see ``prepare_image``).

        Grayscale conversion and median filter are then done: they are turned off.
        """
        return dataclasses.replace(self, median_size=0, rgb=False, channel=None)

    @property
    def window(self) -> int:
        """Width of the neighbourhood of a local method (0 for global methods)."""
        if self.method is ThresholdMethod.LOCAL_MEAN:
            return self.block_size
        if self.method in (ThresholdMethod.NIBLACK, ThresholdMethod.SAUVOLA):
            return self.window_size
        return 0


@contextmanager
def _clear_errors(method: ThresholdMethod) -> Iterator[None]:
    """Turn scikit-image's complaints about an image into one clear SegLabInputError."""
    try:
        yield
    except SegLabInputError:
        raise
    except (RuntimeError, ValueError) as err:
        raise SegLabInputError(f"{method.value} cannot threshold this image: {err}") from err


# Threshold combinations multi-Otsu may try: under a second here. Its search grows as
# comb(bins, classes - 1): one bin per value of a 16-bit image takes minutes for 3 classes,
# and scikit-image's 256 bins take minutes for 6.
MULTI_OTSU_SEARCH = 2 * 10**7


def _searched_histogram(
    options: ThresholdOptions, counts: np.ndarray, centers: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The histogram a method searches: as given, or merged into fewer equal bins (from the
    first centre to the last) where the search would take minutes.

    Multi-Otsu gets the most bins whose search fits :data:`MULTI_OTSU_SEARCH`; the minimum
    method, which smooths the histogram one bin's width at a time (up to 10 000 times),
    at most :data:`NBINS` (what scikit-image uses for floating-point images).
    """
    if options.method is ThresholdMethod.MINIMUM:
        bins = min(counts.size, NBINS)
    elif options.method is ThresholdMethod.MULTI_OTSU:
        bins, high = options.classes, counts.size  # the most bins that fit, by bisection
        while bins < high:
            middle = (bins + high + 1) // 2
            if math.comb(middle, options.classes - 1) <= MULTI_OTSU_SEARCH:
                bins = middle
            else:
                high = middle - 1
    else:
        bins = counts.size
    if bins == counts.size:
        return counts, centers
    span = (float(centers[0]), float(centers[-1]))
    merged, edges = np.histogram(centers, bins=bins, range=span, weights=counts)
    return merged, (edges[:-1] + edges[1:]) / 2


def _global(options: ThresholdOptions, **data: Any) -> float:
    """A global threshold from ``image=...`` or ``hist=(counts, centers)``."""
    from skimage import exposure, filters

    method = options.method
    if method is ThresholdMethod.MANUAL:
        return float(options.value)
    function: Callable = getattr(filters, _SKIMAGE[method])
    if method in (ThresholdMethod.MULTI_OTSU, ThresholdMethod.MINIMUM):
        if "image" in data:  # the histogram scikit-image makes of it
            image = data.pop("image").reshape(-1)
            data["hist"] = exposure.histogram(image, source_range="image", normalize=True)
        data["hist"] = _searched_histogram(options, *data["hist"])
    if method is ThresholdMethod.MULTI_OTSU:
        try:
            values = function(classes=options.classes, **data)
        except ValueError as err:
            if "different values" not in str(err):
                raise
            raise SegLabInputError(
                f"multi_otsu cannot split this image into {options.classes} classes: it has "
                "too few distinct values (or histogram bins holding pixels). Choose fewer "
                "classes."
            ) from err
        return float(values[options.boundary - 1])
    return float(function(**data))


def value_from_image(image: np.ndarray, options: ThresholdOptions) -> float | np.ndarray:
    """Compute the threshold of one (already prepared) grayscale image.

    Parameters
    ----------
    image : numpy.ndarray
        Grayscale image, any number of dimensions (local methods work in N-D).
    options : ThresholdOptions
        The method and its parameters.

    Returns
    -------
    float or numpy.ndarray
        A scalar for global methods; an array of the image's shape for local ones.

    Raises
    ------
    SegLabInputError
        When the method cannot run on this image.

    Examples
    --------
    >>> import numpy as np
    >>> value_from_image(np.array([[10, 10, 200], [10, 200, 200]]), ThresholdOptions())
    10.0
    """
    from skimage import filters

    method = options.method
    with _clear_errors(method):
        if method is ThresholdMethod.LOCAL_MEAN:
            return filters.threshold_local(
                image, options.block_size, method="mean", offset=options.offset
            )
        if method is ThresholdMethod.NIBLACK:
            return filters.threshold_niblack(image, window_size=options.window_size, k=options.k)
        if method is ThresholdMethod.SAUVOLA:
            return filters.threshold_sauvola(image, window_size=options.window_size, k=options.k)
        if method is ThresholdMethod.MANUAL or not np.issubdtype(image.dtype, np.integer):
            return _global(options, image=image)
        if method is ThresholdMethod.MEAN:
            return exact_mean(image)  # numpy's mean may overflow for int64 / uint64
        # Our own histogram (as lazily): scikit-image's counts every value from 0 up.
        return value_from_histogram(*integer_histogram(image), options, integer=True)


def value_from_histogram(
    counts: np.ndarray,
    centers: np.ndarray,
    options: ThresholdOptions,
    *,
    integer: bool,
    mean: float | None = None,
) -> float:
    """A global threshold from an image's histogram, equal to :func:`value_from_image`.

    Parameters
    ----------
    counts, centers : numpy.ndarray
        The histogram, as :func:`napari_seglab.core.threshold.histogram` gives it.
    options : ThresholdOptions
        A global (or manual) method and its parameters.
    integer : bool
        Whether the image holds integers (``"li"`` is only exact for those).
    mean : float, optional
        The image's mean, for ``"mean"``.

    Examples
    --------
    >>> import numpy as np
    >>> counts, centers = np.array([3, 0, 3]), np.array([10, 11, 12])
    >>> value_from_histogram(counts, centers, ThresholdOptions(), integer=True)
    10.0
    """
    method = options.method
    with _clear_errors(method):
        if method is ThresholdMethod.MEAN:
            return float(mean)
        _check_precision(centers)
        if method is ThresholdMethod.LI:
            if not integer:
                raise SegLabInputError(
                    "li on a lazy floating-point image is not available (scikit-image "
                    "iterates over every pixel). Convert the image to integers, or use otsu."
                )
            return li_from_histogram(counts, centers)
        if method is ThresholdMethod.TRIANGLE:
            return triangle_from_histogram(counts, centers)
        return _global(options, hist=(counts, centers))


def _check_precision(centers: np.ndarray) -> None:
    """Refuse bins too narrow to tell apart in float64 (integers far beyond 2**53)."""
    if centers.size < 2:
        return
    width = float(centers[1]) - float(centers[0]) if centers.dtype.kind == "f" else 1.0
    largest = max(abs(float(centers[0])), abs(float(centers[-1])))
    if np.spacing(largest) >= width:
        raise SegLabInputError(
            f"The pixel values (up to {largest:.3g}) are too large for their small range to "
            "be thresholded in floating point. Subtract an offset first, e.g. "
            "image - image.min()."
        )


def apply_threshold(
    image: Any, value: float | np.ndarray, foreground: Foreground | str = "bright"
) -> Any:
    """Binarize an image: ``image > value`` for bright, ``image <= value`` for dark objects.

    Returns
    -------
    numpy.ndarray of uint8
        1 for foreground, 0 for background.

    Examples
    --------
    >>> import numpy as np
    >>> apply_threshold(np.array([[1, 5]]), 3, "dark")
    array([[1, 0]], dtype=uint8)
    """
    if Foreground(foreground) is Foreground.BRIGHT:
        return (image > value).view(np.uint8)
    return (image <= value).view(np.uint8)
