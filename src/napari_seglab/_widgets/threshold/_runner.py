"""The threshold widget's one-job-at-a-time runner: buttons, Cancel, and what the summary says.

A mixin of :class:`~.widget.ThresholdWidget` (which has the buttons, the ``summary`` label and
``try_all_result`` it uses), so that the widget module holds the controls only.
"""

from __future__ import annotations

from napari.utils.notifications import show_error

from .._shared import run_job

__all__ = ["JobRunner"]


class JobRunner:
    """Runs the widget's jobs off the GUI thread, one at a time (see ``_shared.run_job``).

    Attributes
    ----------
    worker : GeneratorWorker or None
        The computation in progress, if any.
    """

    worker = None
    _pending = ""  # the job running (until its result is applied)
    _error = ""  # why it failed

    @property
    def busy(self) -> bool:
        """Whether a computation is running."""
        return self.worker is not None

    def start(self, job, *args, on_returned, what: str, steps: int, block: bool):
        """Run a job of :mod:`._jobs` (one at a time), buttons disabled until it finishes.

        If the job returns nothing (refused, failed or cancelled) the summary says so, so
        that it never shows an earlier result as the outcome of this one.
        """
        if self.busy:
            show_error("SegLab is still computing; wait for it or press Cancel.")
            return None
        self.run_button.enabled = self.try_all_button.enabled = self.use_button.enabled = False
        self.cancel_button.enabled = not block
        self._pending, self._error = what, ""

        def applied(output) -> None:
            self._pending = ""
            on_returned(output)

        def watched(*job_args):
            try:
                return (yield from job(*job_args))
            except Exception as err:  # reported by run_job; kept for the summary
                self._error = str(err)
                raise

        self.worker = run_job(
            watched,
            *args,
            on_returned=applied,
            on_finished=self._finished,
            what=what,
            steps=steps,
            owner=self,
            block=block,
        )
        return self.worker

    def refuse(self, message: str) -> None:
        """Say why nothing was done: a notification, and the summary."""
        show_error(message)
        self.summary.value = f"Nothing changed: {message}"

    def _finished(self) -> None:
        self.worker = None
        self.run_button.enabled = self.try_all_button.enabled = True
        self.use_button.enabled = self.try_all_result is not None
        self.cancel_button.enabled = False
        if self._pending:
            why = self._error or "cancelled"
            self.summary.value = f"{self._pending}: nothing changed ({why})."

    def cancel(self) -> None:
        """Stop the computation in progress at its next step; nothing is changed."""
        if self.worker is not None:
            self.worker.quit()
