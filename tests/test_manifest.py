"""The napari manifest reaches the package, is valid, and core stays free of GUI imports."""

import importlib
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from npe2 import PluginManifest

ROOT = Path(__file__).resolve().parents[1]


def test_packaged_manifest_is_the_top_level_one():
    packaged = files("napari_seglab") / "napari.yaml"
    assert packaged.read_text() == (ROOT / "napari.yaml").read_text()
    link = ROOT / "src" / "napari_seglab" / "napari.yaml"
    assert link.is_symlink() and not Path(link.readlink()).is_absolute()


def test_manifest_validates_and_its_widgets_import():
    manifest = PluginManifest.from_file(ROOT / "napari.yaml")
    assert manifest.name == "napari-seglab" and manifest.display_name == "SegLab"
    commands = {c.id: c.python_name for c in manifest.contributions.commands}
    for command in ("kesm_sample", "threshold", "clean_up", "validate"):
        module, _, name = commands[f"napari-seglab.{command}"].partition(":")
        assert callable(getattr(importlib.import_module(module), name))


def test_core_imports_no_gui():
    code = (
        "import sys, napari_seglab.core, napari_seglab\n"
        "gui = {'napari', 'qtpy', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'magicgui', 'vispy'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & gui))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "src")},
    )
    assert done.stdout.strip() == "[]"
