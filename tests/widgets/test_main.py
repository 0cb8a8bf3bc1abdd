"""``python -m napari_seglab --screenshot``: the README's first quick-start command."""

import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np

SRC = Path(__file__).resolve().parents[2] / "src"


def screenshot(tmp_path: Path, *args: str, **env: str) -> np.ndarray:
    path = tmp_path / "seglab.png"
    environ = {**os.environ, **env}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "napari_seglab", "--screenshot", str(path), *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return iio.imread(path)


def test_screenshot_shows_the_validated_kesm_example(tmp_path):
    shot = screenshot(tmp_path)
    assert shot.ndim == 3 and shot.shape[0] > 600 and shot.shape[1] > 1000
    rgb = shot[..., :3].astype(int)
    cyan = (rgb[..., 0] < 80) & (rgb[..., 1] > 180) & (rgb[..., 2] > 180)  # TP overlay
    magenta = (rgb[..., 0] > 180) & (rgb[..., 1] < 80) & (rgb[..., 2] > 180)  # FP
    assert cyan.sum() > 1000 and magenta.sum() > 20
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 1000  # a real window, not a blank


def test_screenshot_works_when_qt_is_offscreen(tmp_path):
    """Offscreen Qt has no OpenGL for napari: the command re-runs itself under xvfb-run."""
    shot = screenshot(tmp_path, "--no-demo", QT_QPA_PLATFORM="offscreen")
    gray = shot[..., :3].mean(axis=-1)
    assert shot.shape[1] > 1000 and gray.std() > 10
