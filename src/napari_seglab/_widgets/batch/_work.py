"""The checks and the work of Apply to whole volume, without Qt: what it reads, runs, writes."""

from __future__ import annotations

import threading
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...core import SegLabInputError

if TYPE_CHECKING:
    import napari.layers

__all__ = [
    "Operation",
    "check_mask_layer",
    "check_written_by_seglab",
    "classifier_options",
    "metadata_of",
    "process",
    "sources_of",
]


class Operation(StrEnum):
    """What "Apply to whole volume" does."""

    THRESHOLD = "threshold"
    CLEAN_UP = "clean up"
    CLASSIFY = "pixel classifier"


def sources_of(layer: napari.layers.Layer) -> list[Any]:
    """What the layer reads: its file (``source.path``) and the stores in its data's graph."""
    from ...core.io import input_paths

    levels = list(layer.data) if layer.multiscale else [layer.data]
    found: list[Any] = [p for level in levels for p in input_paths(level)]
    path = getattr(layer.source, "path", None)
    return [*found, path] if path else found


def check_mask_layer(layer: napari.layers.Layer, data: Any) -> None:
    """Refuse clean-up of an image layer that is not a mask (grey levels are no labels).

    A Labels layer is a mask or label image by choice; an Image layer must be boolean, or
    hold 0 and at most one other value in its first chunk (read only that: cheap).
    """
    import napari.layers
    import numpy as np

    if isinstance(layer, napari.layers.Labels) or data.dtype == bool:
        return
    values = np.unique(np.asarray(data.blocks[(0,) * data.ndim]))
    if values.size <= 1 or (values.size == 2 and values[0] == 0):
        return
    raise SegLabInputError(
        f"{layer.name} is an image with {values.size} or more grey levels, not a mask: "
        "threshold it first (or classify it with a foreground class), or, if it is a label "
        "image, convert it to a Labels layer (right-click > Convert to labels)."
    )


def check_written_by_seglab(output: Path) -> None:
    """Refuse to replace an existing store that SegLab did not write."""
    import zarr

    try:
        made_by_us = "seglab" in zarr.open(output, mode="r").attrs
    except Exception:  # not a zarr store at all
        made_by_us = False
    if not made_by_us:
        raise SegLabInputError(
            f"{output} exists and was not written by SegLab; choose another path."
        )


def classifier_options(path: Path, foreground_class: int) -> dict:
    """The classifier's file and classes, and the class to write as a mask (0: class ids)."""
    from ...core.classifier import PixelClassifier

    if not path.is_file():
        raise SegLabInputError("Choose a classifier file saved by SegLab.")
    classifier = PixelClassifier.load(path)  # small; refuses a file that is no classifier
    names = {int(c): classifier.class_names.get(int(c), str(c)) for c in classifier.classes_}
    if foreground_class and foreground_class not in names:
        known = ", ".join(f"{k} ({v})" for k, v in names.items())
        raise SegLabInputError(
            f"The classifier has no class {foreground_class}; its classes are {known}. "
            "Choose one of them as the foreground class, or 0 to write the class ids."
        )
    return {
        "classifier": str(path),
        "classes": {str(k): v for k, v in names.items()},
        "foreground_class": foreground_class or None,
    }


def metadata_of(layer: napari.layers.Layer, ndim: int) -> Any:
    """The scale, translation and units of the layer's last `ndim` axes, for an OME-Zarr output.

    Axes are named t, z, y, x from the end; napari's "pixel" unit is no physical unit and is
    left out.
    """
    from dataclasses import replace

    from ...core import ImageMetadata
    from .._layers import geometry_of

    geometry = geometry_of(layer, ndim=ndim)
    return replace(
        ImageMetadata.default((1,) * ndim),
        scale=tuple(float(v) for v in geometry["scale"]),
        translation=tuple(float(v) for v in geometry["translate"]),
        units=tuple(None if u == "pixel" else u for u in geometry["units"]),
    )


def process(
    data: Any,
    output: Path,
    options: dict,
    cancelled: threading.Event,
    report,
    metadata: Any = None,
) -> Path:
    """The work done off the GUI thread: every pass reports progress and honours Cancel.

    An ``.ome.zarr`` output is a pyramid of the mask or labels with `metadata`'s scale.
    Thresholds and clean-ups work on small chunks in groups (:func:`~napari_seglab.core.io.
    regroup`), as ``seglab`` does; the classifier keeps the chunks (its memory follows them).
    """
    from ...core.cleanup import clean_up
    from ...core.io import regroup, save, watch
    from ...core.threshold import threshold

    step = Operation(options["step"])
    if step is not Operation.CLASSIFY:
        data = regroup(data)
    with watch(report, cancelled.is_set):
        if step is Operation.THRESHOLD:
            result = threshold(
                data,
                options["method"],
                foreground=options["foreground"],
                median_size=options["median"],
                rgb=options["rgb"],
            ).mask
        elif step is Operation.CLEAN_UP:
            result = clean_up(
                data,
                remove_smaller_than=options["remove_smaller_than"],
                fill_holes_smaller_than=options["fill_holes_smaller_than"],
            )
        else:
            result = _classify(data, options)
        return save(
            result,
            output,
            overwrite=True,
            attrs={"seglab": options},
            progress=report,
            cancel=cancelled.is_set,
            metadata=metadata if metadata is not None and metadata.ndim == result.ndim else None,
            labels=True,
        )


def _classify(data: Any, options: dict) -> Any:
    from ...core.classifier import PixelClassifier

    classifier = PixelClassifier.load(options["classifier"])
    labels = classifier.predict(data, channel_axis=-1 if options["rgb"] else None)
    wanted = options["foreground_class"]
    return labels if wanted is None else (labels == wanted).astype("uint8")
