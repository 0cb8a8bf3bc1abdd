"""Every widget of the manifest opens through napari's own plugin machinery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from magicgui.widgets import Widget
from npe2 import PluginManifest

MANIFEST = PluginManifest.from_file(Path(__file__).resolve().parents[2] / "napari.yaml")
WIDGETS = [w.display_name for w in MANIFEST.contributions.widgets]


def test_every_widget_command_is_in_a_menu():
    in_menus = {item.command for items in MANIFEST.contributions.menus.values() for item in items}
    assert {w.command for w in MANIFEST.contributions.widgets} <= in_menus


@pytest.mark.parametrize("name", WIDGETS)
def test_widget_opens_from_the_plugin_menu(kesm_viewer, name):
    dock, widget = kesm_viewer.window.add_plugin_dock_widget("napari-seglab", name)
    assert isinstance(widget, Widget) and name in dock.name
    widget.reset_choices()  # what napari does when layers change: must not fail
    kesm_viewer.layers.remove("KESM ground truth")
    widget.reset_choices()


def test_an_image_output_of_three_values_per_pixel_is_not_taken_for_rgb(kesm_viewer):
    from napari_seglab._widgets._shared import show_output

    like = kesm_viewer.layers["KESM vessels"]
    values = np.zeros((*like.data.shape, 3), np.float32)
    layer = show_output(kesm_viewer, values, name="three", like=like, role="test", kind="image")
    assert not layer.rgb and layer.ndim == 3
    again = show_output(
        kesm_viewer, values + 1, name="three", like=like, role="test", kind="image"
    )
    assert again is layer and layer.data.max() == 1


def test_an_output_keeps_its_label_colours_unless_they_change(kesm_viewer):
    from napari_seglab._widgets._shared import show_output

    like = kesm_viewer.layers["KESM vessels"]
    plane = np.zeros(like.data.shape, np.uint8)
    options = {"name": "classes", "like": like, "role": "test"}
    layer = show_output(kesm_viewer, plane, colors={1: "red", 2: "cyan"}, **options)
    colormap = layer.colormap
    plane[:5] = 2
    show_output(kesm_viewer, plane, colors={1: "red", 2: "cyan"}, **options)
    assert layer.colormap is colormap  # the same colours: not set again (it is slow)
    assert layer.data[0, 0] == 2
    show_output(kesm_viewer, plane, colors={1: "red", 2: "yellow"}, **options)
    np.testing.assert_allclose(layer.colormap.color_dict[2], [1, 1, 0, 1])
