"""Numba traversal of a flattened random forest: summed leaf values of each pixel.

Imported lazily (numba takes about half a second to import); compiled once and cached on disk.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uint32, uint64

from ._numba import LAUNCH

__all__ = ["forest_votes"]

_BLOCK = 256
_CHUNK = 2


@njit(inline="always")
def _descend(x, base, node, feature, threshold, child):  # pragma: no cover - numba
    # Leaves point to themselves with an infinite threshold: descending there is a no-op.
    return child[node] + uint32(x[base + feature[node]] > threshold[node])


@njit(parallel=True, cache=True, nogil=True)  # no fastmath: leaves rely on `x > inf` being False
def _forest_votes(x, feature, threshold, child, leaf, roots, out, early):  # pragma: no cover
    n = x.shape[1]
    n_features = uint64(x.shape[0])
    n_trees = roots.size
    n_classes = leaf.shape[1]
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for blk in prange(n_blocks):
        start = blk * _BLOCK
        m = min(n, start + _BLOCK) - start
        # The block's features pixel by pixel; unsigned indices spare numba's wraparound
        # checks in the innermost loop.
        xb = np.empty(m * n_features, np.float32)
        for f in range(n_features):
            for q in range(m):
                xb[q * n_features + f] = x[f, start + q]
        acc = np.zeros((m, n_classes), np.float32)
        active = np.arange(m).astype(np.uint32)
        n_active = m
        t = 0
        while t < n_trees and n_active > 0:
            t_stop = min(n_trees, t + _CHUNK) if early else n_trees
            for tree in range(t, t_stop):
                root = uint32(roots[tree])
                j = 0
                # Four pixels at a time: independent chains of loads overlap in the CPU.
                while j + 4 <= n_active:
                    q0 = active[j]
                    q1 = active[j + 1]
                    q2 = active[j + 2]
                    q3 = active[j + 3]
                    b0 = uint64(q0) * n_features
                    b1 = uint64(q1) * n_features
                    b2 = uint64(q2) * n_features
                    b3 = uint64(q3) * n_features
                    a0 = a1 = a2 = a3 = root
                    while True:
                        c0 = _descend(xb, b0, a0, feature, threshold, child)
                        c1 = _descend(xb, b1, a1, feature, threshold, child)
                        c2 = _descend(xb, b2, a2, feature, threshold, child)
                        c3 = _descend(xb, b3, a3, feature, threshold, child)
                        if (c0 == a0) & (c1 == a1) & (c2 == a2) & (c3 == a3):
                            break
                        a0, a1, a2, a3 = c0, c1, c2, c3
                    for k in range(n_classes):
                        acc[q0, k] += leaf[a0, k]
                        acc[q1, k] += leaf[a1, k]
                        acc[q2, k] += leaf[a2, k]
                        acc[q3, k] += leaf[a3, k]
                    j += 4
                while j < n_active:
                    q0 = active[j]
                    b0 = uint64(q0) * n_features
                    a0 = root
                    while True:
                        c0 = _descend(xb, b0, a0, feature, threshold, child)
                        if c0 == a0:
                            break
                        a0 = c0
                    for k in range(n_classes):
                        acc[q0, k] += leaf[a0, k]
                    j += 1
            t = t_stop
            if early and t < n_trees:
                # Keep only the pixels whose winning class could still change: the leader
                # must beat the runner-up by more than the votes left to cast.
                remaining = n_trees - t
                kept = 0
                for j in range(n_active):
                    q = active[j]
                    best = -1.0
                    second = -1.0
                    for k in range(n_classes):
                        v = acc[q, k]
                        if v > best:
                            second = best
                            best = v
                        elif v > second:
                            second = v
                    if best - second <= remaining:
                        active[kept] = q
                        kept += 1
                n_active = kept
        for q in range(m):
            for k in range(n_classes):
                out[start + q, k] = acc[q, k]


def forest_votes(
    x: np.ndarray, forest: dict[str, np.ndarray], *, early: bool = False
) -> np.ndarray:
    """Summed leaf probabilities of a flattened forest for pixels ``x`` of shape (F, N).

    `forest` holds the arrays of :func:`._estimator.kernel_forest`. A pixel goes left when
    ``x[feature] <= threshold``, as in scikit-learn. Divide by the number of trees for
    probabilities. With `early`, a pixel stops as soon as its winning class is certain: only
    the argmax of its row is then meaningful (and equals the full forest's).
    """
    if x.dtype != np.float32 or x.strides[1] != x.itemsize:
        x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty((x.shape[1], forest["leaf"].shape[1]), np.float32)
    with LAUNCH:
        _forest_votes(
            x,
            forest["k_feature"],
            forest["k_threshold"],
            forest["k_child"],
            forest["leaf"],
            forest["roots"],
            out,
            early,
        )
    return out
