"""Open images lazily and store results safely, for data larger than memory.

:func:`open_image` turns an OME-Zarr pyramid (one level and one channel, with its axes, scale
and units as :class:`ImageMetadata`), a zarr store, a TIFF file (read through tifffile's zarr
interface, page by page or tile by tile), a PNG/JPEG or a ``.npy`` file into a dask array
without reading it whole (in the file's own chunks, or in groups of them,
:func:`grouped_chunks`). :func:`save` computes a (lazy) result chunk by chunk into an
OME-Zarr pyramid, a zarr store or a TIFF file with progress and cancellation; it writes to
``<output>.partial`` and renames it only when everything is written, so an interrupted run
never leaves an output that looks complete, and it refuses an output that is, holds or lies
inside one of its inputs or their zarr groups (:func:`input_paths`).

The reading half is ``_read.py``, the writing half ``_write.py``; OME-Zarr metadata and
pyramid levels are in ``_ome.py``.
"""

from ._ome import ImageMetadata
from ._read import (
    GROUPED_CHUNK_BYTES,
    grouped_chunks,
    image_format,
    is_zarr_store,
    open_image,
    regroup,
)
from ._sources import input_paths
from ._write import TIFF_LIMIT, check_output, save, watch

__all__ = [
    "GROUPED_CHUNK_BYTES",
    "TIFF_LIMIT",
    "ImageMetadata",
    "check_output",
    "grouped_chunks",
    "image_format",
    "input_paths",
    "is_zarr_store",
    "open_image",
    "regroup",
    "save",
    "watch",
]
