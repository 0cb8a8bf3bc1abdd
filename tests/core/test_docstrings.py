"""The examples in every module's docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import napari_seglab

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(napari_seglab.__path__, "napari_seglab.")
    if not info.name.startswith("napari_seglab._widgets") and not info.name.endswith(".__main__")
)


def test_every_core_module_is_collected():
    assert {"napari_seglab.core.threshold._lazy", "napari_seglab.core._blocks"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0
