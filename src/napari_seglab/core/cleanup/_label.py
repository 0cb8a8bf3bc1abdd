"""Connected-component labelling of one chunk, for the chunked clean-up.

:func:`scipy.ndimage.label` holds the GIL and labels about 80 million voxels per second; the
chunked clean-up labels every chunk several times, from several threads. :func:`label` finds
the same components (the same partition of the voxels, numbered in the order of their first
voxel, as scipy numbers them) with a union-find over the runs of voxels along the last axis,
compiled by numba: several times faster, in the smallest integer type that holds the labels,
and without the GIL, so that chunks are labelled in parallel. :func:`relabel` maps each
component through a table without making the label image; :func:`count` gives the voxels of
each label.

Imported lazily (numba takes about half a second to import); the kernels are cached on disk.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit

__all__ = ["count", "label", "label_sizes", "relabel", "relabel_by_size", "value_range"]


@njit(cache=True, nogil=True)
def _find(parent, x):  # pragma: no cover - numba
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:  # path compression
        following = parent[x]
        parent[x] = root
        x = following
    return root


@njit(cache=True, nogil=True)
def _union(parent, a, b):  # pragma: no cover - numba
    a, b = _find(parent, a), _find(parent, b)
    if a < b:
        parent[b] = a
    elif b < a:
        parent[a] = b


_ONES = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)


@njit(cache=True, nogil=True)
def _runs3(flat, words, shape, rows, widen):  # pragma: no cover - numba
    """The runs of a 3D mask of `shape` along x and the component of each: ``(first, start,
    stop, component, n)``; the runs of row ``z * ny + y`` are ``first[row] .. first[row + 1]
    - 1``.

    `flat`: the mask's bytes in C order (0 = background); `words`: the same bytes as 64-bit
    words, so that 8 voxels of background or of foreground are stepped over at once.
    `rows`: the earlier rows ``(dz, dy)`` that neighbour a row; `widen`: 1 where runs of that
    row also touch through a corner (the neighbourhood holds ``dx = -1, 0, 1`` there), else 0.
    """
    nz, ny, nx = shape[0], shape[1], shape[2]
    first = np.zeros(nz * ny + 1, np.int64)  # the runs of row r are first[r] .. first[r+1]-1
    start = np.empty(4096, np.int32)
    stop = np.empty(4096, np.int32)
    n_runs = 0
    for r in range(nz * ny):
        first[r] = n_runs
        row = r * nx
        end = row + nx
        x = row
        while x < end:
            while x < end:  # background: whole words of zeros, then byte by byte
                if (x & 7) == 0 and x + 8 <= end and words[x >> 3] == 0:
                    x += 8
                elif flat[x] == 0:
                    x += 1
                else:
                    break
            if x == end:
                break
            begin = x
            while x < end:  # foreground: whole words without a zero byte, then bytes
                if (x & 7) == 0 and x + 8 <= end:
                    w = words[x >> 3]
                    if ((w - _ONES) & ~w & _HIGHS) == 0:
                        x += 8
                        continue
                if flat[x] == 0:
                    break
                x += 1
            if n_runs == start.size:
                start = np.concatenate((start, np.empty_like(start)))
                stop = np.concatenate((stop, np.empty_like(stop)))
            start[n_runs] = begin - row
            stop[n_runs] = x - row
            n_runs += 1
    first[nz * ny] = n_runs
    parent = np.arange(n_runs).astype(np.int32)
    for z in range(nz):
        for y in range(ny):
            here = z * ny + y
            for j in range(rows.shape[0]):
                zz, yy = z + rows[j, 0], y + rows[j, 1]
                if zz < 0 or yy < 0 or yy >= ny:
                    continue
                there = zz * ny + yy
                g = widen[j]
                i, i_end = first[here], first[here + 1]
                p, p_end = first[there], first[there + 1]
                while i < i_end and p < p_end:
                    if stop[p] + g <= start[i]:
                        p += 1
                    elif stop[i] + g <= start[p]:
                        i += 1
                    else:
                        _union(parent, i, p)
                        if stop[p] < stop[i]:
                            p += 1
                        else:
                            i += 1
    # Each component's root is its first run in C order: number the roots in that order.
    final = np.zeros(n_runs, np.int32)
    m = 0
    for i in range(n_runs):
        root = _find(parent, i)
        if root == i:
            m += 1
            final[i] = m
        else:
            final[i] = final[root]
    return first, start[:n_runs], stop[:n_runs], final, m


@njit(cache=True, nogil=True)
def _paint3(first, start, stop, values, out):  # pragma: no cover - numba
    """Write ``values[run]`` over each run into `out` (3D, zeros elsewhere)."""
    ny = out.shape[1]
    for r in range(first.size - 1):
        z, y = r // ny, r % ny
        for i in range(first[r], first[r + 1]):
            out[z, y, start[i] : stop[i]] = values[i]


@njit(cache=True, nogil=True)
def _count3(labels, n):  # pragma: no cover - numba
    sizes = np.zeros(n + 1, np.int64)
    nz, ny, nx = labels.shape
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                sizes[labels[z, y, x]] += 1
    return sizes


def _as_3d(array: np.ndarray) -> np.ndarray:
    return array.reshape((1,) * (3 - array.ndim) + array.shape)


def _runs(mask: np.ndarray, structure: np.ndarray) -> tuple | None:
    """The runs and their components (see ``_runs3``), or None where scipy must label."""
    if mask.ndim not in (2, 3):
        return None
    cube = np.zeros((3, 3, 3), bool)  # a 2D neighbourhood is the middle plane
    cube[tuple(slice(None) if a >= 3 - mask.ndim else slice(1, 2) for a in range(3))] = structure
    rows, widen = [], []
    for dz, dy in ((-1, -1), (-1, 0), (-1, 1), (0, -1)):
        line = cube[dz + 1, dy + 1]
        if not line.any():
            continue
        if not line[1] or line[0] != line[2]:  # not a run-friendly neighbourhood
            return None
        rows.append((dz, dy))
        widen.append(int(line[0]))
    flat = np.ascontiguousarray(mask).reshape(-1)
    if flat.dtype.itemsize != 1:  # wider integers: one byte per voxel, 1 = foreground
        flat = (flat != 0).view(np.uint8)
    flat = flat.view(np.uint8)
    return _runs3(
        flat,
        flat[: flat.size // 8 * 8].view(np.uint64),
        np.array(_as_3d(mask).shape, np.int64),
        np.array(rows, np.int64).reshape(-1, 2),
        np.array(widen, np.int64),
    )


def label(mask: np.ndarray, structure: np.ndarray) -> tuple[np.ndarray, int]:
    """:func:`scipy.ndimage.label` of a 2D or 3D boolean mask, faster and without the GIL.

    Parameters
    ----------
    mask : numpy.ndarray of bool
        2D or 3D (other dimensions go to scipy).
    structure : numpy.ndarray of bool
        The neighbourhood, as for scipy (``scipy.ndimage.generate_binary_structure``).

    Returns
    -------
    labels : numpy.ndarray
        0 for background, 1 to `n` for the components, numbered in C order of their first
        voxel (the same labels as scipy's), in the smallest unsigned type that holds `n`.
    n : int

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> mask = np.array([[1, 0, 1], [0, 1, 1]], bool)
    >>> labels, n = label(mask, ndi.generate_binary_structure(2, 1))
    >>> labels.tolist(), n
    ([[1, 0, 2], [0, 2, 2]], 2)
    """
    runs = _runs(mask, structure)
    if runs is None:
        from scipy import ndimage as ndi

        labels, n = ndi.label(mask, structure)
        return labels, int(n)
    first, start, stop, component, n = runs
    out = np.zeros(mask.shape, np.min_scalar_type(n))
    _paint3(first, start, stop, component.astype(out.dtype), _as_3d(out))
    return out, int(n)


def relabel(mask: np.ndarray, structure: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[label(mask, structure)[0]]`` without making the label image.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> mask = np.array([[1, 0, 1], [0, 1, 1]], bool)
    >>> table = np.array([False, False, True])  # keep object 2
    >>> relabel(mask, ndi.generate_binary_structure(2, 1), table).astype(int).tolist()
    [[0, 0, 1], [0, 1, 1]]
    """
    return relabel_by_size(mask, structure, lambda _: table)


def relabel_by_size(
    mask: np.ndarray, structure: np.ndarray, table_of: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """``table_of(sizes)[labels]`` for the labels of `mask`, without making the label image.

    `sizes` holds the voxels of each label ``0..n`` (as :func:`count`), counted from the
    runs; `table_of` returns a table over the labels (background voxels stay 0).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> mask = np.array([[1, 0, 1], [0, 1, 1]], bool)
    >>> relabel_by_size(mask, ndi.generate_binary_structure(2, 1), lambda s: s >= 2).tolist()
    [[False, False, True], [False, True, True]]
    """
    runs = _runs(mask, structure)
    if runs is None:
        labels, _, sizes = label_sizes(mask, structure)
        return table_of(sizes)[labels]
    first, start, stop, component, n = runs
    table = table_of(_run_sizes(mask, start, stop, component, n))
    out = np.zeros(mask.shape, table.dtype)
    _paint3(first, start, stop, table[component], _as_3d(out))
    return out


def _run_sizes(mask: np.ndarray, start, stop, component, n: int) -> np.ndarray:
    sizes = np.bincount(component, weights=stop - start, minlength=n + 1).astype(np.int64)
    sizes[0] = mask.size - sizes[1:].sum()
    return sizes


def label_sizes(mask: np.ndarray, structure: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """:func:`label` and the voxels of each label ``0..n`` (counted from the runs).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> mask = np.array([[1, 0, 1], [0, 1, 1]], bool)
    >>> labels, n, sizes = label_sizes(mask, ndi.generate_binary_structure(2, 1))
    >>> n, sizes.tolist()
    (2, [2, 1, 3])
    """
    runs = _runs(mask, structure)
    if runs is None:
        from scipy import ndimage as ndi

        labels, n = ndi.label(mask, structure)
        return labels, int(n), np.bincount(labels.ravel(), minlength=n + 1)
    first, start, stop, component, n = runs
    out = np.zeros(mask.shape, np.min_scalar_type(n))
    _paint3(first, start, stop, component.astype(out.dtype), _as_3d(out))
    return out, int(n), _run_sizes(mask, start, stop, component, n)


def count(labels: np.ndarray, n: int) -> np.ndarray:
    """Voxels per label ``0..n`` of a 2D or 3D label image (``numpy.bincount`` without the
    int64 copy of the whole image).

    Examples
    --------
    >>> import numpy as np
    >>> count(np.array([[0, 1], [2, 2]], np.int32), 2).tolist()
    [1, 1, 2]
    """
    if labels.ndim not in (2, 3):
        return np.bincount(labels.ravel(), minlength=n + 1)
    return _count3(_as_3d(labels), n)


def value_range(block: np.ndarray) -> tuple[int, int, int]:
    """Smallest value, largest value, smallest non-zero value (the type's largest if none)
    of an integer or boolean array (numpy's vectorised reductions; a mask needs no pass over
    its non-zero values alone).

    Examples
    --------
    >>> import numpy as np
    >>> value_range(np.array([[0, 3], [5, 3]], np.uint8))
    (0, 5, 3)
    """
    flat = block.reshape(-1)
    if flat.dtype == bool:
        flat = flat.view(np.uint8)
    ceiling = int(np.iinfo(flat.dtype).max)
    if flat.size == 0:
        return 0, 0, ceiling
    # numpy's minimum and maximum are vectorised: a mask (zeros and one value) needs two
    # more counts, not a pass over the non-zero values.
    low, high = int(flat.min()), int(flat.max())
    if low != 0:
        return low, high, low
    if high == 0:
        return 0, 0, ceiling
    n_high = np.count_nonzero(flat == high)
    if n_high == np.count_nonzero(flat):
        return low, high, high
    others = flat[(flat != 0) & (flat != high)]
    return low, high, int(others.min())
