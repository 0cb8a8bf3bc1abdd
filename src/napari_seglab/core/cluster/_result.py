"""The outcome of a clustering: cluster ids per pixel, the centres, the superpixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import SegLabInputError
from ._options import ClusterOptions

__all__ = ["ClusterResult"]


@dataclass(frozen=True)
class ClusterResult:
    """What :func:`napari_seglab.cluster` found.

    Attributes
    ----------
    labels : numpy.ndarray or dask.array.Array
        Cluster id of every pixel, ``(..., Y, X)``: 1 is the darkest cluster, k the
        brightest (by :attr:`brightness`), so the same image always gives the same ids.
        ``uint8`` (``uint16`` for k > 255); lazy for a lazy input.
    centres : numpy.ndarray
        ``(k, F)`` cluster centres, row ``i`` for id ``i + 1``, in :attr:`feature_names`
        (colour features; then Y and X in pixels when the position is weighted).
    feature_names : tuple of str
    brightness : numpy.ndarray
        ``(k,)`` brightness of each centre (Lab L*, RGB luminance, or the channels' mean),
        increasing.
    options : ClusterOptions
        The settings used.
    n_fitted : int
        How many units (pixels or superpixels) k-means was fitted on.
    superpixels : numpy.ndarray or dask.array.Array or None
        Superpixel ids ``(..., Y, X)``, 1, 2, ... within each plane (superpixel units only).
    boundaries : numpy.ndarray or dask.array.Array or None
        ``uint8`` 0/1 superpixel boundaries (``skimage.segmentation.find_boundaries``), when
        asked for.
    """

    labels: Any
    centres: np.ndarray
    feature_names: tuple[str, ...]
    brightness: np.ndarray
    options: ClusterOptions
    n_fitted: int
    superpixels: Any = None
    boundaries: Any = None

    @property
    def k(self) -> int:
        """The number of clusters."""
        return self.options.k

    def mask(self, cluster_id: int) -> Any:
        """A ``uint8`` 0/1 mask of one cluster (lazy for lazy labels), for Clean up / Validate.

        Raises
        ------
        SegLabInputError
            If `cluster_id` is not one of 1..k.

        Examples
        --------
        >>> import numpy as np
        >>> from napari_seglab import cluster
        >>> image = np.zeros((4, 4)); image[:, 2:] = 1.0
        >>> cluster(image, 2).mask(2)[0]
        array([0, 0, 1, 1], dtype=uint8)
        """
        if isinstance(cluster_id, bool) or cluster_id not in range(1, self.k + 1):
            raise SegLabInputError(f"Cluster {cluster_id} does not exist; choose 1 to {self.k}.")
        return (self.labels == cluster_id).astype(np.uint8)

    def describe(self) -> str:
        """A few lines for people: the settings, then one line per cluster and its centre.

        Examples
        --------
        >>> import numpy as np
        >>> from napari_seglab import cluster
        >>> image = np.zeros((4, 4)); image[:, 2:] = 1.0
        >>> print(cluster(image, 2).describe())
        k-means, k=2, raw channels, pixels, seed 0, fitted on 16 units
        cluster 1 (darkest): channel 0 0
        cluster 2 (brightest): channel 0 1
        """
        o = self.options
        lines = [
            f"k-means, k={o.k}, {o.space}, {o.units}, seed {o.seed}, fitted on "
            f"{self.n_fitted} units"
            + (f", position weight {o.position_weight:g}" if o.position_weight else "")
        ]
        for i, centre in enumerate(self.centres):
            tag = {0: " (darkest)", self.k - 1: " (brightest)"}.get(i, "")
            pairs = zip(self.feature_names, centre, strict=True)
            values = ", ".join(f"{name} {value:.3g}" for name, value in pairs)
            lines.append(f"cluster {i + 1}{tag}: {values}")
        return "\n".join(lines)
