"""Where to paint next: the most uncertain compact regions of a classified plane.

A forest is always unsure on the one- or two-pixel border between two classes, however well
it learnt them; those borders say nothing about where a new stroke would help. So the
uncertainty is smoothed (Gaussian, sigma 1 pixel), pixels with confidently classified pixels of
two classes within `border` pixels are left out, the remaining uncertain pixels are opened
(thin lines vanish), and each connected region of at least `min_size` pixels becomes a
suggestion, ranked by its total uncertainty (size times mean, unsmoothed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import is_lazy
from .._validation import SegLabInputError

__all__ = ["RegionSuggestion", "suggest_regions"]


@dataclass(frozen=True)
class RegionSuggestion:
    """One region worth painting in, from :func:`suggest_regions`.

    Attributes
    ----------
    score : float
        Total uncertainty of the region (sum over its pixels); suggestions are sorted by it.
    mean_uncertainty : float
        Mean uncertainty of its pixels.
    size : int
        Number of pixels.
    centre : tuple of float
        Centre of mass in the input's coordinates (the plane's index first, for a stack).
    bbox : tuple of (int, int)
        ``(start, stop)`` per axis of the input (``(i, i + 1)`` on a stack's plane axes).
    """

    score: float
    mean_uncertainty: float
    size: int
    centre: tuple[float, ...]
    bbox: tuple[tuple[int, int], ...]

    @property
    def slices(self) -> tuple[slice, ...]:
        """The bounding box as slices, to index the image: ``image[s.slices]``."""
        return tuple(slice(a, b) for a, b in self.bbox)


def _plane_of(
    array: ArrayLike, plane: Sequence[int] | None, name: str
) -> tuple[np.ndarray, tuple[int, ...]]:
    if is_lazy(array):
        raise SegLabInputError(
            f"suggest_regions needs the {name} of one plane in memory, not a dask array; "
            f"compute that plane first, e.g. numpy.asarray({name}[plane])."
        )
    arr = np.asarray(array)
    if arr.ndim < 2:
        raise SegLabInputError(f"The {name} must have at least 2 dimensions, not {arr.ndim}.")
    lead = arr.ndim - 2
    if lead and plane is None:
        raise SegLabInputError(
            f"The {name} has shape {arr.shape}: pass plane= (the index of its first "
            f"{lead} axis/axes) to choose the plane to suggest regions on."
        )
    index = tuple(int(i) for i in (plane or ()))
    if len(index) != lead or not all(-n <= i < n for i, n in zip(index, arr.shape, strict=False)):
        raise SegLabInputError(
            f"plane={tuple(plane or ())} does not index the first {lead} axes of shape "
            f"{arr.shape}."
        )
    index = tuple(i % n for i, n in zip(index, arr.shape, strict=False))
    return arr[index], index


def suggest_regions(
    uncertainty: ArrayLike,
    labels: ArrayLike | None = None,
    *,
    plane: Sequence[int] | None = None,
    n_regions: int = 5,
    min_uncertainty: float = 0.2,
    border: int = 3,
    min_size: int = 30,
) -> list[RegionSuggestion]:
    """The most uncertain compact regions of a plane: where a new stroke helps most.

    Parameters
    ----------
    uncertainty : array_like
        ``(Y, X)``, or ``(..., Y, X)`` with `plane`: e.g. ``Segmentation.uncertainty``
        (``1 - max probability``), values in [0, 1].
    labels : array_like, optional
        Predicted class of each pixel, the shape of `uncertainty`. Pixels with confident
        pixels (below `min_uncertainty`) of two classes within `border` pixels are ignored:
        borders between classes are always uncertain. Without labels, only the opening
        removes thin uncertain lines.
    plane : sequence of int, optional
        Index of the plane along the leading axes of a stack (needed when there are any).
    n_regions : int
        At most this many suggestions.
    min_uncertainty : float
        Pixels at least this uncertain may form a region (0.2 with two classes: the forest
        gives the winning class under 80 %).
    border : int
        Pixels around class borders to ignore (bands up to twice as wide vanish), and
        radius of the opening.
    min_size : int
        Smallest region (pixels, after the opening) worth suggesting.

    Returns
    -------
    list of RegionSuggestion
        Most uncertain first (by total uncertainty); empty when nothing is uncertain enough.
        Centres and boxes are in the input's coordinates (the plane's index included).

    Raises
    ------
    SegLabInputError
        Dask input (compute the plane first), fewer than 2 dimensions, a missing or wrong
        `plane`, labels of another shape, or an option out of range.

    Examples
    --------
    >>> import numpy as np
    >>> uncertainty = np.zeros((64, 64), np.float32)
    >>> uncertainty[10:20, 40:52] = 0.45   # a patch the forest is unsure about
    >>> uncertainty[:, 30] = 0.5           # a one-pixel class border: always unsure
    >>> [s.bbox for s in suggest_regions(uncertainty)]
    [((10, 20), (40, 52))]
    """
    if int(n_regions) < 1 or int(border) < 0 or int(min_size) < 1:
        raise SegLabInputError(
            "n_regions and min_size must be at least 1 and border at least 0; got "
            f"{n_regions}, {min_size}, {border}."
        )
    if not 0 <= float(min_uncertainty) <= 1:
        raise SegLabInputError(f"min_uncertainty must lie in [0, 1], not {min_uncertainty}.")
    from scipy import ndimage as ndi

    values, index = _plane_of(uncertainty, plane, "uncertainty")
    values = values.astype(np.float32, copy=False)
    classes = None
    if labels is not None:
        if np.shape(labels) != np.shape(uncertainty):
            raise SegLabInputError(
                f"labels of shape {np.shape(labels)} do not match the uncertainty's "
                f"{np.shape(uncertainty)}."
            )
        classes, _ = _plane_of(labels, plane, "labels")
    smooth = ndi.gaussian_filter(values, 1.0)
    candidates = smooth >= float(min_uncertainty)
    border = int(border)
    if classes is not None and border:
        confident = smooth < float(min_uncertainty)
        near = np.zeros(values.shape, np.uint8)
        for class_id in np.unique(classes[confident]):
            near += ndi.maximum_filter((classes == class_id) & confident, 2 * border + 1)
        candidates &= near < 2
    if border:
        disk = np.hypot(*np.mgrid[-border : border + 1, -border : border + 1]) <= border
        candidates = ndi.binary_opening(candidates, disk)
    regions, n_found = ndi.label(candidates)
    if not n_found:
        return []
    ids = np.arange(1, n_found + 1)
    sizes = np.bincount(regions.ravel(), minlength=n_found + 1)[1:]
    totals = ndi.sum_labels(values, regions, ids)
    order = [i for i in np.argsort(-totals, kind="stable") if sizes[i] >= int(min_size)]
    boxes = ndi.find_objects(regions)
    out = []
    for i in order[: int(n_regions)]:
        box = boxes[i]  # the centre from the region's box alone, not the whole plane
        inside = ndi.center_of_mass(values[box], regions[box], i + 1)
        centre = [c + sl.start for c, sl in zip(inside, box, strict=True)]
        out.append(
            RegionSuggestion(
                score=float(totals[i]),
                mean_uncertainty=float(totals[i] / sizes[i]),
                size=int(sizes[i]),
                centre=tuple(float(c) for c in (*index, *centre)),
                bbox=(*((c, c + 1) for c in index), *((s.start, s.stop) for s in box)),
            )
        )
    return out
