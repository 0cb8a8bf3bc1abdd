"""A small plot of instance F1 against the IoU threshold (plain Qt: magicgui has no plot)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from qtpy.QtCore import QPointF, QRectF, Qt
from qtpy.QtGui import QColor, QPainter, QPen
from qtpy.QtWidgets import QSizePolicy, QWidget

__all__ = ["F1Plot"]


class F1Plot(QWidget):
    """F1 (0 to 1, vertical) at each IoU threshold (horizontal) of one prediction.

    :meth:`set_data` keeps the points in :attr:`thresholds` and :attr:`f1` (for scripts and
    tests) and :attr:`title` (the prediction's name).
    """

    LINE = QColor("#E69F00")  # Okabe-Ito orange: visible on dark and light themes

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thresholds = np.zeros(0)
        self.f1 = np.zeros(0)
        self.title = ""
        self.setMinimumHeight(80)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Instance F1 against the IoU threshold (0.5 to 0.95) of one prediction")

    def set_data(self, thresholds, f1, title: str = "") -> None:
        """Show `f1` (one value per threshold of `thresholds`) titled `title`."""
        self.thresholds = np.asarray(thresholds, dtype=float)
        self.f1 = np.asarray(f1, dtype=float)
        self.title = title
        self.update()

    def paintEvent(self, event) -> None:
        if self.f1.size == 0:
            return
        painter = QPainter(self)
        text = self.palette().text().color()
        font = painter.font()
        font.setPointSize(7)
        painter.setFont(font)
        left, top, width, height = 22.0, 12.0, self.width() - 30.0, self.height() - 26.0
        lo, hi = self.thresholds.min(), self.thresholds.max()
        span = hi - lo or 1.0
        painter.setPen(QPen(text, 1))
        painter.drawRect(QRectF(left, top, width, height))
        points = [
            QPointF(left + (t - lo) / span * width, top + (1 - f) * height)
            for t, f in zip(self.thresholds, self.f1, strict=True)
        ]
        painter.setPen(QPen(self.LINE, 2))
        for a, b in pairwise(points):
            painter.drawLine(a, b)
        for point in points:
            painter.drawEllipse(point, 2.0, 2.0)
        painter.setPen(text)
        align = Qt.AlignmentFlag
        painter.drawText(QRectF(0, 0, self.width(), top), align.AlignCenter, f"F1: {self.title}")
        painter.drawText(QRectF(0, top - 6, left - 2, 12), align.AlignRight, "1")
        painter.drawText(QRectF(0, top + height - 6, left - 2, 12), align.AlignRight, "0")
        bottom = QRectF(left, top + height, width, 12)
        painter.drawText(bottom, align.AlignLeft, f"IoU {lo:g}")
        painter.drawText(bottom, align.AlignRight, f"{hi:g}")
        painter.end()
