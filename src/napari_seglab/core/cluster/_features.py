"""What k-means sees: colour features of pixels or superpixels, and their positions.

Every function here takes one block ``(..., Y, X, C)`` (the whole image in memory, or one
dask chunk) and works plane by plane over the leading axes, so the eager and the lazy
clustering share them.
"""

from __future__ import annotations

import numpy as np

from ._options import ClusterOptions, ClusterUnits, ColourSpace

__all__ = ["colour_image", "colours", "pixel_ids", "superpixels", "unit_rows"]


def colour_image(block: np.ndarray, space: ColourSpace) -> np.ndarray:
    """The channels that count as the image's colour: RGBA loses its alpha (over white)."""
    if space is not ColourSpace.CHANNELS and block.shape[-1] == 4:
        from skimage.color import rgba2rgb

        return rgba2rgb(block)
    return block


def colours(block: np.ndarray, space: ColourSpace) -> np.ndarray:
    """Per-pixel colour features ``(..., Y, X, F)`` in float64."""
    block = colour_image(block, space)
    if space is ColourSpace.LAB:
        from skimage.color import rgb2lab

        return rgb2lab(block)
    if space is ColourSpace.RGB:
        from skimage.util import img_as_float

        return img_as_float(block).astype(np.float64, copy=False)
    return block.astype(np.float64, copy=False)


def _plane_superpixels(plane: np.ndarray, options: ClusterOptions) -> np.ndarray:
    from skimage.segmentation import felzenszwalb, relabel_sequential, slic

    if options.units is ClusterUnits.SLIC:
        found = slic(
            plane,
            n_segments=options.n_segments,
            compactness=options.compactness,
            start_label=1,
            channel_axis=-1,
            convert2lab=None if options.space is not ColourSpace.CHANNELS else False,
        )
    else:
        found = felzenszwalb(
            plane,
            scale=options.scale,
            sigma=options.sigma,
            min_size=options.min_size,
            channel_axis=-1,
        )
        found = found + 1
    return relabel_sequential(found.astype(np.int32, copy=False))[0]


def superpixels(block: np.ndarray, options: ClusterOptions) -> np.ndarray | None:
    """Superpixel ids ``(..., Y, X)``, 1, 2, ... in each plane; None for pixel units."""
    if options.units is ClusterUnits.PIXELS:
        return None
    block = colour_image(block, options.space)
    out = np.empty(block.shape[:-1], np.int32)
    for index in np.ndindex(*block.shape[:-3]):
        out[index] = _plane_superpixels(block[index], options)
    return out


def unit_rows(
    block: np.ndarray,
    segments: np.ndarray | None,
    origin: tuple[int, int],
    options: ClusterOptions,
) -> tuple[np.ndarray, np.ndarray]:
    """Colour rows ``(n, F)`` and plane coordinates ``(n, 2)`` of every unit of `block`.

    Pixels in C order; superpixels plane by plane, by id, with their mean colour and
    centroid. `origin` is the block's first (Y, X) in its plane. Pixels get no coordinates
    (``(n, 0)``) when the position is not weighted.
    """
    features = colours(block, options.space)
    n_features = features.shape[-1]
    y, x = np.indices(block.shape[-3:-1], dtype=np.float64)
    y += origin[0]
    x += origin[1]
    if segments is None:
        rows = features.reshape(-1, n_features)
        if not options.position_weight:
            return rows, np.empty((len(rows), 0))
        n_planes = int(np.prod(block.shape[:-3]))
        return rows, np.tile(np.stack([y.ravel(), x.ravel()], 1), (n_planes, 1))
    rows, coords = [], []
    for index in np.ndindex(*block.shape[:-3]):
        ids = segments[index].ravel() - 1
        counts = np.bincount(ids).astype(np.float64)
        plane = features[index].reshape(-1, n_features)
        rows.append(
            np.stack([np.bincount(ids, plane[:, f]) / counts for f in range(n_features)], 1)
        )
        centroid = [np.bincount(ids, axis.ravel()) / counts for axis in (y, x)]
        coords.append(np.stack(centroid, 1))
    return np.concatenate(rows), np.concatenate(coords)


def pixel_ids(segments: np.ndarray | None, unit_ids: np.ndarray, shape: tuple) -> np.ndarray:
    """Per-pixel cluster ids from per-unit ones (units in :func:`unit_rows`' order)."""
    if segments is None:
        return unit_ids.reshape(shape)
    out = np.empty(shape, unit_ids.dtype)
    start = 0
    for index in np.ndindex(*shape[:-2]):
        n = int(segments[index].max())
        out[index] = unit_ids[start : start + n][segments[index] - 1]
        start += n
    return out
