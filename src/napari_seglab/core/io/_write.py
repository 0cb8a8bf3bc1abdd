"""The writing half of :mod:`napari_seglab.core.io`: results stored safely, progress, cancel."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._blocks import block_batches, block_locator, distributed_client, local_threads
from .._validation import Cancelled, SegLabInputError
from ._ome import (
    ImageMetadata,
    check_metadata,
    downsample,
    is_ome_path,
    level_factors,
    write_ome_metadata,
)
from ._read import _SUFFIXES, PARTIAL, TIFF, ZARR, is_zarr_store
from ._sources import check_not_an_input, input_paths

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["TIFF_LIMIT", "check_output", "save", "watch"]

TIFF_LIMIT = 2**31
"""Largest output written as TIFF (2 GiB); larger results must go to a zarr store."""


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
        from dask.threaded import get

        # Our own pool: leaving the block waits for every task in flight, so that after a
        # failure or a cancel no thread is still writing when the output is cleaned away.
        # Its size follows dask's ``num_workers`` setting, as dask's own pool would. (The
        # threaded scheduler itself, not its name, so that dask does not import
        # dask.distributed to look for a client.)
        with watch(progress, cancel), ThreadPoolExecutor(local_threads()) as pool:
            if isinstance(collection, tuple):
                return dask.compute(*collection, scheduler=get, pool=pool)
            return collection.compute(scheduler=get, pool=pool)
    futures = client.compute(list(collection) if isinstance(collection, tuple) else [collection])
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                results = tuple(f.result(timeout=0.25) for f in futures)
                return results if isinstance(collection, tuple) else results[0]
            if progress is not None:
                progress(sum(f.done() for f in futures), len(futures))
            if cancel is not None and cancel():
                raise Cancelled("Cancelled by the user.")
    except BaseException:
        # Nothing may still be writing once the caller cleans the output away.
        client.cancel(futures)
        _wait_until_idle(client, collection)
        raise


def _wait_until_idle(client: Any, collection: Any, timeout: float = 60.0) -> None:
    """Wait until no task of `collection` runs on a worker any more (a cancelled task that
    already started runs to its end), or `timeout` seconds."""
    import time

    import dask

    # The keys the scheduler knows: those of the graph optimised as ``client.compute`` did.
    parts = dask.optimize(*(collection if isinstance(collection, tuple) else (collection,)))
    keys = {str(key) for part in parts for key in part.__dask_graph__()}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = {str(key) for found in client.processing().values() for key in found}
        if not running & keys:
            return
        time.sleep(0.05)


def _store_in_batches(
    array: da.Array,
    store: Any,
    progress: Callable[[int, int], None] | None,
    cancel: Callable[[], bool] | None,
) -> None:
    """Store a bounded batch of chunks at a time (see ``_blocks.block_batches``).

    Each batch is one computation, so filters with halos and chained lazy steps hold a
    bounded number of chunks in memory, whatever the volume size and dask's task order.
    One task per chunk writes it, all made at once: ``dask.array.store`` per batch would
    build a graph and hash the zarr array again for every chunk.
    """
    import uuid

    ndim = array.ndim
    locate = block_locator(array.chunks)

    def write(block: np.ndarray, block_id: tuple[int, ...] = ()) -> np.ndarray:
        # block_id, not block_info: dask makes a dict of every chunk's location for that
        store[locate(block_id)] = block
        return np.zeros((1,) * ndim, bool)

    written = array.map_blocks(
        write,
        dtype=bool,
        chunks=tuple((1,) * n for n in array.numblocks),
        name=f"seglab-store-{uuid.uuid4().hex}",
    )
    tasks = written.to_delayed(optimize_graph=False)
    batches = list(block_batches(array))
    for i, batch in enumerate(batches):

        def overall(done: int, total: int, i: int = i) -> None:
            if progress is not None:
                progress(i * 1000 + 1000 * done // max(total, 1), len(batches) * 1000)

        _compute(tuple(tasks[idx] for idx in batch), overall, cancel)


def _chunk_config() -> dict:
    """How SegLab writes zarr chunks: every chunk is stored, empty ones too.

    zarr otherwise compares each chunk with the fill value before writing it, which takes
    several times longer than compressing it (LZ4 and other Blosc settings were no faster;
    see ``benchmarks/README.md``, "Throughput"); a compressed empty chunk takes a few bytes.
    """
    return {"write_empty_chunks": True}


def _codecs() -> list:
    """Zstandard at level 1 rather than zarr's default 3: faster to compress, as fast to
    decompress, and no larger on masks and images (measured chunk by chunk and on the
    pipeline of ``benchmarks/bench_large.py``; see ``benchmarks/README.md``)."""
    import zarr

    return [zarr.codecs.BytesCodec(), zarr.codecs.ZstdCodec(level=1)]


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
        config=_chunk_config(),
        codecs=_codecs(),
    )
    if attrs:
        store.attrs.update(attrs)
    # One chunk of output per chunk of data: no two tasks write the same zarr chunk.
    _store_in_batches(array.rechunk(store.chunks), store, progress, cancel)


def _write_ome_zarr(
    array: da.Array,
    path: Path,
    attrs: dict | None,
    pyramid: tuple[ImageMetadata, bool, list],
    progress: Callable[[int, int], None] | None,
    cancel: Callable[[], bool] | None,
) -> None:
    """An OME-Zarr pyramid: level 0 as `array`, each next level from the one written before.

    Every level is written chunk by chunk like a plain zarr store (bounded memory); the next
    one is read back from disk and downsampled lazily, so the pipeline behind `array` runs
    once and no level is ever held whole.
    """
    import dask.array as da
    import zarr

    meta, labels, factors = pyramid
    names = [str(i) for i in range(len(factors))]
    sizes = [
        float(np.prod([n // f for n, f in zip(array.shape, fs, strict=True)])) for fs in factors
    ]
    before = np.concatenate([[0.0], np.cumsum(sizes)]) / sum(sizes)
    chunks = tuple(max(c) for c in array.chunks)
    group = zarr.open_group(path, mode="w", zarr_format=3)
    level = array
    for i, name in enumerate(names):

        def overall(done: int, total: int, i: int = i) -> None:
            if progress is not None:
                share = before[i] + (before[i + 1] - before[i]) * done / max(total, 1)
                progress(int(1000 * share), 1000)

        if i > 0:
            previous = da.from_zarr(zarr.open_array(path / names[i - 1], mode="r"))
            step = tuple(f // p for f, p in zip(factors[i], factors[i - 1], strict=True))
            level = downsample(previous, step, labels=labels)
            level = level.rechunk(
                tuple(min(c, n) for c, n in zip(chunks, level.shape, strict=True))
            )
        _write_zarr(level, path / name, None, overall, cancel)
    write_ome_metadata(group, meta, names, factors, labels=labels)
    if attrs:
        group.attrs.update(attrs)


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


def _paths_of(given: Any) -> tuple[Any, ...]:
    """An input given as a path, or the files an array reads."""
    return (given,) if isinstance(given, str | os.PathLike) else input_paths(given)


def check_output(path: str | Path, *, overwrite: bool = False, inputs: Iterable[Any] = ()) -> Path:
    """Check that a result can be written at `path`, before any work is done.

    Parameters
    ----------
    path : str or pathlib.Path
        Where :func:`save` would write: a ``.zarr`` store or a ``.tif``/``.tiff`` file.
    overwrite : bool
        Whether an existing output may be replaced.
    inputs : iterable of path or array
        What the result is computed from: paths, or (lazy) arrays whose files are found with
        :func:`input_paths`. An output that is, holds or lies inside one of them is refused
        even with `overwrite`: writing it would destroy the data being read.

    Returns
    -------
    pathlib.Path
        The path.

    Raises
    ------
    SegLabInputError
        If the format is not zarr or TIFF, the output exists (and not `overwrite`), is a
        folder that is not a zarr store, overlaps an input, or its folder does not exist or
        cannot be written to.

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
    if path.is_dir() and not is_zarr_store(path):
        raise SegLabInputError(
            f"{path} is a folder that is not a zarr store; SegLab never replaces it. Give the "
            "path of a new .zarr store or .tif file (e.g. inside that folder)."
        )
    kind = ZARR if path.is_dir() else _SUFFIXES.get(path.suffix.lower())
    if kind not in (ZARR, TIFF):
        raise SegLabInputError(
            f"{path.name}: results are written as .zarr (any size) or .tif (small), not "
            f"{path.suffix or 'a name without suffix'}."
        )
    check_not_an_input(path, [p for given in inputs for p in _paths_of(given)])
    if path.exists() and not overwrite:
        raise SegLabInputError(f"{path} already exists; choose another name or overwrite it.")
    if not path.parent.is_dir():
        raise SegLabInputError(f"The folder {path.parent} does not exist.")
    if not os.access(path.parent, os.W_OK):
        raise SegLabInputError(
            f"The folder {path.parent} cannot be written to (read-only); choose another one."
        )
    return path


def _pyramid_of(
    array: da.Array, metadata: Any, labels: bool | None, levels: int | None
) -> tuple[ImageMetadata, bool, list]:
    """The metadata, downsampling and levels of an OME-Zarr output, checked before any work."""
    meta = check_metadata(metadata, array.shape)
    if labels is None:
        labels = meta.labels or not np.issubdtype(array.dtype, np.floating)
    factors = level_factors(array.shape, meta, levels)  # refuses too many levels now
    return meta, bool(labels), factors


def save(
    data: Any,
    path: str | Path,
    *,
    overwrite: bool = False,
    attrs: dict | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    inputs: Iterable[Any] = (),
    metadata: ImageMetadata | None = None,
    labels: bool | None = None,
    levels: int | None = None,
) -> Path:
    """Compute `data` chunk by chunk and store it, atomically, as OME-Zarr, zarr or TIFF.

    The result is written to ``<path>.partial`` first and renamed to `path` only once
    complete: an interrupted or cancelled run leaves no output that looks finished (the
    partial store is removed, or, after a crash, refused by :func:`open_image`).

    Parameters
    ----------
    data : dask.array.Array or numpy.ndarray
        The result to store.
    path : str or pathlib.Path
        ``.ome.zarr`` for an OME-Zarr (NGFF 0.5) pyramid of any size, ``.zarr`` for one
        plain zarr array (chunks kept), or ``.tif``/``.tiff`` for results up to 2 GiB.
    overwrite : bool
        Replace an existing output (only once the new one is complete).
    attrs : dict, optional
        Metadata stored with a zarr output (e.g. the parameters used).
    progress, cancel
        See :func:`watch`. With a dask.distributed client connected, the work runs on its
        cluster; `cancel` is polled and progress is left to the cluster's dashboard.
    inputs : iterable of path or array
        More inputs the output must not overwrite (see :func:`check_output`). The files
        `data` itself reads (zarr stores, TIFF files in its dask graph) are always checked.
    metadata : ImageMetadata, optional
        Axes, scale, units and translation written into an ``.ome.zarr`` output, e.g.
        ``open_image(input).metadata`` of the image the result was computed from. Default:
        `data`'s own ``metadata`` (an image from :func:`open_image`), else axes named from
        the number of dimensions and a scale of 1.
    labels : bool, optional
        How an ``.ome.zarr`` pyramid is downsampled: labels and masks by taking every
        second pixel (values are never averaged; the store is marked as labels), images by
        the mean of 2 x 2 pixels. Default: labels for boolean and integer data, an image for
        floating-point data; pass ``labels=False`` to average an integer image.
    levels : int, optional
        How many levels an ``.ome.zarr`` pyramid has (each halves y and x; z, time and
        channels are kept). Default: halve until y and x are at most 256.

    Returns
    -------
    pathlib.Path
        The output path.

    Raises
    ------
    SegLabInputError
        If the output cannot be written (see :func:`check_output`: e.g. it is one of the
        inputs), a TIFF would exceed 2 GiB, `metadata` does not fit `data`, or a pyramid of
        `levels` levels cannot be made of it.
    Cancelled
        If `cancel` returned true; nothing is left behind.

    Examples
    --------
    >>> import dask.array as da, tempfile, pathlib
    >>> from napari_seglab.core.io import open_image
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "ones.zarr"
    >>> save(da.ones((64, 64), chunks=32, dtype="uint8"), out).name
    'ones.zarr'
    >>> int(open_image(out).sum().compute())
    4096
    >>> pyramid = save(da.ones((64, 64), chunks=32), out.with_name("ones.ome.zarr"), levels=3)
    >>> open_image(pyramid, level=2).shape, open_image(pyramid, level=2).metadata.scale
    ((16, 16), (4.0, 4.0))
    """
    import dask.array as da

    path = check_output(path, overwrite=overwrite, inputs=(data, *inputs))
    kind = ZARR if path.is_dir() else _SUFFIXES[path.suffix.lower()]
    array = data if isinstance(data, da.Array) else da.from_array(np.asarray(data))
    pyramid = None
    if kind == ZARR and is_ome_path(path):
        pyramid = _pyramid_of(array, metadata or getattr(data, "metadata", None), labels, levels)
    partial = path.with_name(path.name + PARTIAL)
    _remove(partial)  # left over from a run that was killed
    try:
        if pyramid is not None:
            _write_ome_zarr(array, partial, attrs, pyramid, progress, cancel)
        elif kind == ZARR:
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
