"""Clustering without training: k-means of pixel or superpixel colours (Lab, RGB, channels).

:func:`cluster` is what the tutorials reach for before any classifier (the scipy-lectures
chapter on image processing and machine learning): k-means of the colours in a perceptual
space, of single pixels or of superpixels (SLIC, Felzenszwalb) by their mean colour. Ids are
ordered by brightness, so cluster 1 is always the darkest (e.g. the haematoxylin-stained
nuclei of an H&E image). A dask array is fitted on a sample of chunks and labelled chunk by
chunk (:mod:`._lazy`). :func:`iter_cluster` is the same, one step at a time, for callers that
show progress or stop between steps.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from .._blocks import is_lazy
from ._eager import cluster_steps
from ._input import channels_last, check_space
from ._lazy import lazy_cluster_steps
from ._model import brightness
from ._options import ClusterOptions, ClusterUnits, ColourSpace
from ._result import ClusterResult

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = [
    "ClusterOptions",
    "ClusterResult",
    "ClusterUnits",
    "ColourSpace",
    "cluster",
    "iter_cluster",
]


def _names(options: ClusterOptions, n_channels: int) -> tuple[str, ...]:
    names = options.space.names or tuple(f"channel {i}" for i in range(n_channels))
    return names + (("Y", "X") if options.position_weight else ())


def cluster(
    image: ArrayLike | Any,
    k: int = 3,
    *,
    space: ColourSpace | str | None = None,
    rgb: bool = False,
    channel_axis: int | None = None,
    position_weight: float = 0.0,
    units: ClusterUnits | str = "pixels",
    n_segments: int = 400,
    compactness: float = 10.0,
    scale: float = 100.0,
    sigma: float = 0.8,
    min_size: int = 20,
    boundaries: bool = False,
    seed: int = 0,
    n_init: int = 4,
    minibatch_above: int = 1_000_000,
    sample_chunks: int = 8,
) -> ClusterResult:
    """Group the pixels of an image into `k` colour clusters with k-means.

    Parameters
    ----------
    image : array_like, dask.array.Array, or list of arrays
        An RGB(A) image ``(..., Y, X, 3|4)`` with `rgb`; a multichannel stack with its
        channels on `channel_axis`; a list of same-shaped arrays, one per channel; or a
        grayscale image ``(..., Y, X)``. Leading axes are planes (a stack or time series).
    k : int
        Number of clusters, at least 2 and at most the number of distinct colours.
    space : {"lab", "rgb", "channels"}, optional
        Lab (``skimage.color.rgb2lab``; the default for RGB), RGB as floats in [0, 1], or the
        raw channel values (the default otherwise; rescale channels of different ranges).
    rgb : bool
        Whether the last axis holds RGB(A) colours (RGBA is composited over white).
    channel_axis : int, optional
        The axis of the channels of a multichannel stack.
    position_weight : float
        0: colour only. Otherwise each unit's (Y, X) position joins its colour, scaled so the
        plane's longest side spans `position_weight` times the colour range (100 for Lab,
        1 for RGB, the data range for channels): larger weights give compact clusters.
    units : {"pixels", "slic", "felzenszwalb"}
        Cluster single pixels, or superpixels by their mean colour (and centroid):
        ``skimage.segmentation.slic(n_segments, compactness, start_label=1)`` or
        ``felzenszwalb(scale, sigma, min_size)``, each plane on its own.
    n_segments, compactness : int, float
        SLIC's settings.
    scale, sigma, min_size : float, float, int
        Felzenszwalb's settings.
    boundaries : bool
        Also return the superpixel boundaries (``skimage.segmentation.find_boundaries``).
    seed : int
        ``random_state`` of scikit-learn's k-means: the same seed gives the same clusters.
    n_init : int
        k-means runs from different starts; the best is kept.
    minibatch_above : int
        Fit ``sklearn.cluster.MiniBatchKMeans`` instead of ``KMeans`` above this many units.
    sample_chunks : int
        For a dask array: how many chunks (spread evenly) the fit reads.

    Returns
    -------
    ClusterResult
        ``labels`` (ids 1..k by increasing brightness: 1 is the darkest), ``centres``,
        ``superpixels`` / ``boundaries`` where used, ``mask(id)`` and ``describe()``. Lazy
        labels for a dask input; the same pixels and settings always give the same ids.

    Raises
    ------
    SegLabInputError
        k < 2 or more clusters than distinct colours; Lab or RGB asked of a grayscale
        image; NaN pixels; a channel axis that does not exist; an RGB flag on an image
        without 3 or 4 channels on its last axis; chunks that split the planes of a lazy
        image clustered by superpixels. Nothing is computed then.

    See Also
    --------
    iter_cluster : the same, one step at a time (progress, cancelling between steps).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((4, 6, 3), np.uint8)
    >>> image[:, 2:4] = (120, 40, 160)  # purple
    >>> image[:, 4:] = 255  # white
    >>> result = cluster(image, 3, rgb=True)
    >>> result.labels[0]
    array([1, 1, 2, 2, 3, 3], dtype=uint8)
    >>> result.centres[:, 0].round(1)  # L* of black, purple, white
    array([  0. ,  34.1, 100. ])
    """
    steps = iter_cluster(
        image,
        k,
        space=space,
        rgb=rgb,
        channel_axis=channel_axis,
        position_weight=position_weight,
        units=units,
        n_segments=n_segments,
        compactness=compactness,
        scale=scale,
        sigma=sigma,
        min_size=min_size,
        boundaries=boundaries,
        seed=seed,
        n_init=n_init,
        minibatch_above=minibatch_above,
        sample_chunks=sample_chunks,
    )
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def iter_cluster(
    image: ArrayLike | Any,
    k: int = 3,
    *,
    space: ColourSpace | str | None = None,
    rgb: bool = False,
    channel_axis: int | None = None,
    units: ClusterUnits | str = "pixels",
    boundaries: bool = False,
    **settings: Any,
) -> Generator[str, None, ClusterResult]:
    """:func:`cluster`, one step at a time: for callers that show progress or stop early.

    The input and settings are checked before the first step. A step cannot be stopped once
    it runs, and two are long on a large image: on a 3072 x 3072 RGB image (2 CPU cores) the
    k-means fit of its pixels, one scikit-learn call, took ~45 s and SLIC, one scikit-image
    call, ~20 s; every other step took at most a few seconds.

    Parameters
    ----------
    image, k, space, rgb, channel_axis, units, boundaries, **settings
        As in :func:`cluster` (`settings`: `position_weight` and the SLIC, Felzenszwalb and
        k-means settings).

    Yields
    ------
    str
        The step about to run. In memory: "superpixels" (superpixel units only), "colours"
        (the colour features), "k-means fit", "labels", "boundaries" (when asked for). For a
        dask array: "sample" (reading the chunks the fit sees), "k-means fit"; the labels
        stay lazy.

    Returns
    -------
    ClusterResult
        The same as :func:`cluster`'s, as the generator's return value
        (``result = yield from iter_cluster(...)``, or ``StopIteration.value``).

    Raises
    ------
    SegLabInputError
        As :func:`cluster`, at the first step.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((4, 6)); image[:, 3:] = 1.0
    >>> steps = iter_cluster(image, 2)
    >>> next(steps), next(steps), next(steps)
    ('colours', 'k-means fit', 'labels')
    >>> try:
    ...     next(steps)
    ... except StopIteration as done:
    ...     done.value.labels[0]
    array([1, 1, 1, 2, 2, 2], dtype=uint8)
    """
    image, rgb = channels_last(image, rgb=rgb, channel_axis=channel_axis)
    options = ClusterOptions.from_arguments(
        k, space=check_space(space, image.shape, rgb), units=units, **settings
    )
    steps = lazy_cluster_steps if is_lazy(image) else cluster_steps
    labels, model, n_fitted, segments, edges = yield from steps(image, options, boundaries)
    centres = model.centres
    return ClusterResult(
        labels=labels,
        centres=centres,
        feature_names=_names(options, model.n_colour),
        brightness=brightness(centres[:, : model.n_colour], options.space),
        options=options,
        n_fitted=n_fitted,
        superpixels=segments,
        boundaries=edges,
    )
