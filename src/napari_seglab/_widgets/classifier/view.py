"""The part of a plane on screen: napari's camera and canvas turned into a region of the data.

Qt-free arithmetic (:func:`view_region`) and a thin reader of a viewer's camera
(:func:`region_in_view`), so that the live update segments what the user looks at first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ViewRegion", "camera_of", "region_in_view", "view_region"]


@dataclass(frozen=True)
class ViewRegion:
    """Rows and columns of a plane on screen, and how many data pixels share a screen pixel.

    `step` is the largest whole number of data pixels per screen pixel along both axes (1
    when zoomed in to a data pixel per screen pixel or more): a preview on every `step`-th
    pixel looks the same on screen as the full result.
    """

    rows: slice
    cols: slice
    step: int = 1

    @property
    def region(self) -> tuple[slice, slice]:
        return (self.rows, self.cols)

    @property
    def size(self) -> int:
        return (self.rows.stop - self.rows.start) * (self.cols.stop - self.cols.start)


def view_region(
    *,
    center: Sequence[float],
    zoom: float,
    canvas_size: Sequence[int],
    shape: Sequence[int],
    scale: Sequence[float] = (1.0, 1.0),
    translate: Sequence[float] = (0.0, 0.0),
) -> ViewRegion | None:
    """The region of a plane that a 2D view shows, clipped to the plane.

    Parameters
    ----------
    center : sequence of float
        World coordinates of the canvas centre along the two displayed axes (rows, columns):
        the last two values of napari's ``camera.center``.
    zoom : float
        Screen pixels per world unit (napari's ``camera.zoom``).
    canvas_size : sequence of int
        The canvas (height, width) in screen pixels (napari's ``viewer.canvas.size``).
    shape : sequence of int
        The plane's (rows, columns).
    scale, translate : sequence of float
        The layer's scale and translate along those two axes: world = data * scale +
        translate, data pixel ``i`` covering ``[i - 0.5, i + 0.5]``.

    Returns
    -------
    ViewRegion or None
        ``None`` when no pixel of the plane is on screen.

    Examples
    --------
    >>> view = view_region(center=(511.5, 511.5), zoom=2.0, canvas_size=(400, 600),
    ...                    shape=(1024, 1024))
    >>> view.rows, view.cols, view.step
    (slice(412, 612, None), slice(362, 662, None), 1)
    >>> view_region(center=(0, 0), zoom=0.25, canvas_size=(1000, 1000), shape=(4096, 4096),
    ...             scale=(2, 2)).step
    2
    """
    if zoom <= 0 or len(center) < 2 or len(canvas_size) != 2 or len(shape) != 2:
        raise ValueError("A view needs a positive zoom, a 2D centre, canvas size and shape.")
    slices, steps = [], []
    for c, size, n, s, t in zip(
        center[-2:], canvas_size, shape, scale[-2:], translate[-2:], strict=True
    ):
        half = size / zoom / 2
        ends = sorted(((c - half - t) / s, (c + half - t) / s))
        start = max(0, math.floor(ends[0] + 0.5))
        stop = min(int(n), math.ceil(ends[1] + 0.5))
        if stop <= start:
            return None
        slices.append(slice(start, stop))
        steps.append(1 / (zoom * abs(s)))
    return ViewRegion(slices[0], slices[1], max(1, math.floor(min(steps))))


def camera_of(viewer: Any) -> Any:
    """The viewer's camera (``viewer.scene.camera`` since napari 0.9, before it
    ``viewer.camera``)."""
    scene = getattr(viewer, "scene", None)
    return scene.camera if scene is not None else viewer.camera


def region_in_view(viewer: Any, layer: Any, shape: Sequence[int]) -> ViewRegion | None:
    """The region of `layer`'s plane (of `shape`, its last two axes) on `viewer`'s canvas.

    ``None`` when the view cannot be mapped to the plane simply: a 3D view, other axes than
    the layer's last two displayed, a rotated or sheared layer, or a canvas not shown yet.
    """
    dims, camera = viewer.dims, camera_of(viewer)
    height, width = (int(v) for v in viewer.canvas.size)
    ndim = dims.ndim
    if dims.ndisplay != 2 or tuple(dims.displayed) != (ndim - 2, ndim - 1):
        return None
    if min(height, width) <= 1 or layer.ndim < 2:
        return None
    plain = np.allclose(layer.affine.affine_matrix, np.eye(layer.ndim + 1))
    if not plain or not np.allclose(layer.rotate, np.eye(layer.ndim)) or np.any(layer.shear):
        return None
    return view_region(
        center=tuple(camera.center)[-2:],
        zoom=float(camera.zoom),
        canvas_size=(height, width),
        shape=tuple(shape)[-2:],
        scale=tuple(float(v) for v in layer.scale[-2:]),
        translate=tuple(float(v) for v in layer.translate[-2:]),
    )
