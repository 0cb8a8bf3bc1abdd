"""Fixtures of the core tests: a volume whose objects cross many chunk borders."""

from __future__ import annotations

from collections.abc import Callable

import dask.array as da
import numpy as np
import pytest
from scipy import ndimage as ndi

SHAPE = (3, 130, 170)
CHUNKS = (1, 32, 40)


@pytest.fixture(scope="session")
def volume() -> np.ndarray:
    """Smooth blobs plus noise: objects of every size, many crossing chunk borders."""
    rng = np.random.default_rng(0)
    smooth = ndi.gaussian_filter(rng.normal(size=SHAPE), (0.5, 4, 4))
    img = 120 + 900 * smooth + rng.normal(0, 12, SHAPE)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def mask(volume) -> np.ndarray:
    return (volume > 140).astype(np.uint8)


@pytest.fixture(scope="session")
def lazy() -> Callable[..., da.Array]:
    """``lazy(array, chunks=CHUNKS)``: the array as a dask array of small chunks."""

    def make(arr: np.ndarray, chunks=CHUNKS) -> da.Array:
        return da.from_array(arr, chunks=chunks)

    return make


def test_fixture_has_objects_across_chunk_borders(mask):
    labels, n = ndi.label(mask[0])
    crossing = {int(v) for v in np.unique(labels[31:33, :]) if v} & {
        int(v) for v in np.unique(labels[:, 39:41]) if v
    }
    assert n > 50 and crossing
