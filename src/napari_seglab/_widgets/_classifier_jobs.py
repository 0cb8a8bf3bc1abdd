"""What the pixel classifier widget runs off the GUI thread, and the image it reads.

Nothing here touches Qt or a layer's display: the worker reads layer data, calls
:class:`napari_seglab.core.classifier.PixelClassifier`, and hands arrays back to the widget,
which writes them into its output layers on the GUI thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core._validation import SegLabInputError, fingerprint
from ._layers import geometry_of

# Largest live preview grid: about a screen's worth of pixels (a plane of 2048 x 2048 seen
# whole is previewed at every other pixel, then refined), and at most this many bytes of
# features kept for it while painting.
PREVIEW_PIXELS = 2**20
PREVIEW_BYTES = 128 * 2**20


@dataclass(frozen=True)
class ImageSource:
    """The image the classifier sees: one layer (grayscale or RGB) or several as channels."""

    layers: tuple[Any, ...]

    @property
    def name(self) -> str:
        return self.layers[0].name

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)

    @property
    def lazy(self) -> bool:
        """Whether the data is not a numpy array (dask, zarr: possibly larger than memory)."""
        return not all(isinstance(layer.data, np.ndarray) for layer in self.layers)

    @property
    def channel_axis(self) -> int | None:
        return -1 if len(self.layers) > 1 or self.layers[0].rgb else None

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        shape = tuple(self.layers[0].data.shape)
        return shape[:-1] if self.layers[0].rgb else shape

    @property
    def n_channels(self) -> int:
        if len(self.layers) > 1:
            return len(self.layers)
        return self.layers[0].data.shape[-1] if self.layers[0].rgb else 1

    def geometry(self) -> dict:
        return geometry_of(self.layers[0], ndim=len(self.spatial_shape))

    def check(self) -> None:
        for layer in self.layers:
            if layer.multiscale:
                raise SegLabInputError(
                    f"'{layer.name}' is a multiscale (pyramid) image; open one resolution level "
                    "as its own layer, or use 'Apply to whole volume' for large data."
                )
            if layer.rgb and len(self.layers) > 1:
                raise SegLabInputError(
                    f"'{layer.name}' is an RGB layer: use it alone, not as one of several "
                    "channels."
                )
        shapes = {tuple(layer.data.shape) for layer in self.layers}
        if len(shapes) > 1:
            listed = ", ".join(f"'{x.name}' {tuple(x.data.shape)}" for x in self.layers)
            raise SegLabInputError(f"Channel layers must all have the same shape: {listed}.")

    def array(self, index: tuple = ()) -> np.ndarray:
        """The image data (channels last), optionally indexed over the leading spatial axes."""
        if len(self.layers) == 1:
            return np.asarray(self.layers[0].data[index])
        return np.stack([np.asarray(layer.data[index]) for layer in self.layers], axis=-1)


def run(plan: dict, classifier, trained_images: dict, cancel: threading.Event, progress):
    """Train (optional) and predict, as a generator so that ``worker.quit()`` can stop it.

    Runs in a worker thread and only reads arrays; results go back to the GUI thread through
    the return value. ``progress(fraction)`` emits a queued Qt signal.
    """
    from ..core.classifier import PixelClassifier

    digests = dict(trained_images)
    spec = plan["train"]
    if spec:
        classifier = PixelClassifier(
            spec["settings"], class_names=spec["names"], random_state=0, **spec["forest"]
        )
    units = [
        (source, plane, list(pieces_of(source, plane, classifier.features)))
        for source, plane in plan["jobs"]
    ]
    steps = sum(len(u) for _, _, u in units) + (1 if spec else 0)
    done = 0
    if spec:
        images, annotations, read = [], [], {}  # read: image names -> {plane index: plane}
        for image, strokes in zip(spec["images"], spec["annotations"], strict=True):
            planes = read.setdefault(image.names, {})
            for index in sorted(strokes):
                if index not in planes:
                    planes[index] = image.array(index)
                images.append(planes[index])
                annotations.append(strokes[index])
            yield
        classifier.fit(
            images,
            annotations,
            channel_axis=spec["images"][0].channel_axis,
            cache=spec["cache"],
        )
        # The planes trained on, to notice an edit before applying (hashed as read, once).
        digests = {
            names: (sorted(planes), fingerprint(*(planes[i] for i in sorted(planes))))
            for names, planes in read.items()
        }
        done += 1
        progress(done / steps)
        yield
    elif plan["check_edit"]:
        source = plan["jobs"][0][0]
        parts, digest = trained_images[source.names]
        if fingerprint(*(source.array(index) for index in parts)) != digest:
            raise SegLabInputError(
                f"The image '{source.name}' was edited after the classifier was trained on it: "
                "press Train again (your strokes are kept) before applying it."
            )
    if plan["live"]:
        preview = _preview(units[0], classifier, plan)
        first = _result(plan, classifier, spec, digests, [preview["output"]], preview["message"])
        first["preview"] = preview["cache"]
        if preview["exact"]:
            return first
        first["message"] += " Refining to full resolution..."
        yield first  # shown at once; the full-resolution plane follows
    outputs = []
    for source, plane, pieces in units:
        shape = source.spatial_shape if plane is None else source.spatial_shape[len(plane) :]
        out = empty_outputs(shape)
        for index, reader, crop in pieces:
            base = done

            def report(part: int, total: int, base: int = base) -> None:
                progress((base + part / total) / steps)

            seg = classifier.segment(
                reader(), channel_axis=source.channel_axis, progress=report, cancel=cancel.is_set
            )
            store(out, () if plane is not None else index, seg, crop, plan)
            done += 1
            progress(done / steps)
            yield
        out.update(source=source, plane=plane)
        outputs.append(out)
    where = "plane in view" if plan["jobs"][0][1] is not None else "whole image"
    return _result(plan, classifier, spec, digests, outputs, f"Segmented the {where}")


def _preview(unit, classifier, plan: dict) -> dict:
    """The live preview of the plane in view, reusing the grid features of the last one."""
    from ..core.classifier import PlanePreview, feature_names

    source, plane, pieces = unit
    ((_, reader, crop),) = pieces
    data = reader()
    key = (source.names, plane, classifier.features, fingerprint(data))
    cache = plan["preview"]
    if cache is None or cache[0] != key:
        preview = PlanePreview(
            data,
            classifier.features,
            channel_axis=source.channel_axis,
            plane=crop,
            max_pixels=min(
                PREVIEW_PIXELS,
                PREVIEW_BYTES // (4 * len(feature_names(classifier.features, source.n_channels))),
            ),
        )
        cache = (key, preview)
    preview = cache[1]
    exact = preview.step == 1
    if exact:
        out = empty_outputs(preview.shape)
        store(out, (), preview.segment(classifier), None, plan)
    else:  # labels only (faster); probability and uncertainty come with the refinement
        labels = preview.predict(classifier)
        out = {"labels": labels, "foreground": (labels == plan["foreground"]).view(np.uint8)}
    out.update(source=source, plane=plane)
    message = (
        "Segmented the plane in view"
        if exact
        else f"Preview (1/{preview.step} resolution) of the plane in view"
    )
    return {"output": out, "cache": cache, "exact": exact, "message": message}


def _result(plan: dict, classifier, spec, digests, outputs: list, what: str) -> dict:
    """What the widget receives: outputs to show, and the classifier if one was trained."""
    names = {i: classifier.class_names.get(i, f"class {i}") for i in classifier.classes_.tolist()}
    source = plan["jobs"][0][0]
    message = f"{what} of '{source.name}' into {len(names)} classes."
    if spec:
        n = sum(int(np.count_nonzero(p)) for a in spec["annotations"] for p in a.values())
        message = f"Trained on {n} painted pixels. {message}"
    return {
        "classifier": classifier if spec else None,
        "key": spec["key"] if spec else None,
        "digests": digests,
        "outputs": outputs,
        "class_names": names,
        "probability_of": plan["probability_of"],
        "foreground": plan["foreground"],
        "message": message,
    }


def _stored_planes(data: Any, lead: int) -> list[tuple[int, ...]] | None:
    """Leading indices of the chunks a :func:`sparse_zeros` array holds (None for others)."""
    chunks = getattr(getattr(data, "store", None), "chunks", None)
    if not isinstance(chunks, dict):
        return None
    planes = set()
    for key in chunks:  # chunk keys are "c/i/j/..." (zarr v3 default encoding)
        parts = key.split("/")
        if parts[0] == "c" and len(parts) == len(data.shape) + 1:
            planes.add(tuple(int(i) for i in parts[1 : 1 + lead]))
    return sorted(planes)


def strokes_of(data: Any, lead: int) -> dict[tuple[int, ...], np.ndarray]:
    """Copies of the painted planes (over the first `lead` axes) of a training layer's data.

    Only planes with strokes are kept, so training reads just those planes of the image, and
    a training layer made by :func:`sparse_zeros` is never read whole.
    """
    planes = _stored_planes(data, lead)
    if planes is None:
        array = np.asarray(data)
        if lead == 0:
            return {(): array.copy()}
        painted = array.reshape(*array.shape[:lead], -1).any(axis=-1)
        planes = [tuple(int(i) for i in index) for index in np.argwhere(painted)]
        return {index: array[index].copy() for index in planes}
    strokes = {index: np.asarray(data[index]) for index in planes}
    return {index: plane for index, plane in strokes.items() if plane.any()}


def pieces_of(source: ImageSource, plane: tuple[int, ...] | None, settings):
    """(index, reader, crop) pieces that the classifier segments one at a time.

    A 2D classifier works plane by plane, a 3D one volume by volume (time-lapse frames), so
    that Cancel and the progress bar respond between pieces. For the plane in view of a 3D
    classifier, a slab of planes around it gives the features their context, and `crop`
    picks the plane back out of the slab's result.
    """
    shape = source.spatial_shape
    fdim = min(settings.ndim, len(shape))
    if plane is not None and (fdim == 2 or not plane):
        yield plane, lambda: source.array(plane), None
        return
    if plane is not None:  # 3D features, one plane wanted
        outer, z = plane[:-1], plane[-1]
        margin = int(settings.halo(max(settings.sigmas))[0])
        lo, hi = max(z - margin, 0), min(z + margin + 1, shape[len(outer)])
        yield plane, lambda: source.array((*outer, slice(lo, hi))), z - lo
        return
    for index in np.ndindex(*shape[: len(shape) - fdim]):
        yield index, lambda index=index: source.array(index), None


def empty_outputs(shape: tuple[int, ...]) -> dict:
    return {
        "labels": np.zeros(shape, np.uint8),
        "foreground": np.zeros(shape, np.uint8),
        "probability": np.zeros(shape, np.float32),
        "uncertainty": np.zeros(shape, np.float32),
    }


def store(out: dict, index: tuple, seg, crop: int | None, plan: dict) -> None:
    """Copy one piece's segmentation into the outputs (`crop`: the plane of a 3D slab)."""
    take = (slice(None),) if crop is None else (crop,)
    labels = seg.labels[take]
    out["labels"][index] = labels
    out["foreground"][index] = labels == plan["foreground"]
    if plan["probability_of"] in seg.classes:
        out["probability"][index] = seg.probability(plan["probability_of"])[take]
    out["uncertainty"][index] = seg.uncertainty[take]


def max_label(data: Any) -> int:
    """The largest label in a training layer's data (only painted planes are read)."""
    planes = _stored_planes(data, data.ndim - 2)
    if planes is None:
        return int(np.max(data)) if data.size else 0
    return max([0, *(int(np.max(data[index])) for index in planes)])


def distinct_values(annotation: np.ndarray) -> np.ndarray:
    """The distinct labels of an annotation (a histogram is much faster than a sort)."""
    if annotation.dtype.itemsize <= 2 and np.issubdtype(annotation.dtype, np.unsignedinteger):
        return np.flatnonzero(np.bincount(annotation.ravel()))
    return np.unique(annotation)
