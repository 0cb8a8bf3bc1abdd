"""Open OME-Zarr pyramids in napari: File > Open on a ``.ome.zarr`` folder.

A thin shell over :func:`napari_seglab.core.io.open_image`: every level of the pyramid is
opened lazily, and napari gets them as one multiscale layer (it reads the level that fits
the screen) with the store's scale, translation, units and axis names. A store marked as
labels (``image-label`` metadata, as SegLab writes masks and labels) opens as a Labels
layer, an image as an Image layer, one layer per channel.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core import SegLabInputError
from ..core.io._ome import OME_SUFFIX, is_ome_path

__all__ = ["get_reader", "read_ome_zarr"]


def get_reader(path: str | list[str]) -> Callable[[Any], list[tuple]] | None:
    """napari's reader hook: :func:`read_ome_zarr` for an OME-Zarr store, else None."""
    from ..core.io import is_zarr_store

    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    if not is_ome_path(path) or not is_zarr_store(Path(path)):
        return None
    return read_ome_zarr


def _one_channel(path: Path, channel: int | None) -> tuple[list[Any], Any]:
    """Every level of one channel, full resolution first, and the metadata of level 0."""
    from ..core.io import open_image

    first = open_image(path, channel=channel)
    meta = first.metadata
    levels = [first] + [
        open_image(path, level=i, channel=channel) for i in range(1, len(meta.levels))
    ]
    return levels, meta


def read_ome_zarr(path: str | list[str]) -> list[tuple]:
    """The layers of an OME-Zarr store: one multiscale layer per channel, lazily.

    Parameters
    ----------
    path : str or list of str
        The ``.ome.zarr`` folder (napari passes a list of one).

    Returns
    -------
    list of LayerDataTuple
        ``(levels, properties, "image" or "labels")``: `levels` the dask arrays of the
        pyramid (a single array when the store has one level), `properties` with ``scale``,
        ``translate``, ``units`` and ``axis_labels`` from the store's metadata.

    Raises
    ------
    SegLabInputError
        For a store SegLab cannot read (see :func:`~napari_seglab.core.io.open_image`);
        napari shows the message.
    """
    path = Path(path[0] if isinstance(path, list) else path)
    try:
        channels: list[int | None] = [None]
        levels, meta = _one_channel(path, None)
    except SegLabInputError:  # several channels: one layer each (a bad store raises again)
        levels, meta = _one_channel(path, 0)
        channels = list(range(meta.channels))
    layers = []
    for channel in channels:
        if channel:
            levels, meta = _one_channel(path, channel)
        name = path.name[: -len(OME_SUFFIX)] or path.name
        if channel is not None:
            name = f"{name} channel {channel}"
        properties = {
            "name": name,
            "scale": meta.scale,
            "translate": meta.translation,
            "units": tuple(u or "pixel" for u in meta.units),
            "axis_labels": meta.axes,
            "multiscale": len(levels) > 1,
            "metadata": {"path": str(path), "level shapes": [list(s) for s in meta.levels]},
        }
        if channel is not None and not meta.labels:
            properties["blending"] = "additive"
        data = levels if len(levels) > 1 else levels[0]
        layers.append((data, properties, "labels" if meta.labels else "image"))
    return layers
