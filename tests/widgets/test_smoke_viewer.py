import numpy as np


def test_sample_data_opens_in_viewer(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample("napari-seglab", "kesm")
    assert [layer.name for layer in viewer.layers] == ["KESM vessels", "KESM ground truth"]
    assert viewer.layers["KESM ground truth"].data.max() == 1
    shot = viewer.screenshot(canvas_only=True)
    assert shot.ndim == 3 and np.ptp(shot) > 0
