"""Write a benchmark's table into benchmarks/README.md, between its own markers; and the
pieces every benchmark's header shares."""

from __future__ import annotations

import os
import platform
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


__all__ = ["README", "machine", "publish", "version", "write_block"]
