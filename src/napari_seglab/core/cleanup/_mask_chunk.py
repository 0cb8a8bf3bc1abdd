"""One chunk of a mask, its objects and its background each labelled once.

The chunked clean-up labels each chunk twice: in the pass that finds the components' sizes
and in the pass that writes the result. Both take the same labels from here: the objects
(non-zero voxels) and, where holes are filled, the background, and which background
components each object touches. In 2D and 3D (:func:`._label.runs`) nothing but runs is
made; in more dimensions scipy's label images stand in.
"""

from __future__ import annotations

import numpy as np

from ._label import (
    image_faces,
    label_sizes,
    paint_runs,
    painted_faces,
    run_sizes,
    runs,
    runs_outside,
    unique_pairs,
)
from ._label import touching as run_touching

__all__ = ["MaskChunk"]


class MaskChunk:
    """The objects (labels ``1..n_objects``) and, if `background`, the background
    components (labels ``1..n_background``) of one chunk of a mask.

    Parameters
    ----------
    block : numpy.ndarray
        The chunk; its non-zero voxels are the objects.
    structure : numpy.ndarray of bool
        The neighbourhood (``scipy.ndimage.generate_binary_structure``), for both.
    background : bool
        Whether to label the background too.
    """

    def __init__(self, block: np.ndarray, structure: np.ndarray, background: bool) -> None:
        self.shape = block.shape
        self._structure = structure
        self._runs = runs(block, structure)
        if self._runs is not None:
            self.n_objects = int(self._runs[4])
            self.object_sizes = run_sizes(self._runs, block.size)
            if background:
                everything = np.ones(self._runs[1].size, bool)
                self._gaps = runs_outside(self._runs, everything, block.shape, structure)
                self.background_sizes = run_sizes(self._gaps, block.size)
                self.n_background = int(self._gaps[4])
            return
        self._objects, self.n_objects, self.object_sizes = label_sizes(block != 0, structure)
        if background:
            self._holes, self.n_background, self.background_sizes = label_sizes(
                block == 0, structure
            )

    def faces(
        self, object_values: np.ndarray, background_values: np.ndarray | None, top: int
    ) -> tuple[list, list]:
        """``(low, high)`` as :func:`._label.run_faces`: each face voxel holds
        ``object_values[its object]`` or ``background_values[its background component]``
        (0 where None), all at most `top`; index 0 of both must be 0."""
        if self._runs is None:
            return image_faces(
                self.paint(object_values, background_values, np.min_scalar_type(top))
            )
        parts = [(self._runs, object_values[self._runs[3]])]
        if background_values is not None:
            parts.append((self._gaps, background_values[self._gaps[3]]))
        return painted_faces(parts, self.shape, top)

    def touching(self, chosen: np.ndarray) -> np.ndarray:
        """``(2, k)`` pairs, each once: an object ``a`` where ``chosen[a]`` and a background
        component it touches (needs `background`)."""
        if self._runs is not None:
            return run_touching(self._runs, self._gaps, chosen, self.shape, self._structure)
        centre = np.array(self._structure.shape) // 2
        objects, holes = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for offset in np.argwhere(self._structure) - centre:
            sides = list(zip(offset, self.shape, strict=True))
            ours = tuple(slice(max(0, -d), n - max(0, d)) for d, n in sides)
            theirs = tuple(slice(max(0, d), n - max(0, -d)) for d, n in sides)
            a, b = self._objects[ours].ravel(), self._holes[theirs].ravel()
            near = chosen[a] & (b > 0)
            objects.append(a[near])
            holes.append(b[near])
        return unique_pairs(np.concatenate(objects), np.concatenate(holes), self.n_background)

    def paint(
        self, object_values: np.ndarray, background_values: np.ndarray | None, dtype: np.dtype
    ) -> np.ndarray:
        """The chunk with each object's voxels set to ``object_values[object]`` and each
        background component's to ``background_values[component]`` (0 where None)."""
        object_values = object_values.astype(dtype, copy=False)
        if self._runs is None:
            out = object_values[self._objects]
            if background_values is not None:  # disjoint from the objects
                out += background_values.astype(dtype, copy=False)[self._holes]
            return out
        out = np.zeros(self.shape, dtype)
        paint_runs(self._runs, object_values[self._runs[3]], out)
        if background_values is not None:  # disjoint from the objects' runs
            paint_runs(self._gaps, background_values.astype(dtype, copy=False)[self._gaps[3]], out)
        return out
