"""Where the classifier meets napari's layers: the training layer's link, the plane in view,
and the output layers (written through :func:`~napari_seglab._widgets._shared.show_output`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._layers import geometry_of, label_colormap
from .._shared import ROLE_KEY, index_in_view, output_layer, show_output, sparse_zeros
from .controls import color_for

if TYPE_CHECKING:
    import napari

    from .plans import ImageSource, Output, Result

__all__ = [
    "ROLE",
    "default_image",
    "is_training_layer",
    "linked_images",
    "plane_index",
    "show_result",
    "training_layer",
]

ROLE = "classifier"  # the ROLE_KEY value of the classifier's output layers
# Training layer metadata: its image layer(s), by napari's unique_id (survives a rename) and
# by name (what is left of the link once the layers are saved and opened again).
TRAINING_IDS = "seglab_training_for_ids"
TRAINING_FOR = "seglab_training_for"


def default_image(viewer: napari.Viewer, images: list) -> Any:
    """The image to start on: the active (or a selected) Image layer, else the first one.

    Outputs (layers with a SegLab role) are chosen only when nothing else is open.
    """
    ours = [x for x in images if ROLE_KEY not in x.metadata] or images
    selection = viewer.layers.selection
    for layer in (selection.active, *selection):
        if layer in ours:
            return layer
    return ours[0] if ours else None


def is_training_layer(layer: Any) -> bool:
    """Whether a Labels layer was made by *Add training layer* (not ground truth, not output)."""
    return TRAINING_IDS in layer.metadata or TRAINING_FOR in layer.metadata


def linked_images(layer: Any, images: list) -> tuple | None:
    """The layers of `images` that training layer `layer` was made for, or None.

    Found by identity (napari's ``unique_id``), so a renamed image keeps its strokes; by name
    when the ids are gone (layers saved and opened again).
    """
    for key, attribute in ((TRAINING_IDS, "unique_id"), (TRAINING_FOR, "name")):
        wanted = layer.metadata.get(key)
        if wanted:
            by = {getattr(x, attribute): x for x in images}
            found = tuple(by.get(w) for w in wanted)
            if all(x is not None for x in found):
                return found
    return None


def training_layer(viewer: napari.Viewer, layers: tuple, *, colors: dict[int, str]) -> Any:
    """The Labels layer of strokes for the image of `layers`, made if missing or misshapen.

    It matches the image's spatial shape and geometry and remembers the image layers. A lazy
    (dask, zarr) image may be larger than memory: its training layer then stores only the
    planes painted.

    Raises
    ------
    SegLabInputError
        For an image that training would refuse (:meth:`.plans.ImageSource.check`: a
        pyramid, an RGB layer among channels, channels of different shapes); no layer is made.
    """
    from napari.layers import Image, Labels

    from .plans import ImageSource

    source = ImageSource.of(*layers)
    source.check()
    images = [x for x in viewer.layers if isinstance(x, Image)]
    for layer in viewer.layers:
        if (
            isinstance(layer, Labels)
            and linked_images(layer, images) == tuple(layers)
            and tuple(layer.data.shape) == source.spatial_shape
        ):
            return layer
    dtype = np.uint8 if len(colors) < 255 else np.uint16
    zeros = sparse_zeros if source.lazy else np.zeros
    return viewer.add_labels(
        zeros(source.spatial_shape, dtype=dtype),
        name=f"{source.name} training",
        colormap=label_colormap(colors),
        metadata={TRAINING_IDS: list(source.ids), TRAINING_FOR: list(source.names)},
        **geometry_of(layers[0], ndim=len(source.spatial_shape)),
    )


def plane_index(source: ImageSource, layer: Any, viewer: napari.Viewer) -> tuple[int, ...]:
    """Indices of the leading axes for the 2D plane in view (empty for a 2D image)."""
    lead = len(source.spatial_shape) - 2
    if lead <= 0:
        return ()
    return index_in_view(layer, viewer, source.spatial_shape[:lead])


def show_result(viewer: napari.Viewer, result: Result) -> list[str]:
    """Write each output of `result` into its image's output layers (part of a plane, a
    plane, or whole).

    Returns the names of the images no longer in the viewer, whose outputs were dropped.
    """
    dropped = []
    for output in result.outputs:
        source = output.source
        like = _layer_of(viewer, source)
        if like is None:
            dropped.append(source.name)
        else:
            _show(viewer, output, result, like)
    return dropped


def _layer_of(viewer: napari.Viewer, source: ImageSource) -> Any:
    """The (first) layer of `source` if it is still in the viewer, found by identity."""
    for layer in viewer.layers:
        if (layer.unique_id,) == source.ids[:1] or (not source.ids and layer.name == source.name):
            return layer
    return None


def _show(viewer: napari.Viewer, output: Output, result: Result, like: Any) -> None:
    names = result.class_names
    base = like.name  # its name now (it may have been renamed during the run)
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
            plane=output.index,
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
