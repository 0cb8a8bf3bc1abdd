"""The examples in the public docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "napari_seglab",
    "napari_seglab._sample_data",
    "napari_seglab.core._checks",
    "napari_seglab.core.classifier",
    "napari_seglab.core.cleanup",
    "napari_seglab.core.metrics",
    "napari_seglab.core.threshold",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0
    assert failures == 0
