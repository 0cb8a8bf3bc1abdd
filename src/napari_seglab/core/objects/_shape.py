"""Shape measurements of 2D objects in memory: eccentricity and solidity.

Both give :func:`skimage.measure.regionprops`' values. Eccentricity comes from each object's
central second moments, summed for all objects at once (no loop per object); solidity needs
each object's convex hull, so the objects that do not fill their bounding box (those that are
not rectangles, whose solidity is 1) are visited one by one, and each distinct shape gets its
hull computed once.
"""

from __future__ import annotations

import numpy as np

__all__ = ["eccentricity", "solidity"]


def eccentricity(
    labels: np.ndarray, ids: np.ndarray, centroid: np.ndarray, spacing: np.ndarray
) -> np.ndarray:
    """The eccentricity of the ellipse with each object's second moments (0 = a circle).

    Parameters
    ----------
    labels : (M, N) numpy.ndarray of int
    ids : (K,) numpy.ndarray of int
        The labels present, in increasing order.
    centroid : (2, K) numpy.ndarray
        Their centroids, in pixels.
    spacing : (2,) numpy.ndarray
        The pixel size per axis.

    Returns
    -------
    (K,) numpy.ndarray
        ``sqrt(1 - l2 / l1)`` of the inertia tensor's eigenvalues ``l1 >= l2`` (in physical
        units), 0 where ``l1`` is 0 (one pixel), as
        :attr:`skimage.measure._regionprops.RegionProperties.eccentricity`.

    Examples
    --------
    >>> labels = np.zeros((3, 5), np.uint8); labels[1, :] = 1; labels[0, 0] = 2
    >>> eccentricity(labels, np.array([1, 2]), np.array([[1, 0], [2, 0]]), np.ones(2))
    array([1., 0.])
    """
    flat = labels.ravel()
    where = np.flatnonzero(flat)
    index = np.searchsorted(ids, flat[where])  # the row of each pixel's object
    k = len(ids)
    rows, cols = np.unravel_index(where, labels.shape)
    d0 = (rows - centroid[0][index]) * spacing[0]
    d1 = (cols - centroid[1][index]) * spacing[1]
    count = np.bincount(index, minlength=k)
    # The inertia tensor [[a, b], [b, c]] of scikit-image's inertia_tensor, and its eigenvalues.
    a = np.bincount(index, d1 * d1, minlength=k) / count
    c = np.bincount(index, d0 * d0, minlength=k) / count
    b = -np.bincount(index, d0 * d1, minlength=k) / count
    half = np.hypot((a - c) / 2, b)
    l1 = np.clip((a + c) / 2 + half, 0, None)
    l2 = np.clip((a + c) / 2 - half, 0, None)
    out = np.zeros(k)
    np.divide(l2, l1, out=out, where=l1 > 0)
    return np.where(l1 > 0, np.sqrt(np.clip(1 - out, 0, None)), 0.0)


def solidity(
    labels: np.ndarray, ids: np.ndarray, count: np.ndarray, low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """Each object's area over the area of its convex hull (1 = convex).

    Parameters
    ----------
    labels : (M, N) numpy.ndarray of int
    ids : (K,) numpy.ndarray of int
        The labels present.
    count : (K,) numpy.ndarray of int
        Their pixel counts.
    low, high : (2, K) numpy.ndarray of int
        Their bounding boxes: the first and the last pixel on each axis.

    Returns
    -------
    (K,) numpy.ndarray
        As :attr:`skimage.measure._regionprops.RegionProperties.solidity`: the hull is
        :func:`skimage.morphology.convex_hull_image` of the object in its bounding box. An
        object that fills its bounding box is its own hull (solidity 1) and needs no hull.

    Examples
    --------
    >>> labels = np.zeros((4, 4), np.uint8); labels[0, :3] = labels[:3, 0] = 1; labels[3, 3] = 2
    >>> low, high = np.array([[0, 3], [0, 3]]), np.array([[2, 3], [2, 3]])
    >>> solidity(labels, np.array([1, 2]), np.array([5, 1]), low, high).round(3)
    array([0.833, 1.   ])
    """
    from skimage.morphology import convex_hull_image

    out = np.ones(len(ids))
    box = np.prod(high - low + 1, axis=0)
    hulls: dict[tuple, int] = {}  # hull size by object shape: small specks repeat a lot
    for i in np.flatnonzero(count < box):
        crop = tuple(slice(s, e + 1) for s, e in zip(low[:, i], high[:, i], strict=True))
        image = labels[crop] == ids[i]
        key = (image.shape, np.packbits(image).tobytes())
        if key not in hulls:
            hulls[key] = np.count_nonzero(convex_hull_image(image))
        out[i] = count[i] / hulls[key]
    return out
