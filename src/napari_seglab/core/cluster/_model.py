"""The k-means fit shared by the eager and the lazy clustering, and its stable cluster ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import SegLabInputError
from ._options import ClusterOptions, ColourSpace

__all__ = ["KMeansModel", "fit"]

_LUMINANCE = np.array([0.2125, 0.7154, 0.0721])  # skimage.color.rgb2gray's weights


def brightness(centres: np.ndarray, space: ColourSpace) -> np.ndarray:
    """How bright each colour centre is: Lab's L*, RGB's luminance, the channels' mean."""
    if space is ColourSpace.LAB:
        return centres[:, 0]
    if space is ColourSpace.RGB:
        return centres[:, :3] @ _LUMINANCE
    return centres.mean(axis=1)


def _count_distinct(rows: np.ndarray, enough: int) -> int:
    head = rows[: 64 * enough]
    n = len(np.unique(head, axis=0))
    return n if n >= enough else len(np.unique(rows, axis=0))


def _spread(rows: np.ndarray, space: ColourSpace) -> float:
    if space is ColourSpace.LAB:
        return 100.0
    if space is ColourSpace.RGB:
        return 1.0
    return float(max(np.ptp(rows, axis=0).max(), np.finfo(np.float64).tiny))


@dataclass(frozen=True)
class KMeansModel:
    """A fitted k-means and the map from its clusters to SegLab's ids 1..k.

    Attributes
    ----------
    estimator : sklearn.cluster.KMeans or MiniBatchKMeans
    ids : numpy.ndarray
        ``ids[c]`` is the SegLab id (1 = darkest) of scikit-learn's cluster ``c``.
    position_scale : float
        Factor on the (Y, X) pixel coordinates appended to the colour rows.
    """

    estimator: Any
    ids: np.ndarray
    position_scale: float
    n_colour: int

    def rows(self, colour: np.ndarray, coords: np.ndarray) -> np.ndarray:
        """k-means' input: the colour rows, then the scaled positions if weighted."""
        if self.position_scale == 0:
            return colour
        return np.hstack([colour, coords * self.position_scale])

    def predict(self, colour: np.ndarray, coords: np.ndarray) -> np.ndarray:
        """SegLab ids (1..k) of the rows' nearest centres."""
        return self.ids[self.estimator.predict(self.rows(colour, coords))]

    @property
    def centres(self) -> np.ndarray:
        """Cluster centres ``(k, F)`` by SegLab id: the colour features, then Y and X."""
        order = np.argsort(self.ids)
        centres = self.estimator.cluster_centers_[order]
        if self.position_scale == 0:
            return centres
        n = self.n_colour
        return np.hstack([centres[:, :n], centres[:, n:] / self.position_scale])


def fit(
    colour: np.ndarray, coords: np.ndarray, options: ClusterOptions, plane_side: int
) -> KMeansModel:
    """Fit k-means on the unit rows; ids ordered by brightness, ties by the centre values.

    Raises
    ------
    SegLabInputError
        If the rows hold NaN, or fewer distinct colours than `options.k`.
    """
    if not np.isfinite(colour).all():
        raise SegLabInputError(
            "The image contains NaN or infinite pixels. Replace them first, e.g. with "
            "numpy.nan_to_num, or crop them away."
        )
    distinct = _count_distinct(colour, options.k)
    if distinct < 2:
        raise SegLabInputError(
            "The image holds a single colour (in the units clustered, e.g. one superpixel of "
            "a small image): there is nothing to cluster."
        )
    if distinct < options.k:
        raise SegLabInputError(
            f"The image holds only {distinct} distinct colour(s) (in the units clustered), "
            f"fewer than k={options.k} clusters: choose k <= {distinct}."
        )
    from sklearn.cluster import KMeans, MiniBatchKMeans

    scale = options.position_weight * _spread(colour, options.space) / plane_side
    settings = {"n_clusters": options.k, "random_state": options.seed, "n_init": options.n_init}
    if len(colour) > options.minibatch_above:
        estimator = MiniBatchKMeans(batch_size=4096, **settings)
    else:
        estimator = KMeans(**settings)
    n_colour = colour.shape[1]
    rows = colour if scale == 0 else np.hstack([colour, coords * scale])
    estimator.fit(rows)
    centres = estimator.cluster_centers_
    key = brightness(centres[:, :n_colour], options.space)
    order = np.lexsort((*centres[:, ::-1].T, key))
    ids = np.empty(options.k, np.int64)
    ids[order] = np.arange(1, options.k + 1)
    return KMeansModel(estimator, ids, scale, n_colour)
