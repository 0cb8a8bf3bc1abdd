"""What every compiled (numba) kernel of the classifier shares: the launch lock and threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numba

__all__ = ["LAUNCH", "set_threads", "threads"]

# numba's fallback "workqueue" threading layer aborts the process when two threads launch
# parallel kernels at once (e.g. a GUI worker and the console); launches are serialised.
LAUNCH = threading.Lock()


def set_threads(n: int | None) -> int:
    """Set numba's thread count for the calling thread; return the previous one."""
    previous = numba.get_num_threads()
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
