"""How the ``seglab`` steps read and check their inputs and outputs before any work."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from ..core._validation import SegLabInputError

__all__ = [
    "RGB_MIN_SIDE",
    "check_csv",
    "check_mask",
    "check_outputs",
    "class_names_of",
    "colour",
    "looks_rgb",
    "open_input",
    "refuse_rgb",
]

RGB_MIN_SIDE = 30
"""An image is taken as RGB(A) when its last axis has 3 or 4 values and the two before are
longer than this (napari's own guess for image layers)."""

SAMPLE_CHUNKS = 3
"""How many chunks (first, middle, last) ``seglab clean`` reads to tell a mask from an image."""


def looks_rgb(shape: tuple[int, ...]) -> bool:
    """Whether an image of `shape` is RGB(A) by napari's rule (``guess_rgb``).

    Examples
    --------
    >>> looks_rgb((256, 320, 3)), looks_rgb((3, 256, 320)), looks_rgb((10, 10, 3))
    (True, False, False)
    """
    return len(shape) > 2 and shape[-1] in (3, 4) and all(n > RGB_MIN_SIDE for n in shape[-3:-1])


def open_input(args: argparse.Namespace, path: Path, name: str, *, group: bool = True) -> Any:
    """Open an input lazily: ``--level`` and ``--channel`` of an OME-Zarr image, rechunked to
    ``--chunks`` (refused if it has other dimensions); without ``--chunks``, small file
    chunks grouped to ``core.io.GROUPED_CHUNK_BYTES`` unless `group` is False. Its ``metadata``
    is kept."""
    from ..core.io import GROUPED_CHUNK_BYTES, open_image

    image = open_image(
        path,
        level=args.level,
        channel=args.ome_channel,
        min_chunk_bytes=GROUPED_CHUNK_BYTES if group and args.chunks is None else None,
    )
    chunks = args.chunks
    if chunks is not None:
        if len(chunks) != image.ndim:
            raise SegLabInputError(
                f"--chunks has {len(chunks)} values but the {name} {path.name} has "
                f"{image.ndim} dimensions (shape {image.shape})."
            )
        metadata = image.metadata
        image = image.rechunk(chunks)
        image.metadata = metadata
    return image


def colour(args: argparse.Namespace, image: Any, path: Path) -> tuple[bool, int | None]:
    """Whether to read `image` as RGB(A), and which channel (None: the luminance)."""
    mode, channel = args.rgb_mode or (None, None)
    if mode is None:
        return looks_rgb(image.shape), None
    if mode == "none":
        return False, None
    if image.ndim < 3 or image.shape[-1] not in (3, 4):
        raise SegLabInputError(
            f"--rgb {mode}: {path.name} is not a colour image (shape {image.shape}; an RGB(A) "
            "image has 3 or 4 values on its last axis). Leave out --rgb."
        )
    return True, channel


def refuse_rgb(args: argparse.Namespace, image: Any, path: Path, needs: str) -> None:
    """Refuse an RGB(A) image where a mask is needed (unless ``--rgb none``)."""
    if args.rgb_mode is None and looks_rgb(image.shape):
        raise SegLabInputError(
            f"{path.name} is an RGB(A) colour image (shape {image.shape}); {needs}. Threshold "
            "or classify it first. If its last axis really holds planes, add --rgb none."
        )


def _sample(image: Any) -> list[np.ndarray]:
    """A few chunks of `image` (first, middle, last): cheap."""
    from ..core._blocks import compute

    n = int(np.prod(image.numblocks))
    picks = sorted({0, n // 2, n - 1})[:SAMPLE_CHUNKS]
    return list(compute(*[image.blocks[np.unravel_index(i, image.numblocks)] for i in picks]))


def _one_value_and_zero(block: np.ndarray) -> bool:
    """Whether a chunk holds at most two values, one of them 0 (or a single value)."""
    low, high = block.min(), block.max()
    return low == high or (low == 0 and np.min(block, where=block != 0, initial=high) == high)


def check_mask(image: Any, path: Path, *, labels: bool) -> None:
    """Refuse a clean-up input that is not a mask, unless it is declared a label image.

    The rule: boolean, or integer whose sampled chunks hold at most two values, one of them
    0 (0/1, 0/255), is a mask. More values (a grayscale image, class ids) need ``--labels``.
    Floating-point data are left to clean-up's own check.
    """
    if labels or image.dtype == bool or not np.issubdtype(image.dtype, np.integer):
        return
    blocks = _sample(image)
    if all(_one_value_and_zero(b) for b in blocks):
        return
    values = np.unique(np.concatenate([b.ravel() for b in blocks]))
    shown = ", ".join(str(v) for v in values[:6]) + (", ..." if values.size > 6 else "")
    raise SegLabInputError(
        f"{path.name} is not a mask: a few of its chunks already hold {values.size} "
        f"different values ({shown}). Clean-up needs a mask (0 = background, one value = "
        "foreground), so threshold the image first, or for classes of seglab classify use "
        "its --foreground-class; if it is a label image (each value an object), add --labels."
    )


def check_outputs(args: argparse.Namespace, *inputs: Path) -> None:
    """Refuse an unusable ``--output`` before any work (one of the inputs, too)."""
    from ..core.io import check_output

    check_output(args.output, overwrite=args.overwrite, inputs=inputs)
    if args.pyramid is not None and not args.output.name.lower().endswith(".ome.zarr"):
        raise SegLabInputError(
            f"--pyramid {args.pyramid}: only an OME-Zarr output has pyramid levels; name the "
            f"output ...ome.zarr (e.g. {args.output.stem}.ome.zarr) or leave out --pyramid."
        )


def check_csv(path: Path | None, *inputs: Path) -> None:
    """Refuse an unusable ``--csv`` path before any work."""
    import os

    if path is None:
        return
    if path.is_dir():
        raise SegLabInputError(
            f"--csv {path} is a folder; give a file name, e.g. {path / 'scores.csv'}."
        )
    if not path.parent.is_dir():
        raise SegLabInputError(f"The folder {path.parent} (for --csv) does not exist.")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise SegLabInputError(f"--csv {path} cannot be written (read-only); choose another path.")
    if any(path.resolve() == Path(i).resolve() for i in inputs):
        raise SegLabInputError(f"--csv {path} is one of the inputs; choose another file name.")


def class_names_of(path: Path) -> dict[str, str] | None:
    """The class names stored by ``seglab classify`` (or Batch classify) in a zarr store."""
    from ..core.io import is_zarr_store

    if not is_zarr_store(path):
        return None
    import zarr

    try:
        attrs = dict(zarr.open(path, mode="r").attrs).get("seglab", {})
    except Exception:  # unreadable metadata: the image is opened (and refused) elsewhere
        return None
    step = attrs.get("step")
    if step not in ("classify", "pixel classifier") or attrs.get("foreground_class") is not None:
        return None
    return attrs.get("classes") or {}
