"""Write a benchmark's table into benchmarks/README.md, between its own markers; and the
pieces every benchmark's header and table share (machine line, versions, median (min-max))."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def write_block(name: str, header: str, table: str) -> None:
    """Replace the block ``<!-- name -->`` ... ``<!-- /name -->`` (or append it)."""
    text = README.read_text() if README.exists() else ""
    begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{begin}\n{header}\n\n{table}\n{end}"
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    README.write_text(text)


def publish(name: str, header: str, table: str, write: bool) -> None:
    """Print the header and table; with `write`, also into the README block `name`."""
    print(header + "\n\n" + table)
    if write:
        write_block(name, header, table)


def machine() -> str:
    """``N CPUs (processor), Python x.y.z`` for a header."""
    return (
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}"
    )


def spread(values: Iterable[float], fmt: str = ".2f", unit: str = "") -> str:
    """``median (min-max)`` of `values`, each number in `fmt`, `unit` after the median."""
    values = list(values)
    low, high = min(values), max(values)
    return f"{statistics.median(values):{fmt}}{unit} ({low:{fmt}}-{high:{fmt}})"


__all__ = ["README", "machine", "publish", "spread", "version", "write_block"]
