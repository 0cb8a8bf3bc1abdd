"""Open images lazily and store results safely, for data larger than memory.

:func:`open_image` turns a zarr store, a TIFF file (read through tifffile's zarr interface,
page by page or tile by tile), a PNG/JPEG or a ``.npy`` file into a dask array without reading
it whole. :func:`save` computes a (lazy) result chunk by chunk into a zarr store or a TIFF file
with progress and cancellation; it writes to ``<output>.partial`` and renames it only when
everything is written, so an interrupted run never leaves an output that looks complete.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._blocks import block_batches, distributed_client, local_threads
from ._validation import Cancelled, SegLabInputError

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["check_output", "image_format", "open_image", "save", "watch"]

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
PARTIAL = ".partial"
TIFF_LIMIT = 2**31
"""Largest output written as TIFF (2 GiB); larger results must go to a zarr store."""


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
    if path.is_dir() and any((path / m).exists() for m in ("zarr.json", ".zarray", ".zgroup")):
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
    if len(names) == 1:
        return node[names[0]]
    if "0" in names:
        return node["0"]
    raise SegLabInputError(
        f"{path} holds several arrays ({', '.join(names) or 'none'}); point to one of them, "
        f"e.g. {path / (names[0] if names else 'name')}."
    )


def _read(path: Path, kind: str) -> da.Array:
    """The image at `path`, of format `kind`, as a dask array (read lazily where possible)."""
    import dask.array as da

    if kind == ZARR:
        import zarr

        return da.from_zarr(_zarr_array(zarr.open(path, mode="r"), path))
    if kind == TIFF:
        import tifffile
        import zarr

        store = tifffile.imread(path, aszarr=True)
        return da.from_zarr(_zarr_array(zarr.open(store, mode="r"), path))
    if kind == NPY:
        return da.from_array(np.load(path, mmap_mode="r"), chunks="auto")
    import imageio.v3 as iio

    return da.from_array(iio.imread(path), chunks="auto")


def open_image(path: str | Path, *, chunks: tuple[int, ...] | str | None = None) -> da.Array:
    """Open an image file or store as a lazy dask array, reading nothing yet.

    Parameters
    ----------
    path : str or pathlib.Path
        A zarr store (``.zarr`` folder; a group with one array, or an OME-Zarr pyramid whose
        level ``0`` is used), a TIFF file (``.tif``/``.tiff``, read through tifffile's zarr
        interface), a PNG/JPEG/BMP file (read whole: these are small), or a ``.npy`` file
        (memory-mapped).
    chunks : tuple of int or "auto", optional
        Chunk shape to process with. Default: the file's own chunks (zarr chunks, TIFF pages
        or tiles), or dask's automatic choice for the other formats.

    Returns
    -------
    dask.array.Array

    Raises
    ------
    SegLabInputError
        If the file is missing, incomplete (a ``.partial`` output of an interrupted run), of
        an unknown format, or cannot be decoded.

    Examples
    --------
    >>> from importlib.resources import files
    >>> image = open_image(files("napari_seglab") / "data" / "kesm_grayscale.png")
    >>> image.shape, image.dtype.name
    ((512, 512), 'uint8')
    """

    path = Path(str(path))
    if path.name.endswith(PARTIAL):
        raise SegLabInputError(
            f"{path} is the incomplete output of an interrupted run; run that step again."
        )
    if not path.exists():
        raise SegLabInputError(f"{path} does not exist. Check the path and the spelling.")
    kind = image_format(path)
    try:
        array = _read(path, kind)
    except SegLabInputError:
        raise
    except Exception as err:  # a decoder's own error: say which file and why
        raise SegLabInputError(f"Could not read {path} as {kind}: {err}") from err
    if chunks is not None:
        array = array.rechunk(chunks)
    return array


class _Watch:
    """A dask callback reporting progress and raising :class:`Cancelled` when asked.

    It only acts on computations started from the thread that created it, so a viewer
    computing its own dask data at the same time is left alone.
    """

    def __init__(self, progress: Callable | None, cancel: Callable | None) -> None:
        from dask.callbacks import Callback

        thread = threading.get_ident()

        def posttask(key: Any, result: Any, dsk: Any, state: dict, worker_id: Any) -> None:
            if threading.get_ident() != thread:
                return
            if cancel is not None and cancel():
                raise Cancelled("Cancelled by the user.")
            if progress is not None:
                done = len(state["finished"])
                left = sum(len(state[k]) for k in ("ready", "waiting", "running"))
                progress(done, done + left)

        self.callback = Callback(posttask=posttask)


@contextlib.contextmanager
def watch(
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Iterator[None]:
    """Report progress of, and allow cancelling, every local dask computation in the block.

    Parameters
    ----------
    progress : callable, optional
        Called as ``progress(done, total)`` (tasks of the current computation) after each
        task.
    cancel : callable, optional
        Polled after each task; when it returns true the computation stops with
        :class:`Cancelled`.

    Examples
    --------
    >>> import dask.array as da
    >>> seen = []
    >>> with watch(lambda done, total: seen.append((done, total))):
    ...     total = da.ones(8, chunks=2).sum().compute()
    >>> seen[-1][0] == seen[-1][1]
    True
    """
    with _Watch(progress, cancel).callback:
        yield


def _compute(
    collection: Any,
    progress: Callable[[int, int], None] | None,
    cancel: Callable[[], bool] | None,
) -> Any:
    """Compute a dask collection (or a tuple of them, giving a tuple)."""
    client = distributed_client()
    if client is None:
        from concurrent.futures import ThreadPoolExecutor

        import dask

        # Our own pool: leaving the block waits for every task in flight, so that after a
        # failure or a cancel no thread is still writing when the output is cleaned away.
        # Its size follows dask's ``num_workers`` setting, as dask's own pool would.
        with watch(progress, cancel), ThreadPoolExecutor(local_threads()) as pool:
            if isinstance(collection, tuple):
                return dask.compute(*collection, scheduler="threads", pool=pool)
            return collection.compute(scheduler="threads", pool=pool)
    futures = client.compute(list(collection) if isinstance(collection, tuple) else [collection])
    while True:
        with contextlib.suppress(TimeoutError):
            results = tuple(f.result(timeout=0.25) for f in futures)
            return results if isinstance(collection, tuple) else results[0]
        if cancel is not None and cancel():
            client.cancel(futures)
            raise Cancelled("Cancelled by the user.")


def _store_in_batches(
    array: da.Array,
    store: Any,
    progress: Callable[[int, int], None] | None,
    cancel: Callable[[], bool] | None,
) -> None:
    """Store a bounded batch of chunks at a time (see ``_blocks.block_batches``).

    Each batch is one computation, so filters with halos and chained lazy steps hold a
    bounded number of chunks in memory, whatever the volume size and dask's task order.
    """
    import dask.array as da

    starts = [np.concatenate([[0], np.cumsum(c)]) for c in array.chunks]
    batches = list(block_batches(array))
    for i, batch in enumerate(batches):

        def overall(done: int, total: int, i: int = i) -> None:
            if progress is not None:
                progress(i * 1000 + 1000 * done // max(total, 1), len(batches) * 1000)

        regions = [
            tuple(slice(int(s[j]), int(s[j + 1])) for s, j in zip(starts, idx, strict=True))
            for idx in batch
        ]
        part = da.store(
            [array.blocks[idx] for idx in batch],
            [store] * len(batch),
            regions=regions,
            lock=False,
            compute=False,
        )
        _compute(part, overall, cancel)


def _write_zarr(
    array: da.Array,
    path: Path,
    attrs: dict | None,
    progress: Callable[[int, int], None] | None,
    cancel: Callable[[], bool] | None,
) -> None:
    import zarr

    store = zarr.open_array(
        path,
        mode="w",
        shape=array.shape,
        dtype=array.dtype,
        chunks=tuple(max(c) for c in array.chunks),
    )
    if attrs:
        store.attrs.update(attrs)
    # One chunk of output per chunk of data: no two tasks write the same zarr chunk.
    _store_in_batches(array.rechunk(store.chunks), store, progress, cancel)


def _write_tiff(
    array: da.Array,
    path: Path,
    progress: Callable[[int, int], None] | None,
    cancel: Callable[[], bool] | None,
) -> None:
    if array.nbytes > TIFF_LIMIT:
        raise SegLabInputError(
            f"The result is {array.nbytes / 2**30:.1f} GiB, too large for a TIFF file; write "
            "it to a .zarr store instead."
        )
    import tifffile

    tifffile.imwrite(path, _compute(array, progress, cancel), photometric="minisblack")


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def check_output(path: str | Path, *, overwrite: bool = False) -> Path:
    """Check that a result can be written at `path`, before any work is done.

    Parameters
    ----------
    path : str or pathlib.Path
        Where :func:`save` would write: a ``.zarr`` store or a ``.tif``/``.tiff`` file.
    overwrite : bool
        Whether an existing output may be replaced.

    Returns
    -------
    pathlib.Path
        The path.

    Raises
    ------
    SegLabInputError
        If the format is not zarr or TIFF, the output exists (and not `overwrite`), or its
        folder does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> check_output(pathlib.Path(tempfile.mkdtemp()) / "mask.zarr").name
    'mask.zarr'
    >>> check_output("mask.png")
    Traceback (most recent call last):
    ...
    napari_seglab.core._validation.SegLabInputError: mask.png: results are written as ...
    """
    path = Path(path)
    kind = image_format(path) if not path.is_dir() else ZARR
    if kind not in (ZARR, TIFF):
        raise SegLabInputError(
            f"{path.name}: results are written as .zarr (any size) or .tif (small), not "
            f"{path.suffix}."
        )
    if path.exists() and not overwrite:
        raise SegLabInputError(f"{path} already exists; choose another name or overwrite it.")
    if not path.parent.is_dir():
        raise SegLabInputError(f"The folder {path.parent} does not exist.")
    return path


def save(
    data: Any,
    path: str | Path,
    *,
    overwrite: bool = False,
    attrs: dict | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Path:
    """Compute `data` chunk by chunk and store it, atomically, as zarr or TIFF.

    The result is written to ``<path>.partial`` first and renamed to `path` only once
    complete: an interrupted or cancelled run leaves no output that looks finished (the
    partial store is removed, or, after a crash, refused by :func:`open_image`).

    Parameters
    ----------
    data : dask.array.Array or numpy.ndarray
        The result to store.
    path : str or pathlib.Path
        ``.zarr`` for any size (chunks kept), or ``.tif``/``.tiff`` for results up to 2 GiB.
    overwrite : bool
        Replace an existing output (only once the new one is complete).
    attrs : dict, optional
        Metadata stored with a zarr output (e.g. the parameters used).
    progress, cancel
        See :func:`watch`. With a dask.distributed client connected, the work runs on its
        cluster; `cancel` is polled and progress is left to the cluster's dashboard.

    Returns
    -------
    pathlib.Path
        The output path.

    Raises
    ------
    SegLabInputError
        If the output cannot be written (see :func:`check_output`), or a TIFF would exceed
        2 GiB.
    Cancelled
        If `cancel` returned true; nothing is left behind.

    Examples
    --------
    >>> import dask.array as da, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "ones.zarr"
    >>> save(da.ones((64, 64), chunks=32, dtype="uint8"), out).name
    'ones.zarr'
    >>> int(open_image(out).sum().compute())
    4096
    """
    import dask.array as da

    path = check_output(path, overwrite=overwrite)
    kind = image_format(path) if not path.is_dir() else ZARR
    array = data if isinstance(data, da.Array) else da.from_array(np.asarray(data))
    partial = path.with_name(path.name + PARTIAL)
    _remove(partial)  # left over from a run that was killed
    try:
        if kind == ZARR:
            _write_zarr(array, partial, attrs, progress, cancel)
        else:
            _write_tiff(array, partial, progress, cancel)
    except BaseException:
        _remove(partial)
        raise
    if path.exists():
        _remove(path)
    os.replace(partial, path)
    return path
