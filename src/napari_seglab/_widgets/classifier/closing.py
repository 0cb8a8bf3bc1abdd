"""Noticing that the classifier panel was closed.

napari's close button on a dock widget (``viewer.window.remove_dock_widget``) takes the panel
out of its dock and deletes the dock, but leaves the panel's own Qt widgets alive, with no
parent: they are never destroyed, so their ``destroyed`` signal never comes. A panel that waited
for it went on training on each stroke after it was closed, and at exit PyQt's clean-up of the
orphaned widgets crashed Python (a segmentation fault on quit, in about half of the runs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QEvent, QObject

__all__ = ["when_undocked"]


class _Undocked(QObject):
    """Event filter of `widget`: calls `callback` when it loses the parent it was given."""

    def __init__(self, widget: Any, callback: Callable[[], None]) -> None:
        super().__init__(widget)  # deleted with the widget
        self._callback = callback
        self._docked = widget.parent() is not None
        widget.installEventFilter(self)

    def eventFilter(self, watched: Any, event: Any) -> bool:
        if event.type() == QEvent.Type.ParentChange:
            if watched.parent() is not None:
                self._docked = True
            elif self._docked:
                self._docked = False
                self._callback()
        return False


def when_undocked(widget: Any, callback: Callable[[], None]) -> None:
    """Call `callback` each time `widget` is taken out of the window it was placed in.

    Parameters
    ----------
    widget : QWidget
        The panel napari docks (a magicgui widget's ``native``).
    callback : callable
        Called with no argument once the widget, placed in a dock, is left without a parent
        (napari's close button, ``viewer.window.remove_dock_widget``); a widget never docked
        does not call it.
    """
    _Undocked(widget, callback)
