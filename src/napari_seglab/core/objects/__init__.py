"""Objects: split a mask into numbered objects, and measure each one.

:func:`label_objects` turns a mask (or a foreground probability map) into an instance labels
image, by connected components or by a distance-transform watershed that splits touching
objects, or takes an instance labels image as it is numbered (``method="labels"``);
:func:`measure_objects` gives one row per object (size, centroid, bounding box, intensity,
shape) in physical units. Both take numpy or dask arrays; a dask array is labelled and
measured chunk by chunk (objects numbered across chunk borders by the clean-up's cross-chunk
labelling), except for the watershed, which refuses it.
"""

from ._measure import PROPERTIES, ObjectTable, measure_objects
from ._split import ObjectLabels, SplitMethod, label_objects

__all__ = [
    "PROPERTIES",
    "ObjectLabels",
    "ObjectTable",
    "SplitMethod",
    "label_objects",
    "measure_objects",
]
