"""What each ``seglab`` step does: read lazily, compute with core, write atomically."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core._validation import SegLabInputError, check_same_shape
from ._inputs import (
    check_csv,
    check_mask,
    check_outputs,
    class_names_of,
    colour,
    open_input,
    refuse_rgb,
)

__all__ = ["STEPS", "progress", "scheduler"]

OBJECT_PIXELS = 2**26
"""Largest image (in pixels) whose objects ``seglab evaluate --objects`` matches in memory."""

CONNECT_TIMEOUT = "10s"
"""How long ``--scheduler`` waits for the cluster before giving up."""


@contextlib.contextmanager
def scheduler(address: str | None) -> Iterator[None]:
    if address is None:
        yield
        return
    try:
        from distributed import Client
    except ImportError:
        raise SegLabInputError(
            "--scheduler needs the 'distributed' package: pip install distributed"
        ) from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as err:
        raise SegLabInputError(
            f"Could not connect to a dask scheduler at {address} ({err}). Is the cluster "
            "running, and is the address (e.g. tcp://HOST:8786) right?"
        ) from None
    try:
        yield
    finally:
        client.close()


@contextlib.contextmanager
def progress(quiet: bool) -> Iterator[None]:
    if quiet:
        yield
        return
    from ..core._blocks import distributed_client

    client = distributed_client()
    if client is not None:
        with _cluster_progress(client):
            yield
        return
    from dask.diagnostics import ProgressBar

    with ProgressBar(out=sys.stderr):
        yield


PROGRESS_EVERY = 1.0
"""Seconds between two progress lines of a run on a cluster."""


@contextlib.contextmanager
def _cluster_progress(client: Any) -> Iterator[None]:
    """The dashboard's address, then the scheduler's tasks (running, waiting) on stderr
    every second while the command runs (dask's local progress bar sees no cluster's
    tasks)."""
    import threading

    sys.stderr.write(f"dask dashboard: {client.dashboard_link}\n")
    stop = threading.Event()

    def states(dask_scheduler: Any) -> list[str]:
        return [ts.state for ts in dask_scheduler.tasks.values()]

    def report() -> None:
        while True:  # at the start, then every PROGRESS_EVERY seconds until the end
            try:
                found = client.run_on_scheduler(states)
            except Exception:  # progress must never break the run
                return
            running = found.count("processing")
            waiting = len(found) - running - found.count("memory")
            sys.stderr.write(f"cluster: {running} tasks running, {waiting} waiting\n")
            if stop.wait(PROGRESS_EVERY):
                return

    thread = threading.Thread(target=report, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _write(args: argparse.Namespace, data: Any, attrs: dict, like: Any, *inputs: Path) -> None:
    """Write a mask or labels; an OME-Zarr output gets the axes and scale of the image `like`."""
    from ..core.io import save

    metadata = getattr(like, "metadata", None)
    save(
        data,
        args.output,
        overwrite=args.overwrite,
        attrs={"seglab": attrs},
        inputs=inputs,
        metadata=metadata if metadata is not None and metadata.ndim == data.ndim else None,
        labels=True,
        levels=args.pyramid,
    )
    _say(f"wrote {args.output}")


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def threshold_options(args: argparse.Namespace) -> Any:
    """The ThresholdOptions of the command line: every option whose dest is one of its fields."""
    from dataclasses import fields

    from ..core.threshold import ThresholdOptions

    given = vars(args)
    return ThresholdOptions(
        **{f.name: given[f.name] for f in fields(ThresholdOptions) if f.name in given}
    )


def _threshold(args: argparse.Namespace) -> None:
    import shutil
    from dataclasses import replace

    from ..core.io import open_image, save
    from ..core.threshold import ThresholdMethod, prepare_image, threshold

    options = threshold_options(args)
    check_outputs(args, args.input)
    image = open_input(args, args.input, "image")
    rgb, channel = colour(args, image, args.input)
    if rgb and args.rgb_mode is None:
        _say(f"{args.input.name}: a colour image, thresholded on its luminance (see --rgb)")
    options = replace(options, rgb=rgb, channel=channel)
    method = options.method
    scratch = args.output.with_name(args.output.name + ".seglab-tmp")
    try:
        if options.median_size > 1 and method.is_global and method is not ThresholdMethod.MANUAL:
            # A global threshold reads the image twice (histogram, then mask): filter once.
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir()
            save(prepare_image(image, options), scratch / "median.zarr")
            result = threshold(open_image(scratch / "median.zarr"), options=options.for_prepared())
        else:
            result = threshold(image, options=options)
        _report_threshold(args, result, options, image)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _report_threshold(args: argparse.Namespace, result: Any, options: Any, image: Any) -> None:
    """Print the threshold used and write the mask with the parameters as metadata."""
    _say(result.describe())
    value = result.value
    attrs = {
        "step": "threshold",
        "input": str(args.input),
        "method": args.method,
        "foreground": args.foreground,
        "median": args.median_size,
        "rgb": (f"channel {options.channel}" if options.channel is not None else "luminance")
        if options.rgb
        else "none",
        "threshold": value if value is None or isinstance(value, float) else value.tolist(),
    }
    _write(args, result.mask, attrs, image, args.input)


def _clean(args: argparse.Namespace) -> None:
    from ..core.cleanup import clean_up

    check_outputs(args, args.input)
    mask = open_input(args, args.input, "mask")
    refuse_rgb(args, mask, args.input, "clean-up needs a mask or label image")
    check_mask(mask, args.input, labels=args.labels)
    out = clean_up(
        mask,
        remove_smaller_than=args.remove_smaller_than,
        fill_holes_smaller_than=args.fill_holes_smaller_than,
        connectivity=args.connectivity,
    )
    attrs = {
        "step": "clean",
        "input": str(args.input),
        "remove_smaller_than": args.remove_smaller_than,
        "fill_holes_smaller_than": args.fill_holes_smaller_than,
        "connectivity": args.connectivity,
        "labels": args.labels,
    }
    _write(args, out, attrs, mask, args.input)


def _classify(args: argparse.Namespace) -> None:
    from ..core.classifier import PixelClassifier

    check_outputs(args, args.input, args.classifier)
    classifier = PixelClassifier.load(args.classifier)
    image = open_input(args, args.input, "image", group=False)
    names = classifier.class_names
    wanted = args.foreground_class
    if wanted is not None and wanted not in [int(c) for c in classifier.classes_]:
        raise SegLabInputError(
            f"--foreground-class {wanted}: the classifier knows the classes "
            f"{', '.join(f'{k} ({v})' for k, v in names.items())}; choose one of them."
        )
    image, channel_axis = _channel_axis(args, image, classifier)
    labels = classifier.predict(image, channel_axis=channel_axis)
    _say(f"classes: {', '.join(f'{k} = {v}' for k, v in names.items())}")
    attrs = {
        "step": "classify",
        "input": str(args.input),
        "classifier": str(args.classifier),
        "classes": {str(k): v for k, v in names.items()},
    }
    if wanted is not None:  # a 0/1 mask of that class, ready for evaluate and clean
        labels = (labels == wanted).astype("uint8")
        attrs["foreground_class"] = wanted
        _say(f"writing the mask of class {wanted} ({names.get(wanted, wanted)})")
    _write(args, labels, attrs, image, args.input)


def _channel_axis(args: argparse.Namespace, image: Any, classifier: Any) -> tuple[Any, int | None]:
    """The image to classify and its channel axis: ``--channel-axis``, or from ``--rgb``."""
    if args.channel_axis is not None:
        return image, args.channel_axis
    rgb, channel = colour(args, image, args.input)
    mode = (args.rgb_mode or ("channels",))[0]
    if not rgb:
        return image, None
    if mode == "luminance":
        raise SegLabInputError(
            "--rgb luminance changes the value range (to 0..1), so a classifier trained on "
            "the original values would see other images; use --rgb channel N, or train the "
            "classifier on colour images and leave out --rgb."
        )
    if channel is not None:
        return image[..., channel], None
    if classifier.n_channels == 1:
        raise SegLabInputError(
            f"{args.input.name} is an RGB(A) image (shape {image.shape}) but the classifier "
            "was trained on single-channel images: add --rgb channel N to classify one "
            "channel, or train the classifier on colour images."
        )
    _say(f"{args.input.name}: a colour image, classified on its {image.shape[-1]} channels")
    return image, -1


_COLUMNS = ("plane", "tp", "fp", "fn", "tn", "f1", "iou", "mcc", "precision", "recall")


def _table(rows: list[dict]) -> str:
    def cell(value: Any) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    cells = [[cell(row[c]) for c in _COLUMNS] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(_COLUMNS)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(_COLUMNS, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def _in_memory(arrays: tuple[Any, ...]) -> tuple[Any, ...]:
    """Load the arrays for ``--objects`` (the user's explicit choice), if small enough."""
    import numpy as np

    pixels = max(int(np.prod(a.shape)) for a in arrays)
    if pixels > OBJECT_PIXELS:
        raise SegLabInputError(
            f"--objects reads both images whole, which is only done for up to "
            f"{OBJECT_PIXELS:,} pixels; these have {pixels:,}. Leave out --objects for the "
            "pixel counts, or crop a region to match objects."
        )
    return tuple(np.asarray(a) for a in arrays)


def _evaluate(args: argparse.Namespace) -> None:
    from ..core.metrics import evaluate

    check_csv(args.csv, args.prediction, args.ground_truth)
    prediction = open_input(args, args.prediction, "prediction")
    truth = open_input(args, args.ground_truth, "ground truth")
    refuse_rgb(args, prediction, args.prediction, "a prediction must be a mask")
    refuse_rgb(args, truth, args.ground_truth, "a ground truth must be a mask")
    prediction = _foreground(args, prediction)
    if args.objects:
        check_same_shape(prediction, truth, ("prediction", "ground truth"))  # before loading
        result = evaluate(*_in_memory((prediction, truth)), objects=True)
    else:
        result = evaluate(prediction, truth, objects=False)
    rows = list(result.rows())
    shown = rows if len(rows) <= 21 else rows[-1:]
    _say(_table(shown))
    if len(rows) > len(shown):
        _say(f"({len(rows) - 1} per-plane rows not shown; see --csv)")
    if result.objects is not None:
        o = result.objects
        _say(
            f"objects: {o.n_true} true, {o.n_predicted} predicted, {o.matched} matched at IoU "
            f">= {o.iou_threshold} (F1 {o.f1:.4f})"
        )
    if args.csv is not None:
        result.to_csv(args.csv)
        _say(f"wrote {args.csv}")


def _foreground(args: argparse.Namespace, prediction: Any) -> Any:
    """The prediction as a mask: class ``--foreground-class`` (lazily), or as it is."""
    wanted = args.foreground_class
    if wanted is None:
        classes = class_names_of(args.prediction)
        if classes:
            raise SegLabInputError(
                f"{args.prediction.name} holds the class ids of seglab classify "
                f"({', '.join(f'{k} = {v}' for k, v in classes.items())}); add "
                "--foreground-class N to score class N as the foreground."
            )
        return prediction
    import numpy as np

    if prediction.dtype == bool or not np.issubdtype(prediction.dtype, np.integer):
        raise SegLabInputError(
            f"--foreground-class needs a prediction of class ids (whole numbers), not "
            f"{prediction.dtype} data."
        )
    return (prediction == wanted).astype("uint8")


def _sample(args: argparse.Namespace) -> None:
    from importlib.resources import files

    if not args.folder.is_dir():
        raise SegLabInputError(f"The folder {args.folder} does not exist.")
    data = files("napari_seglab") / "data"
    for name in ("kesm_grayscale.png", "kesm_groundtruth.png"):
        (args.folder / name).write_bytes((data / name).read_bytes())
        _say(f"wrote {args.folder / name}")


def _warmup(args: argparse.Namespace) -> None:
    from ..core.classifier import compiled_code_cached, warm_up

    _say(
        "loading the compiled code..."
        if compiled_code_cached()
        else "compiling (up to a minute)..."
    )
    warm_up()
    _say("done: the pixel classifier starts at once from now on")


STEPS = {
    "threshold": _threshold,
    "clean": _clean,
    "classify": _classify,
    "evaluate": _evaluate,
    "sample": _sample,
    "warmup": _warmup,
}
