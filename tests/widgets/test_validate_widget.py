import csv

import numpy as np
import pytest
from qtpy.QtWidgets import QApplication
from scipy import ndimage as ndi

from napari_seglab import evaluate, load_kesm, threshold
from napari_seglab._widgets.threshold import ThresholdWidget
from napari_seglab._widgets.validate import Palette, ValidationWidget

CLASSES = ("TP", "FP", "FN", "TN")


@pytest.fixture
def widget(kesm_viewer):
    _, widget = kesm_viewer.window.add_plugin_dock_widget("napari-seglab", "Validate")
    return widget


def table_columns(table) -> dict[str, dict[str, str]]:
    """The metrics table as {column ("total", "plane 0", ...): {metric name: text}}."""
    return table.to_dict("dict")


def test_kesm_threshold_then_validate_gives_published_counts(kesm_viewer, widget, wait, tmp_path):
    """A user's path: Threshold (dark, median 3, Otsu), then Validate against the truth."""
    from napari_seglab import Foreground, ThresholdMethod

    _, thresholder = kesm_viewer.window.add_plugin_dock_widget("napari-seglab", "Threshold")
    image, truth = kesm_viewer.layers["KESM vessels"], kesm_viewer.layers["KESM ground truth"]
    image_before, truth_before = image.data.copy(), truth.data.copy()
    thresholder.image.value = image
    thresholder.foreground.value = Foreground.DARK
    thresholder.median_size.value = 3
    thresholder.method.value = ThresholdMethod.OTSU
    thresholder.run_button.native.click()
    wait(thresholder)

    prediction = kesm_viewer.layers["KESM vessels otsu"]
    prediction_before = prediction.data.copy()
    # the new segmentation and the ground truth are pre-selected
    assert widget.prediction.value is prediction and widget.ground_truth.value is truth
    widget.run_button.native.click()
    wait(widget)

    counts = widget.result.counts
    assert (counts.tp, counts.fp, counts.fn, counts.tn) == (5595, 122, 1863, 254564)
    assert widget.result.scores.f1 == pytest.approx(0.84934, abs=5e-6)
    assert widget.result.scores.mcc == pytest.approx(0.85339, abs=5e-6)

    columns = table_columns(widget.table)
    assert list(columns) == ["total"]
    total = columns["total"]
    assert [total[k] for k in ("TP", "FP", "FN", "TN")] == ["5595", "122", "1863", "254564"]
    assert total["MCC"] == "0.8534" and total["F1 (Dice)"] == "0.8493"
    assert total["IoU (Jaccard)"] == "0.7381" and total["specificity"] == "0.9995"
    objects = widget.objects_table.to_dict("dict")["value"]
    assert objects["matched"] == str(widget.result.objects.matched)
    assert int(objects["matched"]) + int(objects["missed"]) == int(objects["n true"])

    layers = {key: kesm_viewer.layers[f"KESM vessels otsu {key}"] for key in CLASSES}
    for key, layer in layers.items():
        assert int(layer.data.sum()) == getattr(counts, key.lower())
        assert layer.features["pixels"][0] == getattr(counts, key.lower())
        assert layer.metadata["metrics"]["tp"] == counts.tp
        assert layer.metadata["metrics"]["objects"]["matched"] == widget.result.objects.matched
        assert all(isinstance(v, int | float | str | dict) for v in layer.metadata.values())
    assert not layers["TN"].visible and layers["TP"].visible
    np.testing.assert_allclose(layers["TP"].colormap.color_dict[1], [0, 1, 1, 1])
    np.testing.assert_allclose(layers["FP"].colormap.color_dict[1], [1, 0, 1, 1])
    np.testing.assert_allclose(layers["FN"].colormap.color_dict[1], [1, 1, 0, 1])
    assert "5,595" in widget.legend.value

    for layer, before in [(image, image_before), (truth, truth_before)]:
        np.testing.assert_array_equal(layer.data, before)
    np.testing.assert_array_equal(prediction.data, prediction_before)

    # copy and export
    widget.copy_button.native.click()
    assert "5595\t122\t1863\t254564" in QApplication.clipboard().text()
    path = widget.export_csv(tmp_path / "kesm.csv")
    with path.open() as fh:
        first = next(csv.DictReader(fh))
    assert (first["tp"], first["fn"]) == ("5595", "1863")

    # re-running updates the layers and the table instead of adding new ones
    n_layers = len(kesm_viewer.layers)
    layers["TN"].visible = True  # the user's choice survives a re-run
    widget.iou_threshold.value = 0.3
    widget.run()
    wait(widget)
    assert len(kesm_viewer.layers) == n_layers
    assert all(kesm_viewer.layers[f"KESM vessels otsu {k}"] is layers[k] for k in CLASSES)
    assert layers["TN"].visible
    assert widget.table.column_headers == ("total",)
    assert widget.result.objects.iou_threshold == 0.3
    assert widget.result.objects.matched >= int(objects["matched"])


def test_palette_and_255_ground_truth(make_napari_viewer, wait):
    viewer = make_napari_viewer()
    image, truth = load_kesm()
    mask = threshold(image, "otsu", foreground="dark", median_size=3).mask
    viewer.add_labels(mask, name="pred")
    viewer.add_image(truth * 255, name="truth 255")
    widget = ValidationWidget(viewer)
    widget.prediction.value = viewer.layers["pred"]
    widget.ground_truth.value = viewer.layers["truth 255"]
    widget.run()
    wait(widget)
    assert widget.result.counts == evaluate(mask, truth).counts
    widget.palette.value = Palette.OKABE_ITO
    for key, colour in Palette.OKABE_ITO.colors.items():
        layer = viewer.layers[f"pred {key}"]
        expected = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        np.testing.assert_allclose(layer.colormap.color_dict[1][:3], expected, atol=1e-6)
    assert Palette.OKABE_ITO.colors["TP"] in widget.legend.value


def test_stack_has_a_row_per_plane_and_the_total(make_napari_viewer, wait):
    viewer = make_napari_viewer()
    image, truth = load_kesm()
    pred = threshold(image, "otsu", foreground="dark", median_size=3).mask
    preds = np.stack([pred, np.zeros_like(pred), truth])
    truths = np.stack([truth, truth, truth])
    viewer.add_labels(preds, name="pred", scale=(3, 1, 1))
    viewer.add_labels(truths, name="truth", scale=(3, 1, 1))
    widget = ValidationWidget(viewer)
    widget.prediction.value = viewer.layers["pred"]
    widget.ground_truth.value = viewer.layers["truth"]
    widget.run()
    wait(widget)
    columns = table_columns(widget.table)
    assert list(columns) == ["total", "plane 0", "plane 1", "plane 2"]
    planes = [columns[f"plane {i}"] for i in range(3)]
    assert planes[0]["TP"] == "5595" and planes[1]["TP"] == "0" and planes[2]["FP"] == "0"
    assert int(columns["total"]["FN"]) == sum(int(p["FN"]) for p in planes)
    assert planes[2]["MCC"] == "1.0000"
    assert viewer.layers["pred TP"].data.shape == preds.shape
    assert tuple(viewer.layers["pred TP"].scale) == (3, 1, 1)


def test_bad_inputs_notify_and_change_nothing(make_napari_viewer, wait, notifications):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Validate")
    assert widget.run() is None
    assert "Choose a prediction layer" in notifications.errors()[-1]

    _, truth = load_kesm()
    viewer.add_labels(truth, name="truth")
    viewer.add_labels(truth[:256], name="half")
    multi = truth.astype(np.uint8)
    multi[:10, :10] = 2
    viewer.add_labels(multi, name="two labels")
    names = [layer.name for layer in viewer.layers]

    widget.prediction.value = viewer.layers["half"]
    widget.ground_truth.value = viewer.layers["truth"]
    assert widget.run() is None
    assert "shape" in notifications.errors()[-1]

    widget.prediction.value = viewer.layers["truth"]
    widget.ground_truth.value = viewer.layers["two labels"]
    widget.run()
    wait(widget)
    assert "2 different non-zero values" in notifications.errors()[-1]

    widget.ground_truth.value = viewer.layers["truth"]
    assert widget.run() is None
    assert "same layer" in notifications.errors()[-1]

    assert [layer.name for layer in viewer.layers] == names
    assert widget.result is None and widget.table.shape == (0, 0)
    assert not widget.copy_button.enabled
    assert widget.export_csv("never-written.csv") is None


def test_threshold_widget_output_is_not_offered_as_confusion_layer(kesm_viewer, wait):
    thresholder = ThresholdWidget(kesm_viewer)
    thresholder.run(block=True)
    widget = ValidationWidget(kesm_viewer)
    widget.prediction.value = kesm_viewer.layers["KESM vessels otsu"]
    widget.ground_truth.value = kesm_viewer.layers["KESM ground truth"]
    widget.run(block=True)
    offered = {layer.name for layer in widget.prediction.choices}
    assert "KESM vessels otsu" in offered
    assert not any(name.endswith((" TP", " FP", " FN", " TN")) for name in offered)


def test_lazy_layers_are_compared_chunk_by_chunk(make_napari_viewer, wait):
    import dask.array as da

    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Validate")
    image, truth = load_kesm()
    mask = threshold(image, "otsu", foreground="dark", median_size=3).mask
    stack, truths = np.stack([mask, truth]), np.stack([truth, truth])
    # the pickers follow the viewer's layers through napari's reset_choices wiring
    viewer.add_labels(da.from_array(stack, chunks=(1, 128, 128)), name="lazy pred")
    viewer.add_labels(da.from_array(truths, chunks=(1, 256, 256)), name="lazy truth")
    assert widget.ground_truth.value is viewer.layers["lazy truth"]
    widget.prediction.value = viewer.layers["lazy pred"]
    widget.run()
    wait(widget)
    expected = evaluate(stack, truths)
    assert widget.result.counts == expected.counts and widget.result.planes == expected.planes
    assert widget.result.objects is None  # object matching needs layers in memory
    assert widget.objects_table.row_headers == ("(not computed)",)
    assert list(table_columns(widget.table)) == ["total", "plane 0", "plane 1"]
    tp = viewer.layers["lazy pred TP"]
    assert isinstance(tp.data, da.Array)
    np.testing.assert_array_equal(np.asarray(tp.data[0]), (mask & truth).astype(np.uint8))


# --- issue 9: the prediction rule, stale confusion layers, a panel that fits ----------------


def open_validate(viewer):
    return viewer.window.add_plugin_dock_widget("napari-seglab", "Validate")[1]


def test_raw_image_is_never_offered_as_the_prediction(kesm_viewer):
    """Issue 9 item 4: with only the image and the truth open, the image was pre-selected."""
    import napari.layers

    widget = open_validate(kesm_viewer)
    assert widget.prediction.value is not kesm_viewer.layers["KESM vessels"]
    assert all(isinstance(x, napari.layers.Labels) for x in widget.prediction.choices)
    # a ground truth may still be an Image layer (e.g. a 0/255 PNG opened as an image)
    kesm_viewer.add_image(kesm_viewer.layers["KESM ground truth"].data * 255, name="truth png")
    assert kesm_viewer.layers["truth png"] in widget.ground_truth.choices


def test_class_ids_need_a_chosen_foreground_class(kesm_viewer, wait, notifications):
    """Issue 9 item 4: class ids 1, 2 scored F1 0.055 (every non-zero pixel foreground)."""
    image, truth = (kesm_viewer.layers[n].data for n in ("KESM vessels", "KESM ground truth"))
    mask = threshold(image, "otsu", foreground="dark", median_size=3).mask
    widget = open_validate(kesm_viewer)
    kesm_viewer.add_labels(mask, name="mask")
    assert not widget.needs_foreground_class  # a mask needs no choice
    kesm_viewer.add_labels(np.where(mask != 0, 2, 1).astype(np.uint8), name="classes")
    widget.prediction.value = kesm_viewer.layers["classes"]
    widget.ground_truth.value = kesm_viewer.layers["KESM ground truth"]
    assert widget.needs_foreground_class
    assert "class 2" in [widget.foreground_class.native.itemText(i) for i in range(4)]
    names = [layer.name for layer in kesm_viewer.layers]
    assert widget.run() is None
    assert "Choose its foreground class" in notifications.errors()[-1]
    assert [layer.name for layer in kesm_viewer.layers] == names and widget.result is None

    widget.foreground_class.value = 2
    widget.run_button.native.click()
    wait(widget)
    counts = widget.result.counts
    assert (counts.tp, counts.fp, counts.fn, counts.tn) == (5595, 122, 1863, 254564)
    assert kesm_viewer.layers["classes TP"].metadata["metrics"]["foreground_class"] == 2
    assert int(kesm_viewer.layers["classes FP"].data.sum()) == 122
    assert widget.foreground_class.value == 2  # the choice survives the layers added
    widget.prediction.value = kesm_viewer.layers["mask"]
    assert not widget.needs_foreground_class
    np.testing.assert_array_equal(truth, kesm_viewer.layers["KESM ground truth"].data)


def test_instance_labels_as_any_object_and_a_lazy_labels_layer(
    make_napari_viewer, shared_data, wait
):
    import dask.array as da
    import imageio.v3 as iio

    viewer = make_napari_viewer()
    widget = open_validate(viewer)
    labels = iio.imread(
        shared_data / "dsb2018_fluo_nuclei" / "labels" / "003cee89357d_instances.tif"
    )
    viewer.add_labels((labels > 0).astype(np.uint8), name="truth")
    viewer.add_labels(labels, name="nuclei")
    widget.prediction.value = viewer.layers["nuclei"]
    widget.foreground_class.value = "any"
    widget.run()
    wait(widget)
    assert widget.result.scores.f1 == 1.0
    assert widget.result.objects.n_predicted == len(np.unique(labels)) - 1

    viewer.add_labels(da.from_array(labels, chunks=128), name="lazy nuclei")
    widget.prediction.value = viewer.layers["lazy nuclei"]
    assert widget.needs_foreground_class  # values unknown until read: a choice is offered
    widget.foreground_class.value = "any"
    widget.run()
    wait(widget)
    assert widget.result.scores.f1 == 1.0


def test_confusion_layers_of_an_earlier_prediction_are_hidden(kesm_viewer, wait):
    """Issue 9 item 9: validating another prediction left the old TP/FP/FN layers shown."""
    image = kesm_viewer.layers["KESM vessels"].data
    widget = open_validate(kesm_viewer)
    kesm_viewer.add_labels(threshold(image, "otsu", foreground="dark").mask, name="otsu")
    kesm_viewer.add_labels(threshold(image, "li", foreground="dark").mask, name="li")
    kesm_viewer.add_labels(np.zeros(image.shape, np.uint8), name="notes TP")  # the user's
    for name in ("otsu", "li"):
        widget.prediction.value = kesm_viewer.layers[name]
        widget.ground_truth.value = kesm_viewer.layers["KESM ground truth"]
        widget.run()
        wait(widget)
    shown = {layer.name for layer in kesm_viewer.layers if layer.visible}
    assert {"li TP", "li FP", "li FN"} <= shown and "li TN" not in shown
    assert not shown & {f"otsu {k}" for k in CLASSES}
    assert "notes TP" in shown and "otsu" in shown  # users' layers are left alone
    widget.prediction.value = kesm_viewer.layers["otsu"]
    widget.run()
    wait(widget)
    assert kesm_viewer.layers["otsu TP"].visible and not kesm_viewer.layers["li TP"].visible


def test_f1_mcc_iou_are_visible_without_scrolling_at_1080p(kesm_viewer, qtbot, wait):
    """Issue 9 item 6: F1 and MCC hid below the metrics table's scrollbar."""
    window = kesm_viewer.window._qt_window
    kesm_viewer.window._qt_viewer.canvas.native.hide()  # no OpenGL drawing under Xvfb
    window.setGeometry(0, 0, 1920, 1080)
    window.show()
    widget = open_validate(kesm_viewer)
    image = kesm_viewer.layers["KESM vessels"].data
    mask = threshold(image, "otsu", foreground="dark", median_size=3).mask
    kesm_viewer.add_labels(np.stack([mask, mask, mask]), name="stack")
    kesm_viewer.add_labels(np.stack([mask, mask, mask]), name="stack truth")
    widget.ground_truth.value = kesm_viewer.layers["stack truth"]
    widget.run()
    wait(widget)
    qtbot.wait(50)
    table = widget.table.native
    rows = {table.verticalHeaderItem(r).text(): r for r in range(table.rowCount())}
    viewport = table.viewport().height()
    for name in ("F1 (Dice)", "MCC", "IoU (Jaccard)"):
        row = rows[name]
        assert 0 <= table.rowViewportPosition(row) <= viewport - table.rowHeight(row), name
    assert window.height() <= 1080  # the panel fits a 1080p screen


def test_a_layer_deleted_while_validating_gets_no_confusion_layers(kesm_viewer, wait):
    widget = open_validate(kesm_viewer)
    image = kesm_viewer.layers["KESM vessels"].data
    kesm_viewer.add_labels(threshold(image, "otsu", foreground="dark").mask, name="otsu")
    widget.prediction.value = kesm_viewer.layers["otsu"]
    widget.ground_truth.value = kesm_viewer.layers["KESM ground truth"]
    widget.run()  # the result is applied in the event loop, after the layer is gone
    kesm_viewer.layers.remove("otsu")
    wait(widget)
    assert not any(layer.name.startswith("otsu") for layer in kesm_viewer.layers)
    assert widget.result is None


def test_an_empty_ground_truth_is_said(make_napari_viewer, wait):
    from napari.utils.notifications import notification_manager

    viewer = make_napari_viewer()
    widget = open_validate(viewer)
    mask = np.zeros((64, 64), np.uint8)
    mask[10:20, 10:20] = 1
    viewer.add_labels(np.zeros_like(mask), name="empty truth")
    viewer.add_labels(mask, name="pred")
    widget.prediction.value = viewer.layers["pred"]
    widget.ground_truth.value = viewer.layers["empty truth"]
    widget.run()
    wait(widget)
    assert "no foreground pixel" in str(notification_manager.records[-1].message)
    assert widget.result.scores.f1 == 0.0


def test_instance_and_boundary_families_in_the_objects_table(kesm_viewer, wait):
    """Issue 10: DSB score, PQ, boundary F1 and clDice next to the pixel scores."""
    image = kesm_viewer.layers["KESM vessels"].data
    widget = open_validate(kesm_viewer)
    mask = threshold(image, "otsu", foreground="dark", median_size=3).mask
    kesm_viewer.add_labels(mask, name="otsu")
    widget.prediction.value = kesm_viewer.layers["otsu"]
    widget.ground_truth.value = kesm_viewer.layers["KESM ground truth"]
    widget.run()
    wait(widget)
    rows = widget.objects_table.to_dict("dict")["value"]
    assert rows["DSB score (IoU 0.5:0.95)"] == "0.2543" and rows["PQ (IoU 0.5)"] == "0.4914"
    assert rows["boundary F1 (1)"] == "0.8331" and rows["clDice"] == "0.8777"
    assert widget.objects_table.row_headers[0] == "DSB score (IoU 0.5:0.95)"
    assert "clDice\t0.877" in widget.table_text()
    outcome = {
        k: kesm_viewer.layers[f"otsu {k} objects"] for k in ("matched", "spurious", "missed")
    }
    assert not any(layer.visible for layer in outcome.values())  # toggled on by the user
    matched = widget.result.objects.matched  # one to one at IoU 0.5, as the object table
    assert ndi.label(outcome["matched"].data)[1] >= matched > 0
    assert outcome["missed"].data.any() and outcome["spurious"].data.any()
    widget.palette.value = Palette.OKABE_ITO  # the palette leaves the object layers alone
    for box in widget.family_boxes.values():
        box.value = False
    widget.run()
    wait(widget)
    assert widget.objects_table.row_headers[0] == "n true" and widget.families == {}


def test_several_predictions_best_first_csv_and_f1_plot(
    make_napari_viewer, shared_data, wait, tmp_path, notifications
):
    """DSB nuclei: the instance labels ground truth, Otsu components vs Otsu watershed."""
    import imageio.v3 as iio

    from napari_seglab import label_objects

    folder = shared_data / "dsb2018_fluo_nuclei"
    image = iio.imread(folder / "images" / "003cee89357d.png")
    truth = iio.imread(folder / "labels" / "003cee89357d_instances.tif")
    mask = threshold(image, "otsu", foreground="bright").mask
    viewer = make_napari_viewer()
    widget = open_validate(viewer)
    viewer.add_labels(truth, name="nuclei truth")
    viewer.add_labels(mask.astype(np.uint8), name="otsu")
    split = label_objects(mask, method="watershed", min_distance=7, min_size=20).labels
    viewer.add_labels(split, name="otsu watershed")
    widget.ground_truth.value = viewer.layers["nuclei truth"]
    assert widget.export_comparison_csv(tmp_path / "none.csv") is None  # nothing yet: said
    assert "Compare first" in notifications.errors()[-1]
    widget.truth_labels.value = True
    widget.prediction.value = viewer.layers["otsu watershed"]
    widget.foreground_class.value = "any"
    assert widget.comparison.native.isHidden()  # folded away until asked for
    widget.compare_box.value = True
    panel = widget.comparison
    assert not panel.native.isHidden() and widget.objects_table.native.isHidden()
    assert widget.table.native.isHidden()
    panel.predictions.value = [viewer.layers["otsu"], viewer.layers["otsu watershed"]]
    panel.rank_by.value = "dsb_score"
    panel.run()
    wait(panel)
    names = [row["prediction"] for row in panel.comparison.rows]
    assert names == ["otsu watershed", "otsu"]
    expected = compare_dsb(split, truth)
    assert panel.comparison.rows[0]["dsb_score"] == pytest.approx(expected)
    assert [panel.table.data[i, 0] for i in range(2)] == names
    assert panel.plot.title == "otsu watershed" and panel.plot.f1.size == 10
    path = widget.export_comparison_csv(tmp_path / "comparison.csv")
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["prediction"] for r in rows] == names
    assert {"mcc", "dsb_score", "pq", "boundary_f1", "hd95", "cl_dice"} <= set(rows[0])
    panel.rank_by.value = "mcc"  # re-ranked without recomputing
    assert [row["prediction"] for row in panel.comparison.rows] == sorted(
        names, key=lambda n: -{r["prediction"]: float(r["mcc"]) for r in rows}[n]
    )


def compare_dsb(prediction, truth) -> float:
    from napari_seglab import score_instances

    return score_instances(prediction, truth).dsb_score


def test_comparison_bad_inputs_are_said(kesm_viewer, wait, notifications):
    widget = kesm_viewer.window.add_plugin_dock_widget("napari-seglab", "Validate")[1]
    panel = widget.comparison
    panel.predictions.value = []
    assert panel.run() is None and "Choose the predictions" in notifications.errors()[-1]
    truth = kesm_viewer.layers["KESM ground truth"]
    panel.predictions.value = [truth]
    widget.ground_truth.value = truth
    assert panel.run() is None and "is the ground truth" in notifications.errors()[-1]
    kesm_viewer.add_labels(np.zeros((3, 3), np.uint8), name="small")
    panel.predictions.value = [kesm_viewer.layers["small"]]
    assert panel.run() is None and "same pixels" in notifications.errors()[-1]
    assert panel.comparison is None


def test_an_instance_labels_ground_truth_in_validate(make_napari_viewer, shared_data, wait):
    import imageio.v3 as iio

    truth = iio.imread(
        shared_data / "dsb2018_fluo_nuclei" / "labels" / "003cee89357d_instances.tif"
    )
    viewer = make_napari_viewer()
    widget = open_validate(viewer)
    viewer.add_labels(truth, name="nuclei truth")
    viewer.add_labels((truth > 0).astype(np.uint8), name="merged")
    widget.ground_truth.value = viewer.layers["nuclei truth"]
    widget.prediction.value = viewer.layers["merged"]
    widget.truth_labels.value = True
    widget.run()
    wait(widget)
    assert widget.result.scores.f1 == 1.0
    assert widget.result.objects.n_true == len(np.unique(truth)) - 1
    assert widget.families["DSB score (IoU 0.5:0.95)"] == pytest.approx(
        compare_dsb(truth > 0, truth)
    )


def test_a_stack_gets_per_plane_dsb_scores(make_napari_viewer, wait):
    """A time-lapse of one disc per frame, the prediction right in frame 0 only."""
    yy, xx = np.mgrid[:32, :32]
    disc = ((yy - 16) ** 2 + (xx - 16) ** 2 < 64).astype(np.uint8)
    truth = np.stack([disc, disc])
    pred = np.stack([disc, np.zeros_like(disc)])
    viewer = make_napari_viewer()
    widget = open_validate(viewer)
    viewer.add_labels(truth, name="truth")
    viewer.add_labels(pred, name="pred")
    widget.ground_truth.value = viewer.layers["truth"]
    widget.prediction.value = viewer.layers["pred"]
    widget.run()
    wait(widget)
    # one volume object of IoU 0.5: matched at t = 0.5 only
    assert widget.families["DSB score (IoU 0.5:0.95)"] == pytest.approx(0.1)
    assert widget.families["DSB score, per plane (mean)"] == 0.5  # frame 0: 1, frame 1: 0
    assert widget.families["DSB score, per plane (pooled)"] == 0.5  # 1 TP, 1 FN


# --- a refused run, layers that do not overlay, cancel ---------------------------------------


def test_a_refused_run_says_whose_the_results_shown_are(kesm_viewer, wait, notifications):
    """A refused run left the earlier table as if it described the layers now chosen."""
    image, truth = (kesm_viewer.layers[n].data for n in ("KESM vessels", "KESM ground truth"))
    widget = open_validate(kesm_viewer)
    kesm_viewer.add_labels(threshold(image, "otsu", foreground="dark").mask, name="otsu")
    widget.prediction.value = kesm_viewer.layers["otsu"]
    widget.ground_truth.value = kesm_viewer.layers["KESM ground truth"]
    widget.run()
    wait(widget)
    assert widget.status.value == "Results of 'otsu' against 'KESM ground truth'."
    table, counts = widget.table.to_dict("dict"), widget.result.counts
    layers = {k: kesm_viewer.layers[f"otsu {k}"] for k in CLASSES}

    kesm_viewer.add_labels(truth[:256], name="half truth")  # refused before the job starts
    widget.ground_truth.value = kesm_viewer.layers["half truth"]
    assert widget.run() is None and "same pixels" in notifications.errors()[-1]
    assert widget.status.value.startswith("Nothing changed: The prediction 'otsu' has shape")
    earlier = "The results below are still those of 'otsu' against 'KESM ground truth'."
    assert widget.status.value.endswith(earlier)

    two = truth.astype(np.uint8)
    two[:10, :10] = 2
    kesm_viewer.add_labels(two, name="two truth")  # refused by the job
    widget.ground_truth.value = kesm_viewer.layers["two truth"]
    widget.run()
    wait(widget)
    assert "2 different non-zero values" in notifications.errors()[-1]
    assert widget.status.value.startswith("Nothing changed: The ground truth holds 2")
    assert widget.status.value.endswith(earlier)
    # the earlier results and their layers are kept as they were
    assert widget.table.to_dict("dict") == table and widget.result.counts == counts
    assert all(kesm_viewer.layers[f"otsu {k}"] is layers[k] for k in CLASSES)
    assert "two truth TP" not in kesm_viewer.layers and "otsu TP" in kesm_viewer.layers


def otsu_and_li_chosen_for_comparison(viewer):
    """The Compare panel of a new Validate panel, with Otsu and Li masks of the KESM sample
    chosen for comparison against its ground truth."""
    image = viewer.layers["KESM vessels"].data
    widget = open_validate(viewer)
    for method in ("otsu", "li"):
        viewer.add_labels(threshold(image, method, foreground="dark").mask, name=method)
    widget.ground_truth.value = viewer.layers["KESM ground truth"]
    widget.comparison.predictions.value = [viewer.layers["otsu"], viewer.layers["li"]]
    return widget.comparison


def test_a_refused_comparison_says_whose_the_comparison_shown_is(kesm_viewer, wait):
    panel = otsu_and_li_chosen_for_comparison(kesm_viewer)
    panel.run()
    wait(panel)
    assert panel.status.value == "Compared against the ground truth 'KESM ground truth'."
    rows = panel.comparison.rows
    kesm_viewer.add_labels(np.zeros((3, 3), np.uint8), name="small")
    panel.predictions.value = [kesm_viewer.layers["small"]]
    assert panel.run() is None
    assert panel.status.value.startswith("Nothing changed: The prediction 'small' has shape")
    assert panel.status.value.endswith(
        "The comparison below is still the one against 'KESM ground truth'."
    )
    assert panel.comparison.rows == rows and panel.plot.title == rows[0]["prediction"]


def test_a_prediction_removed_while_comparing_discards_the_comparison(kesm_viewer, qtbot):
    panel = otsu_and_li_chosen_for_comparison(kesm_viewer)
    worker = panel.run()
    kesm_viewer.layers.remove("li")  # before the worker's result reaches the GUI thread
    qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)
    assert worker is not None and panel.comparison is None
    assert panel.status.value == "Discarded: 'li' was removed from the viewer while comparing."
    assert not panel.export_button.enabled


def test_the_comparison_measures_distances_in_the_layers_scale_as_validate_does(kesm_viewer, wait):
    """With a pixel size of 0.5 µm, HD95 is in µm in the Compare table as in Validate's."""
    from napari_seglab.core import boundary_scores

    image, truth = load_kesm()
    mask = threshold(image, "otsu", foreground="dark", median_size=3).mask
    kesm_viewer.layers["KESM ground truth"].scale = (0.5, 0.5)
    kesm_viewer.add_labels(mask, name="otsu", scale=(0.5, 0.5))
    widget = open_validate(kesm_viewer)
    widget.prediction.value = kesm_viewer.layers["otsu"]
    widget.ground_truth.value = kesm_viewer.layers["KESM ground truth"]
    widget.run()
    wait(widget)
    panel = widget.comparison
    panel.predictions.value = [kesm_viewer.layers["otsu"]]
    panel.run()
    wait(panel)
    row = panel.comparison.rows[0]
    expected = boundary_scores(mask, truth, tolerance=0.5, spacing=0.5)
    assert expected.hd95 == pytest.approx(boundary_scores(mask, truth).hd95 / 2)
    assert row["hd95"] == widget.families["HD95"] == pytest.approx(expected.hd95)
    assert row["boundary_f1"] == widget.families["boundary F1 (0.5)"] == expected.boundary_f1


def test_layers_that_do_not_overlay_are_compared_with_a_warning(
    make_napari_viewer, wait, notifications
):
    """A truth of the prediction's shape but another scale / translate was compared silently."""
    image, truth = load_kesm()
    mask = threshold(image, "otsu", foreground="dark", median_size=3).mask
    viewer = make_napari_viewer()
    widget = open_validate(viewer)
    viewer.add_labels(truth, name="truth")
    viewer.add_labels(mask, name="um", scale=(0.5, 0.5), translate=(3, 4))
    viewer.add_labels(mask, name="pixels")
    widget.ground_truth.value = viewer.layers["truth"]
    widget.prediction.value = viewer.layers["um"]
    widget.run()
    wait(widget)
    assert widget.result.counts == evaluate(mask, truth).counts  # still pixel by pixel
    (warning,) = notifications.warnings()
    assert warning.startswith(
        "'um' (scale (0.5, 0.5) against (1, 1), translate (3, 4) against (0, 0)) does not "
        "overlay the ground truth 'truth' in the viewer"
    )
    assert "pixel by pixel" in warning and "pixel by pixel" in widget.status.value
    assert tuple(viewer.layers["um TP"].scale) == (0.5, 0.5)  # over the prediction

    widget.prediction.value = viewer.layers["pixels"]  # overlays: no warning
    widget.run()
    wait(widget)
    assert len(notifications.warnings()) == 1
    assert widget.status.value == "Results of 'pixels' against 'truth'."

    panel = widget.comparison  # one warning for the comparison, naming the one that differs
    panel.predictions.value = [viewer.layers["um"], viewer.layers["pixels"]]
    panel.run()
    wait(panel)
    assert len(panel.comparison.rows) == 2 and len(notifications.warnings()) == 2
    assert notifications.warnings()[-1].startswith("'um' (scale (0.5, 0.5) against (1, 1)")
    assert "'pixels'" not in notifications.warnings()[-1]


def test_cancel_stops_validating_and_comparing_and_changes_nothing(make_napari_viewer, wait):
    viewer = make_napari_viewer()
    widget = open_validate(viewer)
    dots = np.zeros((1024, 1024), np.uint8)
    dots[::4, ::4] = 1  # 65,536 objects to match: the cancel lands before they are done
    viewer.add_labels(dots, name="dots truth")
    viewer.add_labels(np.roll(dots, 1, axis=1), name="dots")
    viewer.add_labels(dots, name="same dots")
    widget.ground_truth.value = viewer.layers["dots truth"]
    widget.prediction.value = viewer.layers["dots"]
    names = [layer.name for layer in viewer.layers]
    assert not widget.cancel_button.enabled
    widget.run()
    assert widget.cancel_button.enabled and not widget.run_button.enabled
    widget.cancel_button.native.click()
    wait(widget, timeout=120_000)
    assert [layer.name for layer in viewer.layers] == names and widget.result is None
    assert widget.status.value == "Cancelled: nothing changed."
    assert widget.run_button.enabled and not widget.cancel_button.enabled

    panel = widget.comparison
    panel.predictions.value = [viewer.layers["dots"], viewer.layers["same dots"]]
    assert not panel.cancel_button.enabled
    panel.run()
    assert panel.cancel_button.enabled and not panel.compare_button.enabled
    panel.cancel_button.native.click()
    wait(panel, timeout=120_000)
    assert panel.comparison is None and panel.status.value == "Cancelled: nothing changed."
    assert panel.compare_button.enabled and not panel.cancel_button.enabled
