"""One row per object: size, position and intensity, in physical units."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import is_lazy
from .._validation import SegLabInputError, check_same_shape
from ._checks import check_labels, check_spacing

__all__ = ["PROPERTIES", "ObjectTable", "measure_objects"]

PROPERTIES = (
    "label",
    "area",
    "centroid",
    "bbox",
    "intensity_mean",
    "intensity_max",
    "eccentricity",
    "solidity",
)
"""What :func:`measure_objects` can measure (names of :func:`skimage.measure.regionprops`)."""

_SHAPE_ONLY = ("eccentricity", "solidity")  # need the whole object, and 2D
_INTENSITY = ("intensity_mean", "intensity_max")


@dataclass(frozen=True)
class ObjectTable:
    """Measurements of labelled objects: one row per object, one numpy array per column.

    Attributes
    ----------
    columns : dict of str to numpy.ndarray
        ``label``, ``area`` (volume in 3D; in physical units with a spacing),
        ``centroid-<axis>`` (physical units), ``bbox-<i>`` (pixels: the first pixel on each
        axis, then one past the last), ``intensity_mean``, ``intensity_max``,
        ``eccentricity``, ``solidity``, as :func:`skimage.measure.regionprops_table` names
        them, for those measured.
    omitted : tuple of str
        Properties that were asked for or default but not measured, and why.
    """

    columns: dict[str, np.ndarray]
    omitted: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.columns["label"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @property
    def names(self) -> list[str]:
        """The column names, in order."""
        return list(self.columns)

    def to_csv(self, path: str | Path) -> Path:
        """Write the table as a CSV file (a header row, then one row per object).

        Examples
        --------
        >>> import numpy as np, tempfile, pathlib
        >>> table = measure_objects(np.array([[1, 1, 0], [0, 0, 2]]), properties=("label", "area"))
        >>> path = table.to_csv(pathlib.Path(tempfile.mkdtemp()) / "objects.csv")
        >>> path.read_text().splitlines()
        ['label,area', '1,2.0', '2,1.0']
        """
        path = Path(path)
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(self.names)
            writer.writerows(zip(*(c.tolist() for c in self.columns.values()), strict=True))
        return path


def _chosen(properties: Any, ndim: int, intensity: bool, lazy: bool) -> tuple[list, list]:
    """The properties to measure, and notes on those left out (a default, not a request)."""
    asked = properties is not None
    chosen = list(PROPERTIES if properties is None else properties)
    unknown = [p for p in chosen if p not in PROPERTIES]
    if unknown:
        raise SegLabInputError(f"Unknown properties {unknown}; choose from {list(PROPERTIES)}.")
    reasons = {}
    for p in _INTENSITY:
        if not intensity:
            reasons[p] = "no intensity image"
    for p in _SHAPE_ONLY:
        if ndim != 2:
            reasons[p] = "2D only"
        elif lazy:
            reasons[p] = "needs whole objects: not measured on lazy (dask) labels"
    refused = [p for p in chosen if p in reasons]
    if asked and refused:
        raise SegLabInputError(
            "Cannot measure " + "; ".join(f"{p} ({reasons[p]})" for p in refused) + "."
        )
    return [p for p in chosen if p not in reasons], [f"{p}: {reasons[p]}" for p in refused]


def measure_objects(
    labels: ArrayLike,
    intensity: ArrayLike | None = None,
    *,
    spacing: tuple[float, ...] | None = None,
    properties: tuple[str, ...] | None = None,
) -> ObjectTable:
    """Measure every labelled object: size, centroid, bounding box, intensity, shape.

    Parameters
    ----------
    labels : array_like or dask.array.Array
        Labels image (0 = background, each positive integer one object), 2D or 3D, e.g.
        ``label_objects(mask).labels``.
    intensity : array_like or dask.array.Array, optional
        An image of the same shape whose values are measured in each object.
    spacing : sequence of float, optional
        Physical pixel size per axis (a napari layer's ``scale``): areas, volumes and
        centroids are then in physical units (bounding boxes stay in pixels).
    properties : sequence of str, optional
        Which of :data:`PROPERTIES` to measure (``"label"`` is always a good first one).
        Default: all that apply; intensities need `intensity`, eccentricity and solidity
        need 2D labels in memory.

    Returns
    -------
    ObjectTable
        One row per label present, in increasing label order; the same values as
        :func:`skimage.measure.regionprops_table` (up to float rounding), computed from sums
        over all objects at once rather than object by object, so that tens of thousands of
        objects take a fraction of a second (solidity visits each object that is not a
        rectangle). For dask labels (and intensity) the table is computed chunk by chunk
        (partial sums per chunk, merged per label) without loading the volume; eccentricity
        and solidity are left out there.

    Raises
    ------
    SegLabInputError
        A mask instead of labels, floats or negative values, object numbers above 2**63 - 1
        (uint64), an intensity image of another shape, a spacing of the wrong length, or a
        property that cannot be measured.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.zeros((4, 6), np.uint8); labels[0:2, 0:2] = 1; labels[1:4, 3:6] = 2
    >>> table = measure_objects(labels, spacing=(0.5, 0.5), properties=("label", "area"))
    >>> table["label"].tolist(), table["area"].tolist()
    ([1, 2], [1.0, 2.25])
    """
    arr = check_labels(labels)
    spacing = check_spacing(spacing, arr.ndim)
    values = None
    if intensity is not None:
        values = intensity if is_lazy(intensity) else np.asarray(intensity)
        check_same_shape(arr, values, ("labels image", "intensity image"))
    lazy = is_lazy(arr) or is_lazy(values)
    chosen, omitted = _chosen(properties, arr.ndim, values is not None, lazy)
    if lazy:
        from ._lazy import measure_lazy

        return ObjectTable(measure_lazy(arr, values, spacing, chosen), tuple(omitted))
    return ObjectTable(_measure_eager(arr, values, spacing, chosen), tuple(omitted))


def _measure_eager(
    labels: np.ndarray, values: np.ndarray | None, spacing: tuple | None, chosen: list[str]
) -> dict[str, np.ndarray]:
    """The columns for numpy labels, from whole-image sums per label, in `chosen`'s order."""
    from ._shape import eccentricity, solidity
    from ._sums import block_stats, columns_of

    ndim = labels.ndim
    stats = block_stats(labels, values, (0,) * ndim)
    found = [] if stats is None else [stats]
    columns = columns_of(found, ndim, spacing, chosen, intensity=values is not None)
    if stats is None:
        columns |= {name: np.zeros(0) for name in _SHAPE_ONLY}
    else:
        ids, parts = stats
        if "eccentricity" in chosen:
            scale = np.ones(ndim) if spacing is None else np.asarray(spacing)
            centroid = parts["sum"] / parts["count"]
            columns["eccentricity"] = eccentricity(labels, ids, centroid, scale)
        if "solidity" in chosen:
            low, high = parts["low"], parts["high"]
            columns["solidity"] = solidity(labels, ids, parts["count"], low, high)
    return {
        name: column
        for p in chosen
        for name, column in columns.items()
        if name == p or name.startswith(f"{p}-")
    }
