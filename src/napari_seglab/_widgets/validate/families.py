"""The score families the Validate panel adds to the pixel scores: instances and boundaries.

Both need the layers in memory (see :func:`napari_seglab.core.metrics.score_instances` and
:func:`napari_seglab.core.metrics.boundary_scores`); for lazy layers they are skipped and the
objects table says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...core._blocks import is_lazy
from ...core.metrics import boundary_scores, score_instances

__all__ = ["FAMILIES", "family_scores"]

FAMILIES = {"instances": "instances (DSB, PQ)", "boundary": "boundary (F1, HD95, clDice)"}
"""Family key -> check box text."""


def family_scores(
    prediction: Any,
    truth: Any,
    *,
    families: tuple[str, ...],
    foreground_class: int | str | None,
    spacing: tuple[float, ...],
) -> dict[str, float]:
    """Rows of the objects table (name -> value), the most used first; empty for lazy input.

    Instances: the prediction's labels with ``"any"``, else the components of its foreground;
    the ground truth's components. Boundary: at a tolerance of one pixel (the smallest pixel
    size of `spacing`, in its units).
    """
    if not families or is_lazy(prediction) or is_lazy(truth):
        return {}
    rows: dict[str, float] = {}
    if "instances" in families:
        pred = prediction
        if foreground_class not in (None, "any"):
            pred = np.asarray(prediction) == foreground_class
        scores = score_instances(pred, np.asarray(truth) != 0)
        rows["DSB score (IoU 0.5:0.95)"] = scores.dsb_score
        rows["PQ (IoU 0.5)"] = scores.at(0.5).pq
        rows["instance F1 (IoU 0.5)"] = scores.at(0.5).f1
        rows["instance F1 (IoU 0.75)"] = scores.at(0.75).f1
    if "boundary" in families:
        tolerance = min(spacing)
        b = boundary_scores(
            prediction,
            truth,
            tolerance=tolerance,
            spacing=spacing,
            foreground_class=foreground_class,
        )
        rows[f"boundary F1 ({tolerance:g})"] = b.boundary_f1
        rows[f"NSD ({tolerance:g})"] = b.nsd
        rows["clDice"] = b.cl_dice
        rows["HD95"] = b.hd95
        rows["ASSD"] = b.assd
        rows["Hausdorff"] = b.hausdorff
    return rows
