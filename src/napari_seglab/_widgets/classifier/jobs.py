"""What the pixel classifier runs off the GUI thread: training, previews, segmentation.

:func:`run` is a pure function of a :class:`~.plans.Plan`: it reads arrays, calls
:class:`napari_seglab.core.classifier.PixelClassifier`, and returns a :class:`~.plans.Result`
for the caller (the widget: on the GUI thread) to show. Nothing here touches Qt, napari or the
session's state. The helpers below read training strokes without loading a lazy layer whole.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ...core._validation import SegLabInputError, fingerprint
from ...core.classifier import PixelClassifier, PlanePreview, feature_names
from .plans import KeptPreview, Output, Result

if TYPE_CHECKING:
    from .plans import ImageSource, Plan, Target, TrainPlan

# Largest live preview grid: about a screen's worth of pixels (a plane of 2048 x 2048 seen
# whole is previewed at every other pixel, then refined), and at most this many bytes of
# features kept for it while painting.
PREVIEW_PIXELS = 2**20
PREVIEW_BYTES = 128 * 2**20

Steps = Generator["Result | None", None, "Result"]


def run(plan: Plan, cancel: Callable[[], bool], progress: Callable[[float], None]) -> Steps:
    """Train (if planned) and segment, as a generator so that a worker can stop it.

    Yields ``None`` between steps and, for a live update, the quick preview (a
    :class:`~.plans.Result`) before the full-resolution one it returns. `cancel()` is
    polled inside long predictions; ``progress(fraction)`` reports the fraction done.
    """
    classifier, digests, train = plan.classifier, plan.digests, plan.train
    if train:
        forest = train.forest
        classifier = PixelClassifier(
            train.settings,
            class_names=train.names,
            random_state=0,
            n_estimators=forest.n_estimators,
            max_depth=forest.max_depth,
            class_weight=forest.class_weight,
            estimator=forest.estimator(),
        )
    pieces = list(pieces_of(plan.target, classifier.features))
    steps = len(pieces) + (1 if train else 0)
    if train:
        digests = yield from _fit(classifier, train)
        progress(1 / steps)
        yield None
    elif plan.check_edit:
        _check_unedited(plan.target.source, digests)
    if plan.live:
        output, kept, exact = _preview(plan, pieces[0], classifier)
        if exact:
            return _result(plan, classifier, digests, output, "Segmented the plane in view", kept)
        what = f"Preview (1/{kept.preview.step} resolution) of the plane in view"
        first = _result(plan, classifier, digests, output, what, kept)
        # shown at once; the full-resolution plane follows
        yield replace(first, message=first.message + " Refining to full resolution...")
    output = yield from _segment(plan, classifier, pieces, steps, cancel, progress)
    where = "whole image" if plan.target.plane is None else "plane in view"
    return _result(plan, classifier, digests, output, f"Segmented the {where}")


def _fit(classifier: PixelClassifier, train: TrainPlan) -> Generator[None, None, dict]:
    """Fit on the painted planes (each read once); their digests, to notice later edits."""
    images, annotations, read = [], [], {}  # read: image key -> {plane index: plane}
    for image, strokes in zip(train.images, train.annotations, strict=True):
        planes = read.setdefault(image.key, {})
        for index in sorted(strokes):
            if index not in planes:
                planes[index] = image.array(index)
            images.append(planes[index])
            annotations.append(strokes[index])
        yield None
    classifier.fit(
        images, annotations, channel_axis=train.images[0].channel_axis, cache=train.cache
    )
    return {
        names: (sorted(planes), fingerprint(*(planes[i] for i in sorted(planes))))
        for names, planes in read.items()
    }


def _check_unedited(source: ImageSource, digests: dict) -> None:
    parts, digest = digests[source.key]
    if fingerprint(*(source.array(index) for index in parts)) != digest:
        raise SegLabInputError(
            f"The image '{source.name}' was edited after the classifier was trained on it: "
            "press Train again (your strokes are kept) before applying it."
        )


def _segment(plan, classifier, pieces, steps, cancel, progress) -> Generator:
    """Segment the target piece by piece, with progress and cancellation inside each."""
    done = steps - len(pieces)  # the training, if any, came first
    source, plane = plan.target.source, plan.target.plane
    shape = source.spatial_shape if plane is None else source.spatial_shape[len(plane) :]
    out = empty_outputs(shape)
    for index, reader, crop in pieces:

        def report(part: int, total: int, base: int = done) -> None:
            progress((base + part / total) / steps)

        seg = classifier.segment(
            reader(), channel_axis=source.channel_axis, progress=report, cancel=cancel
        )
        store(out, () if plane is not None else index, seg, crop, plan)
        done += 1
        progress(done / steps)
        yield None
    return _output(plan.target, out)


def _preview(plan: Plan, piece, classifier: PixelClassifier):
    """The live preview of the plane in view, reusing the grid features of the last one.

    Returns the output, the preview to keep, and whether it is exact.
    """
    source, plane = plan.target.source, plan.target.plane
    _, reader, crop = piece
    data = reader()
    key = (source.key, plane, classifier.features, fingerprint(data))
    kept = plan.preview
    if kept is None or kept.key != key:
        n_features = len(feature_names(classifier.features, source.n_channels))
        preview = PlanePreview(
            data,
            classifier.features,
            channel_axis=source.channel_axis,
            plane=crop,
            max_pixels=min(PREVIEW_PIXELS, PREVIEW_BYTES // (4 * n_features)),
        )
        kept = KeptPreview(key, preview)
    preview = kept.preview
    exact = preview.step == 1
    if exact:
        out = empty_outputs(preview.shape)
        store(out, (), preview.segment(classifier), None, plan)
    else:  # labels only (faster); probability and uncertainty come with the refinement
        labels = preview.predict(classifier)
        out = {"labels": labels, "foreground": (labels == plan.foreground).view(np.uint8)}
    return _output(plan.target, out), kept, exact


def _output(target: Target, arrays: dict) -> Output:
    return Output(source=target.source, plane=target.plane, **arrays)


def _result(plan, classifier, digests, output, what: str, preview=None) -> Result:
    """What the caller receives: the output, and the classifier if one was trained."""
    names = {i: classifier.class_names.get(i, f"class {i}") for i in classifier.classes_.tolist()}
    message = f"{what} of '{plan.target.source.name}' into {len(names)} classes."
    if plan.train:
        n = sum(int(np.count_nonzero(p)) for a in plan.train.annotations for p in a.values())
        message = f"Trained on {n} painted pixels. {message}"
    return Result(
        outputs=(output,),
        class_names=names,
        message=message,
        probability_of=plan.probability_of,
        foreground=plan.foreground,
        classifier=classifier if plan.train else None,
        key=plan.train.key if plan.train else None,
        digests=digests,
        preview=preview,
    )


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
    a training layer made by :func:`~napari_seglab._widgets._shared.sparse_zeros` is never
    read whole.
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


def pieces_of(target: Target, settings) -> Iterator[tuple[tuple, Callable, int | None]]:
    """(index, reader, crop) pieces that the classifier segments one at a time.

    A 2D classifier works plane by plane, a 3D one volume by volume (time-lapse frames), so
    that Cancel and the progress bar respond between pieces. For the plane in view of a 3D
    classifier, a slab of planes around it gives the features their context, and `crop`
    picks the plane back out of the slab's result.
    """
    source, plane = target.source, target.plane
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


def store(out: dict, index: tuple, seg, crop: int | None, plan: Plan) -> None:
    """Copy one piece's segmentation into the outputs (`crop`: the plane of a 3D slab)."""
    take = (slice(None),) if crop is None else (crop,)
    labels = seg.labels[take]
    out["labels"][index] = labels
    out["foreground"][index] = labels == plan.foreground
    if plan.probability_of in seg.classes:
        out["probability"][index] = seg.probability(plan.probability_of)[take]
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
