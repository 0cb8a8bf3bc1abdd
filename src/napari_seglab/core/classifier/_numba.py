"""What every compiled (numba) kernel of the classifier shares: the launch lock and threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import numba

__all__ = ["LAUNCH", "at_most", "set_threads", "threads"]


class _LaunchLock:
    """Serialises kernel launches where numba's threading layer needs it.

    numba's fallback "workqueue" layer aborts the process when two threads launch parallel
    kernels at once (e.g. a GUI worker and the console); the "omp" and "tbb" layers are
    thread-safe, so once one of them runs, launches from several threads (chunks of a dask
    image) go at once. Until the first launch has chosen the layer, every launch waits.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self._safe = False

    def __enter__(self) -> None:
        held = not self._safe
        if held:
            self._lock.acquire()
        self._local.held = held

    def __exit__(self, *exc: object) -> None:
        if self._local.held:
            with suppress(ValueError):  # raised until a parallel kernel has run
                self._safe = numba.threading_layer() in ("omp", "tbb")
            self._lock.release()

    @property
    def concurrent(self) -> bool:
        """Whether launches from several threads run at once (a thread-safe layer is known
        to run); until then, and under "workqueue", they run one after the other."""
        return self._safe


LAUNCH = _LaunchLock()
_ceiling = threading.local()  # the cap of `at_most`, per calling thread


def set_threads(n: int | None) -> int:
    """Set numba's thread count for the calling thread, within the cap of an enclosing
    :func:`at_most` (None: the cap, if any, else unchanged); return the previous count."""
    previous = numba.get_num_threads()
    cap = getattr(_ceiling, "n", None)
    if cap is not None:
        n = cap if n is None else min(int(n), cap)
    if n is not None:
        numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
    return previous


@contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Run the block with numba's thread count set to `n` (None: unchanged), then restore it."""
    previous = set_threads(n)
    try:
        yield
    finally:
        set_threads(previous)


@contextmanager
def at_most(n: int) -> Iterator[None]:
    """Run the block on at most `n` numba threads, whatever thread count the code inside
    asks for (a classifier's ``n_jobs``); for the calling thread only."""
    outer = getattr(_ceiling, "n", None)
    previous = set_threads(n)  # within the outer cap
    _ceiling.n = n if outer is None else min(n, outer)
    try:
        yield
    finally:
        _ceiling.n = outer
        set_threads(previous)
