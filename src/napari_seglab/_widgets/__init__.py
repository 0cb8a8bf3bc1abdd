"""SegLab's napari widgets: one per module, each a thin shell over :mod:`napari_seglab.core`."""
