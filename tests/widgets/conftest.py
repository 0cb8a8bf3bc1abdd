"""Fixtures for the headless-viewer widget tests."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
from classifier_helpers import wait_idle
from napari.utils.notifications import notification_manager

import napari_seglab
from napari_seglab._widgets.classifier import ClassifierWidget


class Notifications:
    """The napari notifications emitted since the fixture started."""

    def __init__(self) -> None:
        self._start = len(notification_manager.records)

    def of(self, severity: str) -> list[str]:
        """The messages of that severity ("error", "warning", "info")."""
        return [
            str(n.message)
            for n in notification_manager.records[self._start :]
            if str(n.severity) == severity
        ]

    def errors(self) -> list[str]:
        return self.of("error")

    def warnings(self) -> list[str]:
        return self.of("warning")


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


@pytest.fixture(scope="module")
def kesm_tile(shared_data):
    """The KESM tile (vessels dark, 512 x 512) and its ground truth, from ../shared/data."""
    folder = shared_data / "kesm-vessels"
    image = iio.imread(folder / "grayscale.png")
    truth = (iio.imread(folder / "groundtruth.png") > 0).astype(np.uint8)
    return (image if image.ndim == 2 else image[..., 0]), truth


@pytest.fixture
def errors(notifications):
    """``errors()``: the error messages napari has shown since the test started."""
    return notifications.errors


@pytest.fixture
def new_widget(qtbot, make_napari_viewer):
    """ClassifierWidget factory; at teardown, runs still going are cancelled and awaited."""
    widgets: list[ClassifierWidget] = []

    def make(viewer) -> ClassifierWidget:
        widgets.append(ClassifierWidget(viewer))
        return widgets[-1]

    yield make
    for widget in widgets:
        widget.controls.live.value = False
        widget.cancel()
        wait_idle(qtbot, widget)


@pytest.fixture
def kesm(make_napari_viewer, new_widget):
    """A viewer with the KESM sample (scaled, shifted) and a docked classifier widget on it."""
    image, truth = napari_seglab.load_kesm()
    viewer = make_napari_viewer()
    layer = viewer.add_image(image, name="KESM", scale=(0.5, 0.5), translate=(3, 4))
    widget = new_widget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.controls.image.value = layer
    return viewer, widget, layer, truth
