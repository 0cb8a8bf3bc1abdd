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

__all__ = [
    "count",
    "image_faces",
    "label",
    "label_faces",
    "label_sizes",
    "paint_runs",
    "painted_faces",
    "relabel",
    "relabel_by_size",
    "run_faces",
    "run_sizes",
    "runs",
    "runs_outside",
    "touching",
    "unique_pairs",
    "value_range",
]


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
    `rows`, `widen`: see ``_join3``.
    """
    first, start, stop = _scan3(flat, words, shape)
    component, m = _join3(first, start, stop, shape[1], rows, widen)
    return first, start, stop, component, m


@njit(cache=True, nogil=True)
def _gaps3(first, start, stop, keep, nx):  # pragma: no cover - numba
    """The runs of the voxels outside the runs where `keep` holds, row by row (rows of
    `nx` voxels): ``(first, start, stop)`` as ``_scan3`` finds them in the inverse mask."""
    n_rows = first.size - 1
    out_first = np.zeros(n_rows + 1, np.int64)
    out_start = np.empty(start.size + n_rows, np.int32)  # at most one more gap than runs
    out_stop = np.empty(start.size + n_rows, np.int32)
    n = 0
    for r in range(n_rows):
        out_first[r] = n
        x = 0
        for i in range(first[r], first[r + 1]):
            if keep[i]:
                if start[i] > x:
                    out_start[n] = x
                    out_stop[n] = start[i]
                    n += 1
                x = stop[i]
        if x < nx:
            out_start[n] = x
            out_stop[n] = nx
            n += 1
    out_first[n_rows] = n
    return out_first, out_start[:n], out_stop[:n]


@njit(cache=True, nogil=True)
def _scan3(flat, words, shape):  # pragma: no cover - numba
    """The runs of a 3D mask along x: ``(first, start, stop)`` (see ``_runs3``)."""
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
    return first, start[:n_runs], stop[:n_runs]


@njit(cache=True, nogil=True)
def _join3(first, start, stop, ny, rows, widen):  # pragma: no cover - numba
    """The component of each run (numbered from 1 in C order of their first run) and their
    number. `rows`: the earlier rows ``(dz, dy)`` that neighbour a row (rows of `ny` per
    plane); `widen`: 1 where runs of that row also touch through a corner (the
    neighbourhood holds ``dx = -1, 0, 1`` there), else 0.
    """
    n_runs = start.size
    nz = (first.size - 1) // ny
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
    return final, m


@njit(cache=True, nogil=True)
def _touching3(
    first,
    start,
    stop,
    component,
    chosen,
    gaps_first,
    gaps_start,
    gaps_stop,
    gaps_component,
    ny,
    rows,
    widen,
):  # pragma: no cover - numba
    """``(a, b)``: the component ``a`` of each run where ``chosen[a]`` and the component
    ``b`` of each gap run it touches (pairs repeat). Runs touch along their row end to end,
    and in the neighbouring rows, earlier (`rows`, `widen` as for ``_join3``) and later."""
    nz = (first.size - 1) // ny
    n_out = 0
    out_a = np.empty(1024, np.int64)
    out_b = np.empty(1024, np.int64)
    n_near = 2 * rows.shape[0] + 1
    for z in range(nz):
        for y in range(ny):
            here = z * ny + y
            for i in range(first[here], first[here + 1]):
                if not chosen[component[i]]:
                    continue
                for j in range(n_near):
                    if j == 0:  # the same row: the gaps just before and just after
                        zz, yy, g = z, y, 1
                    else:
                        sign = 1 if j <= rows.shape[0] else -1
                        k = (j - 1) % rows.shape[0]
                        zz, yy, g = z + sign * rows[k, 0], y + sign * rows[k, 1], widen[k]
                    if zz < 0 or zz >= nz or yy < 0 or yy >= ny:
                        continue
                    there = zz * ny + yy
                    lo, hi = gaps_first[there], gaps_first[there + 1]
                    while lo < hi:  # the first gap that does not end before the run
                        mid = (lo + hi) // 2
                        if gaps_stop[mid] + g <= start[i]:
                            lo = mid + 1
                        else:
                            hi = mid
                    p = lo
                    while p < gaps_first[there + 1] and gaps_start[p] < stop[i] + g:
                        if n_out == out_a.size:
                            out_a = np.concatenate((out_a, np.empty_like(out_a)))
                            out_b = np.concatenate((out_b, np.empty_like(out_b)))
                        out_a[n_out] = component[i]
                        out_b[n_out] = gaps_component[p]
                        n_out += 1
                        p += 1
    return out_a[:n_out], out_b[:n_out]


@njit(cache=True, nogil=True)
def _paint3(first, start, stop, values, out):  # pragma: no cover - numba
    """Write ``values[run]`` over each run into `out` (3D, zeros: runs of value 0 are
    left as they are)."""
    ny = out.shape[1]
    for r in range(first.size - 1):
        z, y = r // ny, r % ny
        for i in range(first[r], first[r + 1]):
            if values[i] != 0:
                out[z, y, start[i] : stop[i]] = values[i]


@njit(cache=True, nogil=True)
def _faces3(
    first, start, stop, values, low_z, high_z, low_y, high_y, low_x, high_x
):  # pragma: no cover - numba
    """Write ``values[run]`` over each run into the six faces of the 3D array of runs:
    ``low_z`` / ``high_z`` (ny, nx) its first / last plane, ``low_y`` / ``high_y`` (nz, nx)
    its first / last row of each plane, ``low_x`` / ``high_x`` (nz, ny) its first / last
    voxel of each row (zeros elsewhere)."""
    nz, ny, nx = low_y.shape[0], low_z.shape[0], low_z.shape[1]
    for r in range(nz * ny):
        z, y = r // ny, r % ny
        a, b = first[r], first[r + 1]
        if a == b:
            continue
        if start[a] == 0:
            low_x[z, y] = values[a]
        if stop[b - 1] == nx:
            high_x[z, y] = values[b - 1]
        if z != 0 and z != nz - 1 and y != 0 and y != ny - 1:
            continue
        for i in range(a, b):
            v = values[i]
            if z == 0:
                low_z[y, start[i] : stop[i]] = v
            if z == nz - 1:
                high_z[y, start[i] : stop[i]] = v
            if y == 0:
                low_y[z, start[i] : stop[i]] = v
            if y == ny - 1:
                high_y[z, start[i] : stop[i]] = v


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


def _neighbourhood(ndim: int, structure: np.ndarray) -> tuple | None:
    """``(rows, widen)`` of ``_join3`` for `structure`, or None where scipy must label."""
    if ndim not in (2, 3):
        return None
    cube = np.zeros((3, 3, 3), bool)  # a 2D neighbourhood is the middle plane
    cube[tuple(slice(None) if a >= 3 - ndim else slice(1, 2) for a in range(3))] = structure
    rows, widen = [], []
    for dz, dy in ((-1, -1), (-1, 0), (-1, 1), (0, -1)):
        line = cube[dz + 1, dy + 1]
        if not line.any():
            continue
        if not line[1] or line[0] != line[2]:  # not a run-friendly neighbourhood
            return None
        rows.append((dz, dy))
        widen.append(int(line[0]))
    return np.array(rows, np.int64).reshape(-1, 2), np.array(widen, np.int64)


def runs(mask: np.ndarray, structure: np.ndarray) -> tuple | None:
    """The runs of a 2D or 3D mask (non-zero voxels) along its last axis and the component
    of each, as :func:`label` finds them: ``(first, start, stop, component, n)``, the runs of
    row ``r`` (in C order) being ``first[r] .. first[r + 1] - 1``; None where
    :func:`scipy.ndimage.label` must label (other dimensions or neighbourhoods).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> first, start, stop, component, n = runs(np.array([[1, 0, 1], [0, 1, 1]]),
    ...                                         ndi.generate_binary_structure(2, 1))
    >>> first.tolist(), start.tolist(), stop.tolist(), component.tolist(), n
    ([0, 2, 3], [0, 2, 1], [1, 3, 3], [1, 2, 2], 2)
    """
    neighbourhood = _neighbourhood(mask.ndim, structure)
    if neighbourhood is None:
        return None
    flat = np.ascontiguousarray(mask).reshape(-1)
    if flat.dtype.itemsize != 1:  # wider integers: one byte per voxel, 1 = foreground
        flat = (flat != 0).view(np.uint8)
    flat = flat.view(np.uint8)
    return _runs3(
        flat,
        flat[: flat.size // 8 * 8].view(np.uint64),
        np.array(_as_3d(mask).shape, np.int64),
        *neighbourhood,
    )


def runs_outside(
    found: tuple, keep: np.ndarray, shape: tuple[int, ...], structure: np.ndarray
) -> tuple:
    """The runs (as :func:`runs` gives them) of the voxels of an array of `shape` outside
    the runs of `found` where `keep` holds: the labelling of the inverse of the kept runs'
    mask, found from the runs without reading the voxels.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> square = ndi.generate_binary_structure(2, 1)
    >>> found = runs(np.array([[1, 0, 1], [0, 1, 1]]), square)
    >>> runs_outside(found, np.array([True, False, False]), (2, 3), square)[1:4]
    (array([1, 0], dtype=int32), array([3, 3], dtype=int32), array([1, 1], dtype=int32))
    """
    gaps = _gaps3(found[0], found[1], found[2], keep, shape[-1])
    return (*gaps, *_join3(*gaps, shape[-2], *_neighbourhood(len(shape), structure)))


def paint_runs(found: tuple, values: np.ndarray, out: np.ndarray) -> None:
    """Write ``values[run]`` over each run of `found` (from :func:`runs`) into `out`, which
    holds zeros (runs of value 0 are not written).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> mask = np.array([[1, 0, 1], [0, 1, 1]])
    >>> out = np.zeros((2, 3), np.uint8)
    >>> paint_runs(runs(mask, ndi.generate_binary_structure(2, 1)), np.array([5, 7, 7]), out)
    >>> out.tolist()
    [[5, 0, 7], [0, 7, 7]]
    """
    _paint3(found[0], found[1], found[2], values.astype(out.dtype, copy=False), _as_3d(out))


def run_faces(found: tuple, shape: tuple[int, ...]) -> tuple[list, list]:
    """The labels (components of `found`, from :func:`runs`) on the first and on the last
    slice along each axis of a 2D or 3D array of `shape`, in the smallest unsigned type that
    holds them: ``(low, high)``, ``low[axis]`` as ``labels[..., 0, ...]`` (`axis` fixed).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> found = runs(np.array([[1, 0, 1], [0, 1, 1]]), ndi.generate_binary_structure(2, 1))
    >>> low, high = run_faces(found, (2, 3))
    >>> [f.tolist() for f in low], [f.tolist() for f in high]
    ([[1, 0, 2], [1, 0]], [[0, 2, 2], [2, 2]])
    """
    return painted_faces([(found, found[3])], shape, found[4])


def painted_faces(parts: list[tuple], shape: tuple[int, ...], top: int) -> tuple[list, list]:
    """:func:`run_faces` of the runs of several disjoint sets, each painted with its values:
    `parts` holds ``(found, values)``, ``values[run]`` for each run of `found`, all at most
    `top` (the faces' type is the smallest that holds it)."""
    nz, ny, nx = (1,) * (3 - len(shape)) + tuple(shape)
    dtype = np.min_scalar_type(top)
    faces = [np.zeros(s, dtype) for s in ((ny, nx),) * 2 + ((nz, nx),) * 2 + ((nz, ny),) * 2]
    for found, values in parts:
        _faces3(found[0], found[1], found[2], values.astype(dtype, copy=False), *faces)
    low, high = faces[0::2], faces[1::2]
    if len(shape) == 2:  # the first axis is y, the second x
        return [f.reshape(-1) for f in low[1:]], [f.reshape(-1) for f in high[1:]]
    return low, high


def touching(
    found: tuple, gaps: tuple, chosen: np.ndarray, shape: tuple[int, ...], structure: np.ndarray
) -> np.ndarray:
    """``(2, k)`` pairs, each once: a component ``a`` of `found` where ``chosen[a]`` and a
    component of `gaps` (the runs outside those of `found`, :func:`runs_outside`) that one
    of its voxels touches through `structure`.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> square = ndi.generate_binary_structure(2, 1)
    >>> found = runs(np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]]), square)
    >>> gaps = runs_outside(found, np.ones(found[1].size, bool), (3, 3), square)
    >>> touching(found, gaps, np.array([False, True]), (3, 3), square).tolist()
    [[1, 1, 1, 1], [1, 2, 3, 4]]
    """
    a, b = _touching3(
        *found[:4], chosen, *gaps[:4], shape[-2], *_neighbourhood(len(shape), structure)
    )
    return unique_pairs(a, b, int(gaps[4]))


def unique_pairs(a: np.ndarray, b: np.ndarray, top: int) -> np.ndarray:
    """The distinct pairs ``(a[i], b[i])``, sorted, as a ``(2, k)`` int64 array (`b` holds
    non-negative integers up to `top`).

    Examples
    --------
    >>> import numpy as np
    >>> unique_pairs(np.array([2, 1, 2]), np.array([0, 3, 0]), 3).tolist()
    [[1, 2], [3, 0]]
    """
    key = np.unique(np.asarray(a, np.int64) * (top + 1) + b)
    return np.stack([key // (top + 1), key % (top + 1)])


def run_sizes(found: tuple, size: int) -> np.ndarray:
    """Voxels of each component ``0..n`` of `found` (from :func:`runs`) in an array of
    `size` voxels (0: the voxels outside the runs).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> run_sizes(runs(np.array([[1, 0, 1], [0, 1, 1]]), ndi.generate_binary_structure(2, 1)), 6)
    array([2, 1, 3])
    """
    _, start, stop, component, n = found
    sizes = np.bincount(component, weights=stop - start, minlength=n + 1).astype(np.int64)
    sizes[0] = size - sizes[1:].sum()
    return sizes


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
    found = runs(mask, structure)
    if found is None:
        from scipy import ndimage as ndi

        labels, n = ndi.label(mask, structure)
        return labels, int(n)
    n = found[4]
    out = np.zeros(mask.shape, np.min_scalar_type(n))
    paint_runs(found, found[3], out)
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
    found = runs(mask, structure)
    if found is None:
        labels, _, sizes = label_sizes(mask, structure)
        return table_of(sizes)[labels]
    table = table_of(run_sizes(found, mask.size))
    out = np.zeros(mask.shape, table.dtype)
    paint_runs(found, table[found[3]], out)
    return out


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
    found = runs(mask, structure)
    if found is None:
        from scipy import ndimage as ndi

        labels, n = ndi.label(mask, structure)
        return labels, int(n), np.bincount(labels.ravel(), minlength=n + 1)
    n = found[4]
    out = np.zeros(mask.shape, np.min_scalar_type(n))
    paint_runs(found, found[3], out)
    return out, int(n), run_sizes(found, mask.size)


def image_faces(labels: np.ndarray) -> tuple[list, list]:
    """The first and the last slice along each axis of a label image, as
    :func:`run_faces` gives them for runs: ``(low, high)``.

    Examples
    --------
    >>> import numpy as np
    >>> low, high = image_faces(np.array([[1, 0, 2], [0, 2, 2]]))
    >>> [f.tolist() for f in low], [f.tolist() for f in high]
    ([[1, 0, 2], [1, 0]], [[0, 2, 2], [2, 2]])
    """
    before = [(slice(None),) * a for a in range(labels.ndim)]  # basic slicing: no gather
    # Copies: the faces outlive the chunk, and views would keep its whole label image.
    low = [labels[(*before[a], 0)].copy() for a in range(labels.ndim)]
    high = [labels[(*before[a], -1)].copy() for a in range(labels.ndim)]
    return low, high


def label_faces(mask: np.ndarray, structure: np.ndarray) -> tuple[list, list, int, np.ndarray]:
    """The labels of :func:`label` on the faces of `mask` (its non-zero voxels; as
    :func:`run_faces` gives them), their number and the voxels of each label ``0..n``,
    without making the label image where the runs are labelled: ``(low, high, n, sizes)``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> low, high, n, sizes = label_faces(np.array([[1, 0, 1], [0, 1, 1]]),
    ...                                   ndi.generate_binary_structure(2, 1))
    >>> low[0].tolist(), n, sizes.tolist()
    ([1, 0, 2], 2, [2, 1, 3])
    """
    found = runs(mask, structure)
    if found is None:
        labels, n, sizes = label_sizes(mask, structure)
        return *image_faces(labels.astype(np.min_scalar_type(n), copy=False)), n, sizes
    return *run_faces(found, mask.shape), found[4], run_sizes(found, mask.size)


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
