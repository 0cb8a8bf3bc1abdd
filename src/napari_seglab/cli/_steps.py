"""What each ``seglab`` step does: read lazily, compute with core, write atomically."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core._validation import SegLabInputError, check_same_shape

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
    from dask.diagnostics import ProgressBar

    with ProgressBar(out=sys.stderr):
        yield


def _open(path: Path, chunks: tuple[int, ...] | None, name: str) -> Any:
    from ..core.io import open_image

    image = open_image(path)
    if chunks is not None:
        if len(chunks) != image.ndim:
            raise SegLabInputError(
                f"--chunks has {len(chunks)} values but the {name} {path.name} has "
                f"{image.ndim} dimensions (shape {image.shape})."
            )
        image = image.rechunk(chunks)
    return image


def _check_output(args: argparse.Namespace) -> None:
    """Refuse an unusable output path before any work rather than after it."""
    from ..core.io import check_output

    check_output(args.output, overwrite=args.overwrite)


def _write(args: argparse.Namespace, data: Any, attrs: dict) -> None:
    from ..core.io import save

    save(data, args.output, overwrite=args.overwrite, attrs={"seglab": attrs})
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

    from ..core.io import open_image, save
    from ..core.threshold import ThresholdMethod, prepare_image, threshold

    options = threshold_options(args)
    _check_output(args)
    image = _open(args.input, args.chunks, "image")
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
        _report_threshold(args, result)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _report_threshold(args: argparse.Namespace, result: Any) -> None:
    """Print the threshold used and write the mask with the parameters as metadata."""
    _say(result.describe())
    value = result.value
    attrs = {
        "step": "threshold",
        "input": str(args.input),
        "method": args.method,
        "foreground": args.foreground,
        "median": args.median_size,
        "threshold": value if value is None or isinstance(value, float) else value.tolist(),
    }
    _write(args, result.mask, attrs)


def _clean(args: argparse.Namespace) -> None:
    from ..core.cleanup import clean_up

    _check_output(args)
    mask = _open(args.input, args.chunks, "mask")
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
    }
    _write(args, out, attrs)


def _classify(args: argparse.Namespace) -> None:
    from ..core.classifier import PixelClassifier

    _check_output(args)
    classifier = PixelClassifier.load(args.classifier)
    image = _open(args.input, args.chunks, "image")
    labels = classifier.predict(image, channel_axis=args.channel_axis)  # lazy: a dask input
    _say(f"classes: {', '.join(f'{k} = {v}' for k, v in classifier.class_names.items())}")
    attrs = {
        "step": "classify",
        "input": str(args.input),
        "classifier": str(args.classifier),
        "classes": {str(k): v for k, v in classifier.class_names.items()},
    }
    _write(args, labels, attrs)


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

    if args.csv is not None and not args.csv.parent.is_dir():
        raise SegLabInputError(f"The folder {args.csv.parent} does not exist.")
    prediction = _open(args.prediction, args.chunks, "prediction")
    truth = _open(args.ground_truth, args.chunks, "ground truth")
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


def _sample(args: argparse.Namespace) -> None:
    from importlib.resources import files

    if not args.folder.is_dir():
        raise SegLabInputError(f"The folder {args.folder} does not exist.")
    data = files("napari_seglab") / "data"
    for name in ("kesm_grayscale.png", "kesm_groundtruth.png"):
        (args.folder / name).write_bytes((data / name).read_bytes())
        _say(f"wrote {args.folder / name}")


STEPS = {
    "threshold": _threshold,
    "clean": _clean,
    "classify": _classify,
    "evaluate": _evaluate,
    "sample": _sample,
}
