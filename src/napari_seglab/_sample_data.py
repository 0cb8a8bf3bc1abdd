"""The KESM vessel tile and its ground truth, shipped as sample data (MIT, see data/)."""

from __future__ import annotations

from importlib.resources import files

import numpy as np

__all__ = ["kesm_sample", "load_kesm"]


def load_kesm() -> tuple[np.ndarray, np.ndarray]:
    """Load the KESM mouse-brain vessel tile and its hand-traced ground truth.

    Returns
    -------
    image : numpy.ndarray of uint8, shape (512, 512)
        India-ink stained tissue; vessels are dark.
    ground_truth : numpy.ndarray of uint8, shape (512, 512)
        1 = vessel, 0 = tissue.

    Examples
    --------
    >>> image, truth = load_kesm()
    >>> image.shape, int(truth.max())
    ((512, 512), 1)
    """
    import imageio.v3 as iio

    data = files("napari_seglab") / "data"
    image = iio.imread(data / "kesm_grayscale.png")
    truth = (iio.imread(data / "kesm_groundtruth.png") > 0).astype(np.uint8)
    return image, truth


def kesm_sample() -> list[tuple]:
    """napari sample-data hook: the tile as an Image layer and its ground truth as Labels."""
    image, truth = load_kesm()
    credit = "KESM tile, MIT license (kiteco/kite-python-blog-post-code); data credit 3Scan"
    return [
        (image, {"name": "KESM vessels", "metadata": {"source": credit}}, "image"),
        (truth, {"name": "KESM ground truth", "opacity": 0.5, "visible": False}, "labels"),
    ]
