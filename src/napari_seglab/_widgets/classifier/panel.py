"""The classifier panel's layout: open sections, folded ones, in a vertical scroll area."""

from __future__ import annotations

from typing import Any

from magicgui.widgets import Container

__all__ = ["build_panel"]


def build_panel(parent: Any, sections: list) -> list[Container]:
    """Lay the sections out in a scroll area in `parent`: open ones, then folded ones.

    Folded, the panel fits a 1366 x 768 screen; unfolded, it scrolls (up and down only), so
    every control stays reachable.
    """
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QScrollArea, QVBoxLayout, QWidget
    from superqt import QCollapsible

    content = QWidget()
    layout = QVBoxLayout(content)
    layout.setContentsMargins(0, 0, 0, 0)
    built = []
    for title, widgets in sections:
        section = Container(widgets=widgets, labels=True)
        if title is None:
            layout.addWidget(section.native)
        else:
            fold = QCollapsible(title, content)
            fold.addWidget(section.native)
            fold.layout().setSpacing(0)
            fold.layout().setContentsMargins(0, 0, 0, 0)
            fold.collapse(animate=False)
            layout.addWidget(fold)
        built.append(section)
    layout.addStretch()
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(content)
    bar = scroll.verticalScrollBar().sizeHint().width()
    scroll.setMinimumWidth(content.minimumSizeHint().width() + bar + 4)
    parent.layout().setContentsMargins(0, 0, 0, 0)
    parent.layout().addWidget(scroll)
    return built
