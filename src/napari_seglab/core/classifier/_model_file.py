"""The classifier's file: a ``.npz`` of plain arrays and a JSON header, read without pickle.

Opening a file can never run code: numpy reads it with ``allow_pickle=False``, and every array
is checked (:func:`validate_forest`) before the compiled traversal may use it.
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
from .features import FeatureSettings, feature_names

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "NODE_ARRAYS", "kernel_forest", "read", "write"]

FORMAT_NAME = "napari-seglab pixel classifier"
FORMAT_VERSION = 1

NODE_ARRAYS = ("feature", "threshold", "child", "leaf", "roots", "importances")
"""The forest's arrays, as a model file holds them."""


def _versions() -> dict[str, str]:
    import numba

    try:
        ours = version("napari-seglab")
    except PackageNotFoundError:  # pragma: no cover - a source tree that is not installed
        ours = "unknown"
    return {"napari_seglab": ours, "numba": numba.__version__, "numpy": np.__version__}


def write(classifier: Any, path: str | os.PathLike) -> Path:
    """Write a trained :class:`~._model.PixelClassifier` to `path` (see its ``save``)."""
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "features": classifier.features.to_dict(),
        "feature_names": classifier.feature_names_,
        "n_channels": classifier.n_channels,
        "classes": [int(c) for c in classifier.classes_],
        "class_names": {str(k): v for k, v in classifier.class_names.items()},
        "forest": {
            "n_estimators": classifier.n_estimators,
            "max_depth": classifier.max_depth,
            "class_weight": classifier.class_weight,
            "random_state": classifier.random_state,
            "max_samples": classifier.max_samples,
        },
        "training": classifier._meta,
    }
    path = Path(path)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        header=np.frombuffer(json.dumps(header).encode(), np.uint8),
        **{name: classifier._forest[name] for name in NODE_ARRAYS},
    )
    path.write_bytes(buffer.getvalue())
    return path


def read(cls: type, path: str | os.PathLike) -> Any:
    """A classifier of class `cls` from a file :func:`write` wrote; refuses anything else."""
    path = Path(path)
    if not path.is_file():
        raise SegLabInputError(f"No such classifier file: {path}")
    not_ours = (
        f"{path.name} is not a napari-seglab classifier file (expected a .npz written by "
        "PixelClassifier.save)."
    )
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
            raise SegLabInputError(
                f"{path.name} is not a napari-seglab classifier file: it holds pickled "
                "Python objects, which were not loaded (loading them could run code). "
                "The file is foreign or was tampered with."
            ) from None
        raise SegLabInputError(not_ours) from None
    except (OSError, zipfile.BadZipFile, EOFError):
        raise SegLabInputError(not_ours) from None
    try:
        header = json.loads(arrays.pop("header").astype(np.uint8).tobytes().decode())
    except (ValueError, UnicodeDecodeError):
        raise SegLabInputError(not_ours) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise SegLabInputError(not_ours)
    version = header.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        made_by = header.get("versions", {}).get("napari_seglab", "an unknown version")
        raise SegLabInputError(
            f"{path.name} uses classifier format {version!r}, made by napari-seglab "
            f"{made_by}; this napari-seglab reads format {FORMAT_VERSION}. Update "
            "napari-seglab to open it."
        )
    try:
        return _from_parts(cls, header, arrays)
    except SegLabInputError as error:
        raise SegLabInputError(f"{path.name} was refused: {error}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise SegLabInputError(
            f"{path.name} was refused: its content is damaged or was edited ({error!r})."
        ) from None


def _from_parts(cls: type, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    settings = FeatureSettings.from_dict(header["features"])
    forest_info = header["forest"]
    clf = cls(
        settings,
        n_estimators=forest_info["n_estimators"],
        max_depth=forest_info["max_depth"],
        class_weight=forest_info["class_weight"],
        random_state=forest_info["random_state"],
        max_samples=forest_info.get("max_samples"),
        class_names={int(k): v for k, v in header["class_names"].items()},
    )
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
    missing = [name for name in NODE_ARRAYS if name not in arrays]
    if missing:
        raise SegLabInputError(f"missing array(s) {missing}.")
    forest = _validate_forest(
        {name: arrays[name] for name in NODE_ARRAYS}, len(expected), classes.size
    )
    return clf._trained(forest, classes, n_channels, dict(header.get("training", {})))


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
