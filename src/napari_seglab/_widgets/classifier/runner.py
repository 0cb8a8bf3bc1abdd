"""One background run of the classifier at a time, in a napari worker thread.

:class:`Runner` starts :func:`.jobs.run` on a plan, carries its progress to the GUI thread, and
hands back only the results of a run that is still current: a cancelled run (Cancel, a newer
live request, the widget closed) writes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qtpy.QtCore import QObject, Signal

from ...core._validation import Cancelled
from .jobs import run
from .warmup import start_warm_up

if TYPE_CHECKING:
    from superqt.utils import GeneratorWorker

    from .plans import Plan, Request, Result

__all__ = ["Job", "Runner"]


@dataclass
class Job:
    """A run in progress: whether it is a live update, and what that brings up to date."""

    live: bool
    request: Request | None
    cancel: threading.Event
    worker: GeneratorWorker | None = None


def _when_ready(plan: Plan, cancel: Callable[[], bool], progress: Callable[[float], None]):
    """:func:`.jobs.run`, once the warm-up has loaded the compiled code (compiling or loading
    it here would hold the interpreter lock and freeze the GUI)."""
    ready = start_warm_up()
    while not ready.wait(0.05):
        if cancel():
            raise Cancelled("Cancelled while waiting for the compiled code.")
        yield None
    return (yield from run(plan, cancel, progress))


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
        worker = create_worker(
            _when_ready,
            plan,
            job.cancel.is_set,
            self._relay.progressed.emit,
            _ignore_errors=True,  # errors go to on_error, they are not re-raised
        )
        job.worker = worker
        self.job = job
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

    def close(self) -> None:
        """Stop the current run and drop every result from now on."""
        self.closed = True
        self.cancel()

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
