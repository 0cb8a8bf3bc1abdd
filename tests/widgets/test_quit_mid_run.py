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
    from qtpy.QtWidgets import QWidget

    from napari_seglab._widgets._shared import run_job


    def job():
        for _ in range(400):  # 2 s, in short steps
            time.sleep(0.005)
            yield None
        return 1


    owner = QWidget()
    run_job(job, on_returned=print, on_finished=lambda: None, what="a job", steps=1, owner=owner)
    time.sleep(0.2)  # the job is running; the script ends
    """
)


# A session that goes on (a notebook) after the viewer was closed while Threshold's "Try all"
# or Apply to whole volume ran. Before the fix, the job's end touched the deleted panel's
# buttons or progress bar: "RuntimeError: wrapped C/C++ object ... has been deleted" in a Qt
# slot, and the process aborted.
SCRIPT_SESSION_GOES_ON = textwrap.dedent(
    """
    import sys

    import dask.array as da
    import napari
    import numpy as np
    from qtpy.QtCore import QEventLoop, QThreadPool, QTimer

    import napari_seglab as sl


    def spin(ms):
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()


    image, _ = sl.load_kesm()
    stack = np.stack([np.roll(image, 3 * i, axis=1) for i in range(60)])
    viewer = napari.Viewer(show=False)
    lazy = sys.argv[1] == "batch"  # Try all on a lazy stack looks at the plane in view only
    layer = viewer.add_image(da.from_array(stack, chunks=(4, 512, 512)) if lazy else stack)
    if sys.argv[1] == "threshold":
        _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Threshold")
        worker = widget.try_all()
    else:
        _, widget = viewer.window.add_plugin_dock_widget("napari-seglab", "Apply to whole volume")
        widget.reset_choices()
        widget.set_options(
            image=layer, operation="threshold", method="otsu", median=3, output=sys.argv[2]
        )
        worker = widget.run()
    assert worker is not None
    spin(300)
    assert worker.is_running
    viewer.close()
    spin(3000)  # the session goes on; the job ends meanwhile
    left = QThreadPool.globalInstance().activeThreadCount()
    print(f"threads left running: {left}", file=sys.stderr)
    """
)


def _run(script, tmp_path, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "script.py"
    path.write_text(script)
    return subprocess.run(
        [sys.executable, str(path), *args], capture_output=True, text=True, timeout=120
    )


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


@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs a display (pytest-xvfb)")
@pytest.mark.parametrize("panel", ["threshold", "batch"])
def test_closing_the_viewer_mid_job_in_a_session_that_goes_on(tmp_path, panel):
    out = tmp_path / "out.zarr"
    _assert_clean(_run(SCRIPT_SESSION_GOES_ON, tmp_path, panel, str(out)))
    assert not out.exists() and not (tmp_path / "out.zarr.partial").exists()  # cancelled
