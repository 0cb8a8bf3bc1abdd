"""The class balance of the strokes: painted pixels per class, and a warning when one is rare.

:func:`class_counts` and :func:`balance_text` are Qt-free; :class:`BalanceView` keeps the
widget's *Painted* line up to date as the user paints, undoes or picks other strokes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ...core._validation import SegLabInputError
from .jobs import strokes_of

if TYPE_CHECKING:
    from .plans import Training

__all__ = ["RARE_FRACTION", "BalanceView", "balance_text", "class_counts"]

RARE_FRACTION = 0.05  # a class with less of the painted pixels than this gets a warning


def class_counts(planes: Iterable[np.ndarray]) -> dict[int, int]:
    """Painted pixels per class (label 1, 2, ...; 0 = not annotated is left out).

    Examples
    --------
    >>> strokes = np.zeros((4, 5), np.uint8); strokes[0] = 1; strokes[1:3, :2] = 2
    >>> class_counts([strokes])
    {1: 5, 2: 4}
    """
    total: dict[int, int] = {}
    for plane in planes:
        painted = np.asarray(plane)
        painted = painted[painted != 0]  # strokes are sparse: count only the painted pixels
        if painted.dtype.itemsize <= 2 and np.issubdtype(painted.dtype, np.unsignedinteger):
            counts = np.bincount(painted)
            labels = np.flatnonzero(counts)
            pairs = zip(labels.tolist(), counts[labels].tolist(), strict=True)
        else:
            labels, counts = np.unique(painted, return_counts=True)
            pairs = zip(labels.tolist(), counts.tolist(), strict=True)
        for label, count in pairs:
            if label > 0:
                total[int(label)] = total.get(int(label), 0) + int(count)
    return dict(sorted(total.items()))


def balance_text(
    counts: dict[int, int], names: Sequence[str], *, rare: float = RARE_FRACTION
) -> tuple[str, str | None]:
    """The *Painted* line (pixels and share per class), and a warning for a rare class.

    Parameters
    ----------
    counts : dict of int to int
        Painted pixels per label (:func:`class_counts`).
    names : sequence of str
        Names of label 1, 2, ...; the named classes not painted yet count as 0.
    rare : float
        A painted class with less than this share of the painted pixels is warned about.

    Returns
    -------
    text : str
    warning : str or None

    Examples
    --------
    >>> text, warning = balance_text({1: 980, 2: 20}, ["background", "cell"])
    >>> text
    'Painted: background 980 px (98 %), cell 20 px (2.0 %)'
    >>> warning
    "Only 2.0 % of the painted pixels are 'cell': paint more of it."
    """
    top = max([len(names), *counts])
    labels = range(1, top + 1)
    total = sum(counts.values())
    if total == 0:
        return "Painted: nothing yet.", None

    def name(label: int) -> str:
        return names[label - 1] if label <= len(names) else f"class {label}"

    parts = [
        f"{name(i)} {counts.get(i, 0):,} px ({_percent(counts.get(i, 0) / total)})" for i in labels
    ]
    warning = None
    shares = {i: counts.get(i, 0) / total for i in labels}
    scarce = min(shares, key=shares.get)
    if 0 < shares[scarce] < rare or (shares[scarce] == 0 and len(counts) >= 2):
        warning = (
            f"Only {_percent(shares[scarce])} of the painted pixels are '{name(scarce)}': "
            "paint more of it."
        )
    return "Painted: " + ", ".join(parts), warning


def _percent(share: float) -> str:
    """A share as a percentage, a decimal below 10 % and near 100 % (0.4 %, 17 %, 99.8 %)."""
    near_all = share < 1 and round(100 * share) == 100  # 99.8 %, not 100 %
    return f"{100 * share:.1f} %" if 0 < share < 0.1 or near_all else f"{100 * share:.0f} %"


class BalanceView:
    """Keeps a Label widget showing the class balance of the strokes a training would use.

    Parameters
    ----------
    label : magicgui Label
        Where the balance (and its warning) is shown.
    training : callable
        The :class:`~.plans.Training` items a training would use now (may raise
        :class:`SegLabInputError`: nothing to show).
    names : callable
        The class names typed in *Classes*.
    """

    def __init__(
        self,
        label: Any,
        *,
        training: Callable[[], list[Training]],
        names: Callable[[], list[str]],
    ) -> None:
        self._label, self._training, self._names = label, training, names
        self._watched: list = []
        self.counts: dict[int, int] = {}
        self.warning: str | None = None
        self._styled = False

    def watch(self, layers: list) -> None:
        """Refresh after each stroke or undo in exactly these Labels layers."""
        for layer in self._watched:
            if layer not in layers:
                layer.events.paint.disconnect(self.refresh)
                layer.events.set_data.disconnect(self.refresh)
        for layer in layers:
            if layer not in self._watched:
                layer.events.paint.connect(self.refresh)
                layer.events.set_data.connect(self.refresh)
        self._watched = list(layers)

    def refresh(self, _event: Any = None) -> None:
        """Count the painted pixels again and show them."""
        try:
            items = self._training()
        except SegLabInputError:
            items = []
        planes = []
        for item in items:
            if isinstance(item.strokes, np.ndarray):  # counted where it is, without a copy
                planes.append(item.strokes)
                continue
            spatial = item.image.spatial_shape
            planes.extend(strokes_of(item.strokes, max(len(spatial) - 2, 0)).values())
        self.counts = class_counts(planes)
        warned = self.warning is not None
        text, self.warning = balance_text(self.counts, self._names())
        shown = text if self.warning is None else f"{text}\n\u26a0 {self.warning}"
        if shown != self._label.value:
            self._label.value = shown
        if warned != (self.warning is not None) or not self._styled:
            # restyling re-polishes the widget (tens of ms): only when the warning comes or goes
            self._label.native.setStyleSheet("color: #e6a000;" if self.warning else "")
            self._styled = True
