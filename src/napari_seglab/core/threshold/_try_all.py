"""Every global method on the same image, scored against a ground truth and ranked.

In memory, the image is prepared (grayscale, median) once and each method thresholds it. A
dask array stays lazy: it is prepared with the lazy median, every global method takes its
value from one histogram pass (:class:`._lazy.GlobalSource`), the masks stay lazy, and the
scores are counted chunk by chunk by :func:`napari_seglab.core.metrics.evaluate`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import is_lazy
from .._validation import SegLabInputError, as_mask, check_same_shape
from . import _eager, _lazy
from ._choices import GLOBAL_METHODS, ThresholdMethod
from ._methods import ThresholdOptions
from ._results import MethodOutcome, ThresholdResult, TryAllResult

__all__ = ["iter_try_all", "try_all_thresholds"]


def _truth(prepared: Any, ground_truth: ArrayLike | None) -> Any:
    """The ground truth checked against the prepared image (a boolean mask in memory)."""
    if ground_truth is None:
        return None
    if is_lazy(prepared) or is_lazy(ground_truth):  # checked chunk by chunk by evaluate
        check_same_shape(prepared, ground_truth, ("image", "ground truth"))
        return ground_truth
    truth = np.asarray(ground_truth)
    check_same_shape(prepared, truth, ("image", "ground truth"))
    return as_mask(truth, name="ground truth", binary=True)


def _thresholder(
    prepared: Any, options: ThresholdOptions, methods: list[ThresholdMethod]
) -> Callable[[ThresholdOptions], ThresholdResult]:
    """How each method thresholds the prepared image (lazy: one histogram for them all)."""
    if not is_lazy(prepared):
        return lambda opts: _eager.threshold_prepared(prepared, opts)
    source = _lazy.GlobalSource(prepared, options, [m for m in methods if m.is_global])

    def lazy(opts: ThresholdOptions) -> ThresholdResult:
        if opts.method.is_global:
            return source.threshold(opts)
        return _lazy.threshold_prepared(prepared, opts)

    return lazy


def iter_try_all(
    image: ArrayLike,
    *,
    ground_truth: ArrayLike | None = None,
    methods: Sequence[ThresholdMethod | str] = GLOBAL_METHODS,
    options: ThresholdOptions | None = None,
    **settings: Any,
) -> Iterator[MethodOutcome]:
    """The outcomes of :func:`try_all_thresholds`, one method at a time, unranked.

    For callers that report progress or stop between methods (the threshold widget). The
    image is prepared, and the ground truth checked, before the first outcome.

    Parameters
    ----------
    image, ground_truth, methods, options, **settings
        As in :func:`try_all_thresholds`.

    Yields
    ------
    MethodOutcome
        In the order of `methods`; rank them with :meth:`TryAllResult.from_outcomes`.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.array([[10, 10, 200], [10, 200, 200]], dtype=np.uint8)
    >>> [o.result.value for o in iter_try_all(img, methods=["otsu", "mean"])]
    [10.0, 105.0]
    """
    options = ThresholdOptions.build(options, **settings)
    prepared = _eager.prepare_image(image, options)
    truth = _truth(prepared, ground_truth)
    methods = [ThresholdMethod(m) for m in methods]
    thresholder = _thresholder(prepared, options.for_prepared(), methods)
    from ..metrics import evaluate

    for method in methods:
        try:
            result = thresholder(options.for_prepared().with_method(method))
        except SegLabInputError as err:
            yield MethodOutcome(method, None, str(err))
        else:
            scored = None if truth is None else evaluate(result.mask, truth, objects=False)
            yield MethodOutcome(method, result, None, scored)


def try_all_thresholds(
    image: ArrayLike,
    *,
    ground_truth: ArrayLike | None = None,
    methods: Sequence[ThresholdMethod | str] = GLOBAL_METHODS,
    progress: Callable[[int, int, ThresholdMethod], None] | None = None,
    options: ThresholdOptions | None = None,
    **settings: Any,
) -> TryAllResult:
    """Run every global threshold method on the same image, and rank them if possible.

    A method that fails on the image (for instance ``"minimum"`` on a histogram with a single
    peak) is reported with its reason and does not stop the others.

    Parameters
    ----------
    image : array_like
        As in :func:`threshold`. A dask array is computed chunk by chunk: one pass for the
        histogram that every global method uses, one pass per method for its scores; the
        masks stay lazy.
    ground_truth : array_like, optional
        Binary mask of the image's (grayscale) shape. When given, the methods are ranked by
        MCC, then F1 (best first), and each outcome carries its (pixel) evaluation.
    methods : sequence of ThresholdMethod or str
        Which methods to run; every automatic global method by default.
    progress : callable, optional
        Called as ``progress(done, total, method)`` after each method (for progress bars).
    options : ThresholdOptions, optional
        Foreground, preparation and method parameters (``options.method`` is not used).
    **settings
        Or (and) any field of :class:`ThresholdOptions` as a keyword, e.g.
        ``foreground="dark", median_size=3, per_plane=True, classes=4``.

    Returns
    -------
    TryAllResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> img = rng.normal(50, 5, (64, 64)); img[16:48, 16:48] += 100
    >>> truth = np.zeros((64, 64), np.uint8); truth[16:48, 16:48] = 1
    >>> result = try_all_thresholds(img, ground_truth=truth)
    >>> result.best.evaluation.scores.f1 > 0.99
    True
    """
    methods = [ThresholdMethod(m) for m in methods]
    outcomes = []
    for outcome in iter_try_all(
        image, ground_truth=ground_truth, methods=methods, options=options, **settings
    ):
        outcomes.append(outcome)
        if progress is not None:
            progress(len(outcomes), len(methods), outcome.method)
    return TryAllResult.from_outcomes(outcomes)
