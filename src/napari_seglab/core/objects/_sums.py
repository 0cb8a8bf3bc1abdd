"""Per-label sums of one array (a numpy image, or one chunk of a dask one), and the columns.

For each label an array holds: its voxel count, the sums of its coordinates, its smallest and
largest coordinates, and the sum and maximum of the intensity. Chunks' partial sums of the same
label add up (or give their minimum / maximum), so the same columns come from a whole image
at once or from a volume chunk by chunk. All of it is a few numpy passes over the foreground,
with no Python loop per object.
"""

from __future__ import annotations

import numpy as np

__all__ = ["block_stats", "columns_of", "label_counts"]

# How each partial column is merged across chunks.
_MERGE = {"count": np.add, "sum": np.add, "low": np.minimum, "high": np.maximum,
          "isum": np.add, "imax": np.maximum}  # fmt: skip
_PER_AXIS = ("sum", "low", "high")
_DTYPES = {"count": np.int64, "low": np.int64, "high": np.int64}  # the others are floats


def grouped(ids: np.ndarray, parts: dict[str, np.ndarray]) -> tuple[np.ndarray, dict]:
    """Merge the rows of equal id (``parts`` columns are 1D, or 2D with one row per axis)."""
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    merged = {
        key: _MERGE[key].reduceat(value[..., order], starts, axis=-1)
        for key, value in parts.items()
    }
    return ids[starts], merged


def label_counts(block: np.ndarray) -> tuple[int, int, np.ndarray, np.ndarray]:
    """``(lowest, highest, ids, counts)``: the value range of an integer (or boolean) array,
    its positive values in increasing order and the number of pixels of each.

    A table of counts over every value (:func:`numpy.bincount`) when the highest value is
    at most the array's size (or 65,535), else a sort of the foreground's values, so that
    large object numbers cost no large table. `ids` and `counts` are empty when a value is
    negative or above 2**63 - 1 (not object numbers).

    Examples
    --------
    >>> low, high, ids, counts = label_counts(np.array([[0, 7, 7], [65535, 0, 7]], np.uint16))
    >>> low, high, ids.tolist(), counts.tolist()
    (0, 65535, [7, 65535], [3, 1])
    """
    flat = block.ravel()
    low, high = int(flat.min()), int(flat.max())
    if low < 0 or high > np.iinfo(np.int64).max:
        return low, high, np.zeros(0, np.int64), np.zeros(0, np.int64)
    if high <= max(flat.size, 65_535):
        counts = np.bincount(flat.astype(np.int64) if flat.dtype == np.uint64 else flat)
        ids = np.flatnonzero(counts[1:]) + 1
        return low, high, ids.astype(np.int64), counts[ids].astype(np.int64)
    ids, counts = np.unique(flat[flat != 0], return_counts=True)
    return low, high, ids.astype(np.int64), counts.astype(np.int64)


def block_stats(block: np.ndarray, values: np.ndarray | None, origin: tuple) -> tuple | None:
    """``(ids, partial columns)`` of the labels in one array (None when it has none).

    `origin` is the position of the array's first pixel in the whole image.
    """
    flat = block.ravel()
    where = np.flatnonzero(flat)
    if where.size == 0:
        return None
    coords = np.stack(np.unravel_index(where, block.shape)) + np.asarray(origin)[:, None]
    parts = {"count": np.ones(where.size, np.int64), "sum": coords.astype(np.float64),
             "low": coords, "high": coords}  # fmt: skip
    if values is not None:
        v = values.ravel()[where].astype(np.float64)
        parts |= {"isum": v, "imax": v}
    return grouped(flat[where].astype(np.int64), parts)


def columns_of(
    found: list[tuple],
    ndim: int,
    spacing: tuple[float, ...] | None,
    chosen: list[str],
    *,
    intensity: bool,
) -> dict[str, np.ndarray]:
    """The table columns in `chosen` from the :func:`block_stats` of the blocks in `found`.

    `intensity` says whether the blocks were given intensity values.

    Names and values are those of :func:`skimage.measure.regionprops_table` (label, area,
    centroid, bbox, intensity_mean, intensity_max), up to float rounding; other names in
    `chosen` are skipped. No blocks give columns of length 0.

    Examples
    --------
    >>> labels = np.zeros((4, 6), np.uint8); labels[0:2, 0:2] = 1; labels[1:4, 2:6] = 2
    >>> found = [block_stats(labels, None, (0, 0))]
    >>> table = columns_of(found, 2, None, ["label", "area"], intensity=False)
    >>> {k: v.tolist() for k, v in table.items()}
    {'label': [1, 2], 'area': [4.0, 12.0]}
    """
    spacing = np.ones(ndim) if spacing is None else np.asarray(spacing, np.float64)
    keys = ["count", *_PER_AXIS] + ["isum", "imax"] * intensity
    empty = {
        k: np.zeros((ndim, 0) if k in _PER_AXIS else 0, _DTYPES.get(k, np.float64)) for k in keys
    }
    ids = np.concatenate([np.zeros(0, np.int64), *(f[0] for f in found)])
    parts = {k: np.concatenate([empty[k], *(f[1][k] for f in found)], axis=-1) for k in keys}
    if len(found) > 1:
        ids, parts = grouped(ids, parts)
    count = parts["count"]
    columns: dict[str, np.ndarray] = {}
    for name in chosen:
        if name == "label":
            columns["label"] = ids
        elif name == "area":
            columns["area"] = count * float(np.prod(spacing))
        elif name == "centroid":
            for a in range(ndim):
                columns[f"centroid-{a}"] = parts["sum"][a] / count * spacing[a]
        elif name == "bbox":
            columns |= {f"bbox-{a}": parts["low"][a] for a in range(ndim)}
            columns |= {f"bbox-{ndim + a}": parts["high"][a] + 1 for a in range(ndim)}
        elif name == "intensity_mean":
            columns[name] = parts["isum"] / count
        elif name == "intensity_max":
            columns[name] = parts["imax"]
    return columns
