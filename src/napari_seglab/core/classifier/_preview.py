"""Live previews while painting: one plane's features kept on a grid, classified at once."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import numpy as np
from numpy.typing import ArrayLike

from .._blocks import is_lazy
from .._validation import Cancelled, SegLabInputError
from ._filters import region_features
from ._model import PixelClassifier, Segmentation
from ._tiles import NOT_GIVEN, channel_axis_of, channels_first
from .features import FeatureSettings, feature_names

__all__ = ["PlanePreview"]

BAND_PIXELS = 2**18  # grid pixels classified between two looks at `cancel` (~0.05 s)
FEATURE_BAND_VALUES = 2**23  # feature values computed between two looks at `cancel`


class PlanePreview:
    """The features of one plane on a regular grid, kept for previews while painting.

    Painting changes only the strokes: the features of the plane in view stay the same from
    one stroke to the next. A preview keeps them for every `step`-th pixel along each axis
    (computed at full resolution, so every scale sees the same context as in
    :meth:`PixelClassifier.segment`), with `step` the smallest that keeps the grid within
    `max_pixels` (or a larger `step` asked for). :meth:`segment` then classifies the grid
    and repeats each result over its ``step x step`` block: a plane of 2048 x 2048 seen whole
    on a screen is previewed at about the screen's resolution, for a quarter of the work of
    the full plane. With `region`, only that part of the plane (the part on screen) is kept,
    its features still computed with the rest of the plane around it: at ``step == 1`` its
    :meth:`segment` equals :meth:`PixelClassifier.segment` of the whole plane inside `region`.

    Parameters
    ----------
    image : array_like
        The plane (2D features), or for 3D features a slab of planes around it; channels on
        `channel_axis`.
    settings : FeatureSettings
        The classifier's features.
    channel_axis : int, optional
        Channel axis of `image` (``-1`` for RGB).
    plane : int, optional
        For 3D features, the index of the plane to preview along the slab's first axis.
    max_pixels : int
        Largest number of grid pixels (each holds all its features in float32).
    region : tuple of two slices, optional
        The rows and columns of the plane to keep (default: the whole plane); slices with
        explicit, in-range ``start`` and ``stop`` and no step.
    step : int, optional
        Keep at least every `step`-th pixel (1: full resolution, if `max_pixels` allows).
    cancel : callable, optional
        Looked at between bands of rows of the features; when it returns True, the work
        stops (a live update replaced by the next stroke stops within one band).

    Raises
    ------
    Cancelled
        When `cancel` returned True.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> image = rng.normal(10, 2, (256, 256)); image[80:176, 80:176] += 10
    >>> strokes = np.zeros(image.shape, np.uint8)
    >>> strokes[5:9, 5:120] = 1; strokes[120:124, 100:150] = 2
    >>> settings = FeatureSettings(sigmas=(1, 2))
    >>> preview = PlanePreview(image, settings, max_pixels=64 * 64)
    >>> preview.step
    4
    >>> clf = PixelClassifier(settings, n_estimators=10).fit(image, strokes)
    >>> labels = preview.segment(clf).labels
    >>> labels.shape, labels[128, 128], labels[20, 20]
    ((256, 256), np.uint8(2), np.uint8(1))
    """

    def __init__(
        self,
        image: ArrayLike,
        settings: FeatureSettings,
        *,
        channel_axis: int | None = NOT_GIVEN,
        plane: int | None = None,
        max_pixels: int = 2**20,
        region: tuple[slice, slice] | None = None,
        step: int = 1,
        cancel: Callable[[], bool] | None = None,
    ) -> None:
        if is_lazy(image):
            raise SegLabInputError(
                "A PlanePreview needs its plane (or slab) in memory, not a dask array: pass "
                "np.asarray(image[k]) for plane k (with the planes around it for 3D features)."
            )
        source = channels_first(image, settings, channel_axis_of(image, channel_axis))
        spatial = source.shape[1:]
        if len(spatial) != settings.ndim:
            raise SegLabInputError(
                f"A preview needs one {'slab' if settings.ndim == 3 else 'plane'} of "
                f"{settings.ndim} spatial axes; got spatial shape {spatial}."
            )
        if settings.ndim == 3 and (plane is None or not 0 <= plane < spatial[0]):
            raise SegLabInputError(f"plane={plane} is not a plane of the slab {spatial}.")
        if settings.ndim == 2 and plane is not None:
            raise SegLabInputError("`plane` is only for 3D features; pass the plane itself.")
        self.settings = settings
        self.n_channels = source.shape[0]
        self.plane_shape = tuple(spatial[-2:])
        self.region = _checked_region(region, self.plane_shape)
        rows, cols = self.region
        self.shape = (rows.stop - rows.start, cols.stop - cols.start)
        height, width = self.shape
        self.step = _grid_step(self.shape, max_pixels, step)
        n_features = len(feature_names(settings, self.n_channels))
        grid = np.empty((n_features, -(-height // self.step), -(-width // self.step)), np.float32)
        band = max(1, FEATURE_BAND_VALUES // (n_features * width) // self.step) * self.step
        lead = () if plane is None else (slice(plane, plane + 1),)
        for top in range(0, height, band):
            if cancel is not None and cancel():
                raise Cancelled("Features of the preview cancelled.")
            part = slice(rows.start + top, rows.start + min(top + band, height))
            planar = np.empty((n_features, part.stop - part.start, width), np.float32)
            region_features(
                source,
                settings,
                (*lead, part, cols),
                planar.reshape(n_features, *([1] * len(lead)), *planar.shape[1:]),
            )
            picked = planar[:, :: self.step, :: self.step]
            grid[:, top // self.step : top // self.step + picked.shape[1]] = picked
        self._grid = grid

    @property
    def nbytes(self) -> int:
        """Bytes of features this preview holds."""
        return self._grid.nbytes

    def subsampled(self, step: int = 1, max_pixels: int | None = None) -> PlanePreview:
        """The same region on a coarser grid, made from this preview's features.

        Equal to a new preview with that `step` (features are computed at full resolution
        either way), without computing any: a full-resolution preview kept while painting
        gives the screen-resolution one at the cost of a copy.

        Parameters
        ----------
        step : int
            Keep at least every `step`-th pixel.
        max_pixels : int, optional
            Largest number of grid pixels, as in the constructor (default: no limit). The
            step chosen (as the constructor would) must be a multiple of this preview's.

        Returns
        -------
        PlanePreview
            Holding a copy of the features of every `step`-th pixel (contiguous, as the
            forest reads them); this preview itself when the step is its own.
        """
        step = _grid_step(self.shape, max_pixels, step)
        if step % self.step:
            raise SegLabInputError(
                f"step={step} is not a multiple of this preview's step ({self.step})."
            )
        if step == self.step:
            return self
        coarser = copy.copy(self)
        coarser.step = step
        stride = step // self.step
        coarser._grid = np.ascontiguousarray(self._grid[:, ::stride, ::stride])
        return coarser

    def segment(
        self, classifier: PixelClassifier, *, cancel: Callable[[], bool] | None = None
    ) -> Segmentation:
        """Classify the grid; each result fills its ``step x step`` block of the plane.

        Parameters
        ----------
        classifier : PixelClassifier
            Trained with the same feature settings and channel count.
        cancel : callable, optional
            Looked at between bands of rows; when it returns True, the work stops.

        Returns
        -------
        Segmentation
            Of the region's shape (the plane's, without `region`).

        Raises
        ------
        Cancelled
            When `cancel` returned True.
        """
        bands = [classifier.segment_features(b) for b in self._bands(classifier, cancel)]
        return Segmentation(
            self._fill(np.concatenate([b.labels for b in bands])),
            self._fill(np.concatenate([b.probabilities for b in bands])),
            self._fill(np.concatenate([b.uncertainty for b in bands])),
            bands[0].classes,
        )

    def predict(
        self, classifier: PixelClassifier, *, cancel: Callable[[], bool] | None = None
    ) -> np.ndarray:
        """Class ids only, as :meth:`segment`'s labels but faster (as in ``predict``).

        Parameters
        ----------
        classifier : PixelClassifier
            Trained with the same feature settings and channel count.
        cancel : callable, optional
            As in :meth:`segment`.

        Returns
        -------
        numpy.ndarray of uint8
            Of the region's shape (the plane's, without `region`).

        Raises
        ------
        Cancelled
            When `cancel` returned True.
        """
        bands = self._bands(classifier, cancel)
        return self._fill(np.concatenate([classifier.predict_features(b) for b in bands]))

    def _bands(
        self, classifier: PixelClassifier, cancel: Callable[[], bool] | None
    ) -> Iterator[np.ndarray]:
        """The grid's features (rows, columns, F) in bands of rows (views), `cancel` looked
        at before each."""
        features = self._features(classifier)
        rows = max(1, BAND_PIXELS // features.shape[1])
        for top in range(0, features.shape[0], rows):
            if cancel is not None and cancel():
                raise Cancelled("Classification of the preview cancelled.")
            yield features[top : top + rows]

    def _features(self, classifier: PixelClassifier) -> np.ndarray:
        """The grid's features, (rows, columns, F): a view of the planar grid."""
        if not classifier.is_fitted:
            raise SegLabInputError("This classifier is not trained yet: train it or load a file.")
        if classifier.features != self.settings or classifier.n_channels != self.n_channels:
            raise SegLabInputError(
                "This preview was made for other features or channels than the classifier's."
            )
        return np.moveaxis(self._grid, 0, -1)

    def _fill(self, values: np.ndarray) -> np.ndarray:
        """Grid values repeated over their ``step x step`` blocks, cropped to the region."""
        if self.step == 1:
            return values
        values = np.repeat(np.repeat(values, self.step, axis=0), self.step, axis=1)
        return np.ascontiguousarray(values[: self.shape[0], : self.shape[1]])


def _grid_step(shape: tuple[int, int], max_pixels: int | None, step: int) -> int:
    """The smallest step of at least `step` whose grid over `shape` fits `max_pixels`."""
    height, width = shape
    step = max(1, int(step))
    if max_pixels is None:
        return step
    step = max(step, int(np.sqrt(height * width / max(max_pixels, 1))))
    while -(-height // step) * -(-width // step) > max_pixels:
        step += 1
    return step


def _checked_region(region: tuple[slice, slice] | None, shape: tuple[int, int]):
    """`region` as two slices with explicit bounds inside `shape` (the whole plane if None)."""
    if region is None:
        return (slice(0, shape[0]), slice(0, shape[1]))
    if len(region) != 2:
        raise SegLabInputError(f"A region is two slices (rows, columns), not {region!r}.")
    checked = []
    for sl, n in zip(region, shape, strict=True):
        start, stop, stride = sl.indices(n)
        if stride != 1 or stop <= start:
            raise SegLabInputError(
                f"The region {region!r} is empty or strided in a plane {shape}."
            )
        checked.append(slice(start, stop))
    return tuple(checked)
