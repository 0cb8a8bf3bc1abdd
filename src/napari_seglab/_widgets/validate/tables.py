"""What the Validate panel shows: the metrics and object tables, the confusion colours."""

from __future__ import annotations

from dataclasses import asdict
from enum import Enum
from typing import Any

from ...core.metrics import Evaluation

__all__ = ["CLASSES", "MEANING", "METRIC_NAMES", "Palette", "metrics_table", "objects_table"]

CLASSES = ("TP", "FP", "FN", "TN")
MEANING = {
    "TP": "true positive: foreground in both",
    "FP": "false positive: predicted only",
    "FN": "false negative: ground truth only (missed)",
    "TN": "true negative: background in both",
}

METRIC_NAMES = {
    "f1": "F1 (Dice)",
    "iou": "IoU (Jaccard)",
    "mcc": "MCC",
    "precision": "precision",
    "recall": "recall (sensitivity)",
    "specificity": "specificity",
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy",
    "tp": "TP",
    "fp": "FP",
    "fn": "FN",
    "tn": "TN",
}
"""Rows of the metrics table, the most used first (F1, IoU, MCC are seen without scrolling):
keys of :meth:`Evaluation.rows` -> names shown."""


class Palette(Enum):
    """Colours of the TP / FP / FN / TN layers."""

    ARTICLE = "article (cyan, magenta, yellow, black)"
    OKABE_ITO = "Okabe-Ito (colour-blind safe)"

    @property
    def colors(self) -> dict[str, str]:
        """Class name -> hex colour."""
        if self is Palette.ARTICLE:
            return {"TP": "#00ffff", "FP": "#ff00ff", "FN": "#ffff00", "TN": "#000000"}
        # Okabe & Ito (2008): blue / orange is safe for every common colour-vision deficiency
        return {"TP": "#0072B2", "FP": "#E69F00", "FN": "#CC79A7", "TN": "#000000"}


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def metrics_table(evaluation: Evaluation) -> dict:
    """One row per metric; columns: the total first, then each plane of a stack."""
    rows = list(evaluation.rows())
    rows = rows[-1:] + rows[:-1]
    return {
        "data": [[_format(row[key]) for row in rows] for key in METRIC_NAMES],
        "index": list(METRIC_NAMES.values()),
        "columns": [r["plane"] if r["plane"] == "total" else f"plane {r['plane']}" for r in rows],
    }


def objects_table(evaluation: Evaluation) -> dict:
    """One row per object metric, or one row saying why there are none."""
    if evaluation.objects is None:
        values = {"(not computed)": "object metrics need layers in memory"}
    else:
        values = {k.replace("_", " "): _format(v) for k, v in asdict(evaluation.objects).items()}
    return {"data": [[v] for v in values.values()], "index": list(values), "columns": ["value"]}
