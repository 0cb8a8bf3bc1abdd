"""The classifier and its features chunk by chunk on lazy (dask) images.

Each chunk is computed with a halo as wide as the features' largest kernel (Gaussian radius
``4 sigma`` plus what the derivatives, difference of Gaussians and structure tensor add, per
axis, see ``FeatureSettings.halo``), so the results equal the in-memory ones everywhere,
chunk borders included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .._blocks import check_chunks, halo_depth
from .._validation import SegLabInputError, check_lazy_image
from ._apply import classify_image

if TYPE_CHECKING:
    import dask.array as da

    from .features import FeatureSettings

__all__ = ["map_with_halo", "predict", "segment"]


def _one_thread() -> Any:
    """Each dask thread computes its chunk on one numba thread (whatever the classifier's
    ``n_jobs``): the chunks run side by side, with dask's threads as the only parallelism,
    not dask threads times numba threads. Where kernel launches run one at a time (numba's
    "workqueue" layer, or before the first launch has shown the layer), a chunk keeps every
    numba thread instead, so the machine is not left to one core."""
    from contextlib import nullcontext

    from ._numba import LAUNCH, at_most

    return at_most(1) if LAUNCH.concurrent else nullcontext()


def _channels_last(image: da.Array, channel_axis: int | None) -> da.Array:
    import dask.array as da

    if channel_axis is None:
        return image
    if not -image.ndim <= channel_axis < image.ndim:
        raise SegLabInputError(
            f"channel_axis={channel_axis} does not exist in an image of shape {image.shape}."
        )
    image = da.moveaxis(image, channel_axis, -1)
    return image.rechunk({image.ndim - 1: -1})


def map_with_halo(
    image: da.Array,
    settings: FeatureSettings,
    func: Callable[[np.ndarray, int | None, tuple[slice, ...]], np.ndarray],
    *,
    dtype: Any,
    channel_axis: int | None = None,
    out_channels: int | None = None,
    check: Callable[[int], None] | None = None,
) -> da.Array:
    """``func(block, block_channel_axis, window)`` on each chunk of `image`, with the features'
    halo.

    Parameters
    ----------
    image : dask.array.Array
    settings : FeatureSettings
        The features `func` computes (they set the halo).
    func : callable
        Gets a chunk with its halo (channels last, if any), the chunk's channel axis
        (``-1`` or None) and the window of the chunk itself in the block (slices of its
        spatial axes); returns the window's result: its shape, plus `out_channels` last.
    dtype : dtype
        Of `func`'s output.
    channel_axis : int, optional
        The channels of `image` (kept whole in each chunk).
    out_channels : int, optional
        Length of a last axis `func` adds (probabilities, features).
    check : callable, optional
        Called with the number of channels, to refuse an image before any work.

    Returns
    -------
    dask.array.Array
        The image's spatial shape (plus `out_channels`), its spatial chunks.
    """
    import dask.array as da

    image = _channels_last(check_lazy_image(image), channel_axis)
    if check is not None:
        check(1 if channel_axis is None else image.shape[-1])
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
    block_axis = -1 if channel_axis is not None else None
    padded = da.overlap.overlap(image, depth=depth, boundary="none")
    # The chunks without their halo (overlap may have merged a chunk thinner than it).
    chunks = tuple(
        tuple(c - depth[a] * ((i > 0) + (i < len(cs) - 1)) for i, c in enumerate(cs))
        for a, cs in enumerate(padded.chunks[:spatial_ndim])
    )
    kwargs: dict[str, Any] = {"dtype": dtype}
    if out_channels is not None:
        chunks = (*chunks, (int(out_channels),))
        if channel_axis is None:
            kwargs["new_axis"] = spatial_ndim
    elif channel_axis is not None:
        kwargs["drop_axis"] = spatial_ndim

    def one(block: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        # The chunk's own part of its padded block: the halo (none at the image's ends)
        # only serves as context, so only the chunk itself is computed.
        window = tuple(
            slice(depth[a] * (i > 0), depth[a] * (i > 0) + chunks[a][i])
            for a, i in enumerate(block_id[:spatial_ndim])
        )
        return func(block, block_axis, window)

    return padded.map_blocks(one, chunks=chunks, **kwargs)


def _classifier_check(classifier: Any) -> Callable[[int], None]:
    if not classifier.is_fitted:
        raise SegLabInputError("This classifier is not trained yet: train it or load a file.")

    def check(n_channels: int) -> None:
        if n_channels != classifier.n_channels:
            raise SegLabInputError(
                f"This classifier was trained on images with {classifier.n_channels} "
                f"channel(s); this image has {n_channels}. Check the channel axis (RGB: "
                "channel_axis=-1) or use a classifier trained on this kind of image."
            )

    return check


def predict(classifier: Any, image: da.Array, *, channel_axis: int | None = None) -> da.Array:
    """:meth:`PixelClassifier.predict <napari_seglab.core.classifier.PixelClassifier.predict>`
    chunk by chunk on a dask array.

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
    check = _classifier_check(classifier)

    def one(block: np.ndarray, axis: int | None, window: tuple[slice, ...]) -> np.ndarray:
        with _one_thread():
            return classify_image(
                classifier, block, channel_axis=axis, want_proba=False, window=window
            )[0]

    return map_with_halo(
        image, classifier.features, one, dtype=np.uint8, channel_axis=channel_axis, check=check
    )


def segment(
    classifier: Any, image: da.Array, *, channel_axis: int | None = None
) -> tuple[da.Array, da.Array, da.Array]:
    """Labels, probabilities and uncertainty of :meth:`PixelClassifier.segment`, lazily.

    One pass over the image: each chunk's three results travel together (as float32
    channels; class ids up to 255 are exact there) and are split lazily.
    Arguments and errors as in :func:`predict`.
    """
    check = _classifier_check(classifier)
    n_classes = len(classifier.classes_)

    def one(block: np.ndarray, axis: int | None, window: tuple[slice, ...]) -> np.ndarray:
        with _one_thread():
            labels, proba, uncertainty = classify_image(
                classifier, block, channel_axis=axis, want_proba=True, window=window
            )
        return np.concatenate([proba, uncertainty[..., None], labels[..., None]], axis=-1)

    stacked = map_with_halo(
        image,
        classifier.features,
        one,
        dtype=np.float32,
        channel_axis=channel_axis,
        out_channels=n_classes + 2,
        check=check,
    )
    labels = stacked[..., n_classes + 1].astype(np.uint8)
    return labels, stacked[..., :n_classes], stacked[..., n_classes]
