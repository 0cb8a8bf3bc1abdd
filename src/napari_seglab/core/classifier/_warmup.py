"""The classifier's compiled (numba) code: whether it is on disk, and getting it there early.

numba compiles each kernel the first time it is called, and ``cache=True`` keeps the machine
code on disk next to the module, so only the first run after installing compiles (about a
minute), and each new process only loads it (about a second). :func:`warm_up` runs every kernel
once on a tiny image, so that this happens when the caller chooses: in a background process at
install time (``seglab warmup``) or when the classifier widget opens. :func:`notice_compiling`
prints one line the first time a run is going to compile.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np

__all__ = ["NOTICE", "compiled_code_cached", "kernels", "notice_compiling", "warm_up"]

NOTICE = (
    "SegLab: compiling the pixel classifier's code (once after installing, up to a minute; "
    "`seglab warmup` does it ahead of time)..."
)
_KERNEL_MODULES = ("_correlate", "_derivatives", "_forest", "_traversal")
_noticed = threading.Event()


def kernels() -> list:
    """The classifier's compiled kernels called from Python (each cached on disk).

    Those are the ``nogil`` ones; the others are compiled into them.
    """
    from importlib import import_module

    out = []
    for name in _KERNEL_MODULES:
        module = import_module(f"{__package__}.{name}")
        for value in vars(module).values():
            cache = getattr(value, "_cache", None)
            entry = getattr(value, "targetoptions", {}).get("nogil", False)
            if entry and getattr(cache, "_cache_file", None) is not None and value not in out:
                out.append(value)
    return out


def compiled_code_cached() -> bool:
    """Whether numba's on-disk cache holds every kernel (no compiling needed, only loading)."""
    return all(Path(k._cache._cache_file._index_path).is_file() for k in kernels())


def notice_compiling() -> None:
    """Print :data:`NOTICE` on stderr once per process, if the kernels are not on disk yet."""
    if _noticed.is_set():
        return
    _noticed.set()
    if not compiled_code_cached():
        sys.stderr.write(NOTICE + "\n")
        sys.stderr.flush()


def warm_up() -> None:
    """Compile (just after installing) or load every kernel of the classifier, on tiny images.

    Safe to call from a background thread or process; a later classifier in the same process
    then starts at once, and a new process only loads the code that this one wrote to disk.
    The kernels release the interpreter lock while they run; numba holds it while it compiles
    or loads one, so each kernel is loaded separately (the lock is free in between).

    Examples
    --------
    >>> from napari_seglab.core.classifier import compiled_code_cached, warm_up
    >>> warm_up()
    >>> compiled_code_cached()
    True
    """
    from ._model import PixelClassifier
    from ._preview import PlanePreview
    from ._training import TrainingCache
    from .features import FAMILIES, FeatureSettings, compute_features

    _noticed.set()  # the caller chose to compile now: no notice
    rng = np.random.default_rng(0)
    every = dict.fromkeys(FAMILIES, True)
    for mode, shape in (("2d", (24, 24)), ("3d", (12, 12, 12))):
        image = rng.random(shape).astype(np.float32)
        strokes = np.zeros(shape, np.uint8)
        n = shape[-2]
        strokes[..., 1:4, 1:5], strokes[..., n - 4 : n - 1, 1:5] = 1, 2
        settings = FeatureSettings(sigmas=(1.0,), mode=mode, **every)
        for weight in ("balanced", None):
            clf = PixelClassifier(settings, n_estimators=2, max_depth=3, class_weight=weight)
            clf.fit(image, strokes, channel_axis=None, cache=TrainingCache())
        clf.segment(image, channel_axis=None)
        compute_features(image, settings, channel_axis=None)
        plane = shape[0] // 2 if mode == "3d" else None
        preview = PlanePreview(image, settings, channel_axis=None, plane=plane, max_pixels=64)
        preview.segment(clf)
        preview.predict(clf)
