"""One background run of the classifier at a time, in a napari worker thread.

:class:`Runner` starts :func:`.jobs.run` on a plan, carries its progress to the GUI thread, and
hands back only the results of a run that is still current: a cancelled run (Cancel, a newer
live request, the widget closed) writes nothing.

Closing the widget (its close button, or the viewer closing) also waits, for at most
:data:`CLOSE_WAIT_S`, until the run's thread has stopped. A script that closes the viewer and
ends (with no ``napari.run()``, whose quit waits for napari's workers) otherwise left the run
going while Python shut down, and its next signal (progress, error) aborted the process
("Fatal Python error: Aborted", or a segmentation fault) in about half of the runs.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from napari.qt.threading import GeneratorWorker
from qtpy.QtCore import QObject, QThreadPool, Signal

from ...core._validation import Cancelled
from .._shared import stop_workers_at_exit
from .jobs import run
from .warmup import start_warm_up

if TYPE_CHECKING:
    from .plans import Plan, Request, Result

__all__ = ["CLOSE_WAIT_S", "Job", "Runner"]

# How long closing the widget waits for its run to stop: a run notices Cancel within one band
# or tile (well under a second), but not inside a step that cannot stop halfway (fitting).
CLOSE_WAIT_S = 5.0


@dataclass
class Job:
    """A run in progress: whether it is a live update, and what that brings up to date."""

    live: bool
    request: Request | None
    cancel: threading.Event
    worker: _Worker | None = None


def _when_ready(plan: Plan, cancel: Callable[[], bool], progress: Callable[[float], None]):
    """:func:`.jobs.run`, once the warm-up has loaded the compiled code (compiling or loading
    it here would hold the interpreter lock and freeze the GUI)."""
    ready = start_warm_up()
    while not ready.wait(0.05):
        if cancel():
            raise Cancelled("Cancelled while waiting for the compiled code.")
        yield None
    return (yield from run(plan, cancel, progress))


class _Worker(GeneratorWorker):
    """napari's generator worker, which tells when its thread is done with it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.begun = threading.Event()  # its thread has started running it
        self.done = threading.Event()  # ... and is past its last signal

    def run(self) -> None:
        self.begun.set()
        try:
            super().run()
        finally:
            self.done.set()

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for its thread to be done with it; whether it is.

        A worker still queued in the thread pool is taken off the queue instead (one not yet
        queued, and asked to quit, stops as soon as it starts).
        """
        if not self.begun.is_set() and QThreadPool.globalInstance().tryTake(self):
            return True
        return not self.begun.is_set() or self.done.wait(timeout)


class _Relay(QObject):
    """Carries progress from the worker thread to the progress bar (queued Qt signal)."""

    progressed = Signal(float)


class Runner:
    """Runs plans off the GUI thread, one at a time.

    Parameters
    ----------
    on_result : callable
        ``on_result(job, result)`` for each result of the current run (a live update's
        preview, then its refinement), on the GUI thread.
    on_error : callable
        ``on_error(job, error)`` when the current run fails.
    on_finished : callable
        ``on_finished(job)`` once a run is over, cancelled or not.
    on_progress : callable
        ``on_progress(fraction)`` on the GUI thread.
    """

    def __init__(
        self,
        *,
        on_result: Callable[[Job, Result], None],
        on_error: Callable[[Job, Exception], None],
        on_finished: Callable[[Job], None],
        on_progress: Callable[[float], None],
    ) -> None:
        self._on_result = on_result
        self._on_error = on_error
        self._on_finished = on_finished
        self._relay = _Relay()
        self._relay.progressed.connect(on_progress)
        self.job: Job | None = None
        self.closed = False

    def start(self, plan: Plan) -> GeneratorWorker:
        """Start `plan` in a worker thread (the caller checks that none is running)."""
        from napari.qt.threading import create_worker

        job = Job(
            live=plan.live, request=plan.request if plan.live else None, cancel=threading.Event()
        )
        relay = self._relay

        def cancelled() -> bool:
            # also when napari asks the worker to quit (its quit, its activity dock's cancel)
            return job.cancel.is_set() or (job.worker is not None and job.worker.abort_requested)

        def progress(fraction: float) -> None:
            if not cancelled():  # a closed widget's relay may be gone
                relay.progressed.emit(fraction)

        worker = create_worker(
            _when_ready,
            plan,
            cancelled,
            progress,
            _worker_class=_Worker,
            _ignore_errors=True,  # errors go to on_error, they are not re-raised
        )
        job.worker = worker
        self.job = job
        stop_workers_at_exit()  # a script that ends with the run going (no viewer closed)
        worker.yielded.connect(lambda result: result and self._result(job, result))
        worker.returned.connect(lambda result: self._result(job, result))
        worker.errored.connect(lambda err: self._error(job, err))
        worker.finished.connect(lambda: self._finished(job))
        worker.start()
        return worker

    def cancel(self) -> bool:
        """Stop the current run at its next step; whether one was running."""
        job = self.job
        if job is None:
            return False
        job.cancel.set()
        if job.worker is not None:
            job.worker.quit()
        return True

    def close(self, timeout: float = CLOSE_WAIT_S) -> bool:
        """Stop for good: cancel the current run, drop every result and progress from now
        on, and wait up to `timeout` seconds for the run's thread to stop.

        Parameters
        ----------
        timeout : float
            Seconds to wait (blocking the GUI thread) for a run that has not yet noticed
            the cancel; 0 does not wait.

        Returns
        -------
        bool
            Whether no run is left in a thread (False: it was still going after `timeout`).
        """
        self.closed = True
        with contextlib.suppress(TypeError, RuntimeError):  # already disconnected or deleted
            self._relay.progressed.disconnect()
        job = self.job
        self.cancel()
        return job is None or job.worker is None or job.worker.wait(timeout)

    def _current(self, job: Job) -> bool:
        return not self.closed and not job.cancel.is_set() and self.job is job

    def _result(self, job: Job, result: Result) -> None:
        if self._current(job):
            self._on_result(job, result)

    def _error(self, job: Job, err: Exception) -> None:
        if self._current(job):
            self._on_error(job, err)

    def _finished(self, job: Job) -> None:
        if self.job is job:
            self.job = None
        if not self.closed:
            self._on_finished(job)
