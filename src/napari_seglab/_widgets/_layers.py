"""Layer plumbing shared by the widgets: geometry copied from the input, label colours."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import napari.layers
    from napari.utils.colormaps import DirectLabelColormap

__all__ = ["geometry_of", "label_colormap"]


def geometry_of(layer: napari.layers.Layer, *, ndim: int | None = None) -> dict:
    """Keyword arguments that place a new layer exactly over `layer`.

    Parameters
    ----------
    layer : napari.layers.Layer
        The input layer.
    ndim : int, optional
        Dimensions of the new layer's data when it has fewer than the input (an RGB image
        gives a 2D mask): the last `ndim` axes are kept. Default: the layer's own.

    Returns
    -------
    dict
        ``scale``, ``translate``, ``units`` and ``axis_labels`` for a layer constructor or a
        LayerDataTuple's metadata.
    """
    n = layer.ndim if ndim is None else ndim
    return {
        "scale": tuple(layer.scale[-n:]),
        "translate": tuple(layer.translate[-n:]),
        "units": tuple(str(u) for u in layer.units[-n:]),
        "axis_labels": tuple(layer.axis_labels[-n:]),
    }


def label_colormap(colors: dict[int, str]) -> DirectLabelColormap:
    """A categorical colormap: label -> colour name or hex; 0 stays transparent."""
    from napari.utils.colormaps import DirectLabelColormap

    return DirectLabelColormap(color_dict={None: "transparent", 0: "transparent", **colors})
