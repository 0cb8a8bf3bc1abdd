"""Plumbing shared by the widgets: layer choices, lazy planes, output layers, workers."""

from __future__ import annotations

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
    "is_lazy",
    "layer_choices",
    "plane_in_view",
    "report_error",
    "run_job",
    "show_labels",
]


def layer_choices(viewer: napari.Viewer, *kinds: type, exclude_role: str | None = None):
    """A magicgui ``choices`` callable: the viewer's layers of the given kinds, by name."""

    def choices(_widget=None) -> list[tuple[str, Any]]:
        return [
            (layer.name, layer)
            for layer in viewer.layers
            if isinstance(layer, kinds)
            and (exclude_role is None or layer.metadata.get("seglab_role") != exclude_role)
        ]

    return choices


def is_lazy(layer: napari.layers.Layer) -> bool:
    """Whether the layer's data is not in memory (dask, zarr, multiscale pyramids)."""
    return bool(getattr(layer, "multiscale", False)) or not isinstance(layer.data, np.ndarray)


def plane_in_view(
    layer: napari.layers.Layer, viewer: napari.Viewer, *, plane_ndim: int = 2
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Load only the plane of `layer` that the viewer shows, and its leading-axis index.

    The position comes from ``layer.world_to_data(viewer.dims.point)``, so it respects the
    layer's scale and translation. Multiscale layers use their full-resolution level.
    """
    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    n_lead = layer.ndim - plane_ndim
    coords = np.asarray(layer.world_to_data(viewer.dims.point))[:n_lead]
    shape = data.shape[:n_lead]
    index = tuple(int(np.clip(np.round(c), 0, s - 1)) for c, s in zip(coords, shape, strict=True))
    return np.asarray(data[index]), index


def show_labels(
    viewer: napari.Viewer,
    data: np.ndarray,
    *,
    name: str,
    like: napari.layers.Layer,
    colors: dict[int, str] | None = None,
    leading_axes: tuple[str, ...] = (),
    **kwargs,
) -> napari.layers.Labels:
    """Put `data` into the Labels layer called `name`, creating it only if needed.

    The layer is placed over `like` (scale, translate, units, axis labels of its last
    ``data.ndim`` axes; extra leading axes get unit scale and the names in `leading_axes`),
    coloured by `colors` (label -> colour) or, without it, by napari's default label colours.
    Re-running a tool therefore updates its output instead of stacking new layers; a layer
    of that name that SegLab did not make (no ``"seglab_role"`` in its metadata) is left
    alone, and napari names the new one ``"<name> [1]"``. Extra keywords (``metadata`` with a
    ``"seglab_role"``, ``features``, ``visible``, ``opacity``) are set on the layer.
    """
    import napari.layers

    n_like = min(data.ndim, like.ndim)
    geometry = geometry_of(like, ndim=n_like)
    extra = data.ndim - n_like
    if extra:
        geometry = {
            "scale": (1.0,) * extra + geometry["scale"],
            "translate": (0.0,) * extra + geometry["translate"],
            "units": ("pixel",) * extra + geometry["units"],
            "axis_labels": tuple(leading_axes) + geometry["axis_labels"],
        }
    colormap = {} if colors is None else {"colormap": label_colormap(colors)}
    existing = next(
        (
            layer
            for layer in viewer.layers
            if layer.name == name and "seglab_role" in layer.metadata  # never a user's layer
        ),
        None,
    )
    if isinstance(existing, napari.layers.Labels) and existing.ndim == data.ndim:
        existing.data = data
        for key, value in {**geometry, **colormap, **kwargs}.items():
            setattr(existing, key, value)
        return existing
    index = len(viewer.layers)
    if existing is not None:
        index = viewer.layers.index(existing)
        viewer.layers.remove(existing)
    layer = napari.layers.Labels(data, name=name, **colormap, **geometry, **kwargs)
    viewer.layers.insert(index, layer)
    return layer


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


def run_job(
    job: Callable[..., Generator[Any, None, Any]],
    *args: Any,
    on_returned: Callable[[Any], None],
    on_finished: Callable[[], None],
    what: str,
    steps: int,
    block: bool = False,
) -> GeneratorWorker | None:
    """Run a generator job off the GUI thread, with progress and cancellation at each yield.

    With ``block=True`` (scripts, screenshots) the job runs in the calling thread instead and
    this returns once the result has been applied. Refused input (:class:`SegLabInputError`)
    goes to napari's notifications as one clear sentence, any other error with its type and
    message; either way nothing is changed.

    Returns
    -------
    GeneratorWorker or None
        The started worker (``worker.quit()`` cancels it at its next step), or None when
        blocking.
    """

    def returned(result: Any) -> None:
        if isinstance(result, _Refused):
            report_error(result.error, what=what)
        else:
            on_returned(result)

    if block:
        try:
            generator = _guarded(job, *args)
            while True:
                next(generator)
        except StopIteration as stop:
            returned(stop.value)
        finally:
            on_finished()
        return None

    from napari.qt.threading import create_worker

    return create_worker(
        _guarded,
        job,
        *args,
        _progress={"total": steps, "desc": what},
        _connect={"returned": returned, "finished": on_finished},
        _start_thread=True,
    )
