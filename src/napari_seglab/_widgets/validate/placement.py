"""Whether a prediction and its ground truth overlay in the viewer (the panels warn if not).

Validate compares two layers of one shape pixel by pixel, whatever their ``scale`` or
``translate``: a ground truth opened from a PNG without the image's pixel size is the usual
case, and napari has no control to change a layer's scale. Layers that do not overlay are
compared all the same, with a warning that says what differs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["overlay_warning", "placement_differences"]

_SHOWN = ("scale", "translate")  # what differs is given with its values
_NAMED = {"rotate": "rotation", "shear": "shear", "affine": "affine transform"}


def _placement(layer: Any, key: str) -> np.ndarray:
    value = layer.affine.affine_matrix if key == "affine" else getattr(layer, key)
    return np.asarray(value, dtype=float)


def _values(values: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"


def placement_differences(layer: Any, other: Any) -> str:
    """How `layer` and `other` (napari layers of one shape) are placed differently.

    Parameters
    ----------
    layer, other : napari.layers.Layer
        Two layers with the same number of dimensions.

    Returns
    -------
    str
        E.g. ``"scale (0.5, 0.5) against (1, 1), translate (3, 4) against (0, 0)"``
        (`layer`'s values first); empty if they overlay in the viewer.

    Examples
    --------
    >>> import numpy as np, napari.layers
    >>> data = np.zeros((4, 4), np.uint8)
    >>> a = napari.layers.Labels(data, scale=(0.5, 0.5))
    >>> placement_differences(a, napari.layers.Labels(data))
    'scale (0.5, 0.5) against (1, 1)'
    """
    differences = []
    for key in (*_SHOWN, *_NAMED):
        mine, theirs = _placement(layer, key), _placement(other, key)
        if mine.shape == theirs.shape and np.allclose(mine, theirs):
            continue
        if key in _SHOWN:
            differences.append(f"{key} {_values(mine)} against {_values(theirs)}")
        else:
            differences.append(f"{_NAMED[key]} differs")
    return ", ".join(differences)


def overlay_warning(predictions: list[Any], truth: Any) -> str:
    """The warning for the `predictions` (layers) that do not overlay the `truth` layer.

    Returns
    -------
    str
        One message naming each such prediction, the ground truth and what differs, and
        what to do; empty if every prediction overlays the ground truth.
    """
    differences = {p.name: placement_differences(p, truth) for p in predictions}
    named = [f"{name!r} ({what})" for name, what in differences.items() if what]
    if not named:
        return ""
    first = next(name for name, what in differences.items() if what)
    they = "It is" if len(named) == 1 else "They are"
    verb = "does" if len(named) == 1 else "do"
    return (
        f"{', '.join(named)} {verb} not overlay the ground truth {truth.name!r} in the viewer "
        f"(the prediction's value first). {they} compared pixel by pixel all the same (pixel "
        "[i, j] with pixel [i, j]). If they are the same pixels, give the ground truth the "
        "prediction's scale and translate to see them overlaid (napari console: "
        f"viewer.layers[{truth.name!r}].scale = viewer.layers[{first!r}].scale, and the same "
        "for translate); if not, resample one onto the other first."
    )
