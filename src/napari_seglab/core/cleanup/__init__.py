"""Clean up a segmentation: remove small objects and fill small holes.

Every function takes a numpy array or a dask array; a dask array is processed chunk by
chunk with objects measured across chunk borders (:mod:`._lazy`, :mod:`._components`), with
the same result as in memory.
"""

from ._eager import clean_up, fill_small_holes, remove_small_objects
from ._label_lazy import label_lazy

__all__ = ["clean_up", "fill_small_holes", "label_lazy", "remove_small_objects"]
