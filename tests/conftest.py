"""Test set-up: real data from ../shared, and a Qt platform that works without a screen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_configure(config):
    # pytest-xvfb has started a virtual X server (and set DISPLAY) when Xvfb is installed;
    # without one, Qt still runs headless with the offscreen platform.
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real images with expert ground truth (see its README)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"The shared data folder {SHARED_DATA} is missing; clone next to shared/.")
    return SHARED_DATA
