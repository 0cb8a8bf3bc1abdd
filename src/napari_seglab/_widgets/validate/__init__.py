"""Validation widget: compare a segmentation with a ground truth, pixel and object level.

A thin shell over :func:`napari_seglab.core.metrics.evaluate` and
:func:`napari_seglab.core.metrics.confusion_masks`, computed off the GUI thread
(:mod:`.widget`). It adds four Labels layers ``"<prediction> TP"``, ``"... FP"``, ``"... FN"``,
``"... TN"`` (updated in place when re-run; TN hidden by default; those of an earlier
prediction are hidden) and fills a metrics table (:mod:`.tables`), with a column per plane
for 3D or time data after the total. A prediction with several values needs its foreground
class (:mod:`.foreground`). Lazy layers (dask, zarr) are compared chunk by chunk: nothing is
loaded whole, and their confusion layers stay lazy (object metrics need in-memory layers).
A status line names the layers the results shown belong to; a refused or cancelled run
changes nothing and says whose the results still shown are. Layers of one shape that do not
overlay in the viewer are compared pixel by pixel, with a warning (:mod:`.placement`).
"""

from .tables import Palette
from .widget import ValidationWidget

__all__ = ["Palette", "ValidationWidget"]
