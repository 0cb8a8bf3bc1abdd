"""What the pixel classifier runs off the GUI thread: training, previews, segmentation.

:func:`run` is a pure function of a :class:`~.plans.Plan`: it reads arrays, calls
:class:`napari_seglab.core.classifier.PixelClassifier`, and returns a :class:`~.plans.Result`
for the caller (the widget: on the GUI thread) to show. Nothing here touches Qt, napari or the
session's state. The helpers below read training strokes without loading a lazy layer whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ...core._validation import Cancelled, SegLabInputError, fingerprint
from ...core.classifier import PixelClassifier, PlanePreview, feature_names
from .plans import KeptPreview, Output, Result, Target
from .view import ViewRegion

if TYPE_CHECKING:
    from .plans import ImageSource, Plan, TrainPlan

# Largest live preview grid: about a screen's worth of pixels (a plane of 2048 x 2048 seen
# whole is previewed at every other pixel, then refined). The features of the part on screen
# are kept at full resolution while painting when they fit in PREVIEW_BYTES (and in a quarter
# of the memory available): the next stroke then only retrains and re-predicts. Default
# features of a 2048 x 2048 plane take 480 MiB.
PREVIEW_PIXELS = 2**20
PREVIEW_BYTES = 2**30
TILE = 512  # the rest of a live plane is segmented in tiles of TILE x TILE, nearest first

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
        return (yield from _live(plan, classifier, digests, pieces, cancel, progress))
    output = yield from _segment(plan, classifier, pieces, steps, cancel, progress)
    where = "whole image" if plan.target.plane is None else "plane in view"
    return _result(plan, classifier, digests, output, f"the {where}")


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


def _live(plan: Plan, classifier: PixelClassifier, digests, pieces, cancel, progress):
    """A live update of the plane in view, what the user looks at first.

    Yields results (``None`` between steps; the last one is returned): the part of the
    plane on screen at screen resolution (when a screen pixel holds several data pixels),
    then at full resolution, then the rest of the plane tile by tile, nearest the view
    first, and (``plan.stack``) the whole stack. Pixels that this classifier already
    segmented (``plan.covered``) are skipped. Preview features of the part on screen are
    kept for the next stroke (``plan.preview``).
    """
    source, plane = plan.target.source, plan.target.plane
    _, reader, crop = pieces[0]
    data = reader()
    shape = source.spatial_shape[-2:]
    covered = np.zeros(shape, bool) if plan.covered is None else plan.covered
    view = plan.view or ViewRegion(slice(0, shape[0]), slice(0, shape[1]))
    n_features = len(feature_names(classifier.features, source.n_channels))
    budget = feature_budget() // (4 * n_features)
    trained = digests if plan.train else {}  # digests read in this run (the data as it is)
    plane_key = (
        source.key,
        plane,
        classifier.features,
        _digest(data, trained, source, plane, crop),
    )
    kept = {k.key: k for k in plan.preview if k.key[:4] == plane_key}
    used = []

    def preview(region, step, max_pixels, full=None):
        """The kept preview of `region`, else a new one (from the features of `full`)."""
        key = (*plane_key, *((sl.start, sl.stop) for sl in region), step, max_pixels)
        if key not in kept:
            if full is not None:
                made = full.subsampled(step, max_pixels)
            else:
                made = PlanePreview(
                    data,
                    classifier.features,
                    channel_axis=source.channel_axis,
                    plane=crop,
                    max_pixels=max_pixels,
                    region=region,
                    step=step,
                    cancel=cancel,
                )
            kept[key] = KeptPreview(key, made)
        used.append(kept[key])
        return kept[key].preview

    def result(out: dict, region, what: str, keep: bool = False, step: int = 1) -> Result:
        output = Output(source=source, plane=plane, region=region, step=step, **out)
        return _result(plan, classifier, digests, output, what, tuple(used) if keep else None)

    todo = _uncovered(covered, view.region)
    last = None  # each result is yielded once the next step starts; the last is returned
    if todo is not None:
        # The features of the part on screen at full resolution, kept if they fit; the
        # screen-resolution preview takes every step-th pixel of them. (Keyed by the
        # region's own size: the budget follows the free memory, which moves every stroke.)
        fine = preview(todo, 1, _size(todo)) if _size(todo) <= budget else None
        coarse = preview(todo, view.step, min(PREVIEW_PIXELS, budget), full=fine)
        if coarse.step > 1:  # labels only (faster); the rest comes at full resolution
            labels = coarse.predict(classifier, cancel=cancel)
            first = result(
                _labels_only(labels, plan),
                todo,
                f"a preview of the part on screen (1/{coarse.step} resolution)",
                keep=True,
                step=coarse.step,
            )
            yield replace(first, message=first.message + " Refining to full resolution...")
        if fine is not None:
            # What is on screen, in full: the labels first (each pixel stops as soon as its
            # class is certain), then probabilities and uncertainty.
            labels = fine.predict(classifier, cancel=cancel)
            first = result(_labels_only(labels, plan), todo, "the part on screen", keep=True)
            yield replace(first, message=first.message + " Probabilities next...")
            seg = fine.segment(classifier, cancel=cancel)
            out = empty_outputs(seg.labels.shape)
            store(out, (), seg, None, plan)
        else:  # too large to keep: segmented band by band
            out = yield from _exact(plan, data, crop, classifier, todo, budget, cancel)
        last = result(out, todo, "the part on screen", keep=True)
        covered = covered.copy()
        covered[todo] = True
    tiles = _tiles_around(shape, view.region, covered)
    for n, tile in enumerate(tiles, start=1):
        if last is not None:
            yield last
        if cancel():
            raise Cancelled("A newer live update replaced this one.")
        progress(n / len(tiles))
        out = yield from _exact(plan, data, crop, classifier, tile, budget, cancel)
        done = "the whole plane" if n == len(tiles) else f"{n} of {len(tiles)} tiles of the plane"
        last = result(out, tile, done)
    if plan.stack:
        if last is not None:
            yield last
        everything = list(pieces_of(Target(source), classifier.features))
        output = yield from _segment(
            replace(plan, target=Target(source)),
            classifier,
            everything,
            len(everything),
            cancel,
            progress,
        )
        last = _result(plan, classifier, digests, output, "the whole image")
    if last is None:  # nothing was left to segment
        last = _result(plan, classifier, digests, None, "the plane in view")
    return last


def _exact(plan, data, crop, classifier, region, budget, cancel):
    """Full-resolution outputs of `region` of the plane, band by band (cancellable)."""
    rows, cols = region
    out = empty_outputs((rows.stop - rows.start, cols.stop - cols.start))
    band = max(1, min(budget, PREVIEW_PIXELS) // (cols.stop - cols.start))
    for top in range(rows.start, rows.stop, band):
        if cancel():
            raise Cancelled("A newer live update replaced this one.")
        part = (slice(top, min(top + band, rows.stop)), cols)
        seg = PlanePreview(
            data,
            classifier.features,
            channel_axis=plan.target.source.channel_axis,
            plane=crop,
            max_pixels=budget,
            region=part,
            cancel=cancel,
        ).segment(classifier, cancel=cancel)
        store(out, (slice(top - rows.start, part[0].stop - rows.start),), seg, None, plan)
        yield None
    return out


def _labels_only(labels: np.ndarray, plan: Plan) -> dict:
    return {"labels": labels, "foreground": (labels == plan.foreground).view(np.uint8)}


def feature_budget() -> int:
    """Bytes of features a live update may keep: PREVIEW_BYTES, or a quarter of the
    memory available if that is less."""
    import psutil

    return min(PREVIEW_BYTES, psutil.virtual_memory().available // 4)


def _digest(data, digests: dict, source: ImageSource, plane, crop) -> bytes:
    """The digest of the live plane's `data`: from `digests` when they hold this plane
    alone (the training just read it), else computed."""
    parts, digest = digests.get(source.key, (None, None))
    if crop is None and parts == [plane]:
        return digest
    return fingerprint(data)


def _size(region) -> int:
    return (region[0].stop - region[0].start) * (region[1].stop - region[1].start)


def _uncovered(covered: np.ndarray, region) -> tuple[slice, slice] | None:
    """The bounding box of the pixels of `region` not yet covered (None: all covered)."""
    missing = ~covered[region]
    rows, cols = np.flatnonzero(missing.any(axis=1)), np.flatnonzero(missing.any(axis=0))
    if rows.size == 0:
        return None
    r0, c0 = region[0].start, region[1].start
    return (
        slice(int(r0 + rows[0]), int(r0 + rows[-1] + 1)),
        slice(int(c0 + cols[0]), int(c0 + cols[-1] + 1)),
    )


def _tiles_around(shape, region, covered: np.ndarray) -> list[tuple[slice, slice]]:
    """Tiles of the plane with pixels not yet covered, the nearest to `region` first."""
    centre = [(sl.start + sl.stop) / 2 for sl in region]
    tiles = []
    for top in range(0, shape[0], TILE):
        for left in range(0, shape[1], TILE):
            tile = (slice(top, min(top + TILE, shape[0])), slice(left, min(left + TILE, shape[1])))
            todo = _uncovered(covered, tile)
            if todo is not None:
                middle = [(sl.start + sl.stop) / 2 for sl in todo]
                tiles.append((math.dist(middle, centre), todo))
    return [tile for _, tile in sorted(tiles, key=lambda pair: pair[0])]


def _output(target: Target, arrays: dict) -> Output:
    return Output(source=target.source, plane=target.plane, **arrays)


def _result(plan, classifier, digests, output, what: str, preview=None) -> Result:
    """What the caller receives: the output, and the classifier if one was trained."""
    names = {i: classifier.class_names.get(i, f"class {i}") for i in classifier.classes_.tolist()}
    message = f"Segmented '{plan.target.source.name}' into {len(names)} classes: {what}."
    if plan.train:
        n = sum(int(np.count_nonzero(p)) for a in plan.train.annotations for p in a.values())
        message = f"Trained on {n} painted pixels. {message}"
    return Result(
        outputs=() if output is None else (output,),
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


def painted_labels(annotation: np.ndarray) -> np.ndarray:
    """The distinct non-zero labels of an annotation, sorted.

    Strokes cover a small part of a plane: only the painted pixels are sorted (1 ms for a
    2048 x 2048 plane of napari's int64 labels, against 65 ms to sort the whole plane),
    and this runs on the GUI thread at every stroke.
    """
    return np.unique(annotation[annotation != 0])
