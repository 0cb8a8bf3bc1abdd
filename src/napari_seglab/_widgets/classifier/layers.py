"""Where the classifier meets napari's layers: the training layer's link, the plane in view,
and the output layers (written through :func:`~napari_seglab._widgets._shared.show_output`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._layers import geometry_of, label_colormap
from .._shared import output_layer, show_output, sparse_zeros
from .controls import color_for

if TYPE_CHECKING:
    import napari

    from .plans import ImageSource, Output, Result

__all__ = ["ROLE", "linked_images", "plane_index", "show_result", "training_layer"]

ROLE = "classifier"  # the ROLE_KEY value of the classifier's output layers
TRAINING_FOR = "seglab_training_for"  # training layer metadata: names of its image layer(s)


def training_layer(viewer: napari.Viewer, layers: tuple, *, colors: dict[int, str]) -> Any:
    """The Labels layer of strokes for the image of `layers`, made if missing or misshapen.

    It matches the image's spatial shape and geometry and remembers the image's names. A lazy
    (dask, zarr) image may be larger than memory: its training layer then stores only the
    planes painted.
    """
    from napari.layers import Labels

    from .plans import ImageSource

    source = ImageSource.of(*layers)
    name = f"{source.name} training"
    layer = next((x for x in viewer.layers if x.name == name and isinstance(x, Labels)), None)
    if layer is not None and tuple(layer.data.shape) == source.spatial_shape:
        return layer
    dtype = np.uint8 if len(colors) < 255 else np.uint16
    zeros = sparse_zeros if source.lazy else np.zeros
    return viewer.add_labels(
        zeros(source.spatial_shape, dtype=dtype),
        name=name,
        colormap=label_colormap(colors),
        metadata={TRAINING_FOR: list(source.names)},
        **geometry_of(layers[0], ndim=len(source.spatial_shape)),
    )


def linked_images(layer: Any) -> list[str] | None:
    """Names of the image layer(s) a training layer was made for, or None for other layers."""
    return layer.metadata.get(TRAINING_FOR) or None


def plane_index(source: ImageSource, layer: Any, viewer: napari.Viewer) -> tuple[int, ...]:
    """Indices of the leading axes for the 2D plane in view (empty for a 2D image)."""
    lead = len(source.spatial_shape) - 2
    if lead <= 0:
        return ()
    point = np.asarray(layer.world_to_data(viewer.dims.point))
    index = np.round(point[:lead]).astype(int)
    shape = source.spatial_shape[:lead]
    return tuple(int(np.clip(i, 0, n - 1)) for i, n in zip(index, shape, strict=True))


def show_result(viewer: napari.Viewer, result: Result) -> None:
    """Write each output of `result` into its image's output layers (a plane, or whole)."""
    for output in result.outputs:
        like = next((x for x in viewer.layers if x.name == output.source.name), None)
        if like is not None:  # the image is still in the viewer
            _show(viewer, output, result, like)


def _show(viewer: napari.Viewer, output: Output, result: Result, like: Any) -> None:
    names = result.class_names
    base = output.source.name
    shape = output.source.spatial_shape

    def put(what: str, data: np.ndarray, kind: str = "labels", created=None, **kwargs) -> None:
        name = f"{base} {what}"
        existing = output_layer(viewer, name)
        if existing is None or tuple(existing.data.shape) != shape:
            kwargs.update(created or {})  # display settings the user may change later
        show_output(
            viewer,
            data,
            name=name,
            like=like,
            role=ROLE,
            kind=kind,
            plane=output.plane,
            shape=shape,
            **kwargs,
        )

    colors = {i: color_for(i) for i in range(1, max([*names, 2]) + 1)}
    put("segmentation", output.labels, colors=colors, created={"opacity": 0.5})
    put(
        "foreground",
        output.foreground,
        colors={1: color_for(result.foreground or 2)},
        metadata={"seglab_foreground_class": names.get(result.foreground)},
        created={"visible": False},
    )
    if output.probability is None:  # a live preview: labels only
        return
    put(
        "probability",
        output.probability,
        "image",
        metadata={"seglab_probability_of": names.get(result.probability_of)},
        created={"colormap": "viridis", "contrast_limits": (0.0, 1.0), "visible": False},
    )
    top = 1.0 - 1.0 / max(len(names), 2)
    created = {"colormap": "magma", "contrast_limits": (0.0, top), "visible": False}
    put("uncertainty", output.uncertainty, "image", created=created)
