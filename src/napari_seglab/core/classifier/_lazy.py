"""The classifier chunk by chunk on lazy (dask) images."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from .._blocks import check_chunks, halo_depth
from .._validation import SegLabInputError, check_lazy_image

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["predict"]

_PREDICT_LOCK = threading.Lock()


def predict(classifier: Any, image: da.Array, *, channel_axis: int | None = None) -> da.Array:
    """:meth:`PixelClassifier.predict <napari_seglab.core.classifier.PixelClassifier.predict>`
    chunk by chunk on a dask array.

    Each chunk is classified with a halo as wide as the features' largest kernel (Gaussian
    radius ``4 sigma`` plus what the derivatives, difference of Gaussians and structure
    tensor add, per axis, see ``FeatureSettings.halo``), so the classes equal the in-memory
    prediction everywhere, chunk borders included.

    Parameters
    ----------
    classifier : PixelClassifier
        A trained classifier, e.g. from ``PixelClassifier.load(path)``.
    image : dask.array.Array
        Image with the channels the classifier was trained on.
    channel_axis : int, optional
        The axis holding the channels of a multichannel image (kept whole in each chunk).

    Returns
    -------
    dask.array.Array of uint8
        The class id of every pixel; the image's spatial shape.

    Raises
    ------
    SegLabInputError
        If the classifier is untrained, was trained on another number of channels, or the
        chunks are thinner than the halo.
    """
    import dask.array as da

    if not classifier.is_fitted:
        raise SegLabInputError("This classifier is not trained yet: train it or load a file.")
    image = check_lazy_image(image)
    n_channels = 1
    if channel_axis is not None:
        if not -image.ndim <= channel_axis < image.ndim:
            raise SegLabInputError(
                f"channel_axis={channel_axis} does not exist in an image of shape {image.shape}."
            )
        image = da.moveaxis(image, channel_axis, -1)
        image = image.rechunk({image.ndim - 1: -1})
        n_channels = image.shape[-1]
    if n_channels != classifier.n_channels:
        raise SegLabInputError(
            f"This classifier was trained on images with {classifier.n_channels} channel(s); "
            f"this image has {n_channels}. Check the channel axis (RGB: channel_axis=-1) or "
            "use a classifier trained on this kind of image."
        )
    settings = classifier.features
    spatial_ndim = image.ndim - (channel_axis is not None)
    if spatial_ndim < settings.ndim:
        raise SegLabInputError(
            f"Features in mode {settings.mode!r} need at least {settings.ndim} spatial axes; "
            f"this image has {spatial_ndim}."
        )
    halo = np.max([settings.halo(sigma) for sigma in settings.sigmas], axis=0)
    first = spatial_ndim - settings.ndim
    wanted = {axis: 0 for axis in range(image.ndim)}
    wanted.update({first + i: int(h) for i, h in enumerate(halo)})
    depth = halo_depth(image, wanted)
    check_chunks(
        image, depth, f"the classifier's features (largest scale {max(settings.sigmas):g})"
    )

    def one(block: np.ndarray) -> np.ndarray:
        # The forest traversal is already parallel (numba); one chunk at a time keeps it so.
        with _PREDICT_LOCK:
            return classifier.predict(block, channel_axis=-1 if channel_axis is not None else None)

    padded = da.overlap.overlap(image, depth=depth, boundary="none")
    if channel_axis is None:
        labels = padded.map_blocks(one, dtype=np.uint8)
    else:
        labels = padded.map_blocks(
            one, drop_axis=image.ndim - 1, dtype=np.uint8, chunks=padded.chunks[:-1]
        )
    spatial_depth = {axis: depth[axis] for axis in range(spatial_ndim)}
    return da.overlap.trim_internal(labels, spatial_depth, boundary="none")
