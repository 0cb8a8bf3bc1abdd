"""The table of the methods compared by "Try all", best first when ranked."""

from __future__ import annotations

from collections.abc import Callable

from magicgui.widgets import Table
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QStyledItemDelegate

from ...core.threshold import GLOBAL_METHODS, ThresholdMethod, TryAllResult
from ._jobs import shown

__all__ = ["METHOD_NAMES", "MethodTable"]

METHOD_NAMES = {
    ThresholdMethod.OTSU: "Otsu",
    ThresholdMethod.LI: "Li",
    ThresholdMethod.YEN: "Yen",
    ThresholdMethod.TRIANGLE: "Triangle",
    ThresholdMethod.ISODATA: "Isodata",
    ThresholdMethod.MEAN: "Mean",
    ThresholdMethod.MINIMUM: "Minimum",
    ThresholdMethod.MULTI_OTSU: "Multi-Otsu",
    ThresholdMethod.MANUAL: "Manual value",
    ThresholdMethod.LOCAL_MEAN: "Local mean",
    ThresholdMethod.NIBLACK: "Niblack",
    ThresholdMethod.SAUVOLA: "Sauvola",
}
COLUMNS = ["method", "threshold", "MCC", "F1", "IoU", "note"]


class MethodTable(Table):
    """A read-only table with one row per method of a :class:`TryAllResult`.

    Parameters
    ----------
    on_select : callable
        Called with the row index when the user selects a row.
    on_activate : callable
        Called with the row index when the user double-clicks a row.
    """

    def __init__(
        self, *, on_select: Callable[[int], None], on_activate: Callable[[int], None]
    ) -> None:
        super().__init__(value=self._value([]), label="")
        self.read_only = True
        self.tooltip = "Double-click a method to make it the current result"
        table = self.native  # selection is Qt's: magicgui's Table has no selection API
        # Every score column visible, no horizontal scrolling: rank is the row order (no row
        # numbers), rows are compact, and a long note is cut (in full in its tooltip).
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
        table.horizontalHeader().setStretchLastSection(True)
        table.horizontalHeader().setMinimumSectionSize(24)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.setWordWrap(False)
        # Column widths from a row of the widest usual values, fixed (cells are cut, with
        # their text in a tooltip): the dock is made wide enough for them from the start.
        self.value = self._value(
            [["Multi-Otsu", "-0.0000e+00", "-0.0000", "0.0000", "0.0000", "best"]]
        )
        table.resizeColumnsToContents()
        header = table.horizontalHeader()
        self._widths = [header.sectionSize(i) for i in range(len(COLUMNS))]
        note = header.fontMetrics().horizontalAdvance("best  ") + 8
        table.setMinimumWidth(sum(self._widths[:-1]) + note + 2 * table.frameWidth())
        self._set_rows([])
        rows = len(GLOBAL_METHODS)  # every global method without scrolling
        height = header.sizeHint().height() + rows * table.verticalHeader().defaultSectionSize()
        self.min_height = self.max_height = height + 2 * table.frameWidth() + 6
        # Show the cells as written ("0.0973"), not re-formatted as numbers ("9.730e-02").
        table.setItemDelegate(QStyledItemDelegate(table))
        table.setSelectionBehavior(table.SelectionBehavior.SelectRows)
        table.setSelectionMode(table.SelectionMode.SingleSelection)

        def selected() -> None:
            if self.selected_row is not None:
                on_select(self.selected_row)

        table.itemSelectionChanged.connect(selected)
        table.cellDoubleClicked.connect(lambda row, _col: on_activate(row))

    @staticmethod
    def _value(rows: list[list[str]]) -> dict:
        return {"data": rows, "index": [str(i + 1) for i in range(len(rows))], "columns": COLUMNS}

    def show_result(self, result: TryAllResult | None) -> None:
        """Fill the table with `result` (empty for None) and select its first row."""
        rows = []
        for i, outcome in enumerate([] if result is None else result.outcomes):
            scores = outcome.evaluation.scores if outcome.evaluation is not None else None
            rows.append(
                [
                    METHOD_NAMES[outcome.method],
                    "" if outcome.result is None else shown(outcome.result.value, short=True),
                    "" if scores is None else f"{scores.mcc:.4f}",
                    "" if scores is None else f"{scores.f1:.4f}",
                    "" if scores is None else f"{scores.iou:.4f}",
                    outcome.error or ("best" if result.ranked and i == 0 else ""),
                ]
            )
        self._set_rows(rows)
        table = self.native
        for row, cells in enumerate(rows):  # a cut cell (a failure's reason) in full on hover
            for column, text in enumerate(cells):
                table.item(row, column).setToolTip(text)
        if rows:
            table.selectRow(0)

    def _set_rows(self, rows: list[list[str]]) -> None:
        self.value = self._value(rows)  # (magicgui resets the column widths)
        for column, width in enumerate(self._widths[:-1]):  # the note takes what is left
            self.native.setColumnWidth(column, width)

    @property
    def selected_row(self) -> int | None:
        """The index of the selected row, if any."""
        rows = self.native.selectionModel().selectedRows()
        return rows[0].row() if rows else None
