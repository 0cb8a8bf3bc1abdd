"""The part of a plane on screen, from napari's camera, canvas and the layer's geometry."""

from __future__ import annotations

import numpy as np
from napari.components import ViewerModel

from napari_seglab._widgets.classifier.view import ViewRegion, region_in_view, view_region


def test_whole_plane_at_unit_geometry_and_screen_step():
    # 2048 data pixels over 1000 screen pixels: about 2 per screen pixel, all visible
    view = view_region(
        center=(1023.5, 1023.5), zoom=1000 / 2100, canvas_size=(1000, 1000), shape=(2048, 2048)
    )
    assert view == ViewRegion(slice(0, 2048), slice(0, 2048), 2)


def test_zoom_narrows_the_region_around_the_centre():
    # 4 screen pixels per data pixel: a 1000 x 600 canvas shows 250 x 150 data pixels around
    # the centre pixel (500, 300), and a pixel partly on screen counts (pixel i covers
    # i - 0.5 to i + 0.5)
    view = view_region(center=(500, 300), zoom=4.0, canvas_size=(1000, 600), shape=(2048, 2048))
    assert (view.rows, view.cols, view.step) == (slice(375, 626), slice(225, 376), 1)
    half = view_region(center=(500, 300), zoom=8.0, canvas_size=(1000, 600), shape=(2048, 2048))
    assert (half.rows, half.cols) == (slice(438, 563), slice(263, 338))


def test_scale_and_translate_map_world_to_data_pixels():
    # world = data * scale + translate; the centre (103, 54) is data pixel (50, 100)
    kwargs = {"zoom": 1.0, "canvas_size": (40, 20), "shape": (500, 500)}
    view = view_region(center=(103, 54), scale=(2.0, 0.5), translate=(3.0, 4.0), **kwargs)
    # 40 world units of rows are 20 data rows; 20 world units of columns are 40 columns
    assert (view.rows, view.cols) == (slice(40, 61), slice(80, 121))
    # data pixels per screen pixel: 1 / (zoom * scale) = 0.5 and 2: the finer axis decides
    assert view.step == 1
    coarse = view_region(center=(103, 54), scale=(4.0, 4.0), translate=(3.0, 4.0), **kwargs)
    assert coarse.step == 1
    far = view_region(
        center=(0, 0), zoom=0.1, canvas_size=(100, 100), shape=(500, 500), scale=(2, 2)
    )
    assert far.step == 5 and (far.rows, far.cols) == (slice(0, 251), slice(0, 251))


def test_a_pan_moves_the_region_and_clips_it_to_the_plane():
    kwargs = {"zoom": 2.0, "canvas_size": (200, 200), "shape": (300, 400)}
    start = view_region(center=(150, 200), **kwargs)
    assert (start.rows, start.cols) == (slice(100, 201), slice(150, 251))
    moved = view_region(center=(150 + 30, 200 - 70), **kwargs)
    assert (moved.rows, moved.cols) == (slice(130, 231), slice(80, 181))
    corner = view_region(center=(290, 10), **kwargs)  # partly off the plane
    assert (corner.rows, corner.cols) == (slice(240, 300), slice(0, 61))
    assert view_region(center=(1000, 1000), **kwargs) is None  # nothing of it on screen


def test_region_in_view_of_a_stack_plane_in_a_viewer():
    viewer = ViewerModel()
    stack = np.zeros((5, 400, 600), np.uint8)
    layer = viewer.add_image(stack, scale=(3.0, 0.5, 0.5), translate=(0, 10, 20))
    viewer.canvas.size = (300, 400)
    viewer.dims.set_point(0, 2 * 3.0)  # plane 2 (in world units of the first axis)
    viewer.scene.camera.center = (6.0, 10 + 0.5 * 200, 20 + 0.5 * 300)  # data (200, 300)
    viewer.scene.camera.zoom = 4.0  # 2 screen pixels per data pixel (scale 0.5)
    view = region_in_view(viewer, layer, stack.shape[1:])
    assert (view.rows, view.cols, view.step) == (slice(125, 276), slice(200, 401), 1)
    # another plane of the stack shows the same region of its plane
    viewer.dims.set_point(0, 4 * 3.0)
    assert region_in_view(viewer, layer, stack.shape[1:]) == view
    # a pan along the columns
    viewer.scene.camera.center = (12.0, 10 + 0.5 * 200, 20 + 0.5 * 500)
    panned = region_in_view(viewer, layer, stack.shape[1:])
    assert (panned.rows, panned.cols) == (slice(125, 276), slice(400, 600))
    # a view that is not the plane (other displayed axes, 3D) has no region
    viewer.dims.order = (1, 0, 2)
    assert region_in_view(viewer, layer, stack.shape[1:]) is None
    viewer.dims.order = (0, 1, 2)
    viewer.dims.ndisplay = 3
    assert region_in_view(viewer, layer, stack.shape[1:]) is None
