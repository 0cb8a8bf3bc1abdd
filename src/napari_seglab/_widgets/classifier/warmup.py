"""The classifier's compiled code, made ready while the user opens images and paints.

numba compiles the classifier's kernels once after installing (about a minute) and each new
process loads them from disk (about a second); either, on the GUI thread or in a thread that
holds the interpreter lock, would freeze napari. :func:`start_warm_up` does both out of the
way when the widget opens: compiling in a separate process (which fills numba's on-disk cache
without touching this process), then loading the cached code in a background thread, kernel by
kernel (the lock is free in between).
"""

from __future__ import annotations

import subprocess
import sys
import threading

__all__ = ["WARM_UP_COMMAND", "start_warm_up", "warm_up_done"]

WARM_UP_COMMAND = (
    sys.executable,
    "-c",
    "from napari_seglab.core.classifier import warm_up; warm_up()",
)
_lock = threading.Lock()
_thread: threading.Thread | None = None
_done = threading.Event()


def _run() -> None:
    try:
        from ...core.classifier import compiled_code_cached, warm_up

        if not compiled_code_cached():
            subprocess.run(WARM_UP_COMMAND, check=False, capture_output=True, timeout=1800)
        warm_up()
    except Exception:  # an early start only: the first run reports any failure
        pass
    finally:
        _done.set()


def start_warm_up() -> threading.Event:
    """Start (once per process) compiling and loading the classifier's code in the background.

    Returns
    -------
    threading.Event
        Set once the code is loaded (or the warm-up gave up: the first run then does it).
    """
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_run, name="seglab-classifier-warm-up", daemon=True)
            _thread.start()
    return _done


def warm_up_done() -> bool:
    """Whether the classifier's code is loaded in this process (by the warm-up)."""
    return _done.is_set()
