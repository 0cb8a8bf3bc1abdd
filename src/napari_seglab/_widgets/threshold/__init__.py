"""Threshold widget: one method with its options, or every global method compared.

:mod:`.widget` holds the controls and their wiring, :mod:`._table` the table of the methods
compared, :mod:`._jobs` the work that runs off the GUI thread.
"""

from .widget import ThresholdWidget

__all__ = ["ThresholdWidget"]
