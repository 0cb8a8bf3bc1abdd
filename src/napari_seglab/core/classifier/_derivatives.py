"""Numba kernels of the derivative features: gradient, Hessian, Laplacian, structure tensor.

All of them differentiate the image smoothed at the feature's scale. The 2D structure
tensor is one fused pass (:func:`structure_tensor_2d`); in 3D its gradient products
(:func:`gradient_products`) are smoothed by :mod:`._correlate` and solved by
:func:`eigvalsh3`. One symmetric eigenvalue solver per size (:func:`_eig2`, :func:`_eig3`)
serves the Hessian and the structure tensor. Imported lazily (numba takes about half a
second to import); compiled once and cached on disk; every parallel kernel releases the GIL.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._numba import LAUNCH

__all__ = [
    "DIAGONAL",
    "derivative_features",
    "eigvalsh3",
    "gradient_products",
    "structure_tensor_2d",
]

DIAGONAL = 1e-30
"""Off-diagonal energy, relative to the diagonal's, below which a 3 x 3 matrix is diagonal."""


@njit(fastmath=True, cache=True)
def _eig2(a, b, c):  # pragma: no cover - numba
    """Eigenvalues of the symmetric matrix [[a, b], [b, c]], largest first."""
    half_trace = 0.5 * (a + c)
    d = 0.5 * (a - c)
    root = np.sqrt(d * d + b * b)
    return half_trace + root, half_trace - root


@njit(fastmath=True, cache=True)
def _eig3(a11, a12, a13, a22, a23, a33):  # pragma: no cover - numba
    """Eigenvalues of the symmetric matrix [[a11, a12, a13], [., a22, a23], [., ., a33]].

    The closed form of Smith (1961), in float64, largest first. A matrix whose off-diagonal
    part is negligible (``DIAGONAL`` relative to the diagonal) is treated as diagonal.
    """
    p1 = a12 * a12 + a13 * a13 + a23 * a23
    q = (a11 + a22 + a33) / 3.0
    scale = a11 * a11 + a22 * a22 + a33 * a33
    if p1 <= DIAGONAL * scale or p1 == 0.0:
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


# The same solver, inlined where it is the whole loop (the structure tensor): 25 % faster
# there, while inlining it into the long derivative loop of `_row_3d` costs as much.
_eig3_inlined = njit(fastmath=True, inline="always")(_eig3.py_func)


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def _eigvalsh3(a, b, c, d, e, f, out0, out1, out2):  # pragma: no cover - numba
    """:func:`_eig3` (in float64) of every matrix [[a, b, c], [b, d, e], [c, e, f]]."""
    for i in prange(a.size):
        out0[i], out1[i], out2[i] = _eig3_inlined(
            np.float64(a[i]),
            np.float64(b[i]),
            np.float64(c[i]),
            np.float64(d[i]),
            np.float64(e[i]),
            np.float64(f[i]),
        )


def eigvalsh3(*arrays: np.ndarray) -> None:
    """Eigenvalues of symmetric 3 x 3 matrices (a..f -> out0 >= out1 >= out2), in place."""
    with LAUNCH:
        _eigvalsh3(*arrays)


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
def _row_2d(g, shape, inv, row, span, out, dst, planes):  # pragma: no cover - numba
    """2D derivatives of one output row where the stencil lies inside the block.

    Arguments as in :func:`_row_edges` (`row`: the flat index where the row starts).
    """
    nx = shape[2]
    iy, ix = inv[1], inv[2]
    ox, lo, hi = span[0], span[1], span[2]
    zo, yo = dst
    i_grad, i_hess, i_log = planes
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
def _row_3d(g, shape, inv, row, span, out, dst, planes):  # pragma: no cover - numba
    """3D derivatives of one output row where the stencil lies inside the block.

    Arguments as in :func:`_row_edges` (`row`: the flat index where the row starts).
    """
    nx = shape[2]
    sz = shape[1] * shape[2]
    iz, iy, ix = inv
    ox, lo, hi = span[0], span[1], span[2]
    zo, yo = dst
    i_grad, i_hess, i_log = planes
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
def _row_edges(g, shape, inv, three_d, at, span, out, dst, planes):  # pragma: no cover
    """Derivatives of the output row's pixels outside [lo, hi), with np.gradient's edges.

    g: the flattened block of `shape` (nz, ny, nx); inv: (iz, iy, ix), 1 / pixel size;
    at: (z, y, row), the block coordinates of the row and the flat index where it starts;
    span: (ox, lo, hi, mx), the block column of the output's first pixel, the output range
    [lo, hi) done by the central formulas, and the output row's length; out: the output,
    written at dst: (zo, yo); planes: (i_grad, i_hess, i_log), feature planes (-1: skip).
    """
    nz, ny, nx = shape
    iz, iy, ix = inv
    z, y, row = at
    ox, lo, hi, mx = span
    zo, yo = dst
    i_grad, i_hess, i_log = planes
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
    shape = (nz, ny, nx)
    inv = (inv_spacing[0], inv_spacing[1], inv_spacing[2])
    planes = (i_grad, i_hess, i_log)
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
        span = (ox, lo, hi, mx)
        if hi > lo:
            if three_d:
                _row_3d(g, shape, inv, row, span, out, (zo, yo), planes)
            else:
                _row_2d(g, shape, inv, row, span, out, (zo, yo), planes)
        _row_edges(g, shape, inv, three_d, (z, y, row), span, out, (zo, yo), planes)


def derivative_features(*args) -> None:
    """See ``_derivative_features``."""
    with LAUNCH:
        _derivative_features(*args)


@njit(fastmath=True, cache=True)
def _put_products(out, zo, yo, at, dz, dy, dx, three_d):  # pragma: no cover - numba
    """Write the gradient products at out[:, zo, yo, at] (`at`: one column or a slice)."""
    if three_d:
        out[0, zo, yo, at] = dz * dz
        out[1, zo, yo, at] = dz * dy
        out[2, zo, yo, at] = dz * dx
        out[3, zo, yo, at] = dy * dy
        out[4, zo, yo, at] = dy * dx
        out[5, zo, yo, at] = dx * dx
    else:
        out[0, zo, yo, at] = dy * dy
        out[1, zo, yo, at] = dy * dx
        out[2, zo, yo, at] = dx * dx


@njit(fastmath=True, cache=True)
def _products_row(g, shape, inv, three_d, at, ox, out, dst):  # pragma: no cover - numba
    """Gradient products of one output row (see :func:`_gradient_products`)."""
    nz, ny, nx = shape
    iz, iy, ix = inv
    z, y, row = at
    zo, yo = dst
    sz = ny * nx
    mx = out.shape[3]
    # Central differences where the row and its neighbours lie inside the block (branch-free,
    # vectorised); np.gradient's one-sided ones at the block's edges.
    lo = mx
    hi = mx
    if 1 <= y < ny - 1 and (not three_d or 1 <= z < nz - 1):
        lo = min(max(1 - ox, 0), mx)
        hi = max(min(nx - 1 - ox, mx), lo)
    n = hi - lo
    if n > 0:
        base = row + lo + ox
        gy_scale = np.float32(0.5 * iy)
        gx_scale = np.float32(0.5 * ix)
        gz_scale = np.float32(0.5 * iz)
        up = _at(g, base, n, -nx)
        down = _at(g, base, n, nx)
        left = _at(g, base, n, -1)
        right = _at(g, base, n, 1)
        gy = np.empty(n, np.float32)
        gx = np.empty(n, np.float32)
        for j in range(n):
            gy[j] = (down[j] - up[j]) * gy_scale
            gx[j] = (right[j] - left[j]) * gx_scale
        gz = gy  # unused in 2D
        if three_d:
            back = _at(g, base, n, -sz)
            front = _at(g, base, n, sz)
            gz = np.empty(n, np.float32)
            for j in range(n):
                gz[j] = (front[j] - back[j]) * gz_scale
        _put_products(out, zo, yo, slice(lo, hi), gz, gy, gx, three_d)
    for xo in range(mx):
        if lo <= xo < hi:
            continue
        x = xo + ox
        f = row + x
        dy = _d1(g, f, y, ny, nx, iy)
        dx = _d1(g, f, x, nx, 1, ix)
        dz = _d1(g, f, z, nz, sz, iz) if three_d else 0.0
        _put_products(out, zo, yo, xo, dz, dy, dx, three_d)


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def _gradient_products(smoothed, inv_spacing, three_d, origin, out):  # pragma: no cover - numba
    """Products of np.gradient's derivatives of a smoothed block: the structure tensor's elements.

    Parameters
    ----------
    smoothed : float32 (nz, ny, nx), C-contiguous (a 2D block has nz == 1)
    inv_spacing : float64 (3,), 1 / pixel size along z, y, x
    three_d : bool, whether to differentiate along z
    origin : int64 (3,), block coordinates of the output's first voxel
    out : float32 (P, mz, my, mx): yy, yx, xx (P = 3) or zz, zy, zx, yy, yx, xx (P = 6)
    """
    nz, ny, nx = smoothed.shape
    g = smoothed.ravel()
    my = out.shape[2]
    shape = (nz, ny, nx)
    inv = (inv_spacing[0], inv_spacing[1], inv_spacing[2])
    for t in prange(out.shape[1] * my):
        zo = t // my
        yo = t % my
        z = zo + origin[0]
        y = yo + origin[1]
        at = (z, y, (z * ny + y) * nx)
        _products_row(g, shape, inv, three_d, at, origin[2], out, (zo, yo))


def gradient_products(*args) -> None:
    """See ``_gradient_products``."""
    with LAUNCH:
        _gradient_products(*args)


@njit(fastmath=True, cache=True)
def _outer_row(ring, centre, wy, wx, xindex, xs, mx):  # pragma: no cover - numba
    """Row `centre` of a ring of rows smoothed along y (`wy`), then along x (`wx`, reflect)."""
    ring_size, width = ring.shape
    ry = wy.size - 1
    rx = wx.size - 1
    # Fresh accumulators (not views of a shared buffer) let LLVM vectorise the loops.
    acc = np.empty(width, np.float32)
    row = ring[centre % ring_size]
    w0 = wy[0]
    for j in range(width):
        acc[j] = w0 * row[j]
    for k in range(1, ry + 1):
        wk = wy[k]
        ahead = ring[(centre + k) % ring_size]
        behind = ring[(centre - k) % ring_size]
        for j in range(width):
            acc[j] += wk * (ahead[j] + behind[j])
    buf = np.empty(mx + 2 * rx, np.float32)
    for j in range(mx + 2 * rx):
        buf[j] = acc[xindex[xs + j]]
    res = np.empty(mx, np.float32)
    w0 = wx[0]
    for j in range(mx):
        res[j] = w0 * buf[j + rx]
    for k in range(1, rx + 1):
        wk = wx[k]
        ahead = buf[rx + k : rx + k + mx]
        behind = buf[rx - k : rx - k + mx]
        for j in range(mx):
            res[j] += wk * (ahead[j] + behind[j])
    return res


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def _structure_tensor_2d(
    g2, inv_spacing, box, inner, wy, wx, yindex, xindex, chunk, out0, out1
):  # pragma: no cover - numba
    """Eigenvalues of the 2D structure tensor, fused: products, both Gaussian passes, eig.

    Parameters
    ----------
    g2 : float32 (ny, nx), the smoothed block, C-contiguous
    inv_spacing : float64 (3,), 1 / pixel size along (unused z), y, x
    box : int64 (4,), rows and columns ``y0, y1, x0, x1`` of `g2` where the gradient
        products are formed (the outer Gaussian's reach around `inner`, within `g2`)
    inner : int64 (4,), rows and columns ``y0, y1, x0, x1`` of `g2` of the output
    wy, wx : float32, the outer Gaussian's half weights along y and x
    yindex, xindex : intp, :func:`._correlate.reflect_index` of the box's height and width
        for those radii (scipy.ndimage's "reflect" boundary at the box's ends)
    chunk : int, output rows per parallel task
    out0, out1 : float32 (inner rows, inner columns), the eigenvalues, largest first
    """
    ny, nx = g2.shape
    g = g2.ravel()
    by0, bx0, bx1 = box[0], box[2], box[3]
    oy0, oy1, ox0, ox1 = inner[0], inner[1], inner[2], inner[3]
    width = bx1 - bx0
    my = oy1 - oy0
    mx = ox1 - ox0
    ry = wy.size - 1
    ring_size = 2 * ry + 1
    ys = oy0 - by0
    xs = ox0 - bx0
    shape = (1, ny, nx)
    inv = (1.0, inv_spacing[1], inv_spacing[2])
    half = np.float32(0.5)
    n_chunks = (my + chunk - 1) // chunk
    for c in prange(n_chunks):
        start = c * chunk
        stop = min(my, start + chunk)
        # Gradient products of the rows the window needs, in a ring of 2 ry + 1 rows.
        ring = np.empty((3, 1, ring_size, width), np.float32)
        for q in range(ys + start, ys + start + 2 * ry):
            y = yindex[q] + by0
            _products_row(g, shape, inv, False, (0, y, y * nx), bx0, ring, (0, q % ring_size))
        for i in range(start, stop):
            q = ys + i + 2 * ry
            y = yindex[q] + by0
            _products_row(g, shape, inv, False, (0, y, y * nx), bx0, ring, (0, q % ring_size))
            centre = ys + i + ry
            a = _outer_row(ring[0, 0], centre, wy, wx, xindex, xs, mx)
            b = _outer_row(ring[1, 0], centre, wy, wx, xindex, xs, mx)
            d = _outer_row(ring[2, 0], centre, wy, wx, xindex, xs, mx)
            first = out0[i]
            second = out1[i]
            for j in range(mx):
                half_trace = half * (a[j] + d[j])
                diff = half * (a[j] - d[j])
                root = np.sqrt(diff * diff + b[j] * b[j])
                first[j] = half_trace + root
                second[j] = half_trace - root


def structure_tensor_2d(*args) -> None:
    """See ``_structure_tensor_2d``."""
    with LAUNCH:
        _structure_tensor_2d(*args)
