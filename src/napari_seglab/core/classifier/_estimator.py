"""What a classifier applies to features: SegLab's forest or any scikit-learn classifier.

Both sit behind the same two calls, so training and the tiled prediction (:mod:`._apply`,
:mod:`._lazy`) never ask which one they hold: ``fit(x, y)`` on training rows (n, F) and
``scores(x, exact=...)`` on a tile's features (F, n), giving (n, n_classes) scores in the
order of ``classes_``. :class:`SegLabForest` is the compiled forest (:mod:`._forest`,
:mod:`._traversal`); :class:`SklearnEstimator` fits a clone of a scikit-learn classifier and
takes its ``predict_proba`` (a one-hot of ``predict`` where it has none).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import SegLabInputError

__all__ = ["SegLabForest", "SklearnEstimator", "check_estimator", "kernel_forest"]


def check_estimator(estimator: Any) -> None:
    """Refuse anything that is not a scikit-learn classifier (``sklearn.base.is_classifier``)."""
    from sklearn.base import is_classifier

    try:
        ok = is_classifier(estimator)
    except AttributeError:  # not an estimator at all (scikit-learn asks for its tags)
        ok = False
    if not ok:
        raise SegLabInputError(
            f"`estimator` must be a scikit-learn classifier (e.g. ExtraTreesClassifier(), or a "
            f"Pipeline ending in one), not {type(estimator).__name__}."
        )


def kernel_forest(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Add the arrays the compiled traversal reads: leaves loop onto themselves."""
    is_leaf = arrays["feature"] < 0
    nodes = np.arange(is_leaf.size, dtype=np.uint32)
    return {
        **arrays,
        "k_feature": np.where(is_leaf, 0, arrays["feature"]).astype(np.uint32),
        "k_threshold": np.where(is_leaf, np.float32(np.inf), arrays["threshold"]).astype(
            np.float32
        ),
        "k_child": np.where(is_leaf, nodes, arrays["child"]).astype(np.uint32),
    }


class SegLabForest:
    """SegLab's random forest (binned features, compiled), as a classifier's model.

    Parameters are those of :class:`~._model.PixelClassifier`; `arrays` and `classes` are
    set by :meth:`fit`, or given for a forest read from a file (checked there).
    """

    def __init__(
        self,
        *,
        n_estimators: int,
        max_depth: int | None,
        class_weight: str | None,
        max_samples: int | None,
        random_state: int,
        n_jobs: int | None,
        arrays: dict[str, np.ndarray] | None = None,
        classes: np.ndarray | None = None,
    ) -> None:
        self.options = {
            "n_estimators": n_estimators,
            "max_depth": max_depth,
            "class_weight": class_weight,
            "max_samples": max_samples,
            "random_state": random_state,
        }
        self.n_jobs = n_jobs
        self.arrays = arrays
        self.classes_ = classes

    def fit(self, x: np.ndarray, y: np.ndarray) -> SegLabForest:
        """Grow the forest on rows `x` (n, F) of class ids `y` (n,)."""
        from . import _forest
        from ._numba import threads

        with threads(self.n_jobs):
            classes, forest = _forest.fit_forest(np.asarray(x, np.float32), y, **self.options)
        self.classes_, self.arrays = classes, kernel_forest(forest)
        return self

    def scores(self, x: np.ndarray, *, exact: bool) -> np.ndarray:
        """Class probabilities (n, k) of pixels `x` (F, n); without `exact`, only the argmax
        of each row is meaningful (a pixel leaves the forest once its class is certain)."""
        from ._numba import threads
        from ._traversal import forest_votes

        with threads(self.n_jobs):
            votes = forest_votes(x, self.arrays, early=not exact)
        if exact:
            votes *= np.float32(1.0 / self.arrays["roots"].size)
        return votes

    @property
    def feature_importances_(self) -> np.ndarray:
        return self.arrays["importances"]


class SklearnEstimator:
    """A scikit-learn classifier as a classifier's model: fitted on a clone of `estimator`.

    Parameters
    ----------
    estimator : scikit-learn classifier
        Left untouched; :meth:`fit` fits ``sklearn.base.clone(estimator)``.
    fitted : scikit-learn classifier, optional
        An already fitted one (read from a file).
    """

    def __init__(self, estimator: Any, fitted: Any = None) -> None:
        check_estimator(estimator)
        self.estimator = estimator
        self.fitted = fitted
        self.classes_ = None if fitted is None else np.asarray(fitted.classes_)

    def fit(self, x: np.ndarray, y: np.ndarray) -> SklearnEstimator:
        """Fit a clone of the estimator on rows `x` (n, F) of class ids `y` (n,)."""
        from sklearn.base import clone

        fitted = clone(self.estimator)
        try:
            fitted.fit(x, y)
        except (ValueError, TypeError) as error:
            raise SegLabInputError(
                f"{type(self.estimator).__name__} could not be trained on the painted pixels: "
                f"{error}"
            ) from error
        self.fitted, self.classes_ = fitted, np.asarray(fitted.classes_)
        return self

    def scores(self, x: np.ndarray, *, exact: bool) -> np.ndarray:
        """Class probabilities (n, k) of pixels `x` (F, n): ``predict_proba``, or a one-hot of
        ``predict`` for an estimator without it. `exact` changes nothing here."""
        rows = x.T
        if hasattr(self.fitted, "predict_proba"):
            return np.asarray(self.fitted.predict_proba(rows), dtype=np.float32)
        predicted = np.searchsorted(self.classes_, self.fitted.predict(rows))
        one_hot = np.zeros((rows.shape[0], self.classes_.size), np.float32)
        one_hot[np.arange(rows.shape[0]), predicted] = 1.0
        return one_hot

    @property
    def feature_importances_(self) -> np.ndarray | None:
        values = getattr(self.fitted, "feature_importances_", None)
        return None if values is None else np.asarray(values, np.float64)
