"""The pixel classifier in napari: a Qt-free session, its background jobs, and the widget.

:class:`~.session.ClassifierSession` holds the state (scripts and tests drive it directly,
without Qt), :mod:`.jobs` runs off the GUI thread, and :class:`~.widget.ClassifierWidget`
wires napari's controls and layers to them. The widget (hence Qt) is imported only when asked
for, so that ``from napari_seglab._widgets.classifier import ClassifierSession`` stays Qt-free.
"""

from typing import Any

from .plans import Scope
from .session import ClassifierSession

__all__ = ["ClassifierSession", "ClassifierWidget", "Scope"]


def __getattr__(name: str) -> Any:
    if name == "ClassifierWidget":
        from .widget import ClassifierWidget

        return ClassifierWidget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
