"""The ``seglab`` command: threshold, clean up, classify and evaluate images of any size.

Every step reads its input lazily (zarr, TIFF, PNG, ...) and works chunk by chunk with the same
results as in napari or Python, on this computer's cores or on a dask cluster
(``--scheduler``). Run ``seglab --help`` or ``seglab <step> --help``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .core._validation import SegLabInputError, check_same_shape

__all__ = ["main"]

OBJECT_PIXELS = 2**26
"""Largest image (in pixels) whose objects ``seglab evaluate --objects`` matches in memory."""

CONNECT_TIMEOUT = "10s"
"""How long ``--scheduler`` waits for the cluster before giving up."""

EPILOG = """\
examples (on the KESM sample tile shipped with SegLab; vessels are dark):
  seglab sample .
  seglab threshold kesm_grayscale.png -o vessels.zarr --method otsu --foreground dark --median 3
  seglab clean vessels.zarr -o vessels_clean.zarr --remove-smaller-than 30 \\
      --fill-holes-smaller-than 30
  seglab evaluate vessels.zarr kesm_groundtruth.png --csv scores.csv
  seglab classify kesm_grayscale.png -o classes.zarr --classifier vessels.npz
      (vessels.npz: a classifier saved from the Pixel classifier widget)

Large volumes: use a zarr store (or a TIFF) as input and a .zarr output; SegLab reads and
writes chunk by chunk, so memory use depends on the chunk size, not on the volume size.
On a cluster: start a dask scheduler (e.g. with dask-jobqueue on SLURM) and add
--scheduler tcp://HOST:8786 to any command. Docs: docs/large-data.md.
"""


RAW = argparse.RawDescriptionHelpFormatter


def _chunks(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list of whole numbers such as 64,512,512"
        ) from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("chunk sizes must be positive")
    return values


def _add_run_options(parser: argparse.ArgumentParser, *, output: bool = True) -> None:
    if output:
        parser.add_argument(
            "-o",
            "--output",
            required=True,
            type=Path,
            help="where to write the result: a .zarr store (any size) or a .tif file (small)",
        )
        parser.add_argument(
            "--overwrite", action="store_true", help="replace the output if it exists"
        )
    parser.add_argument(
        "--chunks",
        type=_chunks,
        metavar="Z,Y,X",
        help="process in chunks of this shape (default: the file's own chunks); larger "
        "chunks are faster, smaller ones use less memory",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing dask cluster, e.g. tcp://10.0.0.5:8786 (default: the cores "
        "of this computer)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="seglab",
        description="Segment microscopy images of any size: threshold, clean up, classify, "
        "and score against a ground truth. Results equal SegLab's napari plugin and Python "
        "functions.",
        epilog=EPILOG,
        formatter_class=RAW,
    )
    parser.add_argument("--version", action="version", version=f"seglab {__version__}")
    steps = parser.add_subparsers(dest="step", required=True, metavar="STEP")

    for add_step in (_add_threshold, _add_clean, _add_classify, _add_evaluate, _add_sample):
        add_step(steps)
    return parser


def _add_threshold(steps: Any) -> None:
    from .core.threshold import Foreground, ThresholdMethod, ThresholdOptions

    th = steps.add_parser(
        "threshold",
        help="segment an image with a threshold (otsu, li, ..., local methods)",
        description="Threshold an image: pixels brighter (or darker) than the threshold "
        "become 1, the rest 0. Global methods compute one threshold from the histogram of "
        "the whole image.",
        epilog="example:\n  seglab threshold kesm_grayscale.png -o vessels.zarr --method otsu "
        "--foreground dark --median 3",
        formatter_class=RAW,
    )
    th.add_argument("input", type=Path, help="image: .zarr, .tif, .png, .jpg or .npy")
    th.add_argument(
        "--method",
        default="otsu",
        choices=[m.value for m in ThresholdMethod],
        help="threshold method (default: otsu)",
    )
    th.add_argument(
        "--foreground",
        default="bright",
        choices=[f.value for f in Foreground],
        help="are the objects brighter or darker than the background? (default: bright)",
    )
    defaults = ThresholdOptions()
    # Each option's dest is the ThresholdOptions field it sets (see _threshold_options).
    th.add_argument(
        "--median",
        dest="median_size",
        type=int,
        default=defaults.median_size,
        metavar="SIZE",
        help="median filter width first (0: none)",
    )
    th.add_argument(
        "--median-3d",
        dest="median_ndim",
        action="store_const",
        const=3,
        default=defaults.median_ndim,
        help="median in 3D instead of per plane",
    )
    th.add_argument(
        "--per-plane", action="store_true", help="one threshold per 2D plane, not one overall"
    )
    th.add_argument("--value", type=float, help="the threshold, for --method manual")
    for flag, kind, what in (
        ("--classes", int, "multi_otsu: number of classes"),
        ("--boundary", int, "multi_otsu: which class boundary"),
        ("--block-size", int, "local_mean: odd window width"),
        ("--offset", float, "local_mean: subtracted offset"),
        ("--window-size", int, "niblack/sauvola: odd window width"),
        ("--k", float, "niblack/sauvola: k"),
    ):
        default = getattr(defaults, flag[2:].replace("-", "_"))
        th.add_argument(flag, type=kind, default=default, help=f"{what} (default: {default})")
    _add_run_options(th)


def _add_clean(steps: Any) -> None:
    cl = steps.add_parser(
        "clean",
        help="remove small objects and fill small holes in a mask",
        description="Clean up a mask: remove objects of fewer pixels than a size, then fill "
        "holes of fewer pixels than a size. Objects crossing chunk borders are measured whole.",
        epilog="example:\n  seglab clean vessels.zarr -o vessels_clean.zarr "
        "--remove-smaller-than 30 --fill-holes-smaller-than 30",
        formatter_class=RAW,
    )
    cl.add_argument("input", type=Path, help="mask (0 = background) or label image")
    cl.add_argument("--remove-smaller-than", type=int, default=0, metavar="PIXELS")
    cl.add_argument("--fill-holes-smaller-than", type=int, default=0, metavar="PIXELS")
    cl.add_argument(
        "--connectivity",
        type=int,
        default=1,
        help="1: pixels touch by faces only; 2 (or 3 in 3D): also by corners (default: 1)",
    )
    _add_run_options(cl)


def _add_classify(steps: Any) -> None:
    cf = steps.add_parser(
        "classify",
        help="apply a pixel classifier saved from the napari plugin or Python",
        description="Predict a class for every pixel with a classifier saved by SegLab "
        "(Save in the Pixel classifier widget, or PixelClassifier.save in Python); each "
        "chunk is read with a margin as wide as the classifier's largest filter, so the "
        "result equals the whole-image prediction.",
        epilog="example:\n  seglab classify kesm_grayscale.png -o classes.zarr "
        "--classifier vessels.npz",
        formatter_class=RAW,
    )
    cf.add_argument("input", type=Path, help="image to classify")
    cf.add_argument(
        "--classifier", required=True, type=Path, help="classifier file saved by SegLab (.npz)"
    )
    cf.add_argument(
        "--channel-axis",
        type=int,
        help="axis holding the channels of a multichannel image (RGB: -1)",
    )
    _add_run_options(cf)


def _add_evaluate(steps: Any) -> None:
    ev = steps.add_parser(
        "evaluate",
        help="compare a segmentation with a ground truth; print and save the scores",
        description="Count true/false positives and negatives pixel by pixel (per plane for "
        "stacks) and compute F1 (Dice), IoU (Jaccard), MCC, precision, recall and more.",
        epilog="example:\n  seglab evaluate vessels.zarr kesm_groundtruth.png --csv scores.csv",
        formatter_class=RAW,
    )
    ev.add_argument("prediction", type=Path, help="the segmentation to score")
    ev.add_argument("ground_truth", type=Path, help="the reference mask (0 = background)")
    ev.add_argument("--csv", type=Path, help="also write the table to this CSV file")
    ev.add_argument(
        "--objects",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also match objects (connected components); reads both images whole, so "
        f"only for images of up to {OBJECT_PIXELS:,} pixels (default: pixel counts only)",
    )
    _add_run_options(ev, output=False)


def _add_sample(steps: Any) -> None:
    sa = steps.add_parser(
        "sample",
        help="copy the KESM sample tile and its ground truth to a folder, to try the steps",
        description="Write kesm_grayscale.png and kesm_groundtruth.png (0/255) to a folder.",
    )
    sa.add_argument("folder", type=Path, nargs="?", default=Path("."))


@contextlib.contextmanager
def _scheduler(address: str | None) -> Iterator[None]:
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
def _progress(quiet: bool) -> Iterator[None]:
    if quiet:
        yield
        return
    from dask.diagnostics import ProgressBar

    with ProgressBar(out=sys.stderr):
        yield


def _open(path: Path, chunks: tuple[int, ...] | None, name: str) -> Any:
    from .core.io import open_image

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
    from .core.io import check_output

    check_output(args.output, overwrite=args.overwrite)


def _write(args: argparse.Namespace, data: Any, attrs: dict) -> None:
    from .core.io import save

    save(data, args.output, overwrite=args.overwrite, attrs={"seglab": attrs})
    _say(f"wrote {args.output}")


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def _threshold_options(args: argparse.Namespace) -> Any:
    """The ThresholdOptions of the command line: every option whose dest is one of its fields."""
    from dataclasses import fields

    from .core.threshold import ThresholdOptions

    given = vars(args)
    return ThresholdOptions(
        **{f.name: given[f.name] for f in fields(ThresholdOptions) if f.name in given}
    )


def _threshold(args: argparse.Namespace) -> None:
    import shutil

    from .core.io import open_image, save
    from .core.threshold import ThresholdMethod, prepare_image, threshold

    options = _threshold_options(args)
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
    from .core.cleanup import clean_up

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
    from .core.classifier import PixelClassifier

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
    from .core.metrics import evaluate

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


_STEPS = {
    "threshold": _threshold,
    "clean": _clean,
    "classify": _classify,
    "evaluate": _evaluate,
    "sample": _sample,
}


def _limit_malloc_arenas() -> None:
    """Have glibc keep at most two memory arenas (``MALLOC_ARENA_MAX=2``), on Linux.

    By default glibc gives each thread that allocates (dask's, zarr's) its own arena and
    keeps the memory freed there for that thread, so the resident size of a long chunked
    run creeps up to several times the memory in use (about 800 instead of 550 MiB for
    16 MiB chunks). Two arenas keep the peak near what is in use at no cost in speed. A
    ``MALLOC_ARENA_MAX`` set by the user is left alone; elsewhere this does nothing.
    """
    import os

    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl)
        return
    m_arena_max = -8
    libc.mallopt(m_arena_max, 2)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``seglab`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 2 for bad input (the message is printed, without a
        traceback), 130 when interrupted.

    Examples
    --------
    >>> import tempfile
    >>> main(["sample", tempfile.mkdtemp()])  # doctest: +ELLIPSIS
    wrote ...kesm_grayscale.png
    wrote ...kesm_groundtruth.png
    0
    """
    from .core import Cancelled

    args = _parser().parse_args(argv)
    _limit_malloc_arenas()
    try:
        with (
            _scheduler(getattr(args, "scheduler", None)),
            _progress(getattr(args, "quiet", True) or args.step == "sample"),
        ):
            _STEPS[args.step](args)
    except SegLabInputError as err:
        sys.stderr.write(f"seglab {args.step}: error: {err}\n")
        return 2
    except (KeyboardInterrupt, Cancelled):
        sys.stderr.write(f"seglab {args.step}: interrupted; no output was written.\n")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
