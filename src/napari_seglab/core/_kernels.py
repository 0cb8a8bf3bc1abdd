"""Numba kernels behind the pixel classifier: separable filtering and forest traversal.

Imported lazily (numba takes about half a second to import). Every kernel is compiled once and
cached on disk (``cache=True``), takes float32 arrays, and runs in parallel over rows or pixel
blocks.

Why not :func:`scipy.ndimage.correlate1d`: it does not vectorise, and along the first axis of a
2048 x 2048 float32 image it takes about 40 ns per pixel even for a 5-tap kernel. The kernels
here give the same numbers (same "reflect" boundary, same weights) at a small fraction of the
time.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

__all__ = [
    "correlate_axis",
    "eigvalsh2",
    "eigvalsh3",
    "forest_proba",
    "reflect_index",
]


def reflect_index(n: int, radius: int) -> np.ndarray:
    """Source index of each position ``-radius .. n + radius - 1`` under "reflect" extension.

    "reflect" is scipy.ndimage's default (``d c b a | a b c d | d c b a``), repeated as often as
    needed when the radius exceeds the length.
    """
    positions = np.arange(-radius, n + radius)
    period = 2 * n
    positions = np.mod(positions, period)
    return np.where(positions < n, positions, period - 1 - positions).astype(np.intp)


@njit(parallel=True, fastmath=True, cache=True)
def _correlate_last(src, dst, weights, symmetric, index):  # pragma: no cover - numba
    rows, n = src.shape
    radius = weights.size - 1
    for row in prange(rows):
        line = src[row]
        buf = np.empty(n + 2 * radius, np.float32)
        for j in range(n + 2 * radius):
            buf[j] = line[index[j]]
        out = dst[row]
        w0 = weights[0]
        for i in range(n):
            out[i] = w0 * buf[i + radius]
        for k in range(1, radius + 1):
            wk = weights[k]
            if symmetric:
                for i in range(n):
                    out[i] += wk * (buf[i + radius + k] + buf[i + radius - k])
            else:
                for i in range(n):
                    out[i] += wk * (buf[i + radius + k] - buf[i + radius - k])


@njit(parallel=True, fastmath=True, cache=True)
def _correlate_middle(src, dst, weights, symmetric, index):  # pragma: no cover - numba
    pre, n, post = src.shape
    radius = weights.size - 1
    w0 = weights[0]
    for t in prange(pre * n):
        p = t // n
        i = t % n
        out = dst[p, i]
        centre = src[p, index[i + radius]]
        for q in range(post):
            out[q] = w0 * centre[q]
        for k in range(1, radius + 1):
            a = src[p, index[i + radius + k]]
            b = src[p, index[i + radius - k]]
            wk = weights[k]
            if symmetric:
                for q in range(post):
                    out[q] += wk * (a[q] + b[q])
            else:
                for q in range(post):
                    out[q] += wk * (a[q] - b[q])


def correlate_axis(
    src: np.ndarray, half_weights: np.ndarray, *, axis: int, symmetric: bool
) -> np.ndarray:
    """Filter a float32 array along one axis with a symmetric or antisymmetric kernel.

    Parameters
    ----------
    src : numpy.ndarray of float32
        C-contiguous input.
    half_weights : numpy.ndarray
        ``w[0..r]``. A symmetric filter computes ``w0 x[i] + sum_k w[k] (x[i+k] + x[i-k])``;
        an antisymmetric one ``sum_k w[k] (x[i+k] - x[i-k])`` (``w[0]`` must be 0).
    axis : int
    symmetric : bool

    Returns
    -------
    numpy.ndarray of float32, same shape, with scipy.ndimage's "reflect" boundary.
    """
    src = np.ascontiguousarray(src, dtype=np.float32)
    axis = axis % src.ndim
    n = src.shape[axis]
    pre = int(np.prod(src.shape[:axis], dtype=np.int64))
    post = int(np.prod(src.shape[axis + 1 :], dtype=np.int64))
    weights = np.ascontiguousarray(half_weights, dtype=np.float32)
    index = reflect_index(n, weights.size - 1)
    dst = np.empty_like(src)
    if post == 1:
        _correlate_last(src.reshape(pre, n), dst.reshape(pre, n), weights, symmetric, index)
    else:
        _correlate_middle(
            src.reshape(pre, n, post), dst.reshape(pre, n, post), weights, symmetric, index
        )
    return dst


@njit(parallel=True, fastmath=True, cache=True)
def eigvalsh2(a, b, c, out0, out1):  # pragma: no cover - numba
    """Eigenvalues of the symmetric 2 x 2 matrices [[a, b], [b, c]], largest first."""
    n = a.size
    for i in prange(n):
        half_trace = 0.5 * (a[i] + c[i])
        d = 0.5 * (a[i] - c[i])
        root = np.sqrt(d * d + b[i] * b[i])
        out0[i] = half_trace + root
        out1[i] = half_trace - root


@njit(parallel=True, fastmath=True, cache=True)
def eigvalsh3(a, b, c, d, e, f, out0, out1, out2):  # pragma: no cover - numba
    """Eigenvalues of the symmetric matrices [[a, b, c], [b, d, e], [c, e, f]], largest first.

    The closed form of Smith (1961), evaluated in float64 for each voxel.
    """
    n = a.size
    for i in prange(n):
        a11 = np.float64(a[i])
        a12 = np.float64(b[i])
        a13 = np.float64(c[i])
        a22 = np.float64(d[i])
        a23 = np.float64(e[i])
        a33 = np.float64(f[i])
        p1 = a12 * a12 + a13 * a13 + a23 * a23
        q = (a11 + a22 + a33) / 3.0
        if p1 <= 1e-30 * (a11 * a11 + a22 * a22 + a33 * a33) or p1 == 0.0:
            x, y, z = a11, a22, a33
            if x < y:
                x, y = y, x
            if y < z:
                y, z = z, y
            if x < y:
                x, y = y, x
            out0[i] = x
            out1[i] = y
            out2[i] = z
            continue
        p2 = (a11 - q) ** 2 + (a22 - q) ** 2 + (a33 - q) ** 2 + 2.0 * p1
        p = np.sqrt(p2 / 6.0)
        b11 = (a11 - q) / p
        b22 = (a22 - q) / p
        b33 = (a33 - q) / p
        b12 = a12 / p
        b13 = a13 / p
        b23 = a23 / p
        det = b11 * (b22 * b33 - b23 * b23) - b12 * (b12 * b33 - b23 * b13)
        det += b13 * (b12 * b23 - b22 * b13)
        r = det / 2.0
        if r <= -1.0:
            phi = np.pi / 3.0
        elif r >= 1.0:
            phi = 0.0
        else:
            phi = np.arccos(r) / 3.0
        e1 = q + 2.0 * p * np.cos(phi)
        e3 = q + 2.0 * p * np.cos(phi + 2.0 * np.pi / 3.0)
        out0[i] = e1
        out1[i] = 3.0 * q - e1 - e3
        out2[i] = e3


_BLOCK = 256


@njit(parallel=True, cache=True)
def _forest_proba(x, feature, threshold, left, right, leaf, roots, out):  # pragma: no cover
    n = x.shape[1]
    n_trees = roots.size
    n_classes = leaf.shape[1]
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    scale = np.float32(1.0 / n_trees)
    for blk in prange(n_blocks):
        start = blk * _BLOCK
        stop = min(n, start + _BLOCK)
        acc = np.zeros((stop - start, n_classes), np.float32)
        for t in range(n_trees):
            root = roots[t]
            for p in range(start, stop):
                node = root
                while feature[node] >= 0:
                    go_left = x[feature[node], p] <= threshold[node]
                    node = left[node] if go_left else right[node]
                for k in range(n_classes):
                    acc[p - start, k] += leaf[node, k]
        for p in range(start, stop):
            for k in range(n_classes):
                out[p, k] = acc[p - start, k] * scale


def forest_proba(
    x: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    leaf: np.ndarray,
    roots: np.ndarray,
) -> np.ndarray:
    """Average class probabilities of a flattened forest for pixels ``x`` of shape (F, N).

    Node arrays hold every tree one after the other (children as absolute indices, leaves
    marked by ``feature == -1``); ``roots`` gives each tree's first node. A pixel goes left
    when ``x[feature] <= threshold``, as in scikit-learn.
    """
    out = np.empty((x.shape[1], leaf.shape[1]), np.float32)
    _forest_proba(x, feature, threshold, left, right, leaf, roots, out)
    return out


def set_threads(n: int | None) -> int:
    """Set numba's thread count for the calling thread; return the previous one."""
    previous = numba.get_num_threads()
    if n is not None:
        numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
    return previous
