"""The lazy (dask) half of the measurements: per-chunk partial sums, merged per label.

Each chunk gives, for each label in it, its voxel count, the sums of its coordinates, its
smallest and largest coordinates and the sum and maximum of the intensity; the parts of an
object that lie in several chunks are added up (or their minimum / maximum taken) per
label. Nothing needs the whole volume, so only a batch of chunks is in memory at a time.
Eccentricity and solidity need each object whole and are not measured here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._blocks import block_batches, block_slices, compute

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["measure_lazy"]

# How each partial column is merged across chunks.
_MERGE = {"count": np.add, "sum": np.add, "low": np.minimum, "high": np.maximum,
          "isum": np.add, "imax": np.maximum}  # fmt: skip


def _grouped(ids: np.ndarray, parts: dict[str, np.ndarray]) -> tuple[np.ndarray, dict]:
    """Merge the rows of equal id (``parts`` columns are 1D, or 2D with one row per axis)."""
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    merged = {
        key: _MERGE[key].reduceat(value[..., order], starts, axis=-1)
        for key, value in parts.items()
    }
    return ids[starts], merged


def _block_stats(block: np.ndarray, values: np.ndarray | None, origin: tuple) -> tuple | None:
    """``(ids, partial columns)`` of the labels in one chunk (None when it has none)."""
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
    return _grouped(flat[where].astype(np.int64), parts)


def _partials(labels: da.Array, values: da.Array | None) -> list[tuple]:
    """The per-chunk partial columns, computed a batch of chunks at a time."""
    import dask

    stats = dask.delayed(_block_stats, pure=True)
    label_blocks = labels.to_delayed()
    value_blocks = None if values is None else values.to_delayed()
    origins = {idx: tuple(s.start for s in sl) for idx, sl in block_slices(labels.chunks)}
    found = []
    for batch in block_batches(labels):
        tasks = [
            stats(label_blocks[i], None if value_blocks is None else value_blocks[i], origins[i])
            for i in batch
        ]
        found.extend(part for part in compute(*tasks) if part is not None)
    return found


def measure_lazy(
    labels: Any, values: Any, spacing: tuple[float, ...] | None, chosen: list[str]
) -> dict[str, np.ndarray]:
    """The columns of :func:`measure_objects` for dask labels (and intensity).

    `chosen` holds no eccentricity or solidity. The values equal
    :func:`skimage.measure.regionprops_table`'s (up to float rounding).

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> labels = np.zeros((4, 6), np.uint8); labels[0:2, 0:2] = 1; labels[1:4, 2:6] = 2
    >>> table = measure_lazy(da.from_array(labels, chunks=2), None, None, ["label", "area"])
    >>> {k: v.tolist() for k, v in table.items()}
    {'label': [1, 2], 'area': [4.0, 12.0]}
    """
    import dask.array as da

    labels = (
        labels if isinstance(labels, da.Array) else da.from_array(labels, chunks=values.chunks)
    )
    if values is not None:
        values = da.asarray(values).rechunk(labels.chunks)
    ndim = labels.ndim
    spacing = np.ones(ndim) if spacing is None else np.asarray(spacing, np.float64)
    found = _partials(labels, values)
    keys = ["count", "sum", "low", "high"] + ["isum", "imax"] * (values is not None)
    empty = {k: np.zeros((ndim, 0) if k in ("sum", "low", "high") else 0) for k in keys}
    ids = np.concatenate([np.zeros(0, np.int64), *(f[0] for f in found)])
    parts = {k: np.concatenate([empty[k], *(f[1][k] for f in found)], axis=-1) for k in keys}
    ids, merged = _grouped(ids, parts) if ids.size else (ids, parts)
    count = merged["count"]
    columns: dict[str, np.ndarray] = {}
    for name in chosen:
        if name == "label":
            columns["label"] = ids
        elif name == "area":
            columns["area"] = count * float(np.prod(spacing))
        elif name == "centroid":
            for a in range(ndim):
                columns[f"centroid-{a}"] = merged["sum"][a] / count * spacing[a]
        elif name == "bbox":
            columns |= {f"bbox-{a}": merged["low"][a] for a in range(ndim)}
            columns |= {f"bbox-{ndim + a}": merged["high"][a] + 1 for a in range(ndim)}
        elif name == "intensity_mean":
            columns[name] = merged["isum"] / count
        elif name == "intensity_max":
            columns[name] = merged["imax"]
    return columns
