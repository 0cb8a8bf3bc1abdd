"""A plain reference for the compiled forest: walk the node arrays one tree level at a time."""

from __future__ import annotations

import numpy as np


def walk(forest: dict, rows: np.ndarray) -> np.ndarray:
    """Mean leaf values of the forest's node arrays for `rows` (n_rows, n_features)."""
    everyone = np.arange(len(rows))
    total = 0.0
    for root in forest["roots"]:
        node = np.full(len(rows), root)
        inner = forest["feature"][node] >= 0
        while inner.any():
            at = node[inner]
            right = rows[everyone[inner], forest["feature"][at]] > forest["threshold"][at]
            node[inner] = forest["child"][at] + right
            inner = forest["feature"][node] >= 0
        total = total + forest["leaf"][node]
    return total / len(forest["roots"])
