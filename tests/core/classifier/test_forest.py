"""The compiled random-forest trainer: exact thresholds, determinism, accuracy vs scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from forest_walk import walk

from napari_seglab.core.classifier._forest import bin_edges, binned, fit_forest

KW = {"class_weight": "balanced", "max_samples": None, "random_state": 0}


def _blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping classes in 6 dimensions, of which 2 carry the signal."""
    rng = np.random.default_rng(seed)
    y = rng.integers(1, 3, n)
    x = rng.normal(0, 1, (n, 6)).astype(np.float32)
    x[:, 0] += 1.5 * (y == 2)
    x[:, 3] -= 1.0 * (y == 2)
    return x, y


def test_bins_put_each_value_on_the_side_of_its_threshold():
    rng = np.random.default_rng(1)
    few = rng.integers(0, 40, 5000).astype(np.float32)  # 40 distinct values
    many = rng.normal(0, 1, 5000).astype(np.float32)  # all distinct: quantile bins
    xt = np.stack([few, many])
    edges = bin_edges(xt)
    assert edges[0].size == 39 and edges[1].size == 255
    bins = binned(xt, edges)
    assert bins.dtype == np.uint8 and bins.shape == (2, 5000)
    for f, cuts in enumerate(edges):
        assert np.all(np.diff(cuts) > 0)
        for b in (0, cuts.size // 2, cuts.size - 1):
            assert np.array_equal(bins[f] <= b, xt[f] <= cuts[b])
    # With few distinct values, every value has a bin of its own.
    assert np.unique(bins[0]).size == 40


def test_a_single_deep_tree_separates_separable_training_data():
    x, y = _blobs(3000, seed=2)
    y = np.where(x[:, 0] + 0.3 * x[:, 1] > 0.5, 2, 1)  # separable, but not along one axis
    classes, forest = fit_forest(x, y, n_estimators=1, max_depth=None, **KW)
    assert classes.tolist() == [1, 2]
    proba = walk(forest, x)
    # A bootstrap sample leaves out about a third of the rows; the others are fit exactly.
    assert (classes[proba.argmax(axis=1)] == y).mean() > 0.95
    assert set(np.unique(proba)) <= {0.0, 1.0}


def test_same_seed_same_forest_other_seed_other_forest():
    x, y = _blobs(2000, seed=3)
    one = fit_forest(x, y, n_estimators=5, max_depth=6, **KW)[1]
    two = fit_forest(x, y, n_estimators=5, max_depth=6, **KW)[1]
    other = fit_forest(x, y, n_estimators=5, max_depth=6, **{**KW, "random_state": 1})[1]
    for name in one:
        np.testing.assert_array_equal(one[name], two[name])
    assert not np.array_equal(one["threshold"], other["threshold"])


def test_layout_depth_and_importances():
    x, y = _blobs(4000, seed=4)
    _, forest = fit_forest(x, y, n_estimators=8, max_depth=4, **KW)
    roots = forest["roots"]
    ends = np.append(roots[1:], forest["feature"].size)
    for root, end in zip(roots, ends, strict=True):
        depth = {root: 0}
        for node in range(root, end):
            child = forest["child"][node]
            assert (child < 0) == (forest["feature"][node] < 0)
            if child >= 0:
                assert node < child and child + 1 < end  # breadth-first, siblings adjacent
                depth[child] = depth[child + 1] = depth[node] + 1
        assert max(depth.values()) <= 4
    leaves = forest["feature"] < 0
    np.testing.assert_allclose(forest["leaf"][leaves].sum(axis=1), 1, rtol=1e-6)
    importances = forest["importances"]
    assert importances.sum() == pytest.approx(1)
    assert set(np.argsort(importances)[-2:]) == {0, 3}  # the two informative features


@pytest.mark.parametrize("class_weight", ["balanced", None])
def test_accuracy_matches_scikit_learn(class_weight):
    from sklearn.ensemble import RandomForestClassifier

    x, y = _blobs(6000, seed=5)
    keep = (y == 2) | (np.arange(y.size) % 4 == 0)  # class 1 under-represented
    x_train, y_train = x[keep][:3000], y[keep][:3000]
    x_test, y_test = _blobs(4000, seed=6)
    settings = {"n_estimators": 30, "max_depth": 8}
    classes, forest = fit_forest(
        x_train, y_train, **settings, **{**KW, "class_weight": class_weight}
    )
    ours = classes[walk(forest, x_test).argmax(axis=1)]
    reference = RandomForestClassifier(**settings, class_weight=class_weight, random_state=0)
    theirs = reference.fit(x_train, y_train).predict(x_test)

    def balanced_accuracy(labels):
        return np.mean([(labels[y_test == c] == c).mean() for c in (1, 2)])

    assert abs(balanced_accuracy(ours) - balanced_accuracy(theirs)) < 0.015
    assert balanced_accuracy(ours) > 0.7  # chance is 0.5, the best possible about 0.82
    if class_weight == "balanced":  # weighting lifts the rare class's recall
        plain = fit_forest(x_train, y_train, **settings, **{**KW, "class_weight": None})
        unweighted = plain[0][walk(plain[1], x_test).argmax(axis=1)]
        assert (ours[y_test == 1] == 1).mean() > (unweighted[y_test == 1] == 1).mean()


def test_max_samples_draws_that_many_rows_per_tree():
    x, y = _blobs(5000, seed=7)
    _, small = fit_forest(x, y, n_estimators=4, max_depth=None, **{**KW, "max_samples": 50})
    _, large = fit_forest(x, y, n_estimators=4, max_depth=None, **{**KW, "max_samples": 4000})
    # A fully grown tree has fewer than 2 leaves per distinct row it was given.
    assert (small["feature"] < 0).sum() <= 4 * 50
    assert (large["feature"] < 0).sum() > 4 * 200
    # More than there are rows: a bootstrap of all rows, as with max_samples=None.
    _, capped = fit_forest(x, y, n_estimators=2, max_depth=5, **{**KW, "max_samples": 10**6})
    _, everyone = fit_forest(x, y, n_estimators=2, max_depth=5, **KW)
    np.testing.assert_array_equal(capped["threshold"], everyone["threshold"])


def test_deep_trees_grown_a_few_at_a_time_give_the_same_forest(monkeypatch):
    x, y = _blobs(3000, seed=8)
    whole = fit_forest(x, y, n_estimators=5, max_depth=None, **KW)[1]
    # A budget for the node arrays of about two of these trees at a time.
    monkeypatch.setattr("napari_seglab.core.classifier._forest._NODE_BUDGET", 2 * 6000 * 28)
    batched = fit_forest(x, y, n_estimators=5, max_depth=None, **KW)[1]
    for name in whole:
        np.testing.assert_array_equal(batched[name], whole[name])
