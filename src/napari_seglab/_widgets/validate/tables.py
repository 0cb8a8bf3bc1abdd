"""What the Validate panel shows: the metrics and object tables, the confusion colours."""

from __future__ import annotations

from dataclasses import asdict
from enum import Enum
from typing import Any

from ...core.metrics import Evaluation

__all__ = [
    "CLASSES",
    "MEANING",
    "METRIC_NAMES",
    "Palette",
    "legend_html",
    "metrics_table",
    "objects_table",
    "table_text",
]

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


def objects_table(evaluation: Evaluation, families: dict[str, float] | None = None) -> dict:
    """The instance and boundary scores first, then the object metrics (or why there are none)."""
    values = {name: _format(float(v)) for name, v in (families or {}).items()}
    if evaluation.objects is None:
        values["(not computed)"] = "object and boundary metrics need layers in memory"
    else:
        values.update(
            {k.replace("_", " "): _format(v) for k, v in asdict(evaluation.objects).items()}
        )
    return {"data": [[v] for v in values.values()], "index": list(values), "columns": ["value"]}


def legend_html(colors: dict[str, str], evaluation: Evaluation | None) -> str:
    """The TP / FP / FN / TN legend: a colour swatch, the count (once known), the meaning."""
    counts = asdict(evaluation.counts) if evaluation is not None else {}
    lines = []
    for key in CLASSES:
        count = f" {counts[key.lower()]:,}" if counts else ""
        swatch = f'<span style="color:{colors[key]}; background:#808080">&#9632;</span>'
        lines.append(f"{swatch} <b>{key}</b>{count} &mdash; {MEANING[key]}")
    return "<br>".join(lines)


def table_text(evaluation: Evaluation | None, families: dict[str, float]) -> str:
    """Every score as tab-separated text (pastes into a spreadsheet); empty before a run."""
    if evaluation is None:
        return ""
    rows = list(evaluation.rows())
    lines = ["\t".join(rows[0])]
    lines += ["\t".join(str(v) for v in row.values()) for row in rows]
    extra = dict(families)
    if evaluation.objects is not None:
        extra.update(asdict(evaluation.objects))
    if extra:
        lines.append("")
        lines += [f"{k}\t{v}" for k, v in extra.items()]
    return "\n".join(lines)
