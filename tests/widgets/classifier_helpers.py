"""Helpers shared by the classifier widget and session tests."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import binary_erosion
from skimage.draw import disk

WAIT_MS = 300_000  # a cold numba cache compiles the core's kernels on the first fit


def stroke_disks(truth: np.ndarray, *, per_class: int = 20, radius: int = 2, seed: int = 0):
    """Labels 1 (background) and 2 (foreground) painted as a few disks inside the truth."""
    rng = np.random.default_rng(seed)
    strokes = np.zeros(truth.shape, np.uint8)
    for label, region in ((1, truth == 0), (2, truth > 0)):
        inside = np.argwhere(binary_erosion(region, np.ones((2 * radius + 1,) * 2, bool)))
        for r, c in inside[rng.choice(len(inside), min(per_class, len(inside)), replace=False)]:
            strokes[disk((r, c), radius, shape=truth.shape)] = label
    return strokes


def paint(layer, strokes: np.ndarray, index: tuple = ()) -> None:
    """Put strokes in a training layer the way the brush does: data, then the paint event."""
    plane = np.asarray(layer.data[index])  # a copy when the layer is a zarr array
    plane[strokes > 0] = strokes[strokes > 0]
    layer.data[index] = plane
    layer.refresh()
    layer.events.paint(value=[])


def wait_idle(qtbot, widget, timeout: int = WAIT_MS) -> None:
    """Until the widget's worker has finished and its result is applied."""
    qtbot.waitUntil(lambda: not widget.busy, timeout=timeout)
