"""napari widgets: thin shells over :mod:`napari_seglab.core`, one per file."""
