"""The clustering's input checks: channels moved last, colour spaces that fit the image."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._blocks import is_lazy
from .._validation import SegLabInputError, as_image, check_colour, check_lazy_image
from ._options import ColourSpace

__all__ = ["channels_last", "check_space"]


def _stack(arrays: Sequence[Any]) -> Any:
    if not arrays:
        raise SegLabInputError("No image was given: pass an array or a list of channels.")
    shapes = {tuple(np.shape(a)) for a in arrays}
    if len(shapes) > 1:
        raise SegLabInputError(
            f"The channels have different shapes {sorted(shapes)}; they must cover the same "
            "pixels."
        )
    if any(is_lazy(a) for a in arrays):
        import dask.array as da

        return da.stack([da.asarray(a) for a in arrays], axis=-1)
    return np.stack([np.asarray(a) for a in arrays], axis=-1)


def channels_last(image: Any, *, rgb: bool, channel_axis: int | None) -> tuple[Any, bool]:
    """The image as ``(..., Y, X, C)``, checked; and whether it holds RGB(A) colours.

    A list or tuple of arrays is stacked as channels; `channel_axis` is moved last; a
    grayscale image gets one channel.
    """
    if isinstance(image, list | tuple):
        if rgb or channel_axis is not None:
            raise SegLabInputError("A list of channels takes neither `rgb` nor `channel_axis`.")
        image, channel_axis = _stack(image), -1
    lazy = is_lazy(image)
    image = check_lazy_image(image) if lazy else as_image(image, allow_constant=True)
    if rgb:
        check_colour(image.shape, rgb=True, channel=None)
        if channel_axis not in (None, -1, image.ndim - 1):
            raise SegLabInputError("An RGB image has its colours on the last axis.")
        channel_axis = -1
    if channel_axis is None:
        image = image[..., None]
    elif not -image.ndim <= channel_axis < image.ndim:
        raise SegLabInputError(
            f"Channel axis {channel_axis} does not exist in an image of shape {image.shape}; "
            f"choose 0 to {image.ndim - 1} (or -1 for the last axis)."
        )
    elif channel_axis % image.ndim != image.ndim - 1:
        image = np.moveaxis(image, channel_axis, -1)
    if image.ndim < 3:
        raise SegLabInputError(
            f"Beside its channels the image needs at least 2 dimensions; shape {image.shape}."
        )
    return image, rgb


def check_space(space: Any, image_shape: tuple[int, ...], rgb: bool) -> Any:
    """The colour space, defaulting to Lab for RGB and raw channels otherwise."""
    if space is None:
        return ColourSpace.LAB if rgb else ColourSpace.CHANNELS
    space = ColourSpace(space) if isinstance(space, ColourSpace) else space
    wanted = space.value if isinstance(space, ColourSpace) else str(space).lower()
    if wanted in ("lab", "rgb") and not (rgb or image_shape[-1] in (3, 4)):
        kind = "grayscale" if image_shape[-1] == 1 else f"{image_shape[-1]}-channel"
        raise SegLabInputError(
            f"{wanted.upper() if wanted == 'rgb' else 'Lab'} needs an RGB image (3 or 4 colour "
            f"channels); this one is {kind}. Use space='channels', or pass rgb=True for a "
            "colour image."
        )
    return space
