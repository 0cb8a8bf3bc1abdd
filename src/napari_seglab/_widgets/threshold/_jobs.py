"""The threshold widget's work, as generator jobs run off the GUI thread by ``run_job``.

Each ``yield`` is a step of the progress bar and a point where Cancel stops the job. They
only drive :mod:`napari_seglab.core.threshold` and :func:`napari_seglab.core.clean_up`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ...core.cleanup import clean_up
from ...core.threshold import (
    ThresholdOptions,
    TryAllResult,
    iter_try_all,
    prepare_image,
    threshold,
)

if TYPE_CHECKING:
    import napari

__all__ = ["Source", "clean_job", "shown", "threshold_job", "try_all_job"]


class Source(NamedTuple):
    """What a run reads: the layer, its data (or the plane in view), and where it goes.

    ``plane`` and ``shape`` are set for a lazy stack: the output layer then has the stack's
    (grayscale) ``shape`` with only ``plane`` filled, so it shows on that plane only.
    """

    layer: napari.layers.Image
    data: Any
    note: str
    plane: tuple[int, ...] | None = None
    shape: tuple[int, ...] | None = None


def _histogram(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts and bin edges to plot: one bin per value for narrow integer ranges."""
    lo, hi = float(image.min()), float(image.max())
    if np.issubdtype(image.dtype, np.integer) and hi - lo < 256:
        return np.histogram(image, bins=int(hi - lo) + 1, range=(lo - 0.5, hi + 0.5))
    return np.histogram(image, bins=256, range=(lo, hi))


def _cleaned(mask: np.ndarray, clean: dict) -> np.ndarray:
    return clean_up(mask, **clean) if any(clean.values()) else mask


def threshold_job(source: Any, options: ThresholdOptions, clean: dict):
    """Load, prepare, threshold and clean up; returns (result, mask, histogram)."""
    prepared = prepare_image(np.asarray(source), options)  # the layer is read here
    yield
    result = threshold(prepared, options=options.for_prepared())
    yield
    return result, _cleaned(result.mask, clean), _histogram(prepared)


def try_all_job(source: Any, truth: Any, options: ThresholdOptions):
    """Every global method, one step each; returns (ranked result, stack of masks, histogram)."""
    prepared = prepare_image(np.asarray(source), options)
    truth = None if truth is None else np.asarray(truth)
    yield
    outcomes = []
    for outcome in iter_try_all(prepared, ground_truth=truth, options=options.for_prepared()):
        outcomes.append(outcome)
        yield
    result = TryAllResult.from_outcomes(outcomes)
    masks = [o.result.mask for o in result.outcomes if o.result is not None]
    stack = np.stack(masks) if masks else None
    return result, stack, _histogram(prepared)


def clean_job(mask: np.ndarray, clean: dict):
    """The clean-up options applied to a mask already computed (a try-all method's)."""
    yield
    return _cleaned(mask, clean)


def shown(value: float | np.ndarray | None, *, short: bool = False) -> str:
    """A threshold as the widget writes it: one value, a range over planes, or "local".

    Blank (constant) planes have a NaN threshold: they are counted, never shown as "nan".
    `short` (the table's cells) leaves out the number of planes.

    Examples
    --------
    >>> shown(np.array([175.0, np.nan, 190.0]))
    '175 to 190 over 3 planes (1 blank)'
    >>> shown(np.array([175.0, np.nan, 190.0]), short=True)
    '175 to 190'
    """
    if value is None:
        return "local"
    if np.ndim(value) == 0:
        return f"{float(value):.6g}"
    values = np.ravel(np.asarray(value, dtype=float))
    finite = values[~np.isnan(values)]
    blank = values.size - finite.size
    if finite.size == 0:
        return f"none: all {values.size} planes are blank"
    lo, hi = finite.min(), finite.max()
    text = f"{lo:.6g}" if lo == hi else f"{lo:.6g} to {hi:.6g}"
    if short:
        return text
    text += f" over {values.size} planes"
    return text + (f" ({blank} blank)" if blank else "")
