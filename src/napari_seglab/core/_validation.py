"""Input checks shared by the core functions.

Every public function validates its input here first, so that a biologist gets one clear
sentence instead of a traceback from deep inside scikit-image.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    import dask.array as da

__all__ = [
    "Cancelled",
    "SegLabInputError",
    "as_image",
    "as_mask",
    "check_clean_size",
    "check_colour",
    "check_labels",
    "check_lazy_image",
    "check_lazy_mask",
    "check_same_shape",
    "fingerprint",
    "is_binary",
    "nan_values_error",
    "negative_labels_error",
    "several_values_error",
    "to_grayscale",
]


class SegLabInputError(ValueError):
    """Raised when the input cannot be processed; the message says why and what to do."""


class Cancelled(Exception):
    """Raised inside a long computation when the user cancelled it (``cancel()`` was True)."""


def as_image(image: ArrayLike, *, name: str = "image", allow_constant: bool = False) -> np.ndarray:
    """Return `image` as a numeric array after checking it can be thresholded or filtered.

    Parameters
    ----------
    image : array_like
        Integer, boolean or floating-point array of at least 2 dimensions.
    name : str
        How the array is called in error messages.
    allow_constant : bool
        Accept an image whose pixels all have the same value.

    Returns
    -------
    numpy.ndarray
        The same data (not copied when already an array).

    Raises
    ------
    SegLabInputError
        If the image is empty, not numeric, has fewer than 2 dimensions, holds NaN or
        infinite values, or (unless `allow_constant`) is constant.
    """
    arr = np.asarray(image)
    if arr.size == 0:
        raise SegLabInputError(f"The {name} is empty (shape {arr.shape}).")
    if arr.dtype == bool:
        arr = arr.view(np.uint8)
    elif arr.dtype == np.float16:  # scipy's filters do not take half floats
        arr = arr.astype(np.float32)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise SegLabInputError(
            f"The {name} has data type {arr.dtype}; an integer or floating-point image is needed."
        )
    if arr.ndim < 2:
        raise SegLabInputError(f"The {name} must have at least 2 dimensions, not {arr.ndim}.")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        n_bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise SegLabInputError(
            f"The {name} contains {n_bad} NaN or infinite pixel(s). Replace them first, "
            "e.g. with numpy.nan_to_num, or crop them away."
        )
    if not allow_constant and arr.min() == arr.max():
        raise SegLabInputError(
            f"The {name} is constant (every pixel is {arr.flat[0].item()!r}): "
            "there is nothing to separate."
        )
    return arr


def to_grayscale(image: ArrayLike, *, rgb: bool = False, channel: int | None = None) -> np.ndarray:
    """Turn a colour image into one grayscale channel.

    Parameters
    ----------
    image : array_like or dask.array.Array
        Grayscale image, or colour image with channels on the last axis when `rgb` is true.
        A dask array is converted lazily, chunk by chunk.
    rgb : bool
        Whether the last axis holds colour channels (as in a napari RGB layer).
    channel : int, optional
        Keep this channel instead of computing the luminance. Only with `rgb`.

    Returns
    -------
    numpy.ndarray or dask.array.Array
        The grayscale image: unchanged when `rgb` is false; the chosen channel; or the
        luminance from :func:`skimage.color.rgb2gray` (floats in [0, 1]).

    Examples
    --------
    >>> import numpy as np
    >>> to_grayscale(np.zeros((4, 5, 3), np.uint8), rgb=True).shape
    (4, 5)
    """
    lazy = type(image).__module__.split(".")[0] == "dask"
    arr = image if lazy else np.asarray(image)
    check_colour(arr.shape, rgb=rgb, channel=channel)
    if not rgb:
        return arr
    if channel is not None:
        return arr[..., channel]
    if lazy:  # every chunk holds all the channels of its pixels
        return arr.rechunk({arr.ndim - 1: -1}).map_blocks(
            to_grayscale, rgb=True, drop_axis=arr.ndim - 1, dtype=np.float64
        )
    from skimage.color import rgb2gray, rgba2rgb

    return rgb2gray(rgba2rgb(arr) if arr.shape[-1] == 4 else arr)


def check_colour(shape: tuple[int, ...], *, rgb: bool, channel: int | None) -> None:
    """Raise :class:`SegLabInputError` unless `rgb` and `channel` fit an image of `shape`."""
    if not rgb:
        if channel is not None:
            raise SegLabInputError("A channel can only be chosen for an RGB image.")
        return
    if len(shape) < 3 or shape[-1] not in (3, 4):
        raise SegLabInputError(
            f"An RGB image needs 3 or 4 channels on its last axis; this one has shape {shape}."
        )
    if channel is not None and not 0 <= channel < shape[-1]:
        raise SegLabInputError(f"Channel {channel} does not exist; choose 0 to {shape[-1] - 1}.")


def as_mask(mask: ArrayLike, *, name: str = "mask", binary: bool = False) -> np.ndarray:
    """Return a boolean foreground mask (non-zero pixels are foreground).

    Parameters
    ----------
    mask : array_like
        Boolean, 0/1, 0/255 or label image.
    name : str
        How the array is called in error messages.
    binary : bool
        Refuse arrays with more than one non-zero value (a multi-label image).

    Returns
    -------
    numpy.ndarray of bool
    """
    arr = np.asarray(mask)
    _check_mask_form(arr, name)
    if arr.dtype == bool:
        return arr
    if np.issubdtype(arr.dtype, np.floating) and np.isnan(arr).any():
        raise nan_values_error(name)
    foreground = arr != 0
    if binary and not is_binary(arr, foreground):
        values = np.unique(arr[foreground])
        shown = ", ".join(str(v) for v in values[:5]) + (", ..." if values.size > 5 else "")
        raise several_values_error(name, f"{values.size} different non-zero values ({shown})")
    return foreground


def is_binary(arr: np.ndarray, foreground: np.ndarray | None = None) -> bool:
    """Whether every non-zero value of `arr` is the same (a 0/1, 0/255 or boolean mask).

    Examples
    --------
    >>> import numpy as np
    >>> is_binary(np.array([[0, 255], [255, 0]])), is_binary(np.array([[0, 1], [2, 0]]))
    (True, False)
    """
    if arr.dtype == bool:
        return True
    values = arr[arr != 0] if foreground is None else arr[foreground]
    return bool(values.size == 0 or values.min() == values.max())


def check_same_shape(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    """Raise :class:`SegLabInputError` unless `a` and `b` have the same shape.

    The message adds a hint when one array looks like an RGB version of the other, or a
    stack of planes of the other's shape.

    Examples
    --------
    >>> import numpy as np
    >>> check_same_shape(np.zeros((2, 4, 4)), np.zeros((4, 4)), ("prediction", "truth"))
    Traceback (most recent call last):
    ...
    napari_seglab.core._validation.SegLabInputError: The prediction has shape (2, 4, 4) ...
    """
    if a.shape == b.shape:
        return
    hint = ""
    for (x, y), (nx, ny) in (((a, b), names), ((b, a), names[::-1])):
        if x.shape[:-1] == y.shape and x.shape[-1] in (3, 4):
            hint = f" The {nx} looks like an RGB image: convert it to one channel first."
        elif x.ndim > y.ndim and x.shape[x.ndim - y.ndim :] == y.shape:
            hint = (
                f" The {nx} is a stack of planes of the {ny}'s shape: compare one plane "
                f"(e.g. `{nx.replace(' ', '_')}[0]`) or give a {ny} for every plane."
            )
    raise SegLabInputError(
        f"The {names[0]} has shape {a.shape} but the {names[1]} has shape {b.shape}; "
        f"they must cover the same pixels.{hint}"
    )


def fingerprint(*arrays: np.ndarray) -> bytes:
    """A digest of array contents, to notice edits (hashlib releases the GIL on big buffers).

    SHA-256, which current CPUs compute in hardware (x86 SHA extensions, ARMv8): there it
    is about twice as fast as BLAKE2b, and the live classifier digests planes of the image
    and of the strokes at every stroke (``benchmarks/README.md``, live feedback).
    """
    digest = hashlib.sha256()
    for arr in arrays:
        arr = np.ascontiguousarray(arr)
        digest.update(repr((arr.shape, arr.dtype.str)).encode())
        digest.update(arr.data)
    return digest.digest()


def check_lazy_image(image: da.Array, name: str = "image") -> da.Array:
    """:func:`as_image`'s checks that need no computation, for a dask array.

    NaN and constant images are found later, from the histogram or the result.
    """
    if 0 in image.shape:
        raise SegLabInputError(f"The {name} is empty (shape {image.shape}).")
    if image.dtype == bool:
        image = image.astype(np.uint8)
    if not (np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating)):
        raise SegLabInputError(
            f"The {name} has data type {image.dtype}; an integer or floating-point image is "
            "needed."
        )
    if image.ndim < 2:
        raise SegLabInputError(f"The {name} must have at least 2 dimensions, not {image.ndim}.")
    return image


def _check_mask_form(arr: np.ndarray | da.Array, name: str) -> None:
    """The checks of a mask that need no pixel values."""
    if 0 in arr.shape or arr.ndim < 2:
        raise SegLabInputError(f"The {name} must be a non-empty array of at least 2 dimensions.")
    if not (
        arr.dtype == bool
        or np.issubdtype(arr.dtype, np.integer)
        or np.issubdtype(arr.dtype, np.floating)
    ):
        raise SegLabInputError(f"The {name} has data type {arr.dtype}; a mask must be numeric.")


def check_lazy_mask(mask: da.Array, name: str = "mask") -> da.Array:
    """:func:`as_mask`'s checks that need no computation, for a dask array.

    Several non-zero values (with ``binary``) are found later, chunk by chunk.
    """
    _check_mask_form(mask, name)
    return mask


def several_values_error(name: str, values: str) -> SegLabInputError:
    """The refusal of a mask that holds several foreground `values` (described in words).

    Examples
    --------
    >>> print(several_values_error("ground truth", "2 different non-zero values (1, 2)"))
    The ground truth holds 2 different non-zero values (1, 2); a binary mask is needed ...
    """
    return SegLabInputError(
        f"The {name} holds {values}; a binary mask is needed (0 = background, one value = "
        "foreground). For instance labels (one id per object) pass `mask > 0`, for class "
        "ids `mask == N`; a raw image is not a ground truth (annotate or segment it first)."
    )


def nan_values_error(name: str) -> SegLabInputError:
    """The refusal of a mask holding NaN values."""
    return SegLabInputError(f"The {name} contains NaN values.")


def negative_labels_error(lowest: int) -> SegLabInputError:
    """The refusal of a label image holding negative values (down to `lowest`)."""
    return SegLabInputError(
        "Labels must be 0 (background) or positive; this image has negative values down to "
        f"{lowest}."
    )


def check_labels(labels: np.ndarray | da.Array, connectivity: int) -> None:
    """Check a mask or label image for clean-up (numpy or dask) and a `connectivity` for it.

    Parameters
    ----------
    labels : numpy.ndarray or dask.array.Array
        Boolean or integer, 2D or more, 0 = background. A dask array's negative values are
        found where its value range is computed (see :func:`negative_labels_error`).
    connectivity : int
        1 to ``labels.ndim``.

    Raises
    ------
    SegLabInputError
        If the array is empty, under 2D, not boolean or integer, holds negative values
        (numpy only), or `connectivity` does not fit its dimensions.

    Examples
    --------
    >>> import numpy as np
    >>> check_labels(np.zeros((2, 2), np.uint8), 2)
    >>> check_labels(np.zeros(4, np.uint8), 1)
    Traceback (most recent call last):
    ...
    napari_seglab.core._validation.SegLabInputError: Clean-up needs a non-empty 2D or 3D mask ...
    """
    if labels.ndim < 2 or 0 in labels.shape:
        raise SegLabInputError("Clean-up needs a non-empty 2D or 3D mask or label image.")
    if not (labels.dtype == bool or np.issubdtype(labels.dtype, np.integer)):
        raise SegLabInputError(
            f"Clean-up needs a mask or label image (integer or boolean), not {labels.dtype} data."
        )
    if isinstance(labels, np.ndarray) and labels.dtype != bool and labels.min() < 0:
        raise negative_labels_error(labels.min())
    if not 1 <= connectivity <= labels.ndim:
        raise SegLabInputError(
            f"Connectivity must be 1 to {labels.ndim} for {labels.ndim}D data, not {connectivity}."
        )


def check_clean_size(size: object, what: str) -> int:
    """Check a clean-up size (`what` names it in the message): a whole number, 0 or more.

    0 and 1 switch the step off. Returns the size as a Python int.

    Examples
    --------
    >>> check_clean_size(64, "object size")
    64
    >>> check_clean_size(-5, "object size")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    napari_seglab.core._validation.SegLabInputError: The object size must be a whole number ...
    """
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 0:
        raise SegLabInputError(
            f"The {what} must be a whole number of pixels (voxels in 3D), 0 or more "
            f"(0 or 1 = off), not {size!r}."
        )
    return int(size)
