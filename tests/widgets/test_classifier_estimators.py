"""The classifier widget with a scikit-learn model: choose it, train, save and load it."""

from __future__ import annotations

import numpy as np
import pytest
from classifier_helpers import paint, stroke_disks, wait_idle
from sklearn.ensemble import ExtraTreesClassifier

from napari_seglab._widgets.classifier import ClassifierWidget, Scope
from napari_seglab._widgets.classifier.plans import Model
from napari_seglab.core import evaluate


def shown(widget: ClassifierWidget) -> set[str]:
    c = widget.controls
    settings = {
        "trees": c.trees,
        "depth": c.depth,
        "learning rate": c.learning_rate,
        "iterations": c.iterations,
        "C": c.c,
    }
    return {name for name, control in settings.items() if not control.native.isHidden()}


def test_each_model_shows_only_its_own_settings(kesm):
    _, widget, _, _ = kesm
    c = widget.controls
    assert c.model.value == Model.SEGLAB and shown(widget) == {"trees", "depth"}
    assert widget.controls.forest().estimator() is None
    expected = {
        Model.EXTRA_TREES: {"trees", "depth"},
        Model.RANDOM_FOREST: {"trees", "depth"},
        Model.GRADIENT_BOOSTING: {"learning rate", "iterations"},
        Model.LOGISTIC: {"C"},
    }
    for model, settings in expected.items():
        c.model.value = model.value
        assert shown(widget) == settings, model
        assert Model.of(c.forest().estimator()) is model
    c.c.value = 0.5
    assert c.forest().estimator().get_params()["logisticregression__C"] == 0.5


@pytest.mark.slow
def test_extra_trees_train_segment_and_round_trip_through_a_file(
    qtbot,
    kesm,
    new_widget,
    tmp_path,
    errors,
):
    viewer, widget, image, truth = kesm
    training = widget.add_training_layer()
    paint(training, stroke_disks(truth))
    widget.controls.model.value = Model.EXTRA_TREES.value
    widget.controls.trees.value = 20
    widget.train()
    wait_idle(qtbot, widget)
    fitted = widget.classifier.estimator_
    assert isinstance(fitted, ExtraTreesClassifier) and fitted.n_estimators == 20
    foreground = viewer.layers["KESM foreground"].data
    assert evaluate(foreground, truth).scores.f1 > 0.8
    assert widget.controls.importance.shape[0] == len(widget.classifier.feature_names_)
    expected = viewer.layers["KESM segmentation"].data.copy()
    path = tmp_path / "vessels.skops"
    assert widget.save(path)

    copy = viewer.add_image(image.data.copy(), name="copy")
    fresh = new_widget(viewer)
    assert fresh.controls.model.value == Model.SEGLAB
    assert fresh.load(path)
    assert fresh.controls.model.value == Model.EXTRA_TREES and fresh.controls.trees.value == 20
    assert shown(fresh) == {"trees", "depth"}
    fresh.predict(Scope.OTHER, image=copy)
    wait_idle(qtbot, fresh)
    np.testing.assert_array_equal(viewer.layers["copy segmentation"].data, expected)
    assert errors() == []
