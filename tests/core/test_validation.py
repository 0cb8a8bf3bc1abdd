"""Input checks speak plainly: values as a user typed them, never numpy reprs."""

from __future__ import annotations

import numpy as np
import pytest

import napari_seglab as sl


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32])
def test_constant_image_message_shows_the_plain_value(dtype):
    with pytest.raises(sl.SegLabInputError, match=r"every pixel is 216(\.0)?\)") as err:
        sl.threshold(np.full((8, 8), 216, dtype))
    assert "np." not in str(err.value)
