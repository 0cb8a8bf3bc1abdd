"""The names a threshold is chosen by: its method and which side is foreground."""

from __future__ import annotations

from enum import StrEnum

from .._validation import SegLabInputError

__all__ = ["GLOBAL_METHODS", "Foreground", "ThresholdMethod"]


class _Choice(StrEnum):
    """A choice by name: case, spaces and dashes do not matter; a wrong name lists the right."""

    @classmethod
    def _missing_(cls, value: object) -> _Choice:
        if isinstance(value, str):
            key = value.strip().lower().replace("-", "_").replace(" ", "_")
            for member in cls:
                if member.value == key:
                    return member
        known = ", ".join(repr(m.value) for m in cls)
        what = {"Foreground": "foreground", "ThresholdMethod": "threshold method"}[cls.__name__]
        raise SegLabInputError(f"Unknown {what} {value!r}; choose one of {known}.")


class Foreground(_Choice):
    """Whether the objects of interest are brighter or darker than their surroundings.

    Examples
    --------
    >>> Foreground("Dark")
    <Foreground.DARK: 'dark'>
    """

    BRIGHT = "bright"
    DARK = "dark"


class ThresholdMethod(_Choice):
    """Threshold methods: the automatic global ones, a manual value, and three local ones.

    Names are matched whatever their case (``"Otsu"``, ``"multi-otsu"``); an unknown name
    raises a :class:`SegLabInputError` that lists the valid ones.

    Examples
    --------
    >>> ThresholdMethod("Multi-Otsu")
    <ThresholdMethod.MULTI_OTSU: 'multi_otsu'>
    >>> ThresholdMethod("otsuu")
    Traceback (most recent call last):
    ...
    napari_seglab.core._validation.SegLabInputError: Unknown threshold method 'otsuu'; ...
    """

    OTSU = "otsu"
    LI = "li"
    YEN = "yen"
    TRIANGLE = "triangle"
    ISODATA = "isodata"
    MEAN = "mean"
    MINIMUM = "minimum"
    MULTI_OTSU = "multi_otsu"
    MANUAL = "manual"
    LOCAL_MEAN = "local_mean"
    NIBLACK = "niblack"
    SAUVOLA = "sauvola"

    @property
    def is_global(self) -> bool:
        """True for the methods that give one value per image (or per plane)."""
        return self in GLOBAL_METHODS or self is ThresholdMethod.MANUAL

    @property
    def uses_histogram(self) -> bool:
        """True for the methods whose value comes from the image's histogram."""
        return self in GLOBAL_METHODS and self is not ThresholdMethod.MEAN


GLOBAL_METHODS: tuple[ThresholdMethod, ...] = (
    ThresholdMethod.OTSU,
    ThresholdMethod.LI,
    ThresholdMethod.YEN,
    ThresholdMethod.TRIANGLE,
    ThresholdMethod.ISODATA,
    ThresholdMethod.MEAN,
    ThresholdMethod.MINIMUM,
    ThresholdMethod.MULTI_OTSU,
)
"""The automatic global methods that :func:`try_all_thresholds` compares."""
