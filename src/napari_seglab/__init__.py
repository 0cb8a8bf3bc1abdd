"""napari-seglab: threshold, classify, clean up and validate microscopy segmentations.

Everything a widget does is available here as a plain function, for the napari console,
notebooks and scripts:

>>> import napari_seglab as sl
>>> image, ground_truth = sl.load_kesm()
>>> result = sl.threshold(image, "otsu", foreground="dark", median_size=3)
>>> round(sl.evaluate(result.mask, ground_truth).scores.f1, 4)
0.8493
"""

from ._sample_data import load_kesm
from .core import *  # noqa: F403
from .core import __all__ as _core_all

__version__ = "0.1.0"
__all__ = [*_core_all, "load_kesm"]
