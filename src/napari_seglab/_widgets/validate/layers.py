"""The Validate panel's output layers besides TP / FP / FN / TN: objects, and the earlier ones."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._shared import ROLE_KEY, show_output
from .families import OUTCOME_COLORS

if TYPE_CHECKING:
    import napari

__all__ = ["ROLE", "hide_earlier", "show_objects"]

ROLE = "confusion"  # the ROLE_KEY value of every layer the Validate panel writes


def show_objects(
    viewer: napari.Viewer, prediction_layer, objects: dict, metrics: dict, shown: tuple[str, ...]
) -> list[str]:
    """Write the matched / spurious / missed object layers; return their names.

    A layer made now is hidden; one that the last validation (`shown`) made keeps the
    visibility the user gave it.
    """
    names = []
    for key, mask in objects.items():
        name = f"{prediction_layer.name} {key} objects"
        previous = next((lay for lay in viewer.layers if lay.name == name), None)
        again = previous is not None and name in shown
        show_output(
            viewer,
            mask,
            name=name,
            like=prediction_layer,
            colors={1: OUTCOME_COLORS[key]},
            visible=previous.visible if again else False,
            opacity=0.7,
            role=ROLE,
            metadata={"objects": key, "metrics": metrics},
        )
        names.append(name)
    return names


def hide_earlier(viewer: napari.Viewer, names: list[str]) -> None:
    """Hide SegLab's validation layers of other predictions (a user's layers are left)."""
    for layer in viewer.layers:
        if layer.metadata.get(ROLE_KEY) == ROLE and layer.name not in names:
            layer.visible = False
