"""Objects from a mask (connected components, or touching objects split by a watershed), or
the objects of an instance labels image as they are numbered."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import is_lazy
from .._validation import SegLabInputError
from ._checks import check_instance_values, check_spacing, foreground_of, instance_labels_of

__all__ = ["ObjectLabels", "SplitMethod", "label_objects"]


class SplitMethod(StrEnum):
    """How a mask becomes objects (or a labels image gives its own)."""

    COMPONENTS = "components"  # every connected region is one object
    WATERSHED = "watershed"  # touching objects split by a distance-transform watershed
    LABELS = "labels"  # an instance labelling already: each value is one object, kept


@dataclass(frozen=True)
class ObjectLabels:
    """The objects found by :func:`label_objects`.

    Attributes
    ----------
    labels : numpy.ndarray or dask.array.Array
        0 = background, 1 to `n_objects` = the objects, in the smallest unsigned integer
        type that holds them; the input's shape (a dask array for a dask input). With the
        ``"labels"`` method the objects keep the input's own numbers instead (gaps and large
        numbers such as 65535 included), so they need not run from 1 to `n_objects`.
    n_objects : int
        The number of objects (of distinct positive values).
    method : str
        ``"components"``, ``"watershed"`` or ``"labels"``.
    seeds : str
        How the watershed was seeded (``""`` for the other methods).
    min_size : int
        Objects of fewer pixels were dropped.
    spacing : tuple of float or None
        The pixel size per axis used by the distance transform.
    per_plane : bool
        Whether each plane along the first axis was labelled on its own.
    """

    labels: Any
    n_objects: int
    method: str
    seeds: str = ""
    min_size: int = 0
    spacing: tuple[float, ...] | None = None
    per_plane: bool = False

    def describe(self) -> str:
        """One line for a status bar or a log.

        Examples
        --------
        >>> import numpy as np
        >>> mask = np.zeros((5, 9), bool); mask[1:4, 1:4] = mask[1:4, 5:8] = True
        >>> label_objects(mask).describe()
        '2 objects (connected components)'
        """
        how = _DESCRIBED[self.method]
        parts = [how] + [self.seeds] * bool(self.seeds)
        if self.min_size > 1:
            parts.append(f"at least {self.min_size} pixels")
        if self.per_plane:
            parts.append("per plane")
        noun = "object" if self.n_objects == 1 else "objects"
        return f"{self.n_objects} {noun} ({', '.join(parts)})"


_DESCRIBED = {"components": "connected components", "watershed": "watershed",
              "labels": "as labelled"}  # fmt: skip


def _as_labelled(data: Any, min_size: int) -> tuple[Any, int]:
    """The objects of an instance labels image: its positive values, with their numbers.

    Objects of fewer than `min_size` pixels become 0; the others keep their numbers. The
    result is a copy (never the input itself), in the smallest unsigned type that holds the
    largest number kept; lazy (chunk by chunk) for a dask input, whose values are counted
    chunk by chunk.
    """
    from ._lazy import counts_lazy
    from ._sums import label_counts

    arr = instance_labels_of(data)
    lazy = is_lazy(arr)
    low, high, ids, counts = (counts_lazy if lazy else label_counts)(arr)
    check_instance_values(low, high, ids.size)
    small = ids[counts < min_size]
    kept = ids[counts >= min_size]
    dtype = np.min_scalar_type(int(kept.max(initial=0)))
    if lazy:
        return arr.map_blocks(_kept, small, dtype, dtype=dtype), kept.size
    return _kept(arr, small, dtype), kept.size


def _kept(labels: np.ndarray, small: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A copy of `labels` in `dtype`, with the objects numbered in `small` set to 0."""
    out = labels.astype(dtype)  # always a copy
    if small.size:
        out[np.isin(labels, small)] = 0
    return out


def _structure(ndim: int, connectivity: int, per_plane: bool) -> np.ndarray:
    from scipy import ndimage as ndi

    if per_plane and ndim < 3:
        raise SegLabInputError(
            "Labelling each plane alone needs a stack of planes (3 or more axes); this image "
            "is 2D: untick 'each plane alone' (per_plane=False in Python)."
        )
    if not 1 <= connectivity <= ndim - per_plane:
        raise SegLabInputError(
            f"Connectivity must be 1 to {ndim - per_plane} for these objects, not {connectivity}."
        )
    structure = ndi.generate_binary_structure(ndim - per_plane, connectivity)
    if per_plane:  # nothing joins along the first axis
        structure = np.stack([np.zeros_like(structure), structure, np.zeros_like(structure)])
    return structure


def _seeds(landscape: np.ndarray, components: np.ndarray, options: dict) -> np.ndarray:
    """Watershed markers: h-maxima of the landscape, or peaks at least min_distance apart."""
    from scipy import ndimage as ndi

    if options["h"] is not None:
        from skimage.morphology import h_maxima

        maxima = h_maxima(landscape, options["h"]).astype(bool) & (components > 0)
        return ndi.label(maxima, options["structure"])[0]
    from skimage.feature import peak_local_max

    peaks = peak_local_max(
        landscape,
        min_distance=options["min_distance"],
        footprint=options["footprint"],
        labels=components,
        exclude_border=False,
    )
    markers = np.zeros(landscape.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return markers


def _watershed(
    mask: np.ndarray, probability: np.ndarray | None, spacing: tuple | None, options: dict
) -> np.ndarray:
    """Split the objects of one image (2D or 3D) along the valleys of the landscape.

    The landscape is the distance to the background (in physical units with `spacing`), or
    the probability itself; a region in which no seed was found stays one object.
    """
    from scipy import ndimage as ndi
    from skimage.segmentation import watershed

    structure = options["structure"]
    if probability is not None and options["use_probability"]:
        landscape = probability.astype(np.float64)
    else:
        landscape = ndi.distance_transform_edt(mask, sampling=spacing)
    components = ndi.label(mask, structure)[0]
    markers = _seeds(landscape, components, options)
    labels = watershed(-landscape, markers, mask=mask, connectivity=options["connectivity"])
    missed = mask & (labels == 0)
    if missed.any():
        extra = ndi.label(missed, structure)[0]
        labels[missed] = extra[missed] + labels.max()
    return labels


def _sized(labels: np.ndarray, min_size: int) -> tuple[np.ndarray, int]:
    """Drop objects under `min_size` pixels, renumber 1..n in order, smallest type."""
    from skimage.segmentation import relabel_sequential

    if min_size > 1:
        sizes = np.bincount(labels.ravel())
        small = sizes < min_size
        small[0] = False
        labels = np.where(small[labels], 0, labels)
    labels = relabel_sequential(labels)[0]
    n = int(labels.max())
    return labels.astype(np.min_scalar_type(n), copy=False), n


def _eager(mask, probability, spacing, options, per_plane) -> tuple[np.ndarray, int]:
    from scipy import ndimage as ndi

    if options["method"] is SplitMethod.COMPONENTS:
        return _sized(ndi.label(mask, options["structure"])[0], options["min_size"])
    if not per_plane:
        return _sized(_watershed(mask, probability, spacing, options), options["min_size"])
    options = {**options, "structure": options["structure"][1]}
    planes, top = [], 0
    for i in range(mask.shape[0]):
        plane = _watershed(
            mask[i], None if probability is None else probability[i], spacing, options
        )
        planes.append(np.where(plane > 0, plane + top, 0))
        top = int(planes[-1].max(initial=top))
    return _sized(np.stack(planes), options["min_size"])


def label_objects(
    mask_or_probability: ArrayLike,
    *,
    method: SplitMethod | str = "components",
    min_distance: int = 5,
    h: float | None = None,
    footprint: np.ndarray | None = None,
    use_probability: bool = False,
    min_size: int = 0,
    spacing: tuple[float, ...] | None = None,
    per_plane: bool = False,
    connectivity: int = 1,
) -> ObjectLabels:
    """Turn a mask (or a foreground probability map) into numbered objects, or take the
    objects of an instance labels image as they are.

    ``"components"``: every connected region is one object (:func:`scipy.ndimage.label`).
    ``"watershed"``: touching objects are split along the valleys of the distance to the
    background (:func:`scipy.ndimage.distance_transform_edt`, honouring `spacing`), flooded
    by :func:`skimage.segmentation.watershed` from one seed per object: the peaks of the
    distance at least `min_distance` pixels apart (:func:`skimage.feature.peak_local_max`,
    within each connected region), or its h-maxima (:func:`skimage.morphology.h_maxima`)
    when `h` is given. A region without a seed stays one object.
    ``"labels"``: the input is an instance labelling already (e.g. from Cellpose, StarDist
    or an expert): each positive value is one object and keeps its number, so that a table
    of :func:`measure_objects` matches the input's numbers (a mask is then one object).

    Parameters
    ----------
    mask_or_probability : array_like or dask.array.Array
        A mask (booleans, or integers 0 and one positive value) or a foreground probability
        map (floats in [0, 1]; foreground where >= 0.5), 2D or 3D, or a stack of those. For
        ``"labels"``, an instance labels image: non-negative integers, 0 = background, one
        value per object (any numbers up to 2**63 - 1, gaps allowed).
    method : {"components", "watershed", "labels"}
    min_distance : int
        Watershed seeds: the smallest distance between two seeds, in pixels.
    h : float, optional
        Watershed seeds: the maxima at least `h` higher than their surroundings, in the
        landscape's units (physical units with `spacing`; probability with
        `use_probability`). Overrides `min_distance`.
    footprint : numpy.ndarray of bool, optional
        Neighbourhood of a peak, for :func:`skimage.feature.peak_local_max`.
    use_probability : bool
        Flood the probability map instead of the distance transform (it must dip between
        touching objects); needs a probability map.
    min_size : int
        Objects of fewer pixels (voxels) are dropped, after splitting (``"labels"``: set
        to 0, the others keeping their numbers).
    spacing : sequence of float, optional
        Physical pixel size per axis (e.g. a napari layer's ``scale``): the distance
        transform is anisotropic with it. Default: 1 on every axis.
    per_plane : bool
        Label each plane along the first axis on its own (a time-lapse); numbers stay unique
        across the stack. The first spacing value is then ignored. Needs 3 or more axes.
        Refused with ``"labels"``, whose objects are given.
    connectivity : int
        1 = objects touch through faces only; up to the objects' dimensions = also through
        corners. Not used by ``"labels"``.

    Returns
    -------
    ObjectLabels
        The labels and how they were made. For a dask input the labels are a dask array:
        components are labelled chunk by chunk with objects numbered across chunk borders,
        without loading the volume; ``"labels"`` are passed through chunk by chunk (their
        values counted chunk by chunk now). The labels are never the input array itself.

    Raises
    ------
    SegLabInputError
        A labels image where a mask is needed, negative or NaN values, a probability outside
        [0, 1], no foreground, a spacing of the wrong length, a bad connectivity, `per_plane`
        on a 2D image or with ``"labels"``, floating-point values or numbers above
        2**63 - 1 for ``"labels"``, or the watershed on a dask array (refused: a watershed
        needs whole objects, and a per-chunk watershed would cut objects at chunk borders;
        label a region that fits in memory, e.g. ``np.asarray(volume[...])``).

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((9, 16), bool)
    >>> yy, xx = np.mgrid[:9, :16]
    >>> mask[(yy - 4) ** 2 + (xx - 4) ** 2 <= 12] = True  # two touching disks
    >>> mask[(yy - 4) ** 2 + (xx - 10) ** 2 <= 12] = True
    >>> label_objects(mask).n_objects
    1
    >>> label_objects(mask, method="watershed", min_distance=3).n_objects
    2
    >>> cells = np.array([[0, 7, 7, 0], [0, 7, 0, 65535], [3, 0, 0, 65535]])
    >>> objects = label_objects(cells, method="labels", min_size=2)  # 3 is one pixel
    >>> objects.labels
    array([[    0,     7,     7,     0],
           [    0,     7,     0, 65535],
           [    0,     0,     0, 65535]], dtype=uint16)
    >>> objects.describe()
    '2 objects (as labelled, at least 2 pixels)'
    """
    method = SplitMethod(method)
    ndim = np.ndim(mask_or_probability)
    spacing = check_spacing(spacing, ndim)
    if method is SplitMethod.LABELS:
        if per_plane:
            raise SegLabInputError(
                "'As labelled' keeps the objects as they are numbered, so 'each plane alone' "
                "does not apply: untick it (per_plane=False in Python)."
            )
        labels, n = _as_labelled(mask_or_probability, int(min_size))
        return ObjectLabels(labels, n, method.value, "", int(min_size), spacing)
    structure = _structure(ndim, connectivity, per_plane)
    if is_lazy(mask_or_probability) and method is SplitMethod.WATERSHED:
        raise SegLabInputError(
            "The watershed needs whole objects, so it does not run chunk by chunk on a volume "
            "that is not in memory (dask, zarr): choose connected components (method="
            "'components' in Python), or split a region that fits in memory (in Python, e.g. "
            "np.asarray(volume[10:20]))."
        )
    if h is not None and not h > 0:
        raise SegLabInputError(f"h must be positive (or None for min_distance), not {h}.")
    if min_distance < 1:
        raise SegLabInputError(f"min_distance must be at least 1 pixel, not {min_distance}.")
    mask, probability = foreground_of(mask_or_probability, use_probability=use_probability)
    options = {
        "method": method, "min_distance": int(min_distance), "h": h, "footprint": footprint,
        "use_probability": use_probability, "min_size": int(min_size), "structure": structure,
        "connectivity": connectivity,
    }  # fmt: skip
    if is_lazy(mask):
        from ..cleanup import label_lazy

        labels, n = label_lazy(mask, structure, min_size=int(min_size))
    else:
        labels, n = _eager(mask, probability, spacing and spacing[per_plane:], options, per_plane)
    seeds = ""
    if method is SplitMethod.WATERSHED:
        seeds = f"h-maxima h={h:g}" if h is not None else f"seeds {min_distance} px apart"
        seeds += " of the probability" * bool(use_probability)
    return ObjectLabels(labels, n, method.value, seeds, int(min_size), spacing, per_plane)
