"""Closing the viewer, or ending a script, while a widget's run is in flight quits cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

# A script that closes the viewer while the classifier's run is in a step that notices Cancel
# only after a while (as fitting does), reporting progress meanwhile, and then ends without
# napari.run() (whose quit waits for napari's workers). Before the fix, Python shut down with
# the run still going and its next signal aborted the process (exit code 134 or 139) in about
# half of the runs, and progress reached the deleted progress bar (RuntimeError tracebacks).
SCRIPT = textwrap.dedent(
    """
    import sys
    import time

    import napari
    import numpy as np
    from qtpy.QtCore import QEventLoop, QThreadPool, QTimer

    import napari_seglab._widgets.classifier.runner as runner


    def slow(plan, cancel, progress):
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            progress(0.5)
            time.sleep(0.005)
        yield None
        raise RuntimeError("this run should have been cancelled")


    runner.run = slow


    def spin(ms):
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()


    viewer = napari.Viewer(show=False)
    viewer.add_image(np.random.default_rng(0).random((64, 64)), name="img")
    _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Pixel classifier")
    training = widget.add_training_layer()
    training.data[5:10, 5:10] = 1
    training.data[40:45, 40:45] = 2
    widget.controls.live.value = False
    assert widget.train() is not None
    spin(300)  # the run is going, and reporting progress
    assert widget.busy
    viewer.close()
    left = QThreadPool.globalInstance().activeThreadCount()
    spin(100)  # deliver whatever the run sent before it stopped
    print(f"threads left running: {left}", file=sys.stderr)
    sys.exit(3 if left else 0)
    """
)


# A script that starts a job of the other widgets (threshold, validate, batch ...: run_job)
# and ends while it runs. Before the fix, Python shut down with the worker still going (and
# the worker then ran into its deleted signals). The check registered first runs last, after
# SegLab's exit hook.
SCRIPT_RUN_JOB = textwrap.dedent(
    """
    import atexit
    import os
    import sys
    import time

    from qtpy.QtCore import QThreadPool
    from qtpy.QtWidgets import QApplication


    def check():
        left = QThreadPool.globalInstance().activeThreadCount()
        print(f"threads left running: {left}", file=sys.stderr, flush=True)
        if left:
            os._exit(3)


    atexit.register(check)
    app = QApplication([])
    from napari_seglab._widgets._shared import run_job


    def job():
        for _ in range(400):  # 2 s, in short steps
            time.sleep(0.005)
            yield None
        return 1


    run_job(job, on_returned=print, on_finished=lambda: None, what="a job", steps=1)
    time.sleep(0.2)  # the job is running; the script ends
    """
)


def _run(script, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / "script.py"
    path.write_text(script)
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)


def _assert_clean(done: subprocess.CompletedProcess) -> None:
    assert "threads left running: 0" in done.stderr, done.stderr[-3000:]
    for sign in ("Traceback", "Fatal Python error", "QThread: Destroyed", "RuntimeError"):
        assert sign not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs a display (pytest-xvfb)")
def test_closing_the_viewer_mid_run_stops_the_classifier_run_and_exits_cleanly(tmp_path):
    _assert_clean(_run(SCRIPT, tmp_path))


def test_a_script_ending_mid_job_waits_for_the_worker_to_stop(tmp_path):
    _assert_clean(_run(SCRIPT_RUN_JOB, tmp_path))
