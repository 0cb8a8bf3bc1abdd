"""What :func:`napari_seglab.cluster` clusters, and how: colour space, units, k-means settings."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .._validation import SegLabInputError

__all__ = ["ClusterOptions", "ClusterUnits", "ColourSpace"]


class ColourSpace(Enum):
    """The space whose distances k-means minimises."""

    LAB = "lab"
    RGB = "rgb"
    CHANNELS = "channels"

    def __str__(self) -> str:
        return {
            "lab": "Lab (perceptual)",
            "rgb": "RGB",
            "channels": "raw channels",
        }[self.value]

    @property
    def names(self) -> tuple[str, ...] | None:
        """Names of the colour features (None: one per channel, ``"channel i"``)."""
        return {"lab": ("L*", "a*", "b*"), "rgb": ("R", "G", "B")}.get(self.value)


class ClusterUnits(Enum):
    """What is clustered: single pixels, or superpixels by their mean colour."""

    PIXELS = "pixels"
    SLIC = "slic"
    FELZENSZWALB = "felzenszwalb"

    def __str__(self) -> str:
        return {
            "pixels": "pixels",
            "slic": "SLIC superpixels",
            "felzenszwalb": "Felzenszwalb superpixels",
        }[self.value]


def _choice(enum: type[Enum], value, what: str):
    if isinstance(value, enum):
        return value
    try:
        return enum(str(value).lower())
    except ValueError:
        known = ", ".join(repr(m.value) for m in enum)
        raise SegLabInputError(f"Unknown {what} {value!r}; choose one of {known}.") from None


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise SegLabInputError(f"{name.replace('_', ' ')} must be positive, not {value}.")


@dataclass(frozen=True)
class ClusterOptions:
    """Checked settings of one clustering (see :func:`napari_seglab.cluster`)."""

    k: int
    space: ColourSpace
    units: ClusterUnits
    position_weight: float = 0.0
    n_segments: int = 400
    compactness: float = 10.0
    scale: float = 100.0
    sigma: float = 0.8
    min_size: int = 20
    seed: int = 0
    n_init: int = 4
    minibatch_above: int = 1_000_000
    sample_chunks: int = 8

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or int(self.k) != self.k or self.k < 2:
            raise SegLabInputError(f"k-means needs at least 2 clusters (k >= 2), not k={self.k}.")
        if self.k > 65535:
            raise SegLabInputError(f"At most 65535 clusters are supported, not {self.k}.")
        if self.position_weight < 0:
            raise SegLabInputError(
                f"The position weight must be 0 (colour only) or positive, not "
                f"{self.position_weight}."
            )
        _positive(
            n_segments=self.n_segments,
            compactness=self.compactness,
            scale=self.scale,
            n_init=self.n_init,
            minibatch_above=self.minibatch_above,
            sample_chunks=self.sample_chunks,
        )
        if self.sigma < 0 or self.min_size < 0:
            raise SegLabInputError("Felzenszwalb's sigma and minimum size must not be negative.")

    @classmethod
    def from_arguments(cls, k: int, *, space, units, **settings) -> ClusterOptions:
        """Checked options from strings or enums; raises :class:`SegLabInputError`."""
        return cls(
            k=k,
            space=_choice(ColourSpace, space, "colour space"),
            units=_choice(ClusterUnits, units, "unit"),
            **settings,
        )
