"""A small histogram plot with threshold markers (plain Qt: magicgui has no plot widget)."""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QPointF, QRectF, Qt
from qtpy.QtGui import QColor, QPainter, QPen
from qtpy.QtWidgets import QSizePolicy, QWidget

__all__ = ["HistogramPlot"]


class HistogramPlot(QWidget):
    """Bars of a histogram (log-scaled counts) with vertical lines at the thresholds.

    Call :meth:`set_data` with the counts and bin edges (as from :func:`numpy.histogram`) and
    the threshold values; the plot keeps them in :attr:`counts`, :attr:`edges`,
    :attr:`thresholds` and :attr:`highlight` for scripts and tests.
    """

    BAR = QColor("#9a9a9a")
    LINE = QColor("#E69F00")  # Okabe-Ito orange: visible on dark and light themes
    OTHER = QColor("#56B4E9")  # Okabe-Ito sky blue, for the thresholds not highlighted

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.counts = np.zeros(0)
        self.edges = np.zeros(0)
        self.thresholds = np.zeros(0)
        self.highlight = np.zeros(0)
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip(
            "Histogram of the (filtered) image, log scale; orange: threshold(s) in use; "
            "blue: the other methods of 'Try all'"
        )

    def set_data(
        self, counts: np.ndarray, edges: np.ndarray, thresholds=(), *, highlight=None
    ) -> None:
        """Show a histogram with `thresholds` marked (empty for local methods).

        With `highlight`, those values are drawn in orange and the other thresholds in a
        fainter colour (try-all: the method selected in the table).
        """
        self.counts = np.asarray(counts, dtype=float)
        self.edges = np.asarray(edges, dtype=float)
        self.thresholds = _values(thresholds)
        self.highlight = self.thresholds if highlight is None else _values(highlight)
        self.update()

    def paintEvent(self, event) -> None:
        if self.counts.size == 0:
            return
        painter = QPainter(self)
        width, height = self.width(), self.height() - 12
        heights = np.log1p(self.counts)
        heights = heights / heights.max() if heights.max() > 0 else heights
        lo, hi = self.edges[0], self.edges[-1]
        span = hi - lo or 1.0
        bar_w = width / heights.size
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.BAR)
        for i, h in enumerate(heights):
            painter.drawRect(QRectF(i * bar_w, height * (1 - h), max(bar_w, 1.0), height * h))
        others = np.setdiff1d(self.thresholds, self.highlight)
        for values, pen in ((others, QPen(self.OTHER, 1)), (self.highlight, QPen(self.LINE, 2))):
            painter.setPen(pen)
            for t in values:
                x = (t - lo) / span * width
                painter.drawLine(QPointF(x, 0), QPointF(x, height))
        painter.setPen(self.palette().text().color())
        font = painter.font()
        font.setPointSize(7)
        painter.setFont(font)
        painter.drawText(QRectF(0, height, width, 12), Qt.AlignmentFlag.AlignLeft, f"{lo:.4g}")
        painter.drawText(QRectF(0, height, width, 12), Qt.AlignmentFlag.AlignRight, f"{hi:.4g}")
        painter.end()


def _values(values) -> np.ndarray:
    """Distinct threshold values to draw (NaN, the threshold of a blank plane, is not drawn)."""
    flat = np.ravel(np.asarray(values, dtype=float))
    return np.unique(flat[~np.isnan(flat)])
