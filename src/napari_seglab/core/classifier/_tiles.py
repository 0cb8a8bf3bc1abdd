"""Images cut into tiles: channels first, strips of bounded size, the features of a mask.

Every tile is computed with the halo its scales need (:func:`._filters.region_features`), so a
tile gives exactly the values the whole image would and memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import is_lazy
from .._validation import SegLabInputError, as_image
from ._filters import region_features, strip_axis
from ._warmup import notice_compiling

if TYPE_CHECKING:
    from .features import FeatureSettings

__all__ = [
    "NOT_GIVEN",
    "channel_axis_of",
    "channels_first",
    "iter_tiles",
    "masked_features",
    "strips",
]

_STRIP_VOXELS = 1 << 19


class _NotGiven:
    def __repr__(self) -> str:
        return "None"  # as the signatures read: no channel axis unless the image looks RGB


#: The default `channel_axis`: None, but an image that looks RGB(A) is refused.
NOT_GIVEN = _NotGiven()


def channel_axis_of(image: ArrayLike, channel_axis: int | _NotGiven | None) -> int | None:
    """The channel axis to use; refuses an RGB(A)-looking image passed without one.

    An image of shape ``(Y, X, 3)`` or ``(Y, X, 4)`` (or ``(..., Y, X, 3)``) is almost always
    colour: read as it is, it would be a stack of 3 planes along its last axis. Without
    `channel_axis`, such an image is refused; ``channel_axis=-1`` uses the colours as
    channels, and an explicit ``channel_axis=None`` keeps the last axis spatial.
    """
    if not isinstance(channel_axis, _NotGiven):
        return channel_axis
    shape = tuple(getattr(image, "shape", None) or np.shape(image))
    if len(shape) >= 3 and shape[-1] in (3, 4) and min(shape[-3:-1]) > 4 * shape[-1]:
        raise SegLabInputError(
            f"The image has shape {shape}: its last axis of {shape[-1]} looks like RGB(A) "
            "colours, which would be read as planes of a volume. Pass channel_axis=-1 to use "
            "the colours as channels (or channel_axis=None if its last axis really is spatial)."
        )
    return None


def channels_first(
    image: ArrayLike, settings: FeatureSettings, channel_axis: int | None, *, name: str = "image"
) -> np.ndarray:
    """Return a (C, *spatial) view of an in-memory `image` after checking it."""
    if is_lazy(image):  # the public functions dispatch dask arrays before coming here
        raise SegLabInputError(
            f"This step needs the {name} in memory, not a dask array: pass the part it needs "
            "(e.g. np.asarray(image[k]) for plane k)."
        )
    arr = as_image(image, name=name, allow_constant=True)
    notice_compiling()  # every computation on an image comes here first
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


def strips(shape: Sequence[int], n_features: int) -> tuple[int, list[slice]]:
    """Split the filtered shape along its longest non-last axis into strips of bounded size."""
    axis = strip_axis(shape)
    other = int(np.prod(shape, dtype=np.int64)) // shape[axis]
    budget = max(_STRIP_VOXELS * 24 // max(n_features, 1), 1)
    length = int(min(shape[axis], max(32, budget // max(other, 1))))
    return axis, [slice(i, min(i + length, shape[axis])) for i in range(0, shape[axis], length)]


def iter_tiles(
    spatial: Sequence[int], settings: FeatureSettings, n_features: int
) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...]]]:
    """Yield (leading index, filtered region) covering the whole image."""
    lead_shape = tuple(spatial[: len(spatial) - settings.ndim])
    filtered = tuple(spatial[len(spatial) - settings.ndim :])
    axis, parts = strips(filtered, n_features)
    for lead in np.ndindex(*lead_shape):
        for strip in parts:
            region = [slice(0, n) for n in filtered]
            region[axis] = strip
            yield lead, tuple(region)


def _mask_jobs(
    mask: np.ndarray, n_lead: int, n_features: int
) -> list[tuple[tuple[int, ...], tuple[slice, ...]]]:
    """(leading index, region) of each strip holding masked pixels: their bounding box."""
    filtered = mask.shape[n_lead:]
    axis, parts = strips(filtered, n_features)
    jobs = []
    for lead in np.ndindex(*mask.shape[:n_lead]):
        plane_mask = mask[lead]
        if not plane_mask.any():
            continue
        for strip in parts:
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
    return jobs


def masked_features(
    source: np.ndarray,
    settings: FeatureSettings,
    mask: np.ndarray,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Features (F, n) of the mask's pixels, computed only around them (C order of the mask)."""
    n_features = settings._n_features(source.shape[0])
    jobs = _mask_jobs(mask, source.ndim - 1 - settings.ndim, n_features)
    pieces = []
    for done, (lead, region) in enumerate(jobs, start=1):
        shape = tuple(sl.stop - sl.start for sl in region)
        planar = np.empty((n_features, *shape), np.float32)
        region_features(source[(slice(None), *lead)], settings, region, planar)
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
    gathered = []
    for lead, region in jobs:  # flat indices of each job's pixels, in the job's order
        found = np.nonzero(mask[(*lead, *region)])
        coords = [np.full(found[0].size, i) for i in lead]
        coords += [c + sl.start for c, sl in zip(found, region, strict=True)]
        gathered.append(np.ravel_multi_index(coords, mask.shape))
    return np.argsort(np.concatenate(gathered), kind="stable")
