import dask.array as da
import numpy as np
import pytest

from napari_seglab import Foreground, ThresholdMethod, clean_up, load_kesm, threshold
from napari_seglab._widgets.threshold import ThresholdWidget


@pytest.fixture
def widget(kesm_viewer):
    _, widget = kesm_viewer.window.add_plugin_dock_widget("napari-seglab", "Threshold")
    return widget


def test_kesm_dark_median3_otsu(kesm_viewer, widget, wait):
    image = kesm_viewer.layers["KESM vessels"]
    before = image.data.copy()
    widget.image.value = image
    widget.foreground.value = Foreground.DARK
    widget.median_size.value = 3
    widget.method.value = ThresholdMethod.OTSU
    widget.run_button.native.click()
    wait(widget)

    layer = kesm_viewer.layers["KESM vessels otsu"]
    assert layer.data.dtype == np.uint8
    assert set(np.unique(layer.data)) == {0, 1}
    assert int(layer.data.sum()) == 5595 + 122  # TP + FP of the published result
    assert layer.metadata["threshold"] == 175
    assert "175" in widget.summary.value
    assert list(widget.histogram.thresholds) == [175]
    assert widget.histogram.counts.sum() == image.data.size
    np.testing.assert_array_equal(image.data, before)

    # re-running updates the same layer instead of adding one
    n_layers = len(kesm_viewer.layers)
    widget.median_size.value = 0
    widget.run()
    wait(widget)
    assert len(kesm_viewer.layers) == n_layers
    assert kesm_viewer.layers["KESM vessels otsu"] is layer
    expected = threshold(before, "otsu", foreground="dark").mask
    np.testing.assert_array_equal(layer.data, expected)


def test_output_keeps_geometry(make_napari_viewer, wait):
    viewer = make_napari_viewer()
    image, _ = load_kesm()
    stack = np.stack([image, image // 2, image // 3])
    layer = viewer.add_image(
        stack, name="stack", scale=(2.0, 0.5, 0.5), translate=(1, 10, 20), units="um"
    )
    layer.axis_labels = ("z", "y", "x")
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Threshold")
    widget.image.value = layer
    widget.per_plane.value = True
    widget.run()
    wait(widget)
    out = viewer.layers["stack otsu"]
    assert out.data.shape == stack.shape
    assert tuple(out.scale) == (2.0, 0.5, 0.5)
    assert tuple(out.translate) == (1, 10, 20)
    assert tuple(str(u) for u in out.units) == ("micrometer",) * 3
    assert tuple(out.axis_labels) == ("z", "y", "x")
    values = out.metadata["threshold"]
    assert values.shape == (3,)
    assert values[0] > values[1] > values[2]  # one threshold per plane, following brightness
    assert "3 planes" in widget.summary.value


def test_rgb_channel_and_visibility(make_napari_viewer, wait):
    viewer = make_napari_viewer()
    image, _ = load_kesm()
    rgb = np.zeros((*image.shape, 3), np.uint8)
    rgb[..., 1] = image
    layer = viewer.add_image(rgb, name="colour", rgb=True)
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Threshold")
    widget.image.value = layer
    assert not widget.colour.native.isHidden() and widget.per_plane.native.isHidden()
    widget.colour.value = 1  # green
    widget.foreground.value = Foreground.DARK
    widget.run()
    wait(widget)
    out = viewer.layers["colour otsu"]
    assert out.data.shape == image.shape
    np.testing.assert_array_equal(out.data, threshold(image, "otsu", foreground="dark").mask)
    # luminance of an 8-bit RGB image lies in [0, 1]: the manual value follows
    widget.colour.value = None
    widget.method.value = ThresholdMethod.MANUAL
    assert 0 < widget.value.value < 1


RELEVANT_OPTIONS = {
    "manual": (["value"], ["classes", "block_size", "window_size"]),
    "multi_otsu": (["classes", "boundary"], ["value", "offset", "k"]),
    "local_mean": (["block_size", "offset"], ["value", "classes", "window_size"]),
    "sauvola": (["window_size", "k"], ["value", "block_size", "boundary"]),
    "otsu": ([], ["value", "classes", "boundary", "block_size", "offset", "k"]),
}


def test_only_relevant_options_are_visible(widget):
    for method, (visible, hidden) in RELEVANT_OPTIONS.items():
        widget.method.value = ThresholdMethod(method)
        for name in visible:
            assert not getattr(widget, name).native.isHidden(), (method, name)
        for name in hidden:
            assert getattr(widget, name).native.isHidden(), (method, name)


@pytest.mark.parametrize(
    ("method", "options"),
    [
        ("manual", {"value": 150}),
        ("multi_otsu", {"classes": 3, "boundary": 2}),
        ("local_mean", {"block_size": 51, "offset": 5}),
        ("niblack", {"window_size": 25, "k": 0.3}),
    ],
)
def test_method_options_reach_core(kesm_viewer, widget, wait, method, options):
    widget.image.value = kesm_viewer.layers["KESM vessels"]
    widget.method.value = ThresholdMethod(method)
    for name, value in options.items():
        getattr(widget, name).value = value
    widget.run()
    wait(widget)
    expected = threshold(kesm_viewer.layers["KESM vessels"].data, method, **options)
    np.testing.assert_array_equal(kesm_viewer.layers[f"KESM vessels {method}"].data, expected.mask)


def test_clean_up_post_step(kesm_viewer, widget, wait):
    widget.image.value = kesm_viewer.layers["KESM vessels"]
    widget.foreground.value = Foreground.DARK
    widget.remove_smaller_than.value = 30
    widget.fill_holes_smaller_than.value = 30
    widget.run()
    wait(widget)
    from napari_seglab import clean_up

    raw = threshold(kesm_viewer.layers["KESM vessels"].data, "otsu", foreground="dark").mask
    expected = clean_up(raw, remove_smaller_than=30, fill_holes_smaller_than=30)
    layer = kesm_viewer.layers["KESM vessels otsu"]
    np.testing.assert_array_equal(layer.data, expected)
    assert layer.metadata["clean_up"] == {
        "remove_smaller_than": 30,
        "fill_holes_smaller_than": 30,
    }


def test_try_all_ranks_methods_against_ground_truth(kesm_viewer, widget, wait):
    image = kesm_viewer.layers["KESM vessels"]
    truth = kesm_viewer.layers["KESM ground truth"]
    truth_before = truth.data.copy()
    widget.image.value = image
    widget.foreground.value = Foreground.DARK
    widget.median_size.value = 3
    widget.ground_truth.value = truth
    widget.try_all_button.native.click()
    wait(widget)

    table = widget.table
    methods = table["method"]
    mcc = dict(zip(methods, table["MCC"], strict=True))
    assert methods[0] == "Yen"
    assert mcc["Yen"] == "0.8772" and mcc["Otsu"] == "0.8534"
    assert methods.index("Yen") < methods.index("Otsu")
    assert table["note"][0] == "best"
    np.testing.assert_array_equal(truth.data, truth_before)

    stack = kesm_viewer.layers["KESM vessels try-all"]
    assert stack.data.shape == (len(stack.metadata["methods"]), 512, 512)
    assert stack.metadata["methods"][0] == "yen"
    assert stack.axis_labels[0] == "method"

    # selecting a row shows that method's plane
    otsu_row = methods.index("Otsu")
    table.native.selectRow(otsu_row)
    assert table.selected_row == otsu_row
    plane = stack.metadata["methods"].index("otsu")
    assert kesm_viewer.dims.current_step[0] == plane
    assert list(widget.histogram.highlight) == [175]  # Otsu's threshold, among all eight
    assert len(widget.histogram.thresholds) == len(set(stack.metadata["thresholds"]))

    # double-click a row: it becomes the current result, as if run alone
    table.native.cellDoubleClicked.emit(otsu_row, 0)
    wait(widget)  # the clean-up options are applied off the GUI thread
    assert widget.method.value is ThresholdMethod.OTSU
    assert int(kesm_viewer.layers["KESM vessels otsu"].data.sum()) == 5595 + 122

    # the button uses the best method (row 0 after selecting it)
    table.native.selectRow(0)
    n_layers = len(kesm_viewer.layers)
    widget.use_button.native.click()
    wait(widget)
    assert len(kesm_viewer.layers) == n_layers + 1
    yen = threshold(image.data, "yen", foreground="dark", median_size=3).mask
    np.testing.assert_array_equal(kesm_viewer.layers["KESM vessels yen"].data, yen)

    # running try-all again updates the same layer
    widget.try_all()
    wait(widget)
    assert kesm_viewer.layers["KESM vessels try-all"] is stack
    assert len(kesm_viewer.layers) == n_layers + 1


def test_failing_method_shows_its_reason(make_napari_viewer, wait, notifications):
    viewer = make_napari_viewer()
    flat_histogram = np.tile(np.arange(256, dtype=np.uint8), (64, 1))  # a ramp: no two peaks
    viewer.add_image(flat_histogram, name="noise")
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Threshold")
    widget.try_all()
    wait(widget)
    table = widget.table
    rows = {name: r for r, name in enumerate(table["method"])}
    assert len(rows) == 8
    note = table["note"][rows["Minimum"]]
    assert "minimum" in note and "cannot threshold" in note
    assert table["threshold"][rows["Otsu"]] != ""
    assert "minimum" not in viewer.layers["noise try-all"].metadata["methods"]

    n_layers = len(viewer.layers)
    widget.use_method("minimum")
    assert len(viewer.layers) == n_layers
    assert "Minimum failed" in notifications.errors()[-1]


def test_lazy_layer_previews_the_plane_in_view(make_napari_viewer, wait):
    viewer = make_napari_viewer()
    image, _ = load_kesm()
    volume = np.stack([image, np.flipud(image), np.fliplr(image)])
    layer = viewer.add_image(da.from_array(volume, chunks=(1, 512, 512)), name="lazy")
    viewer.dims.set_current_step(0, 2)
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Threshold")
    widget.image.value = layer
    widget.run()
    wait(widget)
    out = viewer.layers["lazy otsu"]
    # the preview has the stack's dimensions: drawn on its own plane only (not on every one)
    assert out.data.shape == volume.shape
    np.testing.assert_array_equal(out.data[2], threshold(volume[2], "otsu").mask)
    assert not np.asarray(out.data[0]).any() and not np.asarray(out.data[1]).any()
    assert "plane (2,)" in widget.summary.value

    # another plane: filled in the same layer, the first one kept
    viewer.dims.set_current_step(0, 0)
    widget.run()
    wait(widget)
    assert viewer.layers["lazy otsu"] is out
    np.testing.assert_array_equal(out.data[0], threshold(volume[0], "otsu").mask)
    np.testing.assert_array_equal(out.data[2], threshold(volume[2], "otsu").mask)

    # try all: one plane per method, over the stack's plane in view
    widget.try_all()
    wait(widget)
    stack = viewer.layers["lazy try-all"]
    n = len(stack.metadata["methods"])
    assert stack.data.shape == (n, *volume.shape)
    np.testing.assert_array_equal(stack.data[0, 0], threshold(volume[0], "otsu").mask)
    assert not np.asarray(stack.data[:, 1]).any()


def test_cancel_stops_try_all(make_napari_viewer, qtbot, wait):
    viewer = make_napari_viewer()
    rng = np.random.default_rng(1)
    viewer.add_image(rng.normal(size=(2048, 2048)), name="big")
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Threshold")
    worker = widget.try_all()
    with qtbot.waitSignal(worker.aborted, timeout=30_000):
        widget.cancel_button.native.click()
    wait(widget)
    assert "big try-all" not in viewer.layers
    assert widget.try_all_result is None and widget.table.shape[0] == 0
    assert widget.run_button.enabled


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (np.full((32, 32), 7, np.uint8), "constant"),
        (np.where(np.eye(32) > 0, np.nan, 1.0), "NaN"),
    ],
)
def test_bad_image_gives_notification_and_changes_nothing(
    make_napari_viewer, wait, notifications, data, message
):
    viewer = make_napari_viewer()
    viewer.add_image(data, name="bad")
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Threshold")
    widget.run()
    wait(widget)
    assert [layer.name for layer in viewer.layers] == ["bad"]
    assert message in notifications.errors()[-1]
    assert widget.result is None


def test_no_image_and_mismatched_truth(kesm_viewer, make_napari_viewer, notifications):
    empty = make_napari_viewer()
    _, widget = empty.window.add_plugin_dock_widget("napari-seglab", "Threshold")
    assert widget.run() is None and widget.try_all() is None
    assert "Choose an image layer" in notifications.errors()[-1]
    assert len(empty.layers) == 0

    kesm_viewer.add_labels(np.zeros((100, 100), np.uint8), name="small truth")
    _, widget = kesm_viewer.window.add_plugin_dock_widget("napari-seglab", "Threshold")
    widget.image.value = kesm_viewer.layers["KESM vessels"]
    widget.ground_truth.value = kesm_viewer.layers["small truth"]
    n_layers = len(kesm_viewer.layers)
    assert widget.try_all() is None
    assert "shape" in notifications.errors()[-1]
    assert len(kesm_viewer.layers) == n_layers


def test_widget_without_dock(kesm_viewer):
    widget = ThresholdWidget(kesm_viewer)
    assert widget.image.value is kesm_viewer.layers["KESM vessels"]
    widget.foreground.value = Foreground.DARK
    widget.median_size.value = 3
    assert widget.run(block=True) is None
    assert widget.result.value == 175


def test_a_users_layer_with_the_output_name_is_left_alone(kesm_viewer, widget, wait):
    mine = kesm_viewer.add_image(np.ones((4, 4)), name="KESM vessels otsu")
    widget.image.value = kesm_viewer.layers["KESM vessels"]
    widget.run()
    wait(widget)
    assert kesm_viewer.layers["KESM vessels otsu"] is mine
    np.testing.assert_array_equal(mine.data, np.ones((4, 4)))
    assert kesm_viewer.layers["KESM vessels otsu [1]"].data.shape == (512, 512)


def test_layer_lists_follow_the_viewer(kesm_viewer, widget):
    # napari's own reset_choices wiring keeps the magicgui layer lists current
    assert [layer.name for layer in widget.image.choices] == ["KESM vessels"]
    added = kesm_viewer.add_image(np.zeros((8, 8)), name="new image")
    assert added in widget.image.choices and added in widget.ground_truth.choices
    kesm_viewer.layers.remove(added)
    assert added not in widget.image.choices


def _kesm_rgb(viewer):
    image, _ = load_kesm()
    rgb = np.stack([image, image // 2, 255 - image], axis=-1)
    return viewer.add_image(rgb, name="colour", rgb=True)


def test_try_all_table_is_cleared_when_a_setting_changes(make_napari_viewer, wait):
    viewer = make_napari_viewer()
    layer = _kesm_rgb(viewer)
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Threshold")
    widget.image.value = layer
    changes = [
        ("colour", 2),  # luminance -> blue
        ("median_size", 3),
        ("foreground", Foreground.DARK),
        ("classes", 4),
    ]
    for name, value in changes:
        widget.try_all()
        wait(widget)
        assert widget.table.shape[0] == 8 and widget.use_button.enabled
        getattr(widget, name).value = value
        assert widget.table.shape[0] == 0 and widget.try_all_result is None, name
        assert not widget.use_button.enabled and "Try all" in widget.summary.value
    # a change while Try all runs: its result is dropped, not shown as if current
    widget.try_all()
    widget.colour.value = 0
    wait(widget)
    assert widget.try_all_result is None and "dropped" in widget.summary.value


def test_blank_planes_are_counted_not_shown_as_nan(make_napari_viewer, wait):
    viewer = make_napari_viewer()
    image, _ = load_kesm()
    stack = np.stack([image, image, np.full_like(image, 9), image // 2, image])
    viewer.add_image(stack, name="stack")
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Threshold")
    widget.per_plane.value = True
    widget.foreground.value = Foreground.DARK
    widget.run()
    wait(widget)
    assert "nan" not in widget.summary.value
    assert "over 5 planes (1 blank)" in widget.summary.value
    assert not viewer.layers["stack otsu"].data[2].any()
    assert np.isfinite(widget.histogram.thresholds).all()
    widget.try_all()
    wait(widget)
    assert not any("nan" in cell for cell in widget.table["threshold"])


def test_try_all_against_an_empty_ground_truth_warns_and_ranks_nothing(kesm_viewer, widget, wait):
    kesm_viewer.add_labels(np.zeros((512, 512), np.uint8), name="empty truth")
    widget.image.value = kesm_viewer.layers["KESM vessels"]
    widget.ground_truth.value = kesm_viewer.layers["empty truth"]
    widget.try_all()
    wait(widget)
    assert "no foreground pixel" in widget.summary.value
    assert "best" not in widget.table["note"]
    assert not widget.try_all_result.ranked


@pytest.mark.parametrize("job", ["run", "try_all"])
def test_an_image_closed_during_a_job_gets_no_output(kesm_viewer, widget, wait, job):
    image = kesm_viewer.layers["KESM vessels"]
    widget.image.value = image
    n_layers = len(kesm_viewer.layers)
    getattr(widget, job)()
    kesm_viewer.layers.remove(image)  # before the job's result comes back
    wait(widget)
    assert len(kesm_viewer.layers) == n_layers - 1
    assert "was closed during the computation" in widget.summary.value
    assert widget.run_button.enabled


def test_even_median_and_wide_integer_range_in_the_gui(make_napari_viewer, wait, notifications):
    viewer = make_napari_viewer()
    rng = np.random.default_rng(0)
    wide = rng.integers(0, 10**9, (256, 256), dtype=np.int32)
    wide[64:128, 64:192] += 10**9
    viewer.add_image(wide, name="wide")
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Threshold")
    widget.median_size.value = 4
    assert widget.run() is None and widget.try_all() is None
    assert "median size must be odd" in notifications.errors()[-1]
    assert len(viewer.layers) == 1
    widget.median_size.value = 3
    widget.run()
    wait(widget)
    assert "256 equal bins" in widget.summary.value
    assert viewer.layers["wide otsu"].data[66:126, 66:190].all()


def test_panel_fits_a_laptop_with_every_score_visible(make_napari_viewer, qtbot, wait):
    from qtpy.QtWidgets import QApplication, QScrollArea

    viewer = make_napari_viewer(show=True)
    viewer.open_sample("napari-seglab", "kesm")
    viewer.window.resize(1366, 768)
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Threshold")
    widget.foreground.value = Foreground.DARK
    widget.ground_truth.value = viewer.layers["KESM ground truth"]
    widget.try_all()
    wait(widget)
    QApplication.processEvents()
    # the dock scrolls vertically when short: every control stays reachable ...
    scroll = widget.native.findChild(QScrollArea)
    assert scroll is not None and scroll.widget().isAncestorOf(widget.run_button.native)
    assert scroll.viewport().width() >= scroll.widget().minimumSizeHint().width()
    # ... and the table shows MCC, F1 and IoU of all eight methods without scrolling
    table = widget.table.native
    header = table.horizontalHeader()
    iou = widget.table.value["columns"].index("IoU")
    assert (
        header.sectionViewportPosition(iou) + header.sectionSize(iou) <= table.viewport().width()
    )
    assert not table.horizontalScrollBar().isVisible()
    assert not table.verticalScrollBar().isVisible() and table.rowCount() == 8


def test_a_manual_value_outside_the_image_says_the_mask_is_empty(kesm_viewer, widget, wait):
    widget.image.value = kesm_viewer.layers["KESM vessels"]
    widget.method.value = ThresholdMethod.MANUAL
    widget.value.value = 1000  # above every pixel of an 8-bit image
    widget.run()
    wait(widget)
    assert "no pixel is foreground" in widget.summary.value
    widget.foreground.value = Foreground.DARK
    widget.run()
    wait(widget)
    assert "every pixel is foreground" in widget.summary.value


def test_a_manual_value_for_values_beyond_the_box_stays_in_the_box(make_napari_viewer, wait):
    viewer = make_napari_viewer()
    image = np.random.default_rng(0).random((32, 32)) * 1e30
    layer = viewer.add_image(image, name="huge")
    widget = ThresholdWidget(viewer)
    widget.image.value = layer
    widget.method.value = ThresholdMethod.MANUAL  # set to mid-range, within the box
    assert widget.value.value == widget.value.max
    widget.run()
    wait(widget)
    assert viewer.layers["huge manual"].data.sum() == np.count_nonzero(image > widget.value.max)


def test_a_refused_run_does_not_leave_the_last_result_in_the_summary(kesm_viewer, widget, wait):
    widget.image.value = kesm_viewer.layers["KESM vessels"]
    widget.run()
    wait(widget)
    assert widget.summary.value.startswith("Otsu threshold of 'KESM vessels': 175")
    widget.image.value = kesm_viewer.add_image(np.full((32, 32), 7, np.uint8), name="flat")
    widget.run()  # refused in the job: constant image
    wait(widget)
    assert "nothing changed" in widget.summary.value and "constant" in widget.summary.value
    widget.median_size.value = 4  # refused before the job: even
    widget.run()
    assert widget.summary.value.startswith("Nothing changed: The median size must be odd")


def _spots(dtype, low, high, size=96):
    """A dim background (90 %) with bright spots and a few hot pixels: Otsu far from the middle."""
    rng = np.random.default_rng(1)
    image = low + (high - low) * (0.05 + 0.02 * rng.standard_normal((size, size)))
    image[20:40, 20:40] = low + (high - low) * (0.3 + 0.05 * rng.standard_normal((20, 20)))
    image[5, 5] = image[90, 90] = high
    return np.clip(image, low, high).astype(dtype)


def test_a_manual_value_follows_the_image_it_is_for(kesm_viewer, widget, wait):
    kesm = kesm_viewer.layers["KESM vessels"]
    widget.image.value = kesm
    widget.method.value = ThresholdMethod.MANUAL
    widget.value.value = 120
    # another image, whose values lie elsewhere: its Otsu value, not the middle of its range
    for dtype, low, high in ((np.float32, 0.0, 1.0), (np.uint16, 10000, 13000)):
        data = _spots(dtype, low, high)
        other = kesm_viewer.add_image(data, name=f"spots {np.dtype(dtype).name}")
        widget.image.value = other
        otsu = threshold(data, "otsu").value
        assert widget.value.value == pytest.approx(otsu, rel=1e-5), dtype
        assert abs(otsu - (low + high) / 2) > 0.1 * (high - low)  # not the middle
        widget.run()
        wait(widget)
        mask = kesm_viewer.layers[f"{other.name} manual"].data
        assert mask[20:40, 20:40].mean() > 0.9 and mask[50:, 50:].mean() < 0.05  # the spots
        assert "no pixel is foreground" not in widget.summary.value

    # a value that fits the next image is kept
    widget.value.value = 120
    widget.image.value = kesm
    assert widget.value.value == 120
    # the display's contrast is not the image's range: narrowing it keeps the value, and so
    # does going to another method and back, or an out-of-range value typed on purpose
    kesm.contrast_limits = (150, 200)
    widget.method.value = ThresholdMethod.OTSU
    widget.method.value = ThresholdMethod.MANUAL
    assert widget.value.value == 120
    widget.value.value = 1000
    widget.per_plane.value = not widget.per_plane.value
    widget.method.value = ThresholdMethod.OTSU
    widget.method.value = ThresholdMethod.MANUAL
    assert widget.value.value == 1000

    # chosen while another method is on, the image's value is checked once Manual is chosen
    widget.method.value = ThresholdMethod.OTSU
    widget.image.value = kesm_viewer.layers["spots float32"]
    widget.method.value = ThresholdMethod.MANUAL
    assert 0 < widget.value.value < 1

    # a lazy image is not read for it: the middle of napari's contrast limits
    lazy = kesm_viewer.add_image(da.from_array(_spots(np.uint16, 10000, 13000)), name="lazy")
    widget.image.value = lazy
    assert widget.value.value == pytest.approx(sum(lazy.contrast_limits) / 2)


def test_the_summary_names_the_image_it_describes(kesm_viewer, widget, wait):
    image = kesm_viewer.layers["KESM vessels"]
    widget.image.value = image
    widget.foreground.value = Foreground.DARK
    widget.median_size.value = 3
    widget.run()
    wait(widget)
    assert widget.summary.value.startswith("Otsu threshold of 'KESM vessels': 175;")
    widget.try_all()
    wait(widget)
    assert widget.summary.value.startswith("Try all on 'KESM vessels': 8 of 8 methods")
    widget.use_method("li")
    wait(widget)
    assert widget.summary.value.startswith("Li threshold of 'KESM vessels': ")
    # so does a run that changed nothing
    widget.image.value = kesm_viewer.add_image(np.full((32, 32), 7, np.uint8), name="flat")
    widget.run()
    wait(widget)
    assert widget.summary.value.startswith("Threshold (Li) of 'flat': nothing changed")


def test_a_result_stays_with_the_image_it_was_computed_from(kesm_viewer, widget, wait):
    kesm = kesm_viewer.layers["KESM vessels"]
    spots = kesm_viewer.add_image(_spots(np.float32, 0.0, 1.0), name="spots")
    widget.image.value = kesm
    widget.foreground.value = Foreground.DARK
    widget.remove_smaller_than.value = 5
    widget.run()
    widget.image.value = spots  # before the result comes back
    widget.remove_smaller_than.value = 0
    wait(widget)
    assert "spots otsu" not in kesm_viewer.layers
    out = kesm_viewer.layers["KESM vessels otsu"]
    expected = clean_up(
        threshold(kesm.data, "otsu", foreground="dark").mask, remove_smaller_than=5
    )
    np.testing.assert_array_equal(out.data, expected)
    assert out.metadata["source"] == "KESM vessels"
    assert out.metadata["clean_up"] == {"remove_smaller_than": 5}  # the run's, not the new one
    summary = widget.summary.value
    assert summary.startswith("Otsu threshold of 'KESM vessels': ")
    assert "'spots' is chosen now: press Threshold for it" in summary
    assert widget.histogram.counts.sum() == kesm.data.size
    assert widget.image.value is spots  # the user's new choice stays
    widget.run()
    wait(widget)
    assert widget.summary.value.startswith("Otsu threshold of 'spots': ")
    assert "chosen now" not in widget.summary.value
