"""Chunk machinery shared by the lazy (dask) halves of every capability.

Nothing here knows about thresholds, objects or classifiers: which arrays are lazy, how
much halo a filter may borrow from neighbouring chunks, how the blocks of a chunk layout
are walked a bounded batch at a time, and how many threads will run them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import SegLabInputError

if TYPE_CHECKING:
    import dask.array as da

__all__ = [
    "BATCH_BYTES",
    "block_batches",
    "block_locator",
    "block_slices",
    "check_chunks",
    "compute",
    "distributed_client",
    "halo_depth",
    "is_lazy",
    "local_threads",
    "one_per_block",
    "parallelism",
    "per_plane_reduce",
    "slabs",
    "sum_in_batches",
    "tree_reduce",
]


def is_lazy(data: Any) -> bool:
    """True for a dask array, which SegLab then processes chunk by chunk.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> is_lazy(np.zeros((4, 4))), is_lazy(da.zeros((4, 4)))
    (False, True)
    """
    if type(data).__module__.split(".")[0] != "dask":
        return False
    import dask.array as da

    return isinstance(data, da.Array)


def check_chunks(image: da.Array, depth: dict[int, int], what: str) -> None:
    """Refuse chunks too thin for the halo a filter needs.

    Parameters
    ----------
    image : dask.array.Array
    depth : dict of int to int
        Halo width, in pixels, along each filtered axis.
    what : str
        The filter, for the message (e.g. ``"a median of size 5"``).

    Raises
    ------
    SegLabInputError
        If the largest chunk along an axis is smaller than its halo (only the last chunk of
        an axis may be smaller; dask merges it with its neighbour).

    Examples
    --------
    >>> import dask.array as da
    >>> check_chunks(da.zeros((64, 64), chunks=32), {0: 2, 1: 2}, "a median of size 5")
    """
    for axis, d in depth.items():
        biggest = max(image.chunks[axis])
        if biggest < min(d, image.shape[axis]):
            raise SegLabInputError(
                f"The chunks are {biggest} pixels along axis {axis}, but {what} needs a halo "
                f"of {d} pixels: use chunks of at least {min(d, image.shape[axis])} (better: much "
                "larger) pixels along that axis."
            )


def halo_depth(image: da.Array, wanted: dict[int, int]) -> dict[int, int]:
    """Halo per axis; none along an axis held in a single chunk (nothing to borrow from)."""
    return {
        axis: (0 if len(image.chunks[axis]) == 1 else min(d, image.shape[axis] - 1))
        for axis, d in wanted.items()
    }


def block_locator(chunks: tuple[tuple[int, ...], ...]) -> Callable[[tuple[int, ...]], tuple]:
    """The slices of a block of a chunk layout, from its block index (nothing is made per
    block until asked).

    Examples
    --------
    >>> block_locator(((2, 2), (3, 1)))((1, 1))
    (slice(2, 4, None), slice(3, 4, None))
    """
    starts = [np.concatenate([[0], np.cumsum(c)]) for c in chunks]

    def locate(idx: tuple[int, ...]) -> tuple:
        return tuple(slice(int(s[i]), int(s[i + 1])) for s, i in zip(starts, idx, strict=True))

    return locate


def block_slices(chunks: tuple[tuple[int, ...], ...]) -> Iterator[tuple[tuple, tuple]]:
    """Yield ``(block index, slices)`` for every block of a chunk layout."""
    locate = block_locator(chunks)
    for idx in itertools.product(*(range(len(c)) for c in chunks)):
        yield idx, locate(idx)


def tree_reduce(parts: list, combine: Callable) -> Any:
    """Combine delayed parts pairwise, so that no task holds them all."""
    import dask

    combine = dask.delayed(combine, pure=True)
    while len(parts) > 1:
        parts = [combine(*parts[i : i + 2]) for i in range(0, len(parts), 2)]
    return parts[0]


def _add(a: Any, b: Any = None) -> Any:
    return a if b is None else a + b


def per_plane_reduce(
    image: da.Array, lead_ndim: int, func: Callable[[np.ndarray, int], np.ndarray], length: int
) -> np.ndarray:
    """``(n_planes, length)`` array: ``func(part, plane)`` of each block's part of each plane,
    added up per plane (computed a batch of blocks at a time).

    The planes are the indices of the first `lead_ndim` axes, numbered in C order (a single
    plane 0 when `lead_ndim` is 0).
    """
    import uuid

    import dask

    lead_shape = image.shape[:lead_ndim]
    n_planes = int(np.prod(lead_shape))

    def per_block(block: np.ndarray, lead: tuple[slice, ...]) -> np.ndarray:
        out = np.zeros((n_planes, length), np.int64)
        if lead_ndim == 0:
            out[0] = func(block, 0)
            return out
        for local in np.ndindex(*block.shape[:lead_ndim]):
            plane = tuple(sl.start + i for sl, i in zip(lead, local, strict=True))
            flat = int(np.ravel_multi_index(plane, lead_shape))
            out[flat] = func(block[local], flat)
        return out

    # Named here, so that dask does not hash (pickle) the function again for every block.
    name = f"per-plane-reduce-{uuid.uuid4().hex}"
    part = dask.delayed(per_block, name=name)
    blocks = image.to_delayed()
    parts = [
        part(blocks[idx], slices[:lead_ndim], dask_key_name=f"{name}-{i}")
        for i, (idx, slices) in enumerate(block_slices(image.chunks))
    ]
    return sum_in_batches(parts)


def compute(*collections: Any) -> tuple:
    """``dask.compute(*collections)``, without importing dask.distributed when none is in use.

    dask imports dask.distributed (about 0.3 s) on its first computation to look for a
    client; with no client connected (:func:`distributed_client`) and no other scheduler
    configured, this runs dask's threaded scheduler directly.

    Examples
    --------
    >>> import dask.array as da
    >>> [int(v) for v in compute(da.ones(4, chunks=2).sum(), da.zeros(3).sum())]
    [4, 0]
    """
    import dask

    if distributed_client() is None and dask.config.get("scheduler", None) in _THREADS:
        from dask.threaded import get

        return dask.compute(*collections, scheduler=get)
    return dask.compute(*collections)


_THREADS = (None, "threads", "threading")


def sum_in_batches(parts: list) -> np.ndarray:
    """Compute delayed arrays a few per thread at a time and add them up, to bound memory."""
    batch = 4 * parallelism()
    total = None
    for start in range(0, len(parts), batch):
        value = compute(tree_reduce(parts[start : start + batch], _add))[0]
        total = value if total is None else total + value
    return total


BATCH_BYTES = 1 << 25
"""Input bytes that a chunk-by-chunk pass works on at once (at least two chunks per thread)."""


def distributed_client() -> Any:
    """The active dask.distributed client, if the user connected one (else None)."""
    import sys

    if "distributed" not in sys.modules:  # never import distributed just to ask
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


def local_threads() -> int:
    """Threads of the local pool: dask's ``num_workers`` setting, else every core."""
    import os

    import dask

    return dask.config.get("num_workers", None) or os.cpu_count() or 1


def parallelism() -> int:
    """Threads that will run the tasks: a connected dask.distributed cluster's, or ours."""
    client = distributed_client()
    if client is not None:
        return max(1, sum(client.nthreads().values()))
    return local_threads()


def block_batches(
    array: da.Array, axes: tuple[int, ...] | None = None
) -> Iterator[list[tuple[int, ...]]]:
    """Block indices of `array` in C order, a bounded number at a time.

    A pass that computes one batch after the other holds about ``BATCH_BYTES`` of input
    (and at least two chunks per thread) whatever the size of the volume. `axes`, a
    permutation of the array's axes, orders the blocks as C order would with the axes taken
    in that order (the first varies slowest).

    Examples
    --------
    >>> import dask.array as da
    >>> [len(b) for b in block_batches(da.zeros((4, 4), chunks=2))]
    [4]
    >>> next(block_batches(da.zeros((4, 4), chunks=2), axes=(1, 0)))
    [(0, 0), (1, 0), (0, 1), (1, 1)]
    """
    chunk_bytes = int(np.prod([max(c) for c in array.chunks])) * array.dtype.itemsize
    size = max(2 * parallelism(), BATCH_BYTES // max(chunk_bytes, 1))
    axes = tuple(range(array.ndim)) if axes is None else tuple(axes)
    back = np.argsort(axes)
    indices = (
        tuple(index[a] for a in back) for index in np.ndindex(*(array.numblocks[a] for a in axes))
    )
    while batch := list(itertools.islice(indices, size)):
        yield batch


def one_per_block(value: Any, ndim: int) -> np.ndarray:
    """Wrap a Python object as a one-element array of `ndim` dimensions (one per block)."""
    out = np.empty((1,) * ndim, dtype=object)
    out[(0,) * ndim] = value
    return out


def slabs(array: da.Array) -> Iterator[da.Array]:
    """The array one slab of chunks at a time (along the axis with the most chunks).

    Computing slab by slab bounds memory whatever dask's task order: a reduction over a
    filtered (overlapping) array in one go may hold every chunk at once.
    """
    axis = int(np.argmax(array.numblocks))
    for i in range(array.numblocks[axis]):
        yield array.blocks[
            tuple(slice(i, i + 1) if a == axis else slice(None) for a in range(array.ndim))
        ]
