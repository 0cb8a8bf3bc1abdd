"""The median filter's window: an odd width, no wider than the image."""

from __future__ import annotations

import numpy as np

from .._validation import SegLabInputError

__all__ = ["check_median_size", "median_window"]


def check_median_size(size: int) -> None:
    """Refuse a median width that is not 0 (off), 1 (off) or an odd number of pixels.

    An even window has no centre pixel: scipy shifts it by half a pixel, moving every edge.
    """
    if isinstance(size, bool) or not isinstance(size, int | np.integer):
        raise SegLabInputError(f"The median size must be a whole number of pixels, not {size!r}.")
    if size < 0:
        raise SegLabInputError(f"The median size must be 0 (off) or positive, not {size}.")
    if size > 1 and size % 2 == 0:
        raise SegLabInputError(
            f"The median size must be odd (3, 5, 7 ...), not {size}: an even window has no "
            f"centre pixel and would shift the image by half a pixel. Use {size - 1} or "
            f"{size + 1}."
        )


def median_window(size: int, ndim: int, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The median filter window over the last `ndim` axes of an image of `shape` (None: off).

    A window wider than the image is refused: every pixel would take the median of
    reflections of the whole image (and scipy would need a huge footprint).
    """
    check_median_size(size)
    if size <= 1:
        return None
    if ndim not in (2, 3) or ndim > len(shape):
        raise SegLabInputError(
            f"A {ndim}D median cannot run on an image with {len(shape)} dimensions."
        )
    filtered = tuple(int(n) for n in shape[len(shape) - ndim :])
    if size > max(filtered):
        raise SegLabInputError(
            f"The median size {size} is larger than the image ({' x '.join(map(str, filtered))}"
            " pixels); choose a smaller, odd size (3 or 5 removes speckle noise)."
        )
    return (1,) * (len(shape) - ndim) + (size,) * ndim
