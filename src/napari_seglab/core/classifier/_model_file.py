"""The classifier's file, read without pickle and without running anything from it.

SegLab's forest (format 1): a ``.npz`` of plain arrays and a JSON header. numpy reads it with
``allow_pickle=False``, and every array is checked (:func:`_validate_forest`) before the
compiled traversal may use it.

A scikit-learn `estimator` (format 2): a skops file (``skops.io``) holding the same JSON
header and the fitted estimator. Before skops builds anything, the types the file names that
skops does not trust by itself (``skops.io.get_untrusted_types``) must all be in
:data:`TRUSTED_TYPES`; a file naming any other type (a function, a class of its own) is
refused, and the rest is loaded trusting exactly that list.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import SegLabInputError
from ._estimator import SegLabForest, SklearnEstimator, check_estimator, kernel_forest
from .features import FeatureSettings, feature_names

__all__ = [
    "ESTIMATOR_FORMAT",
    "FOREST_FORMAT",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "NODE_ARRAYS",
    "TRUSTED_TYPES",
    "read",
    "write",
]

FORMAT_NAME = "napari-seglab pixel classifier"
FOREST_FORMAT = 1
"""SegLab's forest: ``.npz`` + JSON header."""
ESTIMATOR_FORMAT = 2
"""A scikit-learn estimator: skops file + JSON header."""
FORMAT_VERSION = ESTIMATOR_FORMAT
"""The newest format this version reads (it reads every older one too)."""

NODE_ARRAYS = ("feature", "threshold", "child", "leaf", "roots", "importances")
"""The forest's arrays, as a model file holds them."""

TRUSTED_TYPES = frozenset(
    {
        # tree ensembles: ExtraTrees, RandomForest, DecisionTree, GradientBoosting
        "sklearn.tree._tree.Tree",
        # HistGradientBoostingClassifier
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        # MLPClassifier's optimisers
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
        # KNeighborsClassifier
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        # numpy scalars and random state
        "numpy.float32",
        "numpy.float64",
        "numpy.int32",
        "numpy.int64",
        "numpy.bool_",
        "numpy.random.mtrand.RandomState",
    }
)
"""The types a skops classifier file may hold beyond those skops trusts by itself
(scikit-learn's estimators, pipelines and preprocessing, Python containers, numpy arrays):
the inner parts of scikit-learn's classifiers and a few numpy types."""


def _versions(*packages: str) -> dict[str, str]:
    import numba

    try:
        ours = version("napari-seglab")
    except PackageNotFoundError:  # pragma: no cover - a source tree that is not installed
        ours = "unknown"
    found = {"napari_seglab": ours, "numba": numba.__version__, "numpy": np.__version__}
    return found | {name: version(name) for name in packages}


def _header(classifier: Any, format_version: int, packages: tuple[str, ...] = ()) -> dict:
    return {
        "format": FORMAT_NAME,
        "format_version": format_version,
        "versions": _versions(*packages),
        "features": classifier.features.to_dict(),
        "feature_names": classifier.feature_names_,
        "n_channels": classifier.n_channels,
        "classes": [int(c) for c in classifier.classes_],
        "class_names": {str(k): v for k, v in classifier.class_names.items()},
        "training": classifier._meta,
    }


def write(classifier: Any, path: str | os.PathLike) -> Path:
    """Write a trained :class:`~._model.PixelClassifier` to `path` (see its ``save``)."""
    path = Path(path)
    model = classifier._model
    if isinstance(model, SklearnEstimator):
        import skops.io

        header = _header(classifier, ESTIMATOR_FORMAT, ("scikit-learn", "skops"))
        header["estimator"] = type(model.fitted).__name__
        skops.io.dump({"header": json.dumps(header), "estimator": model.fitted}, path)
        return path
    header = _header(classifier, FOREST_FORMAT)
    header["forest"] = {
        "n_estimators": classifier.n_estimators,
        "max_depth": classifier.max_depth,
        "class_weight": classifier.class_weight,
        "random_state": classifier.random_state,
        "max_samples": classifier.max_samples,
    }
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        header=np.frombuffer(json.dumps(header).encode(), np.uint8),
        **{name: model.arrays[name] for name in NODE_ARRAYS},
    )
    path.write_bytes(buffer.getvalue())
    return path


def _is_skops(path: Path) -> bool:
    """Whether `path` is a skops archive (a zip with a ``schema.json``), not a ``.npz``."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "schema.json" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def read(cls: type, path: str | os.PathLike) -> Any:
    """A classifier of class `cls` from a file :func:`write` wrote; refuses anything else."""
    path = Path(path)
    if not path.is_file():
        raise SegLabInputError(f"No such classifier file: {path}")
    not_ours = (
        f"{path.name} is not a napari-seglab classifier file (expected a .npz or .skops "
        "written by PixelClassifier.save)."
    )
    if _is_skops(path):
        header, content, expected = *_read_skops(path, not_ours), ESTIMATOR_FORMAT
    else:
        header, content, expected = *_read_npz(path, not_ours), FOREST_FORMAT
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise SegLabInputError(not_ours)
    version = header.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        made_by = header.get("versions", {}).get("napari_seglab", "an unknown version")
        raise SegLabInputError(
            f"{path.name} uses classifier format {version!r}, made by napari-seglab "
            f"{made_by}; this napari-seglab reads formats 1 to {FORMAT_VERSION}. Update "
            "napari-seglab to open it."
        )
    if version != expected:
        raise SegLabInputError(
            f"{path.name} was refused: its header says format {version}, its content is "
            f"format {expected}; it was edited."
        )
    try:
        return _from_parts(cls, header, content)
    except SegLabInputError as error:
        raise SegLabInputError(f"{path.name} was refused: {error}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise SegLabInputError(
            f"{path.name} was refused: its content is damaged or was edited ({error!r})."
        ) from None


def _read_npz(path: Path, not_ours: str) -> tuple[Any, dict[str, np.ndarray]]:
    """Header and arrays of a format-1 file."""
    pickled = (
        f"{path.name} is not a napari-seglab classifier file: it holds pickled Python "
        "objects, which were not loaded (loading them could run code). The file is foreign "
        "or was tampered with."
    )
    if not zipfile.is_zipfile(path):  # np.load would take any other file for a pickle
        with path.open("rb") as fh:
            first = fh.read(1)
        # a pickle of protocol 2 or later starts with b"\x80" (then the protocol number)
        raise SegLabInputError(pickled if first == b"\x80" else not_ours)
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = set(archive.files)
            if "header" not in names:
                raise SegLabInputError(not_ours)
            arrays = {name: archive[name] for name in names}
    except SegLabInputError:
        raise
    except ValueError as error:
        if "pickle" in str(error) or "Object arrays" in str(error):
            raise SegLabInputError(pickled) from None
        raise SegLabInputError(not_ours) from None
    except (OSError, zipfile.BadZipFile, EOFError):
        raise SegLabInputError(not_ours) from None
    try:
        header = json.loads(arrays.pop("header").astype(np.uint8).tobytes().decode())
    except (ValueError, UnicodeDecodeError):
        raise SegLabInputError(not_ours) from None
    return header, arrays


def _read_skops(path: Path, not_ours: str) -> tuple[Any, Any]:
    """Header and fitted estimator of a format-2 file, trusting only :data:`TRUSTED_TYPES`."""
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(file=path)
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile):
        raise SegLabInputError(not_ours) from None
    refused = sorted(set(untrusted) - TRUSTED_TYPES)
    if refused:
        raise SegLabInputError(
            f"{path.name} was refused: it holds {', '.join(refused)}, which is not among the "
            "scikit-learn and numpy types SegLab trusts in a classifier file. Nothing of it "
            "was loaded (loading an untrusted type could run code). The file is foreign or "
            "was tampered with."
        )
    try:
        content = skops.io.load(path, trusted=list(untrusted))
    except (OSError, KeyError, TypeError, ValueError, AttributeError, zipfile.BadZipFile):
        raise SegLabInputError(
            f"{path.name} was refused: its content is damaged or was edited."
        ) from None
    if (
        not isinstance(content, dict)
        or set(content) != {"header", "estimator"}
        or not isinstance(content["header"], str)
    ):
        raise SegLabInputError(not_ours)
    try:
        header = json.loads(content["header"])
    except ValueError:
        raise SegLabInputError(not_ours) from None
    return header, content["estimator"]


def _from_parts(cls: type, header: dict[str, Any], content: Any) -> Any:
    settings = FeatureSettings.from_dict(header["features"])
    n_channels = header["n_channels"]
    if not isinstance(n_channels, int) or n_channels < 1:
        raise SegLabInputError(f"invalid channel count {n_channels!r}.")
    expected = feature_names(settings, n_channels)
    stored = list(header["feature_names"])
    if stored != expected:
        unknown = sorted(set(stored) - set(expected))
        raise SegLabInputError(
            f"its features do not match its settings (unknown feature(s): "
            f"{unknown or 'none'}; {len(stored)} stored, {len(expected)} expected)."
        )
    classes = np.asarray(header["classes"], dtype=np.int64)
    if classes.ndim != 1 or classes.size < 2 or classes.min() < 1 or classes.max() > 255:
        raise SegLabInputError(f"invalid classes {header['classes']!r}.")
    names = {int(k): v for k, v in header["class_names"].items()}
    meta = dict(header.get("training", {}))
    if header["format_version"] == ESTIMATOR_FORMAT:
        clf = _estimator_classifier(cls, settings, names, content, classes, len(expected))
        return clf._trained(SklearnEstimator(clf.estimator, fitted=content), n_channels, meta)
    forest_info = header["forest"]
    options = {
        "n_estimators": forest_info["n_estimators"],
        "max_depth": forest_info["max_depth"],
        "class_weight": forest_info["class_weight"],
        "random_state": forest_info["random_state"],
        "max_samples": forest_info.get("max_samples"),
    }
    clf = cls(settings, class_names=names, **options)
    missing = [name for name in NODE_ARRAYS if name not in content]
    if missing:
        raise SegLabInputError(f"missing array(s) {missing}.")
    arrays = _validate_forest(
        {name: content[name] for name in NODE_ARRAYS}, len(expected), classes.size
    )
    forest = SegLabForest(**options, n_jobs=None, arrays=arrays, classes=classes)
    return clf._trained(forest, n_channels, meta)


def _estimator_classifier(
    cls: type,
    settings: FeatureSettings,
    names: dict[int, str],
    fitted: Any,
    classes: np.ndarray,
    n_features: int,
) -> Any:
    """An unfitted classifier for a fitted estimator read from a file, once it is checked."""
    from sklearn.base import clone

    check_estimator(fitted)
    if not np.array_equal(np.asarray(getattr(fitted, "classes_", [])), classes):
        raise SegLabInputError("its estimator's classes do not match its header.")
    if getattr(fitted, "n_features_in_", None) != n_features:
        raise SegLabInputError(
            f"its estimator takes {getattr(fitted, 'n_features_in_', '?')} features, not the "
            f"{n_features} its settings compute."
        )
    return cls(settings, estimator=clone(fitted), class_names=names)


def _validate_forest(
    arrays: dict[str, np.ndarray], n_features: int, n_classes: int
) -> dict[str, np.ndarray]:
    """Check a forest read from a file so the compiled traversal can never go astray."""
    dtypes = {
        "feature": np.int32,
        "threshold": np.float32,
        "child": np.int32,
        "leaf": np.float32,
        "roots": np.int32,
        "importances": np.float64,
    }
    for name, dtype in dtypes.items():
        if arrays[name].dtype != dtype:
            raise SegLabInputError(f"array {name!r} has type {arrays[name].dtype}, not {dtype}.")
    feature, threshold, child = arrays["feature"], arrays["threshold"], arrays["child"]
    leaf, roots = arrays["leaf"], arrays["roots"]
    n_nodes = feature.size
    if not (feature.ndim == threshold.ndim == child.ndim == roots.ndim == 1):
        raise SegLabInputError("node arrays must be one-dimensional.")
    if not (threshold.size == child.size == n_nodes) or n_nodes == 0:
        raise SegLabInputError("node arrays have different lengths.")
    if leaf.shape != (n_nodes, n_classes):
        raise SegLabInputError(f"leaf values have shape {leaf.shape}, not {(n_nodes, n_classes)}.")
    if roots.size < 1 or roots[0] != 0 or np.any(np.diff(roots) <= 0) or roots[-1] >= n_nodes:
        raise SegLabInputError("tree offsets are inconsistent.")
    internal = feature >= 0
    if np.any(feature[~internal] != -1) or np.any(feature >= n_features):
        raise SegLabInputError(
            f"a node uses a feature outside the {n_features} this classifier computes."
        )
    # Children come after their parent and inside the parent's tree, so every traversal
    # ends at a leaf of the same tree.
    ends = np.append(roots[1:], n_nodes)
    tree_end = np.repeat(ends, np.diff(np.append(roots, n_nodes)))
    nodes = np.arange(n_nodes)
    if np.any(internal & ((child <= nodes) | (child + 1 >= tree_end))) or np.any(
        child[~internal] != -1
    ):
        raise SegLabInputError("a tree links to nodes outside itself.")
    if not np.all(np.isfinite(threshold[internal])):
        raise SegLabInputError("a split threshold is not a finite number.")
    if not np.all(np.isfinite(leaf)) or np.any(leaf < 0) or np.any(leaf > 1 + 1e-5):
        raise SegLabInputError("leaf probabilities are not between 0 and 1.")
    importances = arrays["importances"]
    if importances.shape != (n_features,) or not np.all(np.isfinite(importances)):
        raise SegLabInputError("feature importances do not match the features.")
    return kernel_forest({name: np.ascontiguousarray(arrays[name]) for name in NODE_ARRAYS})
