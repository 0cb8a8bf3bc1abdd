"""The reading half of :mod:`napari_seglab.core.io`: formats, and images opened lazily."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import SegLabInputError
from ._ome import ImageMetadata, is_ome_zarr, read_ome_zarr

if TYPE_CHECKING:
    import dask.array as da

__all__ = [
    "GROUPED_CHUNK_BYTES",
    "PARTIAL",
    "TIFF",
    "ZARR",
    "grouped_chunks",
    "image_format",
    "is_zarr_store",
    "open_image",
    "regroup",
]

ZARR, TIFF, PLAIN, NPY = "zarr", "tiff", "plain", "npy"
_SUFFIXES = {
    ".zarr": ZARR,
    ".tif": TIFF,
    ".tiff": TIFF,
    ".png": PLAIN,
    ".jpg": PLAIN,
    ".jpeg": PLAIN,
    ".bmp": PLAIN,
    ".npy": NPY,
}
_ZARR_MARKERS = ("zarr.json", ".zarray", ".zgroup")
PARTIAL = ".partial"


def is_zarr_store(path: str | Path) -> bool:
    """Whether `path` is a folder holding zarr metadata (``zarr.json``, ``.zarray``, ...)."""
    path = Path(path)
    return path.is_dir() and any((path / m).exists() for m in _ZARR_MARKERS)


def image_format(path: str | Path) -> str:
    """The format SegLab reads or writes at `path`: ``"zarr"``, ``"tiff"``, ``"plain"``, ``"npy"``.

    A folder holding ``zarr.json`` or ``.zarray`` is a zarr store whatever its name.

    Raises
    ------
    SegLabInputError
        For an unknown suffix.

    Examples
    --------
    >>> image_format("volume.zarr"), image_format("stack.TIF"), image_format("tile.png")
    ('zarr', 'tiff', 'plain')
    """
    path = Path(path)
    if is_zarr_store(path):
        return ZARR
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        known = ", ".join(sorted(_SUFFIXES))
        raise SegLabInputError(
            f"{path.name}: unknown image format {suffix or '(no suffix)'!r}. SegLab reads and "
            f"writes {known}."
        )
    return _SUFFIXES[suffix]


def _zarr_array(node: Any, path: Path) -> Any:
    """The array of a zarr node: itself, the only array of a group, or level 0 of a pyramid."""
    import zarr

    if isinstance(node, zarr.Array):
        return node
    names = sorted(name for name, _ in node.arrays())
    if not names:
        raise SegLabInputError(
            f"{path} is a zarr group without any image array in it (only "
            f"{', '.join(sorted(n for n, _ in node.groups())) or 'nothing'}); point to the "
            "array itself, e.g. volume.zarr/0."
        )
    if len(names) == 1:
        return node[names[0]]
    if "0" in names:
        return node["0"]
    raise SegLabInputError(
        f"{path} holds several arrays ({', '.join(names)}); point to one of them, "
        f"e.g. {path / names[0]}."
    )


GROUPED_CHUNK_BYTES = 16 << 20
"""The size to which chunk-by-chunk work (``seglab`` threshold, clean, evaluate; Apply to
whole volume) groups smaller chunks: per chunk, dask, zarr and the merge of labels cost about
a millisecond each, more than a 64^3 chunk's own work. Not for classification, whose memory
follows the chunk size times the number of features."""


def grouped_chunks(
    chunks: tuple[int, ...],
    shape: tuple[int, ...],
    itemsize: int,
    min_bytes: int,
    keep: tuple[int, ...] = (),
) -> tuple[int, ...]:
    """Chunks of about `min_bytes` made of whole blocks of a file's `chunks`.

    The axis with the shortest chunk is doubled (the last axis first on ties) until the next
    doubling would pass `min_bytes`; an axis stops growing at its full length, and the axes
    in `keep` (e.g. an OME-Zarr channel axis, of which one channel is read) keep their
    chunks. File chunks are never split: chunks already of `min_bytes` or more are returned
    as they are. Each task then reads a block of file chunks in one call instead of one
    chunk per task, which for small file chunks (64^3 voxels, single planes) costs more
    than the work itself.

    Examples
    --------
    >>> grouped_chunks((64, 64, 64), (256, 2048, 2048), 1, 16 << 20)
    (256, 256, 256)
    >>> grouped_chunks((1, 512, 512), (799, 8026, 17480), 2, 16 << 20)
    (32, 512, 512)
    >>> grouped_chunks((64, 512, 512), (64, 2048, 2048), 1, 16 << 20)
    (64, 512, 512)
    """
    out = [min(c, n) for c, n in zip(chunks, shape, strict=True)]
    while True:
        growable = [a for a in range(len(out)) if out[a] < shape[a] and a not in keep]
        if not growable:
            return tuple(out)
        axis = min(growable, key=lambda a: (out[a], -a))
        grown = min(2 * out[axis], shape[axis])
        if int(np.prod(out)) // out[axis] * grown * itemsize > min_bytes:
            return tuple(out)
        out[axis] = grown


def regroup(array: da.Array, min_bytes: int = GROUPED_CHUNK_BYTES) -> da.Array:
    """`array` in chunks of whole blocks of its own chunks, of about `min_bytes`
    (:func:`grouped_chunks` of its largest chunk; unchanged if those are as large).

    A dask rechunk: for a zarr store, ``open_image(path, min_chunk_bytes=...)`` reads the
    groups directly, which is faster still.

    Examples
    --------
    >>> import dask.array as da
    >>> regroup(da.zeros((64, 1024, 1024), dtype="u1", chunks=64), 4 << 20).chunksize
    (64, 256, 256)
    """
    chunks = grouped_chunks(array.chunksize, array.shape, array.dtype.itemsize, min_bytes)
    return array if chunks == array.chunksize else array.rechunk(chunks)


def _from_zarr(array: Any, min_chunk_bytes: int | None, keep: tuple[int, ...] = ()) -> da.Array:
    """A zarr array as a dask array in its own chunks, or in those chunks grouped to
    `min_chunk_bytes` but along the axes in `keep` (each group read in one call)."""
    import dask.array as da

    chunks = array.chunks
    if min_chunk_bytes and array.size:
        chunks = grouped_chunks(
            chunks, array.shape, array.dtype.itemsize, min_chunk_bytes, tuple(keep)
        )
    return da.from_zarr(array, chunks=chunks)


def _read_tiff(path: Path, min_chunk_bytes: int | None) -> da.Array:
    """A TIFF file's one image series, read page by page (or tile by tile)."""
    import tifffile
    import zarr

    with tifffile.TiffFile(path) as tif:
        series = [s for s in tif.series if not getattr(s, "is_thumbnail", False)]
        if len(series) > 1:
            shapes = ", ".join(str(tuple(s.shape)) for s in series[:4])
            raise SegLabInputError(
                f"{path.name} holds {len(series)} separate images ({shapes}"
                f"{', ...' if len(series) > 4 else ''}); SegLab reads one image per file. "
                "Save the one you need as its own TIFF (e.g. in Fiji) and use that."
            )
    store = tifffile.imread(path, aszarr=True)
    return _from_zarr(_zarr_array(zarr.open(store, mode="r"), path), min_chunk_bytes)


def _read_plain(path: Path) -> da.Array:
    """A PNG/JPEG/BMP file, read whole (these are small)."""
    import dask.array as da
    import imageio.v3 as iio

    try:
        pixels = iio.imread(path)
    except Exception as err:  # imageio's advice (install a video plugin) would mislead
        raise SegLabInputError(
            f"{path.name} is not a readable {path.suffix[1:].upper()} image: the file is "
            "damaged, or another kind of file renamed. Open it in an image viewer, or save "
            "it again as PNG or TIFF."
        ) from err
    if pixels.ndim == 3 and pixels.shape[-1] == 2:  # grey and alpha: the alpha is no image
        pixels = pixels[..., 0]
    return da.from_array(pixels, chunks="auto")


def _read_npy(path: Path) -> da.Array:
    """A ``.npy`` file, memory-mapped."""
    import dask.array as da

    try:
        pixels = np.load(path, mmap_mode="r")
    except ValueError as err:
        if "Python objects" not in str(err):
            raise
        raise SegLabInputError(
            f"{path.name} holds Python objects, not pixel values; save a numeric array "
            "(e.g. np.save(path, image.astype('uint16')))."
        ) from None
    return da.from_array(pixels, chunks="auto")


def _single_level(path: Path, level: int, channel: int | None) -> None:
    """Refuse a level or channel of an image that is no OME-Zarr pyramid."""
    if level != 0:
        raise SegLabInputError(
            f"level={level}: {path.name} is not an OME-Zarr pyramid; it has one level only "
            "(level 0). Leave out the level."
        )
    if channel is not None:
        raise SegLabInputError(
            f"channel={channel}: {path.name} is not an OME-Zarr image with a channel axis. "
            "Leave out the channel (for an RGB image, take image[..., N])."
        )


def _read(
    path: Path, kind: str, level: int, channel: int | None, min_chunk_bytes: int | None
) -> da.Array:
    """The image at `path`, of format `kind`, as a dask array (read lazily where possible;
    zarr-backed formats in chunks grouped to `min_chunk_bytes`, see :func:`_from_zarr`)."""

    if kind == ZARR:
        import zarr

        if path.is_file():
            raise SegLabInputError(
                f"{path} is a file, but a zarr store is a folder: the file was renamed or "
                "copied wrongly; point to the real store."
            )
        if path.is_dir() and not is_zarr_store(path):
            raise SegLabInputError(
                f"{path} is a folder but not a zarr store (it has no zarr.json or .zarray "
                "inside); point to the store, or to an image file."
            )
        node = zarr.open(path, mode="r")
        if is_ome_zarr(node):
            return read_ome_zarr(
                node,
                path,
                level=level,
                channel=channel,
                reader=lambda array, keep: _from_zarr(array, min_chunk_bytes, keep),
            )
        _single_level(path, level, channel)
        return _from_zarr(_zarr_array(node, path), min_chunk_bytes)
    _single_level(path, level, channel)
    if kind == TIFF:
        return _read_tiff(path, min_chunk_bytes)
    if kind == NPY:
        return _read_npy(path)
    return _read_plain(path)


def open_image(
    path: str | Path,
    *,
    chunks: tuple[int, ...] | str | None = None,
    level: int = 0,
    channel: int | None = None,
    min_chunk_bytes: int | None = None,
) -> da.Array:
    """Open an image file or store as a lazy dask array, reading nothing yet.

    Parameters
    ----------
    path : str or pathlib.Path
        An OME-Zarr image (a ``.zarr`` group with NGFF ``multiscales`` metadata, version 0.4
        or newer), a zarr store (``.zarr`` folder; an array, or a group with one array or an
        array ``0``), a TIFF file (``.tif``/``.tiff`` holding one image series, read
        through tifffile's zarr interface), a PNG/JPEG/BMP file (read whole: these are
        small; the alpha channel of a grey-and-alpha PNG is dropped, an RGB(A) one keeps
        its channels last), or a ``.npy`` file (memory-mapped).
    chunks : tuple of int or "auto", optional
        Chunk shape to process with (one value per dimension of the image as returned).
        Default: the file's own chunks (zarr chunks, TIFF pages or tiles), or dask's
        automatic choice for the other formats.
    level : int
        The pyramid level of an OME-Zarr image: 0 (default) is full resolution, 1 the next
        smaller level, and so on.
    channel : int, optional
        The channel of an OME-Zarr image with a channel axis (``c``) of more than one
        channel; its channel axis is then dropped (as is a channel axis of one channel).
    min_chunk_bytes : int, optional
        Without `chunks`: group a zarr, OME-Zarr or TIFF file's chunks smaller than this
        into chunks of about this many bytes, whole blocks of file chunks
        (:func:`grouped_chunks`). Chunk-by-chunk work on a store of small chunks (64^3
        voxels, single planes) otherwise spends more time per chunk than on its voxels; the
        ``seglab`` command groups them to 16 MiB. Not for viewing: napari reads a whole
        chunk to show one plane of it.

    Returns
    -------
    dask.array.Array
        The image, with a ``metadata`` attribute (:class:`ImageMetadata`): for OME-Zarr the
        axes, scale, units and translation of the chosen level, whether the store holds
        labels, and the shapes of all levels; for other formats axes named from the number
        of dimensions and a scale of 1. Arrays computed from it do not carry it: pass it to
        :func:`save` to copy it into an ``.ome.zarr`` output.

    Raises
    ------
    SegLabInputError
        If the file is missing, incomplete (a ``.partial`` output of an interrupted run), of
        an unknown format, a folder that is not a zarr store, a zarr group without an
        array, a TIFF of several images, a ``.npy`` of Python objects, or cannot be decoded;
        if `level` or `channel` does not exist; for an OME-Zarr image of several channels
        without `channel`, with axes SegLab cannot use, or whose metadata does not match
        its arrays (a level listed but missing, a scale of the wrong length).

    Examples
    --------
    >>> from importlib.resources import files
    >>> image = open_image(files("napari_seglab") / "data" / "kesm_grayscale.png")
    >>> image.shape, image.dtype.name
    ((512, 512), 'uint8')
    >>> image.metadata.axes, image.metadata.scale
    (('y', 'x'), (1.0, 1.0))
    """

    path = Path(str(path))
    if path.name.endswith(PARTIAL):
        raise SegLabInputError(
            f"{path} is the incomplete output of an interrupted run; run that step again."
        )
    if not path.exists():
        raise SegLabInputError(f"{path} does not exist. Check the path and the spelling.")
    if path.is_dir() and not is_zarr_store(path) and path.suffix.lower() != ".zarr":
        raise SegLabInputError(
            f"{path} is a folder, not an image: point to an image file, or to a zarr store."
        )
    kind = image_format(path)
    try:
        array = _read(path, kind, level, channel, None if chunks is not None else min_chunk_bytes)
    except SegLabInputError:
        raise
    except Exception as err:  # a decoder's own error: say which file and why
        raise SegLabInputError(f"Could not read {path} as {kind}: {err}") from err
    metadata = getattr(array, "metadata", None) or ImageMetadata.default(array.shape)
    if chunks is not None:
        array = array.rechunk(chunks)
    array.metadata = metadata
    return array
