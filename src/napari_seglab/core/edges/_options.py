"""The edge filters SegLab offers, their options, and the halo each one borrows."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

import numpy as np

from .._validation import SegLabInputError

__all__ = ["EdgeDirection", "EdgeMethod", "EdgeOptions", "EdgeSmoothing"]


class EdgeMethod(Enum):
    """An edge filter of scikit-image (or scipy, for the Laplacian of Gaussian)."""

    SOBEL = "sobel"
    SCHARR = "scharr"
    PREWITT = "prewitt"
    ROBERTS = "roberts"
    FARID = "farid"
    LAPLACE = "laplace"
    LOG = "log"
    CANNY = "canny"

    def __str__(self) -> str:
        return _TITLES[self]

    @property
    def directional(self) -> bool:
        """Whether horizontal and vertical edges exist on their own (a first derivative)."""
        return self in _DIRECTIONAL

    @property
    def max_dims(self) -> int:
        """The most dimensions the filter works in at once (2: per plane only)."""
        return 2 if self in (EdgeMethod.ROBERTS, EdgeMethod.CANNY) else 3


_TITLES = {
    EdgeMethod.SOBEL: "Sobel",
    EdgeMethod.SCHARR: "Scharr",
    EdgeMethod.PREWITT: "Prewitt",
    EdgeMethod.ROBERTS: "Roberts",
    EdgeMethod.FARID: "Farid",
    EdgeMethod.LAPLACE: "Laplace",
    EdgeMethod.LOG: "Laplacian of Gaussian",
    EdgeMethod.CANNY: "Canny (mask)",
}
_DIRECTIONAL = (EdgeMethod.SOBEL, EdgeMethod.SCHARR, EdgeMethod.PREWITT, EdgeMethod.FARID)
_KERNEL_RADIUS = {EdgeMethod.FARID: 2}  # 5-tap kernels; the others are 3 (or 2) wide
AUTO_LOW, AUTO_HIGH = 0.1, 0.2  # Canny's automatic thresholds, fractions of the image's range


class EdgeDirection(Enum):
    """Which edges a first-derivative filter returns."""

    MAGNITUDE = "magnitude"
    HORIZONTAL = "horizontal"
    VERTICAL = "vertical"

    def __str__(self) -> str:
        return {
            "magnitude": "all (magnitude)",
            "horizontal": "horizontal edges",
            "vertical": "vertical edges",
        }[self.value]


class EdgeSmoothing(Enum):
    """Noise removal applied before the edge filter."""

    NONE = "none"
    GAUSSIAN = "gaussian"
    MEDIAN = "median"

    def __str__(self) -> str:
        names = {"none": "none", "gaussian": "Gaussian (sigma)", "median": "median (size)"}
        return names[self.value]


def gaussian_radius(sigma: float) -> int:
    """Pixels a scipy Gaussian of `sigma` reaches on each side (``truncate=4``)."""
    return int(4.0 * float(sigma) + 0.5)


def _choice(enum: type[Enum], value, what: str):
    if value is None and enum is EdgeSmoothing:
        return EdgeSmoothing.NONE
    if isinstance(value, enum):
        return value
    try:
        return enum(str(value).lower())
    except ValueError:
        known = ", ".join(repr(m.value) for m in enum)
        raise SegLabInputError(f"Unknown {what} {value!r}; choose one of {known}.") from None


@dataclass(frozen=True)
class EdgeOptions:
    """Checked settings of one :func:`napari_seglab.edges` call.

    Build it with :meth:`from_arguments`, which turns strings into the enums and refuses
    impossible combinations with a :class:`SegLabInputError`.
    """

    method: EdgeMethod
    direction: EdgeDirection
    sigma: float
    low_threshold: float | None
    high_threshold: float | None
    smoothing: EdgeSmoothing
    smoothing_size: float
    dims: int

    @classmethod
    def from_arguments(
        cls,
        method,
        *,
        direction="magnitude",
        sigma: float = 1.0,
        low_threshold: float | None = None,
        high_threshold: float | None = None,
        smoothing=None,
        smoothing_size: float = 1.0,
        dims: int = 2,
    ) -> EdgeOptions:
        """Checked options; raises :class:`SegLabInputError` with what to change."""
        method = _choice(EdgeMethod, method, "edge method")
        direction = _choice(EdgeDirection, direction, "direction")
        smoothing = _choice(EdgeSmoothing, smoothing, "smoothing")
        if direction is not EdgeDirection.MAGNITUDE and not method.directional:
            raise SegLabInputError(
                f"{method} has no {direction.value} component; choose 'magnitude', or one of "
                "Sobel, Scharr, Prewitt, Farid."
            )
        if dims not in (2, 3):
            raise SegLabInputError(f"Edges are found in 2 or 3 dimensions, not {dims}.")
        if dims > method.max_dims:
            raise SegLabInputError(
                f"scikit-image's {method} works on 2D images only: use dims=2 (plane by plane)."
            )
        if method in (EdgeMethod.LOG, EdgeMethod.CANNY) and not sigma > 0:
            raise SegLabInputError(f"{method} needs a positive sigma, not {sigma}.")
        if smoothing is not EdgeSmoothing.NONE and not smoothing_size > 0:
            raise SegLabInputError(f"The smoothing size must be positive, not {smoothing_size}.")
        if smoothing is EdgeSmoothing.MEDIAN and float(smoothing_size) != int(smoothing_size):
            raise SegLabInputError(f"A median size is a whole number, not {smoothing_size}.")
        both = low_threshold is not None and high_threshold is not None
        if method is EdgeMethod.CANNY and both and low_threshold > high_threshold:
            raise SegLabInputError(
                f"Canny's low threshold ({low_threshold}) must not exceed its high threshold "
                f"({high_threshold})."
            )
        return cls(
            method,
            direction,
            float(sigma),
            low_threshold,
            high_threshold,
            smoothing,
            float(smoothing_size),
            int(dims),
        )

    def with_thresholds_for(self, minimum: float, maximum: float) -> EdgeOptions:
        """These options with Canny's missing thresholds set for an image of that value range.

        A missing threshold becomes :data:`AUTO_LOW` (10%) or :data:`AUTO_HIGH` (20%) of
        ``maximum - minimum``, in pixel-value units like an explicit one. On a 0-255 image
        that is scikit-image's default, which takes the fractions of the data type's maximum.
        """
        if self.method is not EdgeMethod.CANNY:
            return self
        spread = float(maximum) - float(minimum)
        low = AUTO_LOW * spread if self.low_threshold is None else self.low_threshold
        high = AUTO_HIGH * spread if self.high_threshold is None else self.high_threshold
        if low > high and self.high_threshold is None:
            raise SegLabInputError(
                f"Canny's low threshold ({low:g}) is above the automatic high threshold "
                f"({high:g}, {AUTO_HIGH:.0%} of the image's range): lower it, or set the high "
                "threshold too."
            )
        if low > high:
            raise SegLabInputError(
                f"Canny's high threshold ({high:g}) is below the automatic low threshold "
                f"({low:g}, {AUTO_LOW:.0%} of the image's range): raise it, or set the low "
                "threshold too."
            )
        return replace(self, low_threshold=low, high_threshold=high)

    def radius(self) -> int:
        """Pixels a result pixel depends on, on each side (smoothing and filter together)."""
        if self.method is EdgeMethod.LOG:
            edge = gaussian_radius(self.sigma)
        else:
            edge = _KERNEL_RADIUS.get(self.method, 1)
        if self.smoothing is EdgeSmoothing.GAUSSIAN:
            return edge + gaussian_radius(self.smoothing_size)
        if self.smoothing is EdgeSmoothing.MEDIAN:
            return edge + int(self.smoothing_size) // 2
        return edge

    def output_dtype(self, dtype: np.dtype) -> np.dtype:
        """The data type of the result for an input of `dtype` (what scikit-image returns)."""
        from ._eager import filter_image

        probe = np.zeros((8,) * self.dims, dtype=dtype)
        probe[(4,) * self.dims] = 1
        return filter_image(probe, self).dtype
