"""What the thresholds return: one result, and the outcomes of trying every method."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .._validation import SegLabInputError
from ._choices import Foreground, ThresholdMethod

__all__ = ["MethodOutcome", "ThresholdResult", "TryAllResult"]


@dataclass(frozen=True)
class ThresholdResult:
    """What :func:`threshold` returns.

    Attributes
    ----------
    mask : numpy.ndarray of uint8
        1 = foreground, 0 = background; same shape as the (grayscale) input.
    method : ThresholdMethod
    foreground : Foreground
    value : float or numpy.ndarray or None
        The threshold: a float for a global method over the whole image, an array with one
        value per plane (shape of the leading axes) with ``per_plane=True`` (NaN for a blank,
        constant plane, which is left as background), ``None`` for local methods (whose
        threshold differs at every pixel).
    note : str
        What the user should know about how the value was found (empty if nothing): e.g.
        that an integer image of a wide range was thresholded from 256 bins.
    """

    mask: np.ndarray
    method: ThresholdMethod
    foreground: Foreground
    value: float | np.ndarray | None
    note: str = ""

    def describe(self) -> str:
        """A one-line summary such as ``"otsu: 175 (foreground dark)"``."""
        if self.value is None:
            shown = "local"
        elif np.ndim(self.value) == 0:
            shown = f"{self.value:.6g}"
        else:
            vals = np.asarray(self.value)
            blank = int(np.isnan(vals).sum())
            if blank == vals.size:
                shown = f"none: all {vals.size} planes are blank"
            else:
                shown = f"{np.nanmin(vals):.6g} to {np.nanmax(vals):.6g} over {vals.size} planes"
            if 0 < blank < vals.size:
                shown += f" ({blank} blank, left as background)"
        text = f"{self.method.value}: {shown} (foreground {self.foreground.value})"
        return f"{text}; {self.note}" if self.note else text


@dataclass(frozen=True)
class MethodOutcome:
    """One row of :class:`TryAllResult`.

    Attributes
    ----------
    method : ThresholdMethod
    result : ThresholdResult or None
        ``None`` when the method failed on this image.
    error : str or None
        Why the method failed.
    evaluation : napari_seglab.core.metrics.Evaluation or None
        Scores against the ground truth, when one was given.
    """

    method: ThresholdMethod
    result: ThresholdResult | None
    error: str | None = None
    evaluation: object | None = None


@dataclass(frozen=True)
class TryAllResult:
    """The outcome of every global method, best first when a ground truth was given.

    Attributes
    ----------
    outcomes : list of MethodOutcome
        Best first when `ranked`, else in the order the methods were run.
    ranked : bool
        Whether the outcomes were ranked against a ground truth.
    warning : str
        Why the scores cannot rank the methods (empty if they can): a ground truth without
        foreground, or without background, makes MCC meaningless. The outcomes are then
        left unranked (with their scores).
    """

    outcomes: list[MethodOutcome] = field(default_factory=list)
    ranked: bool = False
    warning: str = ""

    @classmethod
    def from_outcomes(cls, outcomes: Sequence[MethodOutcome]) -> TryAllResult:
        """Collect outcomes, ranked by MCC, then F1 (failures last) if they were scored."""
        scored = [o.evaluation for o in outcomes if o.evaluation is not None]
        warning = _truth_warning(scored[0].counts) if scored else ""
        if not scored or warning:
            return cls(list(outcomes), ranked=False, warning=warning)
        outcomes = sorted(
            outcomes,
            key=lambda o: (
                o.evaluation is None,
                -(o.evaluation.scores.mcc if o.evaluation else 0.0),
                -(o.evaluation.scores.f1 if o.evaluation else 0.0),
            ),
        )
        return cls(list(outcomes), ranked=True)

    @property
    def best(self) -> MethodOutcome:
        """The best-scoring method (by MCC, then F1), or the first that succeeded (unranked)."""
        for outcome in self.outcomes:
            if outcome.result is not None:
                return outcome
        raise SegLabInputError("No threshold method succeeded on this image.")

    def __getitem__(self, method: ThresholdMethod | str) -> MethodOutcome:
        method = ThresholdMethod(method)
        for outcome in self.outcomes:
            if outcome.method is method:
                return outcome
        raise KeyError(method.value)

    def table(self) -> list[dict]:
        """One dict per method: threshold, and F1 / MCC / IoU when ranked, or the error."""
        rows = []
        for outcome in self.outcomes:
            row: dict = {"method": outcome.method.value}
            if outcome.result is None:
                row["threshold"] = None
                row["error"] = outcome.error
            else:
                row["threshold"] = outcome.result.value
                row["error"] = None
            if outcome.evaluation is not None:
                scores = outcome.evaluation.scores
                row.update(mcc=scores.mcc, f1=scores.f1, iou=scores.iou)
            rows.append(row)
        return rows


def _truth_warning(counts: object) -> str:
    """Why a ground truth with these confusion counts cannot rank methods ("" if it can)."""
    positives = counts.tp + counts.fn
    negatives = counts.tn + counts.fp
    if positives == 0:
        return (
            "The ground truth has no foreground pixel, so the scores cannot rank the methods; "
            "choose the ground truth of this image (or paint one)."
        )
    if negatives == 0:
        return (
            "The ground truth is foreground everywhere, so the scores cannot rank the "
            "methods; choose the ground truth of this image."
        )
    return ""
