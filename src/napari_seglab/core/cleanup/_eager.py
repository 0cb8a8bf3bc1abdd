"""Clean up a segmentation: remove small objects and fill small holes."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import is_lazy
from .._validation import check_clean_size, check_labels, is_binary
from . import _lazy

__all__ = ["clean_up", "fill_small_holes", "remove_small_objects"]


def remove_small_objects(
    labels: ArrayLike, smaller_than: int, *, connectivity: int = 1
) -> np.ndarray:
    """Remove objects with fewer than `smaller_than` pixels (voxels in 3D).

    Parameters
    ----------
    labels : array_like
        Binary mask or label image (0 = background), 2D or 3D.
    smaller_than : int
        Objects of fewer pixels than this are set to 0. 0 or 1 removes nothing; a negative
        or fractional size is refused.
    connectivity : int
        1 = objects touch through faces only (4-neighbours in 2D, 6 in 3D); up to ``ndim`` =
        also through corners (8 in 2D, 26 in 3D). For a label image each label is one object.

    Returns
    -------
    numpy.ndarray
        A new array of the input's dtype; the input is not modified.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((5, 5), np.uint8); mask[0, 0] = 1; mask[2:5, 2:5] = 1
    >>> int(remove_small_objects(mask, 2).sum())
    9
    """
    smaller_than = check_clean_size(smaller_than, "object size")
    if is_lazy(labels):  # global object sizes across chunks
        return _lazy.remove_small_objects(labels, smaller_than, connectivity=connectivity)
    arr = np.asarray(labels)
    check_labels(arr, connectivity)
    if smaller_than <= 1:
        return arr.copy()
    from skimage import morphology

    work = arr != 0 if is_binary(arr) else arr  # a 0/255 mask is one class, not a label
    kept = morphology.remove_small_objects(
        work, max_size=smaller_than - 1, connectivity=connectivity
    )
    return np.where(kept != 0, arr, 0).astype(arr.dtype, copy=False)


def fill_small_holes(labels: ArrayLike, smaller_than: int, *, connectivity: int = 1) -> np.ndarray:
    """Fill background regions (holes) of fewer than `smaller_than` pixels.

    As in :func:`skimage.morphology.remove_small_holes`, every connected background region
    counts, including a small one that the image border cuts off.

    Parameters
    ----------
    labels : array_like
        Binary mask or label image (0 = background), 2D or 3D.
    smaller_than : int
        Holes of fewer pixels than this are filled. 0 or 1 fills nothing; a negative or
        fractional size is refused.
    connectivity : int
        How hole pixels connect to each other (see :func:`remove_small_objects`).

    Returns
    -------
    numpy.ndarray
        A new array of the input's dtype. In a label image a filled pixel takes the label of
        the nearest object pixel.

    Examples
    --------
    >>> import numpy as np
    >>> ring = np.ones((5, 5), np.uint8); ring[2, 2] = 0
    >>> int(fill_small_holes(ring, 2).min())
    1
    """
    smaller_than = check_clean_size(smaller_than, "hole size")
    if is_lazy(labels):  # global hole sizes across chunks
        return _lazy.fill_small_holes(labels, smaller_than, connectivity=connectivity)
    arr = np.asarray(labels)
    check_labels(arr, connectivity)
    if smaller_than <= 1:
        return arr.copy()
    from skimage import morphology

    foreground = arr != 0
    filled = morphology.remove_small_holes(
        foreground, max_size=smaller_than - 1, connectivity=connectivity
    )
    holes = filled & ~foreground
    out = arr.copy()
    if not holes.any():
        return out
    if is_binary(arr, foreground):
        out[holes] = arr[foreground][0] if foreground.any() else 1
        return out
    from scipy import ndimage as ndi

    nearest = ndi.distance_transform_edt(~foreground, return_distances=False, return_indices=True)
    out[holes] = arr[tuple(ix[holes] for ix in nearest)]
    return out


def clean_up(
    labels: ArrayLike,
    *,
    remove_smaller_than: int = 0,
    fill_holes_smaller_than: int = 0,
    connectivity: int = 1,
) -> np.ndarray:
    """Remove small objects, then fill small holes.

    Parameters
    ----------
    labels : array_like
        Binary mask or label image, 2D or 3D.
    remove_smaller_than : int
        See :func:`remove_small_objects` (0 = skip).
    fill_holes_smaller_than : int
        See :func:`fill_small_holes` (0 = skip).
    connectivity : int
        See :func:`remove_small_objects`.

    Returns
    -------
    numpy.ndarray
        A new array; the input is never modified.
    """
    remove_smaller_than = check_clean_size(remove_smaller_than, "object size")
    fill_holes_smaller_than = check_clean_size(fill_holes_smaller_than, "hole size")
    if is_lazy(labels):  # both steps in the same passes over the chunks
        return _lazy.clean_up(
            labels,
            remove_smaller_than=remove_smaller_than,
            fill_holes_smaller_than=fill_holes_smaller_than,
            connectivity=connectivity,
        )
    out = remove_small_objects(labels, remove_smaller_than, connectivity=connectivity)
    return fill_small_holes(out, fill_holes_smaller_than, connectivity=connectivity)
