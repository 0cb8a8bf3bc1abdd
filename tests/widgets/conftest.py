"""Fixtures for the headless-viewer widget tests."""

from __future__ import annotations

import pytest
from napari.utils.notifications import notification_manager


class Notifications:
    """The napari notifications emitted since the fixture started."""

    def __init__(self) -> None:
        self._start = len(notification_manager.records)

    def errors(self) -> list[str]:
        return [
            str(n.message)
            for n in notification_manager.records[self._start :]
            if str(n.severity) == "error"
        ]


@pytest.fixture
def notifications() -> Notifications:
    return Notifications()


@pytest.fixture
def kesm_viewer(make_napari_viewer):
    """A viewer with the KESM sample (image and ground truth) open."""
    viewer = make_napari_viewer()
    viewer.open_sample("napari-seglab", "kesm")
    return viewer


@pytest.fixture
def wait(qtbot):
    """``wait(widget)``: until the widget's worker has finished and its result is applied."""

    def wait_for(widget, timeout: int = 30_000) -> None:
        qtbot.waitUntil(lambda: not widget.busy, timeout=timeout)

    return wait_for
