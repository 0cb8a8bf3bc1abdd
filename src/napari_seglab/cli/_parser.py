"""The ``seglab`` command's arguments: one sub-parser per step."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._steps import OBJECT_PIXELS

__all__ = ["parser"]

EPILOG = """\
examples (on the KESM sample tile shipped with SegLab; vessels are dark):
  seglab sample .
  seglab threshold kesm_grayscale.png -o vessels.zarr --method otsu --foreground dark --median 3
  seglab clean vessels.zarr -o vessels_clean.zarr --remove-smaller-than 30 \\
      --fill-holes-smaller-than 30
  seglab evaluate vessels.zarr kesm_groundtruth.png --csv scores.csv
  seglab classify kesm_grayscale.png -o classes.zarr --classifier vessels.npz
      (vessels.npz: a classifier saved from the Pixel classifier widget)
  seglab evaluate classes.zarr kesm_groundtruth.png --foreground-class 2

Large volumes: use a zarr store (or a TIFF) as input and a .zarr output; SegLab reads and
writes chunk by chunk, so memory use depends on the chunk size, not on the volume size.
An output ending in .ome.zarr is an OME-Zarr pyramid (napari and other viewers open it at
the right level) with the input's axes, scale and units; --level and --channel choose what
is read from an OME-Zarr input.
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


def _not_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a size must be 0 (off) or more, not {value}")
    return value


def _positive(text: str) -> int:
    value = _not_negative(text)
    if value < 1:
        raise argparse.ArgumentTypeError("give 1 or more")
    return value


def _class_id(text: str) -> int:
    value = _not_negative(text)
    if value < 1:
        raise argparse.ArgumentTypeError("class ids start at 1 (0 is background)")
    return value


class _RgbAction(argparse.Action):
    """``--rgb luminance``, ``--rgb channel N`` or ``--rgb none``, stored as (mode, channel)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        mode, *rest = values
        allowed = self.const
        if mode not in allowed:
            parser.error(f"--rgb: choose {' or '.join(allowed)}, not {mode!r}")
        if mode == "channel":
            if len(rest) != 1 or not rest[0].isdigit():
                parser.error("--rgb channel needs the channel number, e.g. --rgb channel 2")
            setattr(namespace, self.dest, (mode, int(rest[0])))
            return
        if rest:
            parser.error(
                f"--rgb {mode} takes no value (got {' '.join(rest)}); put the input file "
                "before the options"
            )
        setattr(namespace, self.dest, (mode, None))


def _none_only(text: str) -> tuple[str, None]:
    if text != "none":
        raise argparse.ArgumentTypeError(
            f"only 'none' (the last axis holds planes, not colours) is possible here, not {text!r}"
        )
    return ("none", None)


def _add_rgb(parser: argparse.ArgumentParser, *, convert: bool) -> None:
    """The ``--rgb`` option: how a colour image (detected as napari does) is read."""
    if convert:
        parser.add_argument(
            "--rgb",
            dest="rgb_mode",
            nargs="+",
            action=_RgbAction,
            const=("luminance", "channel", "none"),
            metavar=("MODE", "N"),
            help="an image whose last axis has 3 or 4 values (and whose other two last axes "
            "exceed 30 pixels) is taken as RGB(A), as napari does: 'luminance' (default) "
            "uses its brightness, 'channel N' one channel (0 = red), 'none' treats the last "
            "axis as planes",
        )
        return
    parser.add_argument(
        "--rgb",
        dest="rgb_mode",
        type=_none_only,
        metavar="none",
        help="an image that looks like RGB(A) (last axis of 3 or 4) is refused; 'none' "
        "treats its last axis as planes instead",
    )


def _add_run_options(parser: argparse.ArgumentParser, *, output: bool = True) -> None:
    if output:
        parser.add_argument(
            "-o",
            "--output",
            required=True,
            type=Path,
            help="where to write the result: a .ome.zarr OME-Zarr pyramid (any size, with the "
            "input's axes, scale and units), a plain .zarr store (any size) or a .tif file "
            "(small)",
        )
        parser.add_argument(
            "--overwrite", action="store_true", help="replace the output if it exists"
        )
        parser.add_argument(
            "--pyramid",
            type=_positive,
            metavar="LEVELS",
            help="levels of a .ome.zarr output, each half the size of the one before in y "
            "and x (default: halve until y and x are at most 256)",
        )
    parser.add_argument(
        "--level",
        type=_not_negative,
        default=0,
        help="pyramid level of an OME-Zarr input: 0 (default) is full resolution, 1 the "
        "next smaller, ...",
    )
    parser.add_argument(
        "--channel",
        dest="ome_channel",  # not ThresholdOptions.channel, the channel of an RGB image
        type=_not_negative,
        metavar="N",
        help="channel of an OME-Zarr input with several channels (its axis c); for an RGB "
        "image see --rgb",
    )
    parser.add_argument(
        "--chunks",
        type=_chunks,
        metavar="Z,Y,X",
        help="process in chunks of this shape (default: the file's own chunks, those under "
        "16 MiB read in groups of about 16 MiB, except for classify); larger chunks are "
        "faster, smaller ones use less memory",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing dask cluster, e.g. tcp://10.0.0.5:8786 (default: the cores "
        "of this computer)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def parser() -> argparse.ArgumentParser:
    from .. import __version__

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

    for add_step in (
        _add_threshold, _add_clean, _add_classify, _add_evaluate, _add_sample, _add_warmup
    ):  # fmt: skip
        add_step(steps)
    return parser


def _add_threshold(steps: Any) -> None:
    from ..core.threshold import Foreground, ThresholdMethod, ThresholdOptions

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
    _add_rgb(th, convert=True)
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
    cl.add_argument(
        "input", type=Path, help="mask (0 = background) or, with --labels, label image"
    )
    cl.add_argument(
        "--remove-smaller-than",
        type=_not_negative,
        default=0,
        metavar="PIXELS",
        help="remove objects of fewer pixels (voxels) than this (default: 0, off)",
    )
    cl.add_argument(
        "--fill-holes-smaller-than",
        type=_not_negative,
        default=0,
        metavar="PIXELS",
        help="fill holes of fewer pixels (voxels) than this (default: 0, off)",
    )
    cl.add_argument(
        "--labels",
        action="store_true",
        help="the input is a label image (each value an object id). Without it the input "
        "must be a mask: boolean, or 0 and one other value (0/1, 0/255); an image with more "
        "values (a grayscale image, class ids) is refused. Checked on a few chunks only",
    )
    cl.add_argument(
        "--connectivity",
        type=int,
        default=1,
        help="1: pixels touch by faces only; 2 (or 3 in 3D): also by corners (default: 1)",
    )
    _add_rgb(cl, convert=False)
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
        "--classifier",
        required=True,
        type=Path,
        help="classifier file saved by SegLab (.npz, or .skops for a scikit-learn model)",
    )
    cf.add_argument(
        "--channel-axis",
        type=int,
        help="axis holding the channels of a multichannel image (default: -1 for an image "
        "detected as RGB, see --rgb; none otherwise)",
    )
    cf.add_argument(
        "--foreground-class",
        type=_class_id,
        metavar="N",
        help="write the 0/1 mask of class N (1 = foreground) instead of the class ids, e.g. "
        "to score it with seglab evaluate",
    )
    _add_rgb(cf, convert=True)
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
    ev.add_argument(
        "prediction",
        type=Path,
        help="the segmentation to score: a mask (0/1, 0/255, boolean), or class ids with "
        "--foreground-class",
    )
    ev.add_argument("ground_truth", type=Path, help="the reference mask (0 = background)")
    ev.add_argument("--csv", type=Path, help="also write the table to this CSV file")
    ev.add_argument(
        "--foreground-class",
        type=_class_id,
        metavar="N",
        help="the prediction holds class ids (e.g. from seglab classify): score class N as "
        "the foreground and every other class as background",
    )
    _add_rgb(ev, convert=False)
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


def _add_warmup(steps: Any) -> None:
    steps.add_parser(
        "warmup",
        help="compile the pixel classifier's code now (once after installing, up to a minute)",
        description="Compile (just after installing) or load the pixel classifier's compiled "
        "code, so that the first training in napari, Python or seglab classify starts at once.",
    )
