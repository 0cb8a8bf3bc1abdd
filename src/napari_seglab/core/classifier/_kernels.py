"""Numba kernels behind the pixel classifier: separable filtering and forest traversal.

Imported lazily (numba takes about half a second to import). Every kernel is compiled once and
cached on disk (``cache=True``), takes float32 arrays, runs in parallel over rows or pixel
blocks, and releases the GIL (``nogil=True``) so that napari's GUI thread keeps turning while
a worker thread runs it.

Why not :func:`scipy.ndimage.correlate1d`: it does not vectorise, and along the first axis of a
2048 x 2048 float32 image it takes about 40 ns per pixel even for a 5-tap kernel. The kernels
here give the same numbers (same "reflect" boundary, same weights) at a small fraction of the
time.
"""

from __future__ import annotations

import threading

import numba
import numpy as np
from numba import njit, prange, uint32, uint64

# numba's fallback "workqueue" threading layer aborts the process when two threads launch
# parallel kernels at once (e.g. a GUI worker and the console); launches are serialised.
LAUNCH = threading.Lock()

__all__ = [
    "correlate_axis",
    "derivative_features",
    "eigvalsh2",
    "eigvalsh3",
    "features_last",
    "forest_votes",
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


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def _correlate_last(src, dst, weights, symmetric, index, start):  # pragma: no cover - numba
    rows = src.shape[0]
    m = dst.shape[1]
    radius = weights.size - 1
    w0 = weights[0]
    for row in prange(rows):
        line = src[row]
        buf = np.empty(m + 2 * radius, np.float32)
        for j in range(m + 2 * radius):
            buf[j] = line[index[start + j]]
        # A fresh accumulator (not a view of dst) lets LLVM vectorise the inner loops.
        acc = np.empty(m, np.float32)
        for i in range(m):
            acc[i] = w0 * buf[i + radius]
        for k in range(1, radius + 1):
            wk = weights[k]
            ahead = buf[radius + k : radius + k + m]
            behind = buf[radius - k : radius - k + m]
            if symmetric:
                for i in range(m):
                    acc[i] += wk * (ahead[i] + behind[i])
            else:
                for i in range(m):
                    acc[i] += wk * (ahead[i] - behind[i])
        dst[row, :] = acc


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def _correlate_middle(src, dst, weights, symmetric, index, start):  # pragma: no cover - numba
    pre, post = src.shape[0], src.shape[2]
    m = dst.shape[1]
    radius = weights.size - 1
    w0 = weights[0]
    for t in prange(pre * m):
        p = t // m
        i = t % m
        j = start + i + radius
        acc = np.empty(post, np.float32)
        centre = src[p, index[j]]
        for q in range(post):
            acc[q] = w0 * centre[q]
        for k in range(1, radius + 1):
            ahead = src[p, index[j + k]]
            behind = src[p, index[j - k]]
            wk = weights[k]
            if symmetric:
                for q in range(post):
                    acc[q] += wk * (ahead[q] + behind[q])
            else:
                for q in range(post):
                    acc[q] += wk * (ahead[q] - behind[q])
        dst[p, i, :] = acc


def correlate_axis(
    src: np.ndarray,
    half_weights: np.ndarray,
    *,
    axis: int,
    symmetric: bool,
    keep: tuple[int, int] | None = None,
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
    keep : (start, stop), optional
        Compute only these output positions along `axis` (the rest of `src` still serves
        as context), e.g. to drop a halo as early as possible.

    Returns
    -------
    numpy.ndarray of float32
        ``src``'s shape (``stop - start`` along `axis` with `keep`), with scipy.ndimage's
        "reflect" boundary at the array's ends.
    """
    src = np.ascontiguousarray(src, dtype=np.float32)
    axis = axis % src.ndim
    n = src.shape[axis]
    start, stop = (0, n) if keep is None else keep
    pre = int(np.prod(src.shape[:axis], dtype=np.int64))
    post = int(np.prod(src.shape[axis + 1 :], dtype=np.int64))
    weights = np.ascontiguousarray(half_weights, dtype=np.float32)
    index = reflect_index(n, weights.size - 1)
    shape = list(src.shape)
    shape[axis] = stop - start
    dst = np.empty(shape, np.float32)
    m = stop - start
    with LAUNCH:
        if post == 1:
            _correlate_last(
                src.reshape(pre, n), dst.reshape(pre, m), weights, symmetric, index, start
            )
        else:
            _correlate_middle(
                src.reshape(pre, n, post),
                dst.reshape(pre, m, post),
                weights,
                symmetric,
                index,
                start,
            )
    return dst


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def _eigvalsh2(a, b, c, out0, out1):  # pragma: no cover - numba
    """Eigenvalues of the symmetric 2 x 2 matrices [[a, b], [b, c]], largest first."""
    n = a.size
    for i in prange(n):
        half_trace = 0.5 * (a[i] + c[i])
        d = 0.5 * (a[i] - c[i])
        root = np.sqrt(d * d + b[i] * b[i])
        out0[i] = half_trace + root
        out1[i] = half_trace - root


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def _eigvalsh3(a, b, c, d, e, f, out0, out1, out2):  # pragma: no cover - numba
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


@njit(fastmath=True, cache=True)
def _d1(g, f, c, n, stride, inv):  # pragma: no cover - numba
    """np.gradient (edge_order=1) along one axis at flat index f, coordinate c of n."""
    if n < 2:
        return 0.0
    if c == 0:
        return (g[f + stride] - g[f]) * inv
    if c == n - 1:
        return (g[f] - g[f - stride]) * inv
    return (g[f + stride] - g[f - stride]) * (0.5 * inv)


@njit(fastmath=True, cache=True)
def _d2(g, f, ca, na, sa, ia, cb, nb, sb, ib, same):  # pragma: no cover - numba
    """np.gradient along axis b of np.gradient along axis a (ca shifts with cb if same)."""
    if nb < 2:
        return 0.0
    step = 1 if same else 0
    if cb == 0:
        hi = _d1(g, f + sb, ca + step, na, sa, ia)
        return (hi - _d1(g, f, ca, na, sa, ia)) * ib
    if cb == nb - 1:
        lo = _d1(g, f - sb, ca - step, na, sa, ia)
        return (_d1(g, f, ca, na, sa, ia) - lo) * ib
    hi = _d1(g, f + sb, ca + step, na, sa, ia)
    lo = _d1(g, f - sb, ca - step, na, sa, ia)
    return (hi - lo) * (0.5 * ib)


@njit(fastmath=True, cache=True)
def _at(g, base, n, offset):  # pragma: no cover - numba
    """The `n` values from flat index ``base + offset`` (a shifted view, for vectorising)."""
    return g[base + offset : base + offset + n]


@njit(fastmath=True, cache=True)
def _eig2(a, b, c):  # pragma: no cover - numba
    half_trace = 0.5 * (a + c)
    d = 0.5 * (a - c)
    root = np.sqrt(d * d + b * b)
    return half_trace + root, half_trace - root


@njit(fastmath=True, cache=True)
def _eig3(a11, a12, a13, a22, a23, a33):  # pragma: no cover - numba
    p1 = a12 * a12 + a13 * a13 + a23 * a23
    q = (a11 + a22 + a33) / 3.0
    scale = a11 * a11 + a22 * a22 + a33 * a33
    if p1 <= 1e-12 * scale or p1 == 0.0:
        x, y, z = a11, a22, a33
        if x < y:
            x, y = y, x
        if y < z:
            y, z = z, y
        if x < y:
            x, y = y, x
        return x, y, z
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
    cos_phi = np.cos(phi)
    # cos(phi + 2 pi / 3) = -cos(phi) / 2 - sin(phi) sqrt(3) / 2, with 0 <= phi <= pi / 3
    cos_third = -0.5 * cos_phi - 0.8660254037844386 * np.sqrt(max(0.0, 1.0 - cos_phi * cos_phi))
    e1 = q + 2.0 * p * cos_phi
    e3 = q + 2.0 * p * cos_third
    return e1, 3.0 * q - e1 - e3, e3


@njit(fastmath=True, cache=True)
def _row_2d(
    g, row, nx, iy, ix, ox, lo, hi, out, zo, yo, i_grad, i_hess, i_log
):  # pragma: no cover
    """2D derivatives of one output row where the stencil lies inside the block."""
    # Fresh row buffers (not views of `out`) let LLVM vectorise this loop.
    n = hi - lo
    grad = np.empty(n, np.float32)
    eig1 = np.empty(n, np.float32)
    eig2 = np.empty(n, np.float32)
    lap = np.empty(n, np.float32)
    base = row + lo + ox
    gy_scale = np.float32(0.5 * iy)
    gx_scale = np.float32(0.5 * ix)
    hyy_scale = np.float32(0.25 * iy * iy)
    hxx_scale = np.float32(0.25 * ix * ix)
    hyx_scale = np.float32(0.25 * iy * ix)
    two = np.float32(2.0)
    half = np.float32(0.5)
    # Shifted views indexed by the loop counter: no negative-index checks, so the
    # loop vectorises.
    cen = g[base : base + n]
    up = g[base - nx : base - nx + n]
    down = g[base + nx : base + nx + n]
    up2 = g[base - 2 * nx : base - 2 * nx + n]
    down2 = g[base + 2 * nx : base + 2 * nx + n]
    left = g[base - 1 : base - 1 + n]
    right = g[base + 1 : base + 1 + n]
    left2 = g[base - 2 : base - 2 + n]
    right2 = g[base + 2 : base + 2 + n]
    up_left = g[base - nx - 1 : base - nx - 1 + n]
    up_right = g[base - nx + 1 : base - nx + 1 + n]
    down_left = g[base + nx - 1 : base + nx - 1 + n]
    down_right = g[base + nx + 1 : base + nx + 1 + n]
    for j in range(n):
        c = cen[j]
        gy = (down[j] - up[j]) * gy_scale
        gx = (right[j] - left[j]) * gx_scale
        hyy = (down2[j] - two * c + up2[j]) * hyy_scale
        hxx = (right2[j] - two * c + left2[j]) * hxx_scale
        hyx = (down_right[j] - down_left[j] - up_right[j] + up_left[j]) * hyx_scale
        half_trace = half * (hyy + hxx)
        d = half * (hyy - hxx)
        root = np.sqrt(d * d + hyx * hyx)
        grad[j] = np.sqrt(gy * gy + gx * gx)
        eig1[j] = half_trace + root
        eig2[j] = half_trace - root
        lap[j] = hyy + hxx
    if i_grad >= 0:
        out[i_grad, zo, yo, lo:hi] = grad
    if i_hess >= 0:
        out[i_hess, zo, yo, lo:hi] = eig1
        out[i_hess + 1, zo, yo, lo:hi] = eig2
    if i_log >= 0:
        out[i_log, zo, yo, lo:hi] = lap


@njit(fastmath=True, cache=True)
def _row_3d(
    g, row, sz, nx, iz, iy, ix, ox, lo, hi, out, zo, yo, i_grad, i_hess, i_log
):  # pragma: no cover - numba
    """3D derivatives of one output row where the stencil lies inside the block."""
    n = hi - lo
    base = row + lo + ox
    grad = np.empty(n, np.float32)
    lap = np.empty(n, np.float32)
    hess = np.empty((6, n), np.float64)

    cen = _at(g, base, n, 0)
    zp, zm = _at(g, base, n, sz), _at(g, base, n, -sz)
    zp2, zm2 = _at(g, base, n, 2 * sz), _at(g, base, n, -2 * sz)
    yp, ym = _at(g, base, n, nx), _at(g, base, n, -nx)
    yp2, ym2 = _at(g, base, n, 2 * nx), _at(g, base, n, -2 * nx)
    xp, xm, xp2, xm2 = (
        _at(g, base, n, 1),
        _at(g, base, n, -1),
        _at(g, base, n, 2),
        _at(g, base, n, -2),
    )
    zpyp, zpym = _at(g, base, n, sz + nx), _at(g, base, n, sz - nx)
    zmyp, zmym = _at(g, base, n, -sz + nx), _at(g, base, n, -sz - nx)
    zpxp, zpxm = _at(g, base, n, sz + 1), _at(g, base, n, sz - 1)
    zmxp, zmxm = _at(g, base, n, -sz + 1), _at(g, base, n, -sz - 1)
    ypxp, ypxm = _at(g, base, n, nx + 1), _at(g, base, n, nx - 1)
    ymxp, ymxm = _at(g, base, n, -nx + 1), _at(g, base, n, -nx - 1)
    for j in range(n):
        c2 = 2.0 * cen[j]
        gz = (zp[j] - zm[j]) * (0.5 * iz)
        gy = (yp[j] - ym[j]) * (0.5 * iy)
        gx = (xp[j] - xm[j]) * (0.5 * ix)
        grad[j] = np.sqrt(gz * gz + gy * gy + gx * gx)
        hzz = (zp2[j] - c2 + zm2[j]) * (0.25 * iz * iz)
        hyy = (yp2[j] - c2 + ym2[j]) * (0.25 * iy * iy)
        hxx = (xp2[j] - c2 + xm2[j]) * (0.25 * ix * ix)
        hess[0, j] = hzz
        hess[1, j] = (zpyp[j] - zpym[j] - zmyp[j] + zmym[j]) * (0.25 * iz * iy)
        hess[2, j] = (zpxp[j] - zpxm[j] - zmxp[j] + zmxm[j]) * (0.25 * iz * ix)
        hess[3, j] = hyy
        hess[4, j] = (ypxp[j] - ypxm[j] - ymxp[j] + ymxm[j]) * (0.25 * iy * ix)
        hess[5, j] = hxx
        lap[j] = hzz + hyy + hxx
    if i_grad >= 0:
        out[i_grad, zo, yo, lo:hi] = grad
    if i_log >= 0:
        out[i_log, zo, yo, lo:hi] = lap
    if i_hess >= 0:
        for j in range(n):
            e1, e2, e3 = _eig3(
                hess[0, j], hess[1, j], hess[2, j], hess[3, j], hess[4, j], hess[5, j]
            )
            out[i_hess, zo, yo, lo + j] = e1
            out[i_hess + 1, zo, yo, lo + j] = e2
            out[i_hess + 2, zo, yo, lo + j] = e3


@njit(fastmath=True, cache=True)
def _row_edges(
    g,
    nz,
    ny,
    nx,
    z,
    y,
    row,
    ox,
    mx,
    lo,
    hi,
    iz,
    iy,
    ix,
    three_d,
    out,
    zo,
    yo,
    i_grad,
    i_hess,
    i_log,
):  # pragma: no cover - numba
    """Derivatives of the output row's pixels outside [lo, hi), with np.gradient's edges."""
    sz = ny * nx
    want_hess = i_hess >= 0 or i_log >= 0
    for xo in range(mx):
        if lo <= xo < hi:
            continue
        x = xo + ox
        f = row + x
        gy = _d1(g, f, y, ny, nx, iy)
        gx = _d1(g, f, x, nx, 1, ix)
        gz = _d1(g, f, z, nz, sz, iz) if three_d else 0.0
        if i_grad >= 0:
            out[i_grad, zo, yo, xo] = np.sqrt(gz * gz + gy * gy + gx * gx)
        if not want_hess:
            continue
        hyy = _d2(g, f, y, ny, nx, iy, y, ny, nx, iy, True)
        hyx = _d2(g, f, y, ny, nx, iy, x, nx, 1, ix, False)
        hxx = _d2(g, f, x, nx, 1, ix, x, nx, 1, ix, True)
        if three_d:
            hzz = _d2(g, f, z, nz, sz, iz, z, nz, sz, iz, True)
            hzy = _d2(g, f, z, nz, sz, iz, y, ny, nx, iy, False)
            hzx = _d2(g, f, z, nz, sz, iz, x, nx, 1, ix, False)
            if i_hess >= 0:
                e1, e2, e3 = _eig3(hzz, hzy, hzx, hyy, hyx, hxx)
                out[i_hess, zo, yo, xo] = e1
                out[i_hess + 1, zo, yo, xo] = e2
                out[i_hess + 2, zo, yo, xo] = e3
            if i_log >= 0:
                out[i_log, zo, yo, xo] = hzz + hyy + hxx
        else:
            if i_hess >= 0:
                e1, e2 = _eig2(hyy, hyx, hxx)
                out[i_hess, zo, yo, xo] = e1
                out[i_hess + 1, zo, yo, xo] = e2
            if i_log >= 0:
                out[i_log, zo, yo, xo] = hyy + hxx


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def _derivative_features(
    smoothed, inv_spacing, three_d, origin, out, i_grad, i_hess, i_log
):  # pragma: no cover - numba
    """Gradient magnitude, Hessian eigenvalues and Laplacian from a smoothed block, fused.

    Derivatives are np.gradient's (central differences, one-sided at the block's edges), as
    in scikit-image's multiscale_basic_features, so the values equal the numpy ones.

    Parameters
    ----------
    smoothed : float32 (nz, ny, nx), C-contiguous (a 2D block has nz == 1)
    inv_spacing : float64 (3,), 1 / pixel size along z, y, x
    three_d : bool, whether to differentiate along z
    origin : int64 (3,), block coordinates of the output's first voxel
    out : float32 (F, mz, my, mx); features go to planes i_grad, i_hess.., i_log (-1: skip)
    """
    nz, ny, nx = smoothed.shape
    g = smoothed.ravel()
    mz, my, mx = out.shape[1], out.shape[2], out.shape[3]
    oz, oy, ox = origin[0], origin[1], origin[2]
    iz, iy, ix = inv_spacing[0], inv_spacing[1], inv_spacing[2]
    sz = ny * nx
    for t in prange(mz * my):
        zo = t // my
        yo = t % my
        z = zo + oz
        y = yo + oy
        row = (z * ny + y) * nx
        # Where the whole 5-point stencil lies inside the block, np.gradient is central
        # everywhere: use the direct formulas (branch-free, vectorised); elsewhere the
        # general edge-aware path.
        lo = mx
        hi = mx
        if 2 <= y < ny - 2 and (not three_d or 2 <= z < nz - 2):
            lo = min(max(2 - ox, 0), mx)
            hi = max(min(nx - 2 - ox, mx), lo)
        if hi > lo:
            if three_d:
                _row_3d(g, row, sz, nx, iz, iy, ix, ox, lo, hi, out, zo, yo, i_grad, i_hess, i_log)
            else:
                _row_2d(g, row, nx, iy, ix, ox, lo, hi, out, zo, yo, i_grad, i_hess, i_log)
        _row_edges(
            g,
            nz,
            ny,
            nx,
            z,
            y,
            row,
            ox,
            mx,
            lo,
            hi,
            iz,
            iy,
            ix,
            three_d,
            out,
            zo,
            yo,
            i_grad,
            i_hess,
            i_log,
        )


def eigvalsh2(*arrays: np.ndarray) -> None:
    """Eigenvalues of symmetric 2 x 2 matrices (a, b, c -> out0 >= out1), in place."""
    with LAUNCH:
        _eigvalsh2(*arrays)


def eigvalsh3(*arrays: np.ndarray) -> None:
    """Eigenvalues of symmetric 3 x 3 matrices (a..f -> out0 >= out1 >= out2), in place."""
    with LAUNCH:
        _eigvalsh3(*arrays)


def derivative_features(*args) -> None:
    """See ``_derivative_features``."""
    with LAUNCH:
        _derivative_features(*args)


@njit(parallel=True, cache=True, nogil=True)
def _features_last(planar, out):  # pragma: no cover - numba
    n_features, a, b, c = planar.shape
    for t in prange(a * b):
        i = t // b
        j = t % b
        for k in range(c):
            for f in range(n_features):
                out[i, j, k, f] = planar[f, i, j, k]


def features_last(planar: np.ndarray, out: np.ndarray) -> None:
    """Copy (F, *shape) features into `out` (*shape, F), a view, in parallel."""
    lead = (1,) * (4 - planar.ndim)
    with LAUNCH:
        _features_last(
            planar.reshape(planar.shape[0], *lead, *planar.shape[1:]),
            out.reshape(*lead, *out.shape) if out.ndim < 4 else out,
        )


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

    `forest` holds the arrays of ``classifier._kernel_forest``. A pixel goes left when
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


def set_threads(n: int | None) -> int:
    """Set numba's thread count for the calling thread; return the previous one."""
    previous = numba.get_num_threads()
    if n is not None:
        numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
    return previous
