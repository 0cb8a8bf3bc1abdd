"""Plumbing shared by the widgets: layer choices, lazy planes, output layers, workers."""

from __future__ import annotations

import atexit
import contextlib
import math
import threading
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import numpy as np
from napari.utils.notifications import show_error

from ..core import SegLabInputError
from ._layers import geometry_of, label_colormap

if TYPE_CHECKING:
    import napari
    import napari.layers
    from napari.qt.threading import GeneratorWorker

__all__ = [
    "EXIT_WAIT_MS",
    "ROLE_KEY",
    "is_lazy",
    "layer_choices",
    "numpy_or_dask",
    "output_layer",
    "plane_in_view",
    "report_error",
    "run_job",
    "show_output",
    "sparse_zeros",
    "stop_workers_at_exit",
    "strided_sample",
    "tie_to",
]

ROLE_KEY = "seglab_role"
"""The one metadata key that marks a layer as a SegLab output; its value names the tool."""


def layer_choices(viewer: napari.Viewer, *kinds: type, exclude_role: str | None = None):
    """A magicgui ``choices`` callable: the viewer's layers of the given kinds, by name."""

    def choices(_widget=None) -> list[tuple[str, Any]]:
        return [
            (layer.name, layer)
            for layer in viewer.layers
            if isinstance(layer, kinds)
            and (exclude_role is None or layer.metadata.get(ROLE_KEY) != exclude_role)
        ]

    return choices


def is_lazy(layer: napari.layers.Layer) -> bool:
    """Whether the layer's data is not in memory (dask, zarr, multiscale pyramids)."""
    return bool(getattr(layer, "multiscale", False)) or not isinstance(layer.data, np.ndarray)


def numpy_or_dask(data: Any) -> Any:
    """A layer's data as numpy or dask: zarr and other lazy arrays are wrapped, not read."""
    import dask.array as da

    if isinstance(data, np.ndarray | da.Array):
        return data
    return da.from_array(data, chunks=getattr(data, "chunks", "auto"))


def plane_in_view(
    layer: napari.layers.Layer, viewer: napari.Viewer, *, plane_ndim: int = 2
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Load only the plane of `layer` that the viewer shows, and its leading-axis index.

    The position comes from ``layer.world_to_data(viewer.dims.point)``, so it respects the
    layer's scale and translation. Multiscale layers use their full-resolution level.
    """
    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    index = index_in_view(layer, viewer, data.shape[: layer.ndim - plane_ndim])
    return np.asarray(data[index]), index


def index_in_view(
    layer: napari.layers.Layer, viewer: napari.Viewer, shape: tuple[int, ...], *, first: int = 0
) -> tuple[int, ...]:
    """The data indices of the viewer's point along `layer`'s axes ``first, first + 1, ...``
    (one for each axis of `shape`), rounded and clipped to `shape`."""
    point = np.asarray(layer.world_to_data(viewer.dims.point))[first : first + len(shape)]
    return tuple(int(np.clip(np.round(c), 0, n - 1)) for c, n in zip(point, shape, strict=True))


def output_layer(viewer: napari.Viewer, name: str) -> napari.layers.Layer | None:
    """The SegLab output layer called `name`, or None (a user's layer is never returned)."""
    return next(
        (layer for layer in viewer.layers if layer.name == name and ROLE_KEY in layer.metadata),
        None,
    )


def strided_sample(data: Any, pixels: int, ndim: int | None = None) -> Any:
    """`data` taken at every n-th index along its first `ndim` axes (all by default), n the
    smallest step that leaves at most about `pixels` pixels (1: all of it).

    Examples
    --------
    >>> strided_sample(np.zeros((1000, 1000)), 10_000).shape
    (100, 100)
    """
    shape = data.shape[: data.ndim if ndim is None else ndim]
    step = max(1, int(np.ceil((math.prod(shape) / pixels) ** (1 / len(shape)))))
    return data[(slice(None, None, step),) * len(shape)]


def sparse_zeros(shape: tuple[int, ...], dtype: Any) -> Any:
    """An all-zero array for a large (lazy) image that keeps only the chunks written.

    A zarr array in memory, one chunk per plane tile: an untouched plane costs nothing, so a
    training or output layer can match a volume far larger than memory. napari paints (and
    undoes) into it like into a numpy array.
    """
    import zarr

    class PaintedStore(zarr.storage.MemoryStore):
        """Memory store whose ``chunks`` dict shows which chunks were written."""

        def __init__(self) -> None:
            self.chunks: dict = {}
            super().__init__(store_dict=self.chunks)

    chunks = (1,) * (len(shape) - 2) + tuple(min(n, 1024) for n in shape[-2:])
    return zarr.create_array(PaintedStore(), shape=shape, chunks=chunks, dtype=dtype, fill_value=0)


def _placed_over(like: napari.layers.Layer, ndim: int, leading_axes: tuple[str, ...]) -> dict:
    """Geometry of `like`'s last axes, with unit scale on the extra leading ones."""
    n_like = min(ndim, like.ndim)
    geometry = geometry_of(like, ndim=n_like)
    extra = ndim - n_like
    if not extra:
        return geometry
    names = tuple(leading_axes) or tuple(f"axis {i}" for i in range(extra))
    return {
        "scale": (1.0,) * extra + geometry["scale"],
        "translate": (0.0,) * extra + geometry["translate"],
        "units": ("pixel",) * extra + geometry["units"],
        "axis_labels": names + geometry["axis_labels"],
    }


def show_output(
    viewer: napari.Viewer,
    data: Any,
    *,
    name: str,
    like: napari.layers.Layer,
    role: str,
    kind: str = "labels",
    plane: tuple[int, ...] | None = None,
    shape: tuple[int, ...] | None = None,
    colors: dict[int, str] | None = None,
    leading_axes: tuple[str, ...] = (),
    metadata: dict | None = None,
    **kwargs: Any,
) -> napari.layers.Layer:
    """Write `data` into SegLab's output layer `name`, creating it only if needed.

    This is the one way every widget writes its results: re-running a tool updates its
    output instead of stacking new layers, and a layer of that name that SegLab did not make
    (no :data:`ROLE_KEY` in its metadata) is left alone (napari names the new one
    ``"<name> [1]"``).

    Parameters
    ----------
    viewer : napari.Viewer
    data : array_like
        The whole output, or with `plane` the values of one plane.
    name : str
        Output layer name, conventionally ``"<input> <what>"``.
    like : napari.layers.Layer
        The input layer: the output gets the scale, translate, units and axis labels of its
        last axes (extra leading axes get unit scale and the names in `leading_axes`).
    role : str
        Which tool made the layer (stored under :data:`ROLE_KEY`).
    kind : {"labels", "image"}
    plane : tuple, optional
        Leading-axis index of the plane `data` holds (integers, optionally followed by the
        slices of the part of the plane it holds); the layer then has `shape` and keeps the
        rest. A new layer over a lazy input stores only the planes written.
    shape : tuple of int, optional
        The full output shape, with `plane`.
    colors : dict of int to str, optional
        Label colours (Labels only); 0 stays transparent.
    metadata : dict, optional
        Plain values (no live objects) stored with the layer.
    **kwargs
        Other layer properties (``visible``, ``opacity``, ``features``, ``colormap`` ...).

    Returns
    -------
    napari.layers.Layer
    """
    import napari.layers

    layer_type = {"labels": napari.layers.Labels, "image": napari.layers.Image}[kind]
    # A (Y, X, 3) result is three values per pixel, not a colour (set when the layer is made).
    made_with = {"rgb": False} if kind == "image" else {}
    full_shape = tuple(np.shape(data)) if plane is None else tuple(shape)
    if colors is not None:
        kwargs["colormap"] = label_colormap(colors)
    kwargs.update(_placed_over(like, len(full_shape), leading_axes))
    meta = {**(metadata or {}), ROLE_KEY: role}
    existing = output_layer(viewer, name)
    reusable = (
        isinstance(existing, layer_type)
        and tuple(existing.data.shape) == full_shape
        and (plane is None or existing.data.dtype == np.asarray(data).dtype)
    )
    if reusable:
        if plane is None:
            existing.data = data
        else:
            existing.data[plane] = data
            existing.refresh()
        existing.metadata.update(meta)
        for key, value in kwargs.items():
            if not _unchanged(existing, key, value):  # each set refreshes the layer
                setattr(existing, key, value)
        return existing
    if plane is not None:
        lazy = not isinstance(like.data, np.ndarray)
        values = (sparse_zeros if lazy else np.zeros)(full_shape, dtype=np.asarray(data).dtype)
        values[plane] = data
        data = values
    index = len(viewer.layers)
    if existing is not None:
        index = viewer.layers.index(existing)
        viewer.layers.remove(existing)
    layer = layer_type(data, name=name, metadata=meta, **made_with, **kwargs)
    viewer.layers.insert(index, layer)
    return layer


def _unchanged(layer: napari.layers.Layer, key: str, value: Any) -> bool:
    """Whether setting `key` to `value` would leave the layer as it is."""
    current = getattr(layer, key, None)
    if key in ("scale", "translate"):
        return bool(np.allclose(current, value))
    if key in ("units", "axis_labels"):
        return tuple(str(v) for v in current) == tuple(str(v) for v in value)
    if key == "colormap" and hasattr(value, "color_dict"):  # labels: setting one costs ~0.1 s
        old, new = getattr(current, "color_dict", None), value.color_dict
        return (
            old is not None
            and old.keys() == new.keys()
            and all(np.allclose(old[k], new[k]) for k in new)
        )
    return False


def report_error(err: BaseException, *, what: str) -> None:
    """Show an error in napari's notifications: our messages as they are, others with context."""
    if isinstance(err, SegLabInputError):
        show_error(str(err))
    else:
        show_error(f"{what} failed: {type(err).__name__}: {err}")


class _Refused:
    """What a job returns instead of raising when it fails (shown, not raised)."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _guarded(job: Callable[..., Generator[Any, None, Any]], *args: Any):
    # Every failure comes back as a value: refused input as one clear sentence, anything else
    # with its type. (A RuntimeError raised in a worker would otherwise end the thread
    # without any signal, leaving the widget busy.)
    try:
        return (yield from job(*args))
    except Exception as err:
        return _Refused(err)


EXIT_WAIT_MS = 5000
"""How long Python's exit waits for SegLab's workers to notice that they were asked to quit."""

_exit_hook = threading.Lock()
_exit_hook_set = False


def _stop_workers() -> None:
    from superqt.utils import WorkerBase  # napari's workers are superqt's

    with contextlib.suppress(RuntimeError):  # one still going after EXIT_WAIT_MS: give up
        WorkerBase.await_workers(EXIT_WAIT_MS)


def stop_workers_at_exit() -> None:
    """Make Python's exit quit the running workers and wait for them (once per process).

    napari's own quit (the end of ``napari.run()``) asks every worker to quit and waits for
    them. A script or notebook that closes the viewer and ends never gets there: Python then
    shut down while a worker was still computing, and the worker's next signal aborted the
    process (``Fatal Python error: Aborted``) or crashed it. Waiting at exit, for at most
    :data:`EXIT_WAIT_MS`, lets the workers stop at their next step first. Call it before
    starting a worker; it runs before PyQt's clean-up (exit handlers run last-registered first).
    """
    global _exit_hook_set
    with _exit_hook:
        if not _exit_hook_set:
            atexit.register(_stop_workers)
            _exit_hook_set = True


def tie_to(
    worker: Any, owner: Any, on_gone: Callable[[], None] | None = None
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Tie a worker to the widget that started it; returns the guard for its callbacks.

    Once the `owner`'s Qt side is deleted (a magicgui widget or a QWidget: the viewer
    closed while the worker ran, the session going on, as in a notebook), `on_gone` is
    called and the worker is asked to quit; a callback wrapped by the returned guard is
    then no longer called: it would touch deleted widgets, and an exception in a Qt slot
    aborts the process. Python's exit waits for the worker too
    (:func:`stop_workers_at_exit`). Call it before starting the worker.
    """
    stop_workers_at_exit()
    gone = threading.Event()

    def deleted(*_: Any) -> None:
        gone.set()
        if on_gone is not None:
            on_gone()
        worker.quit()

    def released() -> None:  # one connection per run would pile up on the owner
        if not gone.is_set():
            native.destroyed.disconnect(deleted)

    native = getattr(owner, "native", owner)
    native.destroyed.connect(deleted)
    worker.finished.connect(released)

    def owned(callback: Callable[..., None]) -> Callable[..., None]:
        return lambda *value: None if gone.is_set() else callback(*value)

    return owned


def run_job(
    job: Callable[..., Generator[Any, None, Any]],
    *args: Any,
    on_returned: Callable[[Any], None],
    on_finished: Callable[[], None],
    what: str,
    steps: int,
    owner: Any,
    block: bool = False,
    on_refused: Callable[[BaseException], None] | None = None,
    on_yielded: Callable[[Any], None] | None = None,
    on_cancelled: Callable[[], None] | None = None,
) -> GeneratorWorker | None:
    """Run a generator job off the GUI thread, with progress and cancellation at each yield.

    With ``block=True`` (scripts, screenshots) the job runs in the calling thread instead and
    this returns once the result has been applied. Refused input (:class:`SegLabInputError`)
    goes to napari's notifications as one clear sentence, any other error with its type and
    message, and then to `on_refused` if given (e.g. for the widget's status line); either
    way nothing is changed. `on_yielded`, if given, gets each value the job yields, on the
    GUI thread (e.g. the name of the step about to run). `on_cancelled`, if given, is called
    before `on_finished` when the job ended with neither a result nor a refusal: its worker
    was quit (e.g. for the widget's status line).

    `owner` is the widget that runs the job (see :func:`tie_to`): once its Qt side is
    deleted, the job is asked to quit and none of the callbacks is called.

    Returns
    -------
    GeneratorWorker or None
        The started worker (``worker.quit()`` cancels it at its next step), or None when
        blocking.
    """

    settled = False  # a result or a refusal came back: the job was not cancelled

    def returned(result: Any) -> None:
        nonlocal settled
        settled = True
        if isinstance(result, _Refused):
            report_error(result.error, what=what)
            if on_refused is not None:
                on_refused(result.error)
        else:
            on_returned(result)

    def finished() -> None:
        if not settled and on_cancelled is not None:
            on_cancelled()
        on_finished()

    if block:
        try:
            generator = _guarded(job, *args)
            while True:
                value = next(generator)
                if on_yielded is not None:
                    on_yielded(value)
        except StopIteration as stop:
            returned(stop.value)
        finally:
            finished()
        return None

    from napari.qt.threading import create_worker

    worker = create_worker(
        _guarded,
        job,
        *args,
        _progress={"total": steps, "desc": what},
        _start_thread=False,
    )
    owned = tie_to(worker, owner)
    worker.returned.connect(owned(returned))
    worker.finished.connect(owned(finished))
    if on_yielded is not None:
        worker.yielded.connect(owned(on_yielded))
    worker.start()
    return worker
