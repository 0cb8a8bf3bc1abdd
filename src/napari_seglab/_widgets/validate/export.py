"""Copy and export of the Validate panel's scores (a mixin of the ValidationWidget)."""

from __future__ import annotations

from pathlib import Path

from napari.utils.notifications import show_error, show_info

from .tables import table_text

__all__ = ["ExportMixin"]


class ExportMixin:
    """``table_text``, ``copy_to_clipboard`` and ``export_csv`` over ``self.result``."""

    def table_text(self) -> str:
        """The metrics table (and object, instance and boundary scores) as tab-separated text."""
        return table_text(self.result, self.families)

    def copy_to_clipboard(self) -> None:
        """Copy the metrics as tab-separated text (pastes into a spreadsheet)."""
        from qtpy.QtWidgets import QApplication

        if self.result is None:
            show_error("Validate first: there are no metrics to copy.")
            return
        QApplication.clipboard().setText(self.table_text())
        show_info("Metrics copied to the clipboard.")

    def export_csv(self, path: str | Path) -> Path | None:
        """Write the metrics to a CSV file (see :meth:`Evaluation.to_csv`).

        Returns
        -------
        pathlib.Path or None
            The file written, or None if there is nothing to export yet.
        """
        if self.result is None:
            show_error("Validate first: there are no metrics to export.")
            return None
        return self.result.to_csv(path)

    def _ask_export(self) -> None:
        from qtpy.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(
            self.native, "Export metrics", "metrics.csv", "CSV files (*.csv)"
        )
        if path:
            self.export_csv(path)
