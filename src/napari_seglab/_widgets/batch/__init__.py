"""Apply to whole volume: threshold, clean up or classify a large image chunk by chunk.

A thin shell over the chunked core (the lazy halves of :mod:`napari_seglab.core`) and
:func:`napari_seglab.core.io.save`: the layer's data (dask, zarr or numpy) is processed chunk
by chunk off the GUI thread, written atomically to a zarr store with progress and a working
Cancel, and shown lazily as the Labels layer ``"<image> volume"`` (updated on re-run).
An output that is, holds or lies inside the files the layer reads is refused, and an existing
output is replaced only after a question (:meth:`BatchWidget.confirm_overwrite`).
"""

from ._work import Operation
from .widget import BatchWidget

__all__ = ["BatchWidget", "Operation"]
