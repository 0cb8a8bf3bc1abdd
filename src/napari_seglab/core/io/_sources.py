"""Which files a (lazy) array reads, so that no result is ever written over its own input."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .._validation import SegLabInputError

__all__ = ["check_not_an_input", "input_paths"]

_DEPTH = 6
"""How deep into a task's arguments the search for arrays goes (inlined arrays sit at 2)."""


def _store_path(array: Any) -> Path | None:
    """The file or folder a zarr array (or a memory-mapped numpy array) reads, if local."""
    filename = getattr(array, "filename", None)  # numpy.memmap
    if isinstance(filename, str | os.PathLike):
        return Path(filename)
    store = getattr(array, "store", None)
    root = getattr(store, "root", None)  # zarr's LocalStore
    if isinstance(root, str | os.PathLike):
        return Path(root) / (getattr(array, "path", "") or "")
    # tifffile's ZarrTiffStore: the TIFF file behind its image series (no public accessor).
    for series in getattr(store, "_data", None) or ():
        handle = getattr(getattr(series, "parent", None), "filehandle", None)
        if isinstance(getattr(handle, "path", None), str):
            return Path(handle.path)
    return None


def _objects(node: Any, depth: int) -> Iterator[Any]:
    """`node` and the values inside it: a task's arguments, a data node's value."""
    yield node
    if depth == 0:
        return
    value = getattr(node, "value", None)
    if value is not None and type(node).__name__ == "DataNode":
        yield from _objects(value, depth - 1)
    if type(node).__name__ == "Task":
        for arg in (*getattr(node, "args", ()), *getattr(node, "kwargs", {}).values()):
            yield from _objects(arg, depth - 1)
    elif isinstance(node, tuple | list):
        for item in node:
            yield from _objects(item, depth - 1)


def input_paths(data: Any) -> tuple[Path, ...]:
    """The local files and zarr stores that `data` reads, found in its dask graph.

    Parameters
    ----------
    data : dask.array.Array, zarr.Array, numpy.memmap or numpy.ndarray
        An image or a lazy result computed from images opened from disk.

    Returns
    -------
    tuple of pathlib.Path
        The zarr stores (store root and array path), TIFF files and memory-mapped files it
        reads, resolved; empty for data in memory.

    Examples
    --------
    >>> import dask.array as da, tempfile, pathlib, zarr
    >>> store = pathlib.Path(tempfile.mkdtemp()) / "image.zarr"
    >>> image = da.from_zarr(zarr.open_array(store, mode="w", shape=(4, 4), dtype="u1"))
    >>> input_paths(image > 0) == (store.resolve(),)
    True
    """
    found: dict[Path, None] = {}
    direct = _store_path(data)
    if direct is not None:
        found[direct.resolve()] = None
    graph = data.__dask_graph__() if hasattr(data, "__dask_graph__") else None
    # Layer by layer, each a shallow copy: a dask graph (and each of its layers) keeps the
    # tasks it is made into, for as long as it lives, which would hold every chunk's tasks
    # in memory through the whole computation.
    layers = getattr(graph, "layers", {0: graph or {}}).values()
    for node in (n for layer in layers for n in dict(copy.copy(layer)).values()):
        for obj in _objects(node, _DEPTH):
            path = _store_path(obj) if hasattr(obj, "shape") else None
            if path is not None:
                found[path.resolve()] = None
    return tuple(found)


def _zarr_root(path: Path) -> Path:
    """The outermost zarr group holding `path` (an OME-Zarr level lies inside its image)."""
    from ._read import is_zarr_store

    root = path
    for parent in path.parents:
        if not is_zarr_store(parent):
            break
        root = parent
    return root


def check_not_an_input(output: Path, inputs: Iterable[str | os.PathLike]) -> None:
    """Refuse an `output` that is, holds or lies inside one of the `inputs`.

    An input inside a zarr group (a level of an OME-Zarr pyramid) stands for the whole
    group: nothing is written into an input's store, e.g. beside its levels.

    Raises
    ------
    SegLabInputError
        Naming the input that writing `output` would replace or damage.
    """
    out = Path(output).resolve()
    for given in inputs:
        source = Path(given).resolve()
        if not source.exists():  # nothing to destroy (a missing input is refused elsewhere)
            continue
        if out == source or out in source.parents or source in out.parents:
            how = "is" if out == source else "holds" if out in source.parents else "lies inside"
            raise SegLabInputError(
                f"The output {output} {how} the input {source}: writing it would destroy the "
                "image being read. Choose an output path outside the input."
            )
        root = _zarr_root(source)
        if root in out.parents:
            raise SegLabInputError(
                f"The output {output} lies inside the zarr group {root} of the input "
                f"{source}: SegLab never writes into an input's store. Choose an output path "
                "outside it."
            )
