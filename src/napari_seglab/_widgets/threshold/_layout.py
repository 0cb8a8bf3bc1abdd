"""A dock that fits a laptop screen: the controls in a scroll area napari keeps.

napari docks a magicgui widget's ``native`` Qt widget, so magicgui's own
``Container(scrollable=True)`` (whose scroll area is not ``native``) loses its scroll area in
a dock. :func:`scroll_body` puts a container's body into a scroll area inside the widget
napari docks instead; the body stays a magicgui child (napari's ``reset_choices`` reaches it).
"""

from __future__ import annotations

from magicgui.widgets import Container
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFrame, QScrollArea

__all__ = ["scroll_body"]


def scroll_body(outer: Container, body: Container) -> QScrollArea:
    """Show `body` (a child of `outer`) in a vertical scroll area filling `outer`.

    The scroll area is as wide as the body needs (no horizontal scrolling) and scrolls
    vertically only when the dock is shorter than the body.
    """
    body.native.layout().addStretch(1)  # controls packed at the top of a tall dock
    layout = outer.native.layout()
    layout.removeWidget(body.native)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(body.native)
    bar = scroll.verticalScrollBar().sizeHint().width()
    scroll.setMinimumWidth(body.native.minimumSizeHint().width() + bar)
    layout.addWidget(scroll)
    outer.margins = (0, 0, 0, 0)
    return scroll
