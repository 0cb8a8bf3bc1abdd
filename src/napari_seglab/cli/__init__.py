"""The ``seglab`` command: threshold, clean up, classify and evaluate images of any size.

Every step reads its input lazily (zarr, TIFF, PNG, ...) and works chunk by chunk with the same
results as in napari or Python, on this computer's cores or on a dask cluster
(``--scheduler``). Run ``seglab --help`` or ``seglab <step> --help``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..core._validation import SegLabInputError
from ._parser import parser
from ._steps import STEPS, progress, scheduler

__all__ = ["main"]


def _tune_malloc() -> None:
    """Tell glibc how to manage the chunks' memory (on Linux): two arenas, memory kept.

    By default glibc gives each thread that allocates (dask's, zarr's) its own arena and
    keeps the memory freed there for that thread, so the resident size of a long chunked
    run creeps up to several times the memory in use (about 800 instead of 550 MiB for
    16 MiB chunks): at most two arenas (``MALLOC_ARENA_MAX=2``) keep the peak near what is
    in use at no cost in speed. And every chunk-sized array (a decoded chunk, a mask, a
    label image) freed at the top of an arena would be handed back to the system and
    faulted in again page by page for the next chunk, a few milliseconds per 16 MiB: arrays
    up to 32 MiB (glibc's largest ``M_MMAP_THRESHOLD``) come from the arenas, and up to
    ``_TRIM_BYTES`` freed at their top stay there (a quarter of the page faults of the
    pipeline; its peak memory is unchanged). Settings made through the environment
    (``MALLOC_*_``) are left alone; elsewhere this does nothing.
    """
    import os

    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl)
        return
    m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8
    for name, option, value in (
        ("MALLOC_ARENA_MAX", m_arena_max, 2),
        ("MALLOC_MMAP_THRESHOLD_", m_mmap_threshold, 32 << 20),
        ("MALLOC_TRIM_THRESHOLD_", m_trim_threshold, _TRIM_BYTES),
    ):
        if name not in os.environ:
            libc.mallopt(option, value)


_TRIM_BYTES = 128 << 20
"""Freed memory that glibc keeps at the top of an arena instead of giving it back."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``seglab`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 2 for bad input (the message is printed, without a
        traceback), 130 when interrupted.

    Examples
    --------
    >>> import tempfile
    >>> main(["sample", tempfile.mkdtemp()])  # doctest: +ELLIPSIS
    wrote ...kesm_grayscale.png
    wrote ...kesm_groundtruth.png
    0
    """
    from ..core import Cancelled

    args = parser().parse_args(argv)
    _tune_malloc()
    try:
        with (
            scheduler(getattr(args, "scheduler", None)),
            progress(getattr(args, "quiet", True) or args.step == "sample"),
        ):
            STEPS[args.step](args)
    except SegLabInputError as err:
        sys.stderr.write(f"seglab {args.step}: error: {err}\n")
        return 2
    except (KeyboardInterrupt, Cancelled):
        sys.stderr.write(f"seglab {args.step}: interrupted; no output was written.\n")
        return 130
    return 0
